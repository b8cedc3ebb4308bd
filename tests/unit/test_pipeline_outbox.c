/*
 * Tests for pipeline/event and outbox: event encoding and its strict decoder, and the outbox
 * on a real SQLite file (transactions, order, settling, failed rows, requeue). The exporter
 * and the sinks are tested in test_pipeline_export.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "pipeline/exporter.h"
#include "tests/unit/pipeline_test_helpers.h"

/* --- events ------------------------------------------------------------------------------- */

static void test_event_roundtrip(void **state)
{
    (void)state;
    pl_event ev = sample_event();
    xw_buf b;
    xw_buf_init(&b, 1 << 20);
    xw_errbuf eb = {{0}};
    assert_int_equal(pl_event_encode(&ev, &b, &eb), XW_OK);
    const char *want =
        "{\"schema\":1,\"id\":\"ev-1\",\"kind\":\"message\",\"group\":\"0123abcd\","
        "\"sender\":{\"inbox_id\":\"inbox-a\",\"installation_id\":\"inst-1\"},"
        "\"sent_at_ns\":1764406800123456789,\"sent_at\":\"2025-11-29T09:00:00.123456789Z\","
        "\"observed_at_ns\":1764406800200000000,\"content_type\":\"xmtp.org/text:1.0\","
        "\"content\":{\"text\":\"hi \xc3\xa9\"},\"decisions\":[{\"rule\":\"flood\",\"action\":\"none\"}]}";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    pl_event d;
    assert_int_equal(pl_event_decode((const char *)b.data, b.len, &d, &eb), XW_OK);
    assert_string_equal(d.id, "ev-1");
    assert_int_equal(d.kind, PL_EVENT_MESSAGE);
    assert_string_equal(d.group_id, "0123abcd");
    assert_string_equal(d.sender_inbox_id, "inbox-a");
    assert_string_equal(d.sender_installation_id, "inst-1");
    assert_true(d.sent_at_ns == ev.sent_at_ns && d.observed_at_ns == ev.observed_at_ns);
    assert_string_equal(d.content_type, "xmtp.org/text:1.0");
    assert_string_equal(d.content_json, "{\"text\":\"hi \xc3\xa9\"}");
    assert_string_equal(d.decisions_json, "[{\"rule\":\"flood\",\"action\":\"none\"}]");
    /* re-encoding the decoded event gives the same bytes */
    xw_buf b2;
    xw_buf_init(&b2, 1 << 20);
    assert_int_equal(pl_event_encode(&d, &b2, &eb), XW_OK);
    assert_int_equal(b2.len, b.len);
    assert_memory_equal(b2.data, b.data, b.len);
    pl_event_clear(&d);
    xw_buf_free(&b2);
    /* minimal event: no sender, no content, no decisions, no times */
    pl_event min = {.id = "x", .kind = PL_EVENT_ERROR, .group_id = "g"};
    xw_buf_reset(&b);
    assert_int_equal(pl_event_encode(&min, &b, &eb), XW_OK);
    assert_int_equal(pl_event_decode((const char *)b.data, b.len, &d, &eb), XW_OK);
    assert_null(d.sender_inbox_id);
    assert_null(d.content_json);
    assert_string_equal(d.decisions_json, "[]");
    assert_int_equal(d.kind, PL_EVENT_ERROR);
    pl_event_clear(&d);
    xw_buf_free(&b);
    /* kind names */
    pl_event_kind k;
    for (int i = 0; i < PL_EVENT__KIND_COUNT; i++) {
        assert_int_equal(pl_event_kind_parse(pl_event_kind_name((pl_event_kind)i), &k), XW_OK);
        assert_int_equal(k, i);
    }
    assert_int_equal(pl_event_kind_parse("nope", &k), XW_EINVAL);
    assert_null(pl_event_kind_name(PL_EVENT__KIND_COUNT));
    char id[33];
    assert_int_equal(pl_event_id_random(id, &eb), XW_OK);
    assert_int_equal(strlen(id), 32);
    assert_true(pl_event_id_valid(id));
}

static void test_event_encode_rejects(void **state)
{
    (void)state;
    xw_buf b;
    xw_buf_init(&b, 1 << 20);
    assert_int_equal(xw_buf_append_str(&b, "keep"), XW_OK);
    xw_errbuf eb = {{0}};
    pl_event ev = sample_event();
    ev.id = "bad id";
    assert_int_equal(pl_event_encode(&ev, &b, &eb), XW_EINVAL);
    assert_non_null(strstr(eb.msg, "event id \"bad id\" is invalid"));
    ev = sample_event();
    ev.group_id = "";
    assert_int_equal(pl_event_encode(&ev, &b, &eb), XW_EINVAL);
    assert_non_null(strstr(eb.msg, "group id is empty"));
    ev = sample_event();
    ev.content_json = "{\"a\":";
    assert_int_equal(pl_event_encode(&ev, &b, &eb), XW_EINVAL);
    assert_non_null(strstr(eb.msg, "content is not valid JSON"));
    ev = sample_event();
    ev.decisions_json = "{}";
    assert_int_equal(pl_event_encode(&ev, &b, &eb), XW_EINVAL);
    assert_non_null(strstr(eb.msg, "decisions must be a JSON array"));
    ev = sample_event();
    ev.sender_inbox_id = "a\nb";
    assert_int_equal(pl_event_encode(&ev, &b, &eb), XW_EINVAL);
    assert_non_null(strstr(eb.msg, "control character"));
    ev = sample_event();
    ev.sender_inbox_id = NULL;
    assert_int_equal(pl_event_encode(&ev, &b, &eb), XW_EINVAL);
    ev = sample_event();
    ev.kind = PL_EVENT__KIND_COUNT;
    assert_int_equal(pl_event_encode(&ev, &b, &eb), XW_EINVAL);
    ev = sample_event();
    ev.sent_at_ns = -1;
    assert_int_equal(pl_event_encode(&ev, &b, &eb), XW_EINVAL);
    /* too big for the maximum, and too big for the caller's buffer */
    size_t big = PL_EVENT_MAX_BYTES + 10;
    char *content = xw_malloc(big + 3);
    content[0] = '"';
    memset(content + 1, 'a', big);
    content[big + 1] = '"';
    content[big + 2] = '\0';
    ev = sample_event();
    ev.content_json = content;
    assert_int_equal(pl_event_encode(&ev, &b, &eb), XW_ETOOBIG);
    xw_free(content);
    xw_buf small;
    xw_buf_init(&small, 50);
    ev = sample_event();
    assert_int_equal(pl_event_encode(&ev, &small, &eb), XW_ETOOBIG);
    assert_int_equal(small.len, 0);
    xw_buf_free(&small);
    /* nothing was appended by any failure */
    assert_int_equal(b.len, 4);
    xw_buf_free(&b);
}

