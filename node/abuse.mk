# The dev node against clients that take more than their share (docs/devnode.md, "Limits"):
# regression tests in process, the attacks played against the real binary, the HTTP/2 and
# gRPC framing fuzzer. (NODE_LIBS and NODE_PKGS come from node/module.mk, read after this
# fragment: these variables are recursive so they expand when the rules are made.)
DEVNODE_TEST_SRCS = tests/unit/devnode_helpers.c tests/unit/devnode_rpc_helpers.c tests/unit/devnode_attack.c

TESTBINS += test_devnode_limits
test_devnode_limits_SRCS = tests/unit/test_devnode_limits.c $(DEVNODE_TEST_SRCS)
test_devnode_limits_LIBS = xmtpapi $(NODE_LIBS)
test_devnode_limits_PKGS = cmocka libcurl $(NODE_PKGS)
TESTS += test_devnode_limits
test_devnode_limits_TIMEOUT := 240
