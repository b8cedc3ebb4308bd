/*
 * Tests of xmtp-devnode through the project's gRPC client (xmtp/api) and a raw HTTP/2
 * client: bad requests that change nothing, subscriptions (replay then live, no duplicates
 * at the seam, slow readers ABORTED, UNAVAILABLE on shutdown), bad input at every layer
 * (HTTP/2 frames, gRPC framing, protobuf, sizes, methods, disconnects) with the node still
 * serving others, and the client's errors, retries and deframer. The RPC semantics are in
 * test_devnode.c. Each test starts its own node in a thread of this process.
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
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "gen/xmtp/identity/api/v1/identity.pb-c.h"
#include "gen/xmtp/mls/api/v1/mls.pb-c.h"
#include "proto/pb.h"
#include "tests/unit/devnode_helpers.h"
#include "tests/unit/devnode_rpc_helpers.h"
#include "xmtp/api_frame.h"
#include "xmtp/inbox.h"
#include "xmtp/installation.h"
#include "xmtp/identity_update.h"
#include "xmtp/wallet.h"

/* --- bad requests ------------------------------------------------------------------------------ */

static void test_bad_requests_change_nothing(void **state)
{
    (void)state;
    test_node tn;
    tn_start(&tn, ":memory:", 0, 0);
    xmtp_api_status st;
    xw_errbuf eb = {{0}};
    xw_buf resp;
    xw_buf_init(&resp, 1 << 20);

    /* a batch whose second message is not an MLS group message: nothing is stored */
    xw_buf m[2];
    xw_buf_init(&m[0], 1 << 20);
    xw_buf_init(&m[1], 1 << 20);
    tn_mls_private(&m[0], GID_A, 16, 1, "fine");
    const uint8_t welcome_wf[] = {0, 1, 0, 3, 0, 0};
    xw_buf_append(&m[1], welcome_wf, sizeof welcome_wf);
    assert_int_equal(send_msgs(&tn, m, 2, &st), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "message 1"));
    assert_non_null(strstr(st.message, "wire format 3"));
    Xmtp__Mls__Api__V1__QueryGroupMessagesResponse *r = query(&tn, GID_A, -1, 0, 0);
    assert_int_equal(r->n_messages, 0);
    xw_pb_free(&r->base);
    /* truncated MLS message */
    xw_buf_truncate(&m[0], m[0].len - 3);
    assert_int_equal(send_msgs(&tn, m, 1, &st), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    assert_true(strstr(st.message, "ends early") || strstr(st.message, "remain"));
    xw_buf_free(&m[0]);
    xw_buf_free(&m[1]);
    /* empty batch */
    assert_int_equal(send_msgs(&tn, NULL, 0, &st), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);

    /* bytes that are not the request protobuf */
    const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
    assert_int_equal(xmtp_api_unary(tn.api, MLS "QueryGroupMessages", junk, sizeof junk, &resp, &st, &eb),
                     XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "QueryGroupMessagesRequest"));
    /* a string with a NUL ("a\0b" would read as "a" in C): refused, naming the field */
    const uint8_t nul_ident[] = {0x0a, 0x05, 0x0a, 0x03, 'a', 0x00, 'b'};
    assert_int_equal(xmtp_api_unary(tn.api, "/xmtp.identity.api.v1.IdentityApi/GetInboxIds", nul_ident,
                                    sizeof nul_ident, &resp, &st, &eb),
                     XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "identifier has a NUL byte"));

    /* unknown methods and services */
    assert_int_equal(xmtp_api_unary(tn.api, MLS "Subscribe", NULL, 0, &resp, &st, &eb), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_UNIMPLEMENTED);
    assert_int_equal(
        xmtp_api_unary(tn.api, "/xmtp.message_api.v1.MessageApi/Query", NULL, 0, &resp, &st, &eb), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_UNIMPLEMENTED);

    /* commit log batch limits */
    Xmtp__Mls__Api__V1__BatchQueryCommitLogRequest bq =
        XMTP__MLS__API__V1__BATCH_QUERY_COMMIT_LOG_REQUEST__INIT;
    Xmtp__Mls__Api__V1__QueryCommitLogRequest q = XMTP__MLS__API__V1__QUERY_COMMIT_LOG_REQUEST__INIT;
    Xmtp__Mls__Api__V1__QueryCommitLogRequest *qs[21];
    q.group_id = (ProtobufCBinaryData){16, (uint8_t *)GID_A};
    for (int i = 0; i < 21; i++)
        qs[i] = &q;
    bq.requests = qs;
    bq.n_requests = 21;
    assert_int_equal(call(&tn, MLS "BatchQueryCommitLog", &bq.base, &resp, &st), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    bq.n_requests = 20;
    xw_buf_reset(&resp);
    assert_int_equal(call(&tn, MLS "BatchQueryCommitLog", &bq.base, &resp, &st), XW_OK);

    /* the node still serves good requests */
    assert_int_equal(send_one(&tn, GID_A, 1, "still fine", &st), XW_OK);
    xw_buf_free(&resp);
    tn_stop(&tn);
}

