/*
 * The dev node under attack: the real xmtp-devnode binary on 127.0.0.1 and, for each attack
 * that once stalled, exhausted or locked it out (docs/devnode.md, "Limits"), an attacker
 * playing it from 127.0.0.2 and up (loopback addresses, so the node sees another client)
 * while a well-behaved client (the project's C client, from 127.0.0.1) keeps calling.
 *
 * Per attack it prints the well-behaved client's calls, failures and latency (p50, p99,
 * max), the node's peak RSS (sampled from /proc every 20 ms) and CPU, and checks that
 * every call of the well-behaved client succeeded and that the RSS stayed under the
 * documented bound (--max-memory plus 256 MiB; the suite runs the node with --max-memory
 * 256 MiB). Latency is printed, never asserted (machines are noisy); the p99 < 100 ms goal
 * is reported as met or not met. Every attack is a bounded loop that stops by itself.
 *
 *   attack_devnode [--bench] [--seconds S] [NODE_BINARY]   (default build/xmtp-devnode)
 *
 * ATTACK_NODE_LOG_LEVEL=info shows the node's log line of every request (with its time);
 * ATTACK_ONLY=23 plays only attacks 2 and 3.
 * `make test` runs it (3 s per attack); `make bench` runs the release build,
 * build/bench/devnode_attack_bench, which behaves as with --bench (10 s per attack).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "tests/unit/devnode_attack.h"
#include "tests/unit/devnode_helpers.h"

#define MLS "/xmtp.mls.api.v1.MlsApi/"
#define MAX_MEMORY (256u << 20)
#define RSS_BOUND (MAX_MEMORY + (256u << 20))
#define MAX_LAT 100000

static int64_t ms_now(void) { return xw_clock_mono_ns(xw_clock_real()) / XW_NS_PER_MS; }

static int g_seconds = 3;
static int g_bench;
static int g_pass, g_fail;

/* ------------------------------------------------------------------------------------------ */
/* the node process */

typedef struct {
    pid_t pid;
    int port;
    char url[64];
} node_proc;

