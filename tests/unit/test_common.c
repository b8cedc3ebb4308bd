/*
 * Tests for common/: error table, allocation wrapper and its failure hook, bounded buffers,
 * hex and base64, logger (text, JSON lines, structured fields), clocks, UTF-8 validation,
 * arena, gRPC status names, the SQLite error mapping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/codec.h"
#include "common/err.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "common/sqlite_err.h"
#include "common/utf8.h"

static void test_err_table(void **state)
{
    (void)state;
    assert_string_equal(xw_errname(XW_OK), "XW_OK");
    assert_string_equal(xw_errname(XW_ETRUNCATED), "XW_ETRUNCATED");
    assert_string_equal(xw_strerror(XW_ENOMEM), "out of memory");
    assert_string_equal(xw_strerror(-5), "unknown error");
    assert_string_equal(xw_strerror(XW_ERR__COUNT), "unknown error");
    assert_int_equal(xw_errclass_of(XW_OK), XW_CLASS_NONE);
    assert_true(xw_err_is_retriable(XW_ETIMEOUT));
    assert_true(xw_err_is_retriable(XW_EUNAVAILABLE));
    assert_int_equal(xw_errclass_of(XW_EMALFORMED), XW_CLASS_PERMANENT);
    assert_true(xw_err_is_fatal(XW_ECORRUPT));
    assert_true(xw_err_is_fatal(12345)); /* an unknown code is treated as the worst case */
    /* every code has a distinct name and a non-empty message */
    for (int i = 0; i < XW_ERR__COUNT; i++) {
        assert_true(strlen(xw_strerror(i)) > 0);
        for (int j = i + 1; j < XW_ERR__COUNT; j++)
            assert_string_not_equal(xw_errname(i), xw_errname(j));
    }
}

static void test_errbuf(void **state)
{
    (void)state;
    xw_errbuf eb = {{0}};
    assert_int_equal(xw_errf(&eb, XW_ETRUNCATED, "key package ends at byte %d", 7), XW_ETRUNCATED);
    assert_string_equal(eb.msg, "key package ends at byte 7");
    xw_errctx(&eb, XW_ETRUNCATED, "welcome for %s", "bob");
    assert_string_equal(eb.msg, "welcome for bob: key package ends at byte 7");
    assert_int_equal(xw_errf(NULL, XW_EINVAL, "ignored"), XW_EINVAL);
    xw_errbuf empty = {{0}};
    xw_errctx(&empty, XW_EIO, "reading %s", "x.db");
    assert_string_equal(empty.msg, "reading x.db: input/output error");
}

/* An "object" whose constructor takes three allocations and must free the earlier ones
 * when a later one fails. */
struct triple {
    char *a, *b, *c;
};

static int triple_new(struct triple **out)
{
    struct triple *t = xw_calloc(1, sizeof *t);
    if (!t)
        return XW_ENOMEM;
    if (!(t->a = xw_strdup("alpha")))
        goto fail;
    if (!(t->b = xw_malloc(100)))
        goto fail;
    if (!(t->c = xw_memdup("gamma", 5)))
        goto fail;
    *out = t;
    return XW_OK;
fail:
    xw_free(t->a);
    xw_free(t->b);
    xw_free(t);
    return XW_ENOMEM;
}

static void triple_free(struct triple *t)
{
    xw_free(t->a);
    xw_free(t->b);
    xw_free(t->c);
    xw_free(t);
}

static void test_alloc_fail_hook_error_path_frees(void **state)
{
    (void)state;
    /* Fail each of the four allocations in turn: every time the error is reported and
     * nothing is left allocated. Then with no failure, it works. */
    for (uint64_t nth = 1; nth <= 4; nth++) {
        int64_t live = xw_alloc_live();
        uint64_t fails = xw_alloc_failures();
        struct triple *t = NULL;
        xw_alloc_fail_at(nth, 0);
        assert_int_equal(triple_new(&t), XW_ENOMEM);
        xw_alloc_fail_at(0, 0);
        assert_int_equal(xw_alloc_failures(), fails + 1);
        assert_int_equal(xw_alloc_live(), live);
    }
    int64_t live = xw_alloc_live();
    struct triple *t = NULL;
    assert_int_equal(triple_new(&t), XW_OK);
    assert_int_equal(xw_alloc_live(), live + 4);
    assert_memory_equal(t->c, "gamma", 5);
    triple_free(t);
    assert_int_equal(xw_alloc_live(), live);
}

