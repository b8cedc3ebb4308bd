/*
 * Tests for the post-quantum KEMs (mls/mlkem.h, mls/xwing.h) beyond the published vectors
 * (which tests/vectors/pq_vectors.c runs): the NTT tables against their definitions, random
 * round trips, implicit rejection, every refusal with its specific error and no output,
 * low-order X25519 points, and allocation failures. The CCTV accumulated test is in
 * test_pq_accumulated.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/err.h"
#include "common/keccak.h"
#include "mls/mlkem.h"
#include "mls/mlkem_int.h"
#include "mls/pq_hash.h"
#include "mls/xwing.h"

static int pow_mod(int b, int e, int m)
{
    long r = 1, x = b % m;
    for (; e; e >>= 1, x = x * x % m)
        if (e & 1)
            r = r * x % m;
    return (int)r;
}

static int bitrev7(int i)
{
    int r = 0;
    for (int k = 0; k < 7; k++)
        r |= ((i >> k) & 1) << (6 - k);
    return r;
}

static void test_zeta_tables(void **state)
{
    (void)state;
    for (int i = 0; i < 128; i++) {
        int z = pow_mod(17, bitrev7(i), 3329) * 65536 % 3329;
        int g = pow_mod(17, 2 * bitrev7(i) + 1, 3329) * 65536 % 3329;
        int tz = mls_mlkem768_int_zeta(i), tg = mls_mlkem768_int_gamma(i);
        assert_true(tz > -1665 && tz < 1665 && tg > -1665 && tg < 1665);
        assert_int_equal((tz + 3329) % 3329, z);
        assert_int_equal((tg + 3329) % 3329, g);
    }
}

static void test_mlkem_roundtrip_and_rejection(void **state)
{
    (void)state;
    static uint8_t ek[MLS_MLKEM768_EK_LEN], dk[MLS_MLKEM768_DK_LEN], ct[MLS_MLKEM768_CT_LEN];
    uint8_t ss1[32], ss2[32], rej[32];
    xw_errbuf eb = {{0}};
    for (int round = 0; round < 8; round++) {
        assert_int_equal(mls_mlkem768_keygen(ek, dk), XW_OK);
        assert_int_equal(mls_mlkem768_ek_check(ek, sizeof ek, &eb), XW_OK);
        assert_int_equal(mls_mlkem768_dk_check(dk, sizeof dk, &eb), XW_OK);
        assert_int_equal(mls_mlkem768_encaps(ek, sizeof ek, ct, ss1, &eb), XW_OK);
        assert_int_equal(mls_mlkem768_decaps(dk, sizeof dk, ct, sizeof ct, ss2, &eb), XW_OK);
        assert_memory_equal(ss1, ss2, 32);
        /* a changed ciphertext decapsulates to SHAKE256(z || ct), not to an error */
        ct[(size_t)round * 131 % sizeof ct] ^= (uint8_t)(1u << (round % 8));
        assert_int_equal(mls_mlkem768_decaps(dk, sizeof dk, ct, sizeof ct, ss2, &eb), XW_OK);
        mls_pq_hash *h = mls_pq_hash_new();
        assert_non_null(h);
        assert_int_equal(mls_pq_hash_run(h, MLS_PQ_SHAKE256, dk + 2368, 32, ct, sizeof ct, rej, 32), XW_OK);
        mls_pq_hash_free(h);
        assert_memory_equal(ss2, rej, 32);
        assert_memory_not_equal(ss1, ss2, 32);
    }
}

