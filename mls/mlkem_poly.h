/*
 * Polynomial arithmetic for ML-KEM (FIPS 203 §4): the ring Z_q[X]/(X^256 + 1) with q = 3329,
 * its number-theoretic transform, sampling and the byte encodings. Internal to mls/mlkem.c.
 *
 * Coefficients are int16_t. Products use Montgomery reduction with R = 2^16 and sums are
 * brought back with Barrett reduction, both branch-free, so the same code serves secret and
 * public polynomials. Each function states the range of its output; "small" means within
 * [-(q-1)/2, (q-1)/2], "reduced" means within [0, q).
 */
#ifndef XW_MLS_MLKEM_POLY_H
#define XW_MLS_MLKEM_POLY_H

#include <stddef.h>
#include <stdint.h>

#define MLKEM_N 256
#define MLKEM_Q 3329
#define MLKEM_K 3

typedef struct {
    int16_t c[MLKEM_N];
} mlkem_poly;

typedef struct {
    mlkem_poly p[MLKEM_K];
} mlkem_polyvec;

int16_t mlkem_zeta(int i);  /* 17^BitRev7(i) * 2^16 mod q, small */
int16_t mlkem_gamma(int i); /* 17^(2 BitRev7(i) + 1) * 2^16 mod q, small */

/* NTT (FIPS 203 Algorithm 9). Input coefficients in (-q, q); output small. */
void mlkem_ntt(mlkem_poly *f);
/* NTT^-1 (Algorithm 10) times 2^16: undoes the 2^-16 of mlkem_basemul_acc. Input small or
 * in (-6q, 6q); output in (-q, q). */
void mlkem_invntt(mlkem_poly *f);
/* r = sum_i a[i] * b[i] in the NTT domain (Algorithm 11), times 2^-16; inputs in (-q, q)
 * (a and b point to MLKEM_K polynomials each); output in (-q, q). */
void mlkem_basemul_acc(mlkem_poly *r, const mlkem_poly *const a[MLKEM_K], const mlkem_poly *const b[MLKEM_K]);
/* f = f * 2^16 (undoes basemul's factor when no inverse NTT follows); output in (-q, q). */
void mlkem_tomont(mlkem_poly *f);
void mlkem_add(mlkem_poly *r, const mlkem_poly *a); /* r += a, no reduction */
void mlkem_sub(mlkem_poly *r, const mlkem_poly *a); /* r -= a, no reduction */
void mlkem_reduce(mlkem_poly *f);                   /* any int16 -> small */
void mlkem_to_unsigned(mlkem_poly *f);              /* small -> reduced */

/* SampleNTT (Algorithm 7) from `xof` bytes of SHAKE128 output (a multiple of 3), continuing
 * after the n coefficients already in f (0 for the first bytes); returns the number of
 * coefficients now written (256 when the bytes sufficed). Public data only. */
size_t mlkem_sample_ntt(mlkem_poly *f, size_t n, const uint8_t *xof, size_t xof_len);
/* SamplePolyCBD_2 (Algorithm 8) from 128 PRF bytes; output in [-2, 2]. */
void mlkem_cbd2(mlkem_poly *f, const uint8_t buf[128]);

/* ByteEncode_12 of a reduced polynomial (384 bytes). */
void mlkem_encode12(uint8_t out[384], const mlkem_poly *f);
/* ByteDecode_12 mod q: reduced output. Returns the index of the first coefficient that was
 * 3329 or more before reduction, or -1 (computed without secret-dependent branches). */
int mlkem_decode12(mlkem_poly *f, const uint8_t in[384]);
/* Compress_10 + ByteEncode_10 (320 bytes) and the inverse, reduced polynomials. */
void mlkem_compress10(uint8_t out[320], const mlkem_poly *f);
void mlkem_decompress10(mlkem_poly *f, const uint8_t in[320]);
/* Compress_4 + ByteEncode_4 (128 bytes) and the inverse. */
void mlkem_compress4(uint8_t out[128], const mlkem_poly *f);
void mlkem_decompress4(mlkem_poly *f, const uint8_t in[128]);
/* Message: Decompress_1(ByteDecode_1(m)) and ByteEncode_1(Compress_1(f)), 32 bytes. */
void mlkem_from_msg(mlkem_poly *f, const uint8_t m[32]);
void mlkem_to_msg(uint8_t m[32], const mlkem_poly *f);

#endif
