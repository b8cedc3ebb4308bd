# tests/tools/: the layering check. `make check-layers` runs tests/tools/check_layers.sh on the
# tree; the suite check_layers runs it too, and proves it fails, with file:line and the rule,
# on copies of the tree with a forbidden include (or call) planted in them.
TESTS += check_layers
check_layers_CMD := tests/tools/check_layers_test.sh
check_layers_NEEDS := tests/tools/check_layers.sh tests/tools/check_layers_test.sh
check_layers_TIMEOUT := 120