static void test_mlkem_refusals(void **state)
{
    (void)state;
    static uint8_t ek[MLS_MLKEM768_EK_LEN + 1], dk[MLS_MLKEM768_DK_LEN + 1], ct[MLS_MLKEM768_CT_LEN + 1];
    uint8_t ss[32], m[32] = {1};
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_mlkem768_keygen(ek, dk), XW_OK);
    assert_int_equal(mls_mlkem768_encaps_derand(ek, MLS_MLKEM768_EK_LEN, m, ct, ss, &eb), XW_OK);

    /* wrong lengths: refused with the length in the message, outputs untouched */
    memset(ss, 0xa5, sizeof ss);
    assert_int_equal(mls_mlkem768_encaps_derand(ek, MLS_MLKEM768_EK_LEN - 1, m, ct, ss, &eb), XW_EBADKEY);
    assert_non_null(strstr(eb.msg, "1183 bytes"));
    assert_int_equal(mls_mlkem768_decaps(dk, MLS_MLKEM768_DK_LEN + 1, ct, MLS_MLKEM768_CT_LEN, ss, &eb),
                     XW_EBADKEY);
    assert_non_null(strstr(eb.msg, "2401 bytes"));
    assert_int_equal(mls_mlkem768_decaps(dk, MLS_MLKEM768_DK_LEN, ct, MLS_MLKEM768_CT_LEN + 1, ss, &eb),
                     XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "1089 bytes"));
    assert_int_equal(mls_mlkem768_decaps(dk, MLS_MLKEM768_DK_LEN, NULL, 0, ss, &eb), XW_EMALFORMED);
    assert_int_equal(mls_mlkem768_keygen_seed(m, sizeof m, ek, dk, &eb), XW_EBADKEY);
    assert_non_null(strstr(eb.msg, "32 bytes"));
    for (size_t i = 0; i < sizeof ss; i++)
        assert_int_equal(ss[i], 0xa5);

    /* an unreduced coefficient: polynomial 1, coefficient 3 (odd: high 12 bits of its triple) */
    uint8_t *p = ek + 384 + 3 * 1;
    uint8_t save[3] = {p[0], p[1], p[2]};
    p[1] = (uint8_t)(p[1] | 0xf0);
    p[2] = 0xff; /* 4095 */
    assert_int_equal(mls_mlkem768_ek_check(ek, MLS_MLKEM768_EK_LEN, &eb), XW_EBADKEY);
    assert_non_null(strstr(eb.msg, "coefficient 3 of polynomial 1 is 4095"));
    assert_int_equal(mls_mlkem768_encaps_derand(ek, MLS_MLKEM768_EK_LEN, m, ct, ss, &eb), XW_EBADKEY);
    memcpy(p, save, 3);
    assert_int_equal(mls_mlkem768_ek_check(ek, MLS_MLKEM768_EK_LEN, &eb), XW_OK);

    /* a corrupted embedded ek fails the dk hash check */
    dk[1152 + 7] ^= 1;
    assert_int_equal(mls_mlkem768_dk_check(dk, MLS_MLKEM768_DK_LEN, &eb), XW_EBADKEY);
    assert_non_null(strstr(eb.msg, "hash check"));
    assert_int_equal(mls_mlkem768_decaps(dk, MLS_MLKEM768_DK_LEN, ct, MLS_MLKEM768_CT_LEN, ss, &eb),
                     XW_EBADKEY);
}

static void test_xwing_roundtrip(void **state)
{
    (void)state;
    uint8_t sk[32], pk[MLS_XWING_PK_LEN], ct[MLS_XWING_CT_LEN], ss1[32], ss2[32], pk2[MLS_XWING_PK_LEN];
    xw_errbuf eb = {{0}};
    for (int round = 0; round < 4; round++) {
        assert_int_equal(mls_xwing_keygen(sk, pk, &eb), XW_OK);
        assert_int_equal(mls_xwing_keygen_derand(sk, pk2, &eb), XW_OK);
        assert_memory_equal(pk, pk2, sizeof pk);
        assert_int_equal(mls_xwing_pk_check(pk, sizeof pk, &eb), XW_OK);
        assert_int_equal(mls_xwing_encaps(pk, sizeof pk, ct, ss1, &eb), XW_OK);
        assert_int_equal(mls_xwing_decaps(sk, sizeof sk, ct, sizeof ct, ss2, &eb), XW_OK);
        assert_memory_equal(ss1, ss2, 32);
        /* a changed ML-KEM part gives a different (rejection-derived) secret, not an error */
        ct[10] ^= 0x40;
        assert_int_equal(mls_xwing_decaps(sk, sizeof sk, ct, sizeof ct, ss2, &eb), XW_OK);
        assert_memory_not_equal(ss1, ss2, 32);
    }
}