static void test_event_decode_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int err;
        const char *msg;
    } cases[] = {
        {"", XW_EMALFORMED, "not valid JSON"},
        {"[1]", XW_EMALFORMED, "must be a JSON object"},
        {"{\"id\":\"a\"}", XW_EMALFORMED, "no integer \"schema\""},
        {"{\"schema\":2,\"id\":\"a\",\"kind\":\"message\",\"group\":\"g\"}", XW_EUNSUPPORTED, "schema 2"},
        {"{\"schema\":1,\"kind\":\"message\",\"group\":\"g\"}", XW_EMALFORMED, "no \"id\""},
        {"{\"schema\":1,\"id\":\"a b\",\"kind\":\"message\",\"group\":\"g\"}", XW_EMALFORMED, "characters"},
        {"{\"schema\":1,\"id\":\"a\",\"kind\":\"nope\",\"group\":\"g\"}", XW_EMALFORMED, "unknown \"kind\""},
        {"{\"schema\":1,\"id\":\"a\",\"kind\":\"message\"}", XW_EMALFORMED, "no \"group\""},
        {"{\"schema\":1,\"id\":\"a\",\"id\":\"b\",\"kind\":\"message\",\"group\":\"g\"}", XW_EMALFORMED,
         "duplicate"},
        {"{\"schema\":1,\"id\":\"a\",\"kind\":\"message\",\"group\":\"g\\u0000h\"}", XW_EMALFORMED, "NUL"},
        {"{\"schema\":1,\"id\":\"a\",\"kind\":\"message\",\"group\":\"g\",\"sent_at_ns\":-5}", XW_EMALFORMED,
         "non-negative"},
        {"{\"schema\":1,\"id\":\"a\",\"kind\":\"message\",\"group\":\"g\",\"sender\":5}", XW_EMALFORMED,
         "\"sender\" must be"},
        {"{\"schema\":1,\"id\":\"a\",\"kind\":\"message\",\"group\":\"g\",\"sender\":{}}", XW_EMALFORMED,
         "no \"inbox_id\""},
        {"{\"schema\":1,\"id\":\"a\",\"kind\":\"message\",\"group\":\"g\",\"decisions\":{}}", XW_EMALFORMED,
         "\"decisions\" must be"},
        {"{\"schema\":1,\"id\":\"a\",\"kind\":\"message\",\"group\":\"g\",\"sent_at_ns\":"
         "99999999999999999999}",
         XW_EMALFORMED, "not valid JSON"},
    };
    int64_t base = xw_alloc_live();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pl_event ev;
        xw_errbuf eb = {{0}};
        int rc = pl_event_decode(cases[i].json, strlen(cases[i].json), &ev, &eb);
        if (rc != cases[i].err || !strstr(eb.msg, cases[i].msg))
            fail_msg("case %zu: got %s \"%s\", want %s \"%s\"", i, xw_errname(rc), eb.msg,
                     xw_errname(cases[i].err), cases[i].msg);
        assert_null(ev.id);
        assert_int_equal(xw_alloc_live(), base);
    }
    /* unknown fields are ignored (newer writers may add some) */
    const char *fwd = "{\"schema\":1,\"id\":\"a\",\"kind\":\"reaction\",\"group\":\"g\",\"future\":[1,2]}";
    pl_event ev;
    assert_int_equal(pl_event_decode(fwd, strlen(fwd), &ev, NULL), XW_OK);
    assert_int_equal(ev.kind, PL_EVENT_REACTION);
    pl_event_clear(&ev);
    /* over the size limit: refused before parsing */
    assert_int_equal(pl_event_decode(fwd, PL_EVENT_MAX_BYTES + 1, &ev, NULL), XW_ETOOBIG);
}

/* The encoder's embedded-JSON fast path (and the jansson path it defers to) accept exactly
 * what jansson accepts and write the same value: cases chosen at each branch of the fast
 * path (tests/fuzz/fuzz_pl_json.c checks the same property on arbitrary input). */
