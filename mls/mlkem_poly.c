/*
 * Polynomial arithmetic for ML-KEM (see mlkem_poly.h).
 *
 * Montgomery reduction: for |a| < 2^15 q, mont(a) = (a - t q) / 2^16 with t = a q^-1 mod 2^16
 * is exact and lies in (-q, q); it equals a * 2^-16 mod q. The zeta and gamma tables hold
 * their values times 2^16 so that one Montgomery multiplication multiplies by the plain
 * value. Barrett reduction uses v = round(2^26 / q) and maps any int16 to the centred
 * representative. Divisions by q in Compress use a 36-bit reciprocal that is exact for every
 * dividend that occurs (< 2^23). Both tables were generated from their definitions and the unit
 * test recomputes them.
 */
#include "mls/mlkem_poly.h"

#include <string.h>

#define Q MLKEM_Q
#define QINV 62209u      /* q^-1 mod 2^16 */
#define BARRETT_V 20159  /* round(2^26 / q) */
#define MONT_R2 1353     /* 2^32 mod q */
#define INVNTT_F 1441    /* 2^32 / 128 mod q */
#define DIVQ_M 20642679u /* ceil(2^36 / q) */

static const int16_t zetas[128] = {
    -1044, -758,  -359,  -1517, 1493,  1422,  287,   202,   -171,  622,   1577, 182,   962,   -1202, -1474,
    1468,  573,   -1325, 264,   383,   -829,  1458,  -1602, -130,  -681,  1017, 732,   608,   -1542, 411,
    -205,  -1571, 1223,  652,   -552,  1015,  -1293, 1491,  -282,  -1544, 516,  -8,    -320,  -666,  -1618,
    -1162, 126,   1469,  -853,  -90,   -271,  830,   107,   -1421, -247,  -951, -398,  961,   -1508, -725,
    448,   -1065, 677,   -1275, -1103, 430,   555,   843,   -1251, 871,   1550, 105,   422,   587,   177,
    -235,  -291,  -460,  1574,  1653,  -246,  778,   1159,  -147,  -777,  1483, -602,  1119,  -1590, 644,
    -872,  349,   418,   329,   -156,  -75,   817,   1097,  603,   610,   1322, -1285, -1465, 384,   -1215,
    -136,  1218,  -1335, -874,  220,   -1187, -1659, -1185, -1530, -1278, 794,  -1510, -854,  -870,  478,
    -108,  -308,  996,   991,   958,   -1460, 1522,  1628,
};

/* gamma_i = 17^(2 BitRev7(i) + 1) = zeta_{64 + i/2} for even i and its negative for odd i. */
static const int16_t gammas[128] = {
    -1103, 1103,  430,   -430,  555,   -555,  843,   -843,  -1251, 1251, 871,   -871,  1550, -1550, 105,
    -105,  422,   -422,  587,   -587,  177,   -177,  -235,  235,   -291, 291,   -460,  460,  1574,  -1574,
    1653,  -1653, -246,  246,   778,   -778,  1159,  -1159, -147,  147,  -777,  777,   1483, -1483, -602,
    602,   1119,  -1119, -1590, 1590,  644,   -644,  -872,  872,   349,  -349,  418,   -418, 329,   -329,
    -156,  156,   -75,   75,    817,   -817,  1097,  -1097, 603,   -603, 610,   -610,  1322, -1322, -1285,
    1285,  -1465, 1465,  384,   -384,  -1215, 1215,  -136,  136,   1218, -1218, -1335, 1335, -874,  874,
    220,   -220,  -1187, 1187,  -1659, 1659,  -1185, 1185,  -1530, 1530, -1278, 1278,  794,  -794,  -1510,
    1510,  -854,  854,   -870,  870,   478,   -478,  -108,  108,   -308, 308,   996,   -996, 991,   -991,
    958,   -958,  -1460, 1460,  1522,  -1522, 1628,  -1628,
};

