/*
 * The gRPC client (xmtp/api) over https:// against the real xmtp-devnode behind nghttpx,
 * an HTTP/2 reverse proxy that terminates TLS (ALPN h2) and forwards to the node's h2c port.
 *
 * The group setup starts both as child processes on free ports with a self-signed
 * certificate made for the run by the openssl CLI in a fresh temporary directory (nothing is
 * committed); the group teardown stops both and removes the directory, also when a test
 * fails, and the children get SIGTERM if this process dies (PR_SET_PDEATHSIG). The tests
 * check a unary publish + query and a server stream (replay, then a live message) through
 * TLS with the certificate passed as the CA file, that verification is on by default (the
 * same node without the CA file is refused at once with XW_EDENIED), that the host name is
 * checked, and that a missing CA file is a clear error.
 *
 * usage: test_devnode_tls PATH/TO/xmtp-devnode
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/alloc.h"
#include "gen/xmtp/mls/api/v1/mls.pb-c.h"
#include "proto/pb.h"
#include "tests/unit/devnode_helpers.h"

#define MLS "/xmtp.mls.api.v1.MlsApi/"

static const uint8_t GID[16] = "group-tlstlstlst";

static const char *devnode_path = "build/xmtp-devnode";
static char dir[64];
static char cert[128], key[128], url[64];
static int node_port, tls_port;
static pid_t node_pid = -1, proxy_pid = -1;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

static int port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static pid_t spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (!freopen(log, "w", stderr) || !freopen(log, "a", stdout))
            _exit(126);
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s\n", argv[0]);
        _exit(127);
    }
    return pid;
}

static void stop(pid_t *pid)
{
    if (*pid > 0) {
        kill(*pid, SIGTERM);
        waitpid(*pid, NULL, 0);
    }
    *pid = -1;
}

static int wait_port(int port, pid_t pid)
{
    for (int i = 0; i < 200; i++) {
        if (port_open(port))
            return 1;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return 0;
        usleep(50000);
    }
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/xw-tls-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
             "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s 2>%s/openssl.log",
             key, cert, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "openssl could not make a certificate (see %s/openssl.log)\n", dir);
        return -1;
    }
    node_port = free_port();
    tls_port = free_port();
    while (tls_port == node_port)
        tls_port = free_port();
    if (node_port < 0 || tls_port < 0)
        return -1;
    char listen[64], front[64], back[64], nlog[128], plog[128];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", node_port);
    snprintf(front, sizeof front, "127.0.0.1,%d", tls_port);
    snprintf(back, sizeof back, "127.0.0.1,%d;;proto=h2", node_port);
    snprintf(nlog, sizeof nlog, "%s/devnode.log", dir);
    snprintf(plog, sizeof plog, "%s/nghttpx.log", dir);
    char *nargv[] = {(char *)devnode_path, "--listen", listen, "--db", ":memory:", NULL};
    node_pid = spawn(nargv, nlog);
    if (!wait_port(node_port, node_pid)) {
        fprintf(stderr, "xmtp-devnode did not start (see %s)\n", nlog);
        return -1;
    }
    char *pargv[] = {
        "nghttpx", "--conf=/dev/null", "--single-process", "--no-ocsp", "-f", front, "-b", back, key, cert,
        NULL};
    proxy_pid = spawn(pargv, plog);
    if (!wait_port(tls_port, proxy_pid)) {
        fprintf(stderr, "nghttpx did not start (see %s; Debian package nghttp2-proxy)\n", plog);
        return -1;
    }
    snprintf(url, sizeof url, "https://127.0.0.1:%d", tls_port);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    stop(&proxy_pid);
    stop(&node_pid);
    if (dir[0]) {
        char cmd[128];
        if (getenv("TN_KEEP"))
            fprintf(stderr, "logs kept in %s\n", dir);
        else {
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
            if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", dir);
        }
    }
    return 0;
}

static xmtp_api *client(const char *u, const char *ca)
{
    xmtp_api *a = NULL;
    xmtp_api_opts o = {.url = u, .ca_file = ca, .timeout_ms = 10000};
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_api_new(&o, &a, &eb), XW_OK);
    return a;
}

/* Publishes one group message with payload p; returns its bytes in out. */
static int publish(xmtp_api *a, const char *p, xw_buf *out, xmtp_api_status *st, xw_errbuf *eb)
{
    xw_buf_init(out, 1 << 16);
    tn_mls_private(out, GID, sizeof GID, 1, p);
    xw_buf req, resp;
    xw_buf_init(&req, 1024);
    tn_pack_send(&req, out, 1, 0);
    xw_buf_init(&resp, 1 << 16);
    int rc = xmtp_api_unary(a, MLS "SendGroupMessages", req.data, req.len, &resp, st, eb);
    xw_buf_free(&req);
    xw_buf_free(&resp);
    return rc;
}

