/*
 * Keccak-f[1600] and the sponge on top of it, shared by every Keccak-based hash in the
 * project: SHA3-256/512 and SHAKE128/256 for ML-KEM and X-Wing (mls/pq_hash.c) and the
 * original Keccak-256 that Ethereum uses (xmtp/keccak.c).
 *
 * The sponge absorbs any number of times and, unlike OpenSSL 3.0's EVP, squeezes any number
 * of times: ML-KEM's matrix sampling reads SHAKE128 output a block at a time. The rate (in
 * bytes, a multiple of 8 below 200) and the domain byte (0x01 Keccak, 0x06 SHA-3, 0x1f SHAKE)
 * choose the function. No allocation, no data-dependent branch or index (only lengths steer
 * the code), so secrets may be hashed; the state lives in the caller's struct and
 * xw_keccak_wipe clears it.
 */
#ifndef XW_COMMON_KECCAK_H
#define XW_COMMON_KECCAK_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t st[25];
    unsigned rate;     /* bytes per block */
    unsigned pos;      /* bytes absorbed into, or squeezed from, the current block */
    uint8_t dsbyte;    /* domain separation and first padding bit */
    uint8_t squeezing; /* set once the padding has been applied */
} xw_keccak;

/* The permutation on 25 lanes (lane x + 5y holds bytes 8(x + 5y) .. of the state, little
 * endian). */
void xw_keccak_f1600(uint64_t st[25]);

/* Four independent permutations at once, lane i of state j in st[i][j]: ML-KEM's matrix and
 * noise sampling run four SHAKEs side by side with it. */
typedef uint64_t xw_keccak_lanes4[4];
void xw_keccak_f1600_x4(xw_keccak_lanes4 st[25]);

void xw_keccak_init(xw_keccak *k, unsigned rate, uint8_t dsbyte);
/* Absorbs n bytes; not allowed after the first squeeze. */
void xw_keccak_absorb(xw_keccak *k, const void *p, size_t n);
/* Pads on the first call, then writes the next n bytes of output. */
void xw_keccak_squeeze(xw_keccak *k, uint8_t *out, size_t n);
void xw_keccak_wipe(xw_keccak *k);

/* Rates and domain bytes of the standard functions. */
#define XW_KECCAK_RATE_SHAKE128 168u
#define XW_KECCAK_RATE_SHAKE256 136u /* also SHA3-256 and Keccak-256 */
#define XW_KECCAK_RATE_SHA3_512 72u
#define XW_KECCAK_DS_KECCAK 0x01u
#define XW_KECCAK_DS_SHA3 0x06u
#define XW_KECCAK_DS_SHAKE 0x1fu

#endif
