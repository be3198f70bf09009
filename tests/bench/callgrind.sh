#!/bin/sh
# Instructions the core thread spends per chat message (`make bench-callgrind`): the daemon runs
# under valgrind's callgrind, counting only inside core_main (the core thread: batch, handlers,
# store, group commit), and takes N1 then N2 one-message reports from distinct residents (each
# one a conversation turn to state `confirm`), then N1 and N2 report + "1" pairs (each pair opens
# a case: routing, the outbox rows, the timers). The figure per message is the difference of two
# runs divided by the difference of their sizes, so start-up and shutdown cancel out.
# Instruction counts do not depend on how busy the machine is, unlike the throughput figures of
# tests/bench/run.sh. Environment: FQ_BIN (default bin/fengqiao), CG_N1 (500), CG_N2 (1500).
set -eu
cd "$(dirname "$0")/../.."
BIN=${FQ_BIN:-bin/fengqiao}
N1=${CG_N1:-500}
N2=${CG_N2:-1500}
OUT=build/bench
SECRET=bench-secret-not-for-production
REPORT_TEXT="枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话13800000001"
CC=${CC:-cc}

die() { echo "callgrind: $*" >&2; exit 1; }
command -v valgrind >/dev/null 2>&1 || die "valgrind is not installed: run make deps"
[ -x "$BIN" ] || die "$BIN is not built"
mkdir -p "$OUT"
# shellcheck disable=SC2046  # pkg-config output is a list of flags
$CC -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread $(pkg-config --cflags openssl) \
    tests/bench/loadgen.c -o "$OUT/loadgen" $(pkg-config --libs openssl)
LG=$OUT/loadgen
TMP=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "${CG_KEEP:-}" ] && cp -r "$TMP" "$CG_KEEP"; rm -rf "$TMP"
}
trap cleanup EXIT

# run_one NAME N PER_USER: prints the core thread's instruction count for N requests
run_one() {
    name=$1 n=$2 k=$3
    port=$("$LG" port)
    d=$TMP/$name-$n
    mkdir -p "$d"
    cat > "$d/fengqiao.conf" <<EOF
[server]
listen = 127.0.0.1:$port
threads = 2

[store]
path = $d/fengqiao.db

[mqtt]
enabled = false

[chat]
secret = $SECRET
EOF
    roster=docker/demo-roster.json
    [ -f "$roster" ] || roster=tests/bench/roster.json
    "$BIN" roster import "$roster" -c "$d/fengqiao.conf" >/dev/null 2>"$d/import.log" ||
        { cat "$d/import.log" >&2; die "roster import failed"; }
    if [ "$k" = 1 ]; then
        "$LG" gen -s "$SECRET" -a "127.0.0.1:$port" -n "$n" -x "cg$name" -t "$REPORT_TEXT" \
            -o "$d/req"
    else
        "$LG" gen -s "$SECRET" -a "127.0.0.1:$port" -n "$((2 * n))" -u 2 -k 64 -x "cg$name" \
            -t "$REPORT_TEXT" -t 1 -o "$d/req"
    fi
    valgrind --tool=callgrind --toggle-collect=core_main --callgrind-out-file="$d/cg.out" \
        "$BIN" serve -c "$d/fengqiao.conf" 2>"$d/daemon.log" &
    pid=$!
    "$LG" wait -a "127.0.0.1:$port" -p /readyz -t 120 >/dev/null ||
        { tail -n 20 "$d/daemon.log" >&2; die "the daemon never became ready"; }
    "$LG" run -a "127.0.0.1:$port" -f "$d/req" -c 4 -d 110 >"$d/run.txt" ||
        die "loadgen failed: $(cat "$d/run.txt")"
    grep -q 'errors=0 ' "$d/run.txt" || die "requests failed: $(cat "$d/run.txt")"
    kill -TERM "$pid"
    wait "$pid" || true
    pid=
    awk '/^summary:/ { print $2 }' "$d/cg.out"
}

per() { awk "BEGIN { printf \"%.0f\", ($2 - $1) / ($4 - $3) }"; }

r1=$(run_one report "$N1" 1)
r2=$(run_one report "$N2" 1)
c1=$(run_one submit "$N1" 2)
c2=$(run_one submit "$N2" 2)
echo "binary: $BIN ($("$BIN" --version 2>/dev/null | head -n 1))"
echo "core thread, one-message report to confirm: $(per "$r1" "$r2" "$N1" "$N2") instructions/message"
echo "core thread, report + \"1\" (a new case): $(per "$c1" "$c2" "$((2 * N1))" "$((2 * N2))") instructions/message, $(per "$c1" "$c2" "$N1" "$N2") per case"
