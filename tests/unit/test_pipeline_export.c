/*
 * Tests for pipeline/event, outbox, sinks and exporter: event encoding and its strict
 * decoder, the outbox on a real SQLite file (transactions, order, settling, failed rows,
 * requeue), the exporter through the JSON-lines sink, through a scripted sink that injects
 * permanent and retriable failures and a broken producer, and through the Kafka sink into
 * librdkafka's mock cluster (hosted in this process) read back with kcat.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "pipeline/exporter.h"

static char tmpdir[64];

static void path_in_tmp(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", tmpdir, name); }

static pl_event sample_event(void)
{
    pl_event ev = {
        .id = "ev-1",
        .kind = PL_EVENT_MESSAGE,
        .group_id = "0123abcd",
        .sender_inbox_id = "inbox-a",
        .sender_installation_id = "inst-1",
        .sent_at_ns = INT64_C(1764406800123456789),
        .observed_at_ns = INT64_C(1764406800200000000),
        .content_type = "xmtp.org/text:1.0",
        .content_json = "{ \"text\" : \"hi \\u00e9\" }",
        .decisions_json = "[{\"rule\":\"flood\",\"action\":\"none\"}]",
    };
    return ev;
}

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

static void fill(sqlite3 *db, pl_outbox_writer *w, int from, int to, int ngroups)
{
    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    for (int i = from; i < to; i++) {
        char id[32], group[16], content[64];
        snprintf(id, sizeof id, "ev-%06d", i);
        snprintf(group, sizeof group, "g%d", i % ngroups);
        snprintf(content, sizeof content, "{\"n\":%d}", i);
        pl_event ev = {.id = id,
                       .kind = PL_EVENT_MESSAGE,
                       .group_id = group,
                       .sender_inbox_id = "s",
                       .content_json = content};
        xw_errbuf eb = {{0}};
        assert_int_equal(pl_outbox_writer_add(w, &ev, 1, NULL, &eb), XW_OK);
    }
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
}

struct collect {
    int n;
    int64_t seqs[64];
    char ids[64][32];
    int stop_at;
};

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
    int64_t pending = -1, failed = -1;
    assert_int_equal(pl_outbox_counts(ob, &pending, &failed, &eb), XW_OK);
    assert_true(pending == 0 && failed == 0);
    /* an invalid event inserts nothing */
    ev.id = "";
    assert_int_equal(pl_outbox_writer_add(w, &ev, 5, &seq, &eb), XW_EINVAL);
    fill(wdb, w, 0, 10, 3);
    assert_int_equal(pl_outbox_counts(ob, &pending, &failed, &eb), XW_OK);
    assert_true(pending == 10 && failed == 0);
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
    assert_int_equal(pl_outbox_counts(ob, &pending, &failed, &eb), XW_OK);
    assert_true(pending == 4 && failed == 1);
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
    assert_int_equal(pl_outbox_counts(ob, &pending, &failed, &eb), XW_OK);
    assert_true(pending == 0 && failed == 0);
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
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT body FROM pl_outbox_batch WHERE seq = ?", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, seqs[70]);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const uint8_t *body = sqlite3_column_blob(st, 0);
    size_t blen = (size_t)sqlite3_column_bytes(st, 0), pos = 0;
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
    pl_outbox *ob;
    assert_int_equal(pl_outbox_open(path, &ob, &eb), XW_OK);
    pl_outbox_writer *w;
    assert_int_equal(pl_outbox_writer_new(pl_outbox_db(ob), &w, &eb), XW_OK);
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
    int64_t pending = -1, failed = -1;
    assert_int_equal(pl_outbox_counts(ob, &pending, &failed, &eb), XW_OK);
    assert_true(pending == 0 && failed == 2);
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
    int64_t pending = -1, failed = -1;
    assert_int_equal(pl_outbox_counts(ob, &pending, &failed, &eb), XW_OK);
    assert_true(pending == 2 && failed == 1);
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

