/*
 * Concurrency stress of xmtp-devnode: a node in a thread of this process on a SQLite file
 * (so its checkpointer thread runs too), PUBLISHERS client threads sending batches to
 * GROUPS groups, QUERIERS threads paging through the groups, and SUBSCRIBERS stream threads
 * subscribed to every group, half of them from the start and half opened while publishing
 * (replay, then live). Every subscriber must receive every message exactly once, in id
 * order per group; every query page must be in order. Run under ASan in `make test` and
 * under ThreadSanitizer in `make tsan` (which reports any data race between the node's
 * loop thread, its checkpointer and the clients).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "gen/xmtp/mls/api/v1/mls.pb-c.h"
#include "proto/pb.h"
#include "tests/unit/devnode_helpers.h"

#define MLS "/xmtp.mls.api.v1.MlsApi/"
#define PUBLISHERS 3
#define QUERIERS 2
#define SUBSCRIBERS 6
#define GROUPS 4
#define BATCHES 30 /* per publisher */
#define BATCH 10
#define TOTAL (PUBLISHERS * BATCHES * BATCH)

static test_node tn;
static atomic_int failures;
static atomic_int checks;    /* verifications made (each failed one also counts in failures) */
static atomic_int published; /* batches sent */
static atomic_int publishing_done;

#define FAIL(...)                                                                                            \
    do {                                                                                                     \
        fprintf(stderr, "FAIL: " __VA_ARGS__);                                                               \
        fputc('\n', stderr);                                                                                 \
        atomic_fetch_add(&failures, 1);                                                                      \
    } while (0)

static void gid_of(int g, uint8_t out[16])
{
    memset(out, 0, 16);
    snprintf((char *)out, 16, "stress-grp-%03d", g);
}

static xmtp_api *client(void)
{
    xmtp_api *api = NULL;
    xw_errbuf eb = {{0}};
    xmtp_api_opts o = {.url = tn.url};
    if (xmtp_api_new(&o, &api, &eb) != XW_OK)
        FAIL("client: %s", eb.msg);
    return api;
}

static void *publisher(void *arg)
{
    int p = (int)(intptr_t)arg;
    xmtp_api *api = client();
    if (!api)
        return NULL;
    for (int b = 0; b < BATCHES; b++) {
        uint8_t gid[16];
        gid_of((p + b) % GROUPS, gid);
        xw_buf msgs[BATCH], req;
        for (int i = 0; i < BATCH; i++) {
            char payload[48];
            snprintf(payload, sizeof payload, "p%d-b%d-m%d", p, b, i);
            xw_buf_init(&msgs[i], 1024);
            tn_mls_private(&msgs[i], gid, 16, 1, payload);
        }
        xw_buf_init(&req, 1 << 20);
        tn_pack_send(&req, msgs, BATCH, 0);
        xw_buf resp;
        xw_buf_init(&resp, 1 << 16);
        xmtp_api_status st;
        xw_errbuf eb = {{0}};
        atomic_fetch_add(&checks, 1);
        if (xmtp_api_unary(api, MLS "SendGroupMessages", req.data, req.len, &resp, &st, &eb) != XW_OK)
            FAIL("publisher %d batch %d: %s (status %d)", p, b, eb.msg, st.code);
        atomic_fetch_add(&published, 1);
        xw_buf_free(&resp);
        xw_buf_free(&req);
        for (int i = 0; i < BATCH; i++)
            xw_buf_free(&msgs[i]);
    }
    xmtp_api_free(api);
    return NULL;
}

static void *querier(void *arg)
{
    int q = (int)(intptr_t)arg;
    xmtp_api *api = client();
    if (!api)
        return NULL;
    int pages = 0;
    while (!atomic_load(&publishing_done) || pages < 20) {
        uint8_t gid[16];
        gid_of((q + pages) % GROUPS, gid);
        int direction = (pages & 1) ? 1 : 2; /* ascending, descending */
        xw_buf req;
        xw_buf_init(&req, 1024);
        tn_pack_query(&req, gid, direction, 25, 0);
        xw_buf resp;
        xw_buf_init(&resp, 1 << 20);
        xmtp_api_status st;
        xw_errbuf eb = {{0}};
        atomic_fetch_add(&checks, 1);
        if (xmtp_api_unary(api, MLS "QueryGroupMessages", req.data, req.len, &resp, &st, &eb) != XW_OK) {
            FAIL("querier %d: %s", q, eb.msg);
        } else {
            Xmtp__Mls__Api__V1__QueryGroupMessagesResponse *r = NULL;
            xw_pb_decode_as(&xmtp__mls__api__v1__query_group_messages_response__descriptor, resp.data,
                            resp.len, SIZE_MAX, &r, NULL);
            if (!r) {
                FAIL("querier %d: response does not decode", q);
            } else {
                for (size_t i = 1; i < r->n_messages; i++) {
                    uint64_t a = r->messages[i - 1]->v1->id, b = r->messages[i]->v1->id;
                    if (direction == 1 ? a >= b : a <= b)
                        FAIL("querier %d: page out of order (%llu then %llu)", q, (unsigned long long)a,
                             (unsigned long long)b);
                }
                xw_pb_free(&r->base);
            }
        }
        xw_buf_free(&resp);
        xw_buf_free(&req);
        pages++;
    }
    xmtp_api_free(api);
    return NULL;
}

typedef struct {
    int idx;
    atomic_int cancel;
    atomic_int count;
    atomic_int opened;
    uint64_t last[GROUPS]; /* written by the stream's thread only */
    int rc;
    xmtp_api_status st;
} sub_ctx;

