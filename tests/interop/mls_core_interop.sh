#!/usr/bin/env bash
# mls/ core against ts-mls: ts-mls protects, C unprotects; C protects, ts-mls processes.
# Prints the combined "N passed, N failed".
set -u
build=${BUILD:-build}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
here=$(cd "$(dirname "$0")" && pwd)
p=0; f=0
count() { # adds the last "N passed, N failed" of $1
  local line; line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
  if [ -z "$line" ]; then f=$((f + 1)); return; fi
  p=$((p + $(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")))
  f=$((f + $(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")))
}
if ! node "$here/mls_core_peer.mjs" make "$dir/in.json" >"$dir/make.log" 2>&1; then
  cat "$dir/make.log"; echo "0 passed, 1 failed"; exit 1
fi
"$build/tests/mls-core-interop" "$dir/in.json" "$dir/out.json" >"$dir/c.log" 2>&1
cat "$dir/c.log"; count "$dir/c.log"
if [ -f "$dir/out.json" ]; then
  node "$here/mls_core_peer.mjs" check "$dir/out.json" >"$dir/check.log" 2>&1
  sed 's/^/ts-mls: /' "$dir/check.log"; count "$dir/check.log"
else
  f=$((f + 1))
fi
echo "$p passed, $f failed"
[ "$f" -eq 0 ]
