#!/usr/bin/env bash
# xw-export as an operator uses it: usage errors, --help, a mistyped outbox path (an error,
# nothing created), JSON lines to a file, one exporter per outbox (two real processes on one
# file: the second refuses, naming the first; a SIGKILLed holder does not lock the outbox),
# giving up on an unreachable broker, permanent failures kept and listed, requeued and then
# delivered (to kafka-mock, checked with kcat).
# Ends with "xw-export-cli: P passed, F failed".
set -u
B=${BUILD:-build}
work=$(mktemp -d /tmp/xw-export-cli.XXXXXX)
pass=0
fail=0
mockpid=
pids=()
cleanup() {
  exec 9>&- 2>/dev/null
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
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
# waits (up to 30 s) until file $1 contains fixed string $2
wait_for() { for _ in $(seq 300); do grep -qF -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# usage errors: exit 2 and a sentence
"$X" >/dev/null 2>"$work/e1"; rc=$?
check "no arguments: exit 2, says --outbox is required" bash -c "[ $rc -eq 2 ] && grep -q 'outbox is required' '$work/e1'"
"$X" --outbox "$work/a.db" --jsonl - --brokers x:1 --topic t >/dev/null 2>"$work/e2"; rc=$?
check "two sinks at once: exit 2" bash -c "[ $rc -eq 2 ] && grep -q 'either --brokers and --topic, or --jsonl' '$work/e2'"
"$X" --outbox "$work/a.db" --topic-for bogus=t --jsonl - 2>"$work/e3"; rc=$?
check "unknown kind in --topic-for: exit 2" bash -c "[ $rc -eq 2 ] && grep -q 'unknown event kind' '$work/e3'"
"$B/outbox-fill" "$work/a.db" 10 2 >/dev/null
"$X" --outbox "$work/a.db" --brokers x:1 --topic t --prop acks=1 2>"$work/e4"; rc=$?
check "weakening acks is refused: exit 1 with the reason" bash -c "[ $rc -eq 1 ] && grep -q 'acks is set by the exporter' '$work/e4'"
"$X" --outbox /nonexistent-dir/x.db --counts 2>"$work/e5"; rc=$?
check "outbox in a missing folder: exit 1 with the path" bash -c "[ $rc -eq 1 ] && grep -q 'no outbox at /nonexistent-dir/x.db: the file does not exist' '$work/e5'"
"$X" --outbox "$work/a.db" --bogus 2>"$work/e7"; rc=$?
check "unknown option: exit 2, names it" bash -c "[ $rc -eq 2 ] && grep -q \"unknown option '--bogus'\" '$work/e7'"
"$X" --outbox "$work/a.db" --jsonl 2>"$work/e8"; rc=$?
check "option without its value: exit 2, says so" bash -c "[ $rc -eq 2 ] && grep -q -- '--jsonl needs a value' '$work/e8'"

# --help: usage on stdout, exit 0
"$X" --help >"$work/h.out" 2>"$work/h.err"; rc=$?
check "--help: exit 0, usage on stdout, nothing on stderr" bash -c \
  "[ $rc -eq 0 ] && grep -q '^usage: xw-export' '$work/h.out' && grep -q -- '--give-up-after' '$work/h.out' && [ ! -s '$work/h.err' ]"

# a mistyped outbox path is an error, in every mode, and creates nothing
for m in --counts --list-failed --requeue-failed "--jsonl $work/typo.jsonl --until-empty"; do
  # shellcheck disable=SC2086
  "$X" --outbox "$work/typo.db" $m >"$work/t.out" 2>"$work/t.err"; rc=$?
  check "missing outbox with $m: exit 1, says the file does not exist, prints nothing" bash -c \
    "[ $rc -eq 1 ] && grep -q 'no outbox at $work/typo.db: the file does not exist; check the path' '$work/t.err' && [ ! -s '$work/t.out' ]"
  check "missing outbox with $m: no file created" bash -c "! ls '$work'/typo* >/dev/null 2>&1"
done
: >"$work/empty.db"
"$X" --outbox "$work/empty.db" --counts >"$work/t.out" 2>"$work/t.err"; rc=$?
check "an empty file is not an outbox: exit 1, says so, the file stays empty" bash -c \
  "[ $rc -eq 1 ] && grep -q 'holds no outbox' '$work/t.err' && [ ! -s '$work/empty.db' ] && [ ! -s '$work/t.out' ]"
sqlite3 "$work/other.db" "CREATE TABLE notes(x); INSERT INTO notes VALUES (1);"
cp "$work/other.db" "$work/other.before"
"$X" --outbox "$work/other.db" --jsonl "$work/o.jsonl" --until-empty 2>"$work/t.err"; rc=$?
check "another SQLite database: exit 1, says it holds no outbox, file unchanged" bash -c \
  "[ $rc -eq 1 ] && grep -q 'other.db holds no outbox (no table pl_outbox_batch)' '$work/t.err' && cmp -s '$work/other.db' '$work/other.before'"

for bad in -1 2x ""; do
  "$X" --outbox "$work/a.db" --jsonl - --until-empty --give-up-after "$bad" 2>"$work/e9"; rc=$?
  case $bad in
    -*) want='--give-up-after must not be negative' ;;
    "") want='--give-up-after is empty' ;;
    *) want="'$bad' is not a whole number" ;;
  esac
  check "--give-up-after '$bad': exit 2, says why" bash -c "[ $rc -eq 2 ] && grep -qF -- \"$want\" '$work/e9'"