static int on_msg(void *c, const uint8_t *msg, size_t len)
{
    sub_ctx *s = c;
    Xmtp__Mls__Api__V1__GroupMessage *m = NULL;
    xw_pb_decode_as(&xmtp__mls__api__v1__group_message__descriptor, msg, len, SIZE_MAX, &m, NULL);
    atomic_fetch_add(&checks, 1);
    if (!m || !m->v1 || m->v1->group_id.len != 16) {
        FAIL("subscriber %d: a message that does not decode", s->idx);
    } else {
        int g = -1;
        for (int i = 0; i < GROUPS; i++) {
            uint8_t gid[16];
            gid_of(i, gid);
            if (!memcmp(gid, m->v1->group_id.data, 16))
                g = i;
        }
        if (g < 0)
            FAIL("subscriber %d: a message of a group it did not ask for", s->idx);
        else if (m->v1->id <= s->last[g])
            FAIL("subscriber %d: group %d id %llu after %llu (duplicate or out of order)", s->idx, g,
                 (unsigned long long)m->v1->id, (unsigned long long)s->last[g]);
        else
            s->last[g] = m->v1->id;
    }
    if (m)
        xw_pb_free(&m->base);
    atomic_fetch_add(&s->count, 1);
    return 0;
}

static void on_open(void *c) { atomic_store(&((sub_ctx *)c)->opened, 1); }

static void *subscriber(void *arg)
{
    sub_ctx *s = arg;
    xmtp_api *api = client();
    if (!api)
        return NULL;
    uint8_t gids[GROUPS][16];
    const uint8_t *g[GROUPS];
    for (int i = 0; i < GROUPS; i++) {
        gid_of(i, gids[i]);
        g[i] = gids[i];
    }
    xw_buf req;
    xw_buf_init(&req, 4096);
    tn_pack_subscribe(&req, g, GROUPS, 0); /* from the beginning: replay whatever is stored, then live */
    xmtp_api_stream_opts so = {.on_message = on_msg, .on_open = on_open, .ctx = s, .cancel = &s->cancel};
    xw_errbuf eb = {{0}};
    s->rc = xmtp_api_stream(api, MLS "SubscribeGroupMessages", req.data, req.len, &so, &s->st, &eb);
    xw_buf_free(&req);
    if (s->rc != XW_ECLOSED)
        FAIL("subscriber %d ended with %d: %s", s->idx, s->rc, eb.msg);
    xmtp_api_free(api);
    return NULL;
}

int main(void)
{
    xw_log_set_level(XW_LOG_WARN);
    char dir[] = "/tmp/stress-devnode-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char db[128];
    snprintf(db, sizeof db, "%s/node.db", dir);
    tn_start(&tn, db, 0, 0);

    static sub_ctx subs[SUBSCRIBERS];
    pthread_t sth[SUBSCRIBERS], pth[PUBLISHERS], qth[QUERIERS];
    for (int i = 0; i < SUBSCRIBERS; i++)
        subs[i].idx = i;
    /* the first half subscribes before anything is published */
    for (int i = 0; i < SUBSCRIBERS / 2; i++)
        pthread_create(&sth[i], NULL, subscriber, &subs[i]);
    for (int i = 0; i < SUBSCRIBERS / 2; i++)
        for (int t = 0; t < 1000 && !atomic_load(&subs[i].opened); t++)
            usleep(5000);
    for (int i = 0; i < PUBLISHERS; i++)
        pthread_create(&pth[i], NULL, publisher, (void *)(intptr_t)i);
    for (int i = 0; i < QUERIERS; i++)
        pthread_create(&qth[i], NULL, querier, (void *)(intptr_t)i);
    /* the second half while publishing: the replay/live seam under load */
    for (int t = 0; t < 2000 && atomic_load(&published) < PUBLISHERS * BATCHES / 3; t++)
        usleep(5000);
    for (int i = SUBSCRIBERS / 2; i < SUBSCRIBERS; i++)
        pthread_create(&sth[i], NULL, subscriber, &subs[i]);
    for (int i = 0; i < PUBLISHERS; i++)
        pthread_join(pth[i], NULL);
    atomic_store(&publishing_done, 1);
    for (int i = 0; i < QUERIERS; i++)
        pthread_join(qth[i], NULL);
    /* every subscriber gets every message (60 s at most: slow under sanitizers) */
    for (int i = 0; i < SUBSCRIBERS; i++)
        for (int t = 0; t < 6000 && atomic_load(&subs[i].count) < TOTAL; t++)
            usleep(10000);
    usleep(100000); /* nothing more may arrive */
    atomic_fetch_add(&checks, 3 + SUBSCRIBERS);
    size_t open_subs = node_subs_count(tn.ctx.group_subs);
    if (open_subs != SUBSCRIBERS)
        FAIL("the node counts %zu open subscriptions, expected %d", open_subs, SUBSCRIBERS);
    for (int i = 0; i < SUBSCRIBERS; i++) {
        atomic_store(&subs[i].cancel, 1);
        pthread_join(sth[i], NULL);
        int got = atomic_load(&subs[i].count);
        if (got != TOTAL)
            FAIL("subscriber %d received %d messages, expected %d", i, got, TOTAL);
    }
    for (int t = 0; t < 500 && node_subs_count(tn.ctx.group_subs) > 0; t++)
        usleep(10000);
    if (node_subs_count(tn.ctx.group_subs) != 0)
        FAIL("cancelled subscriptions are still counted");
    tn_stop(&tn);
    char cmd[192];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    int f = atomic_load(&failures);
    printf("stress_devnode: %d publishers x %d batches of %d, %d queriers, %d subscribers: %s\n", PUBLISHERS,
           BATCHES, BATCH, QUERIERS, SUBSCRIBERS, f ? "FAILED" : "ok");
    int c = atomic_load(&checks);
    printf("stress-devnode: %d passed, %d failed\n", c - f, f);
    return f ? 1 : 0;
}