/* --- exporter through JSON lines --------------------------------------------------------------- */

static void test_export_jsonl(void **state)
{
    (void)state;
    char db[128], out[128];
    path_in_tmp(db, sizeof db, "jsonl.db");
    path_in_tmp(out, sizeof out, "events.jsonl");
    unlink(out);
    xw_errbuf eb = {{0}};
    pl_outbox *ob;
    assert_int_equal(pl_outbox_open(db, &ob, &eb), XW_OK);
    pl_outbox_writer *w;
    assert_int_equal(pl_outbox_writer_new(pl_outbox_db(ob), &w, &eb), XW_OK);
    fill(pl_outbox_db(ob), w, 0, 3000, 7);
    pl_sink *sink;
    assert_int_equal(pl_sink_jsonl_new("/nonexistent-dir/x", 0, &sink, &eb), XW_EIO);
    assert_non_null(strstr(eb.msg, "cannot open /nonexistent-dir/x"));
    assert_int_equal(pl_sink_jsonl_new(out, 1, &sink, &eb), XW_OK);
    assert_string_equal(pl_sink_name(sink), "jsonl");
    pl_exporter *ex;
    pl_exporter_config cfg = {.max_in_flight = 100, .batch = 64};
    assert_int_equal(pl_exporter_new(ob, sink, &cfg, &ex, &eb), XW_OK);
    assert_int_equal(pl_exporter_run(ex, 1, &eb), XW_OK);
    pl_exporter_stats st;
    pl_exporter_stats_get(ex, &st);
    assert_int_equal(st.produced, 3000);
    assert_int_equal(st.delivered, 3000);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.in_flight, 0);
    pl_exporter_free(ex);
    pl_sink_free(sink);
    int64_t pending, failed;
    assert_int_equal(pl_outbox_counts(ob, &pending, &failed, &eb), XW_OK);
    assert_true(pending == 0 && failed == 0);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        pl_event ev;
        assert_int_equal(pl_event_decode(line, strlen(line) - 1, &ev, &eb), XW_OK);
        char want[32];
        snprintf(want, sizeof want, "ev-%06d", n);
        assert_string_equal(ev.id, want);
        pl_event_clear(&ev);
        n++;
    }
    fclose(f);
    assert_int_equal(n, 3000);
    pl_outbox_writer_free(w);
    pl_outbox_close(ob);
    unlink(db);
    unlink(out);
}

/* --- exporter through a scripted sink: failures of every class --------------------------------- */

#define SCRIPT_MAX 20000

typedef struct {
    pl_sink base;
    void *opaque[SCRIPT_MAX];
    char ids[SCRIPT_MAX][16];
    int results[SCRIPT_MAX];
    size_t nq; /* queued, not reported */
    char delivered[SCRIPT_MAX][16];
    size_t ndelivered;
    int attempts[1000]; /* per event number */
    int broken, restarts, refusals, failing;
} script_sink;

static int ev_num(const char *id) { return atoi(id + 3); }

static int script_produce(pl_sink *s, const pl_sink_msg *m, void *opaque, xw_errbuf *eb)
{
    script_sink *k = (script_sink *)s;
    int n = ev_num(m->event_id);
    if (k->nq == 50)
        return XW_EFULL;              /* a small local queue: the exporter must poll */
    if (n == 77 && k->refusals++ < 2) /* refused for now, twice */
        return xw_errf(eb, XW_EKAFKA, "broker unreachable (scripted)");
    if (n == 13)
        return xw_errf(eb, XW_EDELIVERY, "event %s is too large (scripted)", m->event_id);
    int a = k->attempts[n]++;
    int res = XW_OK;
    /* the first delivery of 500 fails retriably, and, as the sink contract says (a Kafka
     * partition does not deliver past a gap), so does everything produced after it until
     * the exporter comes back for 500 */
    if (n == 500)
        k->failing = a == 0;
    if (k->failing)
        res = XW_EKAFKA;
    if (n == 901)
        res = XW_EDELIVERY; /* never accepted */
    if (n == 700 && a == 0)
        k->broken = 1; /* the producer dies: this and everything after it is lost */
    k->opaque[k->nq] = opaque;
    snprintf(k->ids[k->nq], 16, "%s", m->event_id);
    k->results[k->nq] = k->broken ? -1 : res;
    k->nq++;
    return XW_OK;
}

