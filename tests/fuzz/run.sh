#!/bin/sh
# run.sh: runs each libFuzzer target given (names of build/fuzz/fuzz/<target>) for FUZZ_SECONDS
# (default 60) and prints one summary line per target: executions, coverage, new corpus entries.
#
# The seeds in tests/fuzz/corpus/<target>/ are read-only inputs; what the fuzzer finds goes to
# build/fuzz/corpus/<target>/ (kept between runs, so a later run starts where this one ended).
# A crash leaves its input as build/fuzz/crash-<target>-* and makes this script exit 1.
# Runs from the source tree (fuzz_conversation loads locales/ from there); stdin is /dev/null.
set -u
cd "$(dirname "$0")/../.." || exit 2
SECS=${FUZZ_SECONDS:-60}
BIN=${FUZZ_BIN_DIR:-build/fuzz/fuzz}
WORK=${FUZZ_WORK_DIR:-build/fuzz}
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=0
summary=""
for t in "$@"; do
    seeds=tests/fuzz/corpus/$t
    work=$WORK/corpus/$t
    mkdir -p "$work"
    [ -d "$seeds" ] || seeds=""
    log=$WORK/fuzz-$t.log
    echo "fuzz: $t for ${SECS}s (log $log)"
    dict=""
    [ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
    # shellcheck disable=SC2086 # $dict: no word, or one
    "$BIN/$t" -max_total_time="$SECS" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 $dict \
        -max_len=16384 -artifact_prefix="$WORK/crash-$t-" "$work" "$seeds" \
        </dev/null >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\).*ft: \([0-9]*\).*corp: \([0-9]*\/[0-9a-zA-Z]*\).*/cov=\1 ft=\2 corpus=\3/p')
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    line="$t: rc=$rc execs=${execs:-?} in ${secs:-?}s ${cov:-}"
    if [ $rc -ne 0 ]; then
        failed=1
        line="$line FAILED (see $log; input saved as $WORK/crash-$t-*)"
        grep -m1 -E 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error' "$log"
    fi
    echo "  $line"
    summary="$summary$line
"
done
printf '\nfuzz summary:\n%s' "$summary"
exit $failed
