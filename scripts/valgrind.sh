#!/bin/sh
# valgrind.sh: `make valgrind`. Runs every unit test binary, then a short real daemon session
# (a report walked to a case with MQTT, the webhook's rejected requests, the hostile-input table,
# a restart), under valgrind --leak-check=full; fails when any process valgrind watched reported
# an error or a definite/indirect leak.
#
# usage: scripts/valgrind.sh BIN UNIT_TEST_BIN...
#
# Criterion runs each test in a child process (re-executed), so valgrind follows children and
# writes one log per process; the verdict is read from every log's ERROR SUMMARY rather than from
# exit codes, which Criterion's runner would not pass on faithfully. Leaks inside Criterion's own
# runner are suppressed (scripts/valgrind.supp); helper programs the tests start are not traced. The daemon runs under
# valgrind through a wrapper given to the integration harness as FQ_BIN; its CLI subcommands
# (roster import, cases list) are checked the same way. Logs stay in a temp dir on failure.
set -u
[ $# -ge 1 ] || { echo "usage: $0 BIN UNIT_TEST_BIN..." >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind: not installed (make deps)" >&2; exit 1; }
bin=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/fq-valgrind-XXXXXX)
# one line (the backslashes join them), as the wrapper below writes it into an exec line
VG="valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-leak-kinds=definite,indirect --error-exitcode=1 --num-callers=30 \
    --suppressions=$root/scripts/valgrind.supp"
# children that are not ours (the mosquitto a test starts, shells, the Python of the harness)
SKIP="--trace-children-skip=/usr/*,/bin/*,/sbin/*,*python*,*pyenv*,*mosquitto*"
status=0

for t in "$@"; do
    name=$(basename "$t")
    mkdir -p "$dir/$name"
    $VG --trace-children=yes "$SKIP" --log-file="$dir/$name/%p.log" "$t" --jobs 2 >"$dir/$name.out" 2>&1
    rc=$?
    printf 'valgrind: %-16s %s\n' "$name" "$(grep -E 'Synthesis' "$dir/$name.out" | tail -1 | sed 's/.*Synthesis: //')"
    [ $rc -eq 0 ] || { echo "valgrind: $name exited $rc"; status=1; }
done

mkdir -p "$dir/daemon"
cat >"$dir/fengqiao-vg" <<WRAP
#!/bin/sh
exec $VG --log-file="$dir/daemon/%p.log" "$bin" "\$@"
WRAP
chmod +x "$dir/fengqiao-vg"
echo "valgrind: daemon session (integration tests under valgrind)"
FQ_BIN="$dir/fengqiao-vg" FENGQIAO_LOCALES="$root/locales" python3 "$root/tests/integration/run.py" \
    --timeout 180 -k test_report.test_full_report_walk -k test_webhook.test_rejected_requests \
    -k test_hostile.test_malformed -k test_outage.test_kill9 || status=1

errs=0
for f in "$dir"/*/*.log; do
    [ -e "$f" ] || continue
    n=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$f" | tail -1)
    if [ -z "$n" ]; then
        # no summary: the process was killed (kill -9 tests, criterion timeouts) or exec'd away
        continue
    fi
    if [ "$n" -ne 0 ]; then
        errs=$((errs + 1))
        echo "valgrind: errors in $f:"
        grep -E '^==[0-9]+== ' "$f" | head -60
    fi
done
nlogs=$(find "$dir" -name '*.log' | wc -l)
if [ $errs -ne 0 ] || [ $status -ne 0 ]; then
    echo "valgrind: FAILED ($errs of $nlogs processes with errors; logs in $dir)"
    exit 1
fi
echo "valgrind: clean ($nlogs processes checked)"
rm -rf "$dir"
exit 0
