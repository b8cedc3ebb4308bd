# tests/rules/: golden tests of the rules engine (rule files + events -> decisions, load
# errors with file:line:col), run through sanitizer builds of rules-test and rules-check.
TESTS += rules_golden
rules_golden_CMD := tests/rules/run.sh $(BUILD)/tests/rules-test-san $(BUILD)/tests/rules-check-san
rules_golden_TIMEOUT := 120
rules_golden_NEEDS := $(BUILD)/tests/rules-test-san $(BUILD)/tests/rules-check-san
