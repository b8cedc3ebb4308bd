#!/usr/bin/env bash
# The programs in tools/ (and the test tools) print their usage on stdout with --help (exit
# 0); refuse bad numbers, negative ones as negative, with exit 2 or 1 and a sentence naming
# the value, and leave a state file unchanged; good numbers still work. mls-peer prints
# nothing unless the state behind it was saved (a failure or a crash while saving).
# usage: tests/tools/tools_cli.sh BUILD_DIR. Ends with "tools-cli: P passed, F failed".
set -u
B=$(cd "${1:-build}" && pwd)
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

# --help: usage on stdout, exit 0, nothing on stderr, and no state file or database created
for prog in xw-export rules-check rules-test mls-peer xmtp-devnode kafka-mock outbox-fill export-verify; do
  (cd "$work" && "$B/$prog" --help >"$work/out" 2>"$work/err" </dev/null)
  rc=$?
  if [ "$rc" -eq 0 ] && grep -q "^usage: $prog" "$work/out" && [ ! -s "$work/err" ]; then
    pass=$((pass + 1)); echo "ok:   $prog --help"
  else
    fail=$((fail + 1)); echo "FAIL: $prog --help (exit $rc; stdout: $(head -c 100 "$work/out"); stderr: $(head -c 200 "$work/err"))"
  fi
done
expect "mls-peer --help after an option" 0 "" "$P" --suite 1 --help
[ -z "$(ls "$work" | grep -v '^out$\|^err$')" ] && { pass=$((pass + 1)); echo "ok:   --help created no file"; } ||
  { fail=$((fail + 1)); echo "FAIL: --help created $(ls "$work")"; }

# negative numbers are refused as negative, in every program's options
# (under timeout: a node that took a bad port would listen for ever)
N="$B/xmtp-devnode"
expect "xmtp-devnode --max-message-size -5" 2 "--max-message-size must not be negative (got '-5')" timeout 30 "$N" --max-message-size -5 --db :memory:
expect "xmtp-devnode --max-message-size 1x" 2 "--max-message-size: '1x' is not a whole number" timeout 30 "$N" --max-message-size 1x --db :memory:
expect "xmtp-devnode --max-message-size 100" 2 "--max-message-size: 100 is out of range; give a whole number from 1024" timeout 30 "$N" --max-message-size 100 --db :memory:
expect "xmtp-devnode --listen 127.0.0.1:-5" 2 "the --listen port must not be negative (got '-5')" timeout 30 "$N" --listen 127.0.0.1:-5 --db :memory:
expect "xmtp-devnode --listen 127.0.0.1:99999" 2 "the --listen port: 99999 is out of range; give a whole number from 0 to 65535" timeout 30 "$N" --listen 127.0.0.1:99999 --db :memory:
expect "xmtp-devnode --listen 5556 (no host)" 2 "--listen takes HOST:PORT" timeout 30 "$N" --listen 5556 --db :memory:
K="$B/kafka-mock"
expect "kafka-mock --brokers -1" 2 "--brokers must not be negative (got '-1')" "$K" --brokers -1 </dev/null
expect "kafka-mock --brokers 17" 2 "--brokers: 17 is out of range; give a whole number from 1 to 16" "$K" --brokers 17 </dev/null
expect "kafka-mock --topic t:-3" 2 "--topic's PARTITIONS must not be negative (got '-3')" "$K" --topic t:-3 </dev/null
expect "kafka-mock --bogus" 2 "unknown option '--bogus'" "$K" --bogus </dev/null
# its commands on stdin: one answer line each, after the bootstrap address
printf 'rtt 1 -5\nleader t -1 1\ndown -2\nberrors 1 produce NO_ERROR 1 -100\nerrors produce 1 -4\ntopic t -3\nrtt 1 5\nquit\n' |
  "$K" --brokers 1 --topic t:2 >"$work/mock.out" 2>"$work/mock.err"
