#!/usr/bin/env bash
# The programs in tools/ (and the test tools) refuse bad numbers with exit 2 or 1 and a
# sentence naming the value, and leave a state file unchanged; good numbers still work.
# usage: tests/tools/tools_cli.sh BUILD_DIR. Ends with "tools-cli: P passed, F failed".
set -u
B=${1:-build}
work=$(mktemp -d /tmp/tools-cli.XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
# expect WHAT RC NEEDLE CMD...: CMD exits RC and its stderr contains NEEDLE
expect() {
  local what=$1 want=$2 needle=$3
  shift 3
  "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if [ "$rc" -eq "$want" ] && { [ -z "$needle" ] || grep -qF -- "$needle" "$work/err"; }; then
    pass=$((pass + 1)); echo "ok:   $what"
  else
    fail=$((fail + 1)); echo "FAIL: $what (exit $rc, want $want; stderr: $(head -c 300 "$work/err"))"
  fi
}
P="$B/mls-peer"
S="$work/peer.state"

expect "mls-peer --suite abc" 2 "--suite: 'abc' is not a whole number" "$P" --suite abc "$S" info
expect "mls-peer --suite -1" 2 "--suite must not be negative (got '-1')" "$P" --suite -1 "$S" info
expect "mls-peer --suite 3x" 2 "'3x' is not a whole number" "$P" --suite 3x "$S" info
expect "mls-peer --suite ''" 2 "--suite is empty" "$P" --suite "" "$S" info
expect "mls-peer --suite 65536" 2 "65536 is out of range; give a whole number from 1 to 65535" "$P" --suite 65536 "$S" info
expect "mls-peer --suite 2 (a number, not a supported suite)" 1 "cipher suite 2 is not supported" "$P" --suite 2 "$S" info
[ ! -e "$S" ] && { pass=$((pass + 1)); echo "ok:   no state file written by the refused commands"; } ||
  { fail=$((fail + 1)); echo "FAIL: a refused command wrote $S"; }

expect "mls-peer --suite 1 create" 0 "" "$P" --suite 1 "$S" create 0a0b
cp "$S" "$work/before"
expect "mls-peer remove 1x" 1 "leaf index: '1x' is not a whole number" "$P" "$S" remove 1x
expect "mls-peer remove ' 1'" 1 "leaf index: ' 1' is not a whole number" "$P" "$S" remove " 1"
expect "mls-peer remove 4294967296" 1 "leaf index: 4294967296 is out of range" "$P" "$S" remove 4294967296
expect "mls-peer propose-remove -3" 1 "leaf index must not be negative (got '-3')" "$P" "$S" propose-remove -3
expect "mls-peer remove with 65 leaves" 1 "at most 64 leaves per commit, got 65" "$P" "$S" remove $(seq 1 65)
cmp -s "$S" "$work/before" && { pass=$((pass + 1)); echo "ok:   state file unchanged by the refused commands"; } ||
  { fail=$((fail + 1)); echo "FAIL: a refused command changed the state file"; }
expect "mls-peer remove 5 (a number, but no such member)" 1 "leaf 5, which is not a member" "$P" "$S" remove 5

expect "outbox-fill N 12x" 2 "N: '12x' is not a whole number" "$B/outbox-fill" "$work/o.db" 12x 3
expect "outbox-fill GROUPS -3" 2 "GROUPS must not be negative" "$B/outbox-fill" "$work/o.db" 12 -3
expect "export-verify N 0" 2 "N: 0 is out of range" "$B/export-verify" 0 3
expect "export-verify GROUPS 1e3" 2 "GROUPS: '1e3' is not a whole number" "$B/export-verify" 10 1e3

echo "tools-cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
