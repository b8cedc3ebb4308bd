# bench/rules.mk: benchmark of the rules engine (100 rules, 1,000,000 events).
BENCHES += bench_rules
bench_rules_SRCS := bench/bench_rules.c bench/bench_util.c
bench_rules_LIBS := rules
