/*
 * X25519 public keys (scalar times the base point u = 9) through libsodium's Ed25519
 * fixed-base multiplication, which walks a precomputed table and costs about a third of the
 * Montgomery ladder that crypto_scalarmult_curve25519_base runs on x86-64 (libsodium 1.0.18
 * picks its sandy2x ladder there, which has no table).
 *
 * How: X25519's base point is the image of the Ed25519 base point B under the birational map
 * u = (1 + y) / (1 - y) (RFC 7748 section 4.1), and both clamp the scalar the same way, so
 * X25519(k, 9) = u([clamp(k)] B). libsodium's crypto_scalarmult_ed25519_base computes [k] B
 * in constant time and returns its compressed form (y and the sign of x); the map needs one
 * field inversion, done here with a fixed addition chain on 5 limbs of 51 bits. Only the
 * scalar is secret; y and u are the public key, and the arithmetic has no data-dependent
 * branch or index anyway.
 */
#include <sodium.h>
#include <string.h>

#include "mls/hpke.h"

__extension__ typedef unsigned __int128 u128;
typedef struct {
    uint64_t v[5];
} fe; /* value = sum v[i] 2^(51 i), limbs below 2^52 between operations */

#define MASK51 ((1ULL << 51) - 1)

static void fe_carry(fe *h)
{
    for (int r = 0; r < 2; r++) {
        uint64_t c = 0;
        for (int i = 0; i < 5; i++) {
            h->v[i] += c;
            c = h->v[i] >> 51;
            h->v[i] &= MASK51;
        }
        h->v[0] += 19 * c;
    }
}

/* h = t mod p, from the 5 double-width column sums of a product */
static void fe_reduce(fe *h, u128 t[5])
{
    u128 c = 0;
    for (int i = 0; i < 5; i++) {
        t[i] += c;
        h->v[i] = (uint64_t)t[i] & MASK51;
        /* cppcheck-suppress shiftTooManyBits ; cppcheck takes the 128-bit type for int */
        c = t[i] >> 51;
    }
    h->v[0] += 19 * (uint64_t)c; /* c < 2^56 for limbs below 2^53: no overflow */
    h->v[1] += h->v[0] >> 51;    /* now every limb is below 2^52 */
    h->v[0] &= MASK51;
}

static void fe_mul(fe *h, const fe *f, const fe *g)
{
    const uint64_t *a = f->v, *b = g->v;
    uint64_t b19[5];
    for (int i = 0; i < 5; i++)
        b19[i] = 19 * b[i];
    u128 t[5];
    t[0] = (u128)a[0] * b[0] + (u128)a[1] * b19[4] + (u128)a[2] * b19[3] + (u128)a[3] * b19[2] +
           (u128)a[4] * b19[1];
    t[1] = (u128)a[0] * b[1] + (u128)a[1] * b[0] + (u128)a[2] * b19[4] + (u128)a[3] * b19[3] +
           (u128)a[4] * b19[2];
    t[2] =
        (u128)a[0] * b[2] + (u128)a[1] * b[1] + (u128)a[2] * b[0] + (u128)a[3] * b19[4] + (u128)a[4] * b19[3];
    t[3] =
        (u128)a[0] * b[3] + (u128)a[1] * b[2] + (u128)a[2] * b[1] + (u128)a[3] * b[0] + (u128)a[4] * b19[4];
    t[4] = (u128)a[0] * b[4] + (u128)a[1] * b[3] + (u128)a[2] * b[2] + (u128)a[3] * b[1] + (u128)a[4] * b[0];
    fe_reduce(h, t);
}

/* h = f^(2^n), n >= 1, with the squaring's symmetric products counted once */
static void fe_sqn(fe *h, const fe *f, int n)
{
    *h = *f;
    for (int k = 0; k < n; k++) {
        const uint64_t *a = h->v;
        uint64_t d0 = 2 * a[0], d1 = 2 * a[1], a3_19 = 19 * a[3], a4_19 = 19 * a[4];
        u128 t[5];
        t[0] = (u128)a[0] * a[0] + (u128)d1 * a4_19 + (u128)(2 * a[2]) * a3_19;
        t[1] = (u128)d0 * a[1] + (u128)(2 * a[2]) * a4_19 + (u128)a[3] * a3_19;
        t[2] = (u128)d0 * a[2] + (u128)a[1] * a[1] + (u128)(2 * a[3]) * a4_19;
        t[3] = (u128)d0 * a[3] + (u128)d1 * a[2] + (u128)a[4] * a4_19;
        t[4] = (u128)d0 * a[4] + (u128)d1 * a[3] + (u128)a[2] * a[2];
        fe_reduce(h, t);
    }
}

