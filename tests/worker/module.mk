# tests/worker/: the xmtpw program as an operator uses it (sanitizer build).
TESTS += xmtpw_cli
xmtpw_cli_CMD := BUILD=$(BUILD) tests/worker/xmtpw_cli.sh
xmtpw_cli_NEEDS := $(BUILD)/tests/xmtpw-san
xmtpw_cli_TIMEOUT := 120