done
"$X" --outbox "$work/a.db" --jsonl - --give-up-after 5 2>"$work/e10"; rc=$?
check "--give-up-after without --until-empty: exit 2, says why" bash -c "[ $rc -eq 2 ] && grep -q 'applies to --until-empty only' '$work/e10'"
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

# One exporter per outbox, with two real processes on one file. A holds the outbox (it runs
# until SIGTERM); B is refused at once, naming A, and creates no output; reading the counts
# needs no lease. Then A is SIGKILLed: the kernel drops its lock, and C exports the rest.
"$B/outbox-fill" "$work/l.db" 2000 20 >/dev/null
"$X" --outbox "$work/l.db" --jsonl "$work/la.jsonl" 2>"$work/la.err" &
apid=$!
pids+=("$apid")
check "exporter A records itself as the holder (pid $apid) in the lock file" wait_for "$work/l.db-exporter.lock" "pid $apid,"
timeout 60 "$X" --outbox "$work/l.db" --jsonl "$work/lb.jsonl" --until-empty 2>"$work/lb.err"; rc=$?
check "exporter B beside A: exit 1 at once (exit $rc)" test "$rc" -eq 1
check "B says another exporter holds the outbox, with A's pid, host, start time and program" grep -qE \
  "another exporter holds this outbox \(pid $apid, host $(hostname), since [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z, program xw-export\)" "$work/lb.err"
check "B names the lock file" grep -qF "(lock $work/l.db-exporter.lock)" "$work/lb.err"
check "B created no output file" test ! -e "$work/lb.jsonl"
ln -s "$work/l.db" "$work/link.db"
timeout 60 "$X" --outbox "$work/link.db" --jsonl "$work/lb.jsonl" --until-empty 2>"$work/lb2.err"; rc=$?
check "through a symbolic link to the same file: refused too (exit $rc)" bash -c "[ $rc -eq 1 ] && grep -q 'pid $apid,' '$work/lb2.err'"
check "--counts works while A holds the outbox" bash -c "$X --outbox '$work/l.db' --counts | grep -q '^pending '"
check "A exported all 2000 events" wait_for "$work/la.jsonl" '"id":"ev-0000001999"'
kill -9 "$apid"
wait "$apid" 2>/dev/null
"$X" --outbox "$work/l.db" --jsonl "$work/lc.jsonl" --until-empty 2>"$work/lc.err"; rc=$?
check "after A was SIGKILLed, exporter C takes the outbox and finishes (exit $rc)" test "$rc" -eq 0
check "every event exported (A and C together: 2000 distinct ids), nothing pending" bash -c \
  "[ \$(cat '$work/la.jsonl' '$work/lc.jsonl' | grep -o '\"id\":\"ev-[0-9]*\"' | sort -u | wc -l) -eq 2000 ] && $X --outbox '$work/l.db' --counts | grep -qx 'pending 0'"

# Two exporters started together on a filled outbox: exactly one runs and exports every event
# exactly once; the other refuses. (Before the lease both ran: events were delivered twice
# and one of them could wait for ever on a row the other had deleted.)
"$B/outbox-fill" "$work/r.db" 20000 50 >/dev/null
"$X" --outbox "$work/r.db" --jsonl "$work/r1.jsonl" 2>"$work/r1.err" &
r1=$!
"$X" --outbox "$work/r.db" --jsonl "$work/r2.jsonl" 2>"$work/r2.err" &
r2=$!
pids+=("$r1" "$r2")
first=
for _ in $(seq 300); do
  kill -0 "$r1" 2>/dev/null || { first=$r1; break; }
  kill -0 "$r2" 2>/dev/null || { first=$r2; break; }
  sleep 0.1
done
wait "$first" 2>/dev/null; frc=$?
if [ "$first" = "$r1" ]; then other=$r2 oerr=r2 ferr=r1; else other=$r1 oerr=r1 ferr=r2; fi
check "started together: one of the two exits at once with 1 (exit ${frc})" bash -c "[ -n '$first' ] && [ $frc -eq 1 ]"
check "... saying the other holds the outbox (pid $other)" grep -q "another exporter holds this outbox (pid $other," "$work/$ferr.err"
check "the other exports all 20000 events" wait_for "$work/$oerr.jsonl" '"id":"ev-0000019999"'
kill -TERM "$other"
wait "$other"; orc=$?
check "... and stops cleanly on SIGTERM (exit $orc)" test "$orc" -eq 0
check "each of the 20000 events exported exactly once" bash -c \
  "[ \$(cat '$work/r1.jsonl' '$work/r2.jsonl' 2>/dev/null | wc -l) -eq 20000 ] && [ \$(cat '$work/r1.jsonl' '$work/r2.jsonl' 2>/dev/null | grep -o '\"id\":\"ev-[0-9]*\"' | sort -u | wc -l) -eq 20000 ]"

# --until-empty with a broker that cannot be reached gives up (it used to wait for ever),
# says why, and keeps every event in the outbox
"$B/outbox-fill" "$work/g.db" 100 5 >/dev/null
timeout 100 "$X" --outbox "$work/g.db" --brokers 127.0.0.1:1 --topic t --until-empty --give-up-after 1 2>"$work/g.err"; rc=$?
check "unreachable broker with --until-empty --give-up-after 1: exit 1 (exit $rc)" test "$rc" -eq 1
check "... saying it gave up, after how long, and how many events wait" grep -q \
  'gave up: nothing was delivered for 1 s (--give-up-after) and 100 events are still pending' "$work/g.err"
check "... and all 100 events are still pending" bash -c "$X --outbox '$work/g.db' --counts | grep -qx 'pending 100'"

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