static void test_event_embedded_json(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out; /* out NULL: rejected */
    } cases[] = {
        {"{\"text\":\"hi\",\"n\":12}", "{\"text\":\"hi\",\"n\":12}"},
        {" [ 1 , -0 , 2.50 , true , false , null , \"\" , { } , [ ] ] ",
         "[1,-0,2.50,true,false,null,\"\",{},[]]"},
        {"\"a\\/b\\\"c\\\\d\\b\\f\\n\\r\\t\"", "\"a/b\\\"c\\\\d\\b\\f\\n\\r\\t\""},
        {"\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\""},
        {"\"\\u00e9\"", "\"\xc3\xa9\""},                /* \u: jansson path */
        {"1e3", "1000.0"},                              /* exponent: jansson path */
        {"123456789012345678", "123456789012345678"},   /* 18 digits: fast */
        {"1234567890123456789", "1234567890123456789"}, /* 19 digits: jansson path */
        {"{\"a\":{\"a\":1},\"b\":[{\"a\":2}]}", "{\"a\":{\"a\":1},\"b\":[{\"a\":2}]}"},
        {"{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"ka\":"
         "10,"
         "\"kb\":11,\"kc\":12,\"kd\":13,\"ke\":14,\"kf\":15,\"kg\":16}",
         "{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"ka\":"
         "10,"
         "\"kb\":11,\"kc\":12,\"kd\":13,\"ke\":14,\"kf\":15,\"kg\":16}"}, /* 17 keys: jansson path */
        {"{\"a\":1,\"a\":2}", NULL},
        {"{\"a\\/\":1,\"a/\":2}", NULL}, /* the same key spelled two ways */
        {"{\"a\":1,\"\\u0061\":2}", NULL},
        {"[1,]", NULL},
        {"01", NULL},
        {"-", NULL},
        {"1.", NULL},
        {".5", NULL},
        {"\"\x01\"", NULL},
        {"\"\xc3\"", NULL},
        {"\"\xed\xa0\x80\"", NULL}, /* a UTF-16 surrogate in UTF-8 */
        {"\"\\x\"", NULL},
        {"[1] x", NULL},
        {"tru", NULL},
        {"", NULL},
        {"{\"a\" 1}", NULL},
        {"1e400", NULL},
        {"99999999999999999999", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        xw_buf b;
        xw_buf_init(&b, 1 << 20);
        xw_errbuf eb = {{0}};
        pl_event ev = sample_event();
        ev.content_json = cases[i].in;
        int rc = pl_event_encode(&ev, &b, &eb);
        if (!cases[i].out) {
            if (rc != XW_EINVAL)
                fail_msg("case %zu (%s) was accepted", i, cases[i].in);
            assert_non_null(strstr(eb.msg, "content is not valid JSON"));
            assert_int_equal(b.len, 0);
        } else {
            if (rc != XW_OK)
                fail_msg("case %zu (%s) was rejected: %s", i, cases[i].in, eb.msg);
            char want[600];
            snprintf(want, sizeof want, ",\"content\":%s,\"decisions\":", cases[i].out);
            b.data[b.len - 1] = '\0'; /* the closing brace; the buffer holds the event only */
            if (!strstr((const char *)b.data, want))
                fail_msg("case %zu: %s does not contain %s", i, (const char *)b.data, want);
        }
        xw_buf_free(&b);
    }
    /* nested deeper than the fast path goes: jansson decides */
    char deep[200];
    memset(deep, '[', 40);
    memset(deep + 40, ']', 40);
    deep[80] = '\0';
    xw_buf b;
    xw_buf_init(&b, 1 << 20);
    pl_event ev = sample_event();
    ev.content_json = deep;
    assert_int_equal(pl_event_encode(&ev, &b, NULL), XW_OK);
    xw_buf_free(&b);
}

/* --- outbox ------------------------------------------------------------------------------- */

static int collect_row(void *ctx, const pl_outbox_row *row)
{
    struct collect *c = ctx;
    if (c->n == c->stop_at)
        return 1;
    c->seqs[c->n] = row->seq;
    snprintf(c->ids[c->n], sizeof c->ids[0], "%s", row->event_id);
    c->n++;
    return 0;
}

static int count_failed(void *ctx, const pl_outbox_row *row, const char *error)
{
    (void)row;
    assert_string_equal(error, "too large");
    (*(int *)ctx)++;
    return 0;
}

/* The whole file, or an empty buffer when it cannot be read. */
static void slurp(const char *path, xw_buf *b)
{
    xw_buf_reset(b);
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(xw_buf_append(b, chunk, n), XW_OK);
    fclose(f);
}

/* Issue 19: `xw-export --outbox typo.db --counts` created an empty outbox and answered
 * "pending 0". pl_outbox_open_existing refuses a missing file and a file without an outbox
 * (XW_ENOTFOUND, a sentence saying which) and creates or changes nothing. */
static void test_outbox_open_existing(void **state)
{
    (void)state;
    char path[128], other[128], text[128];
    path_in_tmp(path, sizeof path, "existing.db");
    path_in_tmp(other, sizeof other, "not-an-outbox.db");
    path_in_tmp(text, sizeof text, "text.db");
    xw_errbuf eb = {{0}};
    pl_outbox *ob = NULL;
    assert_int_equal(pl_outbox_open_existing(path, &ob, &eb), XW_ENOTFOUND);
    assert_null(ob);
    assert_non_null(strstr(eb.msg, "no outbox at "));
    assert_non_null(strstr(eb.msg, "existing.db: the file does not exist; check the path"));
    assert_int_equal(access(path, F_OK), -1);

    /* another SQLite database: refused, byte for byte unchanged (no table, no WAL mode) */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "CREATE TABLE notes(x); INSERT INTO notes VALUES (1);", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    xw_buf before, after;
    xw_buf_init(&before, 1 << 20);
    xw_buf_init(&after, 1 << 20);
    slurp(other, &before);
    assert_true(before.len > 0);
    assert_int_equal(pl_outbox_open_existing(other, &ob, &eb), XW_ENOTFOUND);
    assert_non_null(strstr(eb.msg, "not-an-outbox.db holds no outbox (no table pl_outbox_batch)"));
    slurp(other, &after);
    assert_true(after.len == before.len && memcmp(after.data, before.data, before.len) == 0);

    /* not a database at all */
    FILE *f = fopen(text, "w");
    assert_non_null(f);
    fputs("pending 0\nthis is not a database, but it is long enough for SQLite to look at its header\n", f);
    fclose(f);
    assert_int_equal(pl_outbox_open_existing(text, &ob, &eb), XW_ECORRUPT);
    assert_non_null(strstr(eb.msg, "opening outbox"));

    /* an outbox opens, and knows its absolute path */
    assert_int_equal(pl_outbox_open(path, &ob, &eb), XW_OK);
    pl_outbox_close(ob);
    assert_int_equal(pl_outbox_open_existing(path, &ob, &eb), XW_OK);
    const char *abs = pl_outbox_path(ob);
    assert_true(abs[0] == '/' && strlen(abs) >= strlen("/existing.db") &&
                strcmp(abs + strlen(abs) - strlen("/existing.db"), "/existing.db") == 0);
    int64_t pending = -1, failed = -1;
    assert_int_equal(pl_outbox_counts(ob, &pending, &failed, &eb), XW_OK);
    assert_true(pending == 0 && failed == 0);
    pl_outbox_close(ob);
    assert_int_equal(pl_outbox_open(":memory:", &ob, &eb), XW_OK);
    assert_string_equal(pl_outbox_path(ob), "");
    pl_outbox_close(ob);
    xw_buf_free(&before);
    xw_buf_free(&after);
}

