/*
 * The two checks of mlswire.h. The project's MLS module does the real work: mls/wire.h
 * decodes the whole structure (every length, varint and tag of a KeyPackage or MLSMessage),
 * mls/crypto.h verifies SignWithLabel signatures for the key package's cipher suite. A small
 * reader here walks the fields that the node needs (group id and content type; where the
 * signed parts of a key package end, its keys and credential) once the structure is known
 * to be valid.
 */
#include "node/mlswire.h"

#include <string.h>

#include "mls/crypto.h"
#include "mls/wire.h"

typedef struct {
    const uint8_t *p;
    size_t len, off;
    int bad;
    int trunc;        /* the input ended early */
    const char *what; /* field being read when it went wrong */
} rd;

static int rd_u8(rd *r, uint8_t *v, const char *what)
{
    if (r->bad || r->len - r->off < 1) {
        if (!r->bad)
            r->what = what;
        r->bad = 1;
        return -1;
    }
    *v = r->p[r->off++];
    return 0;
}

static int rd_u16(rd *r, uint16_t *v, const char *what)
{
    if (r->bad || r->len - r->off < 2) {
        if (!r->bad)
            r->what = what;
        r->bad = 1;
        return -1;
    }
    *v = (uint16_t)((r->p[r->off] << 8) | r->p[r->off + 1]);
    r->off += 2;
    return 0;
}

static int rd_u32(rd *r, uint32_t *v, const char *what)
{
    uint16_t a, b;
    if (rd_u16(r, &a, what) || rd_u16(r, &b, what))
        return -1;
    *v = ((uint32_t)a << 16) | b;
    return 0;
}

static int rd_u64(rd *r, uint64_t *v, const char *what)
{
    uint32_t a, b;
    if (rd_u32(r, &a, what) || rd_u32(r, &b, what))
        return -1;
    *v = ((uint64_t)a << 32) | b;
    return 0;
}

/* Variable-length vector: returns its body. */
static int rd_vec(rd *r, const uint8_t **body, size_t *n, const char *what)
{
    uint8_t b0;
    if (rd_u8(r, &b0, what))
        return -1;
    size_t len;
    int prefix = 1 << (b0 >> 6);
    if (prefix == 8) {
        r->bad = 1;
        r->what = what;
        return -1;
    }
    len = b0 & 0x3f;
    for (int i = 1; i < prefix; i++) {
        uint8_t b;
        if (rd_u8(r, &b, what))
            return -1;
        len = (len << 8) | b;
    }
    if ((prefix == 2 && len < 64) || (prefix == 4 && len < 16384) || r->len - r->off < len) {
        r->trunc = r->len - r->off < len;
        r->bad = 1;
        r->what = what;
        return -1;
    }
    *body = r->p + r->off;
    *n = len;
    r->off += len;
    return 0;
}

static int rd_fail(rd *r, xw_errbuf *eb, const char *obj)
{
    if (r->off >= r->len || r->trunc)
        return xw_errf(eb, XW_ETRUNCATED, "%s ends early (%zu bytes) while reading %s", obj, r->len,
                       r->what ? r->what : "?");
    return xw_errf(eb, XW_EMALFORMED, "%s is malformed at byte %zu (%s)", obj, r->off,
                   r->what ? r->what : "?");
}

int node_mls_peek(const uint8_t *msg, size_t len, node_mls_info *out, xw_errbuf *eb)
{
    rd r = {.p = msg, .len = len};
    if (len >= 4 && msg[0] == 0 && msg[1] == 1 && msg[2] == 0 && (msg[3] == 1 || msg[3] == 2)) {
        xw_errbuf web = {{0}};
        int wrc = mls_wire_decode(MLS_WIRE_MLS_MESSAGE, msg, len, NULL, &web);
        if (wrc != XW_OK)
            return xw_errf(eb, wrc, "MLS message: %s", web.msg);
    }
    uint16_t version, wf;
    memset(out, 0, sizeof *out);
    if (rd_u16(&r, &version, "version") || rd_u16(&r, &wf, "wire_format"))
        return rd_fail(&r, eb, "MLS message");
    if (version != 1)
        return xw_errf(eb, XW_EMALFORMED, "MLS message has protocol version %u; only MLS 1.0 (1) exists",
                       version);
    if (wf != 1 && wf != 2)
        return xw_errf(eb, XW_EMALFORMED,
                       "MLS message has wire format %u; group messages must be PublicMessage (1) or "
                       "PrivateMessage (2)",
                       wf);
    out->wire_format = wf;
    const uint8_t *v;
    size_t n;
    if (rd_vec(&r, &out->group_id, &out->group_id_len, "group_id") || rd_u64(&r, &out->epoch, "epoch"))
        return rd_fail(&r, eb, "MLS message");
    uint8_t ct;
    if (wf == 2) {
        if (rd_u8(&r, &ct, "content_type") || rd_vec(&r, &v, &n, "authenticated_data") ||
            rd_vec(&r, &v, &n, "encrypted_sender_data") || rd_vec(&r, &v, &n, "ciphertext"))
            return rd_fail(&r, eb, "MLS PrivateMessage");
        if (r.off != r.len)
            return xw_errf(eb, XW_ETRAILING,
                           "MLS PrivateMessage has %zu unexpected bytes after its ciphertext", r.len - r.off);
    } else {
        uint8_t st;
        uint32_t idx;
        if (rd_u8(&r, &st, "sender_type"))
            return rd_fail(&r, eb, "MLS PublicMessage");
        if (st == 1 || st == 2) {
            if (rd_u32(&r, &idx, "sender index"))
                return rd_fail(&r, eb, "MLS PublicMessage");
        } else if (st != 3 && st != 4) {
            return xw_errf(eb, XW_EMALFORMED, "MLS PublicMessage has unknown sender type %u", st);
        }
        if (rd_vec(&r, &v, &n, "authenticated_data") || rd_u8(&r, &ct, "content_type"))
            return rd_fail(&r, eb, "MLS PublicMessage");
    }
    if (out->group_id_len == 0)
        return xw_errf(eb, XW_EMALFORMED, "MLS message has an empty group id");
    if (ct < 1 || ct > 3)
        return xw_errf(eb, XW_EMALFORMED, "MLS message has content type %u; 1, 2 and 3 exist", ct);
    out->content_type = ct;
    return XW_OK;
}

