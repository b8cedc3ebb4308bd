# mls/ group half (RFC 9420 §7, §10-§12): ratchet tree, TreeKEM, key packages, proposals,
# commits, welcomes, group state. Built into the same library as the core (libmls).
mls_SRCS += mls/leaf.c mls/tree.c mls/tree_hash.c mls/keypackage.c mls/proposal.c mls/treekem.c mls/group.c mls/roster.c mls/proposal_list.c mls/commit.c mls/welcome.c mls/group_state.c

# The vector kinds of the group half: one suite per kind, like the core kinds.
MLS_GROUP_VECTOR_KINDS := tree-validation tree-operations treekem welcome \
	passive-client-welcome passive-client-handling-commit passive-client-random
define mls_group_vector_suite
TESTS += mls-vectors-$(1)
mls-vectors-$(1)_CMD := $(BUILD)/tests/mls-vectors $(1) $$(sort $$(wildcard $(VECTOR_DATA)/mls/$(1).json $(VECTOR_DATA)/mls/$(1)-*.json))
mls-vectors-$(1)_TIMEOUT := 120
mls-vectors-$(1)_NEEDS := $(BUILD)/tests/mls-vectors
endef
$(foreach k,$(MLS_GROUP_VECTOR_KINDS),$(eval $(call mls_group_vector_suite,$(k))))

TESTBINS += test_mls_group
test_mls_group_SRCS := tests/unit/test_mls_group.c tests/unit/mls_group_helpers.c
test_mls_group_LIBS := mls
test_mls_group_PKGS := cmocka
TESTS += test_mls_group
test_mls_group_TIMEOUT := 120

# rejected inputs leave the group state byte-identical (split from test_mls_group)
TESTBINS += test_mls_group_reject
test_mls_group_reject_SRCS := tests/unit/test_mls_group_reject.c tests/unit/mls_group_helpers.c
test_mls_group_reject_LIBS := mls
test_mls_group_reject_PKGS := cmocka
TESTS += test_mls_group_reject
test_mls_group_reject_TIMEOUT := 120

# the leaf check, received commits staged for inspection, the committer's proposal filtering
TESTBINS += test_mls_group_roster
test_mls_group_roster_SRCS := tests/unit/test_mls_group_roster.c tests/unit/mls_group_helpers.c
test_mls_group_roster_LIBS := mls
test_mls_group_roster_PKGS := cmocka
TESTS += test_mls_group_roster
test_mls_group_roster_TIMEOUT := 120

# Interop with ts-mls (an independent implementation), suites 1 and 3, both ways, through
# build/mls-peer (tools/mls_peer.c).
TESTS += mls-interop
mls-interop_CMD := node tests/interop/mls_interop.mjs $(BUILD)/mls-peer
mls-interop_NEEDS = $(INTEROP_NPM) $(BUILD)/mls-peer
mls-interop_TIMEOUT := 240

# Scale: 100 members, 200 epochs of random adds/removes/updates, everyone agrees.
TESTBINS += test_mls_scenario
test_mls_scenario_SRCS := tests/unit/test_mls_scenario.c
test_mls_scenario_LIBS := mls
TESTS += test_mls_scenario
test_mls_scenario_TIMEOUT := 240

# libFuzzer targets: commit processing and Welcome/tree/key package/proposal decoding against
# fixed groups, and loading saved group states.
FUZZERS += fuzz_mls_commit fuzz_mls_welcome fuzz_mls_group_state
fuzz_mls_commit_SRCS := tests/fuzz/fuzz_mls_commit.c
fuzz_mls_welcome_SRCS := tests/fuzz/fuzz_mls_welcome.c
fuzz_mls_group_state_SRCS := tests/fuzz/fuzz_mls_group_state.c
$(foreach f,fuzz_mls_commit fuzz_mls_welcome fuzz_mls_group_state,$(eval $(f)_LIBS := mls))

# make bench: add-one-member commit and its processing for N = 10..1000, against ts-mls.
BENCHES += bench_mls_groups
bench_mls_groups_SRCS := bench/mls_groups.c bench/bench_util.c
bench_mls_groups_LIBS := mls
