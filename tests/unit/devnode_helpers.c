/*
 * Test helpers for the dev node (see devnode_helpers.h).
 */
#include "tests/unit/devnode_helpers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/parse.h"
#include "proto/pb.h"
#include "gen/xmtp/mls/api/v1/mls.pb-c.h"

static void die(const char *what)
{
    fprintf(stderr, "test helper failed: %s\n", what);
    abort();
}

static void *node_thread(void *p)
{
    test_node *tn = p;
    node_server_run(tn->srv, 2000);
    return NULL;
}

void tn_start(test_node *tn, const char *db, size_t max_msg, size_t max_call_buf)
{
    node_server_opts o = {.max_message_size = max_msg, .max_call_buffer = max_call_buf};
    tn_start_opts(tn, db, &o);
}

void tn_start_opts(test_node *tn, const char *db, const node_server_opts *opts)
{
    memset(tn, 0, sizeof *tn);
    xw_errbuf eb = {{0}};
    if (sodium_init() < 0)
        die("sodium_init");
    tn->ctx.max_msg = opts->max_message_size ? opts->max_message_size : NODE_DEFAULT_MAX_MESSAGE;
    if (node_store_open(db, &tn->ctx.store, &eb) || node_ctx_init(&tn->ctx, &eb))
        die(eb.msg);
    size_t n = node_rpc_methods(&tn->ctx, tn->methods, NODE_RPC_MAX_METHODS);
    node_server_opts o = *opts;
    o.listen = "127.0.0.1:0";
    if (node_server_new(&o, tn->methods, n, &tn->srv, &eb))
        die(eb.msg);
    tn->port = node_server_port(tn->srv);
    snprintf(tn->url, sizeof tn->url, "http://127.0.0.1:%d", tn->port);
    if (pthread_create(&tn->thread, NULL, node_thread, tn))
        die("pthread_create");
    xmtp_api_opts ao = {.url = tn->url, .timeout_ms = 10000, .retries = -1};
    if (xmtp_api_new(&ao, &tn->api, &eb))
        die(eb.msg);
}

void tn_stop(test_node *tn)
{
    xmtp_api_free(tn->api);
    node_server_stop(tn->srv);
    pthread_join(tn->thread, NULL);
    node_server_free(tn->srv);
    node_ctx_fini(&tn->ctx);
    node_store_close(tn->ctx.store);
}

void tn_db_path(char *tmpl)
{
    int fd = mkstemp(tmpl);
    if (fd < 0)
        die("mkstemp failed");
    close(fd);
    unlink(tmpl);
}

