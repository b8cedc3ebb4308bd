/*
 * Key schedule, PSK secret and transcript hashes (see key_schedule.h). Straight from the
 * RFC 9420 §8 diagram: KDF.Extract takes its salt from the previous secret and its IKM from
 * the new input (commit_secret, then psk_secret).
 */
#include "mls/key_schedule.h"

#include <stddef.h>
#include <string.h>

#include "common/alloc.h"

void mls_group_context_write(mls_writer *w, const mls_group_context *gc)
{
    mls_write_u16(w, gc->version);
    mls_write_u16(w, gc->cipher_suite);
    mls_write_span(w, gc->group_id);
    mls_write_u64(w, gc->epoch);
    mls_write_span(w, gc->tree_hash);
    mls_write_span(w, gc->confirmed_transcript_hash);
    mls_write_span(w, gc->extensions);
}

mls_span mls_extensions_read(mls_reader *r)
{
    mls_reader sub;
    mls_read_vector(r, &sub);
    mls_span all = {sub.p, sub.len};
    while (!sub.err && mls_reader_left(&sub)) {
        mls_read_u16(&sub);
        mls_read_opaque(&sub);
    }
    if (mls_reader_join(r, &sub))
        return (mls_span){NULL, 0};
    return all;
}

int mls_group_context_read(mls_reader *r, mls_group_context *gc)
{
    gc->version = mls_read_u16(r);
    gc->cipher_suite = mls_read_u16(r);
    gc->group_id = mls_read_opaque(r);
    gc->epoch = mls_read_u64(r);
    gc->tree_hash = mls_read_opaque(r);
    gc->confirmed_transcript_hash = mls_read_opaque(r);
    gc->extensions = mls_extensions_read(r);
    if (!r->err && gc->version != MLS_PROTOCOL_VERSION_10)
        mls_reader_fail(r, XW_EUNSUPPORTED,
                        "group context has protocol version %u; only mls10 (1) is supported", gc->version);
    return r->err;
}

int mls_key_schedule_joiner(const mls_suite *s, const uint8_t *init_secret, const uint8_t *commit_secret,
                            const uint8_t *group_context, size_t gc_len, uint8_t *joiner_secret)
{
    uint8_t zero[MLS_MAX_HASH] = {0}, prk[MLS_MAX_HASH];
    int rc = mls_extract(s, init_secret, s->nh, commit_secret ? commit_secret : zero, s->nh, prk);
    if (rc == XW_OK)
        rc = mls_expand_with_label(s, prk, "joiner", 6, group_context, gc_len, joiner_secret, s->nh);
    xw_wipe(prk, sizeof prk);
    return rc;
}

int mls_key_schedule_epoch(const mls_suite *s, const uint8_t *joiner_secret, const uint8_t *psk_secret,
                           const uint8_t *group_context, size_t gc_len, mls_epoch_secrets *out)
{
    uint8_t zero[MLS_MAX_HASH] = {0}, prk[MLS_MAX_HASH], epoch[MLS_MAX_HASH];
    if (out->joiner_secret != joiner_secret)
        memcpy(out->joiner_secret, joiner_secret, s->nh);
    int rc = mls_extract(s, joiner_secret, s->nh, psk_secret ? psk_secret : zero, s->nh, prk);
    if (rc == XW_OK)
        rc = mls_derive_secret(s, prk, "welcome", out->welcome_secret);
    if (rc == XW_OK)
        rc = mls_expand_with_label(s, prk, "epoch", 5, group_context, gc_len, epoch, s->nh);
    static const struct {
        const char *label;
        size_t off;
    } derived[] = {
        {"sender data", offsetof(mls_epoch_secrets, sender_data_secret)},
        {"encryption", offsetof(mls_epoch_secrets, encryption_secret)},
        {"exporter", offsetof(mls_epoch_secrets, exporter_secret)},
        {"external", offsetof(mls_epoch_secrets, external_secret)},
        {"confirm", offsetof(mls_epoch_secrets, confirmation_key)},
        {"membership", offsetof(mls_epoch_secrets, membership_key)},
        {"resumption", offsetof(mls_epoch_secrets, resumption_psk)},
        {"authentication", offsetof(mls_epoch_secrets, epoch_authenticator)},
        {"init", offsetof(mls_epoch_secrets, init_secret)},
    };
    for (size_t i = 0; rc == XW_OK && i < sizeof derived / sizeof derived[0]; i++)
        rc = mls_derive_secret(s, epoch, derived[i].label, (uint8_t *)out + derived[i].off);
    xw_wipe(prk, sizeof prk);
    xw_wipe(epoch, sizeof epoch);
    if (rc)
        mls_epoch_secrets_wipe(out);
    return rc;
}

