/*
 * EncodedContent (protobuf) and the dispatch between type ids and codecs.
 *
 * Decoding copies everything into an arena owned by the result, so the protobuf-c message
 * is freed at once. Parameters are a protobuf map: duplicate keys keep the last value
 * (protobuf's rule) and keys must be unique in our model, so later duplicates replace
 * earlier ones. The type table below is libxmtp's (authority, type id, major version);
 * a type with another major version is unknown to us and decodes as XMTP_CT_UNKNOWN.
 */
#include "xmtp/content.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/utf8.h"
#include "gen/xmtp/mls/message_contents/content.pb-c.h"
#include "proto/pb.h"
#include "xmtp/content_int.h"

static const struct {
    xmtp_content_kind kind;
    const char *authority, *type;
    uint32_t major;
    int push, deletable;
    xmtp_ct_dec_fn dec;
    xmtp_ct_enc_fn enc;
} table[] = {
    {XMTP_CT_TEXT, "xmtp.org", "text", 1, 1, 1, xmtp_ct_dec_text, xmtp_ct_enc_text},
    {XMTP_CT_MARKDOWN, "xmtp.org", "markdown", 1, 1, 1, xmtp_ct_dec_markdown, xmtp_ct_enc_markdown},
    {XMTP_CT_REPLY, "xmtp.org", "reply", 1, 1, 1, xmtp_ct_dec_reply, xmtp_ct_enc_reply},
    {XMTP_CT_REACTION, "xmtp.org", "reaction", 2, 0, 0, xmtp_ct_dec_reaction, xmtp_ct_enc_reaction},
    {XMTP_CT_REACTION, "xmtp.org", "reaction", 1, 0, 0, xmtp_ct_dec_reaction, xmtp_ct_enc_reaction},
    {XMTP_CT_READ_RECEIPT, "xmtp.org", "readReceipt", 1, 0, 0, xmtp_ct_dec_read_receipt,
     xmtp_ct_enc_read_receipt},
    {XMTP_CT_ATTACHMENT, "xmtp.org", "attachment", 1, 1, 1, xmtp_ct_dec_attachment, xmtp_ct_enc_attachment},
    {XMTP_CT_REMOTE_ATTACHMENT, "xmtp.org", "remoteStaticAttachment", 1, 1, 1, xmtp_ct_dec_remote_attachment,
     xmtp_ct_enc_remote_attachment},
    {XMTP_CT_MULTI_REMOTE_ATTACHMENT, "xmtp.org", "multiRemoteStaticAttachment", 1, 1, 1,
     xmtp_ct_dec_multi_remote_attachment, xmtp_ct_enc_multi_remote_attachment},
    {XMTP_CT_TRANSACTION_REFERENCE, "xmtp.org", "transactionReference", 1, 1, 1,
     xmtp_ct_dec_transaction_reference, xmtp_ct_enc_transaction_reference},
    {XMTP_CT_WALLET_SEND_CALLS, "xmtp.org", "walletSendCalls", 1, 1, 1, xmtp_ct_dec_wallet_send_calls,
     xmtp_ct_enc_wallet_send_calls},
    {XMTP_CT_GROUP_UPDATED, "xmtp.org", "group_updated", 1, 0, 0, xmtp_ct_dec_group_updated,
     xmtp_ct_enc_group_updated},
    {XMTP_CT_LEAVE_REQUEST, "xmtp.org", "leave_request", 1, 0, 0, xmtp_ct_dec_leave_request,
     xmtp_ct_enc_leave_request},
    {XMTP_CT_DELETE_MESSAGE, "xmtp.org", "deleteMessage", 1, 0, 0, xmtp_ct_dec_delete_message,
     xmtp_ct_enc_delete_message},
    {XMTP_CT_ACTIONS, "coinbase.com", "actions", 1, 1, 0, xmtp_ct_dec_actions, xmtp_ct_enc_actions},
    {XMTP_CT_INTENT, "coinbase.com", "intent", 1, 1, 0, xmtp_ct_dec_intent, xmtp_ct_enc_intent},
};
#define NTABLE (sizeof table / sizeof table[0])

static const char *const kind_names[XMTP_CT__COUNT] = {
    "unknown",
    "text",
    "markdown",
    "reply",
    "reaction",
    "readReceipt",
    "attachment",
    "remoteStaticAttachment",
    "multiRemoteStaticAttachment",
    "transactionReference",
    "walletSendCalls",
    "group_updated",
    "leave_request",
    "deleteMessage",
    "actions",
    "intent",
};

const char *xmtp_content_kind_name(xmtp_content_kind k)
{
    return (unsigned)k < XMTP_CT__COUNT ? kind_names[k] : "unknown";
}

