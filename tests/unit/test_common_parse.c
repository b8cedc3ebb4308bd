/*
 * Tests for common/parse.h: the strict decimal parsers accept exactly the digits (and, for
 * signed values, one leading '-') within the caller's range, refuse everything atoi/strtoul
 * would let through, leave the output untouched on failure and say why in the error buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/err.h"
#include "common/parse.h"

#define SENTINEL_U 0x5a5a5a5aULL
#define SENTINEL_I (-424242)

/* Expects xw_parse_u64 to refuse s with rc, keep the output and write a message with needle. */
static void refuse_u64(const char *s, uint64_t min, uint64_t max, int rc, const char *needle)
{
    xw_errbuf eb = {{0}};
    uint64_t v = SENTINEL_U;
    assert_int_equal(xw_parse_u64("--count", s, min, max, &v, &eb), rc);
    assert_int_equal(v, SENTINEL_U);
    assert_non_null(strstr(eb.msg, "--count"));
    if (!strstr(eb.msg, needle))
        fail_msg("message '%s' lacks '%s'", eb.msg, needle);
}

static void refuse_i64(const char *s, int64_t min, int64_t max, int rc, const char *needle)
{
    xw_errbuf eb = {{0}};
    int64_t v = SENTINEL_I;
    assert_int_equal(xw_parse_i64("offset", s, min, max, &v, &eb), rc);
    assert_int_equal(v, SENTINEL_I);
    if (!strstr(eb.msg, needle))
        fail_msg("message '%s' lacks '%s'", eb.msg, needle);
}

static void test_u64_accepts(void **state)
{
    (void)state;
    uint64_t v = 1;
    assert_int_equal(xw_parse_u64("n", "0", 0, 10, &v, NULL), XW_OK);
    assert_int_equal(v, 0);
    assert_int_equal(xw_parse_u64("n", "10", 0, 10, &v, NULL), XW_OK);
    assert_int_equal(v, 10);
    assert_int_equal(xw_parse_u64("n", "007", 0, 10, &v, NULL), XW_OK);
    assert_int_equal(v, 7);
    assert_int_equal(xw_parse_u64("n", "18446744073709551615", 0, UINT64_MAX, &v, NULL), XW_OK);
    assert_true(v == UINT64_MAX);
    assert_int_equal(xw_parse_u64("n", "18446744073709551614", 0, UINT64_MAX, &v, NULL), XW_OK);
    assert_true(v == UINT64_MAX - 1);
}

static void test_u64_refuses(void **state)
{
    (void)state;
    refuse_u64("", 0, 10, XW_EMALFORMED, "is empty");
    refuse_u64(NULL, 0, 10, XW_EMALFORMED, "is empty");
    refuse_u64("12abc", 0, 100, XW_EMALFORMED, "'12abc' is not a whole number");
    refuse_u64(" 12", 0, 100, XW_EMALFORMED, "not a whole number");
    refuse_u64("12 ", 0, 100, XW_EMALFORMED, "not a whole number");
    refuse_u64("12\n", 0, 100, XW_EMALFORMED, "'12?' is not");
    refuse_u64("+12", 0, 100, XW_EMALFORMED, "not a whole number");
    refuse_u64("0x10", 0, 100, XW_EMALFORMED, "not a whole number");
    refuse_u64("1e3", 0, 10000, XW_EMALFORMED, "not a whole number");
    refuse_u64("-", 0, 100, XW_EMALFORMED, "not a whole number");
    refuse_u64("-1", 0, 100, XW_EINVAL, "must not be negative (got '-1')");
    refuse_u64("-0", 0, 100, XW_EINVAL, "must not be negative");
    refuse_u64("-99999999999999999999999", 0, 100, XW_EINVAL, "must not be negative");
    refuse_u64("-x", 0, 100, XW_EMALFORMED, "not a whole number");
    refuse_u64("11", 0, 10, XW_EINVAL, "11 is out of range; give a whole number from 0 to 10");
    refuse_u64("0", 1, 10, XW_EINVAL, "out of range");
    refuse_u64("18446744073709551616", 0, UINT64_MAX, XW_EINVAL, "out of range");
    refuse_u64("99999999999999999999999", 0, UINT64_MAX, XW_EINVAL, "out of range");
}

