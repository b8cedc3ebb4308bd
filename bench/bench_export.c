/*
 * bench_export: events per second into librdkafka's mock cluster (3 brokers, in this
 * process), acknowledged (acks=all, idempotent), with and without the SQLite outbox.
 *
 *   direct      encode each event and produce it straight to the Kafka sink (no outbox);
 *               the baseline
 *   export      the exporter draining a pre-filled outbox: read, produce, delete on ack
 *               ("events per second from the outbox to the cluster, acknowledged")
 *   sequential  encode + insert (transactions of 1000), then export: the whole cost of the
 *               outbox, one after the other
 *   concurrent  a writer thread inserting events in transactions of 1000 (as the worker's
 *               store stage does) while the exporter drains them; timed from the first
 *               insert to the last acknowledgement (the worker's shape)
 *
 * Each figure is the best of 3 rounds, measured in the same run; ratios are against
 * direct. Issue 8's goals: >= 200,000 events/s with the outbox, and the outbox costing
 * under 30% of the direct path (ratio >= 0.70).
 *
 *   bench_export [EVENTS]   (default 300000)
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "pipeline/exporter.h"
#include "pipeline/stage.h"

#define GROUPS 1000

static const char *bootstrap;
static char tmpdir[64];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const xw_errbuf *eb)
{
    fprintf(stderr, "bench_export: %s: %s\n", what, eb ? eb->msg : "");
    exit(1);
}

/* The same event shape as tests/tools/outbox-fill. */
struct gen {
    char id[32], group[40], inbox[72], content[128];
    pl_event ev;
};

static void gen_event(struct gen *g, unsigned long i, int64_t now)
{
    unsigned long grp = i % GROUPS;
    uint64_t h1 = pl_hash64(&grp, sizeof grp), h2 = pl_hash64(&h1, sizeof h1);
    snprintf(g->id, sizeof g->id, "ev-%010lu", i);
    snprintf(g->group, sizeof g->group, "%016llx%016llx", (unsigned long long)h1, (unsigned long long)h2);
    snprintf(g->inbox, sizeof g->inbox, "%016llx%016llx%016llx%016llx", (unsigned long long)h2,
             (unsigned long long)h1, (unsigned long long)(h1 ^ i), (unsigned long long)(h2 + i % 7));
    snprintf(g->content, sizeof g->content, "{\"text\":\"hello from the load test, message %lu\",\"n\":%lu}",
             i, i / GROUPS);
    g->ev = (pl_event){.id = g->id,
                       .kind = PL_EVENT_MESSAGE,
                       .group_id = g->group,
                       .sender_inbox_id = g->inbox,
                       .sent_at_ns = now + (int64_t)i,
                       .observed_at_ns = now + (int64_t)i + 1000,
                       .content_type = "xmtp.org/text:1.0",
                       .content_json = g->content};
}

static pl_sink *kafka_sink(const char *topic)
{
    pl_kafka_config kc = {.brokers = bootstrap, .topic = topic};
    pl_sink *s;
    xw_errbuf eb = {{0}};
    if (pl_sink_kafka_new(&kc, &s, &eb) != XW_OK)
        die("kafka sink", &eb);
    return s;
}

/* --- direct --------------------------------------------------------------------------------- */
static unsigned long acked, nacked;

static void count_report(void *ctx, void *opaque, int err, const char *detail)
{
    (void)ctx;
    (void)opaque;
    (void)detail;
    if (err == XW_OK)
        acked++;
    else
        nacked++;
}

static double run_direct(unsigned long n, const char *topic)
{
    pl_sink *s = kafka_sink(topic);
    pl_sink_set_report(s, count_report, NULL);
    acked = nacked = 0;
    xw_buf enc;
    xw_buf_init(&enc, PL_EVENT_MAX_BYTES);
    xw_errbuf eb = {{0}};
    struct gen g;
    int64_t t = 1764406800000000000;
    double t0 = now_s();
    for (unsigned long i = 0; i < n; i++) {
        gen_event(&g, i, t);
        xw_buf_reset(&enc);
        if (pl_event_encode(&g.ev, &enc, &eb) != XW_OK)
            die("encode", &eb);
        pl_sink_msg m = {g.id, "message", g.group, enc.data, enc.len};
        int rc;
        while ((rc = pl_sink_produce(s, &m, NULL, &eb)) == XW_EFULL)
            pl_sink_poll(s, 1);
        if (rc != XW_OK)
            die("produce", &eb);
        if (i % 1000 == 0)
            pl_sink_poll(s, 0);
    }
    pl_sink_flush(s, -1);
    double dt = now_s() - t0;
    if (acked != n || nacked)
        die("direct: not every event was acknowledged", NULL);
    xw_buf_free(&enc);
    pl_sink_free(s);
    return (double)n / dt;
}