void tn_db_remove(const char *path)
{
    char side[600];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static void put_vlen(xw_buf *b, size_t n)
{
    if (n < 64) {
        xw_buf_append_u8(b, (uint8_t)n);
    } else if (n < 16384) {
        xw_buf_append_u8(b, (uint8_t)(0x40 | (n >> 8)));
        xw_buf_append_u8(b, (uint8_t)n);
    } else {
        xw_buf_append_u8(b, (uint8_t)(0x80 | (n >> 24)));
        xw_buf_append_u8(b, (uint8_t)(n >> 16));
        xw_buf_append_u8(b, (uint8_t)(n >> 8));
        xw_buf_append_u8(b, (uint8_t)n);
    }
}

static void put_vec(xw_buf *b, const void *p, size_t n)
{
    put_vlen(b, n);
    xw_buf_append(b, p, n);
}

static void put_u16(xw_buf *b, uint16_t v)
{
    xw_buf_append_u8(b, (uint8_t)(v >> 8));
    xw_buf_append_u8(b, (uint8_t)v);
}

static void put_u64(xw_buf *b, uint64_t v)
{
    for (int i = 7; i >= 0; i--)
        xw_buf_append_u8(b, (uint8_t)(v >> (8 * i)));
}

void tn_mls_private(xw_buf *out, const uint8_t *gid, size_t gidlen, uint8_t content_type, const char *payload)
{
    put_u16(out, 1);
    put_u16(out, 2);
    put_vec(out, gid, gidlen);
    put_u64(out, 7);
    xw_buf_append_u8(out, content_type);
    put_vec(out, "", 0);
    put_vec(out, "sender-data", 11);
    put_vec(out, payload, strlen(payload));
}

static void sign_label(xw_buf *sig_out, const uint8_t sk[64], const char *label, const uint8_t *content,
                       size_t n)
{
    xw_buf m;
    xw_buf_init(&m, 1 << 20);
    char l[64];
    snprintf(l, sizeof l, "MLS 1.0 %s", label);
    put_vec(&m, l, strlen(l));
    put_vec(&m, content, n);
    uint8_t sig[64];
    crypto_sign_detached(sig, NULL, m.data, m.len, sk);
    put_vec(sig_out, sig, 64);
    xw_buf_free(&m);
}

void tn_key_package(xw_buf *out, const char *inbox, uint8_t pk[32], uint8_t sk[64])
{
    crypto_sign_keypair(pk, sk);
    tn_key_package_again(out, inbox, pk, sk);
}

void tn_key_package_again(xw_buf *out, const char *inbox, const uint8_t pk[32], const uint8_t sk[64])
{
    tn_kp_opts o = {0};
    tn_key_package_with(out, inbox, pk, sk, &o);
}

void tn_key_package_with(xw_buf *out, const char *inbox, const uint8_t pk[32], const uint8_t sk[64],
                         const tn_kp_opts *o)
{
    uint8_t init_key[32], enc_key[32];
    randombytes_buf(init_key, 32);
    randombytes_buf(enc_key, 32);
    if (o->same_init_enc)
        memcpy(enc_key, init_key, 32);
    size_t start = out->len;
    put_u16(out, 1);
    put_u16(out, 3);
    put_vec(out, init_key, 32);
    size_t leaf = out->len;
    put_vec(out, enc_key, 32);
    put_vec(out, pk, 32);
    put_u16(out, 1); /* basic credential: identity = MlsCredential { inbox_id = 1 } */
    xw_buf cred;
    xw_buf_init(&cred, 1 << 10);
    xw_pb_append_bytes(&cred, 1, (const uint8_t *)inbox, strlen(inbox));
    put_vec(out, cred.data ? cred.data : (const uint8_t *)"", cred.len);
    xw_buf_free(&cred);
    const uint8_t versions[] = {0, 1}, suites[] = {0, 3}, creds[] = {0, 1};
    size_t cn = o->bare_caps ? 0 : 2;
    put_vec(out, versions, cn);
    put_vec(out, suites, cn);
    put_vec(out, "", 0);
    put_vec(out, "", 0);
    put_vec(out, creds, cn);
    xw_buf_append_u8(out, 1); /* key_package source */
    put_u64(out, 1000);
    put_u64(out, o->not_after ? o->not_after : 4000000000ull);
    put_vec(out, "", 0); /* leaf extensions */
    xw_buf leaf_tbs;
    xw_buf_init(&leaf_tbs, 1 << 20);
    xw_buf_append(&leaf_tbs, out->data + leaf, out->len - leaf);
    sign_label(out, sk, "LeafNodeTBS", leaf_tbs.data, leaf_tbs.len);
    xw_buf_free(&leaf_tbs);
    put_vec(out, "", 0); /* key package extensions */
    xw_buf kp_tbs;
    xw_buf_init(&kp_tbs, 1 << 20);
    xw_buf_append(&kp_tbs, out->data + start, out->len - start);
    sign_label(out, sk, "KeyPackageTBS", kp_tbs.data, kp_tbs.len);
    xw_buf_free(&kp_tbs);
}

void tn_grpc_body(xw_buf *out, const uint8_t *msg, size_t len)
{
    uint8_t h[5] = {0, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    xw_buf_append(out, h, 5);
    if (len)
        xw_buf_append(out, msg, len);
}

/* Packs m into out, replacing what it held. */
static void pack_into(xw_buf *out, const ProtobufCMessage *m)
{
    xw_buf_reset(out);
    uint8_t *p = xw_buf_extend(out, protobuf_c_message_get_packed_size(m));
    if (!p)
        die("a request does not fit its buffer");
    protobuf_c_message_pack(m, p);
}

void tn_pack_send(xw_buf *out, const xw_buf *msgs, size_t n, int should_push)
{
    Xmtp__Mls__Api__V1__GroupMessageInput *in = xw_calloc(n, sizeof *in);
    Xmtp__Mls__Api__V1__GroupMessageInput__V1 *v1 = xw_calloc(n, sizeof *v1);
    Xmtp__Mls__Api__V1__GroupMessageInput **pin = xw_calloc(n, sizeof *pin);
    if (n && (!in || !v1 || !pin))
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        xmtp__mls__api__v1__group_message_input__init(&in[i]);
        xmtp__mls__api__v1__group_message_input__v1__init(&v1[i]);
        v1[i].data = (ProtobufCBinaryData){msgs[i].len, msgs[i].data};
        v1[i].should_push = should_push;
        in[i].version_case = XMTP__MLS__API__V1__GROUP_MESSAGE_INPUT__VERSION_V1;
        in[i].v1 = &v1[i];
        pin[i] = &in[i];
    }
    Xmtp__Mls__Api__V1__SendGroupMessagesRequest req = XMTP__MLS__API__V1__SEND_GROUP_MESSAGES_REQUEST__INIT;
    req.n_messages = n;
    req.messages = pin;
    pack_into(out, &req.base);
    xw_free(in);
    xw_free(v1);
    xw_free(pin);
}

void tn_pack_query(xw_buf *out, const uint8_t *gid, int direction, uint32_t limit, uint64_t cursor)
{
    Xmtp__Mls__Api__V1__QueryGroupMessagesRequest q = XMTP__MLS__API__V1__QUERY_GROUP_MESSAGES_REQUEST__INIT;
    Xmtp__Mls__Api__V1__PagingInfo pi = XMTP__MLS__API__V1__PAGING_INFO__INIT;
    q.group_id = (ProtobufCBinaryData){16, (uint8_t *)gid};
    if (direction >= 0) {
        pi.direction = direction;
        pi.limit = limit;
        pi.id_cursor = cursor;
        q.paging_info = &pi;
    }
    pack_into(out, &q.base);
}

void tn_pack_subscribe(xw_buf *out, const uint8_t *const *gids, size_t n, uint64_t cursor)
{
    Xmtp__Mls__Api__V1__SubscribeGroupMessagesRequest__Filter *f = xw_calloc(n, sizeof *f);
    Xmtp__Mls__Api__V1__SubscribeGroupMessagesRequest__Filter **pf = xw_calloc(n, sizeof *pf);
    if (n && (!f || !pf))
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        xmtp__mls__api__v1__subscribe_group_messages_request__filter__init(&f[i]);
        f[i].group_id = (ProtobufCBinaryData){16, (uint8_t *)gids[i]};
        f[i].id_cursor = cursor;
        pf[i] = &f[i];
    }
    Xmtp__Mls__Api__V1__SubscribeGroupMessagesRequest req =
        XMTP__MLS__API__V1__SUBSCRIBE_GROUP_MESSAGES_REQUEST__INIT;
    req.n_filters = n;
    req.filters = pf;
    pack_into(out, &req.base);
    xw_free(f);
    xw_free(pf);
}