static void test_u64_len(void **state)
{
    (void)state;
    uint64_t v = SENTINEL_U;
    xw_errbuf eb = {{0}};
    assert_int_equal(xw_parse_u64_len("status", "200 OK", 3, 100, 599, &v, &eb), XW_OK);
    assert_int_equal(v, 200);
    v = SENTINEL_U;
    assert_int_equal(xw_parse_u64_len("status", "200 OK", 4, 100, 599, &v, &eb), XW_EMALFORMED);
    assert_int_equal(v, SENTINEL_U);
    assert_int_equal(xw_parse_u64_len("status",
                                      "2\0"
                                      "0",
                                      3, 0, 999, &v, &eb),
                     XW_EMALFORMED);
    assert_int_equal(xw_parse_u64_len("status", "200", 0, 0, 999, &v, &eb), XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "status is empty"));
    assert_int_equal(v, SENTINEL_U);
}

static void test_i64(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(xw_parse_i64("o", "-5", -10, 10, &v, NULL), XW_OK);
    assert_int_equal(v, -5);
    assert_int_equal(xw_parse_i64("o", "0", -10, 10, &v, NULL), XW_OK);
    assert_int_equal(v, 0);
    assert_int_equal(xw_parse_i64("o", "-0", -10, 10, &v, NULL), XW_OK);
    assert_int_equal(v, 0);
    assert_int_equal(xw_parse_i64("o", "9223372036854775807", INT64_MIN, INT64_MAX, &v, NULL), XW_OK);
    assert_true(v == INT64_MAX);
    assert_int_equal(xw_parse_i64("o", "-9223372036854775808", INT64_MIN, INT64_MAX, &v, NULL), XW_OK);
    assert_true(v == INT64_MIN);
    refuse_i64("9223372036854775808", INT64_MIN, INT64_MAX, XW_EINVAL, "out of range");
    refuse_i64("-9223372036854775809", INT64_MIN, INT64_MAX, XW_EINVAL, "out of range");
    refuse_i64("-99999999999999999999999", INT64_MIN, INT64_MAX, XW_EINVAL, "out of range");
    refuse_i64("-11", -10, 10, XW_EINVAL, "offset: -11 is out of range; give a whole number from -10 to 10");
    refuse_i64("11", -10, 10, XW_EINVAL, "out of range");
    refuse_i64("", -10, 10, XW_EMALFORMED, "offset is empty");
    refuse_i64(NULL, -10, 10, XW_EMALFORMED, "offset is empty");
    refuse_i64("-", -10, 10, XW_EMALFORMED, "not a whole number");
    refuse_i64("--1", -10, 10, XW_EMALFORMED, "not a whole number");
    refuse_i64("+1", -10, 10, XW_EMALFORMED, "not a whole number");
    refuse_i64("1-", -10, 10, XW_EMALFORMED, "not a whole number");
    refuse_i64("1.5", -10, 10, XW_EMALFORMED, "not a whole number");
}

/* The text quoted back is bounded and printable, whatever it was. */
static void test_quote_bounded(void **state)
{
    (void)state;
    char big[300];
    memset(big, '7', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[5] = 'x';
    xw_errbuf eb = {{0}};
    uint64_t v = SENTINEL_U;
    assert_int_equal(xw_parse_u64("n", big, 0, 10, &v, &eb), XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "'77777x77777777777777777777777777...'"));
    big[5] = '7';
    assert_int_equal(xw_parse_u64("n", big, 0, 10, &v, &eb), XW_EINVAL);
    assert_non_null(strstr(eb.msg, "7777... is out of range"));
    assert_int_equal(xw_parse_u64("n", "1\x1b[2J", 0, 10, &v, &eb), XW_EMALFORMED);
    assert_null(strchr(eb.msg, '\x1b'));
    assert_int_equal(xw_parse_u64(NULL, "x", 0, 10, &v, &eb), XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "the number: 'x'"));
    assert_int_equal(v, SENTINEL_U);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64_accepts),   cmocka_unit_test(test_u64_refuses),
        cmocka_unit_test(test_u64_len),       cmocka_unit_test(test_i64),
        cmocka_unit_test(test_quote_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
