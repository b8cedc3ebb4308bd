/*
 * The protobuf parts of the welcome wrapper (see welcome_wrap.h): KeyPackage extensions 0xff03
 * (WelcomeWrapperEncryption) and 0xff04 (WelcomePointeeEncryptionAeadTypesExtension), and the
 * WelcomeMetadata plaintext. Decoded with proto/pb.h (size limit, framing, allocation through
 * common/alloc.h), encoded with xw_pb_encode into a scratch buffer that replaces the output
 * only on success.
 */
#include <string.h>

#include "gen/xmtp/mls/api/v1/mls.pb-c.h"
#include "gen/xmtp/mls/message_contents/welcome_pointer.pb-c.h"
#include "gen/xmtp/mls/message_contents/wrapper_encryption.pb-c.h"
#include "proto/pb.h"
#include "xmtp/welcome_wrap.h"

/* Protobuf inputs these decoders accept: every real one is far smaller (0xff03 is ~1,222 bytes). */
#define EXT_MAX 8192

/* Packs a message into out (replaced only on success). */
static int pack_into(const ProtobufCMessage *msg, xw_buf *out, const char *what, xw_errbuf *eb)
{
    xw_buf tmp;
    xw_buf_init(&tmp, out->max);
    int rc = xw_pb_encode(msg, &tmp, eb);
    if (rc != XW_OK) {
        xw_buf_free(&tmp);
        return xw_errctx(eb, rc, "%s", what);
    }
    xw_buf_free(out);
    *out = tmp;
    return XW_OK;
}

static int check_key(xmtp_welcome_alg alg, const uint8_t *pub, size_t len, xw_errbuf *eb)
{
    if (alg == XMTP_WELCOME_CURVE25519) {
        if (len != 32)
            return xw_errf(eb, XW_EBADKEY, "Curve25519 welcome wrapper key is %zu bytes; it must be 32", len);
        return XW_OK;
    }
    if (alg == XMTP_WELCOME_XWING)
        return mls_xwing_pk_check(pub, len, eb);
    if (alg == 3)
        return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                       "welcome wrapper algorithm 3 (symmetric key) is for welcome pointees only and cannot "
                       "appear in a key package");
    return xw_errf(eb, XW_EUNSUPPORTED,
                   "welcome wrapper algorithm %d is not supported (1 = Curve25519, 2 = X-Wing draft-06)",
                   (int)alg);
}

int xmtp_welcome_wrapper_ext_encode(const xmtp_welcome_key *key, xw_buf *out, xw_errbuf *eb)
{
    int rc = check_key(key->alg, key->pub, key->pub_len, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, rc, "encoding KeyPackage extension 0xff03");
    Xmtp__Mls__MessageContents__WelcomeWrapperEncryption m =
        XMTP__MLS__MESSAGE_CONTENTS__WELCOME_WRAPPER_ENCRYPTION__INIT;
    m.pub_key.data = (uint8_t *)key->pub;
    m.pub_key.len = key->pub_len;
    m.algorithm = (Xmtp__Mls__MessageContents__WelcomeWrapperAlgorithm)key->alg;
    return pack_into(&m.base, out, "KeyPackage extension 0xff03", eb);
}

int xmtp_welcome_wrapper_ext_decode(const uint8_t *p, size_t n, xmtp_welcome_key *out, xw_errbuf *eb)
{
    Xmtp__Mls__MessageContents__WelcomeWrapperEncryption *m = NULL;
    int rc = xw_pb_decode_as(&xmtp__mls__message_contents__welcome_wrapper_encryption__descriptor, p, n,
                             EXT_MAX, &m, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, rc, "KeyPackage extension 0xff03 (refuse the key package)");
    rc = check_key((xmtp_welcome_alg)m->algorithm, m->pub_key.data, m->pub_key.len, eb);
    if (rc == XW_OK) {
        out->alg = (xmtp_welcome_alg)m->algorithm;
        out->pub_len = m->pub_key.len;
        memcpy(out->pub, m->pub_key.data, m->pub_key.len);
    } else {
        xw_errctx(eb, rc, "KeyPackage extension 0xff03");
    }
    xw_pb_free(&m->base);
    return rc;
}

int xmtp_welcome_key_for(const uint8_t *init_key, size_t init_key_len, const uint8_t *ext_ff03,
                         size_t ext_len, xmtp_welcome_key *out, xw_errbuf *eb)
{
    if (ext_ff03)
        return xmtp_welcome_wrapper_ext_decode(ext_ff03, ext_len, out, eb);
    if (!init_key || init_key_len != 32)
        return xw_errf(eb, XW_EBADKEY, "key package init_key is %zu bytes; cipher suite 3 (X25519) needs 32",
                       init_key ? init_key_len : 0);
    out->alg = XMTP_WELCOME_CURVE25519;
    out->pub_len = 32;
    memcpy(out->pub, init_key, 32);
    return XW_OK;
}

int xmtp_welcome_pointee_ext_encode(const uint32_t *types, size_t n, xw_buf *out, xw_errbuf *eb)
{
    if (n > 64)
        return xw_errf(eb, XW_ETOOBIG, "%zu pointee AEAD types; at most 64 are allowed", n);
    Xmtp__Mls__MessageContents__WelcomePointeeEncryptionAeadType t[64];
    for (size_t i = 0; i < n; i++)
        t[i] = (Xmtp__Mls__MessageContents__WelcomePointeeEncryptionAeadType)types[i];
    Xmtp__Mls__MessageContents__WelcomePointeeEncryptionAeadTypesExtension m =
        XMTP__MLS__MESSAGE_CONTENTS__WELCOME_POINTEE_ENCRYPTION_AEAD_TYPES_EXTENSION__INIT;
    m.n_supported_aead_types = n;
    m.supported_aead_types = t;
    return pack_into(&m.base, out, "KeyPackage extension 0xff04", eb);
}

int xmtp_welcome_pointee_ext_decode(const uint8_t *p, size_t n, uint32_t *mask, xw_errbuf *eb)
{
    Xmtp__Mls__MessageContents__WelcomePointeeEncryptionAeadTypesExtension *m = NULL;
    int rc = xw_pb_decode_as(
        &xmtp__mls__message_contents__welcome_pointee_encryption_aead_types_extension__descriptor, p, n,
        EXT_MAX, &m, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, rc, "KeyPackage extension 0xff04");
    uint32_t bits = 0;
    for (size_t i = 0; i < m->n_supported_aead_types; i++)
        if ((uint32_t)m->supported_aead_types[i] < 32)
            bits |= 1u << (uint32_t)m->supported_aead_types[i];
    xw_pb_free(&m->base);
    *mask = bits;
    return XW_OK;
}

int xmtp_welcome_metadata_encode(uint64_t message_cursor, xw_buf *out, xw_errbuf *eb)
{
    Xmtp__Mls__Api__V1__WelcomeMetadata m = XMTP__MLS__API__V1__WELCOME_METADATA__INIT;
    m.message_cursor = message_cursor;
    return pack_into(&m.base, out, "WelcomeMetadata", eb);
}

int xmtp_welcome_metadata_decode(const uint8_t *p, size_t n, uint64_t *message_cursor, xw_errbuf *eb)
{
    Xmtp__Mls__Api__V1__WelcomeMetadata *m = NULL;
    int rc = xw_pb_decode_as(&xmtp__mls__api__v1__welcome_metadata__descriptor, p, n,
                             XMTP_WELCOME_METADATA_MAX, &m, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, rc, "welcome metadata");
    *message_cursor = m->message_cursor;
    xw_pb_free(&m->base);
    return XW_OK;
}
