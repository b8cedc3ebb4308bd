/*
 * libFuzzer target: the content path of an application message. The input is decoded as a
 * PlaintextEnvelope (and its EncodedContent, if any) and, independently, as an
 * EncodedContent; every typed content that decodes is re-encoded, and a successful
 * re-encoding must decode again to the same kind (a codec never produces what it cannot
 * read).
 */
#include <stdint.h>
#include <stdlib.h>

#include "common/buf.h"
#include "xmtp/content.h"
#include "xmtp/message_id.h"

static void content_roundtrip(const uint8_t *data, size_t size)
{
    xmtp_content *c = NULL;
    if (xmtp_content_decode_bytes(data, size, &c, NULL) != XW_OK)
        return;
    xw_buf b;
    xw_buf_init(&b, 1u << 26);
    if (xmtp_content_encode(c, &b, NULL) == XW_OK) {
        xmtp_content *d = NULL;
        if (xmtp_content_decode_bytes(b.data, b.len, &d, NULL) != XW_OK || d->kind != c->kind)
            abort();
        (void)xmtp_content_should_push(d->kind);
        xmtp_content_free(d);
    }
    xw_buf_free(&b);
    xmtp_content_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xmtp_plaintext p;
    if (xmtp_plaintext_decode(data, size, &p, NULL) == XW_OK) {
        if (p.has_content) {
            content_roundtrip(p.content, p.content_len);
            char id[65];
            xmtp_message_id_hex((const uint8_t *)"g", 1, p.idempotency_key, p.content, p.content_len, id);
        }
        xmtp_plaintext_free(&p);
    }
    content_roundtrip(data, size);
    return 0;
}