/* h = f^(p - 2) = 1 / f (0 for 0), by the chain 2^255 - 21 = (2^250 - 1) 2^5 + 11. */
static void fe_invert(fe *h, const fe *z)
{
    fe z2, z9, z11, a, b, z5, z10, z20, z50, z100;
    fe_sqn(&z2, z, 1);
    fe_sqn(&a, &z2, 2);
    fe_mul(&z9, &a, z);
    fe_mul(&z11, &z9, &z2);
    fe_sqn(&a, &z11, 1);
    fe_mul(&z5, &a, &z9); /* 2^5 - 1 */
    fe_sqn(&a, &z5, 5);
    fe_mul(&z10, &a, &z5); /* 2^10 - 1 */
    fe_sqn(&a, &z10, 10);
    fe_mul(&z20, &a, &z10); /* 2^20 - 1 */
    fe_sqn(&a, &z20, 20);
    fe_mul(&b, &a, &z20); /* 2^40 - 1 */
    fe_sqn(&a, &b, 10);
    fe_mul(&z50, &a, &z10); /* 2^50 - 1 */
    fe_sqn(&a, &z50, 50);
    fe_mul(&z100, &a, &z50); /* 2^100 - 1 */
    fe_sqn(&a, &z100, 100);
    fe_mul(&b, &a, &z100); /* 2^200 - 1 */
    fe_sqn(&a, &b, 50);
    fe_mul(&b, &a, &z50); /* 2^250 - 1 */
    fe_sqn(&a, &b, 5);
    fe_mul(h, &a, &z11); /* 2^255 - 32 + 11 */
}

static void fe_frombytes(fe *h, const uint8_t s[32])
{
    uint64_t w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = 0;
        for (int j = 7; j >= 0; j--)
            w[i] = w[i] << 8 | s[8 * i + j];
    }
    w[3] &= 0x7fffffffffffffffULL; /* the sign of x */
    h->v[0] = w[0] & MASK51;
    h->v[1] = (w[0] >> 51 | w[1] << 13) & MASK51;
    h->v[2] = (w[1] >> 38 | w[2] << 26) & MASK51;
    h->v[3] = (w[2] >> 25 | w[3] << 39) & MASK51;
    h->v[4] = w[3] >> 12;
}

/* The canonical (fully reduced) little-endian encoding. */
static void fe_tobytes(uint8_t s[32], const fe *f)
{
    fe h = *f;
    fe_carry(&h); /* now h < 2^255 + 2^13 or so, limbs below 2^51 except v[0] */
    fe_carry(&h);
    /* subtract p when h >= p: q = 1 exactly when h + 19 reaches 2^255 */
    uint64_t q = (h.v[0] + 19) >> 51;
    for (int i = 1; i < 5; i++)
        q = (h.v[i] + q) >> 51;
    h.v[0] += 19 * q;
    uint64_t c = 0;
    for (int i = 0; i < 5; i++) {
        h.v[i] += c;
        c = h.v[i] >> 51;
        h.v[i] &= MASK51; /* drops the 2^255 that q added */
    }
    uint64_t w[4] = {h.v[0] | h.v[1] << 51, h.v[1] >> 13 | h.v[2] << 38, h.v[2] >> 26 | h.v[3] << 25,
                     h.v[3] >> 39 | h.v[4] << 12};
    for (int i = 0; i < 32; i++)
        s[i] = (uint8_t)(w[i / 8] >> (8 * (i % 8)));
}

int mls_x25519_base(uint8_t pk[32], const uint8_t sk[32])
{
    uint8_t k[32], ed[32];
    memcpy(k, sk, 32);
    k[0] &= 248;  /* RFC 7748 clamping, which Ed25519's also is; a clamped k is never zero, */
    k[31] &= 127; /* so libsodium's refusal of a zero scalar cannot trigger */
    k[31] |= 64;
    int rc = crypto_scalarmult_ed25519_base(ed, k);
    sodium_memzero(k, sizeof k);
    if (rc != 0)
        return XW_ECRYPTO; /* [k] B is never the identity for 2^254 <= k < 2^255, k = 0 mod 8 */
    fe y, one = {{1, 0, 0, 0, 0}}, num, den, inv;
    fe_frombytes(&y, ed);
    for (int i = 0; i < 5; i++) {
        num.v[i] = one.v[i] + y.v[i];
        /* 1 - y + 2p, limb by limb: 2p = (2^52 - 38, 2^52 - 2, ...) keeps every limb positive */
        den.v[i] = one.v[i] + (i == 0 ? 0xfffffffffffdaULL : 0xffffffffffffeULL) - y.v[i];
    }
    fe_invert(&inv, &den);
    fe_mul(&num, &num, &inv);
    fe_tobytes(pk, &num);
    return XW_OK;
}
