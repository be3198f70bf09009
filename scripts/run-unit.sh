#!/bin/sh
# Runs each Criterion test binary and sums their results into one closing line.
set -u
pass=0; fail=0; status=0
for t in "$@"; do
  out=$("$t" --jobs 2 2>&1); rc=$?
  if [ $rc -ne 0 ]; then
    # a failure: the assertion messages too (the [----] lines), for the CI log
    printf '%s\n' "$out" | grep -E '^\[----\]|^\[FAIL\]|Synthesis' | tail -n 40
  else
    printf '%s\n' "$out" | grep -v '^\[----\]' | tail -n 3
  fi
  line=$(printf '%s\n' "$out" | grep -E 'Synthesis: Tested: [0-9]+' | tail -n 1)
  p=$(printf '%s' "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
  f=$(printf '%s' "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
  c=$(printf '%s' "$line" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0} + ${c:-0}))
  if [ $rc -ne 0 ] || [ -z "$line" ]; then status=1; [ -z "$line" ] && fail=$((fail + 1)); fi
done
echo "unit: $pass passed, $fail failed"
exit $status
