#!/bin/sh
# fengqiao benchmark (`make bench`): one run that measures, on this machine,
#   1. the HTTP ceiling: a bare libmicrohttpd server (tests/bench/bare.c) with the daemon's
#      thread settings, answering "{}" without work;
#   2. the storage ceiling: SQLite inserts with WAL + synchronous=FULL, one row per transaction
#      and 500 rows per transaction (tests/bench/sqlite_ceiling.c), on the daemon's filesystem;
#   3. the daemon's chat webhook (CONTRACT 3.1) with signed, pre-built requests
#      (tests/bench/loadgen.c): a full one-message report per request (each one a conversation
#      turn to state `confirm`: conversation, resident and inbox rows written, committed before
#      the answer), at full load (closed loop) and at half the measured rate (open loop);
#      then report + "1" pairs, which open cases and fill the outbox, with the broker up and
#      with the broker stopped (the outbox grows), and the time the outbox takes to drain once
#      the broker is back.
# /metrics is read before and after each daemon phase: fq_batches_total counts group commits
# (one fsync each), fq_batch_messages_total the messages they held.
# Prints a table and writes tests/bench/RESULTS.md. Everything runs on 127.0.0.1, in a temp
# directory, and is stopped on exit. Tunables (environment): BENCH_CONNS (64), BENCH_SECONDS
# (10), BENCH_CASE_SECONDS (5), BENCH_PERF=1 (perf record the daemon during the full-load phase),
# FQ_BIN (the daemon binary to measure, default bin/fengqiao, for comparing a variant).
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

CONNS=${BENCH_CONNS:-64}
DUR=${BENCH_SECONDS:-10}
CASE_DUR=${BENCH_CASE_SECONDS:-5}
WARM=1
SECRET=bench-secret-not-for-production
REPORT_TEXT="枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话13800000001"
OUT=build/bench
RESULTS=tests/bench/RESULTS.md
CC=${CC:-cc}
BENCH_CFLAGS="-O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread"

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }
command -v mosquitto >/dev/null 2>&1 || die "mosquitto is not installed: run make deps"

# ---- build ------------------------------------------------------------------------------------
mkdir -p "$OUT"
say "building the tools"
# shellcheck disable=SC2046,SC2086  # pkg-config output is a list of flags
$CC $BENCH_CFLAGS $(pkg-config --cflags openssl) tests/bench/loadgen.c -o "$OUT/loadgen" \
    $(pkg-config --libs openssl)
# shellcheck disable=SC2046,SC2086
$CC $BENCH_CFLAGS $(pkg-config --cflags libmicrohttpd) tests/bench/bare.c -o "$OUT/bare" \
    $(pkg-config --libs libmicrohttpd)
# shellcheck disable=SC2046,SC2086
$CC $BENCH_CFLAGS $(pkg-config --cflags sqlite3) tests/bench/sqlite_ceiling.c \
    -o "$OUT/sqlite_ceiling" $(pkg-config --libs sqlite3)
say "building the daemon"
make --no-print-directory all >&2 || die "make all failed"
BIN=${FQ_BIN:-$ROOT/bin/fengqiao}
LG=$ROOT/$OUT/loadgen

# ---- processes and cleanup --------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fqbench.XXXXXX")
bare_pid=""
mq_pid=""
fq_pid=""
perf_pid=""

