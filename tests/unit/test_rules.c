/*
 * Tests for rules/ through its C API: hot reload (a bad set leaves the old one in force),
 * window state across a swap and across export/import (and import of damaged state changes
 * nothing), the cap on window entries, allocation failures at every step of a compile (no leak, no crash),
 * event JSON errors, the event builder, idempotency keys and the regex match limit.
 * The language itself is covered by the golden tests in tests/rules/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "rules/rules.h"

static const char *FLOOD = "- rule: flood\n"
                           "  on: [message]\n"
                           "  condition: rate(sender.inbox_id, 60s) >= 3\n"
                           "  actions: [remove_member]\n"
                           "- rule: hello\n"
                           "  on: [message]\n"
                           "  condition: first_message(sender.inbox_id)\n";

static rules_set *compile(const char *yaml, rules_diags *d)
{
    rules_source s = {"test.yaml", yaml, strlen(yaml)};
    rules_set *set = NULL;
    int rc = rules_set_compile(&s, 1, NULL, &set, d);
    return rc == XW_OK ? set : NULL;
}

static rules_event *msg(const char *sender, int64_t ts_s)
{
    rules_event *ev = rules_event_new(RULES_KIND_MESSAGE, ts_s * 1000000000LL);
    assert_non_null(ev);
    assert_int_equal(rules_event_set_str(ev, RULES_F_SENDER_INBOX_ID, sender, strlen(sender)), XW_OK);
    assert_int_equal(rules_event_set_str(ev, RULES_F_MESSAGE_ID, "m", 1), XW_OK);
    assert_int_equal(rules_event_set_int(ev, RULES_F_SELF_IS_ADMIN, 1), XW_OK);
    assert_int_equal(rules_event_set_int(ev, RULES_F_SENDER_IS_ADMIN, 0), XW_OK);
    return ev;
}

/* Evaluates and returns the result of `rule` (-1: not in the decision). */
static int result_of(rules_engine *e, const rules_event *ev, const char *rule, size_t *nactions)
{
    const rules_decision *d = NULL;
    xw_errbuf eb;
    assert_int_equal(rules_engine_eval(e, ev, &d, &eb), XW_OK);
    if (nactions)
        *nactions = d->nactions;
    for (size_t i = 0; i < d->nresults; i++)
        if (strcmp(d->results[i].rule, rule) == 0)
            return (int)d->results[i].result;
    return -1;
}

static int send(rules_engine *e, const char *sender, int64_t ts, const char *rule)
{
    rules_event *ev = msg(sender, ts);
    int r = result_of(e, ev, rule, NULL);
    rules_event_free(ev);
    return r;
}

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/test_rules_XXXXXX.yaml");
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_reload_keeps_old_set_on_error(void **state)
{
    (void)state;
    rules_engine *e = rules_engine_new(NULL);
    char *good = write_tmp(FLOOD);
    char *bad = write_tmp("- rule: x\n  on: [message]\n  condition: content.text regex \"(\"\n");
    rules_diags d;
    rules_diags_init(&d);
    assert_int_equal(rules_engine_reload_files(e, (const char *const *)&good, 1, &d), XW_OK);
    const rules_set *before = rules_engine_set(e);
    assert_int_equal(send(e, "a", 1, "flood"), -1);
    assert_int_equal(send(e, "a", 2, "flood"), -1);
    rules_diags_free(&d);
    assert_int_not_equal(rules_engine_reload_files(e, (const char *const *)&bad, 1, &d), XW_OK);
    assert_true(d.errors > 0);
    assert_non_null(strstr(d.v[0].msg, "invalid regex"));
    assert_int_equal(d.v[0].line, 3);
    assert_ptr_equal(rules_engine_set(e), before);             /* the old set stays in force ... */
    assert_int_equal(send(e, "a", 3, "flood"), RULES_R_MATCH); /* ... with its window state */
    rules_diags_free(&d);
    /* a good reload that keeps the rule keeps its window state too */
    assert_int_equal(rules_engine_reload_files(e, (const char *const *)&good, 1, &d), XW_OK);
    assert_ptr_not_equal(rules_engine_set(e), before);
    assert_int_equal(send(e, "a", 4, "flood"), RULES_R_MATCH);
    assert_int_equal(send(e, "b", 4, "flood"), -1);
    rules_diags_free(&d);
    unlink(good);
    unlink(bad);
    free(good);
    free(bad);
    rules_engine_free(e);
}

