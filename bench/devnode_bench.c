/*
 * xmtp-devnode benchmark: a node in this process (own thread, SQLite file in a temp dir)
 * and many concurrent clients on persistent HTTP/2 connections (nghttp2, one request in
 * flight per connection).
 *
 *   1. publish: C client threads send SendGroupMessages batches of 50 MLS messages to G
 *      groups until N messages are stored; messages/s, p50/p99 batch latency, and the
 *      process RSS at 10% and at the end (memory must stay flat while the store grows).
 *   2. query: C client threads page through groups (QueryGroupMessages, limit 100);
 *      queries/s and p99 latency.
 *   3. subscriptions: S streams open at once (SubscribeGroupMessages on one group), then
 *      M messages are published; every stream must receive every message.
 *
 * Ratios are against a baseline measured in the same run: the same inserts and queries
 * made directly on a node_store (no network, no gRPC, no protobuf), so the ratio says what
 * the server adds. Usage: devnode_bench [messages] (default 1000000).
 */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/parse.h"
#include "gen/xmtp/mls/api/v1/mls.pb-c.h"
#include "tests/unit/devnode_helpers.h"

#define BATCH 50
#define GROUPS 200
#define MSG_PAYLOAD 100
#define MLS "/xmtp.mls.api.v1.MlsApi/"

static double now_s(void) { return (double)xw_clock_mono_ns(xw_clock_real()) / 1e9; }

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void gid_of(int g, uint8_t out[16])
{
    memset(out, 0, 16);
    snprintf((char *)out, 16, "bench-grp-%05d", g);
}

/* One SendGroupMessages body (gRPC prefix included) with BATCH messages for group g. */
static void build_batch(xw_buf *body, int g, uint64_t seq)
{
    uint8_t gid[16];
    gid_of(g, gid);
    xw_buf msgs[BATCH], req;
    char payload[MSG_PAYLOAD + 1];
    for (int i = 0; i < BATCH; i++) {
        xw_buf_init(&msgs[i], 4096);
        snprintf(payload, sizeof payload, "%0*llu", MSG_PAYLOAD,
                 (unsigned long long)(seq * BATCH + (uint64_t)i));
        tn_mls_private(&msgs[i], gid, 16, 1, payload);
    }
    xw_buf_init(&req, 1 << 20);
    tn_pack_send(&req, msgs, BATCH, 0);
    xw_buf_reset(body);
    tn_grpc_body(body, req.data, req.len);
    xw_buf_free(&req);
    for (int i = 0; i < BATCH; i++)
        xw_buf_free(&msgs[i]);
}

typedef struct {
    int port;
    int id, nthreads;
    uint64_t batches; /* to send (publish) or queries to make */
    uint64_t first;   /* publish: batch sequence number this run starts at */
    double *lat;
    uint64_t nlat;
    atomic_int *errors;
} worker;

static void *publisher(void *p)
{
    worker *w = p;
    rawc *r = raw_connect(w->port, 1 << 20);
    xw_buf body;
    xw_buf_init(&body, 1 << 22);
    for (uint64_t b = 0; b < w->batches; b++) {
        uint64_t seq = w->first + b * (uint64_t)w->nthreads + (uint64_t)w->id;
        build_batch(&body, (int)(seq % GROUPS), seq);
        double t0 = now_s();
        int32_t sid = raw_request(r, MLS "SendGroupMessages", NULL, body.data, body.len);
        if (!raw_run(r, sid, 10000) || raw_grpc_status(r) != 0)
            atomic_fetch_add(w->errors, 1);
        w->lat[w->nlat++] = now_s() - t0;
    }
    xw_buf_free(&body);
    raw_close(r);
    return NULL;
}

static void *querier(void *p)
{
    worker *w = p;
    rawc *r = raw_connect(w->port, 1 << 20);
    xw_buf body, req;
    xw_buf_init(&body, 1 << 16);
    xw_buf_init(&req, 1024);
    uint64_t cursor = 0;
    int g = w->id;
    for (uint64_t q = 0; q < w->batches; q++) {
        uint8_t gid[16];
        gid_of(g % GROUPS, gid);
        tn_pack_query(&req, gid, 1, 100, cursor);
        xw_buf_reset(&body);
        tn_grpc_body(&body, req.data, req.len);
        double t0 = now_s();
        int32_t sid = raw_request(r, MLS "QueryGroupMessages", NULL, body.data, body.len);
        if (!raw_run(r, sid, 10000) || raw_grpc_status(r) != 0)
            atomic_fetch_add(w->errors, 1);
        w->lat[w->nlat++] = now_s() - t0;
        if (raw_data_len(r) < 100 * 150) /* every group holds more than a page */
            atomic_fetch_add(w->errors, 1);
        /* next page of this group, or the next group */
        cursor = q % 4 == 3 ? 0 : cursor + 100 * GROUPS;
        if (cursor == 0)
            g += w->nthreads;
    }
    xw_buf_free(&body);
    xw_buf_free(&req);
    raw_close(r);
    return NULL;
}