/* --- raw client ----------------------------------------------------------------------------- */

struct rawc {
    int fd;
    nghttp2_session *s;
    int32_t sid;
    int stream_closed;
    int conn_closed;
    int http_status;
    int grpc_status;
    char grpc_msg[256];
    size_t data_len;
    size_t data_all;      /* DATA bytes on every stream */
    int streams_closed;   /* streams closed, all ids */
    int streams_ok;       /* grpc-status 0, all ids */
    int streams_failed;   /* another grpc-status, all ids */
    struct raw_src *srcs; /* request bodies, freed with the client */
};

typedef struct raw_src {
    const uint8_t *body;
    size_t len, off;
    struct raw_src *next;
} raw_src;

static ssize_t raw_send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
    (void)s;
    (void)flags;
    rawc *r = ud;
    ssize_t n = send(r->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN ? NGHTTP2_ERR_WOULDBLOCK : NGHTTP2_ERR_CALLBACK_FAILURE;
    return n;
}

static int raw_header_cb(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                         const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
    (void)s;
    (void)flags;
    rawc *r = ud;
    if (nl == 11 && !memcmp(name, "grpc-status", 11)) {
        if (vl == 1 && value[0] == '0')
            r->streams_ok++;
        else
            r->streams_failed++;
    }
    if (f->hd.stream_id != r->sid)
        return 0;
    char v[256];
    size_t k = vl < sizeof v - 1 ? vl : sizeof v - 1;
    memcpy(v, value, k);
    v[k] = 0;
    uint64_t num;
    if (nl == 7 && !memcmp(name, ":status", 7))
        r->http_status = xw_parse_u64(":status", v, 100, 599, &num, NULL) == XW_OK ? (int)num : -2;
    else if (nl == 11 && !memcmp(name, "grpc-status", 11))
        r->grpc_status = xw_parse_u64("grpc-status", v, 0, 16, &num, NULL) == XW_OK ? (int)num : -2;
    else if (nl == 12 && !memcmp(name, "grpc-message", 12))
        snprintf(r->grpc_msg, sizeof r->grpc_msg, "%s", v);
    return 0;
}