static void test_xwing_refusals(void **state)
{
    (void)state;
    uint8_t sk[32], pk[MLS_XWING_PK_LEN + 1], ct[MLS_XWING_CT_LEN + 1], ss[32], eseed[64] = {7};
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_xwing_keygen(sk, pk, &eb), XW_OK);
    assert_int_equal(mls_xwing_encaps_derand(pk, MLS_XWING_PK_LEN, eseed, ct, ss, &eb), XW_OK);
    memset(ss, 0x5a, sizeof ss);

    assert_int_equal(mls_xwing_encaps(pk, MLS_XWING_PK_LEN + 1, ct, ss, &eb), XW_EBADKEY);
    assert_non_null(strstr(eb.msg, "1217 bytes"));
    assert_int_equal(mls_xwing_encaps(pk, MLS_MLKEM768_EK_LEN, ct, ss, &eb), XW_EBADKEY);
    assert_int_equal(mls_xwing_decaps(sk, 31, ct, MLS_XWING_CT_LEN, ss, &eb), XW_EBADKEY);
    assert_non_null(strstr(eb.msg, "31 bytes"));
    assert_int_equal(mls_xwing_decaps(sk, 32, ct, MLS_XWING_CT_LEN - 1, ss, &eb), XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "1119 bytes"));
    assert_int_equal(mls_xwing_decaps(sk, 32, ct, MLS_MLKEM768_CT_LEN, ss, &eb), XW_EMALFORMED);

    /* low-order X25519 points: the all-zero point and the point of order 8 with u = 1 */
    static const uint8_t low[2][32] = {{0}, {1}};
    uint8_t save[32];
    memcpy(save, pk + MLS_MLKEM768_EK_LEN, 32);
    for (int i = 0; i < 2; i++) {
        memcpy(pk + MLS_MLKEM768_EK_LEN, low[i], 32);
        assert_int_equal(mls_xwing_encaps(pk, MLS_XWING_PK_LEN, ct, ss, &eb), XW_EBADKEY);
        assert_non_null(strstr(eb.msg, "low-order"));
    }
    memcpy(pk + MLS_MLKEM768_EK_LEN, save, 32);
    memcpy(ct + MLS_MLKEM768_CT_LEN, low[1], 32);
    assert_int_equal(mls_xwing_decaps(sk, 32, ct, MLS_XWING_CT_LEN, ss, &eb), XW_EDECRYPT);
    assert_non_null(strstr(eb.msg, "low-order"));

    /* an unreduced ML-KEM half is refused before anything is computed */
    pk[1] |= 0x0f;
    pk[0] = 0xff; /* coefficient 0 = 4095 */
    assert_int_equal(mls_xwing_encaps(pk, MLS_XWING_PK_LEN, ct, ss, &eb), XW_EBADKEY);
    assert_non_null(strstr(eb.msg, "X-Wing public key: ML-KEM-768 encapsulation key is not reduced"));
    for (size_t i = 0; i < sizeof ss; i++)
        assert_int_equal(ss[i], 0x5a);
}

/* A prepared key gives the same public key and secrets as the seed functions. */
static void test_xwing_prepared_key(void **state)
{
    (void)state;
    uint8_t sk[32], pk[MLS_XWING_PK_LEN], ct[MLS_XWING_CT_LEN], ss1[32], ss2[32];
    xw_errbuf eb = {{0}};
    mls_xwing_key *key = NULL;
    assert_int_equal(mls_xwing_keygen(sk, pk, &eb), XW_OK);
    assert_int_equal(mls_xwing_key_new(sk, 31, &key, &eb), XW_EBADKEY);
    assert_null(key);
    assert_int_equal(mls_xwing_key_new(sk, sizeof sk, &key, &eb), XW_OK);
    assert_memory_equal(mls_xwing_key_public(key), pk, sizeof pk);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(mls_xwing_encaps(pk, sizeof pk, ct, ss1, &eb), XW_OK);
        assert_int_equal(mls_xwing_key_decaps(key, ct, sizeof ct, ss2, &eb), XW_OK);
        assert_memory_equal(ss1, ss2, 32);
    }
    ct[MLS_XWING_CT_LEN - 1] ^= 0x80; /* the X25519 part: a different secret, not an error */
    assert_int_equal(mls_xwing_key_decaps(key, ct, sizeof ct, ss2, &eb), XW_OK);
    assert_memory_not_equal(ss1, ss2, 32);
    assert_int_equal(mls_xwing_key_decaps(key, ct, sizeof ct + 1, ss2, &eb), XW_EMALFORMED);
    mls_xwing_key_free(key);
    mls_xwing_key_free(NULL);
}