static void script_poll(pl_sink *s, int timeout_ms)
{
    (void)timeout_ms;
    script_sink *k = (script_sink *)s;
    size_t keep = 0;
    for (size_t i = 0; i < k->nq; i++) {
        if (k->results[i] == -1) { /* held by the broken producer: never reported */
            k->opaque[keep] = k->opaque[i];
            k->results[keep] = -1;
            memcpy(k->ids[keep], k->ids[i], 16);
            keep++;
            continue;
        }
        if (k->results[i] == XW_OK)
            memcpy(k->delivered[k->ndelivered++], k->ids[i], 16);
        s->report(s->report_ctx, k->opaque[i], k->results[i],
                  k->results[i] == XW_OK       ? NULL
                  : k->results[i] == XW_EKAFKA ? "timed out"
                                               : "too large");
    }
    k->nq = keep;
}

static size_t script_in_flight(pl_sink *s) { return ((script_sink *)s)->nq; }

static int script_broken(pl_sink *s, xw_errbuf *eb)
{
    script_sink *k = (script_sink *)s;
    if (k->broken)
        xw_errf(eb, XW_EKAFKA, "scripted producer is broken");
    return k->broken;
}

static int script_restart(pl_sink *s, xw_errbuf *eb)
{
    (void)eb;
    script_sink *k = (script_sink *)s;
    k->nq = 0;
    k->broken = 0;
    k->restarts++;
    return XW_OK;
}

static void script_destroy(pl_sink *s) { (void)s; }

static const pl_sink_ops script_ops = {"script",      script_produce, script_poll,   script_in_flight,
                                       script_broken, script_restart, script_destroy};

/* Like fill(), in rows of per_row events (pl_outbox_writer_add_many). */
static void fill_rows(sqlite3 *db, pl_outbox_writer *w, int from, int to, int ngroups, int per_row)
{
    static char ids[64][32], groups[64][16], contents[64][64];
    pl_event evs[64];
    assert_true(per_row >= 1 && per_row <= 64);
    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    for (int i = from; i < to;) {
        int k = 0;
        for (; k < per_row && i < to; k++, i++) {
            snprintf(ids[k], sizeof ids[k], "ev-%06d", i);
            snprintf(groups[k], sizeof groups[k], "g%d", i % ngroups);
            snprintf(contents[k], sizeof contents[k], "{\"n\":%d}", i);
            evs[k] = (pl_event){.id = ids[k],
                                .kind = PL_EVENT_MESSAGE,
                                .group_id = groups[k],
                                .sender_inbox_id = "s",
                                .content_json = contents[k]};
        }
        xw_errbuf eb = {{0}};
        assert_int_equal(pl_outbox_writer_add_many(w, evs, (size_t)k, 1, NULL, &eb), XW_OK);
    }
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
}

static int list_failed_ids(void *ctx, const pl_outbox_row *row, const char *error)
{
    struct collect *c = ctx;
    assert_true(error[0] != '\0');
    snprintf(c->ids[c->n++], sizeof c->ids[0], "%s", row->event_id);
    return 0;
}

/* The scripted failures, with the outbox written one event a row or per_row events a row
 * (then a row mixes delivered, retried and failed events). */