static void test_outbox(void **state)
{
    (void)state;
    char path[128];
    path_in_tmp(path, sizeof path, "outbox.db");
    xw_errbuf eb = {{0}};
    pl_outbox *ob;
    assert_int_equal(pl_outbox_open("/nonexistent-dir/x.db", &ob, &eb), XW_EIO);
    assert_non_null(strstr(eb.msg, "cannot open outbox database /nonexistent-dir/x.db"));
    assert_int_equal(pl_outbox_open(path, &ob, &eb), XW_OK);
    /* the worker's own connection writes inside its transactions */
    sqlite3 *wdb;
    assert_int_equal(sqlite3_open(path, &wdb), SQLITE_OK);
    sqlite3_busy_timeout(wdb, 5000);
    pl_outbox_writer *w;
    assert_int_equal(pl_outbox_writer_new(wdb, &w, &eb), XW_OK);
    /* rolled back: no event */
    assert_int_equal(sqlite3_exec(wdb, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    pl_event ev = sample_event();
    int64_t seq;
    assert_int_equal(pl_outbox_writer_add(w, &ev, 5, &seq, &eb), XW_OK);
    assert_int_equal(sqlite3_exec(wdb, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_outbox_counts(ob, 0, 0);
    /* an invalid event inserts nothing */
    ev.id = "";
    assert_int_equal(pl_outbox_writer_add(w, &ev, 5, &seq, &eb), XW_EINVAL);
    fill(wdb, w, 0, 10, 3);
    assert_outbox_counts(ob, 10, 0);
    /* read in order, incrementally, and stop when the callback says so */
    struct collect c = {.stop_at = 4};
    size_t visited;
    assert_int_equal(pl_outbox_scan(ob, 0, 100, collect_row, &c, &visited, &eb), XW_OK);
    assert_int_equal(visited, 4);
    assert_string_equal(c.ids[0], "ev-000000");
    assert_string_equal(c.ids[3], "ev-000003");
    c.stop_at = 64;
    assert_int_equal(pl_outbox_scan(ob, c.seqs[3], 3, collect_row, &c, &visited, &eb), XW_OK);
    assert_int_equal(visited, 3);
    assert_string_equal(c.ids[6], "ev-000006");
    for (int i = 1; i < c.n; i++)
        assert_true(c.seqs[i] > c.seqs[i - 1]);
    /* settle: rows 0-2 and 4-5 delivered, 3 failed, 6.. untouched */
    pl_outbox_range done[] = {{c.seqs[0], c.seqs[2]}, {c.seqs[4], c.seqs[5]}};
    pl_outbox_failure bad[] = {{c.seqs[3], "too large"}};
    assert_int_equal(pl_outbox_settle(ob, done, 2, bad, 1, &eb), XW_OK);
    assert_outbox_counts(ob, 4, 1);
    int nfailed = 0;
    assert_int_equal(pl_outbox_scan_failed(ob, count_failed, &nfailed, &eb), XW_OK);
    assert_int_equal(nfailed, 1);
    /* a failed row is not read as pending, and a range delete skips it */
    struct collect c2 = {.stop_at = 64};
    assert_int_equal(pl_outbox_scan(ob, 0, 100, collect_row, &c2, &visited, &eb), XW_OK);
    assert_int_equal(visited, 4);
    assert_string_equal(c2.ids[0], "ev-000006");
    pl_outbox_range all[] = {{0, INT64_MAX}};
    /* requeue: the failed row comes back at the end with a new seq */
    int64_t n;
    assert_int_equal(pl_outbox_requeue_failed(ob, &n, &eb), XW_OK);
    assert_int_equal(n, 1);
    struct collect c3 = {.stop_at = 64};
    assert_int_equal(pl_outbox_scan(ob, 0, 100, collect_row, &c3, &visited, &eb), XW_OK);
    assert_int_equal(visited, 5);
    assert_string_equal(c3.ids[4], "ev-000003");
    assert_true(c3.seqs[4] > c.seqs[9 - 3]);
    assert_int_equal(pl_outbox_settle(ob, all, 1, NULL, 0, &eb), XW_OK);
    assert_outbox_counts(ob, 0, 0);
    /* new rows never reuse old seqs (AUTOINCREMENT) */
    fill(wdb, w, 10, 11, 3);
    struct collect c4 = {.stop_at = 64};
    assert_int_equal(pl_outbox_scan(ob, 0, 100, collect_row, &c4, &visited, &eb), XW_OK);
    assert_true(c4.seqs[0] > c3.seqs[4]);
    pl_outbox_writer_free(w);
    sqlite3_close(wdb);
    pl_outbox_close(ob);
    unlink(path);
}

static void test_outbox_add_many(void **state)
{
    (void)state;
    char path[128];
    path_in_tmp(path, sizeof path, "many.db");
    xw_errbuf eb = {{0}};
    pl_outbox *ob;
    assert_int_equal(pl_outbox_open(path, &ob, &eb), XW_OK);
    sqlite3 *db = pl_outbox_db(ob);
    pl_outbox_writer *w;
    assert_int_equal(pl_outbox_writer_new(db, &w, &eb), XW_OK);
    enum { N = 75 }; /* two full chunks of 32 and a remainder */
    static char ids[N][16], contents[N][32];
    pl_event evs[N];
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "m-%03d", i);
        snprintf(contents[i], sizeof contents[i], "{\"n\":%d}", i);
        evs[i] =
            (pl_event){.id = ids[i], .kind = PL_EVENT_MESSAGE, .group_id = "g", .content_json = contents[i]};
    }
    /* a bad event in the second chunk: nothing of the call is left, inside a transaction */
    evs[40].content_json = "{";
    int64_t seqs[N];
    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(pl_outbox_writer_add(w, &evs[0], 1, NULL, &eb), XW_OK); /* the caller's own row */
    assert_int_equal(pl_outbox_writer_add_many(w, evs, N, 1, seqs, &eb), XW_EINVAL);
    assert_non_null(strstr(eb.msg, "event m-040"));
    int64_t pending = -1;
    assert_int_equal(pl_outbox_counts(ob, &pending, NULL, &eb), XW_OK);
    assert_int_equal(pending, 1); /* the savepoint undid only this call */
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    /* outside a transaction: one row holding all N events, in order */
    evs[40].content_json = contents[40];
    assert_int_equal(pl_outbox_writer_add_many(w, evs, N, 1, seqs, &eb), XW_OK);
    assert_int_equal(pl_outbox_writer_add_many(w, evs, 0, 1, NULL, &eb), XW_OK);
    struct collect c = {.stop_at = 64};
    size_t visited;
    assert_int_equal(pl_outbox_scan(ob, 0, 1, collect_row, &c, &visited, &eb), XW_OK);
    assert_int_equal(visited, 64); /* the callback stopped inside the row */
    for (int i = 0; i < 64; i++) {
        assert_string_equal(c.ids[i], ids[i]);
        assert_true(c.seqs[i] == seqs[i]);
    }
    assert_int_equal(pl_outbox_counts(ob, &pending, NULL, &eb), XW_OK);
    assert_int_equal(pending, N);
    for (int i = 1; i < N; i++)
        assert_true(seqs[i] == seqs[0]);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), max(n) FROM pl_outbox_batch", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    assert_int_equal(sqlite3_column_int(st, 1), N);
    sqlite3_finalize(st);
    /* the events' bytes are those of one event at a time, in the framing */
    xw_buf one;
    xw_buf_init(&one, PL_EVENT_MAX_BYTES);
    assert_int_equal(pl_event_encode(&evs[70], &one, &eb), XW_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT body, codec FROM pl_outbox_batch WHERE seq = ?", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(st, 1, seqs[70]);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    /* stored compressed (JSON events repeat their keys), decoded to the framing */
    assert_int_equal(sqlite3_column_int(st, 1), PL_OUTBOX_CODEC_LZ4);
    xw_buf raw;
    xw_buf_init(&raw, PL_OUTBOX_BATCH_MAX_BYTES);
    const uint8_t *body;
    size_t blen, pos = 0;
    assert_int_equal(pl_outbox_body_decode(sqlite3_column_int(st, 1), sqlite3_column_blob(st, 0),
                                           (size_t)sqlite3_column_bytes(st, 0), &raw, &body, &blen, &eb),
                     XW_OK);
    assert_true((size_t)sqlite3_column_bytes(st, 0) < blen / 2);
    pl_outbox_rec rec;
    for (int i = 0; i <= 70; i++)
        assert_int_equal(pl_outbox_rec_next(body, blen, &pos, &rec, &eb), XW_OK);
    assert_int_equal(rec.payload_len, one.len);
    assert_memory_equal(rec.payload, one.data, one.len);
    assert_int_equal(rec.id_len, strlen(ids[70]));
    assert_memory_equal(rec.id, ids[70], rec.id_len);
    assert_int_equal(pl_outbox_body_check(body, blen, N, &eb), XW_OK);
    assert_int_equal(pl_outbox_body_check(body, blen, N - 1, &eb), XW_ECORRUPT);
    assert_int_equal(pl_outbox_body_check(body, blen - 1, N, &eb), XW_ECORRUPT);
    sqlite3_finalize(st);
    xw_buf_free(&one);
    xw_buf_free(&raw);
    /* bounded rows: more than PL_OUTBOX_BATCH_MAX_EVENTS events split into consecutive rows */
    enum { BIG = PL_OUTBOX_BATCH_MAX_EVENTS + 88 };
    static char bids[BIG][16];
    static pl_event bevs[BIG];
    static int64_t bseqs[BIG];
    for (int i = 0; i < BIG; i++) {
        snprintf(bids[i], sizeof bids[i], "b-%04d", i);
        bevs[i] = (pl_event){.id = bids[i], .kind = PL_EVENT_ACTION, .group_id = "g2", .content_json = "1"};
    }
    assert_int_equal(pl_outbox_writer_add_many(w, bevs, BIG, 1, bseqs, &eb), XW_OK);
    assert_true(bseqs[0] > seqs[0]);
    assert_true(bseqs[PL_OUTBOX_BATCH_MAX_EVENTS - 1] == bseqs[0]);
    assert_true(bseqs[PL_OUTBOX_BATCH_MAX_EVENTS] == bseqs[0] + 1);
    assert_true(bseqs[BIG - 1] == bseqs[0] + 1);
    assert_int_equal(pl_outbox_counts(ob, &pending, NULL, &eb), XW_OK);
    assert_int_equal(pending, N + BIG);
    pl_outbox_writer_free(w);
    pl_outbox_close(ob);
    unlink(path);
}

static int collect_failed(void *ctx, const pl_outbox_row *row, const char *error)
{
    struct collect *c = ctx;
    c->seqs[c->n] = row->seq;
    snprintf(c->ids[c->n], sizeof c->ids[0], "%s|%s", row->event_id, error);
    c->n++;
    return 0;
}

/* A batch with some events delivered and some failed for good is rewritten to keep only the
 * failed ones, with their reasons; requeued, they come back as one row. */
static void test_outbox_partial_batch(void **state)
{
    (void)state;
    char path[128];
    path_in_tmp(path, sizeof path, "partial.db");
    unlink(path);
    xw_errbuf eb = {{0}};
    pl_outbox_writer *w;
    pl_outbox *ob = outbox_with_writer(path, &w);
    static char ids[10][16];
    pl_event evs[10];
    for (int i = 0; i < 10; i++) {
        snprintf(ids[i], sizeof ids[i], "p-%d", i);
        evs[i] = (pl_event){.id = ids[i], .kind = PL_EVENT_MESSAGE, .group_id = "g", .content_json = "{}"};
    }
    int64_t seqs[10];
    assert_int_equal(pl_outbox_writer_add_many(w, evs, 10, 1, seqs, &eb), XW_OK);
    pl_outbox_failure bad[] = {{seqs[0], "reason two", 2}, {seqs[0], "reason seven", 7}};
    assert_int_equal(pl_outbox_settle(ob, NULL, 0, bad, 2, &eb), XW_OK);
    assert_outbox_counts(ob, 0, 2);
    struct collect c = {0};
    assert_int_equal(pl_outbox_scan_failed(ob, collect_failed, &c, &eb), XW_OK);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.ids[0], "p-2|reason two");
    assert_string_equal(c.ids[1], "p-7|reason seven");
    int64_t n;
    assert_int_equal(pl_outbox_requeue_failed(ob, &n, &eb), XW_OK);
    assert_int_equal(n, 2);
    struct collect c2 = {.stop_at = 64};
    size_t visited;
    assert_int_equal(pl_outbox_scan(ob, 0, 10, collect_row, &c2, &visited, &eb), XW_OK);
    assert_int_equal(visited, 2);
    assert_string_equal(c2.ids[0], "p-2");
    assert_string_equal(c2.ids[1], "p-7");
    assert_true(c2.seqs[0] == c2.seqs[1] && c2.seqs[0] > seqs[0]);
    /* a damaged row is refused with an error naming it, not skipped */
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE pl_outbox_batch SET body = substr(body, 1, 20) WHERE seq = %lld",
             (long long)c2.seqs[0]);
    assert_int_equal(sqlite3_exec(pl_outbox_db(ob), sql, NULL, NULL, NULL), SQLITE_OK);
    struct collect c3 = {.stop_at = 64};
    assert_int_equal(pl_outbox_scan(ob, 0, 10, collect_row, &c3, &visited, &eb), XW_ECORRUPT);
    assert_int_equal(c3.n, 0);
    assert_non_null(strstr(eb.msg, "is damaged"));
    snprintf(sql, sizeof sql, "row %lld", (long long)c2.seqs[0]);
    assert_non_null(strstr(eb.msg, sql));
    pl_outbox_writer_free(w);
    pl_outbox_close(ob);
    unlink(path);
}