static void test_state_export_import(void **state)
{
    (void)state;
    rules_diags d;
    rules_diags_init(&d);
    rules_engine *e1 = rules_engine_new(NULL), *e2 = rules_engine_new(NULL);
    rules_engine_swap(e1, compile(FLOOD, &d));
    rules_engine_swap(e2, compile(FLOOD, &d));
    assert_int_equal(send(e1, "a", 1, "hello"), RULES_R_MATCH);
    assert_int_equal(send(e1, "a", 2, "flood"), -1);
    xw_buf b;
    xw_buf_init(&b, 1 << 20);
    assert_int_equal(rules_engine_state_export(e1, &b), XW_OK);
    assert_int_equal(rules_engine_state_entries(e1), 2); /* one rate window, one first-message key */
    xw_errbuf eb;
    assert_int_equal(rules_engine_state_import(e2, b.data, b.len, &eb), XW_OK);
    /* e2 continues where e1 stopped: third message in the window, and "a" is not new */
    assert_int_equal(send(e2, "a", 3, "flood"), RULES_R_MATCH);
    assert_int_equal(send(e2, "a", 3, "hello"), -1);

    /* every truncation and a few corruptions are refused, and change nothing */
    rules_engine *e3 = rules_engine_new(NULL);
    rules_engine_swap(e3, compile(FLOOD, &d));
    assert_int_equal(send(e3, "z", 1, "hello"), RULES_R_MATCH);
    for (size_t n = 0; n < b.len; n++) {
        memset(&eb, 0, sizeof eb);
        assert_int_not_equal(rules_engine_state_import(e3, b.data, n, &eb), XW_OK);
        assert_true(strlen(eb.msg) > 0);
    }
    uint8_t *c = xw_memdup(b.data, b.len);
    c[0] ^= 1;
    assert_int_not_equal(rules_engine_state_import(e3, c, b.len, &eb), XW_OK);
    assert_non_null(strstr(eb.msg, "magic"));
    c[0] ^= 1;
    c[8] = 7; /* version */
    assert_int_not_equal(rules_engine_state_import(e3, c, b.len, &eb), XW_OK);
    assert_non_null(strstr(eb.msg, "version 7"));
    c[8] = 1;
    c[12] = 0xff; /* count far beyond the input */
    assert_int_not_equal(rules_engine_state_import(e3, c, b.len, &eb), XW_OK);
    xw_free(c);
    xw_buf_append_u8(&b, 0);
    assert_int_equal(rules_engine_state_import(e3, b.data, b.len, &eb), XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "after its last entry"));
    assert_int_equal(rules_engine_state_entries(e3), 2);
    assert_int_equal(send(e3, "z", 2, "hello"), -1); /* e3's own memory is intact */
    xw_buf_free(&b);
    rules_engine_free(e1);
    rules_engine_free(e2);
    rules_engine_free(e3);
    rules_diags_free(&d);
}

static void test_lru_cap(void **state)
{
    (void)state;
    rules_limits lim;
    rules_limits_default(&lim);
    lim.window_cap = 4;
    rules_engine *e = rules_engine_new(&lim);
    rules_diags d;
    rules_diags_init(&d);
    rules_engine_swap(e, compile(FLOOD, &d)); /* 2 entries per sender: rate and first */
    assert_int_equal(send(e, "a", 1, "hello"), RULES_R_MATCH);
    assert_int_equal(send(e, "b", 2, "hello"), RULES_R_MATCH);
    assert_int_equal(rules_engine_state_entries(e), 4);
    assert_int_equal(send(e, "a", 3, "hello"), -1); /* touches a: b is now the oldest */
    assert_int_equal(send(e, "c", 4, "hello"), RULES_R_MATCH);
    assert_int_equal(rules_engine_state_entries(e), 4);        /* never above the cap */
    assert_int_equal(send(e, "a", 5, "hello"), -1);            /* a was kept */
    assert_int_equal(send(e, "b", 6, "hello"), RULES_R_MATCH); /* b was forgotten */
    rules_engine_free(e);
    rules_diags_free(&d);
}

