/*
 * Codecs whose data travels in EncodedContent parameters and a raw body: text, markdown,
 * reply, read receipt, attachment, remote static attachment. Parameter names, fallback
 * texts and which parameters are optional follow libxmtp's content-types crate, checked
 * against @xmtp/node-bindings 1.9.1 in tests/interop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/codec.h"
#include "common/utf8.h"
#include "common/parse.h"
#include "xmtp/content_int.h"

static int oom(xw_errbuf *eb) { return xw_errf(eb, XW_ENOMEM, "out of memory in a content codec"); }

/* A body or parameter as a NUL-terminated UTF-8 string in the arena. */
static int dup_text(xmtp_content *c, const uint8_t *p, size_t n, const char *what, const char **out,
                    xw_errbuf *eb)
{
    if (!xw_utf8_valid(p, n))
        return xw_errf(eb, XW_EXMTP_CONTENT, "%s is not valid UTF-8", what);
    if (memchr(p, 0, n))
        return xw_errf(eb, XW_EXMTP_CONTENT, "%s contains a NUL character", what);
    if (!(*out = xw_arena_strndup(c->arena_, (const char *)p, n)))
        return oom(eb);
    return XW_OK;
}

/* --- text and markdown ------------------------------------------------------------------------- */

static int dec_utf8_body(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb)
{
    const char *enc = xmtp_ec_param(ec, "encoding");
    if (enc && strcasecmp(enc, "UTF-8") != 0)
        return xw_errf(eb, XW_EXMTP_CONTENT, "text encoding \"%.40s\" is not supported; only UTF-8 is", enc);
    return dup_text(c, ec->content.data, ec->content.len, "text", &c->u.text, eb);
}

static int enc_utf8_body(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb)
{
    if (!c->u.text)
        return xw_errf(eb, XW_EINVAL, "text is missing");
    if (xmtp_ct_add_param(ec, a, "encoding", "UTF-8"))
        return oom(eb);
    ec->content.data = (const uint8_t *)c->u.text;
    ec->content.len = strlen(c->u.text);
    return XW_OK;
}

int xmtp_ct_dec_text(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb)
{
    return dec_utf8_body(c, ec, eb);
}
int xmtp_ct_enc_text(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb)
{
    return enc_utf8_body(c, ec, a, eb);
}
int xmtp_ct_dec_markdown(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb)
{
    return dec_utf8_body(c, ec, eb);
}
int xmtp_ct_enc_markdown(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb)
{
    return enc_utf8_body(c, ec, a, eb);
}

/* --- reply ------------------------------------------------------------------------------------- */

int xmtp_ct_dec_reply(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb)
{
    xmtp_encoded_content *inner = NULL;
    int rc = xmtp_ec_decode(ec->content.data, ec->content.len, &inner, eb);
    if (rc)
        return xw_errctx(eb, XW_EXMTP_CONTENT, "the replied content");
    rc = xmtp_ct_copy_ec(inner, c->arena_, &c->u.reply.inner);
    xmtp_ec_free(inner);
    if (rc)
        return oom(eb);
    c->u.reply.reference = xmtp_ec_param(ec, "reference");
    if (!c->u.reply.reference)
        c->u.reply.reference = "";
    c->u.reply.reference_inbox_id = xmtp_ec_param(ec, "referenceInboxId");
    c->u.reply.inner_type = xmtp_ec_param(ec, "contentType");
    return XW_OK;
}