/* Every allocation failure surfaces as XW_ENOMEM and leaks nothing. */
static void test_alloc_failures(void **state)
{
    (void)state;
    uint8_t sk[32], pk[MLS_XWING_PK_LEN], ct[MLS_XWING_CT_LEN], ss[32];
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_xwing_keygen(sk, pk, &eb), XW_OK);
    assert_int_equal(mls_xwing_encaps(pk, sizeof pk, ct, ss, &eb), XW_OK);
    for (int op = 0; op < 3; op++) {
        for (uint64_t nth = 1; nth < 10; nth++) {
            int64_t live = xw_alloc_live();
            xw_alloc_fail_at(nth, 0);
            int rc = op == 0   ? mls_xwing_keygen_derand(sk, pk, &eb)
                     : op == 1 ? mls_xwing_encaps(pk, sizeof pk, ct, ss, &eb)
                               : mls_xwing_decaps(sk, sizeof sk, ct, sizeof ct, ss, &eb);
            xw_alloc_fail_at(0, 0);
            assert_true(rc == XW_OK || rc == XW_ENOMEM);
            assert_int_equal(xw_alloc_live(), live);
        }
    }
}

/* The Keccak sponge (common/keccak.c) through mls_pq_hash against OpenSSL 3.0's SHA-3 and
 * SHAKE, for every input length from 0 to 3 blocks and beyond, absorbed in one piece and in
 * uneven pieces, and SHAKE output squeezed in one piece and in uneven pieces. */
static void test_keccak_vs_openssl(void **state)
{
    (void)state;
    static const char *const names[4] = {"SHA3-256", "SHA3-512", "SHAKE128", "SHAKE256"};
    static const size_t fixed[4] = {32, 64, 0, 0};
    static uint8_t in[700], want[1100], got[1100];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 131 + 7);
    mls_pq_hash *h = mls_pq_hash_new();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_non_null(h);
    assert_non_null(ctx);
    for (int a = 0; a < 4; a++) {
        EVP_MD *md = EVP_MD_fetch(NULL, names[a], NULL);
        assert_non_null(md);
        for (size_t len = 0; len <= sizeof in; len += len < 520 ? 1 : 37) {
            size_t out_len = fixed[a] ? fixed[a] : 1 + (len * 7) % sizeof want; /* 1 .. 1100 */
            assert_int_equal(EVP_DigestInit_ex2(ctx, md, NULL), 1);
            assert_int_equal(EVP_DigestUpdate(ctx, in, len), 1);
            if (fixed[a]) {
                unsigned int n = 0;
                assert_int_equal(EVP_DigestFinal_ex(ctx, want, &n), 1);
            } else {
                assert_int_equal(EVP_DigestFinalXOF(ctx, want, out_len), 1);
            }
            /* one piece each way */
            assert_int_equal(
                mls_pq_hash_run(h, (mls_pq_alg)a, in, len / 3, in + len / 3, len - len / 3, got, out_len),
                XW_OK);
            assert_memory_equal(got, want, out_len);
            /* uneven pieces: 1, 2, 3, ... bytes at a time, squeezed likewise */
            memset(got, 0, sizeof got);
            assert_int_equal(mls_pq_hash_begin(h, (mls_pq_alg)a), XW_OK);
            for (size_t off = 0, step = 1; off < len; off += step, step = step % 61 + 1)
                assert_int_equal(mls_pq_hash_absorb(h, in + off, step < len - off ? step : len - off), XW_OK);
            if (fixed[a]) {
                assert_int_equal(mls_pq_hash_squeeze(h, got, out_len), XW_OK);
                assert_int_equal(mls_pq_hash_squeeze(h, got, out_len), XW_EINVAL); /* finished */
            } else {
                for (size_t off = 0, step = 5; off < out_len; off += step, step = step * 3 % 257 + 1)
                    assert_int_equal(
                        mls_pq_hash_squeeze(h, got + off, step < out_len - off ? step : out_len - off),
                        XW_OK);
                assert_int_equal(mls_pq_hash_absorb(h, in, 1), XW_EINVAL); /* no absorbing after a squeeze */
            }
            assert_memory_equal(got, want, out_len);
        }
        EVP_MD_free(md);
    }
    assert_int_equal(mls_pq_hash_begin(h, (mls_pq_alg)7), XW_EINVAL);
    EVP_MD_CTX_free(ctx);
    mls_pq_hash_free(h);
}

