#!/usr/bin/env bash
# The layering check (tests/tools/check_layers.sh) passes on the tree and fails, with the
# file:line and the rule, on copies of the tree with one deliberate mistake planted each.
# Ends with "check-layers-test: P passed, F failed".
set -u
C=$(pwd)/tests/tools/check_layers.sh
work=$(mktemp -d /tmp/check-layers.XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok:   $1"; }
no() { fail=$((fail + 1)); echo "FAIL: $1"; sed 's/^/        /' "$work/out"; }

# the tree itself
if "$C" . >"$work/out" 2>&1; then ok "the tree: $(tail -n 1 "$work/out")"; else no "the tree breaks the layering"; fi

# a pristine copy of the source folders (not tests/, not build/)
mkdir "$work/tree"
for d in */; do
  case $d in build/ | tests/) continue ;; esac
  cp -r "$d" "$work/tree/"
done
if "$C" "$work/tree" >"$work/out" 2>&1; then ok "a copy of the tree passes"; else no "a copy of the tree fails"; fi

n=0
fresh() { n=$((n + 1)); rm -rf "$work/t$n"; cp -r "$work/tree" "$work/t$n"; T="$work/t$n"; }
# plant FILE LINE: appends LINE to FILE in the copy; sets L to its line number
plant() { echo "$2" >>"$T/$1"; L=$(wc -l <"$T/$1"); }
# expect_fail WHAT NEEDLE...: the check exits 1, reports exactly one violation, with every NEEDLE
expect_fail() {
  local what=$1
  shift
  "$C" "$T" >"$work/out" 2>&1
  local rc=$?
  [ $rc -eq 1 ] || { no "$what: exit $rc, want 1"; return; }
  grep -q 'check-layers: .* 1 violations' "$work/out" || { no "$what: not exactly one violation"; return; }
  for needle in "$@"; do
    grep -qF -- "$needle" "$work/out" || { no "$what: no '$needle' in the report"; return; }
  done
  ok "$what"
}
expect_pass() {
  if "$C" "$T" >"$work/out" 2>&1; then ok "$1"; else no "$1: the check failed"; fi
}
RULE='(layers: worker -> pipeline -> {rules, xmtp} -> mls -> common; proto below xmtp'

fresh && plant common/err.c '#include "pipeline/queue.h"'
expect_fail "common includes pipeline" "common/err.c:$L: forbidden #include \"pipeline/queue.h\": common/ may include only common/, not pipeline/" "$RULE"

fresh && plant mls/tree.c '#include "xmtp/inbox.h"'
expect_fail "mls includes xmtp (upwards)" "mls/tree.c:$L: forbidden #include \"xmtp/inbox.h\": mls/ may include only mls/, common/, not xmtp/"

fresh && plant rules/eval.c '#include "mls/message_contents/content.pb-c.h"'
expect_fail "a generated header under mls/... counts as proto, not mls" \
  "rules/eval.c:$L: forbidden #include \"mls/message_contents/content.pb-c.h\"" "not proto (generated protobuf code)"

fresh && plant mls/tree.c '#include "gen/mls/message_contents/content.pb-c.h"'
expect_fail "a gen/ header counts as proto; mls may not include it" "mls/tree.c:$L:" "mls/ may include only mls/, common/, not proto"

fresh && plant pipeline/queue.c '#include "worker/worker.h"'
expect_fail "a library includes worker/" "pipeline/queue.c:$L: forbidden #include \"worker/worker.h\": pipeline/ may include only"

fresh && plant xmtp/api.c '#include "node/server.h"'
expect_fail "a library includes node/" "xmtp/api.c:$L: forbidden #include \"node/server.h\""

fresh && plant pipeline/queue.c '#include "tests/unit/pipeline_test_helpers.h"'
expect_fail "a library includes a test header" "pipeline/queue.c:$L:" "not tests/, which is not a library"

fresh && plant tools/xw_export.c '#include "node/server_int.h"'
expect_fail "a program includes another folder's *_int.h" \
  "tools/xw_export.c:$L: forbidden #include \"node/server_int.h\": a *_int.h header is internal to node/"

fresh && plant pipeline/stage.c '#include "queue.h"'
expect_fail "an include not written from the root" "pipeline/stage.c:$L: #include \"queue.h\": write include paths from the repository root"

fresh && plant pipeline/exporter.c '    mallopt(M_MXFAST, 0);'
expect_fail "a library calls mallopt" "pipeline/exporter.c:$L: call to mallopt(): a library does not change process-wide state"

fresh && plant common/log.c '    signal(SIGPIPE, SIG_IGN);'
expect_fail "a library sets a signal disposition" "common/log.c:$L: call to signal()"

fresh && mkdir "$T/worker2" && echo 'int worker2_x;' >"$T/worker2/x.c"
expect_fail "a new folder without a layer rule" "worker2/: no layer rule for this folder"

# the temporary allow-list, on a copy of the checker with a list of the test's own
# with_allowed ENTRY...: writes $work/check_allowed.sh, whose ALLOWED holds the entries
with_allowed() {
  awk -v entries="$(printf '%s\n' "$@")" '
    /^ALLOWED=/ { print "ALLOWED=\047"; print entries; print "\047"; skip = gsub(/\047/, "&") < 2; next }
    skip { if ($0 ~ /\047/) skip = 0; next }
    { print }' "$C" >"$work/check_allowed.sh"
}
# on a small tree of two files, so that no other violation (nor the real list) is involved
mini() {
  rm -rf "$work/mini" && mkdir -p "$work/mini/common" "$work/mini/pipeline" && T="$work/mini"
  echo '#include "common/err.h"' >"$T/pipeline/queue.c"
  echo '#include "common/err.h"' >"$T/common/err.c"
}
with_allowed "common/err.c pipeline"
mini && plant common/err.c '#include "pipeline/queue.h"'
if bash "$work/check_allowed.sh" "$T" >"$work/out" 2>&1 && grep -q '0 violations (1 allowed for now' "$work/out"; then
  ok "an allow-list entry lets its one violation through, and says so"
else
  no "an allow-list entry did not let its violation through"
fi
mini
if ! bash "$work/check_allowed.sh" "$T" >"$work/out" 2>&1 &&
  grep -qF 'stale allow-list entry "common/err.c pipeline": nothing breaks that rule any more; remove it' "$work/out"; then
  ok "an allow-list entry that matches nothing fails the check (so the list gets emptied)"
else
  no "a stale allow-list entry was not reported"
fi

# what is allowed stays allowed
fresh && plant xmtp/inbox.c '#include "gen/identity/associations/association.pb-c.h"' &&
  plant tools/xw_export.c '#include "node/server.h"' && plant pipeline/queue.c '#include "rules/rules.h"' &&
  plant tools/mls_peer.c '    mallopt(M_MXFAST, 0);' && plant common/log.c ' * signal(SIGPIPE) in a comment is not a call'
expect_pass "allowed: xmtp includes proto, tools include node's public header, pipeline includes rules, a program calls mallopt, comments"

echo "check-layers-test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