static void export_failures(int per_row)
{
    xw_log_set_level(XW_LOG_OFF);
    char db[128];
    path_in_tmp(db, sizeof db, "script.db");
    xw_errbuf eb = {{0}};
    pl_outbox *ob;
    assert_int_equal(pl_outbox_open(db, &ob, &eb), XW_OK);
    pl_outbox_writer *w;
    assert_int_equal(pl_outbox_writer_new(pl_outbox_db(ob), &w, &eb), XW_OK);
    if (per_row == 1)
        fill(pl_outbox_db(ob), w, 0, 1000, 5);
    else
        fill_rows(pl_outbox_db(ob), w, 0, 1000, 5, per_row);
    static script_sink sk;
    memset(&sk, 0, sizeof sk);
    sk.base.ops = &script_ops;
    pl_exporter *ex;
    pl_exporter_config cfg = {.max_in_flight = 200, .batch = 40, .backoff_ms = 1, .backoff_max_ms = 2};
    assert_int_equal(pl_exporter_new(ob, &sk.base, &cfg, &ex, &eb), XW_OK);
    assert_int_equal(pl_exporter_run(ex, 1, &eb), XW_OK);
    pl_exporter_stats st;
    pl_exporter_stats_get(ex, &st);
    assert_int_equal(st.failed, 2);   /* 13 refused, 901 reported permanent */
    assert_int_equal(st.restarts, 1); /* the broken producer */
    assert_true(st.retries >= 3);     /* 77 twice, 500, the broken producer */
    assert_int_equal(st.delivered, 998);
    assert_int_equal(sk.restarts, 1);
    /* every event but 13 and 901 delivered; first occurrences in order for each group */
    static int seen[1000];
    memset(seen, 0, sizeof seen);
    int last[5] = {-1, -1, -1, -1, -1};
    for (size_t i = 0; i < sk.ndelivered; i++) {
        int n = ev_num(sk.delivered[i]);
        if (seen[n]++)
            continue;
        assert_true(n > last[n % 5]);
        last[n % 5] = n;
    }
    for (int n = 0; n < 1000; n++)
        assert_int_equal(seen[n] > 0, n != 13 && n != 901);
    /* the two failures are kept in the outbox, with their reasons */
    int64_t pending, failed;
    assert_int_equal(pl_outbox_counts(ob, &pending, &failed, &eb), XW_OK);
    assert_true(pending == 0 && failed == 2);
    struct collect fl = {0};
    assert_int_equal(pl_outbox_scan_failed(ob, list_failed_ids, &fl, &eb), XW_OK);
    assert_int_equal(fl.n, 2);
    assert_string_equal(fl.ids[0], "ev-000013");
    assert_string_equal(fl.ids[1], "ev-000901");
    pl_exporter_free(ex);
    pl_outbox_writer_free(w);
    pl_outbox_close(ob);
    unlink(db);
    xw_log_set_level(XW_LOG_INFO);
}

static void test_export_failures(void **state)
{
    (void)state;
    export_failures(1);
}

static void test_export_failures_batched(void **state)
{
    (void)state;
    export_failures(7);
}

/* --- Kafka sink into the mock cluster, checked with kcat ----------------------------------------- */

