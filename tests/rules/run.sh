#!/usr/bin/env bash
# Golden tests of the rules engine, through the rules-test and rules-check programs.
#
#   tests/rules/golden/<case>/   *.yaml (loaded in name order), events.jsonl, expected.jsonl;
#                                with events2.jsonl: a second run from the state the first
#                                saved (expected2.jsonl) and from no state (expected2-nostate.jsonl)
#   tests/rules/deploy/<set>.jsonl + <set>.expected.jsonl: deploy/rules/<set>.yaml
#   tests/rules/errors/*.yaml    each line "# expect: LINE:COL: error: TEXT" (or warning) must
#                                appear in rules-check's output, prefixed with the file name;
#                                rules-check must exit 1 when an error is expected, else 0.
#   tests/rules/errors/<dir>/    the same for a layered set (files in name order; expectations
#                                in <dir>/expect, as "FILE:LINE:COL: error: TEXT")
#
# usage: tests/rules/run.sh RULES_TEST RULES_CHECK [--update]
# --update rewrites the expected files from the current output (review the diff!).
set -u
T=${1:?rules-test}
C=${2:?rules-check}
update=${3:-}
root=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() {
  fail=$((fail + 1))
  echo "FAIL $1"
  [ -n "${2:-}" ] && sed 's/^/    /' <<<"$2" | head -40
}

compare() { # name expected actual
  if [ "$update" = --update ]; then cp "$3" "$2"; ok; return; fi
  if [ ! -f "$2" ]; then bad "$1" "missing $2"; return; fi
  if d=$(diff -u "$2" "$3"); then ok; else bad "$1" "$d"; fi
}

for dir in "$root"/golden/*/; do
  name=golden/$(basename "$dir")
  files=("$dir"*.yaml)
  "$T" --state-out "$tmp/state" "${files[@]}" <"$dir/events.jsonl" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  [ $rc -le 1 ] || { bad "$name" "rules-test exited $rc: $(cat "$tmp/err")"; continue; }
  compare "$name" "$dir/expected.jsonl" "$tmp/out"
  if [ -f "$dir/events2.jsonl" ]; then
    "$T" --state-in "$tmp/state" "${files[@]}" <"$dir/events2.jsonl" >"$tmp/out2" 2>"$tmp/err"
    compare "$name (restarted with state)" "$dir/expected2.jsonl" "$tmp/out2"
    "$T" "${files[@]}" <"$dir/events2.jsonl" >"$tmp/out3" 2>"$tmp/err"
    compare "$name (restarted without state)" "$dir/expected2-nostate.jsonl" "$tmp/out3"
    if cmp -s "$tmp/out2" "$tmp/out3"; then bad "$name" "saved state made no difference"; else ok; fi
  fi
done

for ev in "$root"/deploy/*.jsonl; do
  case "$ev" in *.expected.jsonl) continue ;; esac
  set_name=$(basename "$ev" .jsonl)
  rules=$root/../../deploy/rules/$set_name.yaml
  [ -f "$rules" ] || { bad "deploy/$set_name" "no $rules"; continue; }
  "$T" "$rules" <"$ev" >"$tmp/out" 2>"$tmp/err"
  [ $? -le 1 ] || { bad "deploy/$set_name" "$(cat "$tmp/err")"; continue; }
  compare "deploy/$set_name" "${ev%.jsonl}.expected.jsonl" "$tmp/out"
done
# every deploy rule set has a golden test, and all of them load together
for r in "$root"/../../deploy/rules/*.yaml; do
  [ -f "$root/deploy/$(basename "$r" .yaml).jsonl" ] && ok || bad "deploy/$(basename "$r")" "no golden test"
done
if out=$("$C" --strict "$root"/../../deploy/rules/*.yaml 2>&1); then ok; else bad "deploy (all sets together)" "$out"; fi

check_expect() { # name output rc expect-lines...
  local name=$1 out=$2 rc=$3
  shift 3
  local want_err=0 line
  for line in "$@"; do
    case "$line" in *": error: "*) want_err=1 ;; esac
    if ! grep -qF -- "$line" <<<"$out"; then
      bad "$name" "expected: $line
got:
$out"
      return
    fi
  done
  if [ $want_err -eq 1 ] && [ "$rc" -ne 1 ]; then bad "$name" "exit $rc, expected 1"; return; fi
  if [ $want_err -eq 0 ] && [ "$rc" -ne 0 ]; then bad "$name" "exit $rc, expected 0: $out"; return; fi
  ok
}

for f in "$root"/errors/*.yaml; do
  rel=tests/rules/errors/$(basename "$f")
  mapfile -t exp < <(sed -n "s|^# expect: |$rel:|p" "$f")
  [ ${#exp[@]} -gt 0 ] || { bad "$rel" "no '# expect:' line"; continue; }
  out=$(cd "$root/../.." && "$C" "$rel" 2>&1)
  check_expect "$rel" "$out" $? "${exp[@]}"
done
for d in "$root"/errors/*/; do
  [ -d "$d" ] || continue
  rel=tests/rules/errors/$(basename "$d")
  mapfile -t exp < <(sed "s|^|$rel/|" "$d/expect")
  out=$(cd "$root/../.." && "$C" "$rel"/*.yaml 2>&1)
  check_expect "$rel" "$out" $? "${exp[@]}"
done

# a file over the size limit (4 MiB) is refused before parsing
big=$tmp/big.yaml
head -c 4200000 /dev/zero | tr '\0' '#' >"$big"
out=$("$C" "$big" 2>&1)
check_expect "errors/file-too-big" "$out" $? "$big: error: file is larger than the limit"
# a missing file
out=$("$C" "$tmp/nope.yaml" 2>&1)
check_expect "errors/missing-file" "$out" $? "$tmp/nope.yaml: error: cannot open the file"
# ... does not hide the errors of the files that could be read
out=$(cd "$root/../.." && "$C" tests/rules/errors/unknown-field.yaml "$tmp/nope.yaml" 2>&1)
check_expect "errors/missing-file-and-error" "$out" $? "$tmp/nope.yaml: error: cannot open the file" \
  "tests/rules/errors/unknown-field.yaml:3:37: error: unknown field 'sender.nickname'"

echo "rules-golden: $pass passed, $fail failed"
[ $fail -eq 0 ]
