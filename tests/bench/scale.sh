#!/bin/sh
# Costs against years of history (`make scale`): builds, once, a database of SCALE_CASES cases
# (default 1 000 000) of realistic shape over ten years on a county roster of 2 021 org nodes and
# 2 241 mediators (tests/bench/scale_roster.py, tests/bench/scale.sql), cached under
# build/scale/ per schema version, and times with FQ_BIN (default bin/fengqiao):
#   - report monthly for last month (text), and its peak memory;
#   - one page of the case list: the open cases of one grid (--status open --org, --limit 100),
#     and the newest 100 of all;
#   - report ledger for last month as XLSX, and its peak memory;
#   - roster import of a 99 100-node roster (tests/bench/scale_roster.py 99 100 9; under the
#     100 000 entries older builds accept, so both can be timed);
#   - chat latency (a daemon on a copy of the database, CHAT_RATE messages/s for CHAT_SECONDS):
#     alone, while the monthly report timer is forced due, while every digest timer is; and how
#     long the report and the digests took to be committed (SCALE_CHAT=0 skips this part).
# Compare two builds by running it with FQ_BIN=... for each (an older build gets a database
# made by its own migrations).
set -eu
cd "$(dirname "$0")/../.."
BIN=${FQ_BIN:-bin/fengqiao}
CASES=${SCALE_CASES:-1000000}
PY=python3
die() { echo "scale: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "$BIN is not built"
command -v sqlite3 >/dev/null 2>&1 || die "sqlite3 is not installed: run make deps"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

conf() {   # conf DB: a configuration for the CLI on DB
    printf '[server]\nlisten = 127.0.0.1:1\n[store]\npath = %s\n[mqtt]\nenabled = false\n' "$1"
}
"$PY" tests/bench/scale_roster.py 20 10 9 > "$TMP/roster.json"
# the schema version this binary makes
conf "$TMP/probe.db" > "$TMP/probe.conf"
"$BIN" roster import "$TMP/roster.json" -c "$TMP/probe.conf" >/dev/null 2>&1 ||
    die "roster import failed"
V=$(sqlite3 "$TMP/probe.db" 'PRAGMA user_version')
DIR=build/scale/v$V-$CASES
STAMP=$(cat tests/bench/scale.sql tests/bench/scale_roster.py | cksum | cut -d' ' -f1)
DB=$PWD/$DIR/fq.db
conf "$DB" > "$TMP/fq.conf"
if [ ! -f "$DB" ] || [ "$(cat "$DIR/stamp" 2>/dev/null)" != "$STAMP" ]; then
    echo "scale: building $CASES cases for schema v$V (once; cached in $DIR)" >&2
    rm -rf "$DIR"
    mkdir -p "$DIR"
    "$BIN" roster import "$TMP/roster.json" -c "$TMP/fq.conf" >/dev/null 2>&1
    # the month before this one ends "now": the newest cases are last month's
    NOW=$(date -d "$(date +%Y-%m-01) -1 day 12:00" +%s)
    sed -e "s/@CASES@/$CASES/" -e "s/@NOW@/$NOW/" tests/bench/scale.sql |
        sqlite3 -bail "$DB" >/dev/null || die "building the database failed"
    echo "$STAMP" > "$DIR/stamp"
fi
LAST=$(date -d "$(date +%Y-%m-01) -1 day" +%Y-%m)
FROM=$LAST-01
TO=$(date -d "$(date +%Y-%m-01) -1 day" +%Y-%m-%d)
GRID=grid-03-05-2

# t LABEL CMD...: wall seconds and peak RSS of one run (the second of two: a warm cache)
t() {
    label=$1
    shift
    "$@" >/dev/null 2>&1 || true
    /usr/bin/time -f "%e %M" -o "$TMP/time" "$@" >"$TMP/out" 2>"$TMP/err" ||
        { cat "$TMP/err" >&2; die "$label failed"; }
    read -r secs kb < "$TMP/time"
    printf '%-44s %7.2f s %8d KB\n' "$label" "$secs" "$kb"
}
echo "binary: $BIN ($("$BIN" --version 2>/dev/null | head -n 1)), schema v$V"
echo "database: $CASES cases, $(sqlite3 "$DB" 'SELECT count(*) FROM case_events') events, $(du -m "$DB" | cut -f1) MB"
t "report monthly $LAST" "$BIN" report monthly --month "$LAST" -c "$TMP/fq.conf"
t "cases list --status open --org $GRID --limit 100" \
    "$BIN" cases list --status open --org "$GRID" --limit 100 -c "$TMP/fq.conf"
t "cases list --limit 100" "$BIN" cases list --limit 100 -c "$TMP/fq.conf"
t "report ledger $FROM..$TO xlsx" \
    "$BIN" report ledger --from "$FROM" --to "$TO" --format xlsx -o "$TMP/ledger.xlsx" -c "$TMP/fq.conf"
"$PY" tests/bench/scale_roster.py 99 100 9 > "$TMP/big-roster.json"
conf "$TMP/big.db" > "$TMP/big.conf"
t "roster import, 99 100 nodes" "$BIN" roster import "$TMP/big-roster.json" -c "$TMP/big.conf"

# ---- chat while the scheduled reads run (SCALE_CHAT=0 skips it) ---------------------------------
# A daemon on a copy of the database; an open-loop chat load (CHAT_RATE messages/s, each a new
# resident's report, so every one is a real conversation step with its commit) measured alone,
# then while the monthly report timer is forced due, then while every digest timer is. For
# each: chat p50/p99/max, and how long the report (or the digests) took to be committed: the
# time from forcing the timers until none of them is pending.
[ "${SCALE_CHAT:-1}" = 0 ] && exit 0
command -v cc >/dev/null 2>&1 || die "cc is not installed"
RATE=${CHAT_RATE:-50}
SECS=${CHAT_SECONDS:-20}
mkdir -p build/scale
# shellcheck disable=SC2046  # pkg-config output is a list of flags
cc -O2 -std=c11 $(pkg-config --cflags openssl) tests/bench/loadgen.c -o build/scale/loadgen \
    $(pkg-config --libs openssl) || die "loadgen did not build"
LG=$PWD/build/scale/loadgen
mkdir -p "$TMP/chat"
cp "$DB" "$TMP/chat/fq.db"
PORT=$("$LG" port)
SECRET=scale-secret-not-for-production
cat > "$TMP/chat.conf" <<CONF
[server]
listen = 127.0.0.1:$PORT
threads = 2
[store]
path = $TMP/chat/fq.db
[mqtt]
enabled = false
[chat]
secret = $SECRET
CONF
"$BIN" serve -c "$TMP/chat.conf" 2>"$TMP/chat.log" &
FQ_PID=$!
trap 'kill -TERM "$FQ_PID" 2>/dev/null; wait "$FQ_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
"$LG" wait -a "127.0.0.1:$PORT" -p /readyz -t 120 || { tail -n 20 "$TMP/chat.log" >&2; die "the daemon never became ready"; }
# the start-up housekeeping schedules the report and digest timers
sq() { sqlite3 -cmd '.timeout 10000' "$TMP/chat/fq.db" "$@"; }
i=0
while [ "$(sq "SELECT count(*) FROM timers WHERE kind = 'report_monthly' AND fired_at IS NULL")" = 0 ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || die "the daemon scheduled no monthly report"
    sleep 0.1
done
TEXT="枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话13800000001"
N=$((RATE * SECS))
# chat LABEL PREFIX: one open-loop run of fresh residents; prints its figures
chat() {
    "$LG" gen -s "$SECRET" -a "127.0.0.1:$PORT" -n "$N" -x "$2" -t "$TEXT" -o "$TMP/$2.req"
    line=$("$LG" run -a "127.0.0.1:$PORT" -f "$TMP/$2.req" -c 8 -d "$SECS" -r "$RATE") ||
        die "loadgen failed ($1)"
    kv() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    printf '%-44s p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms  errors %s\n' "chat $1" \
        "$(kv p50_ms)" "$(kv p99_ms)" "$(kv max_ms)" "$(kv errors)"
}
# forced LABEL KIND PREFIX: forces every pending timer of KIND due, measures chat meanwhile,
# then waits for them to be committed
forced() {
    n=$(sq "SELECT count(*) FROM timers WHERE kind = '$2' AND fired_at IS NULL AND cancelled_at IS NULL")
    rm -f "$TMP/done"
    t0=$(date +%s.%N)
    sq "UPDATE timers SET due_at = CAST(strftime('%s','now') AS INTEGER) WHERE kind = '$2' AND fired_at IS NULL AND cancelled_at IS NULL"
    (
        while [ "$(sq "SELECT count(*) FROM timers WHERE kind = '$2' AND fired_at IS NULL AND due_at <= CAST(strftime('%s','now') AS INTEGER)")" != 0 ]; do
            sleep 0.2
        done
        date +%s.%N > "$TMP/done"
    ) &
    poller=$!
    chat "$1" "$3"
    wait "$poller"
    printf '%-44s %7.2f s  (%s timer(s))\n' "  $2 committed after" \
        "$(awk "BEGIN { print $(cat "$TMP/done") - $t0 }")" "$n"
}
chat "alone, $RATE/s" alone
forced "while the monthly report runs, $RATE/s" report_monthly rp
forced "while the digests run, $RATE/s" digest dg