# Stops one process we started: TERM, up to 5 s, then KILL.
stop_pid() {
    [ -n "$1" ] || return 0
    kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }
    kill -TERM "$1" 2>/dev/null || true
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# shellcheck disable=SC2317  # called from the trap
cleanup() {
    status=$?
    trap - EXIT INT TERM
    stop_pid "$perf_pid"
    stop_pid "$bare_pid"
    stop_pid "$fq_pid"
    stop_pid "$mq_pid"
    if [ "$status" -ne 0 ] && [ -f "$TMP/daemon.log" ]; then
        echo "bench: failed; the daemon's last log lines:" >&2
        tail -n 20 "$TMP/daemon.log" >&2
    fi
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# key=value figures of a loadgen/sqlite line: kv LINE KEY
kv() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
# a metric from a /metrics dump: metric FILE NAME (0 when absent)
metric() {
    v=$(awk -v k="$2" '$1 == k { print $2; exit }' "$1")
    echo "${v:-0}"
}
# arithmetic on possibly fractional input, printed with $2 decimals (default 1): calc EXPR [N]
calc() { awk "BEGIN { printf \"%.${2:-1}f\", ($1) }"; }

# CPU ticks used so far by the daemon's threads: cpu_ticks PID -> "HTTP_WORKERS OTHERS"
# (utime + stime of each thread; the MHD workers are named MHD-worker, the core and the rest
# keep the process name).
cpu_ticks() {
    for t in /proc/"$1"/task/*; do
        c=$(cat "$t/comm" 2>/dev/null) || continue
        v=$(sed 's/^.*) //' "$t/stat" 2>/dev/null | awk '{ print $12 + $13 }') || continue
        echo "$c ${v:-0}"
    done | awk '$1 == "MHD-worker" { h += $2; next } { o += $2 } END { printf "%d %d\n", h, o }'
}
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)

scrape() { "$LG" get -a "127.0.0.1:$PORT" -p /metrics -t 5 > "$1" || die "GET /metrics failed"; }

start_broker() {
    cat > "$TMP/mosquitto.conf" <<EOF
listener $MQ_PORT 127.0.0.1
allow_anonymous true
persistence false
user $(id -un)
EOF
    mosquitto -c "$TMP/mosquitto.conf" >>"$TMP/mosquitto.log" 2>&1 &
    mq_pid=$!
    "$LG" wait -a "127.0.0.1:$MQ_PORT" -t 10 || die "mosquitto did not start"
}

# Waits until /metrics shows fq_mqtt_connected = $1 (at most 15 s).
wait_mqtt() {
    i=0
    while [ $i -lt 150 ]; do
        scrape "$TMP/m.txt"
        [ "$(metric "$TMP/m.txt" fq_mqtt_connected)" = "$1" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
NPROC=$(nproc)
# What the CPUs really deliver: on a shared VM two vCPUs may give much less than two CPUs.
CPU0=$("$LG" cpu -n "$NPROC" -d 2)

# ---- 1. the HTTP ceiling ----------------------------------------------------------------------
BARE_PORT=$("$LG" port)
"$ROOT/$OUT/bare" "$BARE_PORT" 2 &
bare_pid=$!
"$LG" wait -a "127.0.0.1:$BARE_PORT" -t 10 || die "the bare server did not start"
"$LG" gen -s "$SECRET" -a "127.0.0.1:$BARE_PORT" -n 5000 -x bare -t "$REPORT_TEXT" \
    -o "$TMP/bare.req"
say "phase 1/7: bare libmicrohttpd ceiling, $CONNS connections, 5 s"
BARE=$("$LG" run -a "127.0.0.1:$BARE_PORT" -f "$TMP/bare.req" -W -c "$CONNS" -d 5 -w "$WARM")
BARE_RPS=$(kv "$BARE" rps)
[ "$(kv "$BARE" errors)" = 0 ] || say "warning: the bare server had errors: $BARE"

# ---- 2. the storage ceiling (the bare server stays up, idle, for a second look at the end) -------------------------------------------------------------------
say "phase 2/7: SQLite ceiling (WAL, synchronous=FULL), 2 s + 2 s"
SQL=$("$ROOT/$OUT/sqlite_ceiling" "$TMP" 2 500) || die "sqlite_ceiling failed"

# ---- the daemon -------------------------------------------------------------------------------
MQ_PORT=$("$LG" port)
start_broker
PORT=$("$LG" port)
mkdir -p "$TMP/db"
cat > "$TMP/fengqiao.conf" <<EOF
# written by tests/bench/run.sh
[server]
listen = 127.0.0.1:$PORT
threads = 2

[store]
path = $TMP/db/fengqiao.db

[mqtt]
enabled = true
host = 127.0.0.1
port = $MQ_PORT
client_id = fq-bench

[chat]
secret = $SECRET
EOF
ROSTER=docker/demo-roster.json
[ -f "$ROSTER" ] || ROSTER=tests/bench/roster.json
"$BIN" roster import "$ROSTER" -c "$TMP/fengqiao.conf" >/dev/null 2>"$TMP/import.log" ||
    { cat "$TMP/import.log" >&2; die "roster import failed"; }
"$BIN" serve -c "$TMP/fengqiao.conf" 2>"$TMP/daemon.log" &
fq_pid=$!
"$LG" wait -a "127.0.0.1:$PORT" -p /readyz -t 15 || die "the daemon never became ready"
wait_mqtt 1 || die "the daemon did not connect to the broker"

# Sanity: what the measured requests do. A report must reach `confirm`; report + "1" a case.
"$LG" gen -s "$SECRET" -a "127.0.0.1:$PORT" -n 2 -k 1 -x check -t "$REPORT_TEXT" -t 1 \
    -o "$TMP/check.req"
A1=$("$LG" send -a "127.0.0.1:$PORT" -f "$TMP/check.req" -i 0) || die "sample report failed: $A1"
A2=$("$LG" send -a "127.0.0.1:$PORT" -f "$TMP/check.req" -i 1) || die "sample submit failed: $A2"
case "$A1" in *'"state":"confirm"'*) ;; *) die "a report did not reach confirm: $A1" ;; esac
case "$A2" in *'"case":"FQ'*) ;; *) die "report + 1 did not open a case: $A2" ;; esac

# One daemon phase: phase NAME FILE LOADGEN-ARGS... ; sets R_* from loadgen and the metrics delta.
phase() {
    name=$1
    file=$2
    shift 2
    scrape "$TMP/before.txt"
    cpu0=$(cpu_ticks "$fq_pid")
    line=$("$LG" run -a "127.0.0.1:$PORT" -f "$file" "$@") || die "loadgen failed in $name"
    cpu1=$(cpu_ticks "$fq_pid")
    scrape "$TMP/after.txt"
    b0=$(metric "$TMP/before.txt" fq_batches_total)
    b1=$(metric "$TMP/after.txt" fq_batches_total)
    n0=$(metric "$TMP/before.txt" fq_batch_messages_total)
    n1=$(metric "$TMP/after.txt" fq_batch_messages_total)
    k='fq_http_requests_total{endpoint="chat",status="200"}'
    c0=$(metric "$TMP/before.txt" "$k")
    c1=$(metric "$TMP/after.txt" "$k")
    R_LINE=$line
    R_BATCHES=$((b1 - b0))
    R_MSGS=$((n1 - n0))
    R_OK=$((c1 - c0))
    R_CPR=$(calc "$R_OK > 0 ? $R_BATCHES / $R_OK : 0" 4)
    R_BATCH=$(calc "$R_BATCHES > 0 ? $R_MSGS / $R_BATCHES : 0" 1)
    R_OUTBOX=$(metric "$TMP/after.txt" fq_outbox_depth)
    # daemon CPU per answered request, in microseconds: HTTP threads, core and other threads
    set -- $cpu0 $cpu1
    R_CPU_HTTP=$(calc "$R_OK > 0 ? ($3 - $1) * 1000000 / $HZ / $R_OK : 0" 0)
    R_CPU_CORE=$(calc "$R_OK > 0 ? ($4 - $2) * 1000000 / $HZ / $R_OK : 0" 0)
    [ "$(kv "$line" errors)" = 0 ] || say "warning: errors in $name: $line"
}

# 3. warm-up (also sizes the request files of the next phases)
n=$(calc "$BARE_RPS * 2 * 1.2 + 2000" 0)
[ "$n" -le 200000 ] || n=200000
"$LG" gen -s "$SECRET" -a "127.0.0.1:$PORT" -n "$n" -x warm -t "$REPORT_TEXT" -o "$TMP/warm.req"
say "phase 3/7: daemon warm-up, 2 s"
phase warm "$TMP/warm.req" -c "$CONNS" -d 2
WARM_RPS=$(kv "$R_LINE" rps)
rm -f "$TMP/warm.req"

# 4. full load
n=$(calc "$WARM_RPS * $DUR * 1.6 + 5000" 0)
[ "$n" -le 1000000 ] || n=1000000
"$LG" gen -s "$SECRET" -a "127.0.0.1:$PORT" -n "$n" -x full -t "$REPORT_TEXT" -o "$TMP/full.req"
say "phase 4/7: daemon, full load, $CONNS connections, $DUR s"
if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null 2>&1; then
    perf record -F 999 -p "$fq_pid" -o "$OUT/perf.data" -- sleep "$DUR" >/dev/null 2>&1 &
    perf_pid=$!
fi
phase full "$TMP/full.req" -c "$CONNS" -d "$DUR" -w "$WARM"
FULL=$R_LINE FULL_B=$R_BATCHES FULL_M=$R_MSGS FULL_OK=$R_OK FULL_CPR=$R_CPR FULL_BATCH=$R_BATCH
FULL_CPU="$R_CPU_HTTP / $R_CPU_CORE"
FULL_RPS=$(kv "$FULL" rps)
rm -f "$TMP/full.req"
if [ -n "$perf_pid" ]; then
    wait "$perf_pid" 2>/dev/null || true
    perf_pid=""
    perf report -i "$OUT/perf.data" --stdio --sort comm,dso,symbol 2>/dev/null |
        grep -v '^#' | grep '%' | head -n 30 > "$OUT/perf-top.txt" || true
    say "perf profile: $OUT/perf.data (top symbols in $OUT/perf-top.txt)"
fi

# 5. half load, open loop
HALF_RATE=$(calc "$FULL_RPS / 2" 0)
[ "$HALF_RATE" -ge 1 ] || HALF_RATE=1
n=$(calc "$HALF_RATE * $DUR * 1.1 + 1000" 0)
"$LG" gen -s "$SECRET" -a "127.0.0.1:$PORT" -n "$n" -x half -t "$REPORT_TEXT" -o "$TMP/half.req"
say "phase 5/7: daemon, half load ($HALF_RATE req/s open loop), $DUR s"
phase half "$TMP/half.req" -c "$CONNS" -d "$DUR" -w "$WARM" -r "$HALF_RATE"
HALF=$R_LINE HALF_CPR=$R_CPR HALF_BATCH=$R_BATCH HALF_CPU="$R_CPU_HTTP / $R_CPU_CORE"
rm -f "$TMP/half.req"

# 6. report + "1" pairs (cases opened, outbox rows written), broker up
n=$(calc "$FULL_RPS * $CASE_DUR * 1.6 + 5000" 0)
"$LG" gen -s "$SECRET" -a "127.0.0.1:$PORT" -n "$n" -k 256 -x cases -t "$REPORT_TEXT" -t 1 \
    -o "$TMP/cases.req"
say "phase 6/7: daemon, report + submit pairs (cases), broker up, $CASE_DUR s"
phase cases "$TMP/cases.req" -c "$CONNS" -d "$CASE_DUR" -w "$WARM"
CASES=$R_LINE CASES_CPR=$R_CPR CASES_BATCH=$R_BATCH CASES_OUTBOX=$R_OUTBOX
CASES_CPU="$R_CPU_HTTP / $R_CPU_CORE"
rm -f "$TMP/cases.req"

# 7. the same with the broker stopped: intake must not slow down, the outbox grows
"$LG" gen -s "$SECRET" -a "127.0.0.1:$PORT" -n "$n" -k 256 -x down -t "$REPORT_TEXT" -t 1 \
    -o "$TMP/down.req"
stop_pid "$mq_pid"
mq_pid=""
wait_mqtt 0 || die "the daemon did not notice the broker going away"
say "phase 7/7: daemon, cases with the broker stopped, $CASE_DUR s"
sleep 1.2     # let the outbox gauge (refreshed once a second) settle
scrape "$TMP/m.txt"
DOWN_OUTBOX0=$(metric "$TMP/m.txt" fq_outbox_depth)
phase down "$TMP/down.req" -c "$CONNS" -d "$CASE_DUR" -w "$WARM"
DOWN=$R_LINE DOWN_CPR=$R_CPR DOWN_BATCH=$R_BATCH DOWN_CPU="$R_CPU_HTTP / $R_CPU_CORE"
rm -f "$TMP/down.req"
sleep 1.2
scrape "$TMP/m.txt"
DOWN_OUTBOX1=$(metric "$TMP/m.txt" fq_outbox_depth)
D0=$(metric "$TMP/m.txt" 'fq_deliveries_total{channel="mqtt"}')

# The broker comes back: how long until the daemon reconnects, then until the outbox is empty
# (at most 30 s). The depth gauge is refreshed once a second, so the drain time is +-1 s; the
# delivered rows are counted exactly (fq_deliveries_total).
start_broker
t0=$(date +%s.%N)
wait_mqtt 1 || die "the daemon did not reconnect to the broker"
t1=$(date +%s.%N)
RECONNECT_S=$(calc "$t1 - $t0" 1)
DRAIN_S=""
i=0
while [ $i -lt 300 ]; do
    scrape "$TMP/m.txt"
    if [ "$(metric "$TMP/m.txt" fq_outbox_depth)" = 0 ]; then
        DRAIN_S=$(calc "$(date +%s.%N) - $t1" 1)
        break
    fi
    sleep 0.1
    i=$((i + 1))
done
D1=$(metric "$TMP/m.txt" 'fq_deliveries_total{channel="mqtt"}')
DRAINED=$((D1 - D0))
if [ -n "$DRAIN_S" ]; then
    DRAIN_TXT="reconnected after $RECONNECT_S s, outbox empty $DRAIN_S s later ($DRAINED rows delivered, about $(calc "$DRAIN_S > 0 ? $DRAINED / $DRAIN_S : 0" 0) rows/s)"
else
    DRAIN_TXT="reconnected after $RECONNECT_S s, not drained within 30 s ($DRAINED rows delivered, depth $(metric "$TMP/m.txt" fq_outbox_depth))"
fi
grep -q 'level=error' "$TMP/daemon.log" && say "warning: the daemon logged errors"

# ---- the HTTP ceiling again: this machine's speed drifts (a shared VM), so the ratio uses the
# mean of the two looks and both are reported
stop_pid "$fq_pid"
fq_pid=""
say "bare libmicrohttpd ceiling again, 3 s"
BARE2=$("$LG" run -a "127.0.0.1:$BARE_PORT" -f "$TMP/bare.req" -W -c "$CONNS" -d 3 -w "$WARM")
stop_pid "$bare_pid"
bare_pid=""
BARE2_RPS=$(kv "$BARE2" rps)
BARE_MEAN=$(calc "($BARE_RPS + $BARE2_RPS) / 2" 1)
CPU1=$("$LG" cpu -n "$NPROC" -d 2)

# ---- report -----------------------------------------------------------------------------------
RATIO=$(calc "$BARE_MEAN > 0 ? 100 * $FULL_RPS / $BARE_MEAN : 0" 1)
MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git status --porcelain 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
FS=$(df -PT "$TMP" 2>/dev/null | awk 'NR == 2 { print $2 }')

row() { # name line cpr batch cpu
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(kv "$2" rps)" \
        "$(kv "$2" p50_ms)" "$(kv "$2" p90_ms)" "$(kv "$2" p99_ms)" "$(kv "$2" max_ms)" \
        "$(kv "$2" errors)" "$3" "$4" "$5"
}
statuses() { printf '%s\n' "$1" | tr ' ' '\n' | grep '^status_' | tr '\n' ' '; }

{
    echo "# fengqiao benchmark results"
    echo
    echo "Generated by \`make bench\` (tests/bench/run.sh); do not edit by hand."
    echo
    echo "- date: $DATE"
    echo "- machine: $NPROC CPUs, $MODEL; database on $FS; load average before the run"
    echo "  $LOAD0, after $(cut -d' ' -f1-3 /proc/loadavg) (the load generator shares the CPUs)"
    echo "- CPU actually delivered with $NPROC threads spinning (\`loadgen cpu\`): $(kv "$CPU0" effective_cpus)"
    echo "  CPUs before the run, $(kv "$CPU1" effective_cpus) after (1.0 means the $NPROC vCPUs give one CPU of work)"
    echo "- commit: $COMMIT$DIRTY"
    echo "- load: loadgen on the same machine, $CONNS keep-alive connections, one request in"
    echo "  flight each; signed requests built before the clock starts; first ${WARM} s of each"
    echo "  phase not counted; latency in ms, from the time a request was due (open loop) or sent"
    echo "- request: a full one-message report (\`$REPORT_TEXT\`), each to state \`confirm\`"
    echo "  (conversation, resident and inbox rows); residents change every 20 messages (under"
    echo "  the 30/min limit); \"cases\" phases alternate the report and \`1\` (a case is opened,"
    echo "  with its events, assignment and outbox rows)"
    echo
    echo "## Ceilings"
    echo
    echo "| what | figure |"
    echo "| --- | --- |"
    echo "| bare libmicrohttpd (2 threads, epoll, answers {}), req/s, first look | $BARE_RPS (p50 $(kv "$BARE" p50_ms) ms, p99 $(kv "$BARE" p99_ms) ms) |"
    echo "| same, second look after the daemon phases | $BARE2_RPS (p50 $(kv "$BARE2" p50_ms) ms, p99 $(kv "$BARE2" p99_ms) ms) |"
    echo "| SQLite, WAL + synchronous=FULL, 1 row per transaction, txn/s | $(kv "$SQL" single_txn_per_s) ($(kv "$SQL" fsync_ms) ms per commit) |"
    echo "| SQLite, same, 500 rows per transaction, rows/s | $(kv "$SQL" batched_rows_per_s) |"
    echo
    echo "## Daemon, POST /chat/v1/messages"
    echo
    echo "| phase | req/s | p50 | p90 | p99 | max | errors | commits/request | messages/commit | CPU µs/request (HTTP / core+other) |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    row "full load, closed loop, ${DUR} s" "$FULL" "$FULL_CPR" "$FULL_BATCH" "$FULL_CPU"
    row "half load, open loop at $HALF_RATE req/s, ${DUR} s" "$HALF" "$HALF_CPR" "$HALF_BATCH" "$HALF_CPU"
    row "cases (report + 1), broker up, ${CASE_DUR} s" "$CASES" "$CASES_CPR" "$CASES_BATCH" "$CASES_CPU"
    row "cases (report + 1), broker stopped, ${CASE_DUR} s" "$DOWN" "$DOWN_CPR" "$DOWN_BATCH" "$DOWN_CPU"
    echo
    echo "- daemon / bare ceiling at full load: **$RATIO %** ($FULL_RPS / $BARE_MEAN, the mean of both looks)"
    echo "- full load, whole phase including its warm-up second (from /metrics): $FULL_OK answers 200,"
    echo "  $FULL_B group commits holding $FULL_M messages (one fsync per commit: $FULL_CPR commits"
    echo "  per request); statuses in the measured window: $(statuses "$FULL")"
    echo "- CPU µs/request: CPU time of the daemon's threads during the phase (utime + stime from"
    echo "  /proc, 1/$HZ s ticks) over the requests answered: MHD workers / core, outbox, MQTT and"
    echo "  scheduler threads"
    echo "- half load: due requests waited before being sent (p99) $(kv "$HALF" send_late_p99_ms) ms:"
    echo "  the generator's own wake-up jitter, or all $CONNS connections busy; this wait is part of"
    echo "  the half-load latencies; requests due but never sent: $(kv "$HALF" backlog)"
    echo "- outbox depth after the broker-up cases phase: $CASES_OUTBOX"
    echo "- broker stopped: outbox depth $DOWN_OUTBOX0 -> $DOWN_OUTBOX1 during the phase;"
    echo "  statuses: $(statuses "$DOWN")"
    echo "- broker back: $DRAIN_TXT"
    echo
    echo "## Reading these figures"
    echo
    echo "- Everything shares the machine's CPUs: the load generator, the daemon's two HTTP"
    echo "  threads, its core thread. The effective-CPU line above says how much the machine gave;"
    echo "  compare runs by CPU µs/request (least sensitive to that) and by the daemon / bare ratio."
    echo "- Half load is open loop: when the machine's capacity dips during the phase, requests"
    echo "  queue and the tail latencies grow by hundreds of ms; compare p50 with the full-load p50."
    echo "- The cases phases never close a case, so the same few mediators collect thousands of open"
    echo "  cases; the second cases phase (broker stopped) routes against more open cases than the"
    echo "  first, which is part of why it is slower, independent of the broker."
    echo "- Commits/request is group commits per answered request (one fsync each, WAL +"
    echo "  synchronous=FULL); a commit per request would be capped by the single-row SQLite figure."
    echo
    echo "Raw loadgen lines:"
    echo
    echo '```'
    echo "bare  $BARE"
    echo "bare2 $BARE2"
    echo "sqlite $SQL"
    echo "full  $FULL"
    echo "half  $HALF"
    echo "cases $CASES"
    echo "down  $DOWN"
    echo '```'
} > "$TMP/RESULTS.md"
cp "$TMP/RESULTS.md" "$RESULTS"

printf '\n%-44s %9s %7s %7s %7s %7s %6s %9s %7s %s\n' phase req/s p50ms p90ms p99ms maxms errors commit/rq msg/cmt "CPU us/rq http/core"
tab() {
    printf '%-44s %9s %7s %7s %7s %7s %6s %9s %7s %s\n' "$1" "$(kv "$2" rps)" "$(kv "$2" p50_ms)" \
        "$(kv "$2" p90_ms)" "$(kv "$2" p99_ms)" "$(kv "$2" max_ms)" "$(kv "$2" errors)" "$3" "$4" "$5"
}
tab "bare MHD ceiling (5 s)" "$BARE" - - -
tab "bare MHD ceiling again (3 s)" "$BARE2" - - -
tab "daemon full load (${DUR} s)" "$FULL" "$FULL_CPR" "$FULL_BATCH" "$FULL_CPU"
tab "daemon half load @ $HALF_RATE/s (open loop)" "$HALF" "$HALF_CPR" "$HALF_BATCH" "$HALF_CPU"
tab "daemon cases, broker up (${CASE_DUR} s)" "$CASES" "$CASES_CPR" "$CASES_BATCH" "$CASES_CPU"
tab "daemon cases, broker stopped (${CASE_DUR} s)" "$DOWN" "$DOWN_CPR" "$DOWN_BATCH" "$DOWN_CPU"
echo
echo "SQLite WAL+FULL: $(kv "$SQL" single_txn_per_s) txn/s (1 row each), $(kv "$SQL" batched_rows_per_s) rows/s (500 per txn)"
echo "daemon / bare: $RATIO %"
echo "effective CPUs with $NPROC busy threads: $(kv "$CPU0" effective_cpus) before, $(kv "$CPU1" effective_cpus) after"
echo "outbox with the broker stopped: $DOWN_OUTBOX0 -> $DOWN_OUTBOX1; broker back: $DRAIN_TXT"
echo "written: $RESULTS"