static void test_export_kafka_mock(void **state)
{
    (void)state;
    xw_log_set_level(XW_LOG_ERROR);
    char errstr[256];
    rd_kafka_conf_t *mconf = rd_kafka_conf_new();
    rd_kafka_conf_set(mconf, "log_level", "2", errstr, sizeof errstr);
    rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, errstr, sizeof errstr);
    assert_non_null(mrk);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 3);
    assert_non_null(mc);
    assert_int_equal(rd_kafka_mock_topic_create(mc, "events", 4, 3), 0);
    assert_int_equal(rd_kafka_mock_topic_create(mc, "members", 2, 3), 0);
    const char *bs = rd_kafka_mock_cluster_bootstraps(mc);

    /* configuration errors are specific */
    xw_errbuf eb = {{0}};
    pl_sink *sink;
    pl_kafka_config bad = {.brokers = bs};
    assert_int_equal(pl_sink_kafka_new(&bad, &sink, &eb), XW_ECONFIG);
    assert_non_null(strstr(eb.msg, "default topic"));
    pl_kafka_config badtopic = {.brokers = bs, .topic = "events"};
    badtopic.topics[PL_EVENT_REACTION] = "re actions";
    assert_int_equal(pl_sink_kafka_new(&badtopic, &sink, &eb), XW_ECONFIG);
    assert_non_null(strstr(eb.msg, "\"re actions\" for reaction is not a valid topic name"));
    pl_kafka_config weak = {.brokers = bs, .topic = "events", .props = {{"acks", "1"}}, .nprops = 1};
    assert_int_equal(pl_sink_kafka_new(&weak, &sink, &eb), XW_ECONFIG);
    assert_non_null(strstr(eb.msg, "acks is set by the exporter"));
    pl_kafka_config typo = {.brokers = bs, .topic = "events", .props = {{"linger.mss", "1"}}, .nprops = 1};
    assert_int_equal(pl_sink_kafka_new(&typo, &sink, &eb), XW_ECONFIG);
    assert_non_null(strstr(eb.msg, "linger.mss"));

    char db[128];
    path_in_tmp(db, sizeof db, "kafka.db");
    pl_outbox *ob;
    assert_int_equal(pl_outbox_open(db, &ob, &eb), XW_OK);
    pl_outbox_writer *w;
    assert_int_equal(pl_outbox_writer_new(pl_outbox_db(ob), &w, &eb), XW_OK);
    fill(pl_outbox_db(ob), w, 0, 2000, 10);
    /* a member event, routed to its own topic, and one too large for the broker limit */
    char big[3000];
    memset(big, 'x', sizeof big);
    big[0] = '"';
    big[sizeof big - 2] = '"';
    big[sizeof big - 1] = '\0';
    pl_event member = {
        .id = "member-1", .kind = PL_EVENT_MEMBER_ADDED, .group_id = "g1", .sender_inbox_id = "s"};
    pl_event huge = {.id = "huge-1", .kind = PL_EVENT_MESSAGE, .group_id = "g2", .content_json = big};
    assert_int_equal(pl_outbox_writer_add(w, &member, 1, NULL, &eb), XW_OK);
    assert_int_equal(pl_outbox_writer_add(w, &huge, 1, NULL, &eb), XW_OK);

    pl_kafka_config kc = {
        .brokers = bs, .topic = "events", .props = {{"message.max.bytes", "2500"}}, .nprops = 1};
    kc.topics[PL_EVENT_MEMBER_ADDED] = "members";
    assert_int_equal(pl_sink_kafka_new(&kc, &sink, &eb), XW_OK);
    /* broker errors on the first produce requests: retried by the idempotent producer */
    rd_kafka_mock_push_request_errors(mc, 0 /* Produce */, 3, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
    pl_exporter *ex;
    assert_int_equal(pl_exporter_new(ob, sink, NULL, &ex, &eb), XW_OK);
    assert_int_equal(pl_exporter_run(ex, 1, &eb), XW_OK);
    pl_exporter_stats st;
    pl_exporter_stats_get(ex, &st);
    assert_int_equal(st.delivered, 2001);
    assert_int_equal(st.failed, 1);
    int64_t pending, failed;
    assert_int_equal(pl_outbox_counts(ob, &pending, &failed, &eb), XW_OK);
    assert_true(pending == 0 && failed == 1);

    /* read back with kcat, an independent client */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "kcat -C -b '%s' -t events -o beginning -e -q -f '%%k\\t%%h\\t%%s\\n' 2>/dev/null | sort -t'\t' "
             "-k1,1 -s",
             bs);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char line[8192];
    int got = 0, last[10];
    for (int i = 0; i < 10; i++)
        last[i] = -1;
    while (fgets(line, sizeof line, p)) {
        char *hdr = strchr(line, '\t');
        assert_non_null(hdr);
        char *payload = strchr(hdr + 1, '\t');
        assert_non_null(payload);
        *hdr++ = '\0';
        *payload++ = '\0';
        pl_event ev;
        assert_int_equal(pl_event_decode(payload, strlen(payload) - 1, &ev, &eb), XW_OK);
        assert_string_equal(line, ev.group_id); /* key = group id */
        char want[96];
        snprintf(want, sizeof want, "event_id=%s,event_type=message", ev.id);
        assert_string_equal(hdr, want);
        int n = ev_num(ev.id);
        assert_true(n > last[n % 10]); /* per group order (sort -s keeps partition order) */
        last[n % 10] = n;
        pl_event_clear(&ev);
        got++;
    }
    pclose(p);
    assert_int_equal(got, 2000);
    snprintf(cmd, sizeof cmd, "kcat -C -b '%s' -t members -o beginning -e -q -f '%%k %%h\\n' 2>/dev/null",
             bs);
    p = popen(cmd, "r");
    assert_non_null(fgets(line, sizeof line, p));
    assert_string_equal(line, "g1 event_id=member-1,event_type=member_added\n");
    assert_null(fgets(line, sizeof line, p));
    pclose(p);

    pl_exporter_free(ex);
    pl_sink_free(sink);
    pl_outbox_writer_free(w);
    pl_outbox_close(ob);
    unlink(db);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
    xw_log_set_level(XW_LOG_INFO);
}

