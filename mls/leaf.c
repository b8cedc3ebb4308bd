/*
 * LeafNode decoding, building, signing and validation (RFC 9420 §7.2, §7.3), plus the
 * small helpers for extension lists and uint16 capability lists that key packages, group
 * infos and the group share.
 *
 * A decoded leaf keeps a private copy of its exact bytes, so unknown extensions and any
 * GREASE values in its capabilities survive byte for byte when the tree is re-encoded.
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/hpke.h"
#include "mls/key_schedule.h"
#include "mls/tree.h"

static mls_span read_u16_list(mls_reader *r, const char *what)
{
    mls_reader sub;
    mls_read_vector(r, &sub);
    mls_span s = {sub.p, sub.len};
    if (!sub.err && (sub.len & 1))
        mls_reader_fail(&sub, XW_EMALFORMED, "capabilities %s list has an odd length (%zu bytes)", what,
                        sub.len);
    sub.off = sub.len;
    mls_reader_join(r, &sub);
    return s;
}

/* Parses a LeafNode at r's position into l (spans into r's input). */
static int leaf_parse(mls_reader *r, mls_leaf *l)
{
    size_t start = r->off;
    l->enc_key = mls_read_opaque_len(r, 1, MLS_HPKE_MAX_PK, "leaf node encryption_key");
    l->sig_key = mls_read_opaque_len(r, 1, 256, "leaf node signature_key");
    size_t cs = r->off;
    l->cred_type = mls_read_u16(r);
    l->identity = (mls_span){NULL, 0};
    if (r->err)
        return r->err;
    if (l->cred_type == MLS_CREDENTIAL_BASIC) {
        l->identity = mls_read_opaque(r);
    } else if (l->cred_type == MLS_CREDENTIAL_X509) {
        mls_reader sub;
        mls_read_vector(r, &sub);
        while (!sub.err && mls_reader_left(&sub))
            mls_read_opaque(&sub);
        mls_reader_join(r, &sub);
    } else {
        return mls_reader_fail(r, XW_EUNSUPPORTED,
                               "leaf node credential type %u is not supported (basic = 1 and x509 = 2 are)",
                               l->cred_type);
    }
    l->credential = (mls_span){r->p + cs, r->off - cs};
    size_t caps = r->off;
    l->versions = read_u16_list(r, "versions");
    l->suites = read_u16_list(r, "cipher_suites");
    l->ext_types = read_u16_list(r, "extensions");
    l->proposal_types = read_u16_list(r, "proposals");
    l->cred_types = read_u16_list(r, "credentials");
    l->capabilities = (mls_span){r->p + caps, r->off - caps};
    l->source = mls_read_u8(r);
    l->not_before = l->not_after = 0;
    l->parent_hash = (mls_span){NULL, 0};
    if (r->err)
        return r->err;
    switch (l->source) {
    case MLS_LEAF_SOURCE_KEY_PACKAGE:
        l->not_before = mls_read_u64(r);
        l->not_after = mls_read_u64(r);
        break;
    case MLS_LEAF_SOURCE_UPDATE:
        break;
    case MLS_LEAF_SOURCE_COMMIT:
        l->parent_hash = mls_read_opaque_len(r, 0, MLS_MAX_HASH, "leaf node parent_hash");
        break;
    default:
        return mls_reader_fail(r, XW_EMALFORMED, "leaf node source %u is not key_package, update or commit",
                               l->source);
    }
    l->extensions = mls_extensions_read(r);
    l->tbs_len = r->off - start;
    l->signature = mls_read_opaque_len(r, 1, MLS_MAX_SIG, "leaf node signature");
    return r->err;
}

mls_leaf *mls_leaf_read(mls_reader *r)
{
    mls_leaf tmp;
    size_t start = r->off;
    if (leaf_parse(r, &tmp) != XW_OK)
        return NULL;
    mls_leaf *l = xw_calloc(1, sizeof *l);
    if (!l) {
        mls_reader_fail(r, XW_ENOMEM, "out of memory copying a leaf node");
        return NULL;
    }
    l->raw_len = r->off - start;
    l->raw = xw_memdup(r->p + start, l->raw_len);
    if (!l->raw) {
        xw_free(l);
        mls_reader_fail(r, XW_ENOMEM, "out of memory copying a leaf node");
        return NULL;
    }
    mls_reader c;
    mls_reader_init(&c, l->raw, l->raw_len, NULL);
    leaf_parse(&c, l); /* cannot fail: the same bytes parsed above */
    l->refs = 1;
    return l;
}