static void test_alloc_sticky_and_count(void **state)
{
    (void)state;
    uint64_t before = xw_alloc_count();
    xw_alloc_fail_at(2, 1);
    void *p = xw_malloc(8);
    assert_non_null(p);
    assert_null(xw_malloc(8));
    assert_null(xw_calloc(2, 8));
    assert_null(xw_realloc(NULL, 8));
    xw_alloc_fail_at(0, 0);
    assert_int_equal(xw_alloc_count(), before + 4);
    void *q = xw_realloc(p, 64);
    assert_non_null(q);
    xw_free(q);
    /* overflowing calloc is refused, not attempted */
    assert_null(xw_calloc(SIZE_MAX / 2, 4));
    /* xw_grow: the same array while there is room, then twice the room */
    size_t cap = 0;
    int *v = xw_grow(NULL, 0, &cap, 3, sizeof *v);
    assert_non_null(v);
    assert_int_equal(cap, 3);
    assert_ptr_equal(xw_grow(v, 2, &cap, 3, sizeof *v), v);
    v = xw_grow(v, 3, &cap, 3, sizeof *v);
    assert_non_null(v);
    assert_int_equal(cap, 6);
    xw_alloc_fail_at(1, 0);
    assert_null(xw_grow(v, 6, &cap, 3, sizeof *v)); /* v is still ours, cap unchanged */
    xw_alloc_fail_at(0, 0);
    assert_int_equal(cap, 6);
    size_t huge = SIZE_MAX / 4;
    assert_null(xw_grow(v, huge, &huge, 3, sizeof *v)); /* overflow refused, not attempted */
    xw_free(v);
    uint8_t secret[16];
    memset(secret, 0xAA, sizeof secret);
    xw_wipe(secret, sizeof secret);
    for (size_t i = 0; i < sizeof secret; i++)
        assert_int_equal(secret[i], 0);
}

static void test_buf_bounded(void **state)
{
    (void)state;
    xw_buf b;
    xw_buf_init(&b, 10);
    assert_int_equal(xw_buf_append(&b, "hello", 5), XW_OK);
    assert_int_equal(xw_buf_append(&b, "world", 5), XW_OK);
    assert_int_equal(b.len, 10);
    /* past the maximum: refused, buffer unchanged */
    assert_int_equal(xw_buf_append_u8(&b, '!'), XW_ETOOBIG);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "helloworld", 10);
    assert_int_equal(xw_buf_append(&b, "", 0), XW_OK);
    assert_null(xw_buf_extend(&b, 1));
    xw_buf_truncate(&b, 5);
    assert_int_equal(xw_buf_appendf(&b, "%d", 42), XW_OK);
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.data, "hello42", 7);
    /* appendf needs room for its NUL inside max */
    assert_int_equal(xw_buf_appendf(&b, "%s", "abc"), XW_ETOOBIG);
    assert_int_equal(b.len, 7);
    size_t n;
    uint8_t *d = xw_buf_detach(&b, &n);
    assert_int_equal(n, 7);
    assert_int_equal(b.len, 0);
    assert_null(b.data);
    xw_free(d);
    /* size_t overflow in the request is refused */
    xw_buf_init(&b, SIZE_MAX);
    assert_int_equal(xw_buf_append(&b, "x", 1), XW_OK);
    assert_int_equal(xw_buf_reserve(&b, SIZE_MAX), XW_ETOOBIG);
    xw_buf_free_secret(&b);
    /* growth under an allocation failure leaves the buffer intact */
    xw_buf_init(&b, 1 << 20);
    assert_int_equal(xw_buf_append(&b, "abc", 3), XW_OK);
    xw_alloc_fail_at(1, 0);
    uint8_t big[1000] = {0};
    assert_int_equal(xw_buf_append(&b, big, sizeof big), XW_ENOMEM);
    xw_alloc_fail_at(0, 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "abc", 3);
    xw_buf_free(&b);
}