/* A running exporter with a very long idle wait picks up new rows at once when notified,
 * and a stop from another thread ends its run. */
struct run_arg {
    pl_exporter *ex;
    int rc;
};

static void *run_main(void *arg)
{
    struct run_arg *a = arg;
    a->rc = pl_exporter_run(a->ex, 0, NULL);
    return NULL;
}

static int wait_delivered(pl_exporter *ex, uint64_t n)
{
    for (int i = 0; i < 5000; i++) { /* 5 s, far below the 10 min idle wait */
        pl_exporter_stats st;
        pl_exporter_stats_get(ex, &st);
        if (st.delivered >= n)
            return 1;
        usleep(1000);
    }
    return 0;
}

static void test_export_notify_and_stop(void **state)
{
    (void)state;
    char db[128], out[128];
    path_in_tmp(db, sizeof db, "notify.db");
    path_in_tmp(out, sizeof out, "notify.jsonl");
    xw_errbuf eb = {{0}};
    pl_outbox *ob;
    assert_int_equal(pl_outbox_open(db, &ob, &eb), XW_OK);
    sqlite3 *wdb;
    assert_int_equal(sqlite3_open(db, &wdb), SQLITE_OK);
    pl_outbox_busy_wait(wdb);
    pl_outbox_writer *w;
    assert_int_equal(pl_outbox_writer_new(wdb, &w, &eb), XW_OK);
    pl_sink *sink;
    assert_int_equal(pl_sink_jsonl_new(out, 0, &sink, &eb), XW_OK);
    pl_exporter *ex;
    pl_exporter_config cfg = {.idle_ms = 600000};
    assert_int_equal(pl_exporter_new(ob, sink, &cfg, &ex, &eb), XW_OK);
    struct run_arg ra = {ex, -1};
    pthread_t t;
    pthread_create(&t, NULL, run_main, &ra);
    usleep(50000); /* let it find the outbox empty and go idle */
    fill(wdb, w, 0, 10, 2);
    pl_exporter_notify(ex);
    assert_true(wait_delivered(ex, 10));
    fill(wdb, w, 10, 30, 2);
    pl_exporter_notify(ex);
    assert_true(wait_delivered(ex, 30));
    pl_exporter_stop(ex);
    pthread_join(t, NULL);
    assert_int_equal(ra.rc, XW_OK);
    int64_t pending, failed;
    assert_int_equal(pl_outbox_counts(ob, &pending, &failed, &eb), XW_OK);
    assert_true(pending == 0 && failed == 0);
    pl_exporter_free(ex);
    pl_sink_free(sink);
    pl_outbox_writer_free(w);
    sqlite3_close(wdb);
    pl_outbox_close(ob);
    unlink(db);
    unlink(out);
}