static const char *BIG =
    "- list: words\n  items: [a, b, c]\n"
    "- macro: m\n  condition: content.words intersects words and not sender.is_admin\n"
    "- rule: r1\n  desc: \"{{sender.inbox_id}} said it\"\n  on: [message, reply]\n"
    "  condition: m and content.text regex \"^x\" and rate(group.id, 1m, m) > 1\n"
    "  exceptions:\n    - name: e\n      fields: [sender.inbox_id, group.id]\n"
    "      comps: [=, in]\n      values:\n        - [u1, [g1, g2]]\n"
    "  cooldown: 5m\n"
    "  actions:\n    - reply: \"hi {{group.name}}\"\n    - remove_member: {purge_recent: 3}\n"
    "- rule: r1\n  condition: or content.text glob \"*z\"\n  override: {condition: append}\n";

static void test_alloc_failures_during_compile(void **state)
{
    (void)state;
    int64_t live0 = xw_alloc_live();
    rules_diags d;
    rules_diags_init(&d);
    rules_set *ok = compile(BIG, &d);
    assert_non_null(ok);
    assert_int_equal(d.errors, 0);
    rules_set_free(ok);
    rules_diags_free(&d);
    assert_int_equal(xw_alloc_live(), live0);
    int failures = 0, successes = 0;
    for (uint64_t n = 1; n < 5000; n++) {
        rules_diags_init(&d);
        xw_alloc_fail_at(n, 1);
        rules_set *s = compile(BIG, &d);
        xw_alloc_fail_at(0, 0);
        if (s) {
            successes++;
            rules_set_free(s);
        } else {
            failures++;
        }
        rules_diags_free(&d);
        assert_int_equal(xw_alloc_live(), live0);
        if (s)
            break; /* the compile needed fewer than n allocations */
    }
    assert_true(failures > 50);
    assert_int_equal(successes, 1);
}

static void test_event_json_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *msg;
    } cases[] = {
        {"{", "not valid JSON"},
        {"[]", "JSON object"},
        {"{\"kind\":\"message\"}", "no time"},
        {"{\"ts\":1}", "no \"kind\""},
        {"{\"kind\":\"edit\",\"ts\":1}", "unknown event kind"},
        {"{\"kind\":\"message\",\"ts\":1,\"extra\":1}", "unknown key \"extra\""},
        {"{\"kind\":\"message\",\"ts\":1,\"sender\":{\"nick\":\"x\"}}", "unknown field sender.nick"},
        {"{\"kind\":\"message\",\"ts\":1,\"sender\":{\"is_admin\":\"yes\"}}",
         "sender.is_admin must be true or false"},
        {"{\"kind\":\"message\",\"ts\":1,\"group\":{\"member_count\":1.5}}", "must be an integer"},
        {"{\"kind\":\"message\",\"ts\":1,\"sender\":{\"joined_age\":\"soon\"}}",
         "joined_age must be seconds"},
        {"{\"kind\":\"message\",\"ts\":1,\"content\":{\"links\":[1]}}", "content.links[0] must be a string"},
        {"{\"kind\":\"message\",\"ts\":1,\"content\":{\"words\":[]}}", "derived from content.text"},
        {"{\"kind\":\"message\",\"ts\":1,\"ts_ns\":5}", "either ts or ts_ns"},
        {"{\"kind\":\"message\",\"ts\":1,\"kind\":\"reply\"}", "not valid JSON"},
    };
    int64_t live0 = xw_alloc_live();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rules_event *ev = (rules_event *)1;
        xw_errbuf eb = {{0}};
        int rc = rules_event_parse_json(cases[i].json, strlen(cases[i].json), NULL, &ev, &eb);
        assert_int_not_equal(rc, XW_OK);
        assert_null(ev);
        if (!strstr(eb.msg, cases[i].msg))
            fail_msg("case %zu: got \"%s\", wanted \"%s\"", i, eb.msg, cases[i].msg);
    }
    assert_int_equal(xw_alloc_live(), live0);
    rules_limits lim;
    rules_limits_default(&lim);
    lim.max_event_bytes = 10;
    rules_event *ev = NULL;
    xw_errbuf eb;
    assert_int_equal(rules_event_parse_json("{\"kind\":\"message\",\"ts\":1}", 25, &lim, &ev, &eb),
                     XW_ETOOBIG);
}