mls_leaf *mls_leaf_ref(mls_leaf *l)
{
    if (l)
        l->refs++;
    return l;
}

void mls_leaf_unref(mls_leaf *l)
{
    if (!l || --l->refs > 0)
        return;
    xw_free(l->raw);
    xw_free(l);
}

void mls_leaf_tbs_write(mls_writer *w, const mls_leaf *l, mls_span group_id, uint32_t leaf_index)
{
    mls_write_fixed(w, l->raw, l->tbs_len);
    if (l->source != MLS_LEAF_SOURCE_KEY_PACKAGE) {
        mls_write_span(w, group_id);
        mls_write_u32(w, leaf_index);
    }
}

int mls_leaf_verify_signature(const mls_suite *s, const mls_leaf *l, mls_span group_id, uint32_t leaf_index,
                              xw_errbuf *eb)
{
    xw_buf b;
    xw_buf_init(&b, l->raw_len + group_id.len + 16);
    mls_writer w;
    mls_writer_init(&w, &b);
    mls_leaf_tbs_write(&w, l, group_id, leaf_index);
    int rc = w.err ? w.err
                   : mls_verify_with_label(s, l->sig_key.p, l->sig_key.len, "LeafNodeTBS", b.data, b.len,
                                           l->signature.p, l->signature.len, eb);
    xw_buf_free(&b);
    if (rc == XW_EBADSIG)
        xw_errf(eb, XW_EBADSIG, "the signature of leaf %u does not verify with its signature_key",
                leaf_index);
    return rc;
}

int mls_u16_list_has(mls_span list, uint16_t v)
{
    for (size_t i = 0; i + 1 < list.len; i += 2)
        if ((uint16_t)(list.p[i] << 8 | list.p[i + 1]) == v)
            return 1;
    return 0;
}

int mls_extensions_find(mls_span exts, uint16_t type, mls_span *data)
{
    mls_reader r;
    mls_reader_init(&r, exts.p, exts.len, NULL);
    while (!r.err && mls_reader_left(&r)) {
        uint16_t t = mls_read_u16(&r);
        mls_span d = mls_read_opaque(&r);
        if (!r.err && t == type) {
            if (data)
                *data = d;
            return 1;
        }
    }
    return 0;
}

static int default_extension(uint16_t t) { return t >= 1 && t <= 5; }
static int default_proposal(uint16_t t) { return t >= 1 && t <= 7; }

/* Checks that no extension type appears twice and that non-default ones are in caps. */
static int check_extensions(mls_span exts, const mls_leaf *l, const char *where, xw_errbuf *eb)
{
    uint16_t seen[64];
    size_t n = 0;
    mls_reader r;
    mls_reader_init(&r, exts.p, exts.len, NULL);
    while (!r.err && mls_reader_left(&r)) {
        uint16_t t = mls_read_u16(&r);
        mls_read_opaque(&r);
        for (size_t i = 0; i < n; i++)
            if (seen[i] == t)
                return xw_errf(eb, XW_EMALFORMED, "%s lists extension type 0x%04x twice", where, t);
        if (n == sizeof seen / sizeof seen[0])
            return xw_errf(eb, XW_ELIMIT, "%s has more than 64 extensions", where);
        seen[n++] = t;
        if (l && !default_extension(t) && !mls_u16_list_has(l->ext_types, t))
            return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                           "%s carries extension 0x%04x that its capabilities do not list; the sender must "
                           "list every non-default extension it uses",
                           where, t);
    }
    return r.err ? xw_errf(eb, XW_EMALFORMED, "%s has a malformed extension list", where) : XW_OK;
}

int mls_check_extension_list(mls_span exts, const char *where, xw_errbuf *eb)
{
    return check_extensions(exts, NULL, where, eb);
}