/* A file written by the first version (one event per row in table pl_outbox) is converted
 * on open: same order, failed rows stay failed with their reasons. */
static void test_outbox_migrate(void **state)
{
    (void)state;
    char path[128];
    path_in_tmp(path, sizeof path, "old.db");
    unlink(path);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TABLE pl_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT "
                     "NULL, kind TEXT NOT NULL, group_id TEXT NOT NULL, payload BLOB NOT NULL,"
                     " created_ns INTEGER NOT NULL, state INTEGER NOT NULL DEFAULT 0, attempts INTEGER "
                     "NOT NULL DEFAULT 0, last_error TEXT);"
                     "INSERT INTO pl_outbox(event_id, kind, group_id, payload, created_ns) VALUES"
                     " ('o-1', 'message', 'g1', '{\"id\":\"o-1\"}', 5),"
                     " ('o-2', 'reaction', 'g2', '{\"id\":\"o-2\"}', 5);"
                     "INSERT INTO pl_outbox(event_id, kind, group_id, payload, created_ns, state, "
                     "last_error) VALUES ('o-3', 'message', 'g1', '{\"id\":\"o-3\"}', 5, 1, 'too big');",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    xw_errbuf eb = {{0}};
    pl_outbox *ob;
    assert_int_equal(pl_outbox_open(path, &ob, &eb), XW_OK);
    assert_outbox_counts(ob, 2, 1);
    struct collect c = {.stop_at = 64};
    size_t visited;
    assert_int_equal(pl_outbox_scan(ob, 0, 10, collect_row, &c, &visited, &eb), XW_OK);
    assert_int_equal(visited, 2);
    assert_string_equal(c.ids[0], "o-1");
    assert_string_equal(c.ids[1], "o-2");
    struct collect f = {0};
    assert_int_equal(pl_outbox_scan_failed(ob, collect_failed, &f, &eb), XW_OK);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.ids[0], "o-3|too big");
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(pl_outbox_db(ob),
                                        "SELECT count(*) FROM sqlite_master WHERE name = 'pl_outbox'", -1,
                                        &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0); /* the old table is gone */
    sqlite3_finalize(st);
    pl_outbox_close(ob);
    /* a damaged old row: refused, nothing converted */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "DROP TABLE pl_outbox_batch; CREATE TABLE pl_outbox (seq INTEGER PRIMARY KEY, "
                     "event_id TEXT, kind TEXT, group_id TEXT, payload BLOB, created_ns INTEGER, "
                     "state INTEGER, attempts INTEGER, last_error TEXT);"
                     "INSERT INTO pl_outbox VALUES (1, 'x', 'nonsense', 'g', 'p', 1, 0, 0, NULL);",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(pl_outbox_open(path, &ob, &eb), XW_ECORRUPT);
    assert_non_null(strstr(eb.msg, "row 1 of the old outbox table pl_outbox is damaged"));
    unlink(path);
}

