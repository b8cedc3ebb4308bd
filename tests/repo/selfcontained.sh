#!/usr/bin/env bash
# The repository stands on its own (docs/style.md #17): no tracked file may refer to the
# sibling folder that once held the team's docs and test vectors, beside the checkout. A
# fresh clone has no such folder, so a build, a test or a doc that points there is broken
# for everyone else. Their content now lives in docs/ and tests/vectors/data/.
#
# Checks every file `git ls-files` lists (or, outside a git checkout, every file under the
# root except build/, node_modules/ and .git/), except the vector data itself, whose
# upstream READMEs are kept as they came. Prints "FAIL file:line: text" for each reference,
# then "N passed, N failed" counted in files. Exit 1 if any file refers to the folder.
#
# Usage: tests/repo/selfcontained.sh [ROOT]   (default: the repository holding this script)
set -u
root=${1:-"$(cd "$(dirname "$0")/../.." && pwd)"}
cd "$root" || { echo "FAIL cannot enter $root"; echo "0 passed, 1 failed"; exit 1; }

# The patterns are assembled so that this file does not match them itself: the folder by
# relative path, its sub-folders by name, and the make/shell variable that pointed to it.
s=shared
S=SHARED
pattern="\\.\\./$s([/\"'\` )]|\$)|$s/(docs|hooks|mls-vectors|pq-vectors)\\b|\\\$[({]$S[)}]|\\\$$S\\b"

list=$(mktemp) || exit 1
trap 'rm -f "$list"' EXIT
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z >"$list"
else
  find . -path ./build -prune -o -path ./.git -prune -o -name node_modules -prune -o \
    -type f -printf '%P\0' >"$list"
fi

pass=0
fail=0
while IFS= read -r -d '' f; do
  case $f in tests/vectors/data/*) continue ;; esac
  [ -f "$f" ] || continue # listed by git but deleted in the work tree
  if hits=$(grep -nIE -- "$pattern" "$f"); then
    while IFS= read -r h; do
      echo "FAIL $f:${h%%:*}: ${h#*:}"
    done <<<"$hits"
    fail=$((fail + 1))
  else
    pass=$((pass + 1))
  fi
done <"$list"

if [ "$pass" -eq 0 ] && [ "$fail" -eq 0 ]; then
  echo "FAIL no files to check under $root"
  fail=1
fi
[ "$fail" -eq 0 ] || echo "move the content into the repository (docs/, tests/vectors/data/) and cite the in-repo path"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
