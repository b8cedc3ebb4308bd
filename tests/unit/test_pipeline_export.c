/*
 * Tests for the pipeline sinks and exporter: the exporter through the JSON-lines sink, through
 * a scripted sink that injects permanent and retriable failures and a broken producer, and
 * through the Kafka sink into librdkafka's mock cluster (hosted in this process) read back
 * with kcat. Events and the outbox are tested in test_pipeline_outbox.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/parse.h"
#include "pipeline/exporter.h"
#include "pipeline/lease.h"
#include "tests/unit/pipeline_test_helpers.h"

/* --- exporter through JSON lines --------------------------------------------------------------- */

static void test_export_jsonl(void **state)
{
    (void)state;
    char db[128], out[128];
    path_in_tmp(db, sizeof db, "jsonl.db");
    path_in_tmp(out, sizeof out, "events.jsonl");
    unlink(out);
    xw_errbuf eb = {{0}};
    pl_outbox_writer *w;
    pl_outbox *ob = outbox_with_writer(db, &w);
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
    assert_outbox_counts(ob, 0, 0);
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

/* The number in an event id "ev-NNNNNNNNNN" that this file made; anything else is a bug in the
 * test or the exporter, and stops the run (this may be called on the exporter's thread). */
static int ev_num(const char *id)
{
    uint64_t n;
    xw_errbuf eb = {{0}};
    if (strncmp(id, "ev-", 3) != 0 || xw_parse_u64("event number", id + 3, 0, 999999, &n, &eb) != XW_OK) {
        fprintf(stderr, "unexpected event id '%s' %s\n", id, eb.msg);
        abort();
    }
    return (int)n;
}

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
    pl_outbox_writer *w;
    pl_outbox *ob = outbox_with_writer(db, &w);
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
    assert_outbox_counts(ob, 0, 2);
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

/* librdkafka's mock cluster (three brokers, topic "events" with 4 partitions, replication 3),
 * hosted by a producer handle in this process that *mrk receives. */
static rd_kafka_mock_cluster_t *mock_cluster_new(rd_kafka_t **mrk)
{
    char errstr[256];
    rd_kafka_conf_t *mconf = rd_kafka_conf_new();
    rd_kafka_conf_set(mconf, "log_level", "2", errstr, sizeof errstr);
    *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, errstr, sizeof errstr);
    assert_non_null(*mrk);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(*mrk, 3);
    assert_non_null(mc);
    assert_int_equal(rd_kafka_mock_topic_create(mc, "events", 4, 3), 0);
    return mc;
}

static void mock_cluster_free(rd_kafka_mock_cluster_t *mc, rd_kafka_t *mrk)
{
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
}

static void test_export_kafka_mock(void **state)
{
    (void)state;
    xw_log_set_level(XW_LOG_ERROR);
    rd_kafka_t *mrk;
    rd_kafka_mock_cluster_t *mc = mock_cluster_new(&mrk);
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
    pl_outbox_writer *w;
    pl_outbox *ob = outbox_with_writer(db, &w);
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
    /* broker errors on the first produce requests: retried by the idempotent producer. Only
     * errors that mean "not appended": the mock skips the append for any injected error, so
     * an injected REQUEST_TIMED_OUT ("possibly appended") could be implicitly acked by a
     * later batch and lost by the mock (docs/export.md, kafka-mock) */
    rd_kafka_mock_push_request_errors(mc, 0 /* Produce */, 3, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
    pl_exporter *ex;
    assert_int_equal(pl_exporter_new(ob, sink, NULL, &ex, &eb), XW_OK);
    assert_int_equal(pl_exporter_run(ex, 1, &eb), XW_OK);
    pl_exporter_stats st;
    pl_exporter_stats_get(ex, &st);
    assert_int_equal(st.delivered, 2001);
    assert_int_equal(st.failed, 1);
    assert_outbox_counts(ob, 0, 1);

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
    mock_cluster_free(mc, mrk);
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
    assert_outbox_counts(ob, 0, 0);
    pl_exporter_free(ex);
    pl_sink_free(sink);
    pl_outbox_writer_free(w);
    sqlite3_close(wdb);
    pl_outbox_close(ob);
    unlink(db);
    unlink(out);
}

/* Every allocation failure in a constructor or in the decoder is reported as XW_ENOMEM
 * and frees what was taken (docs/style.md #8). */
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
    rd_kafka_t *mrk;
    rd_kafka_mock_cluster_t *mc = mock_cluster_new(&mrk);
    const char *bs = rd_kafka_mock_cluster_bootstraps(mc);
    char db[128];
    path_in_tmp(db, sizeof db, "fatal.db");
    xw_errbuf eb = {{0}};
    pl_outbox_writer *w;
    pl_outbox *ob = outbox_with_writer(db, &w);
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
    assert_outbox_counts(ob, 0, 0);
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
    mock_cluster_free(mc, mrk);
    xw_log_set_level(XW_LOG_INFO);
}
/* --- one exporter per outbox ----------------------------------------------------------------- */

