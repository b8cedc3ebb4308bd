# tools/: the command-line programs. Each links the libraries it needs; no library links
# anything from here (the layering check, tests/tools/check_layers.sh, enforces it).
#   build/xmtp-devnode  the local XMTP node (docs/devnode.md)
#   build/mls-peer      an MLS member whose state lives in a file (tests/interop/README.md)
#   build/rules-check   compiles a rule set, errors as file:line:col (docs/rules.md)
#   build/rules-test    evaluates events against a rule set (docs/rules.md)
#   build/xw-export     runs the exporter on an outbox file (docs/export.md)

PROGS += xmtp-devnode
xmtp-devnode_SRCS := tools/xmtp_devnode.c
xmtp-devnode_LIBS := xwnode

PROGS += mls-peer
mls-peer_SRCS := tools/mls_peer.c
mls-peer_LIBS := mls

PROGS += rules-check rules-test
rules-check_SRCS := tools/rules_check.c
rules-check_LIBS := rules
rules-test_SRCS := tools/rules_test.c
rules-test_LIBS := rules

# sanitizer builds of the rules tools, for the golden tests (tests/rules/module.mk)
TESTBINS += rules-check-san rules-test-san
rules-check-san_SRCS := tools/rules_check.c
rules-check-san_LIBS := rules
rules-test-san_SRCS := tools/rules_test.c
rules-test-san_LIBS := rules

PROGS += xw-export
xw-export_SRCS := tools/xw_export.c tools/process_setup.c
xw-export_LIBS := pipeline

# --help on every program; bad and negative numbers refused with a sentence, state files
# unchanged; mls-peer prints nothing that a saved state does not back
TESTS += tools_cli
tools_cli_CMD := tests/tools/tools_cli.sh $(BUILD)
tools_cli_NEEDS := $(BUILD)/mls-peer $(BUILD)/outbox-fill $(BUILD)/export-verify $(BUILD)/xw-export \
	$(BUILD)/rules-check $(BUILD)/rules-test $(BUILD)/xmtp-devnode $(BUILD)/kafka-mock
tools_cli_TIMEOUT := 60