int xmtp_content_should_push(xmtp_content_kind k)
{
    for (size_t i = 0; i < NTABLE; i++)
        if (table[i].kind == k)
            return table[i].push;
    return 1;
}

int xmtp_content_deletable(xmtp_content_kind k)
{
    for (size_t i = 0; i < NTABLE; i++)
        if (table[i].kind == k)
            return table[i].deletable;
    return 0;
}

int xmtp_content_type_format(const xmtp_content_type_id *t, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%s:%u.%u", t->authority_id ? t->authority_id : "",
                     t->type_id ? t->type_id : "", t->major, t->minor);
    return n < 0 || (size_t)n >= size ? XW_ETOOBIG : XW_OK;
}

/* --- EncodedContent --------------------------------------------------------------------------- */

void xmtp_ec_free(xmtp_encoded_content *ec)
{
    if (ec)
        xw_arena_free(ec->arena_); /* ec itself lives in its arena */
}

const char *xmtp_ec_param(const xmtp_encoded_content *ec, const char *key)
{
    for (size_t i = ec->n_params; i-- > 0;)
        if (strcmp(ec->params[i].key, key) == 0)
            return ec->params[i].value;
    return NULL;
}

static int str_ok(const char *s) { return xw_utf8_valid(s, strlen(s)); }

/* Copies a decoded protobuf EncodedContent into an arena-owned model. */
static int ec_from_pb(const Xmtp__Mls__MessageContents__EncodedContent *p, xw_arena *a,
                      xmtp_encoded_content *ec, xw_errbuf *eb)
{
    if (p->n_parameters > XMTP_CONTENT_MAX_PARAMS)
        return xw_errf(eb, XW_EXMTP_CONTENT, "content has %zu parameters, more than %d", p->n_parameters,
                       XMTP_CONTENT_MAX_PARAMS);
    if (p->type) {
        ec->has_type = 1;
        if (!str_ok(p->type->authority_id) || !str_ok(p->type->type_id))
            return xw_errf(eb, XW_EXMTP_CONTENT, "content type id is not UTF-8");
        ec->type.authority_id = xw_arena_strdup(a, p->type->authority_id);
        ec->type.type_id = xw_arena_strdup(a, p->type->type_id);
        ec->type.major = p->type->version_major;
        ec->type.minor = p->type->version_minor;
        if (!ec->type.authority_id || !ec->type.type_id)
            return xw_errf(eb, XW_ENOMEM, "out of memory decoding content");
    }
    xmtp_kv *kv = xw_arena_array(a, p->n_parameters ? p->n_parameters : 1, sizeof *kv);
    if (!kv)
        return xw_errf(eb, XW_ENOMEM, "out of memory decoding content parameters");
    size_t n = 0;
    for (size_t i = 0; i < p->n_parameters; i++) {
        const char *k = p->parameters[i]->key, *v = p->parameters[i]->value;
        if (!str_ok(k) || !str_ok(v))
            return xw_errf(eb, XW_EXMTP_CONTENT, "content parameter %zu is not UTF-8", i + 1);
        size_t j = 0;
        while (j < n && strcmp(kv[j].key, k) != 0)
            j++;
        if (j == n)
            n++;
        kv[j].key = xw_arena_strdup(a, k);
        kv[j].value = xw_arena_strdup(a, v);
        if (!kv[j].key || !kv[j].value)
            return xw_errf(eb, XW_ENOMEM, "out of memory decoding content parameters");
    }
    ec->params = kv;
    ec->n_params = n;
    if (p->_fallback_case == XMTP__MLS__MESSAGE_CONTENTS__ENCODED_CONTENT___FALLBACK_FALLBACK) {
        if (!str_ok(p->fallback))
            return xw_errf(eb, XW_EXMTP_CONTENT, "content fallback text is not UTF-8");
        if (!(ec->fallback = xw_arena_strdup(a, p->fallback)))
            return xw_errf(eb, XW_ENOMEM, "out of memory decoding content");
    }
    if (p->_compression_case == XMTP__MLS__MESSAGE_CONTENTS__ENCODED_CONTENT___COMPRESSION_COMPRESSION) {
        ec->has_compression = 1;
        ec->compression = (int)p->compression;
    }
    ec->content.len = p->content.len;
    if (!(ec->content.data = xw_arena_memdup(a, p->content.data, p->content.len)))
        return xw_errf(eb, XW_ENOMEM, "out of memory decoding content body");
    return XW_OK;
}

