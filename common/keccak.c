/*
 * Keccak-f[1600] and the sponge (see keccak.h).
 *
 * The permutation keeps the 25 lanes in local variables and spells out one round (theta,
 * rho and pi, chi, iota; FIPS 202 section 3.2) lane by lane, so that the compiler keeps the
 * state in registers and needs no index arithmetic; the 24 rounds loop over that body.
 * Bytes enter and leave the lanes little-endian: whole lanes by memcpy on little-endian
 * machines, by shifts elsewhere and for partial lanes.
 */
#include "common/keccak.h"

#include <string.h>

#include "common/alloc.h"

static const uint64_t keccak_rc[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

#define ROL(v, n) (((v) << (n)) | ((v) >> (64 - (n))))

/* One round but iota on 25 lanes a0..a24 of type T (uint64_t, or v4 for four states):
 * theta, rho and pi, chi. Both permutations expand it, so they cannot drift apart. */
#define KECCAK_ROUND(T)                                                                                      \
    do {                                                                                                     \
        T c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20, c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21;                                    \
        T c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22, c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23;                                    \
        T c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24;                                                                    \
        T d0 = c4 ^ ROL(c1, 1), d1 = c0 ^ ROL(c2, 1), d2 = c1 ^ ROL(c3, 1);                                  \
        T d3 = c2 ^ ROL(c4, 1), d4 = c3 ^ ROL(c0, 1);                                                        \
        /* rho and pi: B[y, 2x + 3y] = ROL(A[x, y] ^ D[x], r[x, y]) */                                       \
        T b0 = a0 ^ d0;                                                                                      \
        T b1 = ROL(a6 ^ d1, 44);                                                                             \
        T b2 = ROL(a12 ^ d2, 43);                                                                            \
        T b3 = ROL(a18 ^ d3, 21);                                                                            \
        T b4 = ROL(a24 ^ d4, 14);                                                                            \
        T b5 = ROL(a3 ^ d3, 28);                                                                             \
        T b6 = ROL(a9 ^ d4, 20);                                                                             \
        T b7 = ROL(a10 ^ d0, 3);                                                                             \
        T b8 = ROL(a16 ^ d1, 45);                                                                            \
        T b9 = ROL(a22 ^ d2, 61);                                                                            \
        T b10 = ROL(a1 ^ d1, 1);                                                                             \
        T b11 = ROL(a7 ^ d2, 6);                                                                             \
        T b12 = ROL(a13 ^ d3, 25);                                                                           \
        T b13 = ROL(a19 ^ d4, 8);                                                                            \
        T b14 = ROL(a20 ^ d0, 18);                                                                           \
        T b15 = ROL(a4 ^ d4, 27);                                                                            \
        T b16 = ROL(a5 ^ d0, 36);                                                                            \
        T b17 = ROL(a11 ^ d1, 10);                                                                           \
        T b18 = ROL(a17 ^ d2, 15);                                                                           \
        T b19 = ROL(a23 ^ d3, 56);                                                                           \
        T b20 = ROL(a2 ^ d2, 62);                                                                            \
        T b21 = ROL(a8 ^ d3, 55);                                                                            \
        T b22 = ROL(a14 ^ d4, 39);                                                                           \
        T b23 = ROL(a15 ^ d0, 41);                                                                           \
        T b24 = ROL(a21 ^ d1, 2);                                                                            \
        /* chi, row by row (iota follows) */                                                                 \
        a0 = b0 ^ (~b1 & b2);                                                                                \
        a1 = b1 ^ (~b2 & b3);                                                                                \
        a2 = b2 ^ (~b3 & b4);                                                                                \
        a3 = b3 ^ (~b4 & b0);                                                                                \
        a4 = b4 ^ (~b0 & b1);                                                                                \
        a5 = b5 ^ (~b6 & b7);                                                                                \
        a6 = b6 ^ (~b7 & b8);                                                                                \
        a7 = b7 ^ (~b8 & b9);                                                                                \
        a8 = b8 ^ (~b9 & b5);                                                                                \
        a9 = b9 ^ (~b5 & b6);                                                                                \
        a10 = b10 ^ (~b11 & b12);                                                                            \
        a11 = b11 ^ (~b12 & b13);                                                                            \
        a12 = b12 ^ (~b13 & b14);                                                                            \
        a13 = b13 ^ (~b14 & b10);                                                                            \
        a14 = b14 ^ (~b10 & b11);                                                                            \
        a15 = b15 ^ (~b16 & b17);                                                                            \
        a16 = b16 ^ (~b17 & b18);                                                                            \
        a17 = b17 ^ (~b18 & b19);                                                                            \
        a18 = b18 ^ (~b19 & b15);                                                                            \
        a19 = b19 ^ (~b15 & b16);                                                                            \
        a20 = b20 ^ (~b21 & b22);                                                                            \
        a21 = b21 ^ (~b22 & b23);                                                                            \
        a22 = b22 ^ (~b23 & b24);                                                                            \
        a23 = b23 ^ (~b24 & b20);                                                                            \
        a24 = b24 ^ (~b20 & b21);                                                                            \
    } while (0)

/* On x86-64 gcc also builds the permutation for x86-64-v3 (BMI's and-not and BMI2's
 * non-destructive rotate make it some 12% faster) and picks the version when the program
 * loads, by the CPU it runs on. Not under ThreadSanitizer: its runtime is not ready when the
 * ifunc resolvers run at load, and the program would crash before main. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define KECCAK_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KECCAK_CLONES
#endif

KECCAK_CLONES void xw_keccak_f1600(uint64_t st[25])
{
    uint64_t a0 = st[0];
    uint64_t a1 = st[1];
    uint64_t a2 = st[2];
    uint64_t a3 = st[3];
    uint64_t a4 = st[4];
    uint64_t a5 = st[5];
    uint64_t a6 = st[6];
    uint64_t a7 = st[7];
    uint64_t a8 = st[8];
    uint64_t a9 = st[9];
    uint64_t a10 = st[10];
    uint64_t a11 = st[11];
    uint64_t a12 = st[12];
    uint64_t a13 = st[13];
    uint64_t a14 = st[14];
    uint64_t a15 = st[15];
    uint64_t a16 = st[16];
    uint64_t a17 = st[17];
    uint64_t a18 = st[18];
    uint64_t a19 = st[19];
    uint64_t a20 = st[20];
    uint64_t a21 = st[21];
    uint64_t a22 = st[22];
    uint64_t a23 = st[23];
    uint64_t a24 = st[24];
    for (int r = 0; r < 24; r++) {
        KECCAK_ROUND(uint64_t);
        a0 ^= keccak_rc[r];
    }
    st[0] = a0;
    st[1] = a1;
    st[2] = a2;
    st[3] = a3;
    st[4] = a4;
    st[5] = a5;
    st[6] = a6;
    st[7] = a7;
    st[8] = a8;
    st[9] = a9;
    st[10] = a10;
    st[11] = a11;
    st[12] = a12;
    st[13] = a13;
    st[14] = a14;
    st[15] = a15;
    st[16] = a16;
    st[17] = a17;
    st[18] = a18;
    st[19] = a19;
    st[20] = a20;
    st[21] = a21;
    st[22] = a22;
    st[23] = a23;
    st[24] = a24;
}

/* Four states side by side: the same round on vectors of four lanes (gcc's vector extension;
 * AVX2 in the x86-64-v3 clone, pairs of SSE2 registers otherwise). */
typedef uint64_t v4 __attribute__((vector_size(32)));

KECCAK_CLONES void xw_keccak_f1600_x4(xw_keccak_lanes4 st[25])
{
    v4 a0;
    memcpy(&a0, st[0], sizeof a0);
    v4 a1;
    memcpy(&a1, st[1], sizeof a1);
    v4 a2;
    memcpy(&a2, st[2], sizeof a2);
    v4 a3;
    memcpy(&a3, st[3], sizeof a3);
    v4 a4;
    memcpy(&a4, st[4], sizeof a4);
    v4 a5;
    memcpy(&a5, st[5], sizeof a5);
    v4 a6;
    memcpy(&a6, st[6], sizeof a6);
    v4 a7;
    memcpy(&a7, st[7], sizeof a7);
    v4 a8;
    memcpy(&a8, st[8], sizeof a8);
    v4 a9;
    memcpy(&a9, st[9], sizeof a9);
    v4 a10;
    memcpy(&a10, st[10], sizeof a10);
    v4 a11;
    memcpy(&a11, st[11], sizeof a11);
    v4 a12;
    memcpy(&a12, st[12], sizeof a12);
    v4 a13;
    memcpy(&a13, st[13], sizeof a13);
    v4 a14;
    memcpy(&a14, st[14], sizeof a14);
    v4 a15;
    memcpy(&a15, st[15], sizeof a15);
    v4 a16;
    memcpy(&a16, st[16], sizeof a16);
    v4 a17;
    memcpy(&a17, st[17], sizeof a17);
    v4 a18;
    memcpy(&a18, st[18], sizeof a18);
    v4 a19;
    memcpy(&a19, st[19], sizeof a19);
    v4 a20;
    memcpy(&a20, st[20], sizeof a20);
    v4 a21;
    memcpy(&a21, st[21], sizeof a21);
    v4 a22;
    memcpy(&a22, st[22], sizeof a22);
    v4 a23;
    memcpy(&a23, st[23], sizeof a23);
    v4 a24;
    memcpy(&a24, st[24], sizeof a24);
    for (int r = 0; r < 24; r++) {
        KECCAK_ROUND(v4);
        a0 ^= (v4){keccak_rc[r], keccak_rc[r], keccak_rc[r], keccak_rc[r]};
    }
    memcpy(st[0], &a0, sizeof a0);
    memcpy(st[1], &a1, sizeof a1);
    memcpy(st[2], &a2, sizeof a2);
    memcpy(st[3], &a3, sizeof a3);
    memcpy(st[4], &a4, sizeof a4);
    memcpy(st[5], &a5, sizeof a5);
    memcpy(st[6], &a6, sizeof a6);
    memcpy(st[7], &a7, sizeof a7);
    memcpy(st[8], &a8, sizeof a8);
    memcpy(st[9], &a9, sizeof a9);
    memcpy(st[10], &a10, sizeof a10);
    memcpy(st[11], &a11, sizeof a11);
    memcpy(st[12], &a12, sizeof a12);
    memcpy(st[13], &a13, sizeof a13);
    memcpy(st[14], &a14, sizeof a14);
    memcpy(st[15], &a15, sizeof a15);
    memcpy(st[16], &a16, sizeof a16);
    memcpy(st[17], &a17, sizeof a17);
    memcpy(st[18], &a18, sizeof a18);
    memcpy(st[19], &a19, sizeof a19);
    memcpy(st[20], &a20, sizeof a20);
    memcpy(st[21], &a21, sizeof a21);
    memcpy(st[22], &a22, sizeof a22);
    memcpy(st[23], &a23, sizeof a23);
    memcpy(st[24], &a24, sizeof a24);
}

static uint64_t load64_le(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
#endif
}

/* XORs n bytes into the state from byte pos on (pos + n <= rate), whole lanes where aligned */
static void xor_bytes(uint64_t *st, unsigned pos, const uint8_t *p, size_t n)
{
    for (; n && pos % 8; n--, pos++)
        st[pos / 8] ^= (uint64_t)*p++ << (8 * (pos % 8));
    for (; n >= 8; n -= 8, pos += 8, p += 8)
        st[pos / 8] ^= load64_le(p);
    for (; n; n--, pos++)
        st[pos / 8] ^= (uint64_t)*p++ << (8 * (pos % 8));
}

void xw_keccak_init(xw_keccak *k, unsigned rate, uint8_t dsbyte)
{
    memset(k, 0, sizeof *k);
    k->rate = rate;
    k->dsbyte = dsbyte;
}

void xw_keccak_absorb(xw_keccak *k, const void *data, size_t n)
{
    const uint8_t *p = data;
    if (k->pos) { /* finish a partial block */
        size_t take = k->rate - k->pos < n ? k->rate - k->pos : n;
        xor_bytes(k->st, k->pos, p, take);
        k->pos += (unsigned)take;
        p += take;
        n -= take;
        if (k->pos < k->rate)
            return;
        xw_keccak_f1600(k->st);
        k->pos = 0;
    }
    for (; n >= k->rate; n -= k->rate, p += k->rate) {
        xor_bytes(k->st, 0, p, k->rate);
        xw_keccak_f1600(k->st);
    }
    xor_bytes(k->st, 0, p, n);
    k->pos = (unsigned)n;
}

static void store64_le(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 8);
#else
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#endif
}

