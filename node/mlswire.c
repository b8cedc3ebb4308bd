/*
 * The two checks of mlswire.h, on top of the MLS module: mls_message_decode reads a whole
 * MLSMessage, mls_key_package_read a whole KeyPackage (every length, varint and tag, into a
 * decoded form whose leaf node keeps its signed bytes), mls/crypto.h verifies SignWithLabel
 * signatures for the key package's cipher suite, and proto/pb.h decodes the MlsCredential.
 * What is left here is the node's policy: which wire formats, versions, credentials and
 * sources it stores, in the order xmtp-node-go's validation refuses them.
 */
#include "node/mlswire.h"

#include <string.h>

#include "gen/xmtp/identity/credential.pb-c.h"
#include "mls/key_schedule.h"
#include "mls/keypackage.h"
#include "mls/tls.h"
#include "mls/tree.h"
#include "proto/pb.h"

int node_mls_peek(const uint8_t *msg, size_t len, node_mls_info *out, xw_errbuf *eb)
{
    mls_message m;
    xw_errbuf web = {{0}};
    memset(out, 0, sizeof *out);
    /* the wire format first: a Welcome or KeyPackage sent as a group message is refused as
     * such, whatever its body */
    mls_reader r;
    mls_reader_init(&r, msg, len, NULL);
    uint16_t version = mls_read_u16(&r), wf = mls_read_u16(&r);
    if (!r.err && version == MLS_PROTOCOL_VERSION_10 && wf != MLS_WIRE_FORMAT_PUBLIC_MESSAGE &&
        wf != MLS_WIRE_FORMAT_PRIVATE_MESSAGE)
        return xw_errf(eb, XW_EMALFORMED,
                       "MLS message has wire format %u; group messages must be PublicMessage (1) or "
                       "PrivateMessage (2)",
                       wf);
    int rc = mls_message_decode(msg, len, &m, &web);
    if (rc != XW_OK)
        return xw_errf(eb, rc, "MLS message: %s", web.msg);
    mls_span gid =
        m.wire_format == MLS_WIRE_FORMAT_PRIVATE_MESSAGE ? m.priv.group_id : m.pub.content.group_id;
    if (gid.len == 0)
        return xw_errf(eb, XW_EMALFORMED, "MLS message has an empty group id");
    out->wire_format = m.wire_format;
    out->group_id = gid.p;
    out->group_id_len = gid.len;
    if (m.wire_format == MLS_WIRE_FORMAT_PRIVATE_MESSAGE) {
        out->epoch = m.priv.epoch;
        out->content_type = m.priv.content_type;
    } else {
        out->epoch = m.pub.content.epoch;
        out->content_type = m.pub.content.content_type;
    }
    return XW_OK;
}

/* The inbox id of an XMTP MlsCredential { string inbox_id = 1; }: present, at most
 * NODE_INBOX_ID_MAX characters, lowercase hex. */
static int inbox_of_credential(mls_span ident, char *inbox, xw_errbuf *eb)
{
    Xmtp__Identity__MlsCredential *c = NULL;
    xw_errbuf web = {{0}};
    int rc =
        xw_pb_decode_as(&xmtp__identity__mls_credential__descriptor, ident.p, ident.len, ident.len, &c, &web);
    if (rc != XW_OK)
        return xw_errf(eb, rc == XW_ENOMEM ? rc : XW_EMALFORMED,
                       "the MlsCredential protobuf in the key package is malformed: %s", web.msg);
    size_t n = strlen(c->inbox_id);
    rc = XW_OK;
    if (n == 0)
        rc =
            xw_errf(eb, XW_EMLS_KEYPACKAGE,
                    "the key package credential has no inbox id; its identity must be an XMTP MlsCredential");
    else if (n > NODE_INBOX_ID_MAX)
        rc = xw_errf(eb, XW_EMALFORMED, "the MlsCredential inbox id is %zu bytes; too long", n);
    for (size_t i = 0; rc == XW_OK && i < n; i++)
        if (!((c->inbox_id[i] >= '0' && c->inbox_id[i] <= '9') ||
              (c->inbox_id[i] >= 'a' && c->inbox_id[i] <= 'f')))
            rc = xw_errf(eb, XW_EMLS_KEYPACKAGE,
                         "the key package credential's inbox id '%.80s' is not lowercase hex", c->inbox_id);
    if (rc == XW_OK)
        memcpy(inbox, c->inbox_id, n + 1);
    xw_pb_free(&c->base);
    return rc;
}

