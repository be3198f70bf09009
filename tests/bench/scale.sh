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
#     100 000 entries older builds accept, so both can be timed).
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
