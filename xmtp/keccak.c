/*
 * Keccak-256 (rate 136 bytes, capacity 512 bits, domain padding 0x01 ... 0x80) on the
 * project's shared Keccak sponge (common/keccak.h), which also serves SHA-3 and SHAKE in mls/.
 */
#include "xmtp/keccak.h"

void xmtp_keccak256_init(xmtp_keccak_ctx *c)
{
    xw_keccak_init(&c->k, XW_KECCAK_RATE_SHAKE256, XW_KECCAK_DS_KECCAK);
}

void xmtp_keccak256_update(xmtp_keccak_ctx *c, const void *data, size_t len)
{
    if (len)
        xw_keccak_absorb(&c->k, data, len);
}

void xmtp_keccak256_final(xmtp_keccak_ctx *c, uint8_t out[XMTP_KECCAK256_LEN])
{
    xw_keccak_squeeze(&c->k, out, XMTP_KECCAK256_LEN);
    xw_keccak_wipe(&c->k);
}

void xmtp_keccak256(const void *data, size_t len, uint8_t out[XMTP_KECCAK256_LEN])
{
    xmtp_keccak_ctx c;
    xmtp_keccak256_init(&c);
    xmtp_keccak256_update(&c, data, len);
    xmtp_keccak256_final(&c, out);
}
