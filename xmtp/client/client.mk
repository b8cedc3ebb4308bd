# xmtp/client/: the XMTP client (library xmtpclient): store, key packages, welcomes, group
# sync, sending; the node through an ops table (real gRPC client or the fake).
LIBS += xmtpclient
xmtpclient_SRCS := $(wildcard xmtp/client/*.c)
xmtpclient_DEPS := xmtpapi xmtp mlspq mls xwproto common
xmtpclient_PKGS := sqlite3

# store, registration, key packages (fake node)
TESTBINS += test_xmtp_client
test_xmtp_client_SRCS := tests/unit/test_xmtp_client.c tests/unit/xc_peer.c
test_xmtp_client_LIBS := xmtpclient
test_xmtp_client_PKGS := cmocka
TESTS += test_xmtp_client
test_xmtp_client_TIMEOUT := 120

# welcomes, group sync, commits of others, quarantine, sending (fake node + C peer)
TESTBINS += test_xmtp_client_sync
test_xmtp_client_sync_SRCS := tests/unit/test_xmtp_client_sync.c tests/unit/xc_peer.c
test_xmtp_client_sync_LIBS := xmtpclient
test_xmtp_client_sync_PKGS := cmocka
TESTS += test_xmtp_client_sync
test_xmtp_client_sync_TIMEOUT := 180

# The C client against real libxmtp (@xmtp/node-bindings 1.9.1) on the dev node.
TESTBINS += client-driver
client-driver_SRCS := tests/interop/client_driver.c
client-driver_LIBS := xmtpclient
client-driver_PKGS :=
TESTS += interop_client_libxmtp
interop_client_libxmtp_CMD := node tests/interop/client_libxmtp.mjs $(BUILD)/xmtp-devnode $(BUILD)/tests/client-driver
interop_client_libxmtp_NEEDS = $(BUILD)/tests/client-driver $(BUILD)/xmtp-devnode $(INTEROP_NPM)
interop_client_libxmtp_TIMEOUT := 240

# libFuzzer: welcome processing and envelope application (make fuzz)
FUZZERS += fuzz_xmtp_client_apply
fuzz_xmtp_client_apply_SRCS := tests/fuzz/fuzz_xmtp_client_apply.c tests/unit/xc_peer.c
fuzz_xmtp_client_apply_LIBS := xmtpclient
fuzz_xmtp_client_apply_PKGS :=

# groups we run: create, add, remove, commit intents and their races (fake node, C clients)
TESTBINS += test_xmtp_client_members
test_xmtp_client_members_SRCS := tests/unit/test_xmtp_client_members.c
test_xmtp_client_members_LIBS := xmtpclient
test_xmtp_client_members_PKGS := cmocka
TESTS += test_xmtp_client_members
test_xmtp_client_members_TIMEOUT := 180

# groups the C bot runs with real libxmtp members: create, add, chat, remove
TESTS += interop_client_groups_libxmtp
interop_client_groups_libxmtp_CMD := node tests/interop/client_groups_libxmtp.mjs $(BUILD)/xmtp-devnode $(BUILD)/tests/client-driver
interop_client_groups_libxmtp_NEEDS = $(BUILD)/tests/client-driver $(BUILD)/xmtp-devnode $(INTEROP_NPM)
interop_client_groups_libxmtp_TIMEOUT := 240
# the apply API: events vs sync, the caller's rollback, re-apply (fake node + C peer)
TESTBINS += test_xmtp_client_apply
test_xmtp_client_apply_SRCS := tests/unit/test_xmtp_client_apply.c tests/unit/xc_peer.c
test_xmtp_client_apply_LIBS := xmtpclient
test_xmtp_client_apply_PKGS := cmocka
TESTS += test_xmtp_client_apply
test_xmtp_client_apply_TIMEOUT := 120

# streams: catch-up + live with no gap/duplicate across a drop, bounded backoff (fake node)
TESTBINS += test_xmtp_client_stream
test_xmtp_client_stream_SRCS := tests/unit/test_xmtp_client_stream.c tests/unit/xc_peer.c
test_xmtp_client_stream_LIBS := xmtpclient
test_xmtp_client_stream_PKGS := cmocka
TESTS += test_xmtp_client_stream
test_xmtp_client_stream_TIMEOUT := 120

# streams against the real dev node, restarted in the middle (build/xmtp-devnode)
TESTBINS += test_xmtp_client_stream_devnode
test_xmtp_client_stream_devnode_SRCS := tests/unit/test_xmtp_client_stream_devnode.c tests/unit/xc_peer.c
test_xmtp_client_stream_devnode_LIBS := xmtpclient
test_xmtp_client_stream_devnode_PKGS := cmocka
TESTS += test_xmtp_client_stream_devnode
test_xmtp_client_stream_devnode_CMD := $(BUILD)/tests/test_xmtp_client_stream_devnode $(BUILD)/xmtp-devnode
test_xmtp_client_stream_devnode_NEEDS := $(BUILD)/tests/test_xmtp_client_stream_devnode $(BUILD)/xmtp-devnode
test_xmtp_client_stream_devnode_TIMEOUT := 120