int mls_leaf_validate(const mls_suite *s, const mls_leaf *l, mls_span group_id, uint32_t leaf_index,
                      mls_span gc_extensions, xw_errbuf *eb)
{
    if (l->sig_key.len != s->sig_pub_len)
        return xw_errf(eb, XW_EBADKEY, "leaf %u has a %zu-byte signature key; suite %u uses %zu bytes",
                       leaf_index, l->sig_key.len, s->id, s->sig_pub_len);
    if (l->enc_key.len != s->hpke_pub_len)
        return xw_errf(eb, XW_EBADKEY, "leaf %u has a %zu-byte encryption key; suite %u uses %zu bytes",
                       leaf_index, l->enc_key.len, s->id, s->hpke_pub_len);
    int rc = mls_leaf_verify_signature(s, l, group_id, leaf_index, eb);
    if (rc != XW_OK)
        return rc;
    if (!mls_u16_list_has(l->cred_types, l->cred_type))
        return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                       "leaf %u uses credential type %u that its own capabilities do not list", leaf_index,
                       l->cred_type);
    if (!mls_u16_list_has(l->versions, MLS_PROTOCOL_VERSION_10))
        return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                       "leaf %u does not list protocol version mls10 in its capabilities", leaf_index);
    if (!mls_u16_list_has(l->suites, s->id))
        return xw_errf(eb, XW_EMLS_KEYPACKAGE, "leaf %u does not list the group's cipher suite %u",
                       leaf_index, s->id);
    char where[64];
    snprintf(where, sizeof where, "leaf %u", leaf_index);
    if ((rc = check_extensions(l->extensions, l, where, eb)) != XW_OK)
        return rc;
    mls_span req;
    if (mls_extensions_find(gc_extensions, MLS_EXT_REQUIRED_CAPABILITIES, &req)) {
        mls_reader r;
        mls_reader_init(&r, req.p, req.len, NULL);
        mls_span ext = read_u16_list(&r, "required extensions");
        mls_span prop = read_u16_list(&r, "required proposals");
        mls_span cred = read_u16_list(&r, "required credentials");
        if (mls_reader_finish(&r, "required_capabilities") != XW_OK)
            return xw_errf(eb, XW_EMALFORMED, "the group's required_capabilities extension is malformed");
        for (size_t i = 0; i + 1 < ext.len; i += 2) {
            uint16_t t = (uint16_t)(ext.p[i] << 8 | ext.p[i + 1]);
            if (!default_extension(t) && !mls_u16_list_has(l->ext_types, t))
                return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                               "leaf %u does not support extension 0x%04x that the group requires",
                               leaf_index, t);
        }
        for (size_t i = 0; i + 1 < prop.len; i += 2) {
            uint16_t t = (uint16_t)(prop.p[i] << 8 | prop.p[i + 1]);
            if (!default_proposal(t) && !mls_u16_list_has(l->proposal_types, t))
                return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                               "leaf %u does not support proposal type 0x%04x that the group requires",
                               leaf_index, t);
        }
        for (size_t i = 0; i + 1 < cred.len; i += 2) {
            uint16_t t = (uint16_t)(cred.p[i] << 8 | cred.p[i + 1]);
            if (!mls_u16_list_has(l->cred_types, t))
                return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                               "leaf %u does not support credential type %u that the group requires",
                               leaf_index, t);
        }
    }
    return XW_OK;
}

mls_leaf *mls_leaf_build(const mls_suite *s, const mls_leaf_fields *f, const mls_sig_priv *k,
                         mls_span group_id, uint32_t leaf_index, xw_errbuf *eb)
{
    xw_buf b;
    xw_buf_init(&b, (size_t)1 << 24);
    mls_writer w;
    mls_writer_init(&w, &b);
    mls_write_span(&w, f->enc_key);
    mls_write_span(&w, f->sig_key);
    mls_write_fixed(&w, f->credential.p, f->credential.len);
    mls_write_fixed(&w, f->capabilities.p, f->capabilities.len);
    mls_write_u8(&w, f->source);
    if (f->source == MLS_LEAF_SOURCE_KEY_PACKAGE) {
        mls_write_u64(&w, f->not_before);
        mls_write_u64(&w, f->not_after);
    } else if (f->source == MLS_LEAF_SOURCE_COMMIT) {
        mls_write_span(&w, f->parent_hash);
    }
    mls_write_span(&w, f->extensions);
    size_t tbs = b.len;
    if (f->source != MLS_LEAF_SOURCE_KEY_PACKAGE) {
        mls_write_span(&w, group_id);
        mls_write_u32(&w, leaf_index);
    }
    uint8_t sig[MLS_MAX_SIG];
    if (w.err || mls_sign_with_label(s, k, "LeafNodeTBS", b.data, b.len, sig, eb) != XW_OK) {
        xw_buf_free(&b);
        xw_errf(eb, XW_ECRYPTO, "could not sign a leaf node");
        return NULL;
    }
    xw_buf_truncate(&b, tbs);
    mls_write_opaque(&w, sig, s->sig_len);
    mls_leaf *l = NULL;
    if (!w.err) {
        mls_reader r;
        mls_reader_init(&r, b.data, b.len, eb);
        l = mls_leaf_read(&r);
    }
    xw_buf_free(&b);
    if (!l)
        xw_errf(eb, XW_EINVAL, "the leaf node fields do not form a valid leaf node");
    return l;
}
