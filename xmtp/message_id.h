/*
 * The MLS application-message plaintext (PlaintextEnvelope, docs/protocol.md §2.5) and
 * message ids (§3.12):
 *   plaintext  = PlaintextEnvelope{ v1: { content = EncodedContent bytes,
 *                                         idempotency_key = decimal sent_at_ns } }
 *   message id = SHA-256(group_id || "\t" || idempotency_key || "\t" || EncodedContent bytes)
 * Thread-safe; decoded envelopes are owned by the caller.
 */
#ifndef XMTP_MESSAGE_ID_H
#define XMTP_MESSAGE_ID_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

#define XMTP_MESSAGE_ID_LEN 32
#define XMTP_IDEMPOTENCY_KEY_MAX 256

void xmtp_message_id(const uint8_t *group_id, size_t group_id_len, const char *idempotency_key,
                     const uint8_t *encoded_content, size_t encoded_len, uint8_t out[XMTP_MESSAGE_ID_LEN]);
/* The same as 64 lowercase hex digits and a NUL. */
void xmtp_message_id_hex(const uint8_t *group_id, size_t group_id_len, const char *idempotency_key,
                         const uint8_t *encoded_content, size_t encoded_len,
                         char out[2 * XMTP_MESSAGE_ID_LEN + 1]);

/* Appends PlaintextEnvelope.V1 bytes to out. */
int xmtp_plaintext_v1_encode(const uint8_t *encoded_content, size_t encoded_len, const char *idempotency_key,
                             xw_buf *out, xw_errbuf *eb);

typedef struct {
    int version;      /* 1 or 2 */
    int has_content;  /* v1 always; v2 only for its `content` variant */
    uint8_t *content; /* EncodedContent bytes (owned) */
    size_t content_len;
    char *idempotency_key; /* owned */
} xmtp_plaintext;

/* Decodes a PlaintextEnvelope. V2 is decoded (libxmtp 1.10 ignores it; callers may skip
 * it): has_content says whether it carries application content. XW_EMALFORMED with the
 * reason for anything else. */
int xmtp_plaintext_decode(const uint8_t *data, size_t len, xmtp_plaintext *out, xw_errbuf *eb);
void xmtp_plaintext_free(xmtp_plaintext *p);

#endif
