#!/usr/bin/env bash
# Protobuf cross-check, both directions (see proto_interop.mjs and proto_interop.c):
# XMTP's codecs encode the vectors, our C code decodes, checks and re-encodes them; the C
# code encodes the vectors, XMTP's codecs decode, check and re-encode them. Sums the
# three stages into one "N passed, N failed" line.
set -u
build=${1:-build}
dir=$build/tests/proto_interop-vectors
rm -rf "$dir" && mkdir -p "$dir"
total_p=0
total_f=0
status=0
stage() {
  local out rc line
  out=$("$@" 2>&1)
  rc=$?
  printf '%s\n' "$out"
  line=$(printf '%s\n' "$out" | grep -E '^[a-z-]+: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
  if [ -z "$line" ]; then
    echo "stage '$*' reported no count (exit $rc)"
    total_f=$((total_f + 1))
    status=1
    return 1
  fi
  total_p=$((total_p + $(sed -E 's/^[a-z-]+: ([0-9]+) passed.*/\1/' <<<"$line")))
  total_f=$((total_f + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
  [ "$rc" -eq 0 ] || status=1
  return "$rc"
}
stage node tests/interop/proto_interop.mjs emit "$dir" &&
  stage "$build/tests/proto_interop" "$dir" &&
  stage node tests/interop/proto_interop.mjs check "$dir"
echo "$total_p passed, $total_f failed"
[ "$status" -eq 0 ] && [ "$total_f" -eq 0 ]
