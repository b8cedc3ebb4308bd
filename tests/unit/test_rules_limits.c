/*
 * Tests for rules/ at its limits: conditions of tens of thousands of terms compile in
 * memory proportional to their size (the bytes requested through common/alloc are
 * counted), macros that double at each line stop at max_terms with an error at the macro
 * reference, and the work of an event is counted (tests answered inline are not computed in
 * full). The language itself is covered by the golden tests in tests/rules/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "rules/rules.h"

static int compile_lim(const char *yaml, size_t len, const rules_limits *lim, rules_set **out, rules_diags *d)
{
    rules_source s = {"test.yaml", yaml, len};
    return rules_set_compile(&s, 1, lim, out, d);
}

/* The text of `n` terms joined by `op`; term i is `fmt` with i (printf %d). */
static void join(xw_buf *b, const char *fmt, const char *op, int n)
{
    for (int i = 0; i < n; i++) {
        if (i)
            assert_int_equal(xw_buf_append_str(b, op), XW_OK);
        assert_int_equal(xw_buf_appendf(b, fmt, i), XW_OK);
    }
}

/* Compiles one rule with a condition of n terms, checks the bytes it requested and what it
 * decides; returns the bytes. */
static uint64_t long_condition(int n, const char *fmt, const char *op, int with_exception, const char *match)
{
    xw_buf y;
    xw_buf_init(&y, (size_t)64 << 20);
    assert_int_equal(xw_buf_append_str(&y, "- rule: big\n  on: [message]\n  condition: "), XW_OK);
    join(&y, fmt, op, n);
    if (with_exception) { /* an exception with n values: an `or` of n tests */
        assert_int_equal(xw_buf_append_str(&y, "\n  exceptions:\n    - name: many\n      fields: "
                                               "content.text\n      comps: startswith\n      values: ["),
                         XW_OK);
        join(&y, "x%d", ", ", n);
        assert_int_equal(xw_buf_append_str(&y, "]"), XW_OK);
    }
    assert_int_equal(xw_buf_append_str(&y, "\n"), XW_OK);
    rules_diags d;
    rules_diags_init(&d);
    rules_set *s = NULL;
    uint64_t before = xw_alloc_bytes();
    assert_int_equal(compile_lim((const char *)y.data, y.len, NULL, &s, &d), XW_OK);
    uint64_t used = xw_alloc_bytes() - before;
    /* a fixed number of bytes per byte of rule text (a quadratic compile took 1.1 GB for 8,000
     * terms and ran out of memory at 50,000) */
    if (used > 64 * y.len + ((uint64_t)8 << 20))
        fail_msg("%d terms (%zu bytes of YAML) requested %llu bytes", n, y.len, (unsigned long long)used);
    rules_engine *e = rules_engine_new(NULL);
    rules_engine_swap(e, s);
    rules_event *ev = rules_event_new(RULES_KIND_MESSAGE, 1);
    const rules_decision *dec = NULL;
    xw_errbuf eb;
    char last[32];
    snprintf(last, sizeof last, match, n - 1); /* a text that matches */
    assert_int_equal(rules_event_set_str(ev, RULES_F_CONTENT_TEXT, last, strlen(last)), XW_OK);
    assert_int_equal(rules_engine_eval(e, ev, &dec, &eb), XW_OK);
    assert_int_equal(dec->nresults, 1); /* the last term matches */
    rules_event_reset(ev, RULES_KIND_MESSAGE, 2);
    assert_int_equal(rules_event_set_str(ev, RULES_F_CONTENT_TEXT, "x1", 2), XW_OK);
    assert_int_equal(rules_engine_eval(e, ev, &dec, &eb), XW_OK);
    assert_int_equal(dec->nresults, 0);
    rules_event_free(ev);
    rules_engine_free(e);
    rules_diags_free(&d);
    xw_buf_free(&y);
    return used;
}

