# xmtp/welcome.mk: XMTP's welcome wrapper (xmtp/welcome_wrap.c: HPKE with X25519 or X-Wing;
# xmtp/welcome_ext.c: KeyPackage extensions 0xff03/0xff04 and WelcomeMetadata, protobuf),
# part of library xmtp (whose xmtp_DEPS name mls/ and mls/pq.mk's X-Wing).

TESTBINS += test_welcome_wrap
test_welcome_wrap_SRCS := tests/unit/test_welcome_wrap.c
test_welcome_wrap_LIBS := xmtp
test_welcome_wrap_PKGS := cmocka
TESTS += test_welcome_wrap
test_welcome_wrap_TIMEOUT := 60

# libxmtp's X-Wing welcome vectors (the xwing-hpke files of tests/vectors/data/pq, whose HPKE
# layers the pqv-xwing-hpke suite checks) through the wrapper, both directions.
TESTBINS += welcome-vectors
welcome-vectors_SRCS := tests/vectors/xmtp/welcome_vectors.c
welcome-vectors_LIBS := xmtp
welcome-vectors_PKGS := jansson
TESTS += welcome-vectors
welcome-vectors_CMD := $(BUILD)/tests/welcome-vectors $(or $(sort $(wildcard $(VECTOR_DATA)/pq/xwing-hpke*.json)),$(VECTOR_DATA)/pq/xwing-hpke*.json)
welcome-vectors_TIMEOUT := 60

FUZZERS += fuzz_welcome_unwrap
fuzz_welcome_unwrap_SRCS := tests/fuzz/fuzz_welcome_unwrap.c
fuzz_welcome_unwrap_LIBS := xmtp
fuzz_welcome_unwrap_PKGS :=
