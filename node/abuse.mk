# The dev node against clients that take more than their share (docs/devnode.md, "Limits"):
# regression tests in process, the attacks played against the real binary, the HTTP/2 and
# gRPC framing fuzzer.
DEVNODE_ATTACK_SRCS = tests/unit/devnode_helpers.c tests/unit/devnode_attack.c

TESTBINS += test_devnode_limits
test_devnode_limits_SRCS = tests/unit/test_devnode_limits.c tests/unit/devnode_rpc_helpers.c $(DEVNODE_ATTACK_SRCS)
test_devnode_limits_LIBS = xmtpapi xwnode
test_devnode_limits_PKGS = cmocka libcurl libnghttp2
TESTS += test_devnode_limits
test_devnode_limits_TIMEOUT := 240

# The attacks against the real binary (tests/unit/attack_devnode.c): latency and RSS per
# attack, RSS asserted, latency printed. The bench build (release, `make bench`) is the same
# program: named *bench, it runs each attack longer.
TESTBINS += attack_devnode
attack_devnode_SRCS = tests/unit/attack_devnode.c $(DEVNODE_ATTACK_SRCS)
attack_devnode_LIBS = xmtpapi xwnode
attack_devnode_PKGS = libcurl libnghttp2
TESTS += attack_devnode
attack_devnode_CMD := $(BUILD)/tests/attack_devnode $(BUILD)/xmtp-devnode
attack_devnode_TIMEOUT := 240
attack_devnode_NEEDS := $(BUILD)/tests/attack_devnode $(BUILD)/xmtp-devnode

BENCHES += devnode_attack_bench
devnode_attack_bench_SRCS = tests/unit/attack_devnode.c $(DEVNODE_ATTACK_SRCS)
devnode_attack_bench_LIBS = xmtpapi xwnode
devnode_attack_bench_PKGS = libcurl libnghttp2

# The HTTP/2 and gRPC framing fuzzer: client bytes through the server's real input path
# (seeds: tests/fuzz/corpus/fuzz_devnode_h2, sessions of a real nghttp2 client).
FUZZERS += fuzz_devnode_h2
fuzz_devnode_h2_SRCS = tests/fuzz/fuzz_devnode_h2.c
fuzz_devnode_h2_LIBS = xwnode
fuzz_devnode_h2_PKGS =

# ThreadSanitizer (make tsan): the limits tests read the node's counters from other threads
TSAN_TESTS += test_devnode_limits
test_devnode_limits_TSAN_SRCS = tests/unit/test_devnode_limits.c tests/unit/devnode_rpc_helpers.c \
	$(DEVNODE_ATTACK_SRCS) $(xmtpapi_SRCS) $(xwnode_SRCS) $(xmtp_SRCS) $(mlspq_SRCS) $(mls_SRCS) $(xwproto_SRCS) $(common_SRCS)