/* Four SHAKEs side by side equal four single ones, for every input length below a block and
 * output lengths around block boundaries; longer inputs and SHA-3 are refused. */
static void test_shake_x4(void **state)
{
    (void)state;
    static uint8_t in[4][168], want[600], got[4][600];
    const uint8_t *ip[4] = {in[0], in[1], in[2], in[3]};
    uint8_t *const op[4] = {got[0], got[1], got[2], got[3]};
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 168; i++)
            in[j][i] = (uint8_t)(i * 29 + j * 101 + 3);
    mls_pq_hash *h = mls_pq_hash_new();
    assert_non_null(h);
    static const size_t outs[] = {0, 1, 7, 8, 128, 135, 136, 137, 167, 168, 169, 504, 600};
    for (int a = MLS_PQ_SHAKE128; a <= MLS_PQ_SHAKE256; a++) {
        size_t rate = a == MLS_PQ_SHAKE128 ? 168 : 136;
        for (size_t len = 0; len < rate; len++) {
            size_t out_len = outs[len % (sizeof outs / sizeof outs[0])];
            assert_int_equal(mls_pq_shake_x4((mls_pq_alg)a, ip, len, op, out_len), XW_OK);
            for (int j = 0; j < 4; j++) {
                assert_int_equal(mls_pq_hash_run(h, (mls_pq_alg)a, in[j], len, NULL, 0, want, out_len),
                                 XW_OK);
                assert_memory_equal(got[j], want, out_len);
            }
        }
        assert_int_equal(mls_pq_shake_x4((mls_pq_alg)a, ip, rate, op, 32), XW_EINVAL);
    }
    assert_int_equal(mls_pq_shake_x4(MLS_PQ_SHA3_256, ip, 32, op, 32), XW_EINVAL);
    mls_pq_hash_free(h);
}

/* X25519 public keys through the Ed25519 table (mls/x25519_base.c) equal libsodium's
 * crypto_scalarmult_curve25519_base, for RFC 7748's keys, edge scalars and random ones. */
static void test_x25519_base(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    uint8_t sk[32], want[32], got[32], hexbuf[65];
    /* RFC 7748 section 6.1, Alice and Bob */
    static const char *const rfc[2][2] = {
        {"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
         "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"},
        {"5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
         "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"},
    };
    for (int i = 0; i < 2; i++) {
        assert_int_equal(xw_hex_decode_exact(rfc[i][0], sk, sizeof sk), XW_OK);
        assert_int_equal(mls_x25519_base(got, sk), XW_OK);
        xw_hex_encode(got, 32, (char *)hexbuf);
        assert_string_equal((char *)hexbuf, rfc[i][1]);
    }
    for (int i = 0; i < 3000; i++) {
        if (i < 512) { /* all zeros, all ones, single bytes, small and large patterns */
            memset(sk, i & 1 ? 0xff : 0x00, sizeof sk);
            sk[(i / 2) % 32] = (uint8_t)(i * 37);
        } else {
            randombytes_buf(sk, sizeof sk);
        }
        assert_int_equal(crypto_scalarmult_curve25519_base(want, sk), 0);
        assert_int_equal(mls_x25519_base(got, sk), XW_OK);
        assert_memory_equal(got, want, 32);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zeta_tables),    cmocka_unit_test(test_mlkem_roundtrip_and_rejection),
        cmocka_unit_test(test_mlkem_refusals), cmocka_unit_test(test_xwing_roundtrip),
        cmocka_unit_test(test_xwing_refusals), cmocka_unit_test(test_xwing_prepared_key),
        cmocka_unit_test(test_alloc_failures), cmocka_unit_test(test_keccak_vs_openssl),
        cmocka_unit_test(test_x25519_base),    cmocka_unit_test(test_shake_x4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