/* --- compressed bodies ----------------------------------------------------------------------- */

/* Appends a record of the batch framing, built by hand (the documented layout). */
static void frame(xw_buf *b, pl_event_kind kind, const char *id, const char *group, const xw_buf *payload)
{
    size_t il = strlen(id), gl = strlen(group), pl = payload->len;
    uint8_t h[PL_OUTBOX_REC_HEADER] = {(uint8_t)kind,      (uint8_t)il,         (uint8_t)(gl >> 8),
                                       (uint8_t)gl,        (uint8_t)(pl >> 24), (uint8_t)(pl >> 16),
                                       (uint8_t)(pl >> 8), (uint8_t)pl};
    assert_int_equal(xw_buf_append(b, h, sizeof h), XW_OK);
    assert_int_equal(xw_buf_append(b, id, il), XW_OK);
    assert_int_equal(xw_buf_append(b, group, gl), XW_OK);
    assert_int_equal(xw_buf_append(b, payload->data, pl), XW_OK);
}

/* A framing of n events, ids c-0.., as the writer would build it. */
static void framing(xw_buf *b, int n)
{
    xw_buf p;
    xw_buf_init(&p, PL_EVENT_MAX_BYTES);
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "c-%d", i);
        pl_event ev = sample_event();
        ev.id = id;
        xw_buf_reset(&p);
        assert_int_equal(pl_event_encode(&ev, &p, NULL), XW_OK);
        frame(b, ev.kind, id, ev.group_id, &p);
    }
    xw_buf_free(&p);
}