int xmtp_ct_enc_reply(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb)
{
    const xmtp_reply *r = &c->u.reply;
    const xmtp_encoded_content *in = r->inner;
    if (!in || !in->has_type || !in->type.authority_id || !in->type.type_id || !in->type.authority_id[0] ||
        !in->type.type_id[0])
        return xw_errf(eb, XW_EINVAL,
                       "a reply's content needs a complete content type (authority and type id)");
    if (!r->reference)
        return xw_errf(eb, XW_EINVAL, "a reply needs the id of the message it replies to");
    char *t = xw_arena_alloc(a, 256);
    xw_buf body;
    xw_buf_init(&body, XMTP_CONTENT_MAX_BYTES);
    if (!t)
        return oom(eb);
    if (xmtp_content_type_format(&in->type, t, 256))
        return xw_errf(eb, XW_EINVAL, "the reply's content type is too long");
    int rc = xmtp_ec_encode(in, &body, eb);
    if (rc)
        return rc;
    ec->content.data = xw_arena_memdup(a, body.data ? body.data : (const uint8_t *)"", body.len);
    ec->content.len = body.len;
    xw_buf_free(&body);
    if (!ec->content.data)
        return oom(eb);
    if (xmtp_ct_add_param(ec, a, "reference", r->reference) || xmtp_ct_add_param(ec, a, "contentType", t) ||
        (r->reference_inbox_id && xmtp_ct_add_param(ec, a, "referenceInboxId", r->reference_inbox_id)))
        return oom(eb);
    /* libxmtp: quote the text when the inner content is text that decodes */
    const char *fb = "Replied to an earlier message";
    if (strcmp(in->type.type_id, "text") == 0) {
        xmtp_content *inner = NULL;
        if (xmtp_content_decode(in, &inner, NULL) == XW_OK) {
            if (inner->kind == XMTP_CT_TEXT) {
                size_t n = strlen(inner->u.text) + 64;
                char *q = xw_arena_alloc(a, n);
                if (q) {
                    snprintf(q, n, "Replied with \"%s\" to an earlier message", inner->u.text);
                    fb = q;
                }
            }
            xmtp_content_free(inner);
        }
    }
    ec->fallback = fb;
    return XW_OK;
}

/* --- read receipt ------------------------------------------------------------------------------ */

int xmtp_ct_dec_read_receipt(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb)
{
    (void)c;
    (void)ec;
    (void)eb;
    return XW_OK; /* the body carries nothing; libxmtp ignores it too */
}

int xmtp_ct_enc_read_receipt(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb)
{
    (void)c;
    (void)a;
    (void)eb;
    ec->content.data = (const uint8_t *)"";
    ec->content.len = 0;
    return XW_OK;
}

/* --- attachment -------------------------------------------------------------------------------- */

int xmtp_ct_dec_attachment(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb)
{
    (void)eb;
    xmtp_attachment *at = &c->u.attachment;
    at->mime_type = xmtp_ec_param(ec, "mimeType");
    if (!at->mime_type)
        at->mime_type = "";
    at->filename = xmtp_ec_param(ec, "filename");
    at->data = ec->content;
    return XW_OK;
}

static const char *cant_display(xw_arena *a, const char *filename, const char *what)
{
    size_t n = (filename ? strlen(filename) : 0) + strlen(what) + 64;
    char *s = xw_arena_alloc(a, n);
    if (s)
        snprintf(s, n, "Can't display %s. This app doesn't support %s.", filename ? filename : "this content",
                 what);
    return s;
}

int xmtp_ct_enc_attachment(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb)
{
    const xmtp_attachment *at = &c->u.attachment;
    if (!at->mime_type)
        return xw_errf(eb, XW_EINVAL, "an attachment needs a MIME type");
    if ((at->filename && xmtp_ct_add_param(ec, a, "filename", at->filename)) ||
        xmtp_ct_add_param(ec, a, "mimeType", at->mime_type))
        return oom(eb);
    ec->content = at->data;
    if (!ec->content.data)
        ec->content.data = (const uint8_t *)"";
    if (!(ec->fallback = cant_display(a, at->filename, "attachments")))
        return oom(eb);
    return XW_OK;
}

/* --- remote static attachment ------------------------------------------------------------------ */

