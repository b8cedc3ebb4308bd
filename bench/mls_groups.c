/*
 * Benchmark: a commit that adds one member to a group of N members (N = 10, 100, 250, 1000;
 * cipher suite 3, XMTP's policy), created by one member and processed by another, against
 * ts-mls doing the same operations in the same run (tests/interop/bench_tsmls.mjs, run
 * through node when tests/interop/node_modules is installed).
 *
 * Both sides build the group the same way: the creator adds the other N - 1 members in
 * batches of 100; one of them (the receiver) joins and follows every commit. The commit is
 * timed on the creator (best of REPS; discarded after each run) and its processing on the
 * receiver (best of REPS, each from the same saved state). Prints one row per N with both
 * times and the ratios ts-mls / ours (goal: >= 10 at N = 250).
 *
 * In a group built only by adds, most parent nodes are blank, so the committer encrypts its
 * path secrets to O(N) resolution nodes; the receiver's work (one decryption, log N key
 * derivations, the tree hash along the path) is what grows like log N. The committer's time
 * is almost all X25519 (two scalar multiplications per HPKE encryption, ~58 us here), which
 * ts-mls also runs natively (WebCrypto), so that ratio is bounded by the JavaScript overhead
 * around the same native work.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "mls/group.h"
#include "mls/keypackage.h"

#define REPS 5
#define MAXN 1000

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

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

static void run_c(int n, double *commit_ms, double *process_ms)
{
    xw_buf ckp, rkp, nkp;
    mls_key_package_secrets csec, rsec, nsec;
    xw_errbuf eb = {{0}};
    kp("creator", &ckp, &csec);
    kp("receiver", &rkp, &rsec);
    kp("new", &nkp, &nsec);
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
    xw_buf saved;
    xw_buf_init(&saved, (size_t)1 << 28);
    mls_group_save(receiver, &saved);
    *commit_ms = *process_ms = 1e30;
    const uint8_t *np[1] = {nkp.data};
    size_t nl[1] = {nkp.len};
    mls_commit_opts o = {.add_kps = np, .add_lens = nl, .n_add = 1};
    for (int r = 0; r < REPS; r++) {
        xw_buf_reset(&cm);
        xw_buf_reset(&wm);
        double t0 = now_ms();
        if (mls_group_commit(creator, &o, &cm, &wm, &eb) != XW_OK) {
            fprintf(stderr, "commit: %s\n", eb.msg);
            abort();
        }
        double t1 = now_ms();
        mls_group_commit_discard(creator);
        mls_group *rcv = NULL;
        mls_group_load(saved.data, saved.len, &rcv, NULL);
        mls_received rr;
        mls_received_init(&rr);
        double t2 = now_ms();
        if (mls_group_receive(rcv, cm.data, cm.len, &rr, &eb) != XW_OK) {
            fprintf(stderr, "process: %s\n", eb.msg);
            abort();
        }
        double t3 = now_ms();
        mls_received_free(&rr);
        mls_group_free(rcv);
        if (t1 - t0 < *commit_ms)
            *commit_ms = t1 - t0;
        if (t3 - t2 < *process_ms)
            *process_ms = t3 - t2;
    }
    for (int i = 0; i < n; i++) {
        xw_buf_free(&kps[i]);
        mls_key_package_secrets_wipe(&secs[i]);
    }
    free(kps);
    free(secs);
    free(ptrs);
    free(lens);
    xw_buf_free(&cm);
    xw_buf_free(&wm);
    xw_buf_free_secret(&saved);
    xw_buf_free(&ckp);
    xw_buf_free(&rkp);
    xw_buf_free(&nkp);
    mls_group_free(creator);
    mls_group_free(receiver);
}

int main(void)
{
    static const int sizes[] = {10, 100, 250, 1000};
    const size_t ns = sizeof sizes / sizeof sizes[0];
    suite = mls_suite_get(3);
    mls_group_config_default(&cfg);
    double c[4], p[4], tc[4] = {0}, tp[4] = {0};
    for (size_t i = 0; i < ns; i++)
        run_c(sizes[i], &c[i], &p[i]);
    int have_ts = access("tests/interop/node_modules/ts-mls/package.json", F_OK) == 0;
    if (have_ts) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "node tests/interop/bench_tsmls.mjs 3 %d 10 100 250 1000", REPS);
        FILE *f = popen(cmd, "r");
        int got = 0;
        if (f) {
            int n;
            double a, b;
            while (fscanf(f, "%d %lf %lf", &n, &a, &b) == 3)
                for (size_t i = 0; i < ns; i++)
                    if (sizes[i] == n) {
                        tc[i] = a;
                        tp[i] = b;
                        got++;
                    }
            pclose(f);
        }
        have_ts = got == (int)ns;
    }
    printf("add one member to a group of N (suite 3, PrivateMessage handshakes), best of %d\n", REPS);
    printf("%6s %12s %12s %12s %12s %9s %9s\n", "N", "commit ms", "ts-mls ms", "process ms", "ts-mls ms",
           "commit x", "process x");
    for (size_t i = 0; i < ns; i++) {
        if (have_ts)
            printf("%6d %12.3f %12.3f %12.3f %12.3f %9.1f %9.1f\n", sizes[i], c[i], tc[i], p[i], tp[i],
                   tc[i] / c[i], tp[i] / p[i]);
        else
            printf("%6d %12.3f %12s %12.3f %12s\n", sizes[i], c[i], "-", p[i], "-");
    }
    if (!have_ts)
        printf("ts-mls figures missing: run `make test` once (it installs tests/interop/node_modules) and "
               "node 20\n");
    return 0;
}