/* The node's checks of a decoded key package (mls/keypackage.h), into out. */
static int check_kp(const mls_key_package *kp, node_kp_info *out, xw_errbuf *eb)
{
    xw_errbuf web = {{0}};
    const mls_leaf *l = kp->leaf;
    if (kp->version != MLS_PROTOCOL_VERSION_10)
        return xw_errf(eb, XW_EMLS_KEYPACKAGE, "key package has protocol version %u; only MLS 1.0 (1) exists",
                       kp->version);
    const mls_suite *cs;
    if (mls_suite_lookup(kp->cipher_suite, &cs, &web) != XW_OK)
        return xw_errf(eb, XW_EMLS_KEYPACKAGE, "key package: %s; XMTP uses 0x0003", web.msg);
    if (l->cred_type != MLS_CREDENTIAL_BASIC)
        return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                       "key package credential type is %u; XMTP requires a BasicCredential (1) holding an "
                       "MlsCredential",
                       l->cred_type);
    if (l->source != MLS_LEAF_SOURCE_KEY_PACKAGE)
        return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                       "key package leaf node source is %u; it must be key_package (1)", l->source);
    if (l->sig_key.len != cs->sig_pub_len)
        return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                       "key package signature key is %zu bytes; suite 0x%04x keys are %zu", l->sig_key.len,
                       kp->cipher_suite, cs->sig_pub_len);
    if (kp->init_key.len == l->enc_key.len && memcmp(kp->init_key.p, l->enc_key.p, l->enc_key.len) == 0)
        return xw_errf(
            eb, XW_EMLS_KEYPACKAGE,
            "key package init_key equals its leaf encryption_key; RFC 9420 requires them to differ");
    if (mls_leaf_verify_signature(cs, l, (mls_span){NULL, 0}, 0, &web) != XW_OK)
        return xw_errf(
            eb, XW_EBADSIG,
            "key package leaf node signature does not verify with its signature key (LeafNodeTBS): %s",
            web.msg);
    if (mls_verify_with_label(cs, l->sig_key.p, l->sig_key.len, "KeyPackageTBS", kp->raw, kp->tbs_len,
                              kp->signature.p, kp->signature.len, &web) != XW_OK)
        return xw_errf(eb, XW_EBADSIG,
                       "key package signature does not verify with its leaf signature key: %s", web.msg);
    int rc = inbox_of_credential(l->identity, out->inbox_id, eb);
    if (rc != XW_OK)
        return rc;
    out->cipher_suite = kp->cipher_suite;
    memcpy(out->signature_key, l->sig_key.p, l->sig_key.len);
    out->signature_key_len = l->sig_key.len;
    out->not_before = l->not_before;
    out->not_after = l->not_after;
    return XW_OK;
}

int node_kp_validate(const uint8_t *kp, size_t len, node_kp_info *out, xw_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    xw_errbuf web = {{0}};
    mls_reader r;
    /* a bare KeyPackage, as XMTP uploads it (not wrapped in an MLSMessage) */
    mls_reader_init(&r, kp, len, &web);
    mls_key_package *k = mls_key_package_read(&r);
    if (k)
        mls_reader_finish(&r, "key package");
    int rc = r.err;
    if (rc != XW_OK) {
        mls_key_package_free(k);
        return xw_errf(eb, rc, "key package: %s", web.msg);
    }
    rc = check_kp(k, out, eb);
    mls_key_package_free(k);
    if (rc != XW_OK)
        memset(out, 0, sizeof *out);
    return rc;
}
