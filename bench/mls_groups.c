/*
 * Benchmark: a commit that adds one member to a group of N members (N = 10, 100, 250, 1000;
 * cipher suite 3, XMTP's policy), created by one member and processed by another, against
 * ts-mls doing the same operations in the same run (tests/interop/bench_tsmls.mjs, run
 * through node when tests/interop/node_modules is installed).
 *
 * Both sides build the group the same way: the creator adds the other N - 1 members in
 * batches of 100; one of them (the receiver) joins and follows every commit. Then ROUNDS
 * rounds alternate between the two sides: in each, our side times one commit per N on the
 * creator (discarded afterwards) and its processing on the receiver (loaded from the same
 * saved state each time), then ts-mls does the same (a child node process fed "round" on
 * its stdin). Times are CPU time, not wall time, so that other processes on a loaded
 * machine do not inflate either side: CLOCK_THREAD_CPUTIME_ID of this (single) thread here,
 * process.cpuUsage() of the whole node process there (its WebCrypto work runs on libuv's
 * thread pool). Prints, per N, the median over the rounds of both sides and the ratios
 * ts-mls / ours of the medians (goal: commit >= 10 at every N, <= 3 ms at N = 250).
 *
 * The compared commit is the one ts-mls makes: RFC 9420 §12.4 lets a commit that only adds
 * members omit the UpdatePath, and ts-mls 1.6.4 always omits it then, so ours is made with
 * `no_path` too (same proposals, same Welcome with the ratchet_tree extension). Its work is
 * the key package's checks, the tree hash along the new leaf's path, one HPKE encryption
 * for the joiner, and the GroupInfo over the whole tree (encoded, signed, encrypted).
 *
 * A second table shows our commit with a path, the one an XMTP membership commit makes
 * (its GroupContextExtensions proposal requires a path); ts-mls has no way to add one to an
 * Add-only commit, so it has no counterpart. In a group built only by adds most parent
 * nodes are blank, so the committer encrypts its path secrets to O(N) resolution nodes;
 * that time is almost all X25519 (two scalar multiplications per HPKE encryption).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "common/alloc.h"
#include "common/clock.h"
#include "mls/group.h"
#include "mls/keypackage.h"

#define ROUNDS 9
#define NSIZES 4

static const int sizes[NSIZES] = {10, 100, 250, 1000};

/* CPU time of the calling thread: what our (single-threaded) operations cost, whatever else
 * the machine is running. */
static double now_ms(void) { return (double)xw_clock_thread_cpu_ns() / 1e6; }

static const mls_suite *suite;
static mls_group_config cfg;

static void kp(const char *name, xw_buf *out, mls_key_package_secrets *sec)
{
    mls_sig_priv sig;
    mls_sig_priv_generate(suite, &sig);
    uint64_t t = (uint64_t)time(NULL);
    mls_key_package_opts o = {
        .identity = {(const uint8_t *)name, strlen(name)}, .not_before = t - 60, .not_after = t + 3600};
    xw_buf_init(out, 1 << 20);
    if (mls_key_package_create(suite, &sig, &o, out, sec, NULL) != XW_OK)
        abort();
}

/* One group size on our side: the creator, the saved receiver and the new member's key package. */
typedef struct {
    mls_group *creator;
    xw_buf saved, nkp, cm, wm;
} c_group;