static void test_hex(void **state)
{
    (void)state;
    const uint8_t in[] = {0x00, 0x01, 0xab, 0xff};
    char out[9];
    xw_hex_encode(in, 4, out);
    assert_string_equal(out, "0001abff");
    xw_buf b;
    xw_buf_init(&b, 64);
    assert_int_equal(xw_hex_decode("0001ABff", 8, &b), XW_OK);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, in, 4);
    assert_int_equal(xw_hex_decode("abc", 3, &b), XW_EMALFORMED);
    assert_int_equal(xw_hex_decode("zz", 2, &b), XW_EMALFORMED);
    assert_int_equal(b.len, 4); /* failed decodes change nothing */
    uint8_t fixed[2];
    assert_int_equal(xw_hex_decode_exact("beef", fixed, 2), XW_OK);
    assert_int_equal(fixed[0], 0xbe);
    assert_int_equal(xw_hex_decode_exact("beefee", fixed, 2), XW_EINVAL);
    xw_buf_reset(&b);
    assert_int_equal(xw_hex_append(&b, in, 4), XW_OK);
    assert_memory_equal(b.data, "0001abff", 8);
    xw_buf_free(&b);
}

static void b64_case(const char *plain, const char *std, const char *url)
{
    xw_buf b;
    xw_buf_init(&b, 256);
    assert_int_equal(xw_base64_encode((const uint8_t *)plain, strlen(plain), &b), XW_OK);
    assert_int_equal(b.len, strlen(std));
    assert_memory_equal(b.data, std, b.len);
    assert_int_equal(xw_base64_encoded_len(strlen(plain)), strlen(std));
    xw_buf_reset(&b);
    assert_int_equal(xw_base64_decode(std, strlen(std), &b), XW_OK);
    assert_int_equal(b.len, strlen(plain));
    assert_memory_equal(b.data, plain, b.len);
    xw_buf_reset(&b);
    assert_int_equal(xw_base64url_encode((const uint8_t *)plain, strlen(plain), &b), XW_OK);
    assert_int_equal(b.len, strlen(url));
    assert_memory_equal(b.data, url, b.len);
    xw_buf_reset(&b);
    assert_int_equal(xw_base64url_decode(url, strlen(url), &b), XW_OK);
    assert_int_equal(b.len, strlen(plain));
    xw_buf_free(&b);
}

static void test_base64(void **state)
{
    (void)state;
    /* RFC 4648 section 10 */
    b64_case("", "", "");
    b64_case("f", "Zg==", "Zg");
    b64_case("fo", "Zm8=", "Zm8");
    b64_case("foo", "Zm9v", "Zm9v");
    b64_case("foob", "Zm9vYg==", "Zm9vYg");
    b64_case("fooba", "Zm9vYmE=", "Zm9vYmE");
    b64_case("foobar", "Zm9vYmFy", "Zm9vYmFy");
    b64_case("\xfb\xff", "+/8=", "-_8");
    xw_buf b;
    xw_buf_init(&b, 256);
    const char *bad[] = {"Zg=", "Z===", "Zh==", "Zm9v!", "====", "Zg==Zg==", "-_8="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(xw_base64_decode(bad[i], strlen(bad[i]), &b), XW_OK);
        assert_int_equal(b.len, 0);
    }
    assert_int_equal(xw_base64url_decode("Z", 1, &b), XW_EMALFORMED);
    assert_int_equal(xw_base64url_decode("+/8", 3, &b), XW_EMALFORMED);
    xw_buf_free(&b);
}

struct log_thread_arg {
    int id;
};