static void percentiles(double *lat, uint64_t n, double *p50, double *p99)
{
    bench_sort(lat, n);
    *p50 = n ? lat[n / 2] * 1000 : 0;
    *p99 = n ? lat[(n * 99) / 100] * 1000 : 0;
}

static double run_workers(void *(*fn)(void *), int port, int threads, uint64_t per_thread, uint64_t first,
                          double *p50, double *p99, int *errors)
{
    pthread_t th[64];
    worker w[64];
    atomic_int errs = 0;
    double *all = xw_malloc(sizeof(double) * (size_t)(threads * per_thread));
    for (int i = 0; i < threads; i++) {
        w[i] = (worker){.port = port,
                        .id = i,
                        .nthreads = threads,
                        .batches = per_thread,
                        .first = first,
                        .lat = all + (size_t)i * per_thread,
                        .errors = &errs};
        pthread_create(&th[i], NULL, fn, &w[i]);
    }
    double t0 = now_s();
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double secs = now_s() - t0;
    percentiles(all, (uint64_t)threads * per_thread, p50, p99);
    xw_free(all);
    *errors = atomic_load(&errs);
    return secs;
}

/* Baselines: the same work straight on a store. */
static double baseline_insert(const char *path, uint64_t n)
{
    node_store *st;
    if (node_store_open(path, &st, NULL) != XW_OK)
        return 0;
    xw_buf m;
    xw_buf_init(&m, 4096);
    double t0 = now_s();
    char payload[MSG_PAYLOAD + 1];
    for (uint64_t b = 0; b < n / BATCH; b++) {
        node_store_begin(st, NULL);
        uint8_t gid[16];
        gid_of((int)(b % GROUPS), gid);
        for (int i = 0; i < BATCH; i++) {
            xw_buf_reset(&m);
            snprintf(payload, sizeof payload, "%0*llu", MSG_PAYLOAD,
                     (unsigned long long)(b * BATCH + (uint64_t)i));
            tn_mls_private(&m, gid, 16, 1, payload);
            node_group_msg g = {.group_id = gid, .group_id_len = 16, .data = m.data, .data_len = m.len};
            node_store_group_msg_add(st, &g, NULL);
        }
        node_store_commit(st, NULL);
    }
    double secs = now_s() - t0;
    xw_buf_free(&m);
    node_store_close(st);
    return (double)n / secs;
}

static int count_row(void *c, const node_group_msg *m)
{
    (void)m;
    (*(int *)c)++;
    return 0;
}

static double baseline_query(const char *path, uint64_t n)
{
    node_store *st;
    if (node_store_open(path, &st, NULL) != XW_OK)
        return 0;
    double t0 = now_s();
    int rows = 0;
    for (uint64_t q = 0; q < n; q++) {
        uint8_t gid[16];
        gid_of((int)(q % GROUPS), gid);
        node_store_group_msgs(st, gid, 16, 1, 0, 100, count_row, &rows, NULL);
    }
    double secs = now_s() - t0;
    node_store_close(st);
    return (double)n / secs;
}