/* (Not under ThreadSanitizer: its runtime is not ready when ifunc resolvers run at load.)
 * On x86-64 gcc also builds the hot loops for x86-64-v3, where they vectorise 16 coefficients
 * wide with AVX2, and picks the version when the program loads, by the CPU it runs on. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define MLKEM_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MLKEM_CLONES
#endif

int16_t mlkem_zeta(int i) { return zetas[i]; }
int16_t mlkem_gamma(int i) { return gammas[i]; }

static inline int16_t mont_reduce(int32_t a)
{
    int16_t t = (int16_t)(uint16_t)((uint32_t)a * QINV);
    return (int16_t)((a - (int32_t)t * Q) >> 16);
}

static inline int16_t fqmul(int16_t a, int16_t b) { return mont_reduce((int32_t)a * b); }

static inline int16_t barrett(int16_t a)
{
    int16_t t = (int16_t)(((int32_t)BARRETT_V * a + (1 << 25)) >> 26);
    return (int16_t)(a - t * Q);
}

/* [-(q-1)/2, (q-1)/2] -> [0, q) without a branch. */
static inline int16_t to_unsigned(int16_t a) { return (int16_t)(a + ((a >> 15) & Q)); }

/* floor(x / q) for x < 2^23, without a division instruction. */
static inline uint32_t div_q(uint32_t x) { return (uint32_t)(((uint64_t)x * DIVQ_M) >> 36); }

/* One layer of butterflies of half-size len; inlined with a constant len so that the compiler
 * can unroll and vectorise the inner loop. */
static inline __attribute__((always_inline)) void ntt_layer(int16_t *f, int len, int *k)
{
    for (int start = 0; start < MLKEM_N; start += 2 * len) {
        int16_t zeta = zetas[(*k)++];
        for (int j = start; j < start + len; j++) {
            int16_t t = fqmul(zeta, f[j + len]);
            f[j + len] = (int16_t)(f[j] - t);
            f[j] = (int16_t)(f[j] + t);
        }
    }
}

static inline __attribute__((always_inline)) void invntt_layer(int16_t *f, int len, int *k)
{
    for (int start = 0; start < MLKEM_N; start += 2 * len) {
        int16_t zeta = zetas[(*k)--];
        for (int j = start; j < start + len; j++) {
            int16_t t = f[j];
            f[j] = barrett((int16_t)(t + f[j + len]));
            f[j + len] = fqmul(zeta, (int16_t)(f[j + len] - t));
        }
    }
}

MLKEM_CLONES void mlkem_ntt(mlkem_poly *f)
{
    int k = 1;
    ntt_layer(f->c, 128, &k);
    ntt_layer(f->c, 64, &k);
    ntt_layer(f->c, 32, &k);
    ntt_layer(f->c, 16, &k);
    ntt_layer(f->c, 8, &k);
    ntt_layer(f->c, 4, &k);
    ntt_layer(f->c, 2, &k);
    mlkem_reduce(f);
}

MLKEM_CLONES void mlkem_invntt(mlkem_poly *f)
{
    int k = 127;
    invntt_layer(f->c, 2, &k);
    invntt_layer(f->c, 4, &k);
    invntt_layer(f->c, 8, &k);
    invntt_layer(f->c, 16, &k);
    invntt_layer(f->c, 32, &k);
    invntt_layer(f->c, 64, &k);
    invntt_layer(f->c, 128, &k);
    for (int j = 0; j < MLKEM_N; j++)
        f->c[j] = fqmul(f->c[j], INVNTT_F);
}

