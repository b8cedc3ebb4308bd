# xmtp/: identity (Keccak-256, wallets, inbox ids, Ed25519ph, identity updates, association
# state), content types and message ids. The node API client (xmtp/api*.c) has its own
# fragment, xmtp/api.mk, and is not part of this list.
LIBS += xmtp
xmtp_SRCS := $(filter-out xmtp/api%,$(wildcard xmtp/*.c))
xmtp_DEPS := mlspq mls xwproto common
xmtp_PKGS := libsodium libsecp256k1 jansson libprotobuf-c

TESTBINS += test_xmtp_identity
test_xmtp_identity_SRCS := tests/unit/test_xmtp_identity.c
test_xmtp_identity_LIBS := xmtp
test_xmtp_identity_PKGS := cmocka sqlite3
TESTS += test_xmtp_identity
test_xmtp_identity_TIMEOUT := 60

TESTBINS += test_xmtp_association
test_xmtp_association_SRCS := tests/unit/test_xmtp_association.c
test_xmtp_association_LIBS := xmtp
test_xmtp_association_PKGS := cmocka
TESTS += test_xmtp_association
test_xmtp_association_TIMEOUT := 60

FUZZERS += fuzz_xmtp_identity
fuzz_xmtp_identity_SRCS := tests/fuzz/fuzz_xmtp_identity.c
fuzz_xmtp_identity_LIBS := xmtp

TESTBINS += test_xmtp_content
test_xmtp_content_SRCS := tests/unit/test_xmtp_content.c
test_xmtp_content_LIBS := xmtp
test_xmtp_content_PKGS := cmocka
TESTS += test_xmtp_content
test_xmtp_content_TIMEOUT := 60

# Cross-checks with libxmtp (@xmtp/node-bindings 1.9.1), viem and @noble/curves.
TESTBINS += xmtp_interop_helper
xmtp_interop_helper_SRCS := tests/interop/xmtp_helper.c
xmtp_interop_helper_LIBS := xmtp
TESTS += interop_xmtp_identity
interop_xmtp_identity_CMD := node tests/interop/xmtp_identity.mjs $(BUILD)/tests/xmtp_interop_helper
interop_xmtp_identity_NEEDS = $(BUILD)/tests/xmtp_interop_helper $(INTEROP_NPM)
interop_xmtp_identity_TIMEOUT := 120
TESTS += interop_xmtp_identity_updates
# libxmtp against the real dev node (node/module.mk builds build/xmtp-devnode)
interop_xmtp_identity_updates_CMD := node tests/interop/xmtp_identity_updates.mjs $(BUILD)/tests/xmtp_interop_helper \
	$(BUILD)/xmtp-devnode
interop_xmtp_identity_updates_NEEDS = $(BUILD)/tests/xmtp_interop_helper $(BUILD)/xmtp-devnode $(INTEROP_NPM)
interop_xmtp_identity_updates_TIMEOUT := 120

FUZZERS += fuzz_xmtp_content
fuzz_xmtp_content_SRCS := tests/fuzz/fuzz_xmtp_content.c
fuzz_xmtp_content_LIBS := xmtp

BENCHES += bench_xmtp_identity
bench_xmtp_identity_SRCS := bench/bench_xmtp_identity.c
bench_xmtp_identity_LIBS := xmtp
