/*
 * Benchmark: PrivateMessage protect and unprotect of a 200-byte application message (cipher
 * suite 3, the XMTP suite; and suite 1) against raw libsodium Ed25519 sign and verify of a
 * 200-byte message, measured in the same run. Prints rates and the ratios
 * protect/sign and unprotect/verify (goal: both >= 0.8; the signature is the floor of the cost).
 *
 * Each measurement runs N operations, timed in thread CPU time, and keeps the best of ROUNDS
 * interleaved rounds, to damp noise from other processes on a shared machine. It also prints the rate of
 * SignWithLabel over the exact FramedContentTBS that protect signs (about 380 bytes with the group context,
 * against the baseline's 200), which is the true floor of protect's cost.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "mls/framing.h"
#include "mls/key_schedule.h"
#include "mls/secret_tree.h"

#define N 2000
#define ROUNDS 15
#define MSG_LEN 200

/* Thread CPU time, not wall time: the machine is shared, and time spent descheduled
 * says nothing about this code. Everything measured is single-threaded. */
static double now(void) { return (double)xw_clock_thread_cpu_ns() / 1e9; }

static mls_sig_priv signer;

static int lookup(void *arg, const mls_sender *sender, mls_span *pub, xw_errbuf *eb)
{
    (void)arg;
    (void)sender;
    (void)eb;
    *pub = (mls_span){signer.pub, signer.pub_len};
    return XW_OK;
}

static void die(const char *what, const xw_errbuf *eb)
{
    fprintf(stderr, "bench: %s: %s\n", what, eb ? eb->msg : "");
    exit(1);
}

typedef struct {
    double sign, verify, tbs_sign;
    double protect[2], unprotect[2];
} rates;

static void best(double *slot, double v)
{
    if (v > *slot)
        *slot = v;
}

/* One round of the baseline: raw libsodium sign and verify of a 200-byte message. */
static void round_sodium(rates *out)
{
    uint8_t pk[32], sk[64], msg[MSG_LEN], sig[64];
    crypto_sign_keypair(pk, sk);
    randombytes_buf(msg, sizeof msg);
    double t0 = now();
    for (int i = 0; i < N; i++) {
        msg[0] = (uint8_t)i;
        crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    }
    double t1 = now();
    for (int i = 0; i < N; i++)
        if (crypto_sign_verify_detached(sig, msg, sizeof msg, pk) != 0)
            die("verify", NULL);
    double t2 = now();
    best(&out->sign, N / (t1 - t0));
    best(&out->verify, N / (t2 - t1));
}

/* One round of protect then unprotect of N messages with the given suite (slot 0: suite 3,
 * slot 1: suite 1). With suite 3 it also times SignWithLabel over the FramedContentTBS that
 * protect signs, which is the floor of protect's cost. */