MLKEM_CLONES void mlkem_basemul_acc(mlkem_poly *r, const mlkem_poly *const a[MLKEM_K],
                                    const mlkem_poly *const b[MLKEM_K])
{
    /* Products are summed in 32 bits and reduced once: with |a|, |b| < q each term of c0 is
     * below q^2 + q^2/2 and each of c1 below 2 q^2, so three of them stay under 2^15 q, the
     * Montgomery bound. Only a1 b1 is reduced early, to be multiplied by gamma. */
    int32_t c0[MLKEM_N / 2] = {0}, c1[MLKEM_N / 2] = {0};
    for (int k = 0; k < MLKEM_K; k++) {
        const int16_t *x = a[k]->c, *y = b[k]->c;
        for (int i = 0; i < MLKEM_N / 2; i++) {
            int32_t a0 = x[2 * i], a1 = x[2 * i + 1], b0 = y[2 * i], b1 = y[2 * i + 1];
            c0[i] += a0 * b0 + (int32_t)fqmul((int16_t)a1, (int16_t)b1) * gammas[i];
            c1[i] += a0 * b1 + a1 * b0;
        }
    }
    for (int i = 0; i < MLKEM_N / 2; i++) {
        r->c[2 * i] = mont_reduce(c0[i]);
        r->c[2 * i + 1] = mont_reduce(c1[i]);
    }
}

void mlkem_tomont(mlkem_poly *f)
{
    for (int j = 0; j < MLKEM_N; j++)
        f->c[j] = fqmul(f->c[j], MONT_R2);
}

void mlkem_add(mlkem_poly *r, const mlkem_poly *a)
{
    for (int j = 0; j < MLKEM_N; j++)
        r->c[j] = (int16_t)(r->c[j] + a->c[j]);
}

void mlkem_sub(mlkem_poly *r, const mlkem_poly *a)
{
    for (int j = 0; j < MLKEM_N; j++)
        r->c[j] = (int16_t)(r->c[j] - a->c[j]);
}

void mlkem_reduce(mlkem_poly *f)
{
    for (int j = 0; j < MLKEM_N; j++)
        f->c[j] = barrett(f->c[j]);
}

void mlkem_to_unsigned(mlkem_poly *f)
{
    for (int j = 0; j < MLKEM_N; j++)
        f->c[j] = to_unsigned(f->c[j]);
}

size_t mlkem_sample_ntt(mlkem_poly *f, size_t n, const uint8_t *xof, size_t xof_len)
{
    for (size_t pos = 0; pos + 3 <= xof_len && n < MLKEM_N; pos += 3) {
        uint16_t d1 = (uint16_t)(xof[pos] | ((xof[pos + 1] & 0x0f) << 8));
        uint16_t d2 = (uint16_t)((xof[pos + 1] >> 4) | (xof[pos + 2] << 4));
        if (d1 < Q)
            f->c[n++] = (int16_t)d1;
        if (d2 < Q && n < MLKEM_N)
            f->c[n++] = (int16_t)d2;
    }
    return n;
}

MLKEM_CLONES void mlkem_cbd2(mlkem_poly *f, const uint8_t buf[128])
{
    for (int i = 0; i < MLKEM_N / 8; i++) {
        uint32_t w = (uint32_t)buf[4 * i] | (uint32_t)buf[4 * i + 1] << 8 | (uint32_t)buf[4 * i + 2] << 16 |
                     (uint32_t)buf[4 * i + 3] << 24;
        /* each 2-bit field of s becomes the sum of its two bits */
        uint32_t s = (w & 0x55555555u) + ((w >> 1) & 0x55555555u);
        for (int j = 0; j < 8; j++) {
            int16_t x = (int16_t)((s >> (4 * j)) & 3);
            int16_t y = (int16_t)((s >> (4 * j + 2)) & 3);
            f->c[8 * i + j] = (int16_t)(x - y);
        }
    }
}

void mlkem_encode12(uint8_t out[384], const mlkem_poly *f)
{
    for (int i = 0; i < MLKEM_N / 2; i++) {
        uint16_t a0 = (uint16_t)f->c[2 * i], a1 = (uint16_t)f->c[2 * i + 1];
        out[3 * i] = (uint8_t)a0;
        out[3 * i + 1] = (uint8_t)((a0 >> 8) | (a1 << 4));
        out[3 * i + 2] = (uint8_t)(a1 >> 4);
    }
}