int main(int argc, char **argv)
{
    uint64_t total = 1000000;
    xw_errbuf peb = {{0}};
    if (argc > 1 && xw_parse_u64("messages", argv[1], 1, UINT32_MAX, &total, &peb) != XW_OK) {
        fprintf(stderr, "devnode_bench: %s\nusage: devnode_bench [messages]\n", peb.msg);
        return 2;
    }
    int pub_threads = 4, query_threads = 4, subs = 1000;
    if (total < (uint64_t)(BATCH * pub_threads * 10))
        total = BATCH * pub_threads * 10;
    char dir[] = "/tmp/devnode-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char db[128], base_db[128];
    snprintf(db, sizeof db, "%s/node.db", dir);
    snprintf(base_db, sizeof base_db, "%s/baseline.db", dir);
    setvbuf(stdout, NULL, _IOLBF, 0);
    xw_log_set_level(getenv("DEVNODE_BENCH_LOG") ? XW_LOG_TRACE : XW_LOG_WARN);

    /* baselines first, on their own file */
    uint64_t base_n = total / 10;
    double base_ins = baseline_insert(base_db, base_n);
    double base_q = baseline_query(base_db, 20000);

    test_node tn;
    tn_start(&tn, db, 0, 0);
    long rss0 = rss_kib();

    /* 1. publish the first 10%, note RSS, then up to 90%, then the last 10% (the rate with the store
     * near its final size); batch sequence numbers continue across the phases, so every message
     * is new */
    double p50, p99, p50b, p99b, p50c, p99c;
    int errs, errs2, errs3;
    uint64_t per10 = total / 10 / BATCH / (uint64_t)pub_threads;
    uint64_t mid = (total / BATCH / (uint64_t)pub_threads) - 2 * per10;
    uint64_t T = (uint64_t)pub_threads;
    double s1 = run_workers(publisher, tn.port, pub_threads, per10, 0, &p50, &p99, &errs);
    long rss10 = rss_kib();
    double s2 = run_workers(publisher, tn.port, pub_threads, mid, per10 * T, &p50b, &p99b, &errs2);
    double s3 = run_workers(publisher, tn.port, pub_threads, per10, (per10 + mid) * T, &p50c, &p99c, &errs3);
    long rss100 = rss_kib();
    uint64_t sent = (2 * per10 + mid) * T * BATCH;
    double pub_rate = (double)sent / (s1 + s2 + s3);
    double last_rate = (double)(per10 * T * BATCH) / s3;
    printf("publish: %llu messages in batches of %d from %d connections: %.0f msg/s (p50 %.2f ms, p99 %.2f "
           "ms per batch), %d errors; %lld stored\n",
           (unsigned long long)sent, BATCH, pub_threads, pub_rate, p50b, p99b, errs + errs2 + errs3,
           (long long)node_store_group_msg_total(tn.ctx.store));
    printf("publish: last 10%% (store from %llu to %llu messages): %.0f msg/s (p50 %.2f ms, p99 %.2f ms per "
           "batch)\n",
           (unsigned long long)((per10 + mid) * T * BATCH), (unsigned long long)sent, last_rate, p50c, p99c);
    printf("publish: ratio to direct store inserts (%.0f msg/s): %.2f\n", base_ins, pub_rate / base_ins);
    printf(
        "memory: RSS %ld KiB at start, %ld KiB after %llu messages, %ld KiB after %llu (growth over the last "
        "90%%: %ld KiB)\n",
        rss0, rss10, (unsigned long long)(per10 * T * BATCH), rss100, (unsigned long long)sent,
        rss100 - rss10);

    /* 2. queries */
    uint64_t per_q = 5000;
    double sq = run_workers(querier, tn.port, query_threads, per_q, 0, &p50, &p99, &errs);
    double q_rate = (double)(per_q * (uint64_t)query_threads) / sq;
    printf("query: %llu paged queries (limit 100) from %d connections: %.0f queries/s (p50 %.2f ms, p99 %.2f "
           "ms), "
           "%d errors\n",
           (unsigned long long)(per_q * (uint64_t)query_threads), query_threads, q_rate, p50, p99, errs);
    printf("query: ratio to direct store queries (%.0f/s): %.2f\n", base_q, q_rate / base_q);

    /* 3. subscriptions: `subs` streams over 10 connections, all on group 0 from the end */
    int nconn = 10;
    rawc *conns[10];
    uint8_t gid[16];
    const uint8_t *g0 = gid;
    gid_of(0, gid);
    xw_buf sreq, sbody;
    xw_buf_init(&sreq, 1024);
    tn_pack_subscribe(&sreq, &g0, 1, (uint64_t)node_store_group_msg_total(tn.ctx.store)); /* only new ones */
    xw_buf_init(&sbody, 1024);
    tn_grpc_body(&sbody, sreq.data, sreq.len);
    xw_buf_free(&sreq);
    double t_open0 = now_s();
    for (int c = 0; c < nconn; c++) {
        conns[c] = raw_connect(tn.port, 1 << 20);
        for (int i = 0; i < subs / nconn; i++)
            raw_request(conns[c], MLS "SubscribeGroupMessages", NULL, sbody.data, sbody.len);
    }
    while (node_subs_count(tn.ctx.group_subs) < (size_t)subs && now_s() - t_open0 < 30)
        for (int c = 0; c < nconn; c++)
            raw_pump(conns[c], 1);
    double t_open = now_s() - t_open0;
    size_t open_subs = node_subs_count(tn.ctx.group_subs);
    xw_buf body;
    xw_buf_init(&body, 1 << 22);
    rawc *pubc = raw_connect(tn.port, 1 << 20);
    build_batch(&body, 0, 99999999);
    int msgs = BATCH;
    /* each delivery is a 5-byte prefix and a GroupMessage of more than 150 bytes */
    size_t want = (size_t)subs * (size_t)msgs * 155, got = 0;
    double t0 = now_s();
    int32_t sid = raw_request(pubc, MLS "SendGroupMessages", NULL, body.data, body.len);
    raw_run(pubc, sid, 10000);
    while (got < want && now_s() - t0 < 30) {
        got = 0;
        for (int c = 0; c < nconn; c++) {
            raw_pump(conns[c], 1);
            got += raw_data_all(conns[c]);
        }
    }
    double sd = now_s() - t0;
    printf("subscriptions: %zu streams open on %d connections (opened in %.0f ms); one batch of %d messages "
           "fanned "
           "out to every stream in %.1f ms: %.0f deliveries/s%s\n",
           open_subs, nconn, t_open * 1000, msgs, sd * 1000, (double)subs * msgs / sd,
           got >= want ? "" : " (INCOMPLETE)");
    for (int c = 0; c < nconn; c++)
        raw_close(conns[c]);
    raw_close(pubc);
    xw_buf_free(&body);
    xw_buf_free(&sbody);
    tn_stop(&tn);

    /* clean up the temp dir */
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
    return 0;
}
