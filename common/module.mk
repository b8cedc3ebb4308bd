# common/: error codes, allocation, bounded buffers, hex/base64, logging, clocks, strict
# number parsing.
LIBS += common
common_SRCS := $(wildcard common/*.c)

TESTBINS += test_common
test_common_SRCS := tests/unit/test_common.c
test_common_LIBS := common
test_common_PKGS := cmocka jansson
TESTS += test_common

TESTBINS += test_common_parse
test_common_parse_SRCS := tests/unit/test_common_parse.c
test_common_parse_LIBS := common
test_common_parse_PKGS := cmocka
TESTS += test_common_parse

FUZZERS += fuzz_codec
fuzz_codec_SRCS := tests/fuzz/fuzz_codec.c
fuzz_codec_LIBS := common