static void test_long_conditions_linear_memory(void **state)
{
    (void)state;
    static const struct {
        const char *fmt, *op;
        int exc;
        const char *match;
    } shapes[] = {
        {"content.text = \"w%d\"", " or ", 0, "w%d"},       /* distinct tests; the last one matches */
        {"content.text = \"w49999\"", " or ", 0, "w49999"}, /* one test 50,000 times (one leaf) */
        {"not content.text = \"v%d\"", " and ", 1, "w%d"},  /* `and` of `not`s, exception of n values */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        /* the small size first: a quadratic compile fails the bound there, before the large
         * one could exhaust the machine */
        uint64_t small = long_condition(5000, shapes[i].fmt, shapes[i].op, shapes[i].exc, shapes[i].match);
        uint64_t large = long_condition(50000, shapes[i].fmt, shapes[i].op, shapes[i].exc, shapes[i].match);
        if (large > 15 * small) /* 10 times the terms: about 10 times the bytes */
            fail_msg("shape %zu: 5,000 terms requested %llu bytes, 50,000 terms %llu", i,
                     (unsigned long long)small, (unsigned long long)large);
    }
}

/* m_1 is one test, m_i is m_{i-1} and m_{i-1}: 2^(i-1) tests once inlined */
static void doubling_macros(xw_buf *y, int lines)
{
    assert_int_equal(xw_buf_append_str(y, "- macro: m_1\n  condition: sender.is_admin\n"), XW_OK);
    for (int i = 2; i <= lines; i++)
        assert_int_equal(xw_buf_appendf(y, "- macro: m_%d\n  condition: m_%d and m_%d\n", i, i - 1, i - 1),
                         XW_OK);
    assert_int_equal(xw_buf_appendf(y, "- rule: r\n  on: [message]\n  condition: m_%d\n", lines), XW_OK);
}

static void test_macro_expansion_capped(void **state)
{
    (void)state;
    rules_limits lim;
    rules_limits_default(&lim);
    lim.max_terms = 10000;
    xw_buf y;
    xw_buf_init(&y, 1 << 20);
    doubling_macros(&y, 24); /* 2^23 tests once expanded: 44 s and 11 GB before the limit */
    rules_diags d;
    rules_diags_init(&d);
    rules_set *s = NULL;
    uint64_t before = xw_alloc_bytes();
    assert_int_equal(compile_lim((const char *)y.data, y.len, &lim, &s, &d), XW_ERULES_COMPILE);
    assert_null(s);
    if (xw_alloc_bytes() - before > ((uint64_t)16 << 20))
        fail_msg("%llu bytes requested", (unsigned long long)(xw_alloc_bytes() - before));
    /* m_1..m_13 alone: 2^13 - 1 = 8191 tests; m_14's first m_13 brings 4096 more: past 10,000.
     * m_14 is item 14, its condition on line 28: "  condition: m_13 and m_13" */
    assert_int_equal(d.errors, 1);
    assert_int_equal(d.v[0].line, 28);
    assert_int_equal(d.v[0].col, 14);
    assert_non_null(strstr(d.v[0].msg, "macro 'm_13' here brings the set's conditions, macros inlined, past "
                                       "the limit of 10000 tests"));
    rules_diags_free(&d);

    /* 13 lines: 8191 tests for the macros alone and 4096 for the rule: over by the rule, at
     * its reference to m_13 */
    xw_buf_reset(&y);
    doubling_macros(&y, 13);
    assert_int_equal(compile_lim((const char *)y.data, y.len, &lim, &s, &d), XW_ERULES_COMPILE);
    assert_int_equal(d.errors, 1);
    assert_int_equal(d.v[0].line, 29);
    assert_int_equal(d.v[0].col, 14);
    rules_diags_free(&d);

    /* a condition written out past the limit: the error is at the test that passes it */
    xw_buf_reset(&y);
    assert_int_equal(xw_buf_append_str(&y, "- rule: r\n  on: [message]\n  condition: "), XW_OK);
    join(&y, "group.member_count = %d", " or ", 10001);
    assert_int_equal(compile_lim((const char *)y.data, y.len, &lim, &s, &d), XW_ERULES_COMPILE);
    assert_int_equal(d.errors, 1);
    assert_int_equal(d.v[0].line, 3);
    const char *text = strstr((const char *)y.data, "group.member_count = 0");
    assert_int_equal(d.v[0].col, 14 + (int)(strstr(text, "group.member_count = 10000") - text));
    assert_non_null(strstr(d.v[0].msg, "pass the limit of 10000 tests here"));
    rules_diags_free(&d);

    /* exactly at the limit: compiles */
    xw_buf_reset(&y);
    assert_int_equal(xw_buf_append_str(&y, "- rule: r\n  on: [message]\n  condition: "), XW_OK);
    join(&y, "group.member_count = %d", " or ", 10000);
    assert_int_equal(compile_lim((const char *)y.data, y.len, &lim, &s, &d), XW_OK);
    rules_set_free(s);
    rules_diags_free(&d);
    xw_buf_free(&y);
}

