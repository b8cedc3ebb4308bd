/*
 * Framing codec, content signatures and membership tags (see framing.h). Encoders write
 * through mls_writer; decoders read through mls_reader and leave spans into the input.
 */
#include "mls/framing.h"

#include <sodium.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/scratch_int.h"
#include "mls/wire.h"

static int sender_read(mls_reader *r, mls_sender *s)
{
    size_t at = r->off;
    s->type = mls_read_u8(r);
    s->index = 0;
    if (s->type == MLS_SENDER_MEMBER || s->type == MLS_SENDER_EXTERNAL)
        s->index = mls_read_u32(r);
    else if (s->type != MLS_SENDER_NEW_MEMBER_PROPOSAL && s->type != MLS_SENDER_NEW_MEMBER_COMMIT && !r->err)
        mls_reader_fail(r, XW_EMALFORMED, "sender type %u at byte %zu is not one RFC 9420 defines (1-4)",
                        s->type, at);
    return r->err;
}

void mls_framed_content_write(mls_writer *w, const mls_framed_content *fc)
{
    mls_write_span(w, fc->group_id);
    mls_write_u64(w, fc->epoch);
    mls_write_u8(w, fc->sender.type);
    if (fc->sender.type == MLS_SENDER_MEMBER || fc->sender.type == MLS_SENDER_EXTERNAL)
        mls_write_u32(w, fc->sender.index);
    mls_write_span(w, fc->authenticated_data);
    mls_write_u8(w, fc->content_type);
    if (fc->content_type == MLS_CONTENT_APPLICATION)
        mls_write_span(w, fc->content);
    else
        mls_write_fixed(w, fc->content.p, fc->content.len);
}

mls_span mls_framed_content_body_read(mls_reader *r, uint8_t content_type)
{
    size_t at = r->off;
    if (content_type == MLS_CONTENT_APPLICATION)
        return mls_read_opaque(r);
    if (content_type == MLS_CONTENT_PROPOSAL || content_type == MLS_CONTENT_COMMIT) {
        mls_wire_read(r, content_type == MLS_CONTENT_PROPOSAL ? MLS_WIRE_PROPOSAL : MLS_WIRE_COMMIT, NULL);
        if (r->err)
            return (mls_span){NULL, 0};
        return (mls_span){r->p + at, r->off - at};
    }
    if (!r->err)
        mls_reader_fail(r, XW_EMALFORMED,
                        "content type %u before byte %zu is not application, proposal or commit",
                        content_type, at);
    return (mls_span){NULL, 0};
}

int mls_framed_content_read(mls_reader *r, mls_framed_content *fc)
{
    memset(fc, 0, sizeof *fc);
    fc->group_id = mls_read_opaque(r);
    fc->epoch = mls_read_u64(r);
    sender_read(r, &fc->sender);
    fc->authenticated_data = mls_read_opaque(r);
    fc->content_type = mls_read_u8(r);
    if (r->err)
        return r->err;
    fc->content = mls_framed_content_body_read(r, fc->content_type);
    return r->err;
}

void mls_auth_data_write(mls_writer *w, const mls_auth_data *a, uint8_t content_type)
{
    mls_write_span(w, a->signature);
    if (content_type == MLS_CONTENT_COMMIT)
        mls_write_span(w, a->confirmation_tag);
}

int mls_auth_data_read(mls_reader *r, uint8_t content_type, mls_auth_data *a)
{
    a->signature = mls_read_opaque(r);
    a->confirmation_tag = (mls_span){NULL, 0};
    if (content_type == MLS_CONTENT_COMMIT)
        a->confirmation_tag = mls_read_opaque(r);
    return r->err;
}

void mls_authenticated_content_write(mls_writer *w, const mls_authenticated_content *ac)
{
    mls_write_u16(w, ac->wire_format);
    mls_framed_content_write(w, &ac->content);
    mls_auth_data_write(w, &ac->auth, ac->content.content_type);
}

int mls_authenticated_content_read(mls_reader *r, mls_authenticated_content *ac)
{
    ac->wire_format = mls_read_u16(r);
    mls_framed_content_read(r, &ac->content);
    mls_auth_data_read(r, ac->content.content_type, &ac->auth);
    return r->err;
}

