# mls/pq.mk: the post-quantum part of mls/ (issue 9): ML-KEM-768 (FIPS 203), X-Wing
# (draft-connolly-cfrg-xwing-kem-06), and their tests, vectors, fuzzers and benchmark.
LIBS += mlspq
# mlspq needs mls (HPKE, TLS codec). XMTP's welcome wrapper built on it lives in xmtp/
# (xmtp/welcome.mk); nothing here links protobuf code.
mlspq_SRCS := mls/pq_hash.c mls/mlkem_poly.c mls/mlkem.c mls/xwing.c mls/xwing_hpke.c
mlspq_DEPS := mls common
mlspq_PKGS := openssl libsodium
PQ_VEC := $(VECTOR_DATA)/pq

# --- vector runner: build/tests/pq-vectors KIND FILE [FILE...] ---------------------------------
TESTBINS += pq-vectors
pq-vectors_SRCS := $(wildcard tests/vectors/pq/*.c)
pq-vectors_LIBS := mlspq
pq-vectors_PKGS := jansson

# One suite per kind over every file of $(PQ_VEC) whose name matches the kind's patterns, so
# that a file added in a known format is run too; a *.json or *.txt file that matches no
# kind makes the suite pqv-unclassified fail, so no vector file is silently skipped.
PQV_KINDS := mlkem-acvp-keygen mlkem-acvp-encapdecap wycheproof-keygen wycheproof-decaps wycheproof-encaps \
	wycheproof-semi-expanded cctv-strcmp cctv-unlucky cctv-modulus xwing xwing-hpke
PQV_mlkem-acvp-keygen := mlkem768-acvp-keygen*.json
PQV_mlkem-acvp-encapdecap := mlkem768-acvp-encapdecap*.json
PQV_wycheproof-keygen := wycheproof-mlkem_768_keygen_seed*.json
PQV_wycheproof-decaps := wycheproof-mlkem_768_test*.json
PQV_wycheproof-encaps := wycheproof-mlkem_768_encaps*.json
PQV_wycheproof-semi-expanded := wycheproof-mlkem_768_semi_expanded*.json
PQV_cctv-strcmp := mlkem768-cctv-strcmp*.json
PQV_cctv-unlucky := mlkem768-cctv-unlucky*.json
PQV_cctv-modulus := mlkem768-cctv-modulus*.txt
PQV_xwing := xwing-draft*.json
PQV_xwing-hpke := xwing-hpke*.json
pqv_files = $(sort $(wildcard $(addprefix $(PQ_VEC)/,$(PQV_$(1)))))

define pq_vector_suite
TESTS += pqv-$(1)
pqv-$(1)_CMD := $(BUILD)/tests/pq-vectors $(1) $(or $(call pqv_files,$(1)),$(PQ_VEC)/$(PQV_$(1)))
pqv-$(1)_NEEDS := $(BUILD)/tests/pq-vectors
pqv-$(1)_TIMEOUT := 120
endef
$(foreach k,$(PQV_KINDS),$(eval $(call pq_vector_suite,$(k))))

PQV_UNCLASSIFIED := $(filter-out $(foreach k,$(PQV_KINDS),$(call pqv_files,$(k))), \
	$(wildcard $(PQ_VEC)/*.json $(PQ_VEC)/*.txt))
TESTS += pqv-unclassified
pqv-unclassified_CMD := files='$(notdir $(PQV_UNCLASSIFIED))'; if [ -n "$$files" ]; then \
	echo "FAIL no pq-vectors kind matches: $$files (add a pattern in mls/pq.mk)"; echo "0 passed, 1 failed"; \
	exit 1; fi; echo "1 passed, 0 failed"
pqv-unclassified_NEEDS := $(BUILD)/tests/pq-vectors

# --- unit tests and the CCTV accumulated test ---------------------------------------------------
TESTBINS += test_pq
test_pq_SRCS := tests/unit/test_pq.c
test_pq_LIBS := mlspq
test_pq_PKGS := cmocka
TESTS += test_pq
test_pq_TIMEOUT := 120

TESTBINS += test_pq_accumulated
test_pq_accumulated_SRCS := tests/unit/test_pq_accumulated.c
test_pq_accumulated_LIBS := mlspq
TESTS += test_pq_accumulated
test_pq_accumulated_TIMEOUT := 120

# --- benchmark and fuzzers ----------------------------------------------------------------------
BENCHES += bench_xwing
bench_xwing_SRCS := bench/bench_xwing.c bench/bench_util.c
bench_xwing_LIBS := mlspq

FUZZERS += fuzz_xwing_decaps
fuzz_xwing_decaps_SRCS := tests/fuzz/fuzz_xwing_decaps.c
fuzz_xwing_decaps_LIBS := mlspq

# --- make pq-ctgrind: constant-time validation under valgrind (not part of make test, because
# valgrind is not a project dependency). The ML-KEM sources are compiled into the tool with
# -DXW_CTGRIND, which enables their declassification hooks.
PQ_CTGRIND := $(BUILD)/ctgrind/pq-ctgrind
PQ_CTGRIND_SRCS := tests/ct/pq_ctgrind.c mls/pq_hash.c mls/mlkem_poly.c mls/mlkem.c
$(PQ_CTGRIND): $(PQ_CTGRIND_SRCS) $(wildcard mls/*.h) $(BUILD)/rel/libcommon.a
	@mkdir -p $(@D)
	@echo "  LD       $@"
	$(Q)$(CC) $(filter-out -MMD -MP,$(CFLAGS_rel)) -DXW_CTGRIND $(PQ_CTGRIND_SRCS) $(BUILD)/rel/libcommon.a \
		$(LDFLAGS_rel) $(call pkg_libs,openssl libsodium) -o $@
pq-ctgrind: $(PQ_CTGRIND)
	@command -v valgrind >/dev/null || { echo "pq-ctgrind needs valgrind (apt-get install valgrind)"; exit 1; }
	valgrind -q --error-exitcode=1 --track-origins=yes $(PQ_CTGRIND)
.PHONY: pq-ctgrind