typedef struct {
    xmtp_api *api;
    xw_buf got[8];
    atomic_int count, opened, cancel;
    int rc;
    xmtp_api_status st;
} sub_ctx;

static int on_msg(void *c, const uint8_t *msg, size_t len)
{
    sub_ctx *s = c;
    Xmtp__Mls__Api__V1__GroupMessage *m = NULL;
    xw_pb_decode_as(&xmtp__mls__api__v1__group_message__descriptor, msg, len, SIZE_MAX, &m, NULL);
    int i = atomic_load(&s->count);
    if (m && m->v1 && i < 8) {
        xw_buf_init(&s->got[i], 1 << 16);
        xw_buf_append(&s->got[i], m->v1->data.data, m->v1->data.len);
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
    const uint8_t *g = GID;
    xw_buf req;
    xw_buf_init(&req, 1024);
    tn_pack_subscribe(&req, &g, 1, 0);
    xmtp_api_stream_opts so = {.on_message = on_msg, .on_open = on_open, .ctx = s, .cancel = &s->cancel};
    xw_errbuf eb = {{0}};
    s->rc = xmtp_api_stream(s->api, MLS "SubscribeGroupMessages", req.data, req.len, &so, &s->st, &eb);
    xw_buf_free(&req);
    return NULL;
}

static void wait_count(sub_ctx *s, int n)
{
    for (int i = 0; i < 500 && atomic_load(&s->count) < n; i++)
        usleep(10000);
}

static int same(const xw_buf *a, const xw_buf *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static void test_unary_and_stream_over_tls(void **state)
{
    (void)state;
    xmtp_api *a = client(url, cert);
    xmtp_api_status st;
    xw_errbuf eb = {{0}};
    xw_buf m1, m2, m3;
    assert_int_equal(publish(a, "tls-one", &m1, &st, &eb), XW_OK);
    assert_int_equal(st.code, XW_GRPC_OK);
    assert_int_equal(st.http_status, 200);
    assert_int_equal(publish(a, "tls-two", &m2, &st, &eb), XW_OK);

    /* unary query: both messages, ascending, byte for byte */
    xw_buf q, resp;
    xw_buf_init(&q, 1024);
    tn_pack_query(&q, GID, XMTP__MLS__API__V1__SORT_DIRECTION__SORT_DIRECTION_ASCENDING, 0, 0);
    xw_buf_init(&resp, 1 << 20);
    assert_int_equal(xmtp_api_unary(a, MLS "QueryGroupMessages", q.data, q.len, &resp, &st, &eb), XW_OK);
    xw_buf_free(&q);
    Xmtp__Mls__Api__V1__QueryGroupMessagesResponse *r = NULL;
    xw_pb_decode_as(&xmtp__mls__api__v1__query_group_messages_response__descriptor, resp.data, resp.len,
                    SIZE_MAX, &r, NULL);
    assert_non_null(r);
    assert_int_equal(r->n_messages, 2);
    xw_buf d;
    xw_buf_init(&d, 1 << 16);
    xw_buf_append(&d, r->messages[0]->v1->data.data, r->messages[0]->v1->data.len);
    assert_true(same(&d, &m1));
    xw_buf_reset(&d);
    xw_buf_append(&d, r->messages[1]->v1->data.data, r->messages[1]->v1->data.len);
    assert_true(same(&d, &m2));
    assert_true(r->messages[1]->v1->id > r->messages[0]->v1->id);
    xw_pb_free(&r->base);
    xw_buf_free(&resp);
    xw_buf_free(&d);

    /* server stream over TLS: replay of both, then a live message published after it opened */
    sub_ctx s = {.api = client(url, cert)};
    pthread_t th;
    pthread_create(&th, NULL, sub_thread, &s);
    wait_count(&s, 2);
    assert_int_equal(atomic_load(&s.opened), 1);
    assert_int_equal(publish(a, "tls-live", &m3, &st, &eb), XW_OK);
    wait_count(&s, 3);
    usleep(100000);
    atomic_store(&s.cancel, 1);
    pthread_join(th, NULL);
    assert_int_equal(s.rc, XW_ECLOSED);
    assert_int_equal(atomic_load(&s.count), 3);
    assert_true(same(&s.got[0], &m1));
    assert_true(same(&s.got[1], &m2));
    assert_true(same(&s.got[2], &m3));
    for (int i = 0; i < 3; i++)
        xw_buf_free(&s.got[i]);
    xmtp_api_free(s.api);
    xw_buf_free(&m1);
    xw_buf_free(&m2);
    xw_buf_free(&m3);
    xmtp_api_free(a);
}

static void test_untrusted_certificate_refused(void **state)
{
    (void)state;
    /* no CA file: the self-signed certificate is not in the system store */
    xmtp_api *a = client(url, NULL);
    xmtp_api_status st;
    xw_errbuf eb = {{0}};
    xw_buf m;
    assert_int_equal(publish(a, "refused", &m, &st, &eb), XW_EDENIED);
    assert_non_null(strstr(eb.msg, "TLS certificate was not accepted"));
    assert_non_null(strstr(eb.msg, "CA file"));
    assert_int_equal(st.attempts, 1); /* not retried */
    xw_buf_free(&m);
    xmtp_api_free(a);

    /* a stream is refused the same way */
    sub_ctx s = {.api = client(url, NULL)};
    sub_thread(&s);
    assert_int_equal(s.rc, XW_EDENIED);
    assert_int_equal(atomic_load(&s.count), 0);
    xmtp_api_free(s.api);

    /* the right CA but the wrong host name: the certificate names 127.0.0.1 only */
    char lurl[64];
    snprintf(lurl, sizeof lurl, "https://localhost:%d", tls_port);
    a = client(lurl, cert);
    memset(&eb, 0, sizeof eb);
    assert_int_equal(publish(a, "wrong-host", &m, &st, &eb), XW_EDENIED);
    xw_buf_free(&m);
    xmtp_api_free(a);

    /* nothing refused was stored */
    a = client(url, cert);
    Xmtp__Mls__Api__V1__GetNewestGroupMessageRequest q =
        XMTP__MLS__API__V1__GET_NEWEST_GROUP_MESSAGE_REQUEST__INIT;
    ProtobufCBinaryData gid = {sizeof GID, (uint8_t *)GID};
    q.group_ids = &gid;
    q.n_group_ids = 1;
    q.include_content = 1;
    uint8_t qb[64];
    size_t qn = xmtp__mls__api__v1__get_newest_group_message_request__pack(&q, qb);
    xw_buf resp;
    xw_buf_init(&resp, 1 << 20);
    assert_int_equal(xmtp_api_unary(a, MLS "GetNewestGroupMessage", qb, qn, &resp, &st, &eb), XW_OK);
    assert_null(memmem(resp.data, resp.len, "refused", 7));
    assert_null(memmem(resp.data, resp.len, "wrong-host", 10));
    xw_buf_free(&resp);
    xmtp_api_free(a);
}

static void test_ca_file_errors(void **state)
{
    (void)state;
    xmtp_api *a = NULL;
    xw_errbuf eb = {{0}};
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no-such-ca.pem", dir);
    xmtp_api_opts o = {.url = url, .ca_file = missing};
    assert_int_equal(xmtp_api_new(&o, &a, &eb), XW_EINVAL);
    assert_null(a);
    assert_non_null(strstr(eb.msg, "no-such-ca.pem"));
    xmtp_api_opts o2 = {.url = "http://127.0.0.1:1", .ca_file = cert};
    assert_int_equal(xmtp_api_new(&o2, &a, &eb), XW_EINVAL);
    assert_null(a);
    assert_non_null(strstr(eb.msg, "not https://"));
}

int main(int argc, char **argv)
{
    if (argc > 1)
        devnode_path = argv[1];
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary_and_stream_over_tls),
        cmocka_unit_test(test_untrusted_certificate_refused),
        cmocka_unit_test(test_ca_file_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
