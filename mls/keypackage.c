/*
 * Key packages (see keypackage.h).
 */
#include "mls/keypackage.h"

#include <string.h>

#include "common/alloc.h"
#include "mls/framing.h"
#include "mls/key_schedule.h"

static int kp_parse(mls_reader *r, mls_key_package *kp, int copy_leaf)
{
    size_t start = r->off;
    kp->version = mls_read_u16(r);
    kp->cipher_suite = mls_read_u16(r);
    kp->init_key = mls_read_opaque_len(r, 1, MLS_HPKE_MAX_PK, "key package init_key");
    if (r->err)
        return r->err;
    if (copy_leaf) {
        kp->leaf = mls_leaf_read(r);
        if (!kp->leaf)
            return r->err;
    } else {
        mls_leaf *l = mls_leaf_read(r);
        mls_leaf_unref(l);
        if (!l)
            return r->err;
    }
    kp->extensions = mls_extensions_read(r);
    kp->tbs_len = r->off - start;
    kp->signature = mls_read_opaque_len(r, 1, MLS_MAX_SIG, "key package signature");
    return r->err;
}

mls_key_package *mls_key_package_read(mls_reader *r)
{
    mls_key_package tmp = {0};
    size_t start = r->off;
    if (kp_parse(r, &tmp, 0) != XW_OK)
        return NULL;
    mls_key_package *kp = xw_calloc(1, sizeof *kp);
    if (!kp || !(kp->raw = xw_memdup(r->p + start, r->off - start))) {
        xw_free(kp);
        mls_reader_fail(r, XW_ENOMEM, "out of memory copying a key package");
        return NULL;
    }
    kp->raw_len = r->off - start;
    mls_reader c;
    mls_reader_init(&c, kp->raw, kp->raw_len, NULL);
    if (kp_parse(&c, kp, 1) != XW_OK) {
        mls_key_package_free(kp);
        mls_reader_fail(r, XW_ENOMEM, "out of memory copying a key package");
        return NULL;
    }
    return kp;
}

int mls_key_package_decode(const uint8_t *p, size_t n, mls_key_package **out, xw_errbuf *eb)
{
    mls_reader r;
    mls_reader_init(&r, p, n, eb);
    if (n >= 4 && p[0] == 0 && p[1] == 1 && p[2] == 0 && p[3] == MLS_WIRE_FORMAT_KEY_PACKAGE) {
        mls_read_u16(&r);
        mls_read_u16(&r);
    }
    mls_key_package *kp = mls_key_package_read(&r);
    if (!kp)
        return r.err;
    if (mls_reader_finish(&r, "key package") != XW_OK) {
        mls_key_package_free(kp);
        return r.err;
    }
    *out = kp;
    return XW_OK;
}

void mls_key_package_free(mls_key_package *kp)
{
    if (!kp)
        return;
    mls_leaf_unref(kp->leaf);
    xw_free(kp->raw);
    xw_free(kp);
}

int mls_key_package_ref(const mls_suite *s, const mls_key_package *kp, uint8_t *out)
{
    static const char label[] = "MLS 1.0 KeyPackage Reference";
    return mls_ref_hash(s, label, sizeof label - 1, kp->raw, kp->raw_len, out);
}

int mls_key_package_validate(const mls_suite *s, const mls_key_package *kp, uint64_t now,
                             mls_span gc_extensions, xw_errbuf *eb)
{
    if (kp->version != MLS_PROTOCOL_VERSION_10)
        return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                       "key package has protocol version %u; the group uses mls10 (1)", kp->version);
    if (kp->cipher_suite != s->id)
        return xw_errf(
            eb, XW_EMLS_KEYPACKAGE,
            "key package is for cipher suite %u but the group uses %u; fetch a key package for suite %u",
            kp->cipher_suite, s->id, s->id);
    if (kp->init_key.len != s->hpke_pub_len)
        return xw_errf(eb, XW_EBADKEY, "key package init_key has %zu bytes; suite %u uses %zu",
                       kp->init_key.len, s->id, s->hpke_pub_len);
    int rc = mls_verify_with_label(s, kp->leaf->sig_key.p, kp->leaf->sig_key.len, "KeyPackageTBS", kp->raw,
                                   kp->tbs_len, kp->signature.p, kp->signature.len, eb);
    if (rc != XW_OK)
        return xw_errf(eb, rc, "the key package signature does not verify with its leaf's signature key");
    const mls_leaf *l = kp->leaf;
    if (l->source != MLS_LEAF_SOURCE_KEY_PACKAGE)
        return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                       "the leaf node of a key package has source %u; it must be key_package", l->source);
    if ((rc = mls_leaf_validate(s, l, (mls_span){NULL, 0}, 0, gc_extensions, eb)) != XW_OK)
        return rc;
    if (now && (now < l->not_before || now > l->not_after))
        return xw_errf(
            eb, XW_EMLS_KEYPACKAGE,
            "key package lifetime [%llu, %llu] does not contain the current time %llu; ask the member "
            "for a fresh key package",
            (unsigned long long)l->not_before, (unsigned long long)l->not_after, (unsigned long long)now);
    if (l->enc_key.len == kp->init_key.len && memcmp(l->enc_key.p, kp->init_key.p, l->enc_key.len) == 0)
        return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                       "key package init_key equals its leaf's encryption_key; they must differ");
    return mls_check_extension_list(kp->extensions, "key package", eb);
}