static int node_spawn(node_proc *n, const char *bin, const char *const *extra, rlim_t nofile)
{
    char portfile[] = "/tmp/attack-devnode-port-XXXXXX";
    int pf = mkstemp(portfile);
    if (pf < 0)
        return -1;
    close(pf);
    unlink(portfile);
    const char *level = getenv("ATTACK_NODE_LOG_LEVEL"); /* e.g. info: every request with its time */
    const char *argv[32] = {
        bin,      "--listen",    "127.0.0.1:0",          "--db",         ":memory:", "--port-file",
        portfile, "--log-level", level ? level : "warn", "--max-memory", "268435456"};
    int k = 11;
    for (int i = 0; extra && extra[i] && k < 30; i++)
        argv[k++] = extra[i];
    argv[k] = NULL;
    n->pid = fork();
    if (n->pid < 0)
        return -1;
    if (n->pid == 0) {
        if (nofile) {
            struct rlimit rl = {nofile, nofile};
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(portfile, "r");
        if (f) {
            int ok = fscanf(f, "%d", &n->port) == 1;
            fclose(f);
            unlink(portfile);
            if (ok) {
                snprintf(n->url, sizeof n->url, "http://127.0.0.1:%d", n->port);
                return 0;
            }
        }
        usleep(10000);
    }
    kill(n->pid, SIGKILL);
    waitpid(n->pid, NULL, 0);
    return -1;
}

static void node_stop(node_proc *n)
{
    kill(n->pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        if (waitpid(n->pid, NULL, WNOHANG) == n->pid)
            return;
        usleep(10000);
    }
    kill(n->pid, SIGKILL);
    waitpid(n->pid, NULL, 0);
}

static size_t node_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    size_t kib = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtoul(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

static double node_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* fields after the command name */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ------------------------------------------------------------------------------------------ */
/* the well-behaved client and the RSS sampler */

typedef struct {
    const node_proc *node;
    atomic_int stop;
    pthread_t th;
    double *lat;
    size_t n, fails;
    char err[256];
} good_client;

static void *good_thread(void *p)
{
    good_client *g = p;
    xmtp_api *api;
    xw_errbuf eb = {{0}};
    if (xmtp_api_new(&(xmtp_api_opts){.url = g->node->url, .timeout_ms = 20000, .retries = -1}, &api, &eb)) {
        snprintf(g->err, sizeof g->err, "%s", eb.msg);
        g->fails++;
        return NULL;
    }
    const uint8_t gid[16] = "well-behaved-grp";
    xw_buf q, resp, m;
    xw_buf_init(&q, 1024);
    xw_buf_init(&resp, 64u << 20);
    xw_buf_init(&m, 4096);
    atk_query_body(&q, gid, 10);
    for (unsigned i = 0; !atomic_load(&g->stop) && g->n < MAX_LAT; i++) {
        int64_t t0 = xw_clock_mono_ns(xw_clock_real());
        xmtp_api_status st;
        int rc;
        xw_buf_reset(&resp);
        if (i % 2) {
            rc = xmtp_api_unary(api, MLS "QueryGroupMessages", q.data + 5, q.len - 5, &resp, &st, &eb);
        } else {
            char payload[32];
            snprintf(payload, sizeof payload, "good-%u", i);
            xw_buf_reset(&m);
            tn_mls_private(&m, gid, 16, 1, payload);
            /* SendGroupMessagesRequest{messages{v1{data}}} by hand: 3 nested length fields */
            uint8_t body[512];
            size_t n1 = m.len, n2 = 2 + n1, n3 = 2 + n2;
            if (n3 + 2 > sizeof body || n3 >= 128) {
                rc = XW_EINVAL;
            } else {
                body[0] = 0x0a, body[1] = (uint8_t)n3, body[2] = 0x0a, body[3] = (uint8_t)n2, body[4] = 0x0a;
                body[5] = (uint8_t)n1;
                memcpy(body + 6, m.data, n1);
                rc = xmtp_api_unary(api, MLS "SendGroupMessages", body, 6 + n1, &resp, &st, &eb);
            }
        }
        double ms = (double)(xw_clock_mono_ns(xw_clock_real()) - t0) / 1e6;
        if (rc == XW_OK) {
            g->lat[g->n++] = ms;
        } else {
            g->fails++;
            snprintf(g->err, sizeof g->err, "%s", eb.msg);
        }
        usleep(2000);
    }
    xw_buf_free(&q);
    xw_buf_free(&resp);
    xw_buf_free(&m);
    xmtp_api_free(api);
    return NULL;
}

typedef struct {
    pid_t pid;
    atomic_int stop;
    atomic_size_t max_kib;
    pthread_t th;
} rss_sampler;

static void *rss_thread(void *p)
{
    rss_sampler *r = p;
    while (!atomic_load(&r->stop)) {
        size_t k = node_rss_kib(r->pid);
        if (k > atomic_load(&r->max_kib))
            atomic_store(&r->max_kib, k);
        usleep(20000);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Runs attack(node, ms, arg) while the well-behaved client calls, then reports and checks. */
typedef void (*attack_fn)(const node_proc *node, int ms, void *arg);

static void play(const char *name, const node_proc *node, attack_fn attack, void *arg)
{
    const char *only = getenv("ATTACK_ONLY"); /* e.g. "23": only attacks 2 and 3 */
    if (only && !strchr(only, name[0]))
        return;
    usleep(300000); /* the previous attack's memory goes back to the system (node sweep: 100 ms) */
    good_client g = {.node = node};
    g.lat = xw_calloc(MAX_LAT, sizeof *g.lat);
    rss_sampler r = {.pid = node->pid};
    size_t rss0 = node_rss_kib(node->pid) / 1024;
    atomic_store(&r.max_kib, rss0 * 1024);
    double cpu0 = node_cpu_s(node->pid);
    int64_t t0 = ms_now();
    pthread_create(&r.th, NULL, rss_thread, &r);
    pthread_create(&g.th, NULL, good_thread, &g);
    attack(node, g_seconds * 1000, arg);
    atomic_store(&g.stop, 1);
    pthread_join(g.th, NULL);
    atomic_store(&r.stop, 1);
    pthread_join(r.th, NULL);
    double wall = (double)(ms_now() - t0) / 1000, cpu = node_cpu_s(node->pid) - cpu0;
    qsort(g.lat, g.n, sizeof *g.lat, cmp_double);
    double p50 = g.n ? g.lat[g.n / 2] : 0, p99 = g.n ? g.lat[(g.n * 99) / 100] : 0;
    double mx = g.n ? g.lat[g.n - 1] : 0;
    size_t rss = atomic_load(&r.max_kib) / 1024;
    int ok = g.fails == 0 && g.n >= 2 && (size_t)rss <= RSS_BOUND >> 20;
    printf("%-44s good client %5zu calls, %zu failed; p50 %6.2f ms, p99 %7.2f ms, max %8.2f ms; node RSS "
           "%3zu -> peak %3zu MiB (bound %u), CPU %3.0f%%; p99 < 100 ms goal: %s%s\n",
           name, g.n, g.fails, p50, p99, mx, rss0, rss, RSS_BOUND >> 20, wall > 0 ? 100 * cpu / wall : 0,
           p99 < 100 ? "met" : "not met", ok ? "" : "  <-- FAILED");
    if (g.fails)
        printf("    last failure of the well-behaved client: %s\n", g.err);
    fflush(stdout);
    if (ok)
        g_pass++;
    else
        g_fail++;
    xw_free(g.lat);
}

/* ------------------------------------------------------------------------------------------ */
/* the attacks */

static const char *src_ip(int i)
{
    static char ip[8][16];
    snprintf(ip[i & 7], sizeof ip[0], "127.0.0.%d", 2 + i);
    return ip[i & 7];
}

static void pump_all(rawc **c, int n, int ms)
{
    for (int64_t end = ms_now() + ms; ms_now() < end;)
        for (int i = 0; i < n; i++)
            if (c[i])
                raw_pump(c[i], 1);
}

/* 0. No attack: the well-behaved client alone. */
static void attack_none(const node_proc *node, int ms, void *arg)
{
    (void)node;
    (void)arg;
    usleep((useconds_t)ms * 1000);
}

/* 1. SubscribeGroupMessages with keys chosen to collide in the old unkeyed hash: 100,000 of
 * them (refused), then the most a connection may hold, while messages are published. */
static void attack_subscriptions(const node_proc *node, int ms, void *arg)
{
    (void)arg;
    xw_buf big, ten;
    xw_buf_init(&big, 64u << 20);
    xw_buf_init(&ten, 64u << 20);
    atk_subscribe_body(&big, 100000, 32, 1, 1, NULL);
    rawc *c[4] = {0};
    int64_t end = ms_now() + ms;
    for (int i = 0; i < 4 && ms_now() < end; i++) {
        c[i] = raw_connect_from(node->port, 65535, src_ip(0));
        if (!c[i])
            continue;
        raw_request(c[i], MLS "SubscribeGroupMessages", NULL, big.data, big.len);
        for (int k = 0; k < 5; k++) {
            atk_subscribe_body(&ten, 10000, 32, 1, (uint32_t)(10 * i + k + 2), NULL);
            raw_request(c[i], MLS "SubscribeGroupMessages", NULL, ten.data, ten.len);
            raw_pump(c[i], 1);
        }
    }
    pump_all(c, 4, (int)(end - ms_now()));
    for (int i = 0; i < 4; i++)
        raw_close(c[i]);
    xw_buf_free(&big);
    xw_buf_free(&ten);
}

/* 2. Request bodies: n connections, each with 1024 streams announcing a 50 MiB message and
 * sending it as fast as the node lets them. */
static void attack_request_flood(const node_proc *node, int ms, void *arg)
{
    int nconn = *(int *)arg;
    xw_buf big;
    xw_buf_init(&big, (50u << 20) + 5);
    atk_big_body(&big, 50u << 20);
    rawc *c[16] = {0};
    for (int i = 0; i < nconn && i < 16; i++) {
        c[i] = raw_connect_from(node->port, 65535, src_ip(i % 4));
        for (int k = 0; c[i] && k < 1024 / nconn; k++)
            raw_request(c[i], MLS "QueryGroupMessages", NULL, big.data, big.len);
    }
    pump_all(c, nconn, ms);
    for (int i = 0; i < nconn && i < 16; i++)
        raw_close(c[i]);
    xw_buf_free(&big);
}

/* 3. Clients that never read (zero flow-control window) asking for large pages. */
static void attack_unread(const node_proc *node, int ms, void *arg)
{
    (void)arg;
    xw_buf q;
    xw_buf_init(&q, 1024);
    const uint8_t gid[16] = "large-page-group";
    atk_query_body(&q, gid, 100);
    rawc *c[8] = {0};
    for (int i = 0; i < 8; i++) {
        c[i] = raw_connect_from(node->port, 0, src_ip(i % 4));
        for (int k = 0; c[i] && k < 20; k++)
            raw_request(c[i], MLS "QueryGroupMessages", NULL, q.data, q.len);
    }
    pump_all(c, 8, ms);
    for (int i = 0; i < 8; i++)
        raw_close(c[i]);
    xw_buf_free(&q);
}

static int tcp_from(int port, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in la = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &la.sin_addr);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&la, sizeof la) != 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* 4. 4,200 sockets that never say anything, from 9 addresses (more than the node's 4,096
 * connections, 600 from one address). */
static void attack_idle(const node_proc *node, int ms, void *arg)
{
    (void)arg;
    enum { N = 4200 };
    int *fd = xw_calloc(N, sizeof *fd);
    int64_t end = ms_now() + ms;
    for (int i = 0; i < N && ms_now() < end; i++) {
        char ip[16];
        snprintf(ip, sizeof ip, "127.0.1.%d", i < 600 ? 1 : 2 + (i - 600) / 450);
        fd[i] = tcp_from(node->port, ip);
    }
    int64_t left = end - ms_now();
    if (left > 0)
        usleep((useconds_t)left * 1000);
    for (int i = 0; i < N; i++)
        if (fd[i] > 0)
            close(fd[i]);
    xw_free(fd);
}

/* 5. A node allowed few descriptors: connections that hold a call each, more than it can
 * accept. */
static void attack_descriptors(const node_proc *node, int ms, void *arg)
{
    (void)arg;
    xw_buf sub;
    xw_buf_init(&sub, 1 << 20);
    atk_subscribe_body(&sub, 1, 16, 0, 5, NULL);
    enum { N = 400 };
    rawc **c = xw_calloc(N, sizeof *c);
    int64_t end = ms_now() + ms;
    for (int i = 0; i < N && ms_now() < end; i++) {
        c[i] = raw_connect_from(node->port, 65535, src_ip(0));
        if (c[i]) {
            raw_request(c[i], MLS "SubscribeGroupMessages", NULL, sub.data, sub.len);
            raw_pump(c[i], 0);
        }
    }
    pump_all(c, N, (int)(end - ms_now()));
    for (int i = 0; i < N; i++)
        raw_close(c[i]);
    xw_free(c);
    xw_buf_free(&sub);
}

/* 6. grpc-timeout values at and past the limits of the format. */
static void attack_timeouts(const node_proc *node, int ms, void *arg)
{
    (void)arg;
    static const char *const t[] = {"99999999H", "999999999999H", "99999999n", "-1S", "1x"};
    xw_buf sub;
    xw_buf_init(&sub, 1 << 20);
    atk_subscribe_body(&sub, 1, 16, 0, 6, NULL);
    rawc *c = raw_connect_from(node->port, 65535, src_ip(1));
    for (int64_t end = ms_now() + ms, i = 0; c && ms_now() < end; i++) {
        raw_request_timeout(c, MLS "SubscribeGroupMessages", NULL, sub.data, sub.len, t[i % 5]);
        raw_pump(c, 5);
        if (i % 200 == 199) { /* stay below the stream limit */
            raw_close(c);
            c = raw_connect_from(node->port, 65535, src_ip(1));
        }
    }
    raw_close(c);
    xw_buf_free(&sub);
}

/* 7. Heavy requests pipelined: GetNewestGroupMessage for 1,000 stored groups, 8 at a time
 * on each of 4 connections, and 10,000 ids (refused). */
static void attack_heavy(const node_proc *node, int ms, void *arg)
{
    (void)arg;
    xw_buf h, over;
    xw_buf_init(&h, 1 << 20);
    xw_buf_init(&over, 1 << 20);
    atk_newest_body(&h, 1000, 16, 1);
    atk_newest_body(&over, 10000, 16, 0);
    rawc *c[4];
    int sent[4] = {0};
    for (int i = 0; i < 4; i++)
        c[i] = raw_connect_from(node->port, 1 << 20, src_ip(i));
    for (int64_t end = ms_now() + ms; ms_now() < end;) {
        for (int i = 0; i < 4; i++) {
            if (!c[i])
                continue;
            while (sent[i] - raw_streams_closed(c[i]) < 8) {
                raw_request(c[i], MLS "GetNewestGroupMessage", NULL, sent[i] % 50 ? h.data : over.data,
                            sent[i] % 50 ? h.len : over.len);
                sent[i]++;
            }
            raw_pump(c[i], 1);
        }
    }
    for (int i = 0; i < 4; i++)
        raw_close(c[i]);
    xw_buf_free(&h);
    xw_buf_free(&over);
}

/* 8. A 1 MiB group id on every RPC that takes one. */
static void attack_group_ids(const node_proc *node, int ms, void *arg)
{
    (void)arg;
    xw_buf b[ATK_GROUP_ID_RPCS];
    const char *method[ATK_GROUP_ID_RPCS];
    for (int i = 0; i < ATK_GROUP_ID_RPCS; i++) {
        xw_buf_init(&b[i], 4u << 20);
        method[i] = atk_group_id_body(&b[i], i, 1u << 20);
    }
    rawc *c = raw_connect_from(node->port, 65535, src_ip(2));
    for (int64_t end = ms_now() + ms, i = 0; c && ms_now() < end; i++) {
        int32_t sid = raw_request(c, method[i % ATK_GROUP_ID_RPCS], NULL, b[i % ATK_GROUP_ID_RPCS].data,
                                  b[i % ATK_GROUP_ID_RPCS].len);
        raw_run(c, sid, 2000);
    }
    raw_close(c);
    for (int i = 0; i < ATK_GROUP_ID_RPCS; i++)
        xw_buf_free(&b[i]);
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *bin = "build/xmtp-devnode";
    if (strstr(argv[0], "bench")) /* the release build that `make bench` runs */
        g_bench = 1, g_seconds = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--bench"))
            g_bench = 1, g_seconds = 10;
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            g_seconds = atoi(argv[++i]) > 0 ? atoi(argv[i]) : g_seconds;
        else
            bin = argv[i];
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max; /* the idle attack opens 4,200 sockets */
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 5000) {
        printf("the descriptor limit (%llu) is too low for the attacks; raise ulimit -n\n",
               (unsigned long long)rl.rlim_cur);
        return 1;
    }
    node_proc node;
    if (node_spawn(&node, bin, NULL, 0) != 0) {
        printf("cannot start %s\n", bin);
        return 1;
    }
    printf("xmtp-devnode pid %d on port %d, --max-memory %u MiB, %d s per attack; idle RSS %zu MiB\n",
           (int)node.pid, node.port, MAX_MEMORY >> 20, g_seconds, node_rss_kib(node.pid) / 1024);
    xmtp_api *api;
    xw_errbuf eb = {{0}};
    if (xmtp_api_new(&(xmtp_api_opts){.url = node.url}, &api, &eb) != XW_OK) {
        printf("%s\n", eb.msg);
        return 1;
    }
    const uint8_t large[16] = "large-page-group";
    atk_fill_group(api, large, 100, 256u << 10); /* a page of 100 is 25 MiB */
    atk_fill_groups(api, 1, 1000);
    xmtp_api_free(api);

    play("0 none (baseline)", &node, attack_none, NULL);
    play("1 subscriptions: 100k then 5x10k colliding", &node, attack_subscriptions, NULL);
    int one = 1, sixteen = 16;
    play("2 request flood: 1 conn x 1024 x 50 MiB", &node, attack_request_flood, &one);
    play("2 request flood: 16 conns x 64 x 50 MiB", &node, attack_request_flood, &sixteen);
    play("3 unread responses: 8 zero-window x 20 pages", &node, attack_unread, NULL);
    play("4 idle sockets: 4,200 from 9 addresses", &node, attack_idle, NULL);
    play("6 grpc-timeout extremes", &node, attack_timeouts, NULL);
    play("7 heavy: 4 conns x 8 x GetNewest(1000)", &node, attack_heavy, NULL);
    play("8 group ids of 1 MiB on every RPC", &node, attack_group_ids, NULL);
    node_stop(&node);

    /* 5. a node that may open 256 descriptors, 64 connections per address */
    static const char *const few[] = {"--max-connections-per-address", "64", NULL};
    if (node_spawn(&node, bin, few, 256) != 0) {
        printf("cannot start %s with 256 descriptors\n", bin);
        return 1;
    }
    play("5 descriptors: 400 busy conns, limit 256 fds", &node, attack_descriptors, NULL);
    node_stop(&node);
    printf("%s%d passed, %d failed\n", g_bench ? "attack bench: " : "", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