static void *log_thread(void *p)
{
    struct log_thread_arg *a = p;
    for (int i = 0; i < 200; i++)
        xw_log_info("t", "thread %d line %d with some padding text to make lines long", a->id, i);
    return NULL;
}

static void test_log(void **state)
{
    (void)state;
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    assert_non_null(f);
    xw_log_set_output(f);
    xw_log_set_level(XW_LOG_INFO);
    xw_log_set_format(XW_LOG_TEXT);
    xw_log_debug("m", "hidden");
    xw_log_warn("node", "hello %d", 5);
    xw_log_set_format(XW_LOG_JSON);
    xw_log_error("node", "quote \" backslash \\ newline \n tab \t");
    fflush(f);
    assert_null(strstr(mem, "hidden"));
    assert_non_null(strstr(mem, "WARN  node: hello 5\n"));
    assert_non_null(strstr(mem, "\"level\":\"error\",\"module\":\"node\","
                                "\"msg\":\"quote \\\" backslash \\\\ newline \\n tab \\t\"}\n"));

    /* concurrent lines never interleave */
    xw_log_set_format(XW_LOG_TEXT);
    rewind(f);
    fflush(f);
    pthread_t th[4];
    struct log_thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i].id = i;
        pthread_create(&th[i], NULL, log_thread, &args[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    fflush(f);
    int lines = 0;
    for (char *l = mem, *nl; (nl = strchr(l, '\n')); l = nl + 1) {
        if (strstr(l, "INFO  t: thread ") && strstr(l, "to make lines long") < nl)
            lines++;
    }
    assert_int_equal(lines, 800);
    xw_log_set_output(NULL);
    fclose(f);
    free(mem);

    assert_int_equal(xw_log_level_parse("DEBUG"), XW_LOG_DEBUG);
    assert_int_equal(xw_log_level_parse("warning"), XW_LOG_WARN);
    assert_int_equal(xw_log_level_parse("loud"), -1);
    assert_string_equal(xw_log_level_name(XW_LOG_ERROR), "error");
}

/* Every JSON line of mem parses as one object; returns the last one (caller decrefs). */
static json_t *last_json_line(const char *mem)
{
    json_t *last = NULL;
    for (const char *l = mem, *nl; (nl = strchr(l, '\n')); l = nl + 1) {
        json_error_t je;
        json_t *o = json_loadb(l, (size_t)(nl - l), 0, &je);
        if (!o || !json_is_object(o))
            fail_msg("not a JSON object: %.*s (%s)", (int)(nl - l), l, je.text);
        json_decref(last);
        last = o;
    }
    return last;
}

static void test_log_fields(void **state)
{
    (void)state;
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    assert_non_null(f);
    xw_log_set_output(f);
    xw_log_set_level(XW_LOG_DEBUG);
    xw_log_set_format(XW_LOG_JSON);
    assert_int_equal(xw_log_get_format(), XW_LOG_JSON);
    assert_true(xw_log_enabled(XW_LOG_DEBUG));
    assert_false(xw_log_enabled(XW_LOG_TRACE));
    assert_false(xw_log_enabled(XW_LOG_OFF));

    /* fields become members; reserved and odd keys get a leading '_'; NULL is null */
    xw_log_field fl[] = {{"group", "ab\"12"}, {"msg", "clash"}, {"bad key", "x"}, {"none", NULL}};
    xw_log_fields(XW_LOG_INFO, "decrypt", fl, 4, "applied %d", 3);
    fflush(f);
    json_t *o = last_json_line(mem);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "applied 3");
    assert_string_equal(json_string_value(json_object_get(o, "module")), "decrypt");
    assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(o, "group")), "ab\"12");
    assert_string_equal(json_string_value(json_object_get(o, "_msg")), "clash");
    assert_string_equal(json_string_value(json_object_get(o, "_bad_key")), "x");
    assert_true(json_is_null(json_object_get(o, "none")));
    json_decref(o);

    /* a message far longer than a line is cut, and the line is still one JSON object */
    char big[3000];
    memset(big, '"', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    xw_log_field many[XW_LOG_MAX_FIELDS + 4];
    for (size_t i = 0; i < sizeof many / sizeof many[0]; i++)
        many[i] = (xw_log_field){"k", big};
    xw_log_fields(XW_LOG_WARN, "m", many, sizeof many / sizeof many[0], "%s", big);
    fflush(f);
    o = last_json_line(mem);
    assert_non_null(o);
    assert_true(json_is_true(json_object_get(o, "truncated")));
    assert_true(strlen(strrchr(mem, '{')) <= XW_LOG_MAX_LINE);
    json_decref(o);

    /* text: key=value, quoted when needed */
    xw_log_set_format(XW_LOG_TEXT);
    xw_log_field tf[] = {{"stage", "store"}, {"why", "two words"}, {"empty", ""}, {"n", NULL}};
    xw_log_fields(XW_LOG_ERROR, "w", tf, 4, "stopped");
    fflush(f);
    assert_non_null(strstr(mem, "ERROR w: stopped stage=store why=\"two words\" empty=\"\" n=-\n"));
    xw_log_set_output(NULL);
    xw_log_set_level(XW_LOG_INFO);
    fclose(f);
    free(mem);

    assert_int_equal(xw_log_format_parse("JSON"), XW_LOG_JSON);
    assert_int_equal(xw_log_format_parse("text"), XW_LOG_TEXT);
    assert_int_equal(xw_log_format_parse("yaml"), -1);
    assert_string_equal(xw_log_format_name(XW_LOG_JSON), "json");
}