static int raw_data_cb(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data, size_t len,
                       void *ud)
{
    (void)s;
    (void)flags;
    (void)data;
    rawc *r = ud;
    if (sid == r->sid)
        r->data_len += len;
    r->data_all += len;
    return 0;
}

static int raw_close_cb(nghttp2_session *s, int32_t sid, uint32_t code, void *ud)
{
    (void)s;
    (void)code;
    rawc *r = ud;
    if (sid == r->sid)
        r->stream_closed = 1;
    r->streams_closed++;
    return 0;
}

static int raw_frame_cb(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)s;
    rawc *r = ud;
    if (f->hd.type == NGHTTP2_GOAWAY)
        r->conn_closed = 1;
    return 0;
}

rawc *raw_connect(int port, int32_t initial_window)
{
    rawc *r = raw_connect_from(port, initial_window, NULL);
    if (!r)
        die("connect");
    return r;
}

rawc *raw_connect_from(int port, int32_t initial_window, const char *src_ip)
{
    rawc *r = xw_calloc(1, sizeof *r);
    r->grpc_status = -1;
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (src_ip) {
        struct sockaddr_in la = {.sin_family = AF_INET};
        if (inet_pton(AF_INET, src_ip, &la.sin_addr) != 1 ||
            bind(r->fd, (struct sockaddr *)&la, sizeof la) != 0)
            die("bind to the source address");
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(r->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(r->fd);
        xw_free(r);
        return NULL;
    }
    int one = 1;
    setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, raw_send_cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, raw_header_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, raw_data_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, raw_close_cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, raw_frame_cb);
    nghttp2_session_client_new(&r->s, cb, r);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, (uint32_t)initial_window}};
    nghttp2_submit_settings(r->s, NGHTTP2_FLAG_NONE, iv, 1);
    if (initial_window > 65535)
        nghttp2_session_set_local_window_size(r->s, NGHTTP2_FLAG_NONE, 0, 1 << 24);
    nghttp2_session_send(r->s);
    return r;
}

