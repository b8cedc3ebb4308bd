/*
 * Inbox ids (docs/protocol.md §4.1): lowercase hex SHA-256 of the lowercased "0x" address
 * text followed by the decimal nonce. libxmtp's node bindings default to nonce 1; the
 * protocol's own examples use 0. Thread-safe, no allocation.
 */
#ifndef XMTP_INBOX_H
#define XMTP_INBOX_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "xmtp/wallet.h"

#define XMTP_INBOX_ID_STRLEN 64

void xmtp_inbox_id_for_address(const uint8_t addr[XMTP_ADDRESS_LEN], uint64_t nonce,
                               char out[XMTP_INBOX_ID_STRLEN + 1]);
/* From address text in any case (checked like xmtp_address_parse without the checksum). */
int xmtp_inbox_id_from_text(const char *address, size_t len, uint64_t nonce,
                            char out[XMTP_INBOX_ID_STRLEN + 1], xw_errbuf *eb);
/* XW_OK when s is 64 lowercase hex digits, XW_EXMTP_INBOX with the reason otherwise. */
int xmtp_inbox_id_check(const char *s, size_t len, xw_errbuf *eb);

#endif