/* The work of an event, counted (no timing): tests that can be answered inline are not
 * computed in full, and ten word lists cost one lookup of the words, not ten. */
static void test_tests_computed(void **state)
{
    (void)state;
    xw_buf y;
    xw_buf_init(&y, 1 << 20);
    for (int i = 0; i < 10; i++)
        assert_int_equal(xw_buf_appendf(&y, "- list: l%d\n  items: [w%d, x%d]\n", i, i, i), XW_OK);
    for (int i = 0; i < 10; i++) /* first tests: a word list, then numbers and a window */
        assert_int_equal(xw_buf_appendf(&y,
                                        "- rule: words_%d\n  on: [message]\n  condition: content.words "
                                        "intersects l%d and group.member_count > %d\n",
                                        i, i, i),
                         XW_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(xw_buf_appendf(&y,
                                        "- rule: num_%d\n  on: [message]\n  condition: sender.message_count "
                                        "< %d and sender.joined_age < %dh and rate(group.id, 60s) > %d and "
                                        "content.reference exists and len(content.links) > 1 and not "
                                        "sender.is_admin\n",
                                        i, 100 + i, 24 + i, i),
                         XW_OK);
    rules_diags d;
    rules_diags_init(&d);
    rules_set *s = NULL;
    assert_int_equal(compile_lim((const char *)y.data, y.len, NULL, &s, &d), XW_OK);
    rules_engine *e = rules_engine_new(NULL);
    rules_engine_swap(e, s);
    rules_event *ev = rules_event_new(RULES_KIND_MESSAGE, 1);
    assert_int_equal(rules_event_set_str(ev, RULES_F_CONTENT_TEXT, "w3 and x7", 9), XW_OK);
    assert_int_equal(rules_event_set_str(ev, RULES_F_GROUP_ID, "g", 1), XW_OK);
    assert_int_equal(rules_event_set_int(ev, RULES_F_GROUP_MEMBER_COUNT, 5), XW_OK);
    assert_int_equal(rules_event_set_int(ev, RULES_F_SENDER_MESSAGE_COUNT, 1), XW_OK);
    assert_int_equal(rules_event_set_int(ev, RULES_F_SENDER_JOINED_AGE, 1), XW_OK);
    assert_int_equal(rules_event_set_int(ev, RULES_F_SENDER_IS_ADMIN, 0), XW_OK);
    const rules_decision *dec = NULL;
    xw_errbuf eb;
    uint64_t before = rules_engine_tests_computed(e);
    assert_int_equal(rules_engine_eval(e, ev, &dec, &eb), XW_OK);
    /* the words of lists 3 and 7 are in the text, and member_count 5 > 3 but not > 7:
     * words_3 only; the num_ rules stop at their window (a rate of 1 is > i for i = 0 only)
     * or at content.reference (absent) */
    assert_int_equal(dec->nresults, 1);
    assert_string_equal(dec->results[0].rule, "words_3");
    /* no test computed in full: the words are split and looked up in the lists once, up
     * front, and the ten list tests, the number and duration compares, the window and the
     * absent field are answered inline. Before those paths, 33 tests were computed. */
    assert_int_equal(rules_engine_tests_computed(e) - before, 0);
    rules_event_free(ev);
    rules_engine_free(e);
    rules_diags_free(&d);
    xw_buf_free(&y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_conditions_linear_memory),
        cmocka_unit_test(test_macro_expansion_capped),
        cmocka_unit_test(test_tests_computed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