/* --- subscriptions ---------------------------------------------------------------------------- */

typedef struct {
    test_node *tn;
    uint64_t cursor;
    char got[16][32];
    uint64_t ids[16];
    atomic_int count;
    atomic_int opened;
    atomic_int cancel;
    int rc;
    xmtp_api_status st;
} sub_ctx;

static int on_msg(void *c, const uint8_t *msg, size_t len)
{
    sub_ctx *s = c;
    Xmtp__Mls__Api__V1__GroupMessage *m = NULL;
    xw_pb_decode_as(&xmtp__mls__api__v1__group_message__descriptor, msg, len, SIZE_MAX, &m, NULL);
    int i = atomic_load(&s->count);
    if (m && i < 16) {
        snprintf(s->got[i], sizeof s->got[i], "%s", payload_of(m));
        s->ids[i] = m->v1->id;
    }
    if (m)
        xw_pb_free(&m->base);
    atomic_fetch_add(&s->count, 1);
    return 0;
}

static void on_open(void *c) { atomic_store(&((sub_ctx *)c)->opened, 1); }

static void *sub_thread(void *p)
{
    sub_ctx *s = p;
    const uint8_t *g[2] = {GID_A, GID_A}; /* a duplicate filter must not duplicate messages */
    xw_buf req;
    xw_buf_init(&req, 1024);
    tn_pack_subscribe(&req, g, 2, s->cursor);
    xmtp_api_stream_opts so = {.on_message = on_msg, .on_open = on_open, .ctx = s, .cancel = &s->cancel};
    xw_errbuf eb = {{0}};
    xmtp_api *api;
    xmtp_api_opts ao = {.url = s->tn->url};
    xmtp_api_new(&ao, &api, &eb);
    s->rc = xmtp_api_stream(api, MLS "SubscribeGroupMessages", req.data, req.len, &so, &s->st, &eb);
    xw_buf_free(&req);
    if (getenv("TN_DEBUG"))
        fprintf(stderr, "stream ended: %s\n", eb.msg);
    xmtp_api_free(api);
    return NULL;
}

static void wait_count(sub_ctx *s, int n)
{
    for (int i = 0; i < 500 && atomic_load(&s->count) < n; i++)
        usleep(10000);
}

static void test_subscribe_replay_then_live(void **state)
{
    (void)state;
    test_node tn;
    tn_start(&tn, ":memory:", 0, 0);
    xmtp_api_status st;
    assert_int_equal(send_one(&tn, GID_A, 1, "m1", &st), XW_OK);
    assert_int_equal(send_one(&tn, GID_A, 1, "m2", &st), XW_OK);
    assert_int_equal(send_one(&tn, GID_B, 1, "other", &st), XW_OK);
    assert_int_equal(send_one(&tn, GID_A, 1, "m3", &st), XW_OK);
    Xmtp__Mls__Api__V1__QueryGroupMessagesResponse *r = query(&tn, GID_A, 1, 1, 0);
    uint64_t first = r->messages[0]->v1->id;
    xw_pb_free(&r->base);

    sub_ctx s = {.tn = &tn, .cursor = first};
    pthread_t th;
    pthread_create(&th, NULL, sub_thread, &s);
    wait_count(&s, 2); /* replay of m2, m3 */
    assert_int_equal(atomic_load(&s.opened), 1);
    assert_int_equal(send_one(&tn, GID_A, 1, "m4", &st), XW_OK);
    assert_int_equal(send_one(&tn, GID_B, 1, "other2", &st), XW_OK);
    assert_int_equal(send_one(&tn, GID_A, 3, "m5", &st), XW_OK);
    assert_int_equal(send_one(&tn, GID_A, 3, "m5", &st), XW_OK); /* duplicate bytes */
    wait_count(&s, 4);
    usleep(100000);
    atomic_store(&s.cancel, 1);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&s.count), 4);
    assert_string_equal(s.got[0], "m2");
    assert_string_equal(s.got[1], "m3");
    assert_string_equal(s.got[2], "m4");
    assert_string_equal(s.got[3], "m5");
    for (int i = 1; i < 4; i++)
        assert_true(s.ids[i] > s.ids[i - 1]);
    assert_int_equal(s.rc, XW_ECLOSED);
    tn_stop(&tn);
}