static void test_builder_and_decision(void **state)
{
    (void)state;
    rules_diags d;
    rules_diags_init(&d);
    rules_set *s = compile("- rule: spam\n  desc: \"{{sender.inbox_id}} posted {{content.links}}\"\n"
                           "  on: [message]\n  condition: content.links intersects (https://bad.example)\n"
                           "  tags: [spam]\n  actions:\n    - delete_message\n    - tag: [spam, link]\n",
                           &d);
    assert_non_null(s);
    rules_engine *e = rules_engine_new(NULL);
    rules_engine_swap(e, s);
    rules_event *ev = msg("u1", 10);
    assert_int_equal(rules_event_set_str(ev, RULES_F_EVENT_ID, "ev1", 3), XW_OK);
    assert_int_equal(rules_event_list_add(ev, RULES_F_CONTENT_LINKS, "https://ok.example", 18), XW_OK);
    assert_int_equal(rules_event_list_add(ev, RULES_F_CONTENT_LINKS, "https://bad.example", 19), XW_OK);
    assert_int_equal(rules_event_set_str(ev, RULES_F_GROUP_MEMBER_COUNT, "x", 1), XW_EINVAL); /* wrong type */
    assert_int_equal(rules_event_list_add(ev, RULES_F_CONTENT_WORDS, "x", 1), XW_EINVAL);     /* derived */
    const rules_decision *dec;
    xw_errbuf eb;
    assert_int_equal(rules_engine_eval(e, ev, &dec, &eb), XW_OK);
    assert_int_equal(dec->nresults, 1);
    assert_string_equal(dec->results[0].reason, "u1 posted https://ok.example, https://bad.example");
    assert_int_equal(dec->nactions, 2);
    assert_int_equal(dec->actions[0].kind, RULES_ACT_DELETE_MESSAGE);
    assert_string_equal(dec->actions[0].target, "m");
    assert_int_equal(strlen(dec->actions[0].key), 32);
    assert_int_equal(dec->ntags, 2);
    char key1[33];
    memcpy(key1, dec->actions[0].key, 33);
    xw_buf b;
    xw_buf_init(&b, 1 << 16);
    assert_int_equal(rules_decision_to_json(dec, &b), XW_OK);
    xw_buf_append_u8(&b, 0);
    assert_non_null(strstr((char *)b.data, "\"outcome\":\"match\""));
    assert_non_null(strstr((char *)b.data, "\"tags\":[\"spam\",\"link\"]}"));
    xw_buf_free(&b);
    /* the same event again gives the same idempotency key; another message id another key */
    assert_int_equal(rules_engine_eval(e, ev, &dec, &eb), XW_OK);
    assert_string_equal(dec->actions[0].key, key1);
    assert_int_equal(rules_event_set_str(ev, RULES_F_MESSAGE_ID, "m2", 2), XW_OK);
    assert_int_equal(rules_engine_eval(e, ev, &dec, &eb), XW_OK);
    assert_string_not_equal(dec->actions[0].key, key1);
    /* unknown links: unknown, nothing planned, the field named */
    assert_int_equal(rules_event_set_unknown(ev, RULES_F_CONTENT_LINKS), XW_OK);
    assert_int_equal(rules_engine_eval(e, ev, &dec, &eb), XW_OK);
    assert_int_equal(dec->nresults, 1);
    assert_int_equal(dec->results[0].result, RULES_R_UNKNOWN);
    assert_string_equal(dec->results[0].missing, "content.links");
    assert_int_equal(dec->nactions, 0);
    rules_event_free(ev);
    rules_engine_free(e);
    rules_diags_free(&d);
}