/* --- outbox --------------------------------------------------------------------------------- */
static void fill(const char *path, unsigned long n)
{
    sqlite3 *db;
    xw_errbuf eb = {{0}};
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("open", NULL);
    pl_outbox_busy_wait(db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;", NULL,
                 NULL, NULL);
    pl_outbox_writer *w;
    if (pl_outbox_writer_new(db, &w, &eb) != XW_OK)
        die("writer", &eb);
    struct gen g;
    int64_t t = 1764406800000000000;
    for (unsigned long i = 0; i < n; i++) {
        if (i % 1000 == 0 && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
            die("begin", NULL);
        gen_event(&g, i, t);
        if (pl_outbox_writer_add(w, &g.ev, t, NULL, &eb) != XW_OK)
            die("insert", &eb);
        if ((i % 1000 == 999 || i == n - 1) && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            die("commit", NULL);
    }
    pl_outbox_writer_free(w);
    sqlite3_close(db);
}

struct writer_arg {
    const char *path;
    unsigned long n;
};

static void *writer_main(void *arg)
{
    struct writer_arg *a = arg;
    fill(a->path, a->n);
    return NULL;
}

struct watch_arg {
    pl_exporter *ex;
    unsigned long n;
};

static void *watch_main(void *arg)
{
    struct watch_arg *a = arg;
    for (;;) {
        pl_exporter_stats st;
        pl_exporter_stats_get(a->ex, &st);
        if (st.delivered >= a->n)
            break;
        usleep(1000);
    }
    pl_exporter_stop(a->ex);
    return NULL;
}

/* concurrent = 0: fill (timed into *fill_s), then time the export alone; 1: writer and
 * exporter together. */
static double run_outbox(unsigned long n, const char *topic, int concurrent, int round, double *fill_s)
{
    char path[128];
    snprintf(path, sizeof path, "%s/outbox-%d-%d.db", tmpdir, concurrent, round);
    xw_errbuf eb = {{0}};
    pl_outbox *ob;
    if (!concurrent) {
        double f0 = now_s();
        fill(path, n);
        *fill_s = now_s() - f0;
    }
    if (pl_outbox_open(path, &ob, &eb) != XW_OK)
        die("open outbox", &eb);
    pl_sink *s = kafka_sink(topic);
    pl_exporter *ex;
    pl_exporter_config cfg = {.idle_ms = 1};
    if (pl_exporter_new(ob, s, &cfg, &ex, &eb) != XW_OK)
        die("exporter", &eb);
    pthread_t wt, mt;
    struct writer_arg wa = {path, n};
    struct watch_arg ma = {ex, n};
    double t0 = now_s();
    if (concurrent)
        pthread_create(&wt, NULL, writer_main, &wa);
    pthread_create(&mt, NULL, watch_main, &ma);
    if (pl_exporter_run(ex, 0, &eb) != XW_OK)
        die("export", &eb);
    double dt = now_s() - t0;
    pthread_join(mt, NULL);
    if (concurrent)
        pthread_join(wt, NULL);
    pl_exporter_stats st;
    pl_exporter_stats_get(ex, &st);
    int64_t pending = -1, failed = -1;
    pl_outbox_counts(ob, &pending, &failed, &eb);
    if (st.delivered != n || st.failed || pending || failed)
        die("outbox: not every event was delivered and deleted", NULL);
    pl_exporter_free(ex);
    pl_sink_free(s);
    pl_outbox_close(ob);
    unlink(path);
    return (double)n / dt;
}

static double best(double a, double b) { return a > b ? a : b; }

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 300000;
    if (n == 0)
        return 2;
    xw_log_set_level(XW_LOG_ERROR);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/xw-bench-export-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    rd_kafka_mock_cluster_t *mc = rk ? rd_kafka_mock_cluster_new(rk, 3) : NULL;
    if (!mc)
        die("mock cluster", NULL);
    bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
    double direct = 0, exp = 0, seq = 0, pipe = 0, fill_s = 0;
    for (int r = 0; r < 3; r++) {
        /* a fresh topic per measurement, so that no run pays for another's retained log */
        char t1[32], t2[32], t3[32];
        snprintf(t1, sizeof t1, "direct-%d", r);
        snprintf(t2, sizeof t2, "export-%d", r);
        snprintf(t3, sizeof t3, "pipeline-%d", r);
        rd_kafka_mock_topic_create(mc, t1, 16, 3);
        rd_kafka_mock_topic_create(mc, t2, 16, 3);
        rd_kafka_mock_topic_create(mc, t3, 16, 3);
        direct = best(direct, run_direct(n, t1));
        double e = run_outbox(n, t2, 0, r, &fill_s);
        exp = best(exp, e);
        seq = best(seq, (double)n / (fill_s + (double)n / e));
        pipe = best(pipe, run_outbox(n, t3, 1, r, NULL));
    }
    printf("events: %lu per run, %d groups, best of 3, mock cluster of 3 brokers (acks=all, idempotent)\n", n,
           GROUPS);
    printf("direct: encode + produce, no outbox:       %9.0f events/s   ratio 1.00 (baseline)\n", direct);
    printf("outbox -> kafka (exporter, outbox filled): %9.0f events/s   ratio %.2f\n", exp, exp / direct);
    printf("outbox, write then export (sequential):    %9.0f events/s   ratio %.2f (outbox cost %.0f%%)\n",
           seq, seq / direct, 100.0 * (1 - seq / direct));
    printf("outbox, write and export concurrently:     %9.0f events/s   ratio %.2f (outbox cost %.0f%%)\n",
           pipe, pipe / direct, 100.0 * (1 - pipe / direct));
    double load[1] = {0};
    getloadavg(load, 1);
    printf("goals: >= 200000 events/s from the outbox: %s; outbox cost < 30%% (concurrent): %s  "
           "[load average %.1f on %ld cores]\n",
           exp >= 200000 ? "met" : "NOT met", pipe / direct >= 0.7 ? "met" : "NOT met", load[0],
           sysconf(_SC_NPROCESSORS_ONLN));
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    rmdir(tmpdir);
    return 0;
}