int xmtp_ec_decode(const uint8_t *data, size_t len, xmtp_encoded_content **out, xw_errbuf *eb)
{
    Xmtp__Mls__MessageContents__EncodedContent *p = NULL;
    int rc = xw_pb_decode_as(&xmtp__mls__message_contents__encoded_content__descriptor, data, len,
                             XMTP_CONTENT_MAX_BYTES, &p, eb);
    if (rc)
        return xw_errctx(eb, rc, "encoded content");
    xw_arena *a = xw_arena_new(XMTP_CT_ARENA_BLOCK, (size_t)XMTP_CONTENT_MAX_BYTES * 2);
    xmtp_encoded_content *ec = a ? xw_arena_alloc(a, sizeof *ec) : NULL;
    if (!ec) {
        rc = xw_errf(eb, XW_ENOMEM, "out of memory decoding content");
    } else {
        ec->arena_ = a;
        rc = ec_from_pb(p, a, ec, eb);
    }
    xw_pb_free(&p->base);
    if (rc) {
        xw_arena_free(a);
        return rc;
    }
    *out = ec;
    return XW_OK;
}

int xmtp_ec_encode(const xmtp_encoded_content *ec, xw_buf *out, xw_errbuf *eb)
{
    if (ec->n_params > XMTP_CONTENT_MAX_PARAMS)
        return xw_errf(eb, XW_EINVAL, "at most %d content parameters", XMTP_CONTENT_MAX_PARAMS);
    Xmtp__Mls__MessageContents__EncodedContent p = XMTP__MLS__MESSAGE_CONTENTS__ENCODED_CONTENT__INIT;
    Xmtp__Mls__MessageContents__ContentTypeId t = XMTP__MLS__MESSAGE_CONTENTS__CONTENT_TYPE_ID__INIT;
    Xmtp__Mls__MessageContents__EncodedContent__ParametersEntry ents[XMTP_CONTENT_MAX_PARAMS];
    Xmtp__Mls__MessageContents__EncodedContent__ParametersEntry *ptrs[XMTP_CONTENT_MAX_PARAMS];
    if (ec->has_type) {
        t.authority_id = (char *)(ec->type.authority_id ? ec->type.authority_id : "");
        t.type_id = (char *)(ec->type.type_id ? ec->type.type_id : "");
        t.version_major = ec->type.major;
        t.version_minor = ec->type.minor;
        p.type = &t;
    }
    for (size_t i = 0; i < ec->n_params; i++) {
        xmtp__mls__message_contents__encoded_content__parameters_entry__init(&ents[i]);
        ents[i].key = (char *)ec->params[i].key;
        ents[i].value = (char *)ec->params[i].value;
        ptrs[i] = &ents[i];
    }
    p.n_parameters = ec->n_params;
    p.parameters = ptrs;
    if (ec->fallback) {
        p._fallback_case = XMTP__MLS__MESSAGE_CONTENTS__ENCODED_CONTENT___FALLBACK_FALLBACK;
        p.fallback = (char *)ec->fallback;
    }
    if (ec->has_compression) {
        p._compression_case = XMTP__MLS__MESSAGE_CONTENTS__ENCODED_CONTENT___COMPRESSION_COMPRESSION;
        p.compression = (Xmtp__Mls__MessageContents__Compression)ec->compression;
    }
    p.content.data = (uint8_t *)ec->content.data;
    p.content.len = ec->content.len;
    return xw_pb_encode(&p.base, out, eb);
}

/* --- typed content ---------------------------------------------------------------------------- */

int xmtp_ct_set_type(xmtp_encoded_content *ec, const char *authority, const char *type, uint32_t major)
{
    ec->has_type = 1;
    ec->type.authority_id = authority;
    ec->type.type_id = type;
    ec->type.major = major;
    ec->type.minor = 0;
    return XW_OK;
}

int xmtp_ct_add_param(xmtp_encoded_content *ec, xw_arena *a, const char *key, const char *value)
{
    if (ec->n_params == XMTP_CONTENT_MAX_PARAMS)
        return XW_ELIMIT;
    xmtp_kv *kv = xw_arena_array(a, ec->n_params + 1, sizeof *kv);
    if (!kv)
        return XW_ENOMEM;
    if (ec->n_params)
        memcpy(kv, ec->params, ec->n_params * sizeof *kv);
    kv[ec->n_params].key = key;
    kv[ec->n_params].value = value;
    ec->params = kv;
    ec->n_params++;
    return XW_OK;
}

void xmtp_content_free(xmtp_content *c)
{
    if (c)
        xw_arena_free(c->arena_);
}