static void test_clock(void **state)
{
    (void)state;
    const xw_clock *real = xw_clock_real();
    int64_t a = xw_clock_mono_ns(real), b = xw_clock_mono_ns(real);
    assert_true(b >= a);
    assert_true(xw_clock_now_ns(real) > INT64_C(1700000000) * XW_NS_PER_SEC);
    xw_clock *m = xw_clock_manual_new(1000 * XW_NS_PER_SEC, 5);
    assert_int_equal(xw_clock_now_ns(m), 1000 * XW_NS_PER_SEC);
    assert_int_equal(xw_clock_mono_ns(m), 5);
    xw_clock_manual_advance(m, 60 * XW_NS_PER_SEC);
    assert_int_equal(xw_clock_now_ns(m), 1060 * XW_NS_PER_SEC);
    assert_int_equal(xw_clock_mono_ns(m), 5 + 60 * XW_NS_PER_SEC);
    xw_clock_manual_advance(m, -1); /* monotonic: never backwards */
    assert_int_equal(xw_clock_mono_ns(m), 5 + 60 * XW_NS_PER_SEC);
    xw_clock_manual_set(m, 7);
    assert_int_equal(xw_clock_now_ns(m), 7);
    xw_clock_free(m);

    int64_t cpu = xw_clock_thread_cpu_ns();
    assert_true(cpu > 0 && xw_clock_thread_cpu_ns() >= cpu);
    /* a timed wait on xw_cond_init_monotonic's variable ends at xw_deadline_after_ms's
     * deadline, not before: both are on CLOCK_MONOTONIC */
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv;
    assert_int_equal(xw_cond_init_monotonic(&cv), 0);
    struct timespec until;
    xw_deadline_after_ms(&until, 2);
    int64_t deadline = (int64_t)until.tv_sec * XW_NS_PER_SEC + until.tv_nsec;
    pthread_mutex_lock(&mu);
    int rc;
    while ((rc = pthread_cond_timedwait(&cv, &mu, &until)) == 0) /* spurious wake-ups */
        ;
    pthread_mutex_unlock(&mu);
    assert_int_equal(rc, ETIMEDOUT);
    assert_true(xw_clock_mono_ns(real) >= deadline);
    pthread_cond_destroy(&cv);
    a = xw_clock_mono_ms(real);
    xw_sleep_ms(1);
    assert_true(xw_clock_mono_ms(real) >= a + 1);
}