static void test_regex_limit_counts(void **state)
{
    (void)state;
    rules_diags d;
    rules_diags_init(&d);
    rules_engine *e = rules_engine_new(NULL);
    rules_engine_swap(
        e, compile("- rule: r\n  on: [message]\n  condition: content.text regex \"^(x+x+)+$\"\n", &d));
    rules_event *ev = msg("u", 1);
    char text[64];
    memset(text, 'x', sizeof text);
    text[sizeof text - 1] = 'y'; /* no match, found only by exponential backtracking */
    assert_int_equal(rules_event_set_str(ev, RULES_F_CONTENT_TEXT, text, sizeof text), XW_OK);
    assert_int_equal(result_of(e, ev, "r", NULL), RULES_R_UNKNOWN);
    assert_int_equal(rules_engine_regex_limit_hits(e), 1);
    assert_int_equal(rules_event_set_str(ev, RULES_F_CONTENT_TEXT, "xxxx", 4), XW_OK);
    assert_int_equal(result_of(e, ev, "r", NULL), RULES_R_MATCH);
    rules_event_free(ev);
    rules_engine_free(e);
    rules_diags_free(&d);
}

static void test_expr_check(void **state)
{
    (void)state;
    xw_errbuf eb;
    assert_int_equal(rules_expr_check("a.b = 1 and not (c or d)", 24, &eb), XW_OK);
    assert_int_equal(rules_expr_check("a.b = ", 6, &eb), XW_ERULES_SYNTAX);
    assert_non_null(strstr(eb.msg, "at offset"));
    assert_int_equal(rules_expr_check("rate(x, 5q) > 1", 15, &eb), XW_ERULES_SYNTAX);
    assert_non_null(strstr(eb.msg, "unknown unit"));
    assert_int_equal(rules_expr_check("x = 99999999999999999999", 24, &eb), XW_ERULES_SYNTAX);
    assert_int_equal(rules_expr_check("", 0, &eb), XW_ERULES_SYNTAX);
    assert_non_null(strstr(eb.msg, "empty"));
}

static void test_layered_sources_positions(void **state)
{
    (void)state;
    const char *a = "- rule: r\n  on: [message]\n  condition: content.text = \"x\"\n";
    const char *b = "- rule: r\n  condition: and sender.bogus = 1\n  override: {condition: append}\n";
    rules_source src[2] = {{"a.yaml", a, strlen(a)}, {"b.yaml", b, strlen(b)}};
    rules_diags d;
    rules_diags_init(&d);
    rules_set *s = NULL;
    assert_int_not_equal(rules_set_compile(src, 2, NULL, &s, &d), XW_OK);
    assert_null(s);
    assert_true(d.n >= 1);
    /* the error is in the appended text: file b, line 2, column of "sender.bogus" */
    assert_string_equal(d.v[0].file, "b.yaml");
    assert_int_equal(d.v[0].line, 2);
    assert_int_equal(d.v[0].col, 18);
    rules_diags_free(&d);
}

/* Allocation failures while parsing events and evaluating them: errors, never crashes or
 * leaks, and the engine keeps working afterwards. */