static ssize_t raw_body_cb(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
                           nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)sid;
    (void)ud;
    raw_src *b = src->ptr;
    size_t n = b->len - b->off;
    if (n > len)
        n = len;
    if (n)
        memcpy(buf, b->body + b->off, n);
    b->off += n;
    if (b->off == b->len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

int32_t raw_request(rawc *r, const char *path, const char *ctype, const uint8_t *body, size_t len)
{
    return raw_request_timeout(r, path, ctype, body, len, NULL);
}

int32_t raw_request_timeout(rawc *r, const char *path, const char *ctype, const uint8_t *body, size_t len,
                            const char *grpc_timeout)
{
    const char *ct = ctype ? ctype : "application/grpc";
    nghttp2_nv nva[] = {
        {(uint8_t *)":method", (uint8_t *)"POST", 7, 4, 0},
        {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0},
        {(uint8_t *)":authority", (uint8_t *)"127.0.0.1", 10, 9, 0},
        {(uint8_t *)":path", (uint8_t *)path, 5, strlen(path), 0},
        {(uint8_t *)"content-type", (uint8_t *)ct, 12, strlen(ct), 0},
        {(uint8_t *)"te", (uint8_t *)"trailers", 2, 8, 0},
        {(uint8_t *)"grpc-timeout", (uint8_t *)(grpc_timeout ? grpc_timeout : ""), 12,
         grpc_timeout ? strlen(grpc_timeout) : 0, 0},
    };
    raw_src *b = xw_calloc(1, sizeof *b);
    b->body = body;
    b->len = len;
    b->next = r->srcs;
    r->srcs = b;
    r->stream_closed = 0;
    r->http_status = 0;
    r->grpc_status = -1;
    r->grpc_msg[0] = 0;
    r->data_len = 0;
    nghttp2_data_provider prd = {.source.ptr = b, .read_callback = raw_body_cb};
    r->sid = nghttp2_submit_request(r->s, NULL, nva, grpc_timeout ? 7 : 6, &prd, b);
    nghttp2_session_send(r->s);
    return r->sid;
}

int raw_run(rawc *r, int32_t sid, int ms)
{
    int64_t end = xw_clock_mono_ns(xw_clock_real()) + (int64_t)ms * XW_NS_PER_MS;
    (void)sid;
    while (!r->stream_closed && !r->conn_closed) {
        if (nghttp2_session_send(r->s) != 0)
            break;
        int left = (int)((end - xw_clock_mono_ns(xw_clock_real())) / XW_NS_PER_MS);
        if (left <= 0)
            break;
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        if (poll(&p, 1, left > 500 ? 500 : left) <= 0)
            continue;
        uint8_t buf[16384];
        ssize_t n = recv(r->fd, buf, sizeof buf, 0);
        if (n <= 0) {
            r->conn_closed = 1;
            break;
        }
        if (nghttp2_session_mem_recv(r->s, buf, (size_t)n) < 0) {
            r->conn_closed = 1;
            break;
        }
    }
    nghttp2_session_send(r->s);
    return r->stream_closed;
}

int raw_pump(rawc *r, int ms)
{
    if (nghttp2_session_send(r->s) != 0)
        return -1;
    struct pollfd p = {.fd = r->fd, .events = POLLIN};
    int got = 0;
    while (poll(&p, 1, got ? 0 : ms) > 0) {
        uint8_t buf[65536];
        ssize_t n = recv(r->fd, buf, sizeof buf, 0);
        if (n <= 0) {
            r->conn_closed = 1;
            return -1;
        }
        if (nghttp2_session_mem_recv(r->s, buf, (size_t)n) < 0)
            return -1;
        got = 1;
    }
    nghttp2_session_send(r->s);
    return got;
}

size_t raw_data_all(rawc *r) { return r->data_all; }
int raw_streams_closed(rawc *r) { return r->streams_closed; }
int raw_streams_ok(rawc *r) { return r->streams_ok; }
int raw_streams_failed(rawc *r) { return r->streams_failed; }

size_t raw_body_sent(rawc *r)
{
    size_t n = 0;
    for (const raw_src *b = r->srcs; b; b = b->next)
        n += b->off;
    return n;
}

int raw_grpc_status(rawc *r) { return r->grpc_status; }
int raw_http_status(rawc *r) { return r->http_status; }
const char *raw_grpc_message(rawc *r) { return r->grpc_msg; }
size_t raw_data_len(rawc *r) { return r->data_len; }
int raw_conn_closed(rawc *r) { return r->conn_closed; }
int raw_fd(rawc *r) { return r->fd; }

void raw_window_open(rawc *r, int32_t sid, int32_t bytes)
{
    nghttp2_submit_window_update(r->s, NGHTTP2_FLAG_NONE, sid, bytes);
    nghttp2_session_send(r->s);
}

void raw_set_initial_window(rawc *r, int32_t bytes)
{
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, (uint32_t)bytes}};
    nghttp2_submit_settings(r->s, NGHTTP2_FLAG_NONE, iv, 1);
    nghttp2_session_set_local_window_size(r->s, NGHTTP2_FLAG_NONE, 0, 1 << 24);
    nghttp2_session_send(r->s);
}

void raw_close(rawc *r)
{
    if (!r)
        return;
    nghttp2_session_del(r->s);
    close(r->fd);
    while (r->srcs) {
        raw_src *n = r->srcs->next;
        xw_free(r->srcs);
        r->srcs = n;
    }
    xw_free(r);
}
