# rules/: the YAML rules engine (library `rules`), and the rules-check and rules-test tools.
RULES_PKGS := yaml-0.1 libpcre2-8 jansson
LIBS += rules
rules_SRCS := $(filter-out rules/cmd_%.c,$(wildcard rules/*.c))

PROGS += rules-check rules-test
rules-check_SRCS := rules/cmd_check.c
rules-check_LIBS := rules common
rules-check_PKGS := $(RULES_PKGS)
rules-test_SRCS := rules/cmd_test.c
rules-test_LIBS := rules common
rules-test_PKGS := $(RULES_PKGS)

# sanitizer builds of the tools, for the golden tests
TESTBINS += rules-check-san rules-test-san
rules-check-san_SRCS := rules/cmd_check.c
rules-check-san_LIBS := rules common
rules-check-san_PKGS := $(RULES_PKGS)
rules-test-san_SRCS := rules/cmd_test.c
rules-test-san_LIBS := rules common
rules-test-san_PKGS := $(RULES_PKGS)

TESTBINS += test_rules
test_rules_SRCS := tests/unit/test_rules.c
test_rules_LIBS := rules common
test_rules_PKGS := $(RULES_PKGS) cmocka
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
fuzz_rules_load_LIBS := rules common
fuzz_rules_load_PKGS := $(RULES_PKGS)
fuzz_rules_expr_SRCS := tests/fuzz/fuzz_rules_expr.c
fuzz_rules_expr_LIBS := rules common
fuzz_rules_expr_PKGS := $(RULES_PKGS)
fuzz_rules_input_SRCS := tests/fuzz/fuzz_rules_input.c
fuzz_rules_input_LIBS := rules common
fuzz_rules_input_PKGS := $(RULES_PKGS)
