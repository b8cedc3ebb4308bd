# worker/: the `xmtpw` program and its library `worker`: configuration (YAML + environment),
# the Prometheus metrics registry and endpoint. main() is worker/xmtpw.c; its subcommands are
# worker/cmd_*.c. Tests: tests/unit/test_worker_*.c, tests/worker/ (CLI and endpoint scripts).
LIBS += worker
worker_DEPS := pipeline rules xmtp xwproto common
worker_PKGS := yaml-0.1 libmicrohttpd
worker_SRCS := worker/config.c worker/config_load.c worker/config_yaml.c worker/config_show.c \
	worker/config_files.c worker/util.c \
	worker/metrics.c worker/metrics_http.c

PROGS += xmtpw
xmtpw_SRCS := worker/xmtpw.c worker/cmd_config.c worker/cli.c worker/cmd_init.c worker/cmd_info.c \
	worker/cmd_sync.c worker/cmd_groups.c worker/cmd_messages.c worker/cmd_send.c worker/cmd_stream.c
xmtpw_LIBS := worker xmtpclient
xmtpw_PKGS := jansson

# unit tests (ASan + UBSan)
TESTBINS += test_worker_config
test_worker_config_SRCS := tests/unit/test_worker_config.c
test_worker_config_LIBS := worker
test_worker_config_PKGS := cmocka
TESTS += test_worker_config
test_worker_config_TIMEOUT := 120
TESTBINS += test_worker_metrics
test_worker_metrics_SRCS := tests/unit/test_worker_metrics.c
test_worker_metrics_LIBS := worker
test_worker_metrics_PKGS := cmocka
TESTS += test_worker_metrics
test_worker_metrics_TIMEOUT := 120

# the sanitizer build of xmtpw, for tests/worker/xmtpw_cli.sh
TESTBINS += xmtpw-san
xmtpw-san_SRCS := $(xmtpw_SRCS)
xmtpw-san_LIBS := worker xmtpclient
xmtpw-san_PKGS := jansson

# libFuzzer target: the configuration loader (YAML and environment)
FUZZERS += fuzz_wk_config
fuzz_wk_config_SRCS := tests/fuzz/fuzz_wk_config.c
fuzz_wk_config_LIBS := worker
fuzz_wk_config_PKGS :=