int xmtp_ct_copy_ec(const xmtp_encoded_content *src, xw_arena *a, const xmtp_encoded_content **out)
{
    xmtp_encoded_content *ec = xw_arena_alloc(a, sizeof *ec);
    if (!ec)
        return XW_ENOMEM;
    *ec = *src;
    ec->arena_ = NULL;
    if (src->has_type &&
        (!(ec->type.authority_id =
               xw_arena_strdup(a, src->type.authority_id ? src->type.authority_id : "")) ||
         !(ec->type.type_id = xw_arena_strdup(a, src->type.type_id ? src->type.type_id : ""))))
        return XW_ENOMEM;
    xmtp_kv *kv = xw_arena_array(a, src->n_params ? src->n_params : 1, sizeof *kv);
    if (!kv)
        return XW_ENOMEM;
    for (size_t i = 0; i < src->n_params; i++)
        if (!(kv[i].key = xw_arena_strdup(a, src->params[i].key)) ||
            !(kv[i].value = xw_arena_strdup(a, src->params[i].value)))
            return XW_ENOMEM;
    ec->params = kv;
    if (src->fallback && !(ec->fallback = xw_arena_strdup(a, src->fallback)))
        return XW_ENOMEM;
    if (!(ec->content.data = xw_arena_memdup(a, src->content.data, src->content.len)))
        return XW_ENOMEM;
    *out = ec;
    return XW_OK;
}

int xmtp_content_decode(const xmtp_encoded_content *ec, xmtp_content **out, xw_errbuf *eb)
{
    xw_arena *a = xw_arena_new(XMTP_CT_ARENA_BLOCK, (size_t)XMTP_CONTENT_MAX_BYTES * 4);
    xmtp_content *c = a ? xw_arena_alloc(a, sizeof *c) : NULL;
    if (!c) {
        xw_arena_free(a);
        return xw_errf(eb, XW_ENOMEM, "out of memory decoding content");
    }
    c->arena_ = a;
    int rc = xmtp_ct_copy_ec(ec, a, &c->raw);
    if (rc) {
        xw_arena_free(a);
        return xw_errf(eb, rc, "out of memory decoding content");
    }
    c->fallback = c->raw->fallback;
    c->kind = XMTP_CT_UNKNOWN;
    if (ec->has_type && ec->type.authority_id && ec->type.type_id) {
        for (size_t i = 0; i < NTABLE; i++) {
            if (strcmp(table[i].authority, ec->type.authority_id) == 0 &&
                strcmp(table[i].type, ec->type.type_id) == 0 && table[i].major == ec->type.major) {
                c->kind = table[i].kind;
                rc = table[i].dec(c, c->raw, eb);
                if (rc) {
                    char t[256];
                    xmtp_content_type_format(&ec->type, t, sizeof t);
                    xw_errctx(eb, rc, "%s content", t);
                    xw_arena_free(a);
                    return rc;
                }
                break;
            }
        }
    }
    *out = c;
    return XW_OK;
}

int xmtp_content_decode_bytes(const uint8_t *data, size_t len, xmtp_content **out, xw_errbuf *eb)
{
    xmtp_encoded_content *ec = NULL;
    int rc = xmtp_ec_decode(data, len, &ec, eb);
    if (rc)
        return rc;
    rc = xmtp_content_decode(ec, out, eb);
    xmtp_ec_free(ec);
    return rc;
}

int xmtp_content_encode(const xmtp_content *c, xw_buf *out, xw_errbuf *eb)
{
    for (size_t i = 0; i < NTABLE; i++) {
        if (table[i].kind != c->kind)
            continue;
        if (c->kind == XMTP_CT_REACTION && (table[i].major == 1) != (c->u.reaction.legacy_json != 0))
            continue;
        xw_arena *a = xw_arena_new(XMTP_CT_ARENA_BLOCK, (size_t)XMTP_CONTENT_MAX_BYTES * 4);
        if (!a)
            return xw_errf(eb, XW_ENOMEM, "out of memory encoding content");
        xmtp_encoded_content ec = {0};
        xmtp_ct_set_type(&ec, table[i].authority, table[i].type, table[i].major);
        int rc = table[i].enc(c, &ec, a, eb);
        if (!rc)
            rc = xmtp_ec_encode(&ec, out, eb);
        else
            xw_errctx(eb, rc, "encoding %s content", xmtp_content_kind_name(c->kind));
        xw_arena_free(a);
        return rc;
    }
    if (c->kind == XMTP_CT_UNKNOWN && c->raw)
        return xmtp_ec_encode(c->raw, out, eb);
    return xw_errf(eb, XW_EINVAL, "cannot encode content of kind %d without its raw EncodedContent",
                   (int)c->kind);
}