static void capabilities_write(mls_writer *w, const mls_suite *s, mls_span extra, mls_span proposals)
{
    mls_write_varint(w, 2);
    mls_write_u16(w, MLS_PROTOCOL_VERSION_10);
    mls_write_varint(w, 2);
    mls_write_u16(w, s->id);
    mls_write_varint(w, 2 + extra.len);
    mls_write_u16(w, MLS_EXT_LAST_RESORT);
    mls_write_fixed(w, extra.p, extra.len);
    mls_write_opaque(w, proposals.p, proposals.len);
    mls_write_varint(w, 2);
    mls_write_u16(w, MLS_CREDENTIAL_BASIC);
}

void mls_capabilities_write(mls_writer *w, const mls_suite *s, mls_span extra)
{
    capabilities_write(w, s, extra, (mls_span){NULL, 0});
}

int mls_key_package_create(const mls_suite *s, const mls_sig_priv *sig, const mls_key_package_opts *o,
                           xw_buf *out, mls_key_package_secrets *sec, xw_errbuf *eb)
{
    uint8_t seed[MLS_MAX_HASH], init_pub[MLS_HPKE_MAX_PK], enc_pub[MLS_HPKE_MAX_PK];
    memset(sec, 0, sizeof *sec);
    sec->sig = *sig;
    mls_random(seed, s->nh);
    int rc = mls_derive_keypair(s, seed, s->nh, sec->init_priv, init_pub, eb);
    mls_random(seed, s->nh);
    if (rc == XW_OK)
        rc = mls_derive_keypair(s, seed, s->nh, sec->enc_priv, enc_pub, eb);
    xw_wipe(seed, sizeof seed);
    if (rc != XW_OK)
        return rc;
    xw_buf cred, caps, lext, kext;
    xw_buf_init(&cred, 1 << 16);
    xw_buf_init(&caps, 1 << 16);
    xw_buf_init(&lext, 1 << 20);
    xw_buf_init(&kext, 1 << 20);
    mls_writer w;
    mls_writer_init(&w, &cred);
    mls_write_u16(&w, MLS_CREDENTIAL_BASIC);
    mls_write_span(&w, o->identity);
    int werr = w.err;
    mls_writer_init(&w, &caps);
    capabilities_write(&w, s, o->extra_ext_types, o->proposal_types);
    werr |= w.err;
    xw_buf_append(&lext, o->leaf_extensions.p, o->leaf_extensions.len);
    xw_buf_append(&kext, o->kp_extensions.p, o->kp_extensions.len);
    if (o->last_resort) {
        mls_writer_init(&w, &kext);
        mls_write_u16(&w, MLS_EXT_LAST_RESORT);
        mls_write_varint(&w, 0);
        werr |= w.err;
    }
    mls_leaf_fields f = {
        .enc_key = {enc_pub, s->hpke_pub_len},
        .sig_key = {sig->pub, sig->pub_len},
        .credential = {cred.data, cred.len},
        .capabilities = {caps.data, caps.len},
        .source = MLS_LEAF_SOURCE_KEY_PACKAGE,
        .not_before = o->not_before,
        .not_after = o->not_after,
        .extensions = {lext.data, lext.len},
    };
    mls_leaf *leaf = werr ? NULL : mls_leaf_build(s, &f, sig, (mls_span){NULL, 0}, 0, eb);
    rc = leaf ? XW_OK : XW_EINVAL;
    if (leaf) {
        size_t start = out->len;
        mls_writer_init(&w, out);
        mls_write_u16(&w, MLS_PROTOCOL_VERSION_10);
        mls_write_u16(&w, s->id);
        mls_write_opaque(&w, init_pub, s->hpke_pub_len);
        mls_write_fixed(&w, leaf->raw, leaf->raw_len);
        mls_write_opaque(&w, kext.data, kext.len);
        uint8_t signature[MLS_MAX_SIG];
        if (w.err || mls_sign_with_label(s, sig, "KeyPackageTBS", out->data + start, out->len - start,
                                         signature, eb) != XW_OK)
            rc = XW_ECRYPTO;
        else
            mls_write_opaque(&w, signature, s->sig_len);
        if (rc == XW_OK && w.err)
            rc = w.err;
        if (rc != XW_OK)
            xw_buf_truncate(out, start);
    }
    mls_leaf_unref(leaf);
    xw_buf_free(&cred);
    xw_buf_free(&caps);
    xw_buf_free(&lext);
    xw_buf_free(&kext);
    if (rc != XW_OK)
        mls_key_package_secrets_wipe(sec);
    return rc;
}

void mls_key_package_secrets_wipe(mls_key_package_secrets *k) { xw_wipe(k, sizeof *k); }
