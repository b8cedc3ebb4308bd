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
 *               store stage does, calling pl_exporter_notify after each commit) while the
 *               exporter drains them; timed from the first insert to the last
 *               acknowledgement (the worker's shape)
 *
 * The measurements are interleaved: each round runs every path once, so a change in the
 * machine's load hits them alike; each round's ratios are against that round's direct
 * figure, and the summary gives medians. Issue 8's goals: >= 200,000 events/s with the
 * outbox, and the outbox costing under 30% of the direct path (ratio >= 0.70); the
 * concurrent figure is the one the worker sees.
 *
 * XW_BENCH_ONLY=direct or =concurrent runs that path alone, each round, and prints where its
 * CPU went (the producing thread; the writer and exporter threads, and the rest: librdkafka's
 * and the mock brokers' threads) and, for concurrent, when the writer finished against the
 * last acknowledgement (which side is the bottleneck), for profiling (perf record; the writer
 * thread is named "writer").
 *
 * The process runs with tools_exporter_process_setup() (glibc's fastbins off), as xw-export
 * does; XW_BENCH_MALLOC=default keeps glibc's defaults, to measure what that changes.
 *
 *   bench_export [EVENTS [ROUNDS [TXN]]]   (defaults 300000, 5, and 1000 events per writer
 *                                          transaction: one add_many, i.e. 2 outbox rows)
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/parse.h"
#include "pipeline/exporter.h"
#include "pipeline/stage.h"
#include "tools/process_setup.h"

#define GROUPS 1000
#define TXN_EVENTS 1000 /* most events per writer transaction (the store stage's batch) */
static unsigned long txn_events = TXN_EVENTS; /* events per transaction (argument 3) */

static const char *bootstrap;
static char tmpdir[64];

static double now_s(void) { return (double)xw_clock_mono_ns(xw_clock_real()) / 1e9; }

/* CPU seconds used by the whole process (every thread, including the mock cluster's, user
 * and system): less sensitive than wall time to other processes on a shared machine. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static double cpu_us_last, cpu_us_fill;     /* CPU microseconds per event of the last run (and fill) */
static double writer_cpu_s, exporter_cpu_s; /* the last concurrent run's writer and exporter threads */
static double writer_wall_s;                /* and the writer's wall time, first insert to last commit */

static long minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static double thread_cpu_s(void) { return (double)xw_clock_thread_cpu_ns() / 1e9; }

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

/* group ids, made once: the worker knows its groups */
static char group_ids[GROUPS][40];

static void gen_groups(void)
{
    for (unsigned long grp = 0; grp < GROUPS; grp++) {
        uint64_t h1 = pl_hash64(&grp, sizeof grp), h2 = pl_hash64(&h1, sizeof h1);
        snprintf(group_ids[grp], sizeof group_ids[grp], "%016llx%016llx", (unsigned long long)h1,
                 (unsigned long long)h2);
    }
}

static void gen_event(struct gen *g, unsigned long i, int64_t now)
{
    unsigned long grp = i % GROUPS;
    uint64_t h1 = pl_hash64(&grp, sizeof grp), h2 = pl_hash64(&h1, sizeof h1);
    snprintf(g->id, sizeof g->id, "ev-%010lu", i);
    memcpy(g->group, group_ids[grp], sizeof g->group);
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
    double t0 = now_s(), c0 = cpu_s();
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
    cpu_us_last = (cpu_s() - c0) / (double)n * 1e6;
    if (acked != n || nacked)
        die("direct: not every event was acknowledged", NULL);
    xw_buf_free(&enc);
    pl_sink_free(s);
    return (double)n / dt;
}

/* --- outbox --------------------------------------------------------------------------------- */
static void fill(const char *path, unsigned long n, pl_exporter *ex)
{
    sqlite3 *db;
    xw_errbuf eb = {{0}};
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("open", NULL);
    pl_outbox_busy_wait(db);
    /* the worker's connection, set up as docs/export.md recommends */
    sqlite3_exec(db,
                 "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                 " PRAGMA cache_size=-65536;",
                 NULL, NULL, NULL);
    pl_outbox_writer *w;
    if (pl_outbox_writer_new(db, &w, &eb) != XW_OK)
        die("writer", &eb);
    static _Thread_local struct gen g[TXN_EVENTS];
    static _Thread_local pl_event evs[TXN_EVENTS];
    int64_t t = 1764406800000000000;
    for (unsigned long i = 0; i < n; i += txn_events) {
        size_t k = n - i < txn_events ? n - i : txn_events;
        for (size_t j = 0; j < k; j++) {
            gen_event(&g[j], i + j, t);
            evs[j] = g[j].ev;
        }
        if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
            die("begin", NULL);
        if (pl_outbox_writer_add_many(w, evs, k, t, NULL, &eb) != XW_OK)
            die("insert", &eb);
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            die("commit", NULL);
        if (ex)
            pl_exporter_notify(ex);
    }
    pl_outbox_writer_free(w);
    sqlite3_close(db);
}

struct writer_arg {
    const char *path;
    unsigned long n;
    pl_exporter *ex; /* notified after each commit, as the worker does */
};

static void *writer_main(void *arg)
{
    struct writer_arg *a = arg;
    pthread_setname_np(pthread_self(), "writer");
    double c0 = thread_cpu_s(), w0 = now_s();
    fill(a->path, a->n, a->ex);
    writer_cpu_s = thread_cpu_s() - c0;
    writer_wall_s = now_s() - w0;
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
        double f0 = now_s(), fc0 = cpu_s();
        fill(path, n, NULL);
        *fill_s = now_s() - f0;
        cpu_us_fill = (cpu_s() - fc0) / (double)n * 1e6;
    }
    if (pl_outbox_open(path, &ob, &eb) != XW_OK)
        die("open outbox", &eb);
    pl_sink *s = kafka_sink(topic);
    pl_exporter *ex;
    pl_exporter_config cfg = {.idle_ms = 1};
    if (pl_exporter_new(ob, s, &cfg, &ex, &eb) != XW_OK)
        die("exporter", &eb);
    pthread_t wt, mt;
    struct writer_arg wa = {path, n, ex};
    struct watch_arg ma = {ex, n};
    double t0 = now_s(), c0 = cpu_s();
    if (concurrent)
        pthread_create(&wt, NULL, writer_main, &wa);
    pthread_create(&mt, NULL, watch_main, &ma);
    double ec0 = thread_cpu_s();
    if (pl_exporter_run(ex, 0, &eb) != XW_OK)
        die("export", &eb);
    exporter_cpu_s = thread_cpu_s() - ec0;
    pthread_join(mt, NULL);
    if (concurrent)
        pthread_join(wt, NULL);
    double dt = now_s() - t0;
    cpu_us_last = (cpu_s() - c0) / (double)n * 1e6;
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

#define MAX_ROUNDS 20

int main(int argc, char **argv)
{
    uint64_t n64 = 300000, rounds64 = 5, txn64 = TXN_EVENTS;
    xw_errbuf peb = {{0}};
    if ((argc > 1 && xw_parse_u64("EVENTS", argv[1], 1, UINT32_MAX, &n64, &peb) != XW_OK) ||
        (argc > 2 && xw_parse_u64("ROUNDS", argv[2], 1, MAX_ROUNDS, &rounds64, &peb) != XW_OK) ||
        (argc > 3 && xw_parse_u64("events per transaction", argv[3], 1, TXN_EVENTS, &txn64, &peb) != XW_OK)) {
        fprintf(stderr,
                "bench_export: %s\nusage: bench_export [EVENTS [ROUNDS (1..%d) [EVENTS_PER_TXN (1..%d)]]]\n",
                peb.msg, MAX_ROUNDS, TXN_EVENTS);
        return 2;
    }
    unsigned long n = (unsigned long)n64;
    int rounds = (int)rounds64;
    txn_events = (unsigned long)txn64;
    xw_log_set_level(XW_LOG_ERROR);
    /* as xw-export and the worker do (tools/process_setup.h); XW_BENCH_MALLOC=default leaves
     * it out, to measure what it changes */
    const char *malloc_mode = getenv("XW_BENCH_MALLOC");
    int tuned = !(malloc_mode && strcmp(malloc_mode, "default") == 0);
    if (tuned && tools_exporter_process_setup() != XW_OK)
        die("tools_exporter_process_setup", NULL);
    gen_groups();
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
    double direct[MAX_ROUNDS] = {0}, exp[MAX_ROUNDS] = {0}, wr[MAX_ROUNDS] = {0}, seq[MAX_ROUNDS] = {0},
           pipe[MAX_ROUNDS] = {0};
    double r_exp[MAX_ROUNDS] = {0}, r_seq[MAX_ROUNDS] = {0}, r_pipe[MAX_ROUNDS] = {0};
    double c_direct[MAX_ROUNDS] = {0}, c_wr[MAX_ROUNDS] = {0}, c_exp[MAX_ROUNDS] = {0},
           c_pipe[MAX_ROUNDS] = {0}, rc_pipe[MAX_ROUNDS] = {0};
    printf("bench_export: %lu events per measurement, %d groups, %d interleaved rounds, mock cluster of 3 "
           "brokers (acks=all, idempotent), events/s; malloc: %s\n",
           n, GROUPS, rounds, tuned ? "tools_exporter_process_setup (no fastbins)" : "glibc default");
    printf(
        "round     direct     writer   exporter  write+exp  concurrent   ratio(exp seq conc)   CPU us/event: "
        "direct writer exporter concurrent\n");
    /* XW_BENCH_ONLY=direct|concurrent runs one path, with where its CPU goes (for profiling,
     * e.g. under perf record; the writer thread is named "writer"), and no summary */
    const char *only = getenv("XW_BENCH_ONLY");
    for (int r = 0; r < rounds; r++) {
        /* a fresh topic per measurement, so that no run pays for another's retained log */
        char t1[32], t2[32], t3[32];
        snprintf(t1, sizeof t1, "direct-%d", r);
        snprintf(t2, sizeof t2, "export-%d", r);
        snprintf(t3, sizeof t3, "pipeline-%d", r);
        rd_kafka_mock_topic_create(mc, t1, 16, 3);
        rd_kafka_mock_topic_create(mc, t2, 16, 3);
        rd_kafka_mock_topic_create(mc, t3, 16, 3);
        double fill_s = 0;
        if (only && strcmp(only, "direct") == 0) {
            double tc0 = thread_cpu_s();
            double v = run_direct(n, t1);
            printf("direct %.0f events/s, %.2f CPU us/event (producing thread %.2f)\n", v, cpu_us_last,
                   (thread_cpu_s() - tc0) / (double)n * 1e6);
            continue;
        }
        if (only && strcmp(only, "concurrent") == 0) {
            long f0 = minflt();
            double v = run_outbox(n, t3, 1, r, NULL);
            printf("concurrent %.0f events/s, %.2f CPU us/event (writer thread %.2f, exporter thread %.2f, "
                   "the rest %.2f), %.3f minor page faults/event; writer done at %.0f%% of the run\n",
                   v, cpu_us_last, writer_cpu_s / (double)n * 1e6, exporter_cpu_s / (double)n * 1e6,
                   cpu_us_last - (writer_cpu_s + exporter_cpu_s) / (double)n * 1e6,
                   (double)(minflt() - f0) / (double)n, 100.0 * writer_wall_s * v / (double)n);
            continue;
        }
        direct[r] = run_direct(n, t1);
        c_direct[r] = cpu_us_last;
        exp[r] = run_outbox(n, t2, 0, r, &fill_s);
        c_exp[r] = cpu_us_last;
        c_wr[r] = cpu_us_fill;
        wr[r] = (double)n / fill_s;
        seq[r] = (double)n / (fill_s + (double)n / exp[r]);
        pipe[r] = run_outbox(n, t3, 1, r, NULL);
        c_pipe[r] = cpu_us_last;
        rc_pipe[r] = c_direct[r] / c_pipe[r];
        r_exp[r] = exp[r] / direct[r];
        r_seq[r] = seq[r] / direct[r];
        r_pipe[r] = pipe[r] / direct[r];
        printf("%5d  %9.0f  %9.0f  %9.0f  %9.0f  %10.0f   %.2f %.2f %.2f             %5.2f  %5.2f  %5.2f  "
               "%5.2f\n",
               r + 1, direct[r], wr[r], exp[r], seq[r], pipe[r], r_exp[r], r_seq[r], r_pipe[r], c_direct[r],
               c_wr[r], c_exp[r], c_pipe[r]);
        fflush(stdout);
    }
    if (only)
        goto done;
    double m_direct = bench_median(direct, rounds), m_exp = bench_median(exp, rounds),
           m_wr = bench_median(wr, rounds), m_seq = bench_median(seq, rounds),
           m_pipe = bench_median(pipe, rounds);
    double m_rexp = bench_median(r_exp, rounds), m_rseq = bench_median(r_seq, rounds),
           m_rpipe = bench_median(r_pipe, rounds);
    printf("\nmedians over %d rounds (ratios: median of the per-round ratios to direct)\n", rounds);
    printf("  direct      encode + produce + ack, no outbox (baseline)         %9.0f events/s\n", m_direct);
    printf("  writer      encode + insert into the outbox, %d per transaction %9.0f events/s\n",
           (int)txn_events, m_wr);
    printf("  exporter    pre-filled outbox -> read, produce, ack, delete     %9.0f events/s   ratio %.2f\n",
           m_exp, m_rexp);
    printf("  write+exp   writer, then exporter (the sum of both costs)        %9.0f events/s   ratio %.2f\n",
           m_seq, m_rseq);
    printf("  concurrent  writer thread and exporter together, first insert    %9.0f events/s   ratio %.2f\n",
           m_pipe, m_rpipe);
    printf("              to last ack (the worker's shape)\n");
    double mc_direct = bench_median(c_direct, rounds), mc_wr = bench_median(c_wr, rounds),
           mc_exp = bench_median(c_exp, rounds), mc_pipe = bench_median(c_pipe, rounds),
           mrc_pipe = bench_median(rc_pipe, rounds);
    printf(
        "CPU per event (whole process, all threads, mock brokers included; median): direct %.2f us, writer "
        "%.2f us, exporter %.2f us, concurrent %.2f us; direct/concurrent CPU ratio %.2f\n",
        mc_direct, mc_wr, mc_exp, mc_pipe, mrc_pipe);
    double load[1] = {0};
    getloadavg(load, 1);
    printf(
        "issue 8 goals, with the outbox (concurrent): >= 200000 events/s: %s (%.0f); outbox cost < 30%% of "
        "direct, i.e. ratio >= 0.70: %s (%.2f, cost %.0f%%)\n",
        m_pipe >= 200000 ? "met" : "NOT met", m_pipe, m_rpipe >= 0.7 ? "met" : "NOT met", m_rpipe,
        100.0 * (1 - m_rpipe));
    printf("machine: load average %.1f on %ld cores\n", load[0], sysconf(_SC_NPROCESSORS_ONLN));
done:
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    rmdir(tmpdir);
    return 0;
}
