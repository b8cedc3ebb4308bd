# rules/: the YAML rules engine (library `rules`); its programs rules-check and rules-test are
# in tools/.
LIBS += rules
rules_SRCS := $(wildcard rules/*.c)
rules_DEPS := common
rules_PKGS := yaml-0.1 libpcre2-8 jansson

TESTBINS += test_rules
test_rules_SRCS := tests/unit/test_rules.c
test_rules_LIBS := rules
test_rules_PKGS := cmocka
TESTS += test_rules
test_rules_TIMEOUT := 120
TESTBINS += test_rules_limits
test_rules_limits_SRCS := tests/unit/test_rules_limits.c
test_rules_limits_LIBS := rules common
test_rules_limits_PKGS := $(RULES_PKGS) cmocka
TESTS += test_rules_limits
test_rules_limits_TIMEOUT := 300

# libFuzzer targets: rule loading, condition expressions, events and saved state
FUZZERS += fuzz_rules_load fuzz_rules_expr fuzz_rules_input
fuzz_rules_load_SRCS := tests/fuzz/fuzz_rules_load.c
fuzz_rules_load_LIBS := rules
fuzz_rules_expr_SRCS := tests/fuzz/fuzz_rules_expr.c
fuzz_rules_expr_LIBS := rules
fuzz_rules_input_SRCS := tests/fuzz/fuzz_rules_input.c
fuzz_rules_input_LIBS := rules