static void setup_c(int n, c_group *g)
{
    xw_buf ckp, rkp;
    mls_key_package_secrets csec, rsec, nsec;
    xw_errbuf eb = {{0}};
    kp("creator", &ckp, &csec);
    kp("receiver", &rkp, &rsec);
    kp("new", &g->nkp, &nsec);
    mls_key_package_secrets_wipe(&nsec);
    mls_group *creator = NULL, *receiver = NULL;
    if (mls_group_create(&cfg, (const uint8_t *)"bench", 5, ckp.data, ckp.len, &csec, NULL, 0, &creator,
                         &eb) != XW_OK)
        abort();
    xw_buf *kps = calloc((size_t)n, sizeof *kps);
    mls_key_package_secrets *secs = calloc((size_t)n, sizeof *secs);
    const uint8_t **ptrs = calloc((size_t)n, sizeof *ptrs);
    size_t *lens = calloc((size_t)n, sizeof *lens);
    size_t pending = 0;
    xw_buf cm, wm;
    xw_buf_init(&cm, (size_t)1 << 28);
    xw_buf_init(&wm, (size_t)1 << 28);
    for (int i = 2; i <= n; i++) {
        if (i == 2) {
            ptrs[pending] = rkp.data;
            lens[pending++] = rkp.len;
        } else {
            char name[32];
            snprintf(name, sizeof name, "m%d", i);
            kp(name, &kps[i - 1], &secs[i - 1]);
            ptrs[pending] = kps[i - 1].data;
            lens[pending++] = kps[i - 1].len;
        }
        if (pending == 100 || i == n) {
            mls_commit_opts o = {.add_kps = ptrs, .add_lens = lens, .n_add = pending};
            xw_buf_reset(&cm);
            xw_buf_reset(&wm);
            if (mls_group_commit(creator, &o, &cm, &wm, &eb) != XW_OK ||
                mls_group_commit_confirm(creator, &eb))
                abort();
            if (!receiver) {
                if (mls_group_join(&cfg, wm.data, wm.len, rkp.data, rkp.len, &rsec, NULL, 0, NULL, 0,
                                   &receiver, &eb))
                    abort();
            } else {
                mls_received r;
                mls_received_init(&r);
                if (mls_group_receive(receiver, cm.data, cm.len, &r, &eb) != XW_OK)
                    abort();
                mls_received_free(&r);
            }
            pending = 0;
        }
    }
    xw_buf_init(&g->saved, (size_t)1 << 28);
    mls_group_save(receiver, &g->saved);
    for (int i = 0; i < n; i++) {
        xw_buf_free(&kps[i]);
        mls_key_package_secrets_wipe(&secs[i]);
    }
    free(kps);
    free(secs);
    free(ptrs);
    free(lens);
    g->cm = cm;
    g->wm = wm;
    xw_buf_free(&ckp);
    xw_buf_free(&rkp);
    g->creator = creator;
    mls_group_free(receiver);
}

/* One timed commit on the creator (then discarded), with or without a path, and its
 * processing on a fresh copy of the receiver. */
static void round_c(c_group *g, int no_path, double *commit_ms, double *process_ms)
{
    xw_errbuf eb = {{0}};
    const uint8_t *np[1] = {g->nkp.data};
    size_t nl[1] = {g->nkp.len};
    mls_commit_opts o = {.add_kps = np, .add_lens = nl, .n_add = 1, .no_path = no_path};
    xw_buf_reset(&g->cm);
    xw_buf_reset(&g->wm);
    double t0 = now_ms();
    if (mls_group_commit(g->creator, &o, &g->cm, &g->wm, &eb) != XW_OK) {
        fprintf(stderr, "commit: %s\n", eb.msg);
        abort();
    }
    double t1 = now_ms();
    mls_group_commit_discard(g->creator);
    mls_group *rcv = NULL;
    if (mls_group_load(g->saved.data, g->saved.len, &rcv, NULL) != XW_OK)
        abort();
    mls_received rr;
    mls_received_init(&rr);
    double t2 = now_ms();
    if (mls_group_receive(rcv, g->cm.data, g->cm.len, &rr, &eb) != XW_OK) {
        fprintf(stderr, "process: %s\n", eb.msg);
        abort();
    }
    double t3 = now_ms();
    mls_received_free(&rr);
    mls_group_free(rcv);
    *commit_ms = t1 - t0;
    *process_ms = t3 - t2;
}

static void free_c(c_group *g)
{
    xw_buf_free(&g->cm);
    xw_buf_free(&g->wm);
    xw_buf_free_secret(&g->saved);
    xw_buf_free(&g->nkp);
    mls_group_free(g->creator);
}

/* The ts-mls child: node with its stdin and stdout on pipes. */
typedef struct {
    pid_t pid;
    FILE *in, *out;
} ts_child;

