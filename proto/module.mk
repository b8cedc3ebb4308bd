# proto/: XMTP wire schemas. The top-level Makefile turns proto/**/*.proto into
# build/gen/xmtp/**/*.pb-c.c and library xwproto; this fragment adds the safe decode/encode
# helpers (proto/pb.c, which needs `common`) and the tests: unit, fuzz, interop.
xwproto_SRCS += proto/pb.c
xwproto_DEPS := common
xwproto_PKGS := libprotobuf-c

TESTBINS += test_proto
test_proto_SRCS := tests/unit/test_proto.c
test_proto_LIBS := xwproto
test_proto_PKGS := cmocka
TESTS += test_proto

FUZZERS += fuzz_proto
fuzz_proto_SRCS := tests/fuzz/fuzz_proto.c
fuzz_proto_LIBS := xwproto

# Cross-check with XMTP's own codecs (npm @xmtp/proto): schema, then bytes both ways.
TESTBINS += proto_interop
proto_interop_SRCS := tests/interop/proto_interop.c tests/interop/pbjson.c
proto_interop_LIBS := xwproto
proto_interop_PKGS := jansson

TESTS += proto_schema
proto_schema_CMD := node tests/interop/proto_schema.mjs proto
proto_schema_TIMEOUT := 60
proto_schema_NEEDS = $(INTEROP_NPM)

TESTS += proto_interop
proto_interop_CMD := tests/interop/proto_interop.sh $(BUILD)
proto_interop_TIMEOUT := 60
proto_interop_NEEDS = $(INTEROP_NPM) $(BUILD)/tests/proto_interop
