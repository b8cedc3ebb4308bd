# node/: xmtp-devnode, a local XMTP v3 node (gRPC over h2c with libnghttp2, SQLite store).
LIBS += xwnode
xwnode_SRCS := node/server.c node/conn.c node/call.c node/store.c node/subs.c node/mlswire.c node/ident.c node/rpc_common.c \
	node/rpc_mls.c node/rpc_identity.c
xwnode_DEPS := xmtp mls xwproto common
xwnode_PKGS := libnghttp2 sqlite3
# (the program's main() is tools/xmtp_devnode.c)

# The headline proof: real libxmtp (@xmtp/node-bindings 1.9.1) against the node.
TESTS += devnode_libxmtp
devnode_libxmtp_CMD := node tests/interop/devnode_libxmtp.mjs build/xmtp-devnode
devnode_libxmtp_TIMEOUT := 180
devnode_libxmtp_NEEDS := build/xmtp-devnode $(INTEROP_NPM)

TESTBINS += test_devnode
test_devnode_SRCS := tests/unit/test_devnode.c tests/unit/devnode_helpers.c tests/unit/devnode_rpc_helpers.c
test_devnode_LIBS := xmtpapi xwnode
test_devnode_PKGS := cmocka libcurl
TESTS += test_devnode
test_devnode_TIMEOUT := 120

# subscriptions, bad input at every layer, client behaviour (split from test_devnode)
TESTBINS += test_devnode_transport
test_devnode_transport_SRCS := tests/unit/test_devnode_transport.c tests/unit/devnode_helpers.c \
	tests/unit/devnode_rpc_helpers.c
test_devnode_transport_LIBS := xmtpapi xwnode
test_devnode_transport_PKGS := cmocka libcurl
TESTS += test_devnode_transport
test_devnode_transport_TIMEOUT := 120

FUZZERS += fuzz_devnode_request
fuzz_devnode_request_SRCS := tests/fuzz/fuzz_devnode_request.c
fuzz_devnode_request_LIBS := xwnode
fuzz_devnode_request_PKGS :=

BENCHES += devnode_bench
devnode_bench_SRCS := bench/devnode_bench.c bench/bench_util.c tests/unit/devnode_helpers.c
devnode_bench_LIBS := xmtpapi xwnode
devnode_bench_PKGS := libcurl

# ThreadSanitizer (make tsan): the node's tests, node thread + client threads, every source
# instrumented (the libraries' _SRCS lists, read when the recipe runs)
TSAN_TESTS += test_devnode test_devnode_transport
test_devnode_TSAN_SRCS = tests/unit/test_devnode.c tests/unit/devnode_helpers.c tests/unit/devnode_rpc_helpers.c \
	$(xmtpapi_SRCS) $(xwnode_SRCS) $(xmtp_SRCS) $(mlspq_SRCS) $(mls_SRCS) $(xwproto_SRCS) $(common_SRCS)
test_devnode_transport_TSAN_SRCS = tests/unit/test_devnode_transport.c tests/unit/devnode_helpers.c \
	tests/unit/devnode_rpc_helpers.c $(xmtpapi_SRCS) $(xwnode_SRCS) $(xmtp_SRCS) $(mlspq_SRCS) $(mls_SRCS) $(xwproto_SRCS) \
	$(common_SRCS)

# concurrency stress (publishers, queriers, subscribers opened before and during publishing,
# a file store so the checkpointer thread runs): under ASan in `make test`, TSan in `make tsan`
TESTBINS += stress_devnode
stress_devnode_SRCS := tests/unit/stress_devnode.c tests/unit/devnode_helpers.c
stress_devnode_LIBS := xmtpapi xwnode
stress_devnode_PKGS := libcurl
TESTS += stress_devnode
stress_devnode_TIMEOUT := 180
TSAN_TESTS += stress_devnode
stress_devnode_TSAN_SRCS = tests/unit/stress_devnode.c tests/unit/devnode_helpers.c $(xmtpapi_SRCS) \
	$(xwnode_SRCS) $(xmtp_SRCS) $(mlspq_SRCS) $(mls_SRCS) $(xwproto_SRCS) $(common_SRCS)

# The client over https:// (TLS, ALPN h2): the real xmtp-devnode behind nghttpx (Debian
# nghttp2-proxy) terminating TLS with a self-signed certificate made at test time by openssl.
TESTBINS += test_devnode_tls
test_devnode_tls_SRCS := tests/unit/test_devnode_tls.c tests/unit/devnode_helpers.c
test_devnode_tls_LIBS := xmtpapi xwnode
test_devnode_tls_PKGS := cmocka libcurl
TESTS += test_devnode_tls
test_devnode_tls_CMD := $(BUILD)/tests/test_devnode_tls $(BUILD)/xmtp-devnode
test_devnode_tls_TIMEOUT := 60
test_devnode_tls_NEEDS := $(BUILD)/tests/test_devnode_tls $(BUILD)/xmtp-devnode