int mlkem_decode12(mlkem_poly *f, const uint8_t in[384])
{
    int first_bad = -1;
    for (int i = 0; i < MLKEM_N; i++) {
        const uint8_t *p = in + 3 * (i / 2);
        uint16_t v =
            (i & 1) ? (uint16_t)((p[1] >> 4) | (p[2] << 4)) : (uint16_t)(p[0] | ((p[1] & 0x0f) << 8));
        /* v - q is negative exactly when v < q; keep v then, else v - q (v < 4096 < 2q). */
        int16_t t = (int16_t)(v - Q);
        uint16_t lt = (uint16_t)(t >> 15); /* 0xffff when v < q */
        f->c[i] = (int16_t)(t + (lt & Q));
        /* first_bad is only ever public information (ek checks); secrets are never out of range
         * in a valid dk, and a bad dk coefficient only changes this index, not the timing. */
        int bad = (int)(uint16_t)~lt >> 15;
        int take = -(bad & (first_bad < 0)); /* all ones or zero */
        first_bad = (first_bad & ~take) | (i & take);
    }
    return first_bad;
}

static inline uint32_t compress(int16_t x, int d)
{
    return div_q(((uint32_t)(uint16_t)x << d) + Q / 2) & ((1u << d) - 1);
}

static inline int16_t decompress(uint32_t y, int d) { return (int16_t)((y * Q + (1u << (d - 1))) >> d); }

void mlkem_compress10(uint8_t out[320], const mlkem_poly *f)
{
    for (int i = 0; i < MLKEM_N / 4; i++) {
        uint32_t t[4];
        for (int j = 0; j < 4; j++)
            t[j] = compress(f->c[4 * i + j], 10);
        uint8_t *o = out + 5 * i;
        o[0] = (uint8_t)t[0];
        o[1] = (uint8_t)((t[0] >> 8) | (t[1] << 2));
        o[2] = (uint8_t)((t[1] >> 6) | (t[2] << 4));
        o[3] = (uint8_t)((t[2] >> 4) | (t[3] << 6));
        o[4] = (uint8_t)(t[3] >> 2);
    }
}

void mlkem_decompress10(mlkem_poly *f, const uint8_t in[320])
{
    for (int i = 0; i < MLKEM_N / 4; i++) {
        const uint8_t *p = in + 5 * i;
        uint32_t t[4] = {
            (p[0] | (uint32_t)p[1] << 8) & 0x3ff,
            (p[1] >> 2 | (uint32_t)p[2] << 6) & 0x3ff,
            (p[2] >> 4 | (uint32_t)p[3] << 4) & 0x3ff,
            (p[3] >> 6 | (uint32_t)p[4] << 2) & 0x3ff,
        };
        for (int j = 0; j < 4; j++)
            f->c[4 * i + j] = decompress(t[j], 10);
    }
}

void mlkem_compress4(uint8_t out[128], const mlkem_poly *f)
{
    for (int i = 0; i < MLKEM_N / 2; i++)
        out[i] = (uint8_t)(compress(f->c[2 * i], 4) | compress(f->c[2 * i + 1], 4) << 4);
}

void mlkem_decompress4(mlkem_poly *f, const uint8_t in[128])
{
    for (int i = 0; i < MLKEM_N / 2; i++) {
        f->c[2 * i] = decompress(in[i] & 0x0f, 4);
        f->c[2 * i + 1] = decompress(in[i] >> 4, 4);
    }
}

void mlkem_from_msg(mlkem_poly *f, const uint8_t m[32])
{
    for (int i = 0; i < MLKEM_N; i++) {
        int16_t bit = (int16_t)((m[i / 8] >> (i % 8)) & 1);
        f->c[i] = (int16_t)(-bit & ((Q + 1) / 2));
    }
}

void mlkem_to_msg(uint8_t m[32], const mlkem_poly *f)
{
    memset(m, 0, 32);
    for (int i = 0; i < MLKEM_N; i++)
        m[i / 8] = (uint8_t)(m[i / 8] | compress(f->c[i], 1) << (i % 8));
}