int mls_key_schedule_run(const mls_suite *s, const uint8_t *init_secret, const uint8_t *commit_secret,
                         const uint8_t *psk_secret, const uint8_t *group_context, size_t gc_len,
                         mls_epoch_secrets *out)
{
    int rc =
        mls_key_schedule_joiner(s, init_secret, commit_secret, group_context, gc_len, out->joiner_secret);
    if (rc == XW_OK)
        rc = mls_key_schedule_epoch(s, out->joiner_secret, psk_secret, group_context, gc_len, out);
    if (rc)
        mls_epoch_secrets_wipe(out);
    return rc;
}

void mls_epoch_secrets_wipe(mls_epoch_secrets *e) { xw_wipe(e, sizeof *e); }

int mls_welcome_key_nonce(const mls_suite *s, const uint8_t *welcome_secret, uint8_t *key, uint8_t *nonce)
{
    int rc = mls_expand_with_label(s, welcome_secret, "key", 3, NULL, 0, key, s->nk);
    if (rc == XW_OK)
        rc = mls_expand_with_label(s, welcome_secret, "nonce", 5, NULL, 0, nonce, s->nn);
    return rc;
}

int mls_exporter(const mls_suite *s, const uint8_t *exporter_secret, const void *label, size_t label_len,
                 const uint8_t *context, size_t ctx_len, uint8_t *out, size_t L)
{
    uint8_t derived[MLS_MAX_HASH], h[MLS_MAX_HASH];
    int rc = mls_expand_with_label(s, exporter_secret, label, label_len, NULL, 0, derived, s->nh);
    if (rc == XW_OK)
        rc = mls_hash(s, context, ctx_len, h);
    if (rc == XW_OK)
        rc = mls_expand_with_label(s, derived, "exported", 8, h, s->nh, out, L);
    xw_wipe(derived, sizeof derived);
    return rc;
}

int mls_external_keypair(const mls_suite *s, const uint8_t *external_secret, uint8_t *priv, uint8_t *pub,
                         xw_errbuf *eb)
{
    return mls_derive_keypair(s, external_secret, s->nh, priv, pub, eb);
}

/* --- PSKs --- */

void mls_psk_id_write(mls_writer *w, const mls_psk_id *id)
{
    mls_write_u8(w, id->psktype);
    if (id->psktype == MLS_PSK_EXTERNAL) {
        mls_write_span(w, id->psk_id);
    } else {
        mls_write_u8(w, id->usage);
        mls_write_span(w, id->psk_group_id);
        mls_write_u64(w, id->psk_epoch);
    }
    mls_write_span(w, id->psk_nonce);
}

int mls_psk_id_read(mls_reader *r, mls_psk_id *id)
{
    memset(id, 0, sizeof *id);
    size_t at = r->off;
    id->psktype = mls_read_u8(r);
    if (r->err)
        return r->err;
    if (id->psktype == MLS_PSK_EXTERNAL) {
        id->psk_id = mls_read_opaque(r);
    } else if (id->psktype == MLS_PSK_RESUMPTION) {
        id->usage = mls_read_u8(r);
        id->psk_group_id = mls_read_opaque(r);
        id->psk_epoch = mls_read_u64(r);
        if (!r->err && (id->usage < MLS_PSK_USAGE_APPLICATION || id->usage > MLS_PSK_USAGE_BRANCH))
            return mls_reader_fail(r, XW_EMALFORMED, "resumption PSK at byte %zu has unknown usage %u", at,
                                   id->usage);
    } else {
        return mls_reader_fail(r, XW_EMALFORMED, "PreSharedKeyID at byte %zu has unknown psktype %u", at,
                               id->psktype);
    }
    id->psk_nonce = mls_read_opaque(r);
    return r->err;
}

