# tests/repo/: checks of the repository itself, not of a module.
#
# repo_selfcontained: no tracked file refers to a folder beside the checkout (docs and test
# vectors live in docs/ and tests/vectors/data/); names file and line of each reference.
TESTS += repo_selfcontained
repo_selfcontained_CMD := tests/repo/selfcontained.sh
repo_selfcontained_TIMEOUT := 60
repo_selfcontained_NEEDS := tests/repo/selfcontained.sh