/* The oracle for test_utf8: decode the code point the obvious way and reject what RFC 3629
 * forbids. Returns the sequence's length, or 0 when s[0..n) does not start with one. */
static size_t utf8_oracle_one(const uint8_t *s, size_t n)
{
    size_t len = s[0] < 0x80 ? 1 : s[0] >> 5 == 6 ? 2 : s[0] >> 4 == 14 ? 3 : s[0] >> 3 == 30 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    uint32_t cp = len == 1 ? s[0] : s[0] & (0x7fu >> len);
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[k] & 0x3f);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static size_t utf8_oracle(const uint8_t *s, size_t n)
{
    size_t i = 0, len;
    while (i < n && (len = utf8_oracle_one(s + i, n - i)) != 0)
        i += len;
    return i;
}

static void test_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n, bad;
    } cases[] = {
        {"", 0, 0},
        {"plain ascii", 11, 11},
        {"caf\xc3\xa9", 5, 5},
        {"\xe2\x82\xac \xf0\x9f\x98\x80", 8, 8}, /* euro sign, emoji */
        {"\xf4\x8f\xbf\xbf", 4, 4},              /* U+10FFFF, the last code point */
        {"a\0b", 3, 3},                          /* NUL is a character */
        {"ab\xc0\x80", 4, 2},                    /* overlong NUL */
        {"\xe0\x80\xaf", 3, 0},                  /* overlong '/' */
        {"\xf0\x8f\xbf\xbf", 4, 0},              /* overlong U+FFFF */
        {"x\xed\xa0\x80", 4, 1},                 /* surrogate U+D800 */
        {"\xf4\x90\x80\x80", 4, 0},              /* U+110000 */
        {"\xf5\x80\x80\x80", 4, 0},              /* lead byte past F4 */
        {"ok\x80", 3, 2},                        /* stray continuation byte */
        {"\xe2\x82", 2, 0},                      /* cut short */
        {"\xc3\xa9\xc3(", 4, 2},                 /* continuation missing */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint8_t *s = (const uint8_t *)cases[i].s;
        assert_int_equal(xw_utf8_bad_at(s, cases[i].n), cases[i].bad);
        assert_int_equal(xw_utf8_valid(s, cases[i].n), cases[i].bad == cases[i].n);
    }
    /* every string of three bytes and the four-byte ones behind each lead, against the oracle */
    uint8_t b[4] = {0, 0, 0, 0x80};
    for (uint32_t v = 0; v < 1u << 24; v++) {
        b[0] = (uint8_t)(v >> 16), b[1] = (uint8_t)(v >> 8), b[2] = (uint8_t)v;
        assert_true(xw_utf8_bad_at(b, 3) == utf8_oracle(b, 3));
        if (b[0] >= 0xf0 && b[2] >= 0x80 && b[2] < 0x82)
            assert_true(xw_utf8_bad_at(b, 4) == utf8_oracle(b, 4));
    }
}