int mls_psk_secret(const mls_suite *s, const mls_psk *psks, size_t n, uint8_t *out, xw_errbuf *eb)
{
    if (n > MLS_PSK_MAX || n > 0xffff)
        return xw_errf(eb, XW_ELIMIT, "%zu PSKs is more than the %d allowed", n, MLS_PSK_MAX);
    uint8_t zero[MLS_MAX_HASH] = {0}, extracted[MLS_MAX_HASH], input[MLS_MAX_HASH];
    memset(out, 0, s->nh);
    xw_buf label;
    xw_buf_init(&label, (size_t)1 << 20);
    int rc = XW_OK;
    for (size_t i = 0; i < n && rc == XW_OK; i++) {
        if (psks[i].id.psktype != MLS_PSK_EXTERNAL && psks[i].id.psktype != MLS_PSK_RESUMPTION) {
            rc = xw_errf(eb, XW_EINVAL, "PSK %zu has unknown type %u", i, psks[i].id.psktype);
            break;
        }
        /* PSKLabel { PreSharedKeyID id; uint16 index; uint16 count; } */
        mls_writer w;
        xw_buf_reset(&label);
        mls_writer_init(&w, &label);
        mls_psk_id_write(&w, &psks[i].id);
        mls_write_u16(&w, (uint16_t)i);
        mls_write_u16(&w, (uint16_t)n);
        rc = w.err;
        if (rc) {
            xw_errf(eb, rc, "PSK %zu's identifier is too large to encode", i);
            break;
        }
        rc = mls_extract(s, zero, s->nh, psks[i].psk, psks[i].psk_len, extracted);
        if (rc == XW_OK)
            rc = mls_expand_with_label(s, extracted, "derived psk", 11, label.data, label.len, input, s->nh);
        if (rc == XW_OK)
            rc = mls_extract(s, input, s->nh, out, s->nh, out);
        if (rc)
            xw_errf(eb, rc, "PSK secret derivation failed");
    }
    xw_wipe(extracted, sizeof extracted);
    xw_wipe(input, sizeof input);
    xw_buf_free(&label);
    if (rc)
        xw_wipe(out, s->nh);
    return rc;
}

/* --- transcript hashes --- */

int mls_confirmed_transcript_hash(const mls_suite *s, const uint8_t *interim_prev, size_t interim_len,
                                  const uint8_t *cth_input, size_t n, uint8_t *out)
{
    return mls_hash2(s, interim_prev, interim_len, cth_input, n, out);
}

int mls_interim_transcript_hash(const mls_suite *s, const uint8_t *confirmed, const uint8_t *tag,
                                size_t tag_len, uint8_t *out)
{
    if (tag_len > MLS_MAX_HASH * 2)
        return XW_EINVAL;
    size_t h = mls_varint_size(tag_len);
    mls_writer w;
    xw_buf b;
    xw_buf_init(&b, 4 + MLS_MAX_HASH * 2);
    mls_writer_init(&w, &b);
    mls_write_opaque(&w, tag, tag_len);
    int rc = w.err;
    if (rc == XW_OK)
        rc = mls_hash2(s, confirmed, s->nh, b.data, h + tag_len, out);
    xw_buf_free(&b);
    return rc;
}

int mls_confirmation_tag(const mls_suite *s, const uint8_t *confirmation_key, const uint8_t *confirmed,
                         uint8_t *out)
{
    return mls_mac(s, confirmation_key, s->nh, confirmed, s->nh, out);
}