static void test_outbox_codec(void **state)
{
    (void)state;
    xw_errbuf eb = {{0}};
    xw_buf body, lz, raw;
    xw_buf_init(&body, PL_OUTBOX_BATCH_MAX_BYTES);
    xw_buf_init(&lz, 4 + PL_OUTBOX_BATCH_MAX_BYTES + PL_OUTBOX_BATCH_MAX_BYTES / 255 + 16);
    xw_buf_init(&raw, PL_OUTBOX_BATCH_MAX_BYTES);
    framing(&body, 50);
    assert_int_equal(pl_outbox_body_check(body.data, body.len, 50, &eb), XW_OK);
    /* a batch of JSON events compresses several times over, and comes back byte for byte */
    assert_int_equal(pl_outbox_body_compress(body.data, body.len, &lz), PL_OUTBOX_CODEC_LZ4);
    assert_true(lz.len * 4 < body.len);
    const uint8_t *out;
    size_t outlen;
    assert_int_equal(pl_outbox_body_decode(PL_OUTBOX_CODEC_LZ4, lz.data, lz.len, &raw, &out, &outlen, &eb),
                     XW_OK);
    assert_int_equal(outlen, body.len);
    assert_memory_equal(out, body.data, body.len);
    /* plain bodies pass through untouched */
    assert_int_equal(
        pl_outbox_body_decode(PL_OUTBOX_CODEC_NONE, body.data, body.len, &raw, &out, &outlen, &eb), XW_OK);
    assert_ptr_equal(out, body.data);
    assert_int_equal(outlen, body.len);
    /* incompressible bytes and empty input stay plain, with nothing in out */
    uint8_t noise[4096];
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < sizeof noise; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        noise[i] = (uint8_t)x;
    }
    assert_int_equal(pl_outbox_body_compress(noise, sizeof noise, &lz), PL_OUTBOX_CODEC_NONE);
    assert_int_equal(lz.len, 0);
    assert_int_equal(pl_outbox_body_compress(noise, 0, &lz), PL_OUTBOX_CODEC_NONE);
    /* damaged compressed bodies: a specific error each, never a wrong framing */
    assert_int_equal(pl_outbox_body_compress(body.data, body.len, &lz), PL_OUTBOX_CODEC_LZ4);
    uint8_t *bad = xw_malloc(lz.len + 1);
    assert_non_null(bad);
    memcpy(bad, lz.data, lz.len);
    assert_int_equal(pl_outbox_body_decode(PL_OUTBOX_CODEC_LZ4, bad, 4, &raw, &out, &outlen, &eb),
                     XW_ECORRUPT);
    assert_non_null(strstr(eb.msg, "cut short"));
    bad[0] = bad[1] = bad[2] = bad[3] = 0; /* declares 0 bytes */
    assert_int_equal(pl_outbox_body_decode(PL_OUTBOX_CODEC_LZ4, bad, lz.len, &raw, &out, &outlen, &eb),
                     XW_ECORRUPT);
    assert_non_null(strstr(eb.msg, "claims 0 bytes"));
    uint32_t big = PL_OUTBOX_BATCH_MAX_BYTES + 1;
    bad[0] = (uint8_t)(big >> 24), bad[1] = (uint8_t)(big >> 16), bad[2] = (uint8_t)(big >> 8),
    bad[3] = (uint8_t)big;
    assert_int_equal(pl_outbox_body_decode(PL_OUTBOX_CODEC_LZ4, bad, lz.len, &raw, &out, &outlen, &eb),
                     XW_ECORRUPT);
    assert_non_null(strstr(eb.msg, "claims"));
    uint32_t more = (uint32_t)body.len + 1;
    bad[0] = (uint8_t)(more >> 24), bad[1] = (uint8_t)(more >> 16), bad[2] = (uint8_t)(more >> 8),
    bad[3] = (uint8_t)more;
    assert_int_equal(pl_outbox_body_decode(PL_OUTBOX_CODEC_LZ4, bad, lz.len, &raw, &out, &outlen, &eb),
                     XW_ECORRUPT);
    assert_non_null(strstr(eb.msg, "decompresses to"));
    bad[0] = 0, bad[1] = 0, bad[2] = 0, bad[3] = 8;
    assert_int_equal(pl_outbox_body_decode(PL_OUTBOX_CODEC_LZ4, bad, lz.len, &raw, &out, &outlen, &eb),
                     XW_ECORRUPT);
    assert_non_null(strstr(eb.msg, "longer than any compression"));
    memcpy(bad, lz.data, lz.len);
    assert_int_equal(pl_outbox_body_decode(PL_OUTBOX_CODEC_LZ4, bad, lz.len - 5, &raw, &out, &outlen, &eb),
                     XW_ECORRUPT);
    assert_int_equal(raw.len, 0); /* nothing half-decoded is left behind */
    assert_int_equal(pl_outbox_body_decode(7, bad, lz.len, &raw, &out, &outlen, &eb), XW_ECORRUPT);
    assert_non_null(strstr(eb.msg, "codec 7"));
    /* a plain framing labelled LZ4 (a wrong codec column) is refused, not misread */
    assert_int_equal(
        pl_outbox_body_decode(PL_OUTBOX_CODEC_LZ4, body.data, body.len, &raw, &out, &outlen, &eb),
        XW_ECORRUPT);
    xw_free(bad);
    xw_buf_free(&body);
    xw_buf_free(&lz);
    xw_buf_free(&raw);
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Rows on the file: compressed rows damaged in several ways are refused with the row named,
 * nothing visited and nothing changed; a table from before compression gets its codec column
 * and its plain rows read on, in order, before the new compressed ones. */
