/*
 * Streams against the real dev node (build/xmtp-devnode, a separate process): the client
 * follows a group through the node's SubscribeGroupMessages stream (polled, no thread);
 * the node is restarted (SIGTERM, then started again on the same port and database) while
 * envelopes are waiting to be read; the stream reconnects by itself after its backoff and
 * the client ends with every message exactly once, in order. The other member is the C
 * peer (xc_peer.h), which publishes through the fake node's hooks: the bot joins there,
 * and what the peer sends afterwards is forwarded to the real node.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/xc_peer.h"
#include "xmtp/client/client_int.h"
#include "xmtp/client/stream.h"

static const char *devnode_path = "build/xmtp-devnode";
static char dir[64], db[128], node_log[128], url[64], listen_at[64];
static int port;
static pid_t pid = -1;

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

static int port_open(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void start_node(void)
{
    char *argv[] = {(char *)devnode_path, "--listen", listen_at, "--db", db, "--log-level", "warn", NULL};
    pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (!freopen(node_log, "a", stderr) || !freopen(node_log, "a", stdout))
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    for (int i = 0; i < 200 && !port_open(); i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            fail_msg("xmtp-devnode exited (see %s)", node_log);
        usleep(50000);
    }
    assert_true(port_open());
}

static void stop_node(void)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    pid = -1;
}

static xc_node *real_node, *fake_node;

/* Reads up to `want` items (polls of 200 ms, at most `polls`), applying each. */
static size_t drain(xc_client *bot, xc_stream *s, size_t want, uint64_t *ids, char texts[][16], size_t polls)
{
    size_t n = 0;
    for (size_t p = 0; n < want && p < polls; p++) {
        xc_stream_item it;
        int got = 0;
        xw_errbuf eb = {{0}};
        int rc = xc_stream_next(s, 200, &it, &got, &eb);
        if (rc != XW_OK)
            fail_msg("next: %s: %s", xw_errname(rc), eb.msg);
        if (!got)
            continue;
        xc_events ev;
        rc = xc_stream_apply(bot, &it, NULL, &ev, &eb);
        if (rc != XW_OK)
            fail_msg("apply: %s: %s", xw_errname(rc), eb.msg);
        assert_int_equal(ev.n, 1);
        assert_int_equal(ev.ev[0].kind, XC_EVENT_MESSAGE);
        snprintf(texts[n], 16, "%s", ev.ev[0].text);
        ids[n++] = it.group.id;
        xc_events_free(&ev);
        xc_stream_item_free(&it);
    }
    return n;
}

/* The peer publishes through the fake node's hooks: what it sent there is forwarded to the
 * real node (SendGroupMessages), as the peer would have sent it. */
static uint64_t forwarded;

static void forward(const uint8_t *gid, size_t gl)
{
    xw_errbuf eb = {{0}};
    xc_page p = {0};
    assert_int_equal(fake_node->ops->query_group(fake_node->ctx, gid, gl, forwarded, XC_PAGE_MAX, &p, &eb),
                     XW_OK);
    for (size_t i = 0; i < p.n; i++) {
        int rc = real_node->ops->send_group(real_node->ctx, &p.groups[i].data, 1, &eb);
        if (rc != XW_OK)
            fail_msg("forward: %s", eb.msg);
        forwarded = p.groups[i].id;
    }
    xc_page_free(&p);
}

static void test_node_restart(void **state)
{
    (void)state;
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_node_api_new(url, &real_node, &eb), XW_OK);
    assert_int_equal(xc_node_fake_new(NULL, &fake_node, &eb), XW_OK);
    xmtp_wallet *wallet = NULL;
    assert_int_equal(xmtp_wallet_generate(&wallet, &eb), XW_OK);
    char path[160];
    snprintf(path, sizeof path, "%s/bot.db3", dir);
    /* the bot joins alice's group through the fake node */
    xc_client_opts o = {.db_path = path, .node = fake_node};
    xc_client *bot = NULL;
    if (xc_client_create(&o, wallet, &bot, &eb) != XW_OK)
        fail_msg("create: %s", eb.msg);
    xc_peer *alice = xc_peer_new(fake_node, NULL);
    xc_peer_create_group(alice, "restart");
    xc_peer_add(alice, xc_client_inbox_id(bot), xc_client_installation_id(bot));
    int rc = xc_client_sync_all(bot, NULL, &eb);
    if (rc != XW_OK)
        fail_msg("sync: %s: %s", xw_errname(rc), eb.msg);
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(alice, &gl);
    /* then follows it on the real node, where the group's history starts now */
    xc_peer_send_text(alice, "fake only", NULL);
    forwarded = xc_node_fake_group_message_count(fake_node);
    xc_client_free(bot);
    o.node = real_node;
    assert_int_equal(xc_client_open(&o, &bot, &eb), XW_OK);
    assert_int_equal(xc_store_group_set_cursor(xc_client_store(bot), gid, gl, 0, &eb), XW_OK);
    xc_stream *s = NULL;
    xc_stream_opts so = {.backoff_min_ms = 50, .backoff_max_ms = 400};
    assert_int_equal(xc_stream_open_group(bot, gid, gl, &so, &s, &eb), XW_OK);
    char text[16];
    for (int i = 0; i < 8; i++) {
        snprintf(text, sizeof text, "m%d", i);
        xc_peer_send_text(alice, text, NULL);
    }
    forward(gid, gl);
    uint64_t ids[16];
    char texts[16][16];
    assert_int_equal(drain(bot, s, 5, ids, texts, 100), 5);
    /* the node goes away and comes back with the same database */
    stop_node();
    start_node();
    for (int i = 8; i < 10; i++) {
        snprintf(text, sizeof text, "m%d", i);
        xc_peer_send_text(alice, text, NULL);
    }
    forward(gid, gl);
    assert_int_equal(drain(bot, s, 5, ids + 5, texts + 5, 300), 5);
    for (int i = 0; i < 10; i++) {
        snprintf(text, sizeof text, "m%d", i);
        assert_string_equal(texts[i], text);
        if (i)
            assert_true(ids[i] > ids[i - 1]);
    }
    xc_stream_stats st;
    xc_stream_stats_get(s, &st);
    assert_true(st.reconnects >= 1);
    assert_int_equal(st.delivered, 10);
    /* nothing more, nothing twice */
    assert_int_equal(drain(bot, s, 1, ids, texts, 3), 0);
    xc_stream_close(s);
    xc_peer_free(alice);
    xc_client_free(bot);
    xmtp_wallet_free(wallet);
    xc_node_free(real_node);
    xc_node_free(fake_node);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/xc-devstream-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(db, sizeof db, "%s/node.db", dir);
    snprintf(node_log, sizeof node_log, "%s/node.log", dir);
    port = free_port();
    if (port < 0)
        return -1;
    snprintf(listen_at, sizeof listen_at, "127.0.0.1:%d", port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    start_node();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    stop_node();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        devnode_path = argv[1];
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_node_restart)};
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
