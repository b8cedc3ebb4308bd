/*
 * The CCTV accumulated test for ML-KEM-768 (C2SP CCTV, ML-KEM "accumulated" vectors, final
 * FIPS 203 values from tests/vectors/data/pq/README.md):
 *
 *   stream = SHAKE128("") read as random bytes; for each test read d, z, m (32 each) and a
 *   random ciphertext (1088); (ek, dk) = KeyGen_internal(d, z); (ct, k) = Encaps_internal(ek, m);
 *   Decaps(dk, ct) must equal k; k_reject = Decaps(dk, random ciphertext); absorb ek, dk, ct,
 *   k, k_reject into a second SHAKE128 running over all tests; compare its first 32 bytes.
 *
 * The input stream is squeezed 1184 bytes per test as the tests go (the project's Keccak
 * sponge squeezes incrementally), so the long run needs no more memory than the short. Usage:
 * test_pq_accumulated [N] (10000 by default; 10000 and 1000000 have published answers, others print the hash
 * only and fail).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/parse.h"
#include "mls/mlkem.h"
#include "mls/pq_hash.h"

#define PER_TEST (32 * 3 + MLS_MLKEM768_CT_LEN)

int main(int argc, char **argv)
{
    uint64_t n64 = 10000;
    xw_errbuf peb = {{0}};
    if (argc > 1 && xw_parse_u64("N", argv[1], 1, 1000000, &n64, &peb) != XW_OK) {
        printf("%s\n0 passed, 1 failed\n", peb.msg);
        return 1;
    }
    long n = (long)n64;
    const char *want = n == 10000     ? "f959d18d3d1180121433bf0e05f11e7908cf9d03edc150b2b07cb90bef5bc1c1"
                       : n == 1000000 ? "3b108396a277f2952ff3243a985c9709bcb95788c39b7b36a2c4e19d1a41e51e"
                                      : NULL;
    if (n <= 0 || n > 1000000) {
        printf("N must be 1..1000000\n0 passed, 1 failed\n");
        return 1;
    }
    static uint8_t p[PER_TEST];
    mls_pq_hash *in = mls_pq_hash_new(), *acc = mls_pq_hash_new();
    if (!in || !acc || mls_pq_hash_begin(in, MLS_PQ_SHAKE128) != XW_OK ||
        mls_pq_hash_squeeze(in, p, PER_TEST) != XW_OK || mls_pq_hash_begin(acc, MLS_PQ_SHAKE128) != XW_OK) {
        printf("setup failed\n0 passed, 1 failed\n");
        return 1;
    }
    static uint8_t ek[MLS_MLKEM768_EK_LEN], dk[MLS_MLKEM768_DK_LEN], ct[MLS_MLKEM768_CT_LEN];
    uint8_t k[32], k2[32], krej[32], out[32];
    char hex[65];
    xw_hex_encode(p, 16, hex);
    if (strcmp(hex, "7f9c2ba4e88f827d616045507605853e") != 0) {
        printf("SHAKE128 of the empty string starts %s, not 7f9c2ba4e88f827d616045507605853e\n", hex);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    int failed = 0;
    for (long i = 0; i < n && !failed; i++) {
        xw_errbuf eb = {{0}};
        if (i > 0 && mls_pq_hash_squeeze(in, p, PER_TEST) != XW_OK) {
            printf("test %ld: squeezing the input stream failed\n", i);
            failed = 1;
            break;
        }
        if (mls_mlkem768_keygen_derand(p, p + 32, ek, dk) != XW_OK ||
            mls_mlkem768_encaps_derand(ek, sizeof ek, p + 64, ct, k, &eb) != XW_OK ||
            mls_mlkem768_decaps(dk, sizeof dk, ct, sizeof ct, k2, &eb) != XW_OK ||
            mls_mlkem768_decaps(dk, sizeof dk, p + 96, MLS_MLKEM768_CT_LEN, krej, &eb) != XW_OK) {
            printf("test %ld: an operation failed: %s\n", i, eb.msg);
            failed = 1;
        } else if (memcmp(k, k2, 32) != 0) {
            printf("test %ld: Decaps(dk, ct) differs from the encapsulated key\n", i);
            failed = 1;
        }
        mls_pq_hash_absorb(acc, ek, sizeof ek);
        mls_pq_hash_absorb(acc, dk, sizeof dk);
        mls_pq_hash_absorb(acc, ct, sizeof ct);
        mls_pq_hash_absorb(acc, k, 32);
        mls_pq_hash_absorb(acc, krej, 32);
    }
    if (!failed && mls_pq_hash_squeeze(acc, out, sizeof out) != XW_OK)
        failed = 1;
    xw_hex_encode(out, 32, hex);
    if (!failed) {
        printf("%ld tests: %s\n", n, hex);
        if (!want || strcmp(hex, want) != 0) {
            printf("expected %s\n", want ? want : "(no published value for this N)");
            failed = 1;
        }
    }
    printf("%d passed, %d failed\n", !failed, failed);
    mls_pq_hash_free(in);
    mls_pq_hash_free(acc);
    return failed;
}