static void round_mls(uint16_t suite_id, int slot, rates *out)
{
    const mls_suite *s = mls_suite_get(suite_id);
    xw_errbuf eb = {{0}};
    uint8_t seed[32], enc[32], sds[32], mem[32], th[32], cth[32], payload[MSG_LEN];
    randombytes_buf(seed, 32);
    randombytes_buf(enc, 32);
    randombytes_buf(sds, 32);
    randombytes_buf(mem, 32);
    randombytes_buf(th, 32);
    randombytes_buf(cth, 32);
    randombytes_buf(payload, sizeof payload);
    if (mls_sig_priv_from_seed(s, seed, 32, &signer, &eb))
        die("key", &eb);
    mls_group_context gc = {1,        suite_id, {(const uint8_t *)"bench-group-0123456789abcdef", 28},
                            42,       {th, 32}, {cth, 32},
                            {NULL, 0}};
    xw_buf gcb, tbs;
    xw_buf_init(&gcb, 4096);
    xw_buf_init(&tbs, 4096);
    mls_writer w;
    mls_writer_init(&w, &gcb);
    mls_group_context_write(&w, &gc);
    xw_buf *msgs = xw_calloc(N, sizeof *msgs);
    mls_secret_tree *snd, *rcv;
    mls_framing_ctx sctx, rctx;
    if (!msgs || mls_secret_tree_new(s, enc, 8, NULL, &snd, &eb) ||
        mls_secret_tree_new(s, enc, 8, NULL, &rcv, &eb) ||
        mls_framing_ctx_init(&sctx, s, gcb.data, gcb.len, mem, sds, snd, NULL, NULL, &eb) ||
        mls_framing_ctx_init(&rctx, s, gcb.data, gcb.len, mem, sds, rcv, lookup, NULL, &eb))
        die("setup", &eb);
    mls_framed_content fc = {gc.group_id,
                             42,
                             {MLS_SENDER_MEMBER, 3},
                             {NULL, 0},
                             MLS_CONTENT_APPLICATION,
                             {payload, sizeof payload}};
    for (int i = 0; i < N; i++)
        xw_buf_init(&msgs[i], 4096), xw_buf_reserve(&msgs[i], 1024),
            memset(msgs[i].data, 0, 1024); /* the caller's output buffer, touched */
    double t0 = now();
    for (int i = 0; i < N; i++)
        if (mls_protect_private(&sctx, &fc, &signer, NULL, 0, &msgs[i], &eb))
            die("protect", &eb);
    double t1 = now();
    mls_unprotected u;
    mls_unprotected_init(&u);
    for (int i = 0; i < N; i++)
        if (mls_unprotect(&rctx, msgs[i].data, msgs[i].len, &u, &eb) || u.ac.content.content.len != MSG_LEN)
            die("unprotect", &eb);
    double t2 = now();
    best(&out->protect[slot], N / (t1 - t0));
    best(&out->unprotect[slot], N / (t2 - t1));
    if (slot == 0) {
        mls_writer_init(&w, &tbs);
        mls_framed_content_tbs_write(&w, MLS_WIRE_FORMAT_PRIVATE_MESSAGE, &fc, (mls_span){gcb.data, gcb.len});
        uint8_t sig[64];
        double t3 = now();
        for (int i = 0; i < N; i++)
            mls_sign_with_label(s, &signer, "FramedContentTBS", tbs.data, tbs.len, sig, NULL);
        best(&out->tbs_sign, N / (now() - t3));
    }
    mls_unprotected_free(&u);
    for (int i = 0; i < N; i++)
        xw_buf_free(&msgs[i]);
    xw_free(msgs);
    mls_secret_tree_free(snd);
    mls_secret_tree_free(rcv);
    xw_buf_free(&gcb);
    xw_buf_free(&tbs);
    mls_sig_priv_wipe(&signer);
}

int main(void)
{
    if (sodium_init() < 0)
        die("sodium_init", NULL);
    /* Rounds interleave the baseline and the measured code, so that load from other
     * processes hits both alike; each rate is the best of its rounds. */
    rates r = {0};
    for (int i = 0; i < ROUNDS; i++) {
        round_sodium(&r);
        round_mls(3, 0, &r);
        round_mls(1, 1, &r);
    }
    printf("baseline  Ed25519 sign   %9.0f/s   verify    %6.0f/s   (libsodium, %d-byte message)\n", r.sign,
           r.verify, MSG_LEN);
    printf("floor     SignWithLabel(FramedContentTBS) of the protected message: %.0f/s (%.2f of the baseline "
           "sign)\n",
           r.tbs_sign, r.tbs_sign / r.sign);
    int ok = 1;
    static const uint16_t suites[] = {3, 1};
    for (int i = 0; i < 2; i++) {
        printf("suite %u   protect        %9.0f/s   unprotect %6.0f/s   (PrivateMessage, %d-byte application "
               "message)\n",
               suites[i], r.protect[i], r.unprotect[i], MSG_LEN);
        printf("suite %u   protect/sign   %9.2f     unprotect/verify %5.2f   (goal >= 0.80)\n", suites[i],
               r.protect[i] / r.sign, r.unprotect[i] / r.verify);
        if (r.protect[i] / r.sign < 0.8 || r.unprotect[i] / r.verify < 0.8)
            ok = 0;
    }
    printf("protect/floor (suite 3) %.2f\n", r.protect[0] / r.tbs_sign);
    printf("%s\n", ok ? "goal met" : "goal NOT met");
    return 0;
}