static void test_alloc_failures_during_eval(void **state)
{
    (void)state;
    rules_diags d;
    rules_diags_init(&d);
    rules_engine *e = rules_engine_new(NULL);
    rules_engine_swap(e, compile(BIG, &d));
    assert_non_null(rules_engine_set(e));
    const char *js = "{\"kind\":\"message\",\"id\":\"e\",\"ts\":5,\"group\":{\"id\":\"g1\",\"name\":\"G\"},"
                     "\"sender\":{\"inbox_id\":\"u9\",\"is_admin\":false},\"content\":{\"text\":\"x a b z\"},"
                     "\"message\":{\"id\":\"m\"},\"self\":{\"is_admin\":true}}";
    int64_t live0 = xw_alloc_live();
    int errors = 0;
    for (uint64_t n = 1; n < 200; n++) {
        rules_event *ev = NULL;
        xw_errbuf eb;
        xw_alloc_fail_at(n, 0); /* one failure, then normal again */
        int rc = rules_event_parse_json(js, strlen(js), NULL, &ev, &eb);
        const rules_decision *dec = NULL;
        if (rc == XW_OK)
            rc = rules_engine_eval(e, ev, &dec, &eb);
        xw_alloc_fail_at(0, 0);
        errors += rc != XW_OK;
        rules_event_free(ev);
    }
    assert_true(errors > 0);
    /* scratch buffers may have grown (they are kept for the next events), nothing else */
    assert_true(xw_alloc_live() - live0 < 64);
    rules_event *ev = NULL;
    xw_errbuf eb;
    const rules_decision *dec;
    assert_int_equal(rules_event_parse_json(js, strlen(js), NULL, &ev, &eb), XW_OK);
    assert_int_equal(rules_engine_eval(e, ev, &dec, &eb), XW_OK);
    rules_event_free(ev);
    rules_engine_free(e);
    rules_diags_free(&d);
}

/* A reload keeps the state of windows it keeps and starts changed windows from zero. */
static void test_reload_changed_window(void **state)
{
    (void)state;
    const char *w60 = "- rule: r\n  on: [message]\n  condition: rate(sender.inbox_id, 60s) >= 3\n";
    const char *w61 = "- rule: r\n  on: [message]\n  condition: rate(sender.inbox_id, 61s) >= 3\n";
    const char *w60b =
        "- rule: other_name\n  on: [message]\n  condition: rate(sender.inbox_id,   60s) >= 2\n";
    rules_diags d;
    rules_diags_init(&d);
    rules_engine *e = rules_engine_new(NULL);
    rules_engine_swap(e, compile(w60, &d));
    assert_int_equal(send(e, "a", 1, "r"), -1);
    assert_int_equal(send(e, "a", 2, "r"), -1);
    rules_engine_swap(e, compile(w61, &d)); /* another window: counts from zero */
    assert_int_equal(send(e, "a", 3, "r"), -1);
    rules_engine_swap(e, compile(w60b, &d)); /* the same window in another rule: count kept (3 so far) */
    assert_int_equal(send(e, "a", 4, "other_name"), RULES_R_MATCH);
    rules_engine_free(e);
    rules_diags_free(&d);
}

/* len() counts UTF-8 characters and icontains / lower() lower ASCII only, eight bytes at a
 * time in the engine: texts of every length across those blocks, with multi-byte characters
 * (whose bytes must not be lowered or counted) next to capitals, against a byte-wise count. */
static void test_len_and_lowering_blocks(void **state)
{
    (void)state;
    static const char *pieces[] = {"A", "\xc3\x89", "Z", "@", "[", "\xe2\x82\xac", "q", "\xc3\x80", "`"};
    rules_diags d;
    rules_diags_init(&d);
    rules_engine *e = rules_engine_new(NULL);
    for (int n = 0; n < 40; n++) {
        char text[256] = "", yaml[1024];
        size_t chars = 0;
        for (int i = 0; i < n; i++, chars++)
            strcat(text, pieces[(i * 7 + n) % 9]);
        strcat(text, "XyZ\xc3\x89"); /* the needle, at the end: crosses a block for some n */
        chars += 4;
        char lowered[256];
        size_t tl = strlen(text);
        for (size_t i = 0; i <= tl; i++)
            lowered[i] = (text[i] >= 'A' && text[i] <= 'Z') ? (char)(text[i] + 32) : text[i];
        snprintf(yaml, sizeof yaml,
                 "- rule: len_eq\n  on: [message]\n  condition: len(content.text) = %zu\n"
                 "- rule: len_ne\n  on: [message]\n  condition: len(content.text) = %zu\n"
                 "- rule: icont\n  on: [message]\n  condition: content.text icontains \"xyz\xc3\x89\"\n"
                 "- rule: icont_no\n  on: [message]\n  condition: content.text icontains \"xyz\xc3\xa9\"\n"
                 "- rule: low\n  on: [message]\n  condition: lower(content.text) = \"%s\"\n",
                 chars, chars + 1, lowered);
        rules_set *set = compile(yaml, &d);
        assert_non_null(set);
        rules_engine_swap(e, set);
        rules_event *ev = msg("a", n);
        assert_int_equal(rules_event_set_str(ev, RULES_F_CONTENT_TEXT, text, tl), XW_OK);
        assert_int_equal(result_of(e, ev, "len_eq", NULL), RULES_R_MATCH);
        assert_int_equal(result_of(e, ev, "len_ne", NULL), -1);
        assert_int_equal(result_of(e, ev, "icont", NULL), RULES_R_MATCH);
        assert_int_equal(result_of(e, ev, "icont_no", NULL), -1);
        assert_int_equal(result_of(e, ev, "low", NULL), RULES_R_MATCH);
        rules_event_free(ev);
    }
    rules_engine_free(e);
    rules_diags_free(&d);
}