static void test_outbox_compressed_rows(void **state)
{
    (void)state;
    char path[128], sql[256];
    path_in_tmp(path, sizeof path, "codec.db");
    unlink(path);
    xw_errbuf eb = {{0}};
    /* a file of the version before compression: the batch table without codec, plain rows */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE pl_outbox_batch (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                                  " n INTEGER NOT NULL, first_id TEXT NOT NULL, body BLOB NOT NULL,"
                                  " created_ns INTEGER NOT NULL, state INTEGER NOT NULL DEFAULT 0,"
                                  " attempts INTEGER NOT NULL DEFAULT 0, errors BLOB);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    xw_buf body;
    xw_buf_init(&body, PL_OUTBOX_BATCH_MAX_BYTES);
    framing(&body, 3);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO pl_outbox_batch(n, first_id, body, created_ns)"
                                        " VALUES (3, 'c-0', ?1, 1)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(st, 1, body.data, (int)body.len, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
    pl_outbox *ob;
    assert_int_equal(pl_outbox_open(path, &ob, &eb), XW_OK);
    db = pl_outbox_db(ob);
    assert_int_equal(
        query_int(db, "SELECT count(*) FROM pragma_table_info('pl_outbox_batch') WHERE name = 'codec'"), 1);
    assert_int_equal(query_int(db, "SELECT codec FROM pl_outbox_batch"), PL_OUTBOX_CODEC_NONE);
    pl_outbox_writer *w;
    assert_int_equal(pl_outbox_writer_new(db, &w, &eb), XW_OK); /* a second open: nothing more to do */
    static char ids[40][16];
    pl_event evs[40];
    for (int i = 0; i < 40; i++) {
        snprintf(ids[i], sizeof ids[i], "ev-%d", i);
        evs[i] = sample_event();
        evs[i].id = ids[i];
    }
    assert_int_equal(pl_outbox_writer_add_many(w, evs, 40, 1, NULL, &eb), XW_OK);
    assert_int_equal(query_int(db, "SELECT codec FROM pl_outbox_batch WHERE first_id = 'ev-0'"),
                     PL_OUTBOX_CODEC_LZ4);
    int64_t lzseq = query_int(db, "SELECT seq FROM pl_outbox_batch WHERE first_id = 'ev-0'");
    struct collect c = {.stop_at = 64};
    size_t visited;
    assert_int_equal(pl_outbox_scan(ob, 0, 10, collect_row, &c, &visited, &eb), XW_OK);
    assert_int_equal(visited, 43);
    assert_string_equal(c.ids[0], "c-0");
    assert_string_equal(c.ids[2], "c-2");
    assert_string_equal(c.ids[3], "ev-0");
    assert_string_equal(c.ids[42], "ev-39");
    /* damage the compressed row in turn; each time: refused, row named, nothing visited */
    static const char *damage[] = {
        "UPDATE pl_outbox_batch SET body = X'7FFFFFFF' || substr(body, 5) WHERE seq = %lld",
        "UPDATE pl_outbox_batch SET body = substr(body, 1, length(body) - 7) WHERE seq = %lld",
        "UPDATE pl_outbox_batch SET codec = 9 WHERE seq = %lld",
        "UPDATE pl_outbox_batch SET codec = 4294967297 WHERE seq = %lld", /* 1 in its low 32 bits */
        "UPDATE pl_outbox_batch SET codec = 0 WHERE seq = %lld",
        "UPDATE pl_outbox_batch SET body = X'00000003' || substr(body, 5) WHERE seq = %lld",
    };
    static const char *says[] = {"claims", "LZ4", "codec 9", "holds 4294967297", "batch", "bytes"};
    for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
        assert_int_equal(sqlite3_exec(db, "SAVEPOINT d", NULL, NULL, NULL), SQLITE_OK);
        snprintf(sql, sizeof sql, damage[i], (long long)lzseq);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        struct collect d = {.stop_at = 64};
        assert_int_equal(pl_outbox_scan(ob, 1, 10, collect_row, &d, &visited, &eb), XW_ECORRUPT);
        assert_int_equal(visited, 0);
        snprintf(sql, sizeof sql, "outbox row %lld is damaged", (long long)lzseq);
        assert_non_null(strstr(eb.msg, sql));
        if (!strstr(eb.msg, says[i]))
            fprintf(stderr, "case %zu: %s\n", i, eb.msg);
        assert_non_null(strstr(eb.msg, says[i]));
        int64_t pending = -1;
        assert_int_equal(pl_outbox_counts(ob, &pending, NULL, &eb), XW_OK);
        assert_int_equal(pending, 43); /* nothing dropped */
        assert_int_equal(sqlite3_exec(db, "ROLLBACK TO d; RELEASE d", NULL, NULL, NULL), SQLITE_OK);
    }
    /* undamaged again: a failed event of the compressed row is rewritten plain, requeued */
    pl_outbox_failure bad[] = {{lzseq, "refused", 5}};
    pl_outbox_range done[] = {{1, 1}};
    assert_int_equal(pl_outbox_settle(ob, done, 1, bad, 1, &eb), XW_OK);
    assert_int_equal(query_int(db, "SELECT codec FROM pl_outbox_batch WHERE state <> 0"),
                     PL_OUTBOX_CODEC_NONE);
    struct collect f = {0};
    assert_int_equal(pl_outbox_scan_failed(ob, collect_failed, &f, &eb), XW_OK);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.ids[0], "ev-5|refused");
    pl_outbox_writer_free(w);
    pl_outbox_close(ob);
    xw_buf_free(&body);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_roundtrip),
        cmocka_unit_test(test_event_encode_rejects),
        cmocka_unit_test(test_event_decode_rejects),
        cmocka_unit_test(test_event_embedded_json),
        cmocka_unit_test(test_outbox),
        cmocka_unit_test(test_outbox_add_many),
        cmocka_unit_test(test_outbox_partial_batch),
        cmocka_unit_test(test_outbox_migrate),
        cmocka_unit_test(test_outbox_codec),
        cmocka_unit_test(test_outbox_compressed_rows),
        cmocka_unit_test(test_outbox_open_existing), /* issue 19 */
    };
    return cmocka_run_group_tests_name("pipeline_outbox", tests, pl_test_setup, pl_test_teardown);
}
