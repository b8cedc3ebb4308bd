# tests/worker/: the xmtpw program as an operator uses it (sanitizer build).
TESTS += xmtpw_cli
xmtpw_cli_CMD := BUILD=$(BUILD) tests/worker/xmtpw_cli.sh
xmtpw_cli_NEEDS := $(BUILD)/tests/xmtpw-san
xmtpw_cli_TIMEOUT := 120

# xmtpw's client commands against the dev node and a libxmtp user (@xmtp/node-bindings 1.9.1)
TESTS += xmtpw_libxmtp
xmtpw_libxmtp_CMD := node tests/interop/xmtpw_libxmtp.mjs $(BUILD)/xmtp-devnode $(BUILD)/tests/xmtpw-san
xmtpw_libxmtp_NEEDS = $(BUILD)/tests/xmtpw-san $(BUILD)/xmtp-devnode $(INTEROP_NPM)
xmtpw_libxmtp_TIMEOUT := 300