void mls_confirmed_transcript_input_write(mls_writer *w, const mls_authenticated_content *ac)
{
    mls_write_u16(w, ac->wire_format);
    mls_framed_content_write(w, &ac->content);
    mls_write_span(w, ac->auth.signature);
}

int mls_message_decode(const uint8_t *p, size_t n, mls_message *m, xw_errbuf *eb)
{
    mls_reader r;
    mls_reader_init(&r, p, n, eb);
    memset(m, 0, sizeof *m);
    m->version = mls_read_u16(&r);
    if (!r.err && m->version != 1)
        return mls_reader_fail(&r, XW_EUNSUPPORTED,
                               "MLSMessage has protocol version %u; only mls10 (1) is supported", m->version);
    m->wire_format = mls_read_u16(&r);
    size_t at = r.off;
    if (r.err)
        return r.err;
    switch (m->wire_format) {
    case MLS_WIRE_FORMAT_PUBLIC_MESSAGE:
        mls_framed_content_read(&r, &m->pub.content);
        mls_auth_data_read(&r, m->pub.content.content_type, &m->pub.auth);
        if (m->pub.content.sender.type == MLS_SENDER_MEMBER)
            m->pub.membership_tag = mls_read_opaque(&r);
        break;
    case MLS_WIRE_FORMAT_PRIVATE_MESSAGE:
        m->priv.group_id = mls_read_opaque(&r);
        m->priv.epoch = mls_read_u64(&r);
        at = r.off;
        m->priv.content_type = mls_read_u8(&r);
        if (!r.err &&
            (m->priv.content_type < MLS_CONTENT_APPLICATION || m->priv.content_type > MLS_CONTENT_COMMIT))
            mls_reader_fail(&r, XW_EMALFORMED,
                            "content type %u at byte %zu is not application, proposal or commit",
                            m->priv.content_type, at);
        m->priv.authenticated_data = mls_read_opaque(&r);
        m->priv.encrypted_sender_data = mls_read_opaque(&r);
        m->priv.ciphertext = mls_read_opaque(&r);
        break;
    case MLS_WIRE_FORMAT_WELCOME:
    case MLS_WIRE_FORMAT_GROUP_INFO:
    case MLS_WIRE_FORMAT_KEY_PACKAGE:
        mls_wire_read(&r,
                      m->wire_format == MLS_WIRE_FORMAT_WELCOME      ? MLS_WIRE_WELCOME
                      : m->wire_format == MLS_WIRE_FORMAT_GROUP_INFO ? MLS_WIRE_GROUP_INFO
                                                                     : MLS_WIRE_KEY_PACKAGE,
                      NULL);
        m->body = (mls_span){p + at, r.off - at};
        break;
    default:
        mls_reader_fail(&r, XW_EUNSUPPORTED, "MLSMessage wire format %u is not one RFC 9420 defines (1-5)",
                        m->wire_format);
    }
    return mls_reader_finish(&r, "MLSMessage");
}

int mls_message_encode(const mls_message *m, xw_buf *out, xw_errbuf *eb)
{
    mls_writer w;
    mls_writer_init(&w, out);
    size_t start = out->len;
    mls_write_u16(&w, m->version);
    mls_write_u16(&w, m->wire_format);
    switch (m->wire_format) {
    case MLS_WIRE_FORMAT_PUBLIC_MESSAGE:
        mls_framed_content_write(&w, &m->pub.content);
        mls_auth_data_write(&w, &m->pub.auth, m->pub.content.content_type);
        if (m->pub.content.sender.type == MLS_SENDER_MEMBER)
            mls_write_span(&w, m->pub.membership_tag);
        break;
    case MLS_WIRE_FORMAT_PRIVATE_MESSAGE:
        mls_write_span(&w, m->priv.group_id);
        mls_write_u64(&w, m->priv.epoch);
        mls_write_u8(&w, m->priv.content_type);
        mls_write_span(&w, m->priv.authenticated_data);
        mls_write_span(&w, m->priv.encrypted_sender_data);
        mls_write_span(&w, m->priv.ciphertext);
        break;
    case MLS_WIRE_FORMAT_WELCOME:
    case MLS_WIRE_FORMAT_GROUP_INFO:
    case MLS_WIRE_FORMAT_KEY_PACKAGE:
        mls_write_fixed(&w, m->body.p, m->body.len);
        break;
    default:
        return xw_errf(eb, XW_EINVAL, "cannot encode an MLSMessage of wire format %u", m->wire_format);
    }
    if (w.err) {
        xw_buf_truncate(out, start);
        return xw_errf(eb, w.err, "MLSMessage does not fit its buffer");
    }
    return XW_OK;
}

