/*
 * Message ids and PlaintextEnvelope. The id hashes the group id, a tab, the idempotency
 * key, a tab and the EncodedContent bytes (libxmtp utils::calculate_message_id); the
 * envelope is the protobuf of content.proto.
 */
#include "xmtp/message_id.h"

#include <sodium.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "gen/xmtp/mls/message_contents/content.pb-c.h"
#include "proto/pb.h"
#include "xmtp/content.h"

void xmtp_message_id(const uint8_t *group_id, size_t group_id_len, const char *idempotency_key,
                     const uint8_t *encoded_content, size_t encoded_len, uint8_t out[XMTP_MESSAGE_ID_LEN])
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, group_id, group_id_len);
    crypto_hash_sha256_update(&st, (const unsigned char *)"\t", 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)idempotency_key, strlen(idempotency_key));
    crypto_hash_sha256_update(&st, (const unsigned char *)"\t", 1);
    crypto_hash_sha256_update(&st, encoded_content, encoded_len);
    crypto_hash_sha256_final(&st, out);
}

void xmtp_message_id_hex(const uint8_t *group_id, size_t group_id_len, const char *idempotency_key,
                         const uint8_t *encoded_content, size_t encoded_len,
                         char out[2 * XMTP_MESSAGE_ID_LEN + 1])
{
    uint8_t id[XMTP_MESSAGE_ID_LEN];
    xmtp_message_id(group_id, group_id_len, idempotency_key, encoded_content, encoded_len, id);
    xw_hex_encode(id, sizeof id, out);
}

int xmtp_plaintext_v1_encode(const uint8_t *encoded_content, size_t encoded_len, const char *idempotency_key,
                             xw_buf *out, xw_errbuf *eb)
{
    if (!idempotency_key || strlen(idempotency_key) > XMTP_IDEMPOTENCY_KEY_MAX)
        return xw_errf(eb, XW_EINVAL, "an idempotency key is 0 to %d characters", XMTP_IDEMPOTENCY_KEY_MAX);
    Xmtp__Mls__MessageContents__PlaintextEnvelope env = XMTP__MLS__MESSAGE_CONTENTS__PLAINTEXT_ENVELOPE__INIT;
    Xmtp__Mls__MessageContents__PlaintextEnvelope__V1 v1 =
        XMTP__MLS__MESSAGE_CONTENTS__PLAINTEXT_ENVELOPE__V1__INIT;
    v1.content.data = (uint8_t *)encoded_content;
    v1.content.len = encoded_len;
    v1.idempotency_key = (char *)idempotency_key;
    env.content_case = XMTP__MLS__MESSAGE_CONTENTS__PLAINTEXT_ENVELOPE__CONTENT_V1;
    env.v1 = &v1;
    return xw_pb_encode(&env.base, out, eb);
}

void xmtp_plaintext_free(xmtp_plaintext *p)
{
    if (!p)
        return;
    xw_free(p->content);
    xw_free(p->idempotency_key);
    memset(p, 0, sizeof *p);
}

int xmtp_plaintext_decode(const uint8_t *data, size_t len, xmtp_plaintext *out, xw_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    Xmtp__Mls__MessageContents__PlaintextEnvelope *e = NULL;
    int rc = xw_pb_decode_as(&xmtp__mls__message_contents__plaintext_envelope__descriptor, data, len,
                             XMTP_CONTENT_MAX_BYTES + 1024, &e, eb);
    if (rc)
        return xw_errctx(eb, rc, "message plaintext");
    const char *key = NULL;
    const ProtobufCBinaryData *content = NULL;
    if (e->content_case == XMTP__MLS__MESSAGE_CONTENTS__PLAINTEXT_ENVELOPE__CONTENT_V1 && e->v1) {
        out->version = 1;
        key = e->v1->idempotency_key;
        content = &e->v1->content;
    } else if (e->content_case == XMTP__MLS__MESSAGE_CONTENTS__PLAINTEXT_ENVELOPE__CONTENT_V2 && e->v2) {
        out->version = 2;
        key = e->v2->idempotency_key;
        if (e->v2->message_type_case ==
            XMTP__MLS__MESSAGE_CONTENTS__PLAINTEXT_ENVELOPE__V2__MESSAGE_TYPE_CONTENT)
            content = &e->v2->content;
    } else {
        xw_pb_free(&e->base);
        return xw_errf(eb, XW_EMALFORMED, "message plaintext has neither a v1 nor a v2 envelope");
    }
    if (strlen(key) > XMTP_IDEMPOTENCY_KEY_MAX) {
        xw_pb_free(&e->base);
        return xw_errf(eb, XW_EMALFORMED, "idempotency key is longer than %d characters",
                       XMTP_IDEMPOTENCY_KEY_MAX);
    }
    out->idempotency_key = xw_strdup(key);
    if (content) {
        out->has_content = 1;
        out->content_len = content->len;
        out->content =
            xw_memdup(content->data ? content->data : (const uint8_t *)"", content->len ? content->len : 1);
    }
    xw_pb_free(&e->base);
    if (!out->idempotency_key || (content && !out->content)) {
        xmtp_plaintext_free(out);
        return xw_errf(eb, XW_ENOMEM, "out of memory decoding a message plaintext");
    }
    return XW_OK;
}