static void test_arena(void **state)
{
    (void)state;
    int64_t live = xw_alloc_live();
    xw_arena a;
    xw_arena_init(&a, 64, 200);
    uint8_t *p = xw_arena_alloc(&a, 3), *q = xw_arena_alloc(&a, 5);
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal((uintptr_t)q % 8, 0);
    assert_ptr_equal(q, p + 8); /* one block, requests rounded up to 8 */
    assert_int_equal(xw_alloc_live(), live + 1);
    memset(q, 0xff, 5);
    /* a request over the block size gets its own block, behind the head: the head's free
     * tail still serves the next small request */
    uint8_t *big = xw_arena_alloc(&a, 100);
    assert_non_null(big);
    assert_int_equal(xw_alloc_live(), live + 2);
    assert_ptr_equal(xw_arena_alloc(&a, 8), q + 8);
    /* the maximum: 8 + 8 + 104 + 8 = 128 of 200 handed out */
    assert_null(xw_arena_alloc(&a, 73));
    assert_non_null(xw_arena_alloc(&a, 72));
    assert_null(xw_arena_alloc(&a, 1));
    assert_null(xw_arena_array(&a, SIZE_MAX / 2, 4)); /* overflow refused, not attempted */
    /* reset keeps the newest block and hands out zeroed memory from its start again */
    xw_arena_reset(&a);
    assert_int_equal(a.total, 0);
    uint8_t *r = xw_arena_alloc(&a, 16);
    assert_non_null(r);
    for (int i = 0; i < 16; i++)
        assert_int_equal(r[i], 0);
    xw_arena_release(&a);
    assert_int_equal(xw_alloc_live(), live);
    assert_int_equal(a.block, 64); /* still initialised: usable again */

    xw_arena *h = xw_arena_new(0, XW_ARENA_UNBOUNDED);
    assert_non_null(h);
    assert_string_equal(xw_arena_strdup(h, "arena"), "arena");
    assert_string_equal(xw_arena_strndup(h, "arena", 3), "are");
    assert_non_null(xw_arena_memdup(h, "", 0)); /* a valid pointer even for nothing */
    assert_memory_equal(xw_arena_memdup(h, "\1\2\3", 3), "\1\2\3", 3);
    assert_null(xw_arena_alloc(h, SIZE_MAX - 3));
    xw_alloc_fail_at(1, 0); /* the next block cannot be had */
    assert_null(xw_arena_alloc(h, XW_ARENA_BLOCK_DEFAULT));
    xw_alloc_fail_at(0, 0);
    xw_arena_free(h);
    xw_arena_free(NULL);
    assert_int_equal(xw_alloc_live(), live);
}

static void test_grpc_status(void **state)
{
    (void)state;
    assert_int_equal(XW_GRPC_OK, 0);
    assert_int_equal(XW_GRPC_UNAVAILABLE, 14);
    assert_int_equal(XW_GRPC_UNAUTHENTICATED, 16);
    assert_string_equal(xw_grpc_code_name(XW_GRPC_OK), "OK");
    assert_string_equal(xw_grpc_code_name(5), "NOT_FOUND");
    assert_string_equal(xw_grpc_code_name(16), "UNAUTHENTICATED");
    assert_string_equal(xw_grpc_code_name(17), "UNKNOWN_CODE");
    assert_string_equal(xw_grpc_code_name(-1), "UNKNOWN_CODE");
}

static void test_sqlite_err(void **state)
{
    (void)state;
    assert_int_equal(xw_sqlite_err(SQLITE_BUSY), XW_EBUSY);
    assert_int_equal(xw_sqlite_err(SQLITE_LOCKED_SHAREDCACHE), XW_EBUSY); /* extended codes too */
    assert_int_equal(xw_sqlite_err(SQLITE_IOERR_FSYNC), XW_EIO);
    assert_int_equal(xw_sqlite_err(SQLITE_FULL), XW_EIO);
    assert_int_equal(xw_sqlite_err(SQLITE_CORRUPT), XW_ECORRUPT);
    assert_int_equal(xw_sqlite_err(SQLITE_CORRUPT_INDEX), XW_ECORRUPT);
    assert_int_equal(xw_sqlite_err(SQLITE_NOTADB), XW_ECORRUPT);
    assert_int_equal(xw_sqlite_err(SQLITE_CONSTRAINT), XW_EDB);
    assert_true(xw_err_is_retriable(xw_sqlite_err(SQLITE_BUSY)));
    assert_true(xw_err_is_retriable(xw_sqlite_err(SQLITE_IOERR)));
    assert_true(xw_err_is_fatal(xw_sqlite_err(SQLITE_CORRUPT)));
    assert_false(xw_err_is_retriable(xw_sqlite_err(SQLITE_NOTADB)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_table),
        cmocka_unit_test(test_errbuf),
        cmocka_unit_test(test_alloc_fail_hook_error_path_frees),
        cmocka_unit_test(test_alloc_sticky_and_count),
        cmocka_unit_test(test_buf_bounded),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_log),
        cmocka_unit_test(test_log_fields),
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_grpc_status),
        cmocka_unit_test(test_sqlite_err),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
