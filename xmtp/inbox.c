/*
 * Inbox id derivation and syntax checks. The hashed text is exactly what libxmtp's
 * Identifier::inbox_id hashes for an Ethereum identifier: "0x", 40 lowercase hex digits,
 * then the nonce in decimal without padding.
 */
#include "xmtp/inbox.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/codec.h"

void xmtp_inbox_id_for_address(const uint8_t addr[XMTP_ADDRESS_LEN], uint64_t nonce,
                               char out[XMTP_INBOX_ID_STRLEN + 1])
{
    char text[XMTP_ADDRESS_STRLEN + 21];
    xmtp_address_to_lower(addr, text);
    int n = snprintf(text + XMTP_ADDRESS_STRLEN, 21, "%llu", (unsigned long long)nonce);
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)text, (unsigned long long)(XMTP_ADDRESS_STRLEN + n));
    xw_hex_encode(h, sizeof h, out);
}

int xmtp_inbox_id_from_text(const char *address, size_t len, uint64_t nonce,
                            char out[XMTP_INBOX_ID_STRLEN + 1], xw_errbuf *eb)
{
    uint8_t a[XMTP_ADDRESS_LEN];
    int rc = xmtp_address_parse(address, len, 0, a, eb);
    if (rc)
        return rc;
    xmtp_inbox_id_for_address(a, nonce, out);
    return XW_OK;
}

int xmtp_inbox_id_check(const char *s, size_t len, xw_errbuf *eb)
{
    if (!s || len != XMTP_INBOX_ID_STRLEN)
        return xw_errf(eb, XW_EXMTP_INBOX, "an inbox id is 64 lowercase hex digits, got %zu characters",
                       s ? len : 0);
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return xw_errf(eb, XW_EXMTP_INBOX,
                           "inbox id has a character that is not lowercase hex at position %zu", i);
    return XW_OK;
}
