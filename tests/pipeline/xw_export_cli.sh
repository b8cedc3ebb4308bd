#!/usr/bin/env bash
# xw-export as an operator uses it: usage errors, JSON lines to a file, permanent failures
# kept and listed, requeued and then delivered (to kafka-mock, checked with kcat).
# Ends with "xw-export-cli: P passed, F failed".
set -u
B=${BUILD:-build}
work=$(mktemp -d /tmp/xw-export-cli.XXXXXX)
pass=0
fail=0
mockpid=
cleanup() {
  exec 9>&- 2>/dev/null
  [ -n "$mockpid" ] && { kill "$mockpid" 2>/dev/null; wait "$mockpid" 2>/dev/null; }
  rm -rf "$work"
}
trap cleanup EXIT; [ -n "${KEEP:-}" ] && trap - EXIT
check() {
  local what=$1
  shift
  if "$@"; then pass=$((pass + 1)); echo "ok:   $what"; else fail=$((fail + 1)); echo "FAIL: $what"; fi
}
X="$B/xw-export"

# usage errors: exit 2 and a sentence
"$X" >/dev/null 2>"$work/e1"; rc=$?
check "no arguments: exit 2, says --outbox is required" bash -c "[ $rc -eq 2 ] && grep -q 'outbox is required' '$work/e1'"
"$X" --outbox "$work/a.db" --jsonl - --brokers x:1 --topic t >/dev/null 2>"$work/e2"; rc=$?
check "two sinks at once: exit 2" bash -c "[ $rc -eq 2 ] && grep -q 'either --brokers and --topic, or --jsonl' '$work/e2'"
"$X" --outbox "$work/a.db" --topic-for bogus=t --jsonl - 2>"$work/e3"; rc=$?
check "unknown kind in --topic-for: exit 2" bash -c "[ $rc -eq 2 ] && grep -q 'unknown event kind' '$work/e3'"
"$X" --outbox "$work/a.db" --brokers x:1 --topic t --prop acks=1 2>"$work/e4"; rc=$?
check "weakening acks is refused: exit 1 with the reason" bash -c "[ $rc -eq 1 ] && grep -q 'acks is set by the exporter' '$work/e4'"
"$X" --outbox /nonexistent-dir/x.db --counts 2>"$work/e5"; rc=$?
check "unopenable outbox: exit 1 with the path" bash -c "[ $rc -eq 1 ] && grep -q 'cannot open outbox database /nonexistent-dir/x.db' '$work/e5'"
for bad in -5 12x "" 99999999999; do
  "$X" --outbox "$work/a.db" --jsonl - --max-in-flight "$bad" 2>"$work/e6"; rc=$?
  case $bad in
    -*) want='--max-in-flight must not be negative' ;;
    9*) want='is out of range; give a whole number from 1 to 10000000' ;;
    "") want='--max-in-flight is empty' ;;
    *) want="'$bad' is not a whole number" ;;
  esac
  check "--max-in-flight '$bad': exit 2, says why" bash -c "[ $rc -eq 2 ] && grep -qF -- \"$want\" '$work/e6'"
done

# JSON lines to a file
"$B/outbox-fill" "$work/j.db" 5000 50 >/dev/null
"$X" --outbox "$work/j.db" --jsonl "$work/out.jsonl" --fsync --until-empty 2>"$work/j.err"; rc=$?
check "JSON lines export exits 0" test "$rc" -eq 0
check "5000 lines written" test "$(wc -l <"$work/out.jsonl")" -eq 5000
check "lines are the events, in order (first and last ids)" bash -c \
  "head -n1 '$work/out.jsonl' | grep -q '\"id\":\"ev-0000000000\"' && tail -n1 '$work/out.jsonl' | grep -q '\"id\":\"ev-0000004999\"'"
check "outbox empty afterwards" bash -c "$X --outbox '$work/j.db' --counts | grep -qx 'pending 0'"

# Kafka: every event too large for the broker limit -> kept as failed, listed, requeued
mkfifo "$work/ctl"
"$B/kafka-mock" --topic events:8 <"$work/ctl" >"$work/mock.out" 2>"$work/mock.err" &
mockpid=$!
exec 9>"$work/ctl"
for _ in $(seq 100); do [ -s "$work/mock.out" ] && break; sleep 0.1; done
bs=$(head -n 1 "$work/mock.out")
"$B/outbox-fill" "$work/k.db" 300 10 100 2000 >/dev/null # events of about 2.4 kB
"$X" --outbox "$work/k.db" --brokers "$bs" --topic events --prop message.max.bytes=1000 --until-empty \
  2>"$work/k1.err"; rc=$?
check "export with a 1000-byte message limit finishes (exit 0)" test "$rc" -eq 0
check "it says 300 events failed and how to list them" grep -q '300 events failed permanently.*--list-failed' "$work/k1.err"
"$X" --outbox "$work/k.db" --counts >"$work/counts"
check "all 300 kept as failed, none pending" bash -c "grep -qx 'failed 300' '$work/counts' && grep -qx 'pending 0' '$work/counts'"
"$X" --outbox "$work/k.db" --list-failed >"$work/list"
check "--list-failed shows each with the broker's reason" bash -c \
  "[ \$(wc -l <'$work/list') -eq 300 ] && grep -c 'MSG_SIZE_TOO_LARGE' '$work/list' | grep -qx 300"
check "--requeue-failed puts them back" bash -c "$X --outbox '$work/k.db' --requeue-failed | grep -qx 'requeued 300'"
"$X" --outbox "$work/k.db" --brokers "$bs" --topic events --until-empty 2>"$work/k2.err"; rc=$?
check "export after the fix: exit 0, outbox empty" bash -c \
  "[ $rc -eq 0 ] && $X --outbox '$work/k.db' --counts | tr '\n' ' ' | grep -q 'pending 0 failed 0'"
kcat -C -b "$bs" -t events -o beginning -e -q -f '%k\t%h\t%s\n' 2>/dev/null | "$B/export-verify" 300 10 >"$work/v" 2>&1
check "kcat reads all 300, in order per group, no duplicate" bash -c "grep -q 'lost 0, duplicates 0' '$work/v'"
echo "xw-export-cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