/* --- signatures and tags --- */

/* Upper bound of the FramedContentTBS size, to size buffers once. */
static size_t tbs_bound(const mls_framed_content *fc, mls_span gc)
{
    return 64 + fc->group_id.len + fc->authenticated_data.len + fc->content.len + gc.len;
}

void mls_framed_content_tbs_write(mls_writer *w, uint16_t wire_format, const mls_framed_content *fc,
                                  mls_span group_context)
{
    mls_write_u16(w, 1);
    mls_write_u16(w, wire_format);
    mls_framed_content_write(w, fc);
    if (fc->sender.type == MLS_SENDER_MEMBER || fc->sender.type == MLS_SENDER_NEW_MEMBER_COMMIT)
        mls_write_fixed(w, group_context.p, group_context.len);
}

int mls_framed_content_sign(const mls_suite *s, uint16_t wire_format, const mls_framed_content *fc,
                            mls_span group_context, const mls_sig_priv *k, uint8_t *sig, xw_errbuf *eb)
{
    xw_buf tbs;
    uint8_t mem[1024];
    if (mls_scratch_init(&tbs, mem, sizeof mem, tbs_bound(fc, group_context), MLS_MESSAGE_MAX) != XW_OK) {
        mls_scratch_free(&tbs, mem);
        return xw_errf(eb, XW_ETOOBIG, "content to sign is too large");
    }
    mls_writer w;
    mls_writer_init(&w, &tbs);
    mls_framed_content_tbs_write(&w, wire_format, fc, group_context);
    int rc = w.err ? xw_errf(eb, w.err, "content to sign is too large")
                   : mls_sign_with_label(s, k, "FramedContentTBS", tbs.data, tbs.len, sig, eb);
    mls_scratch_free(&tbs, mem);
    return rc;
}

int mls_framed_content_verify(const mls_suite *s, const mls_authenticated_content *ac, mls_span group_context,
                              mls_span sig_pub, xw_errbuf *eb)
{
    xw_buf tbs;
    uint8_t mem[1024];
    if (mls_scratch_init(&tbs, mem, sizeof mem, tbs_bound(&ac->content, group_context), MLS_MESSAGE_MAX) !=
        XW_OK) {
        mls_scratch_free(&tbs, mem);
        return xw_errf(eb, XW_ETOOBIG, "signed content is too large");
    }
    mls_writer w;
    mls_writer_init(&w, &tbs);
    mls_framed_content_tbs_write(&w, ac->wire_format, &ac->content, group_context);
    int rc = w.err ? xw_errf(eb, w.err, "signed content is too large")
                   : mls_verify_with_label(s, sig_pub.p, sig_pub.len, "FramedContentTBS", tbs.data, tbs.len,
                                           ac->auth.signature.p, ac->auth.signature.len, eb);
    mls_scratch_free(&tbs, mem);
    return rc;
}

int mls_membership_tag(const mls_suite *s, const uint8_t *membership_key, const mls_authenticated_content *ac,
                       mls_span group_context, uint8_t *out)
{
    xw_buf tbm;
    uint8_t mem[1024];
    size_t bound =
        tbs_bound(&ac->content, group_context) + ac->auth.signature.len + ac->auth.confirmation_tag.len + 8;
    if (mls_scratch_init(&tbm, mem, sizeof mem, bound, MLS_MESSAGE_MAX) != XW_OK) {
        mls_scratch_free(&tbm, mem);
        return XW_ETOOBIG;
    }
    mls_writer w;
    mls_writer_init(&w, &tbm);
    mls_framed_content_tbs_write(&w, ac->wire_format, &ac->content, group_context);
    mls_auth_data_write(&w, &ac->auth, ac->content.content_type);
    int rc = w.err ? w.err : mls_mac(s, membership_key, s->nh, tbm.data, tbm.len, out);
    mls_scratch_free(&tbm, mem);
    return rc;
}
