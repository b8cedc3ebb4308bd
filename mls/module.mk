# mls/: RFC 9420 core (codec, cipher suites 1 and 3, HPKE, tree math, secret tree, key
# schedule, framing). mls/pq.mk adds the post-quantum KEMs to the same library.
LIBS += mls
mls_DEPS := common
mls_PKGS := openssl libsodium
mls_SRCS += mls/tls.c mls/hpke_prim.c mls/hpke.c mls/x25519_base.c mls/crypto.c mls/treemath.c mls/secret_tree.c mls/key_schedule.c mls/wire.c mls/framing.c mls/protect.c

MLS_VECTOR_DIR := $(VECTOR_DATA)/mls

# build/tests/mls-vectors KIND FILE...: the working group's test vectors.
TESTBINS += mls-vectors
mls-vectors_SRCS := $(wildcard tests/vectors/*.c)
mls-vectors_LIBS := mls
mls-vectors_PKGS := jansson

# One suite per kind, over every matching file (KIND.json, KIND-*.json) in $(MLS_VECTOR_DIR).
MLS_VECTOR_KINDS := tree-math crypto-basics deserialization secret-tree key-schedule psk_secret \
	transcript-hashes message-protection messages
define mls_vector_suite
TESTS += mls-vectors-$(1)
mls-vectors-$(1)_CMD := $(BUILD)/tests/mls-vectors $(1) $$(sort $$(wildcard $(MLS_VECTOR_DIR)/$(1).json $(MLS_VECTOR_DIR)/$(1)-*.json))
mls-vectors-$(1)_TIMEOUT := 120
mls-vectors-$(1)_NEEDS := $(BUILD)/tests/mls-vectors
endef
$(foreach k,$(MLS_VECTOR_KINDS),$(eval $(call mls_vector_suite,$(k))))

TESTBINS += test_mls_core
test_mls_core_SRCS := tests/unit/test_mls_core.c
test_mls_core_LIBS := mls
test_mls_core_PKGS := cmocka
TESTS += test_mls_core

TESTBINS += test_mls_framing
test_mls_framing_SRCS := tests/unit/test_mls_framing.c
test_mls_framing_LIBS := mls
test_mls_framing_PKGS := cmocka
TESTS += test_mls_framing

# libFuzzer targets (make fuzz FUZZ_SECONDS=N)
FUZZERS += fuzz_mls_tls fuzz_mls_message fuzz_mls_unprotect
fuzz_mls_tls_SRCS := tests/fuzz/fuzz_mls_tls.c
fuzz_mls_message_SRCS := tests/fuzz/fuzz_mls_message.c
fuzz_mls_unprotect_SRCS := tests/fuzz/fuzz_mls_unprotect.c
$(foreach f,fuzz_mls_tls fuzz_mls_message fuzz_mls_unprotect,$(eval $(f)_LIBS := mls))

# make bench: PrivateMessage protect/unprotect vs raw Ed25519 sign/verify
BENCHES += bench_mls_core
bench_mls_core_SRCS := bench/mls_core.c
bench_mls_core_LIBS := mls

# Interop with ts-mls from npm (tests/interop): both directions of PrivateMessage protection.
TESTBINS += mls-core-interop
mls-core-interop_SRCS := tests/interop/mls_core_interop.c
mls-core-interop_LIBS := mls
mls-core-interop_PKGS := jansson
TESTS += mls-core-interop
mls-core-interop_CMD := BUILD=$(BUILD) tests/interop/mls_core_interop.sh
mls-core-interop_TIMEOUT := 120
mls-core-interop_NEEDS := $(BUILD)/tests/mls-core-interop $(INTEROP_NPM)