for want in "error: MS must not be negative (got '-5')" "error: PARTITION must not be negative (got '-1')" \
  "error: BROKER must not be negative (got '-2')" "error: RTT_MS must not be negative (got '-100')" \
  "error: COUNT must not be negative (got '-4')" "error: PARTITIONS must not be negative (got '-3')"; do
  grep -qF -- "$want; give a whole number from" "$work/mock.out" && { pass=$((pass + 1)); echo "ok:   kafka-mock answers: $want"; } ||
    { fail=$((fail + 1)); echo "FAIL: kafka-mock did not answer '$want' (got: $(tr '\n' '|' <"$work/mock.out"))"; }
done
[ "$(sed -n 8p "$work/mock.out")" = ok ] && { pass=$((pass + 1)); echo "ok:   kafka-mock: a good rtt command still works"; } ||
  { fail=$((fail + 1)); echo "FAIL: kafka-mock 'rtt 1 5' (got: $(tr '\n' '|' <"$work/mock.out"))"; }
rm -f "$work/mock.out" "$work/mock.err"

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

# mls-peer saves the state before it prints anything that depends on it: when the state file
# cannot be written, nothing is printed (here: a folder where no file can be created)...
"$P" /proc/xw-mls-peer-test.state keypackage alice >"$work/out" 2>"$work/err"
rc=$?
[ "$rc" -eq 1 ] && [ ! -s "$work/out" ] && grep -q "state file not saved, nothing printed: cannot create /proc/xw-mls-peer-test.state.tmp" "$work/err" &&
  { pass=$((pass + 1)); echo "ok:   mls-peer keypackage whose state cannot be saved: exit 1, no key package printed"; } ||
  { fail=$((fail + 1)); echo "FAIL: mls-peer keypackage with an unsaveable state (exit $rc; stdout: $(head -c 80 "$work/out"); stderr: $(head -c 200 "$work/err"))"; }
# ... and a crash while saving (SIGXFSZ: no byte may be written to a file) prints nothing and
# leaves the state as it was, even with stdout line-buffered as on a terminal
cp "$S" "$work/before"
(ulimit -c 0; ulimit -f 0; exec stdbuf -oL "$P" "$S" send "hello") 2>"$work/err" | cat >"$work/out"
st=${PIPESTATUS[0]}
[ "$st" -gt 128 ] && [ ! -s "$work/out" ] && cmp -s "$S" "$work/before" &&
  { pass=$((pass + 1)); echo "ok:   mls-peer killed while saving (status $st): nothing printed, state unchanged"; } ||
  { fail=$((fail + 1)); echo "FAIL: mls-peer killed while saving (status $st; stdout: $(head -c 80 "$work/out"))"; }
(ulimit -c 0; ulimit -f 0; exec stdbuf -oL "$P" "$work/kp.state" keypackage bob) 2>"$work/err" | cat >"$work/out"
st=${PIPESTATUS[0]}
[ "$st" -gt 128 ] && [ ! -s "$work/out" ] && [ ! -e "$work/kp.state" ] &&
  { pass=$((pass + 1)); echo "ok:   mls-peer keypackage killed while saving (status $st): no key package printed"; } ||
  { fail=$((fail + 1)); echo "FAIL: mls-peer keypackage killed while saving (status $st; stdout: $(head -c 80 "$work/out"))"; }
expect "mls-peer send (saved, then printed)" 0 "" "$P" "$S" send "hello"
grep -q '^message [0-9a-f]*$' "$work/out" && { pass=$((pass + 1)); echo "ok:   mls-peer send prints the message once saved"; } ||
  { fail=$((fail + 1)); echo "FAIL: mls-peer send printed $(head -c 80 "$work/out")"; }

expect "outbox-fill N 12x" 2 "N: '12x' is not a whole number" "$B/outbox-fill" "$work/o.db" 12x 3
expect "outbox-fill GROUPS -3" 2 "GROUPS must not be negative" "$B/outbox-fill" "$work/o.db" 12 -3
expect "export-verify N 0" 2 "N: 0 is out of range" "$B/export-verify" 0 3
expect "export-verify GROUPS 1e3" 2 "GROUPS: '1e3' is not a whole number" "$B/export-verify" 10 1e3

echo "tools-cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
