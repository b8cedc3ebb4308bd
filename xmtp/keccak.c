/*
 * Keccak-256 (rate 136 bytes, capacity 512 bits, domain padding 0x01 ... 0x80).
 *
 * The state is 25 little-endian 64-bit lanes; bytes are XORed into the lanes as they come,
 * and Keccak-f[1600] runs whenever a 136-byte block is full. The permutation is the plain
 * theta/rho/pi/chi/iota round written from the Keccak reference description; speed is not
 * a concern here (addresses and signature hashes are a few hundred bytes).
 */
#include "xmtp/keccak.h"

#include <string.h>

#include "common/alloc.h"

#define RATE 136

static const uint64_t round_consts[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* rotation offsets r[x + 5y] */
static const unsigned rot[25] = {
    0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14,
};

static uint64_t rotl(uint64_t v, unsigned n) { return n ? (v << n) | (v >> (64 - n)) : v; }

static void keccak_f(uint64_t a[25])
{
    for (int r = 0; r < 24; r++) {
        uint64_t c[5], d[5], b[25];
        for (int x = 0; x < 5; x++)
            c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (int x = 0; x < 5; x++)
            d[x] = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
        for (int i = 0; i < 25; i++)
            a[i] ^= d[i % 5];
        /* rho and pi: B[y, 2x+3y] = rot(A[x, y], r[x, y]) */
        for (int x = 0; x < 5; x++)
            for (int y = 0; y < 5; y++)
                b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(a[x + 5 * y], rot[x + 5 * y]);
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 5; x++)
                a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
        a[0] ^= round_consts[r];
    }
}

static void xor_byte(uint64_t st[25], size_t pos, uint8_t v)
{
    st[pos / 8] ^= (uint64_t)v << (8 * (pos % 8));
}

void xmtp_keccak256_init(xmtp_keccak_ctx *c) { memset(c, 0, sizeof *c); }

void xmtp_keccak256_update(xmtp_keccak_ctx *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        xor_byte(c->st, c->pos++, p[i]);
        if (c->pos == RATE) {
            keccak_f(c->st);
            c->pos = 0;
        }
    }
}

void xmtp_keccak256_final(xmtp_keccak_ctx *c, uint8_t out[XMTP_KECCAK256_LEN])
{
    xor_byte(c->st, c->pos, 0x01);
    xor_byte(c->st, RATE - 1, 0x80);
    keccak_f(c->st);
    for (size_t i = 0; i < XMTP_KECCAK256_LEN; i++)
        out[i] = (uint8_t)(c->st[i / 8] >> (8 * (i % 8)));
    xw_wipe(c, sizeof *c);
}

void xmtp_keccak256(const void *data, size_t len, uint8_t out[XMTP_KECCAK256_LEN])
{
    xmtp_keccak_ctx c;
    xmtp_keccak256_init(&c);
    xmtp_keccak256_update(&c, data, len);
    xmtp_keccak256_final(&c, out);
}