/* Regexes on a list field are first tried as one joined pattern over every item: a match
 * in any item, by any of them, must still reach the right rules (and only those). */
static void test_list_regex_group(void **state)
{
    (void)state;
    const char *yaml =
        "- rule: xyz\n  on: [message]\n  condition: content.links regex \"\\\\.xyz/\"\n"
        "- rule: top\n  on: [message]\n  condition: content.links regex \"\\\\.top/\"\n"
        "- rule: low\n  on: [message]\n  condition: lower(content.links) regex \"^https://a\\\\.\"\n"
        "- rule: none\n  on: [message]\n  condition: content.links regex \"\\\\.zip/\"\n";
    static const struct {
        const char *links[3];
        int xyz, top, low;
    } cases[] = {
        {{"https://b.com/", "https://c.top/x", NULL}, -1, RULES_R_MATCH, -1},
        {{"https://A.xyz/", NULL, NULL}, RULES_R_MATCH, -1, RULES_R_MATCH},
        {{"https://b.com/", "https://c.org/", "https://d.xyz/"}, RULES_R_MATCH, -1, -1},
        {{"https://b.com/", NULL, NULL}, -1, -1, -1},
        {{NULL, NULL, NULL}, -1, -1, -1},
    };
    rules_diags d;
    rules_diags_init(&d);
    rules_set *set = compile(yaml, &d);
    assert_non_null(set);
    rules_engine *e = rules_engine_new(NULL);
    rules_engine_swap(e, set);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        rules_event *ev = msg("a", (int64_t)c);
        for (int i = 0; i < 3 && cases[c].links[i]; i++)
            assert_int_equal(
                rules_event_list_add(ev, RULES_F_CONTENT_LINKS, cases[c].links[i], strlen(cases[c].links[i])),
                XW_OK);
        assert_int_equal(result_of(e, ev, "xyz", NULL), cases[c].xyz);
        assert_int_equal(result_of(e, ev, "top", NULL), cases[c].top);
        assert_int_equal(result_of(e, ev, "low", NULL), cases[c].low);
        assert_int_equal(result_of(e, ev, "none", NULL), -1);
        rules_event_free(ev);
    }
    rules_engine_free(e);
    rules_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reload_keeps_old_set_on_error),
        cmocka_unit_test(test_state_export_import),
        cmocka_unit_test(test_lru_cap),
        cmocka_unit_test(test_alloc_failures_during_compile),
        cmocka_unit_test(test_event_json_errors),
        cmocka_unit_test(test_builder_and_decision),
        cmocka_unit_test(test_regex_limit_counts),
        cmocka_unit_test(test_expr_check),
        cmocka_unit_test(test_layered_sources_positions),
        cmocka_unit_test(test_alloc_failures_during_eval),
        cmocka_unit_test(test_reload_changed_window),
        cmocka_unit_test(test_len_and_lowering_blocks),
        cmocka_unit_test(test_list_regex_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