static int ts_start(ts_child *c)
{
    if (access("tests/interop/node_modules/ts-mls/package.json", F_OK) != 0)
        return -1;
    int to[2], from[2];
    if (pipe(to) || pipe(from))
        return -1;
    c->pid = fork();
    if (c->pid < 0)
        return -1;
    if (c->pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        execlp("node", "node", "tests/interop/bench_tsmls.mjs", "3", "10", "100", "250", "1000",
               (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    c->in = fdopen(to[1], "w");
    c->out = fdopen(from[0], "r");
    char line[128];
    if (!c->in || !c->out || !fgets(line, sizeof line, c->out) || strncmp(line, "ready", 5) != 0)
        return -1;
    return 0;
}

/* One ts-mls round: fills tc/tp per size; -1 if the child failed. */
static int ts_round(ts_child *c, double *tc, double *tp)
{
    fputs("round\n", c->in);
    fflush(c->in);
    char line[128];
    int got = 0;
    while (fgets(line, sizeof line, c->out) && strncmp(line, "end", 3) != 0) {
        int n;
        double a, b;
        if (sscanf(line, "%d %lf %lf", &n, &a, &b) != 3)
            continue;
        for (int i = 0; i < NSIZES; i++)
            if (sizes[i] == n) {
                tc[i] = a;
                tp[i] = b;
                got++;
            }
    }
    return got == NSIZES ? 0 : -1;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    suite = mls_suite_get(3);
    mls_group_config_default(&cfg);
    static c_group g[NSIZES];
    for (int i = 0; i < NSIZES; i++)
        setup_c(sizes[i], &g[i]);
    ts_child ts = {0};
    int have_ts = ts_start(&ts) == 0;
    double c[NSIZES][ROUNDS], p[NSIZES][ROUNDS], tc[NSIZES][ROUNDS], tp[NSIZES][ROUNDS];
    double pc[NSIZES][ROUNDS], pp[NSIZES][ROUNDS]; /* ours with a path */
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < NSIZES; i++) {
            round_c(&g[i], 1, &c[i][r], &p[i][r]);
            round_c(&g[i], 0, &pc[i][r], &pp[i][r]);
        }
        if (have_ts) {
            double a[NSIZES], b[NSIZES];
            have_ts = ts_round(&ts, a, b) == 0;
            for (int i = 0; i < NSIZES; i++) {
                tc[i][r] = a[i];
                tp[i][r] = b[i];
            }
        }
    }
    if (ts.in)
        fclose(ts.in); /* EOF ends the child's loop */
    if (ts.out)
        fclose(ts.out);
    if (ts.pid > 0)
        waitpid(ts.pid, NULL, 0);
    printf("add one member to a group of N (suite 3, PrivateMessage handshakes, Add-only commit without "
           "a path as ts-mls makes it, Welcome with the ratchet tree); CPU time, median of %d interleaved "
           "rounds\n",
           ROUNDS);
    printf("%6s %12s %12s %12s %12s %9s %9s %9s\n", "N", "commit ms", "ts-mls ms", "process ms", "ts-mls ms",
           "commit x", "process x", "both x");
    for (int i = 0; i < NSIZES; i++) {
        double mc = bench_median(c[i], ROUNDS), mp = bench_median(p[i], ROUNDS);
        if (have_ts) {
            double mtc = bench_median(tc[i], ROUNDS), mtp = bench_median(tp[i], ROUNDS);
            /* "both": the whole operation the issue names, create the commit and process it */
            printf("%6d %12.3f %12.3f %12.3f %12.3f %9.1f %9.1f %9.1f\n", sizes[i], mc, mtc, mp, mtp,
                   mtc / mc, mtp / mp, (mtc + mtp) / (mc + mp));
        } else {
            printf("%6d %12.3f %12s %12.3f %12s\n", sizes[i], mc, "-", mp, "-");
        }
    }
    printf("\nours, the same commit with a path (as XMTP's membership commits, whose "
           "GroupContextExtensions requires one; no ts-mls counterpart)\n");
    printf("%6s %12s %12s\n", "N", "commit ms", "process ms");
    for (int i = 0; i < NSIZES; i++) {
        printf("%6d %12.3f %12.3f\n", sizes[i], median(pc[i], ROUNDS), median(pp[i], ROUNDS));
        free_c(&g[i]);
    }
    if (!have_ts)
        printf("ts-mls figures missing: run `make test` once (it installs tests/interop/node_modules) and "
               "node 20\n");
    return 0;
}