/* The lock file's first line, or "" (a file of the lease's own making, in tmpdir). */
static void read_line(const char *path, char *out, size_t n)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(out, (int)n, f))
            out[0] = '\0';
        fclose(f);
    }
}

/* Issue 19: two exporters on one outbox delivered events twice, and one of them could wait
 * for ever on a row the other had deleted. The second exporter, on another connection and by
 * another path (a symbolic link), is now refused at once with XW_EBUSY naming the holder;
 * once the first is freed, it starts. (Two processes, and a SIGKILLed holder:
 * tests/pipeline/xw_export_cli.sh.) */
static void test_export_lease(void **state)
{
    (void)state;
    char db[128], link[128], out1[128], out2[128], lock[PATH_MAX + 32], real[PATH_MAX];
    path_in_tmp(db, sizeof db, "lease.db");
    path_in_tmp(link, sizeof link, "lease-link.db");
    path_in_tmp(out1, sizeof out1, "lease1.jsonl");
    path_in_tmp(out2, sizeof out2, "lease2.jsonl");
    xw_errbuf eb = {{0}};
    pl_outbox *ob1, *ob2;
    assert_int_equal(pl_outbox_open(db, &ob1, &eb), XW_OK);
    assert_int_equal(symlink(db, link), 0);
    assert_int_equal(pl_outbox_open(link, &ob2, &eb), XW_OK);
    assert_non_null(realpath(db, real));
    snprintf(lock, sizeof lock, "%s-exporter.lock", real);
    pl_sink *s1, *s2;
    assert_int_equal(pl_sink_jsonl_new(out1, 0, &s1, &eb), XW_OK);
    assert_int_equal(pl_sink_jsonl_new(out2, 0, &s2, &eb), XW_OK);
    pl_exporter *ex1, *ex2 = NULL;
    assert_int_equal(pl_exporter_new(ob1, s1, NULL, &ex1, &eb), XW_OK);

    /* the holder line: who, where, since when, which program */
    char host[64], want[160], line[256];
    assert_int_equal(gethostname(host, sizeof host), 0);
    host[sizeof host - 1] = '\0';
    snprintf(want, sizeof want, "pid %ld, host %s, since 20", (long)getpid(), host);
    read_line(lock, line, sizeof line);
    assert_non_null(strstr(line, want));
    assert_non_null(strstr(line, "Z, program test_pipeline_export\n"));

    assert_int_equal(pl_exporter_new(ob2, s2, NULL, &ex2, &eb), XW_EBUSY);
    assert_null(ex2);
    print_message("refused: %s\n", eb.msg);
    assert_non_null(strstr(eb.msg, "another exporter holds this outbox (pid "));
    assert_non_null(strstr(eb.msg, want));
    assert_non_null(strstr(eb.msg, "one exporter per outbox"));
    pl_exporter_free(ex1);
    assert_int_equal(pl_exporter_new(ob2, s2, NULL, &ex2, &eb), XW_OK);
    pl_exporter_free(ex2);

    /* a holder that has not written its line yet, and one whose line has control bytes */
    int fd = open(lock, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    assert_int_equal(ftruncate(fd, 0), 0);
    pl_lease *l = NULL;
    assert_int_equal(pl_lease_acquire(db, &l, &eb), XW_EBUSY);
    assert_null(l);
    assert_non_null(strstr(eb.msg, "(holder not recorded yet: it has just started)"));
    assert_int_equal(pwrite(fd, "pid 1\033[2J, host x\n", 19, 0), 19);
    assert_int_equal(pl_lease_acquire(db, &l, &eb), XW_EBUSY);
    assert_non_null(strstr(eb.msg, "(pid 1?[2J, host x)"));
    close(fd); /* as a holder's death does */
    assert_int_equal(pl_lease_acquire(link, &l, &eb), XW_OK);
    assert_string_equal(pl_lease_path(l), lock);
    pl_lease_release(l);

    /* nothing to share, nothing to lock; a folder where no file can be made */
    assert_int_equal(pl_lease_acquire("", &l, &eb), XW_OK);
    assert_null(l);
    assert_int_equal(pl_lease_acquire(":memory:", &l, &eb), XW_OK);
    assert_null(l);
    assert_int_equal(pl_lease_acquire("/proc/xw-no-such.db", &l, &eb), XW_EIO);
    assert_null(l);
    assert_non_null(strstr(eb.msg, "cannot open the exporter lock file /proc/xw-no-such.db-exporter.lock"));

    pl_sink_free(s1);
    pl_sink_free(s2);
    pl_outbox_close(ob1);
    pl_outbox_close(ob2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_lease),      cmocka_unit_test(test_export_jsonl),
        cmocka_unit_test(test_export_failures),   cmocka_unit_test(test_export_failures_batched),
        cmocka_unit_test(test_export_kafka_mock), cmocka_unit_test(test_export_kafka_fatal_restart),
        cmocka_unit_test(test_alloc_failures),    cmocka_unit_test(test_export_notify_and_stop),
    };
    return cmocka_run_group_tests_name("pipeline_export", tests, pl_test_setup, pl_test_teardown);
}