/* n bytes of the state from byte pos on (pos + n <= rate), whole lanes where aligned */
static void extract_bytes(const uint64_t *st, unsigned pos, uint8_t *out, size_t n)
{
    for (; n && pos % 8; n--, pos++)
        *out++ = (uint8_t)(st[pos / 8] >> (8 * (pos % 8)));
    for (; n >= 8; n -= 8, pos += 8, out += 8)
        store64_le(out, st[pos / 8]);
    for (; n; n--, pos++)
        *out++ = (uint8_t)(st[pos / 8] >> (8 * (pos % 8)));
}

void xw_keccak_squeeze(xw_keccak *k, uint8_t *out, size_t n)
{
    if (!k->squeezing) {
        uint8_t ds = k->dsbyte, last = 0x80;
        xor_bytes(k->st, k->pos, &ds, 1);
        xor_bytes(k->st, k->rate - 1, &last, 1);
        xw_keccak_f1600(k->st);
        k->squeezing = 1;
        k->pos = 0;
    }
    while (n) {
        if (k->pos == k->rate) {
            xw_keccak_f1600(k->st);
            k->pos = 0;
        }
        size_t take = k->rate - k->pos < n ? k->rate - k->pos : n;
        extract_bytes(k->st, k->pos, out, take);
        k->pos += (unsigned)take;
        out += take;
        n -= take;
    }
}

void xw_keccak_wipe(xw_keccak *k) { xw_wipe(k, sizeof *k); }