/* Every allocation failure in a constructor or in the decoder is reported as XW_ENOMEM
 * and frees what was taken (STYLE.md #8). */
static void test_alloc_failures(void **state)
{
    (void)state;
    char db[128], out[128];
    path_in_tmp(db, sizeof db, "oom.db");
    path_in_tmp(out, sizeof out, "oom.jsonl");
    xw_errbuf eb = {{0}};
    pl_outbox *ob;
    assert_int_equal(pl_outbox_open(db, &ob, &eb), XW_OK);
    xw_buf enc;
    xw_buf_init(&enc, 1 << 20);
    pl_event ev = sample_event();
    assert_int_equal(pl_event_encode(&ev, &enc, &eb), XW_OK);
    int64_t base = xw_alloc_live();
    int done_mask = 0;
    for (uint64_t nth = 1; nth < 40 && done_mask != 15; nth++) {
        pl_sink *sink = NULL;
        pl_exporter *ex = NULL;
        pl_outbox_writer *w = NULL;
        pl_event d;
        int rc;
        xw_alloc_fail_at(nth, 0);
        rc = pl_sink_jsonl_new(out, 0, &sink, &eb);
        xw_alloc_fail_at(0, 0);
        if (rc == XW_OK)
            done_mask |= 1;
        else
            assert_int_equal(rc, XW_ENOMEM);
        if (sink) {
            xw_alloc_fail_at(nth, 0);
            rc = pl_exporter_new(ob, sink, NULL, &ex, &eb);
            xw_alloc_fail_at(0, 0);
            if (rc == XW_OK)
                done_mask |= 2;
            else
                assert_int_equal(rc, XW_ENOMEM);
            pl_exporter_free(ex);
            pl_sink_free(sink);
        }
        xw_alloc_fail_at(nth, 0);
        rc = pl_outbox_writer_new(pl_outbox_db(ob), &w, &eb);
        xw_alloc_fail_at(0, 0);
        if (rc == XW_OK)
            done_mask |= 4;
        else
            assert_int_equal(rc, XW_ENOMEM);
        pl_outbox_writer_free(w);
        xw_alloc_fail_at(nth, 0);
        rc = pl_event_decode((const char *)enc.data, enc.len, &d, &eb);
        xw_alloc_fail_at(0, 0);
        if (rc == XW_OK)
            done_mask |= 8;
        else
            assert_int_equal(rc, XW_ENOMEM);
        pl_event_clear(&d);
        assert_int_equal(xw_alloc_live(), base);
    }
    assert_int_equal(done_mask, 15); /* each one eventually succeeded */
    xw_buf_free(&enc);
    pl_outbox_close(ob);
    unlink(db);
    unlink(out);
}

/* A fatal producer error in the middle of an export: the sink is restarted and the
 * export completes, in order, with no event lost. */
struct fatal_arg {
    pl_exporter *ex;
    pl_sink *sink;
    int fired;
};

static void *fatal_main(void *arg)
{
    struct fatal_arg *a = arg;
    for (;;) {
        pl_exporter_stats st;
        pl_exporter_stats_get(a->ex, &st);
        if (st.produced >= 3000) {
            a->fired = pl_sink_kafka_test_fatal(a->sink, "test: idempotence state lost") == XW_OK;
            return NULL;
        }
        usleep(200);
    }
}