static void test_subscribe_ends_unavailable_on_shutdown(void **state)
{
    (void)state;
    test_node tn;
    tn_start(&tn, ":memory:", 0, 0);
    sub_ctx s = {.tn = &tn};
    pthread_t th;
    pthread_create(&th, NULL, sub_thread, &s);
    for (int i = 0; i < 500 && !atomic_load(&s.opened); i++)
        usleep(10000);
    assert_int_equal(atomic_load(&s.opened), 1);
    xmtp_api_free(tn.api);
    tn.api = NULL;
    node_server_stop(tn.srv);
    pthread_join(th, NULL);
    assert_int_equal(s.rc, XW_EGRPC);
    assert_int_equal(s.st.code, XW_GRPC_UNAVAILABLE);
    pthread_join(tn.thread, NULL);
    node_server_free(tn.srv);
    node_ctx_fini(&tn.ctx);
    node_store_close(tn.ctx.store);
}

static void test_slow_subscriber_aborted_others_served(void **state)
{
    (void)state;
    test_node tn;
    tn_start(&tn, ":memory:", 0, 4096); /* 4 KiB of queued output per stream */
    xmtp_api_status st;
    /* a subscriber that grants no flow-control window: it cannot receive any DATA */
    rawc *slow = raw_connect(tn.port, 0);
    const uint8_t *g = GID_A;
    xw_buf req, body;
    xw_buf_init(&req, 1024);
    tn_pack_subscribe(&req, &g, 1, 0);
    xw_buf_init(&body, 1 << 20);
    tn_grpc_body(&body, req.data, req.len);
    xw_buf_free(&req);
    int32_t sid = raw_request(slow, MLS "SubscribeGroupMessages", NULL, body.data, body.len);
    raw_run(slow, sid, 200);
    assert_int_equal(raw_http_status(slow), 200);
    assert_int_equal(node_subs_count(tn.ctx.group_subs), 1);
    /* publish past the subscriber's buffer */
    char payload[64];
    for (int i = 0; i < 60; i++) {
        snprintf(payload, sizeof payload, "flood-%03d-xxxxxxxxxxxxxxxxxxxxxxxxxxxxx", i);
        assert_int_equal(send_one(&tn, GID_A, 1, payload, &st), XW_OK);
    }
    /* the node ended it with ABORTED (trailers need no window) and forgot it */
    /* (meanwhile, a second subscriber that vanishes without a word is forgotten too) */
    rawc *gone = raw_connect(tn.port, 65535);
    raw_request(gone, MLS "SubscribeGroupMessages", NULL, body.data, body.len);
    raw_run(gone, -1, 100);
    assert_true(node_subs_count(tn.ctx.group_subs) >= 1);
    raw_close(gone);
    assert_true(raw_run(slow, sid, 3000));
    assert_int_equal(raw_grpc_status(slow), XW_GRPC_ABORTED);
    assert_non_null(strstr(raw_grpc_message(slow), "fast enough"));
    for (int i = 0; i < 100 && node_subs_count(tn.ctx.group_subs) > 0; i++)
        usleep(10000);
    assert_int_equal(node_subs_count(tn.ctx.group_subs), 0);
    raw_close(slow);

    /* a subscription with a deadline ends with DEADLINE_EXCEEDED */
    rawc *timed = raw_connect(tn.port, 65535);
    sid = raw_request_timeout(timed, MLS "SubscribeGroupMessages", NULL, body.data, body.len, "300m");
    assert_true(raw_run(timed, sid, 5000));
    assert_int_equal(raw_grpc_status(timed), 4);
    raw_close(timed);
    /* everyone else is still served */
    Xmtp__Mls__Api__V1__QueryGroupMessagesResponse *r = query(&tn, GID_A, -1, 0, 0);
    assert_int_equal(r->n_messages, 60);
    xw_pb_free(&r->base);
    xw_buf_free(&body);
    tn_stop(&tn);
}

