/*
 * X-Wing and ML-KEM-768 speed against bare X25519, measured in the same run.
 *
 * Each operation runs for about the given milliseconds (default 700, after a short warm-up),
 * split into 5 rounds that interleave all operations. Time is the thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID), so that time the scheduler gives to other processes on a shared
 * machine does not count; the figure is operations per second and
 * the ratio is the operation's cost in units of one X25519 shared-secret computation
 * (libsodium crypto_scalarmult) measured in the same round, both as medians over the rounds.
 * The goal of issue 9: X-Wing decapsulation within 3x of X25519. Usage: bench_xwing [ms].
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/parse.h"
#include "mls/mlkem.h"
#include "mls/mlkem_int.h"
#include "mls/xwing.h"

static double now_s(void) { return (double)xw_clock_thread_cpu_ns() / 1e9; }

static uint8_t xsk[32], xpk[32], xpeer[32], xss[32];
static uint8_t wsk[32], wpk[MLS_XWING_PK_LEN], wct[MLS_XWING_CT_LEN], wss[32];
static uint8_t mek[MLS_MLKEM768_EK_LEN], mdk[MLS_MLKEM768_DK_LEN], mct[MLS_MLKEM768_CT_LEN], mss[32];
static int failures;

static void op_x25519(void) { failures += crypto_scalarmult(xss, xsk, xpeer) != 0; }
static void op_x25519_keygen(void) { failures += crypto_scalarmult_base(xpk, xsk) != 0; }
static void op_x25519_keygen_table(void) { failures += mls_x25519_base(xpk, xsk) != XW_OK; }
static void op_xwing_keygen(void) { failures += mls_xwing_keygen(wsk, wpk, NULL) != XW_OK; }
static void op_xwing_encaps(void) { failures += mls_xwing_encaps(wpk, sizeof wpk, wct, wss, NULL) != XW_OK; }
static void op_xwing_decaps(void)
{
    failures += mls_xwing_decaps(wsk, sizeof wsk, wct, sizeof wct, wss, NULL) != XW_OK;
}
static mls_xwing_key *wkey;
static void op_xwing_key_decaps(void)
{
    failures += mls_xwing_key_decaps(wkey, wct, sizeof wct, wss, NULL) != XW_OK;
}
static void op_mlkem_keygen(void) { failures += mls_mlkem768_keygen(mek, mdk) != XW_OK; }
static void op_mlkem_encaps(void)
{
    failures += mls_mlkem768_encaps(mek, sizeof mek, mct, mss, NULL) != XW_OK;
}
static void op_mlkem_decaps(void)
{
    failures += mls_mlkem768_decaps(mdk, sizeof mdk, mct, sizeof mct, mss, NULL) != XW_OK;
}

static double rate(void (*op)(void), double seconds)
{
    for (int i = 0; i < 20; i++)
        op();
    long n = 0;
    double start = now_s(), t;
    do {
        for (int i = 0; i < 16; i++)
            op();
        n += 16;
        t = now_s() - start;
    } while (t < seconds);
    return (double)n / t;
}

int main(int argc, char **argv)
{
    uint64_t ms = 700;
    xw_errbuf peb = {{0}};
    if (argc > 1 && xw_parse_u64("ms", argv[1], 1, 3600000, &ms, &peb) != XW_OK) {
        fprintf(stderr, "bench_xwing: %s\nusage: bench_xwing [ms]\n", peb.msg);
        return 2;
    }
    double secs = (double)ms / 1000.0;
    if (sodium_init() < 0)
        return 1;
    randombytes_buf(xsk, sizeof xsk);
    randombytes_buf(xpeer, sizeof xpeer);
    crypto_scalarmult_base(xpeer, xpeer);
    if (mls_xwing_keygen(wsk, wpk, NULL) || mls_xwing_encaps(wpk, sizeof wpk, wct, wss, NULL) ||
        mls_xwing_key_new(wsk, sizeof wsk, &wkey, NULL) || mls_mlkem768_keygen(mek, mdk) ||
        mls_mlkem768_encaps(mek, sizeof mek, mct, mss, NULL))
        return 1;
    static const struct {
        const char *name;
        void (*op)(void);
    } ops[] = {
        {"X25519 shared secret (baseline)", op_x25519},
        {"X25519 public key", op_x25519_keygen},
        {"X25519 public key (Ed25519 table)", op_x25519_keygen_table},
        {"X-Wing keygen", op_xwing_keygen},
        {"X-Wing encapsulate", op_xwing_encaps},
        {"X-Wing decapsulate (from the seed)", op_xwing_decaps},
        {"X-Wing decapsulate (prepared key)", op_xwing_key_decaps},
        {"ML-KEM-768 keygen", op_mlkem_keygen},
        {"ML-KEM-768 encapsulate", op_mlkem_encaps},
        {"ML-KEM-768 decapsulate", op_mlkem_decaps},
    };
    /* Rounds interleave every operation with the baseline, so that a machine whose load
     * changes during the run still gives fair ratios: each ratio is the median over rounds of
     * (baseline rate / operation rate) within the same round. */
    enum { ROUNDS = 5, NOPS = sizeof ops / sizeof ops[0] };
    double rates[NOPS][ROUNDS], ratios[NOPS][ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        for (size_t i = 0; i < NOPS; i++)
            rates[i][r] = rate(ops[i].op, secs / ROUNDS);
        for (size_t i = 0; i < NOPS; i++)
            ratios[i][r] = rates[0][r] / rates[i][r];
    }
    printf("%-36s %12s %10s %14s\n", "operation (median of 5 rounds)", "ops/s", "us/op", "x X25519 cost");
    for (size_t i = 0; i < NOPS; i++) {
        double rt = bench_median(rates[i], ROUNDS);
        printf("%-36s %12.0f %10.1f %14.2f\n", ops[i].name, rt, 1e6 / rt, bench_median(ratios[i], ROUNDS));
    }
    mls_xwing_key_free(wkey);
    if (failures)
        printf("%d operations failed\n", failures);
    return failures != 0;
}