static void test_export_kafka_fatal_restart(void **state)
{
    (void)state;
    xw_log_set_level(XW_LOG_OFF);
    char errstr[256];
    rd_kafka_conf_t *mconf = rd_kafka_conf_new();
    rd_kafka_conf_set(mconf, "log_level", "2", errstr, sizeof errstr);
    rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, errstr, sizeof errstr);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 3);
    assert_non_null(mc);
    assert_int_equal(rd_kafka_mock_topic_create(mc, "events", 4, 3), 0);
    const char *bs = rd_kafka_mock_cluster_bootstraps(mc);
    char db[128];
    path_in_tmp(db, sizeof db, "fatal.db");
    xw_errbuf eb = {{0}};
    pl_outbox *ob;
    assert_int_equal(pl_outbox_open(db, &ob, &eb), XW_OK);
    pl_outbox_writer *w;
    assert_int_equal(pl_outbox_writer_new(pl_outbox_db(ob), &w, &eb), XW_OK);
    for (int i = 0; i < 20; i++)
        fill(pl_outbox_db(ob), w, i * 1000, (i + 1) * 1000, 10);
    pl_kafka_config kc = {.brokers = bs, .topic = "events"};
    pl_sink *sink;
    assert_int_equal(pl_sink_kafka_new(&kc, &sink, &eb), XW_OK);
    pl_exporter *ex;
    pl_exporter_config cfg = {.max_in_flight = 2000, .batch = 500, .backoff_ms = 10};
    assert_int_equal(pl_exporter_new(ob, sink, &cfg, &ex, &eb), XW_OK);
    struct fatal_arg fa = {ex, sink, 0};
    pthread_t t;
    pthread_create(&t, NULL, fatal_main, &fa);
    assert_int_equal(pl_exporter_run(ex, 1, &eb), XW_OK);
    pthread_join(t, NULL);
    assert_true(fa.fired);
    pl_exporter_stats st;
    pl_exporter_stats_get(ex, &st);
    assert_int_equal(st.restarts, 1);
    assert_true(st.retries >= 1);
    assert_int_equal(st.delivered, 20000);
    assert_int_equal(st.failed, 0);
    int64_t pending, failed;
    assert_int_equal(pl_outbox_counts(ob, &pending, &failed, &eb), XW_OK);
    assert_true(pending == 0 && failed == 0);
    /* kcat: all 20000 there, first occurrences in order per group, repeats exact */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "kcat -C -b '%s' -t events -o beginning -e -q -f '%%k\\t%%s\\n' 2>/dev/null",
             bs);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char line[4096];
    static unsigned char seen[20000];
    memset(seen, 0, sizeof seen);
    int last[10], distinct = 0, repeats = 0;
    for (int i = 0; i < 10; i++)
        last[i] = -1;
    while (fgets(line, sizeof line, p)) {
        char *payload = strchr(line, '\t');
        assert_non_null(payload);
        pl_event ev;
        assert_int_equal(pl_event_decode(payload + 1, strlen(payload + 1) - 1, &ev, &eb), XW_OK);
        int n = ev_num(ev.id);
        if (seen[n]++) {
            repeats++;
        } else {
            assert_true(n > last[n % 10]);
            last[n % 10] = n;
            distinct++;
        }
        pl_event_clear(&ev);
    }
    pclose(p);
    assert_int_equal(distinct, 20000);
    print_message("fatal producer error after 3000 produced: restarted once, %d repeats\n", repeats);
    pl_exporter_free(ex);
    pl_sink_free(sink);
    pl_outbox_writer_free(w);
    pl_outbox_close(ob);
    unlink(db);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
    xw_log_set_level(XW_LOG_INFO);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/xw-pl-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
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
        cmocka_unit_test(test_export_jsonl),
        cmocka_unit_test(test_export_failures),
        cmocka_unit_test(test_export_failures_batched),
        cmocka_unit_test(test_export_kafka_mock),
        cmocka_unit_test(test_export_kafka_fatal_restart),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_export_notify_and_stop),
    };
    return cmocka_run_group_tests_name("pipeline_export", tests, setup, teardown);
}