/* --- transport-level bad input ---------------------------------------------------------------- */

static int http1_is_refused(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return 0;
    const char req[] = "POST /xmtp.mls.api.v1.MlsApi/QueryGroupMessages HTTP/1.1\r\nHost: x\r\n\r\n";
    if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1))
        return 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int closed = 0;
    for (int i = 0; i < 20 && !closed; i++) {
        if (poll(&p, 1, 100) > 0) {
            char buf[256];
            ssize_t n = read(fd, buf, sizeof buf);
            closed = n <= 0;
        }
    }
    close(fd);
    return closed;
}

static void test_grpc_framing_and_http2_errors(void **state)
{
    (void)state;
    test_node tn;
    tn_start(&tn, ":memory:", 2048, 0); /* 2 KiB message limit */
    xw_buf body;
    xw_buf_init(&body, 1 << 20);
    rawc *r = raw_connect(tn.port, 65535);

    /* oversized: refused from the prefix alone */
    uint8_t big[3000];
    memset(big, 0, sizeof big);
    tn_grpc_body(&body, big, sizeof big);
    int32_t sid = raw_request(r, MLS "QueryGroupMessages", NULL, body.data, body.len);
    assert_true(raw_run(r, sid, 3000));
    assert_int_equal(raw_grpc_status(r), XW_GRPC_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(raw_grpc_message(r), "2048"));

    /* compressed flag */
    const uint8_t compressed[] = {1, 0, 0, 0, 2, 0x0a, 0x00};
    sid = raw_request(r, MLS "QueryGroupMessages", NULL, compressed, sizeof compressed);
    assert_true(raw_run(r, sid, 3000));
    assert_int_equal(raw_grpc_status(r), XW_GRPC_UNIMPLEMENTED);

    /* the body ends inside the message */
    const uint8_t cut[] = {0, 0, 0, 0, 9, 0x0a, 0x01};
    sid = raw_request(r, MLS "QueryGroupMessages", NULL, cut, sizeof cut);
    assert_true(raw_run(r, sid, 3000));
    assert_int_equal(raw_grpc_status(r), XW_GRPC_INVALID_ARGUMENT);
    assert_non_null(strstr(raw_grpc_message(r), "ends inside"));

    /* two messages for a unary call */
    const uint8_t two[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    sid = raw_request(r, MLS "QueryGroupMessages", NULL, two, sizeof two);
    assert_true(raw_run(r, sid, 3000));
    assert_int_equal(raw_grpc_status(r), XW_GRPC_INVALID_ARGUMENT);

    /* no body at all */
    sid = raw_request(r, MLS "QueryGroupMessages", NULL, NULL, 0);
    assert_true(raw_run(r, sid, 3000));
    assert_int_equal(raw_grpc_status(r), XW_GRPC_INVALID_ARGUMENT);

    /* a subscription whose request is not a protobuf: refused before any stream starts */
    const uint8_t junk_sub[] = {0, 0, 0, 0, 3, 0x0a, 0x7f, 0x01};
    sid = raw_request(r, MLS "SubscribeWelcomeMessages", NULL, junk_sub, sizeof junk_sub);
    assert_true(raw_run(r, sid, 3000));
    assert_int_equal(raw_grpc_status(r), XW_GRPC_INVALID_ARGUMENT);
    assert_non_null(strstr(raw_grpc_message(r), "SubscribeWelcomeMessagesRequest"));
    assert_int_equal(node_subs_count(tn.ctx.welcome_subs), 0);

    /* not gRPC */
    sid = raw_request(r, MLS "QueryGroupMessages", "application/json", (const uint8_t *)"{}", 2);
    assert_true(raw_run(r, sid, 3000));
    assert_int_equal(raw_http_status(r), 415);

    /* the connection survived all of that */
    assert_false(raw_conn_closed(r));

    /* garbage on another connection: after the preface, a frame header announcing an
     * unknown-length HEADERS on stream 0 -> PROTOCOL_ERROR, connection closed */
    rawc *bad = raw_connect(tn.port, 65535);
    const uint8_t junk[] = {0, 0, 4, 0x01, 0x04, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef};
    assert_int_equal(write(raw_fd(bad), junk, sizeof junk), (ssize_t)sizeof junk);
    raw_run(bad, -1, 2000);
    assert_true(raw_conn_closed(bad));
    raw_close(bad);

    /* a client that disappears in the middle of a request */
    rawc *gone = raw_connect(tn.port, 65535);
    const uint8_t half[] = {0, 0, 0, 4, 0, 0x0a};
    raw_request(gone, MLS "SendGroupMessages", NULL, half, sizeof half); /* announces 1024 bytes, sends 1 */
    raw_close(gone);

    /* HTTP/1.1 instead of h2c: the connection is closed */
    assert_true(http1_is_refused(tn.port));

    /* the node still serves the first connection */
    xw_buf_reset(&body);
    xw_buf q;
    xw_buf_init(&q, 1024);
    tn_pack_query(&q, GID_A, -1, 0, 0);
    tn_grpc_body(&body, q.data, q.len);
    xw_buf_free(&q);
    sid = raw_request(r, MLS "QueryGroupMessages", NULL, body.data, body.len);
    assert_true(raw_run(r, sid, 3000));
    assert_int_equal(raw_grpc_status(r), XW_GRPC_OK);
    assert_true(raw_data_len(r) >= 5);
    raw_close(r);
    xw_buf_free(&body);
    tn_stop(&tn);
}

/* --- client behaviour ------------------------------------------------------------------------- */

static void test_client_errors_and_retry(void **state)
{
    (void)state;
    xw_errbuf eb = {{0}};
    xmtp_api *a;
    assert_int_equal(xmtp_api_new(&(xmtp_api_opts){.url = "ftp://x"}, &a, &eb), XW_EINVAL);
    /* nothing listens: retried, then a network error that says what to check */
    test_node tn;
    tn_start(&tn, ":memory:", 0, 0);
    int port = tn.port;
    tn_stop(&tn);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    assert_int_equal(
        xmtp_api_new(&(xmtp_api_opts){.url = url, .retries = 2, .backoff_ms = 10, .timeout_ms = 3000}, &a,
                     &eb),
        XW_OK);
    xw_buf resp;
    xw_buf_init(&resp, 1024);
    xmtp_api_status st;
    int rc = xmtp_api_unary(a, MLS "QueryGroupMessages", NULL, 0, &resp, &st, &eb);
    assert_int_equal(rc, XW_ENETWORK);
    assert_int_equal(st.attempts, 3);
    assert_non_null(strstr(eb.msg, "is the node running"));
    xmtp_api_free(a);
    xw_buf_free(&resp);
}

/* A server whose one method fails with UNAVAILABLE until its third call. */
typedef struct {
    int calls;
} flaky_ctx;

static int flaky_method(void *ctx, const uint8_t *req, size_t len, xw_buf *resp, node_status *st)
{
    flaky_ctx *f = ctx;
    if (++f->calls < 3)
        return node_status_set(st, XW_GRPC_UNAVAILABLE, "try again (call %d)", f->calls);
    return xw_buf_append(resp, req, len) == XW_OK ? XW_GRPC_OK : XW_GRPC_INTERNAL; /* echo */
}

static void *serve(void *p)
{
    node_server_run(p, 1000);
    return NULL;
}

static void test_client_retries_unavailable(void **state)
{
    (void)state;
    flaky_ctx f = {0};
    node_method m[1] = {{"/test.Flaky/Echo", flaky_method, NULL, &f}};
    node_server *srv;
    node_server_opts o = {.listen = "127.0.0.1:0"};
    assert_int_equal(node_server_new(&o, m, 1, &srv, NULL), XW_OK);
    pthread_t th;
    pthread_create(&th, NULL, serve, srv);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", node_server_port(srv));
    xmtp_api *a;
    assert_int_equal(xmtp_api_new(&(xmtp_api_opts){.url = url, .retries = 4, .backoff_ms = 20}, &a, NULL),
                     XW_OK);
    xw_buf resp;
    xw_buf_init(&resp, 1024);
    xmtp_api_status st;
    int64_t t0 = xw_clock_mono_ns(xw_clock_real());
    assert_int_equal(xmtp_api_unary(a, "/test.Flaky/Echo", (const uint8_t *)"ping", 4, &resp, &st, NULL),
                     XW_OK);
    int64_t ms = (xw_clock_mono_ns(xw_clock_real()) - t0) / XW_NS_PER_MS;
    assert_int_equal(st.attempts, 3);
    assert_int_equal(f.calls, 3);
    assert_int_equal(resp.len, 4);
    assert_memory_equal(resp.data, "ping", 4);
    assert_true(ms >= 20 + 40); /* backed off 20 ms, then 40 ms (plus jitter) */
    /* without retries the first UNAVAILABLE is the answer, with its message */
    xmtp_api_free(a);
    f.calls = 0;
    assert_int_equal(xmtp_api_new(&(xmtp_api_opts){.url = url, .retries = -1}, &a, NULL), XW_OK);
    xw_buf_reset(&resp);
    assert_int_equal(xmtp_api_unary(a, "/test.Flaky/Echo", (const uint8_t *)"x", 1, &resp, &st, NULL),
                     XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_UNAVAILABLE);
    assert_string_equal(st.message, "try again (call 1)");
    assert_int_equal(st.attempts, 1);
    assert_int_equal(resp.len, 0);
    xmtp_api_free(a);
    xw_buf_free(&resp);
    node_server_stop(srv);
    pthread_join(th, NULL);
    node_server_free(srv);
}

static int collect(void *ctx, const uint8_t *msg, size_t len)
{
    xw_buf *b = ctx;
    xw_buf_append_u8(b, (uint8_t)len);
    xw_buf_append(b, msg, len);
    return 0;
}

static void test_client_deframer(void **state)
{
    (void)state;
    /* two messages ("A", "") delivered one byte at a time */
    const uint8_t body[] = {0, 0, 0, 0, 1, 'A', 0, 0, 0, 0, 0};
    xmtp_grpc_deframer d;
    xw_buf got;
    xw_buf_init(&got, 64);
    xmtp_grpc_deframer_init(&d, 16);
    for (size_t i = 0; i < sizeof body; i++) {
        assert_int_equal(xmtp_grpc_deframe(&d, body + i, 1, collect, &got, NULL), XW_OK);
        assert_int_equal(xmtp_grpc_deframer_partial(&d), i != 5 && i != sizeof body - 1);
    }
    assert_int_equal(got.len, 3);
    assert_memory_equal(got.data,
                        "\x01"
                        "A"
                        "\x00",
                        3);
    /* a length above the maximum is refused from the prefix */
    const uint8_t big[] = {0, 0, 0, 0, 17};
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_grpc_deframe(&d, big, sizeof big, collect, &got, &eb), XW_ETOOBIG);
    assert_non_null(strstr(eb.msg, "17-byte"));
    xmtp_grpc_deframer_free(&d);
    /* compressed flag without negotiation */
    xmtp_grpc_deframer_init(&d, 16);
    const uint8_t comp[] = {1, 0, 0, 0, 0};
    assert_int_equal(xmtp_grpc_deframe(&d, comp, sizeof comp, collect, &got, &eb), XW_EPROTOCOL);
    xmtp_grpc_deframer_free(&d);
    xw_buf_free(&got);
    /* grpc-message percent-decoding, including a cut escape at the end */
    char out[32];
    const char *enc = "caf%C3%A9 100%25 done%2";
    xmtp_grpc_pct_decode(enc, strlen(enc), out, sizeof out);
    assert_string_equal(out, "caf\xc3\xa9 100% done%2");
}

int main(void)
{
    /* The raw-socket tests write to connections the node closes on purpose: a write then must
     * fail with EPIPE, not kill the test (seen as exit 141 under load). */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_requests_change_nothing),
        cmocka_unit_test(test_subscribe_replay_then_live),
        cmocka_unit_test(test_subscribe_ends_unavailable_on_shutdown),
        cmocka_unit_test(test_slow_subscriber_aborted_others_served),
        cmocka_unit_test(test_grpc_framing_and_http2_errors),
        cmocka_unit_test(test_client_errors_and_retry),
        cmocka_unit_test(test_client_deframer),
        cmocka_unit_test(test_client_retries_unavailable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
