#!/usr/bin/env bash
# Runs every suite listed in a suites file (name<TAB>timeout<TAB>command, one per line) under
# a timeout, and sums what each reports. A suite's counts come from its last
# "N passed, N failed" line, or from cmocka's summary; a suite that reports neither counts
# as one test, passed when it exits 0. A suite that exits non-zero while reporting no failure
# (a crash, a timeout, a sanitizer report after the summary) counts one more failure.
# Ends with one line "N passed, N failed" and exits non-zero on any failure.
set -u
suites=${1:?usage: tests/run.sh SUITES.tsv}
logdir=${BUILD:-build}/tests/logs
mkdir -p "$logdir"
total_pass=0
total_fail=0
failed_suites=()

while IFS=$'\t' read -r name tmo cmd; do
  [ -n "${name:-}" ] || continue
  log="$logdir/$name.log"
  start=$(date +%s.%N)
  timeout -k 10 "$tmo" bash -c "$cmd" >"$log" 2>&1 </dev/null
  rc=$?
  secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')
  p=; f=
  line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  if [ -n "$line" ]; then
    p=$(sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
    f=$(sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/' <<<"$line")
  elif grep -qE '^\[  PASSED  \] [0-9]+ test' "$log"; then
    p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$log" | sed -E 's/.* ([0-9]+) test.*/\1/' | awk '{s+=$1} END{print s+0}')
    f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$log" | sed -E 's/.* ([0-9]+) test.*/\1/' | awk '{s+=$1} END{print s+0}')
    f=${f:-0}
  else
    if [ $rc -eq 0 ]; then p=1; f=0; else p=0; f=1; fi
  fi
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
  if [ $rc -eq 0 ] && [ "$f" -eq 0 ]; then
    printf '  PASS  %-28s %6s passed  %6ss\n' "$name" "$p" "$secs"
  else
    why="exit $rc"; [ $rc -eq 124 ] && why="timed out after ${tmo}s"
    printf '  FAIL  %-28s %6s passed, %s failed (%s), %ss; last lines of %s:\n' "$name" "$p" "$f" "$why" "$secs" "$log"
    tail -n 25 "$log" | sed 's/^/        /'
    failed_suites+=("$name")
  fi
done <"$suites"

[ ${#failed_suites[@]} -eq 0 ] || echo "failed suites: ${failed_suites[*]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