/* MlsCredential { string inbox_id = 1; } decoded by hand: it is one field. */
static int mls_credential(const uint8_t *p, size_t n, char *inbox, xw_errbuf *eb)
{
    size_t off = 0;
    inbox[0] = 0;
    while (off < n) {
        uint64_t key = 0;
        int shift = 0;
        do {
            if (off >= n || shift > 63)
                return xw_errf(eb, XW_EMALFORMED,
                               "the MlsCredential protobuf in the key package is malformed");
            key |= (uint64_t)(p[off] & 0x7f) << shift;
            shift += 7;
        } while (p[off++] & 0x80);
        unsigned wt = key & 7;
        uint64_t len = 0;
        shift = 0;
        if (wt == 0 || wt == 2) {
            do {
                if (off >= n || shift > 63)
                    return xw_errf(eb, XW_EMALFORMED,
                                   "the MlsCredential protobuf in the key package is malformed");
                len |= (uint64_t)(p[off] & 0x7f) << shift;
                shift += 7;
            } while (p[off++] & 0x80);
        } else {
            return xw_errf(eb, XW_EMALFORMED, "the MlsCredential protobuf has an unexpected wire type %u",
                           wt);
        }
        if (wt == 2) {
            if (len > n - off)
                return xw_errf(eb, XW_ETRUNCATED,
                               "the MlsCredential protobuf in the key package is truncated");
            if ((key >> 3) == 1) {
                if (len > NODE_INBOX_ID_MAX)
                    return xw_errf(eb, XW_EMALFORMED, "the MlsCredential inbox id is %llu bytes; too long",
                                   (unsigned long long)len);
                memcpy(inbox, p + off, (size_t)len);
                inbox[len] = 0;
            }
            off += (size_t)len;
        }
    }
    if (!inbox[0])
        return xw_errf(
            eb, XW_EMLS_KEYPACKAGE,
            "the key package credential has no inbox id; its identity must be an XMTP MlsCredential");
    for (const char *c = inbox; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                           "the key package credential's inbox id '%.80s' is not lowercase hex", inbox);
    return XW_OK;
}

static int skip_vec_list(rd *r, const char *what)
{
    const uint8_t *v;
    size_t n;
    return rd_vec(r, &v, &n, what);
}