static int hex_param(xmtp_content *c, const xmtp_encoded_content *ec, const char *key, xmtp_bytes *out,
                     xw_errbuf *eb)
{
    const char *v = xmtp_ec_param(ec, key);
    if (!v)
        return xw_errf(eb, XW_EXMTP_CONTENT, "remote attachment lacks its \"%s\" parameter", key);
    xw_buf b;
    xw_buf_init(&b, XMTP_CONTENT_MAX_BYTES);
    if (xw_hex_decode(v, strlen(v), &b) != XW_OK) {
        xw_buf_free(&b);
        return xw_errf(eb, XW_EXMTP_CONTENT, "remote attachment \"%s\" parameter is not hex", key);
    }
    out->len = b.len;
    out->data = xw_arena_memdup(c->arena_, b.data ? b.data : (const uint8_t *)"", b.len);
    xw_buf_free(&b);
    return out->data ? XW_OK : oom(eb);
}

int xmtp_ct_dec_remote_attachment(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb)
{
    xmtp_remote_attachment *r = &c->u.remote_attachment;
    int rc = dup_text(c, ec->content.data, ec->content.len, "remote attachment URL", &r->url, eb);
    if (rc || (rc = hex_param(c, ec, "secret", &r->secret, eb)) ||
        (rc = hex_param(c, ec, "salt", &r->salt, eb)) || (rc = hex_param(c, ec, "nonce", &r->nonce, eb)))
        return rc;
    r->content_digest = xmtp_ec_param(ec, "contentDigest");
    r->scheme = xmtp_ec_param(ec, "scheme");
    if (!r->content_digest || !r->scheme)
        return xw_errf(eb, XW_EXMTP_CONTENT, "remote attachment lacks its %s parameter",
                       r->content_digest ? "\"scheme\"" : "\"contentDigest\"");
    r->filename = xmtp_ec_param(ec, "filename");
    const char *len = xmtp_ec_param(ec, "contentLength");
    if (len) {
        uint64_t v;
        xw_errbuf peb = {{0}};
        if (xw_parse_u64("contentLength", len, 0, UINT32_MAX, &v, &peb) != XW_OK)
            return xw_errf(eb, XW_EXMTP_CONTENT, "remote attachment %s", peb.msg);
        r->has_content_length = 1;
        r->content_length = (uint32_t)v;
    }
    return XW_OK;
}

static const char *hex_in(xw_arena *a, xmtp_bytes b)
{
    char *s = xw_arena_alloc(a, 2 * b.len + 1);
    if (s)
        xw_hex_encode(b.data ? b.data : (const uint8_t *)"", b.len, s);
    return s;
}

int xmtp_ct_enc_remote_attachment(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb)
{
    const xmtp_remote_attachment *r = &c->u.remote_attachment;
    if (!r->url || !r->content_digest || !r->scheme)
        return xw_errf(eb, XW_EINVAL, "a remote attachment needs a URL, a content digest and a scheme");
    const char *secret = hex_in(a, r->secret), *salt = hex_in(a, r->salt), *nonce = hex_in(a, r->nonce);
    char *len = xw_arena_alloc(a, 16);
    if (!secret || !salt || !nonce || !len)
        return oom(eb);
    snprintf(len, 16, "%u", r->content_length);
    if (xmtp_ct_add_param(ec, a, "contentDigest", r->content_digest) ||
        xmtp_ct_add_param(ec, a, "secret", secret) || xmtp_ct_add_param(ec, a, "salt", salt) ||
        xmtp_ct_add_param(ec, a, "nonce", nonce) || xmtp_ct_add_param(ec, a, "scheme", r->scheme) ||
        (r->has_content_length && xmtp_ct_add_param(ec, a, "contentLength", len)) ||
        (r->filename && xmtp_ct_add_param(ec, a, "filename", r->filename)))
        return oom(eb);
    ec->content.data = (const uint8_t *)r->url;
    ec->content.len = strlen(r->url);
    if (!(ec->fallback = cant_display(a, r->filename, "remote attachments")))
        return oom(eb);
    return XW_OK;
}