int node_kp_validate(const uint8_t *kp, size_t len, node_kp_info *out, xw_errbuf *eb)
{
    rd r = {.p = kp, .len = len};
    const char *obj = "key package";
    xw_errbuf web = {{0}};
    int wrc = mls_wire_decode(MLS_WIRE_KEY_PACKAGE, kp, len, NULL, &web);
    if (wrc != XW_OK)
        return xw_errf(eb, wrc, "key package: %s", web.msg);
    uint16_t version, suite, ctype;
    const uint8_t *init_key, *enc_key, *sig_key, *ident, *v, *leaf_sig, *kp_sig;
    size_t init_len, enc_len, sig_key_len, ident_len, n, leaf_sig_len, kp_sig_len;
    uint8_t source;
    memset(out, 0, sizeof *out);
    if (rd_u16(&r, &version, "version") || rd_u16(&r, &suite, "cipher_suite") ||
        rd_vec(&r, &init_key, &init_len, "init_key"))
        return rd_fail(&r, eb, obj);
    if (version != 1)
        return xw_errf(eb, XW_EMLS_KEYPACKAGE, "key package has protocol version %u; only MLS 1.0 (1) exists",
                       version);
    const mls_suite *cs;
    if (mls_suite_lookup(suite, &cs, &web) != XW_OK)
        return xw_errf(eb, XW_EMLS_KEYPACKAGE, "key package: %s; XMTP uses 0x0003", web.msg);
    size_t leaf_start = r.off;
    if (rd_vec(&r, &enc_key, &enc_len, "leaf_node.encryption_key") ||
        rd_vec(&r, &sig_key, &sig_key_len, "leaf_node.signature_key") ||
        rd_u16(&r, &ctype, "leaf_node.credential.credential_type"))
        return rd_fail(&r, eb, obj);
    if (ctype != 1)
        return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                       "key package credential type is %u; XMTP requires a BasicCredential (1) holding an "
                       "MlsCredential",
                       ctype);
    if (rd_vec(&r, &ident, &ident_len, "leaf_node.credential.identity") ||
        skip_vec_list(&r, "capabilities.versions") || skip_vec_list(&r, "capabilities.cipher_suites") ||
        skip_vec_list(&r, "capabilities.extensions") || skip_vec_list(&r, "capabilities.proposals") ||
        skip_vec_list(&r, "capabilities.credentials") || rd_u8(&r, &source, "leaf_node_source"))
        return rd_fail(&r, eb, obj);
    if (source != 1)
        return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                       "key package leaf node source is %u; it must be key_package (1)", source);
    if (rd_u64(&r, &out->not_before, "lifetime.not_before") ||
        rd_u64(&r, &out->not_after, "lifetime.not_after"))
        return rd_fail(&r, eb, obj);
    /* leaf extensions: a vector of {uint16 type; opaque data<V>} checked for shape */
    if (rd_vec(&r, &v, &n, "leaf_node.extensions"))
        return rd_fail(&r, eb, obj);
    rd ex = {.p = v, .len = n};
    while (ex.off < ex.len) {
        uint16_t t;
        const uint8_t *d;
        size_t dl;
        if (rd_u16(&ex, &t, "leaf extension type") || rd_vec(&ex, &d, &dl, "leaf extension data"))
            return xw_errf(eb, XW_EMLS_KEYPACKAGE, "key package leaf node extensions are malformed");
    }
    size_t leaf_tbs_end = r.off;
    if (rd_vec(&r, &leaf_sig, &leaf_sig_len, "leaf_node.signature"))
        return rd_fail(&r, eb, obj);
    if (rd_vec(&r, &v, &n, "extensions"))
        return rd_fail(&r, eb, obj);
    rd kx = {.p = v, .len = n};
    while (kx.off < kx.len) {
        uint16_t t;
        const uint8_t *d;
        size_t dl;
        if (rd_u16(&kx, &t, "extension type") || rd_vec(&kx, &d, &dl, "extension data"))
            return xw_errf(eb, XW_EMLS_KEYPACKAGE, "key package extensions are malformed");
    }
    size_t kp_tbs_end = r.off;
    if (rd_vec(&r, &kp_sig, &kp_sig_len, "signature"))
        return rd_fail(&r, eb, obj);
    if (r.off != r.len)
        return xw_errf(eb, XW_ETRAILING, "key package has %zu unexpected bytes after its signature",
                       r.len - r.off);
    if (sig_key_len != cs->sig_pub_len)
        return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                       "key package signature key is %zu bytes; suite 0x%04x keys are %zu", sig_key_len,
                       suite, cs->sig_pub_len);
    if (init_len == enc_len && memcmp(init_key, enc_key, init_len) == 0)
        return xw_errf(
            eb, XW_EMLS_KEYPACKAGE,
            "key package init_key equals its leaf encryption_key; RFC 9420 requires them to differ");
    if (mls_verify_with_label(cs, sig_key, sig_key_len, "LeafNodeTBS", kp + leaf_start,
                              leaf_tbs_end - leaf_start, leaf_sig, leaf_sig_len, &web) != XW_OK)
        return xw_errf(
            eb, XW_EBADSIG,
            "key package leaf node signature does not verify with its signature key (LeafNodeTBS): %s",
            web.msg);
    if (mls_verify_with_label(cs, sig_key, sig_key_len, "KeyPackageTBS", kp, kp_tbs_end, kp_sig, kp_sig_len,
                              &web) != XW_OK)
        return xw_errf(eb, XW_EBADSIG,
                       "key package signature does not verify with its leaf signature key: %s", web.msg);
    int rc = mls_credential(ident, ident_len, out->inbox_id, eb);
    if (rc)
        return rc;
    out->cipher_suite = suite;
    out->signature_key = sig_key;
    out->signature_key_len = sig_key_len;
    return XW_OK;
}
