/*
 * The C side of tests/interop/xmtp_identity.mjs: reads one JSON request per line on stdin,
 * answers one JSON line each on stdout. It exposes exactly the xmtp/ functions the
 * cross-checks need (inbox ids, Keccak-256, EIP-191, Ed25519ph, content codecs, identity
 * update folding) so that the Node script can compare them with libxmtp and viem/noble.
 * Errors are answered as {"error": "...", "code": "XW_..."}; the helper never exits early.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/parse.h"
#include "xmtp/association.h"
#include "xmtp/content.h"
#include "xmtp/identity_update.h"
#include "xmtp/installation.h"
#include "xmtp/ed25519ph.h"
#include "xmtp/inbox.h"
#include "xmtp/keccak.h"
#include "xmtp/wallet.h"

#define MAXB (8u << 20)

static const char *s(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* A u64 sent as decimal text (JSON numbers cannot carry every u64). */
static int u64_of(json_t *o, const char *k, uint64_t *out, xw_errbuf *eb)
{
    return xw_parse_u64(k, s(o, k), 0, UINT64_MAX, out, eb);
}

static int unhex(const char *h, xw_buf *b) { return xw_hex_decode(h, strlen(h), b); }

static json_t *hexval(const uint8_t *p, size_t n)
{
    char *h = malloc(2 * n + 1);
    xw_hex_encode(p ? p : (const uint8_t *)"", n, h);
    json_t *j = json_string(h);
    free(h);
    return j;
}

static json_t *err(int rc, const xw_errbuf *eb)
{
    return json_pack("{s:s, s:s}", "error", eb->msg[0] ? eb->msg : xw_strerror(rc), "code", xw_errname(rc));
}

static json_t *opt_str(const char *v) { return v ? json_string(v) : json_null(); }

static json_t *kv_obj(size_t n, const xmtp_kv *kv)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, kv[i].key, json_string(kv[i].value));
    return o;
}

static json_t *remote_json(const xmtp_remote_attachment *r)
{
    json_t *o =
        json_pack("{s:s, s:s, s:o, s:o, s:o, s:s}", "url", r->url, "contentDigest", r->content_digest,
                  "secret", hexval(r->secret.data, r->secret.len), "salt", hexval(r->salt.data, r->salt.len),
                  "nonce", hexval(r->nonce.data, r->nonce.len), "scheme", r->scheme);
    if (r->has_content_length)
        json_object_set_new(o, "contentLength", json_integer(r->content_length));
    if (r->filename)
        json_object_set_new(o, "filename", json_string(r->filename));
    return o;
}

static json_t *content_json(const xmtp_content *c)
{
    char t[256] = "";
    if (c->raw->has_type)
        xmtp_content_type_format(&c->raw->type, t, sizeof t);
    json_t *o =
        json_pack("{s:s, s:s, s:o, s:o}", "kind", xmtp_content_kind_name(c->kind), "type", t, "fallback",
                  opt_str(c->fallback), "parameters", kv_obj(c->raw->n_params, c->raw->params));
    json_t *f = json_object();
    switch (c->kind) {
    case XMTP_CT_TEXT:
    case XMTP_CT_MARKDOWN:
        json_object_set_new(f, "text", json_string(c->u.text));
        break;
    case XMTP_CT_REACTION: {
        const xmtp_reaction *r = &c->u.reaction;
        json_object_set_new(f, "reference", json_string(r->reference));
        json_object_set_new(f, "referenceInboxId",
                            json_string(r->reference_inbox_id ? r->reference_inbox_id : ""));
        json_object_set_new(f, "action", json_integer(r->action));
        json_object_set_new(f, "content", json_string(r->content));
        json_object_set_new(f, "schema", json_integer(r->schema));
        break;
    }
    case XMTP_CT_ATTACHMENT:
        json_object_set_new(f, "mimeType", json_string(c->u.attachment.mime_type));
        json_object_set_new(f, "content", hexval(c->u.attachment.data.data, c->u.attachment.data.len));
        if (c->u.attachment.filename)
            json_object_set_new(f, "filename", json_string(c->u.attachment.filename));
        break;
    case XMTP_CT_REMOTE_ATTACHMENT:
        json_decref(f);
        f = remote_json(&c->u.remote_attachment);
        break;
    case XMTP_CT_MULTI_REMOTE_ATTACHMENT: {
        json_t *a = json_array();
        for (size_t i = 0; i < c->u.multi_remote_attachment.n; i++)
            json_array_append_new(a, remote_json(&c->u.multi_remote_attachment.items[i]));
        json_object_set_new(f, "attachments", a);
        break;
    }
    case XMTP_CT_TRANSACTION_REFERENCE: {
        const xmtp_transaction_reference *x = &c->u.transaction_reference;
        if (x->namespace_)
            json_object_set_new(f, "namespace", json_string(x->namespace_));
        json_object_set_new(f, "networkId", json_string(x->network_id));
        json_object_set_new(f, "reference", json_string(x->reference));
        if (x->has_metadata)
            json_object_set_new(f, "metadata",
                                json_pack("{s:s, s:s, s:f, s:I, s:s, s:s}", "transactionType",
                                          x->metadata.transaction_type, "currency", x->metadata.currency,
                                          "amount", x->metadata.amount, "decimals",
                                          (json_int_t)x->metadata.decimals, "fromAddress",
                                          x->metadata.from_address, "toAddress", x->metadata.to_address));
        break;
    }
    case XMTP_CT_WALLET_SEND_CALLS: {
        const xmtp_wallet_send_calls *w = &c->u.wallet_send_calls;
        json_object_set_new(f, "version", json_string(w->version));
        json_object_set_new(f, "chainId", json_string(w->chain_id));
        json_object_set_new(f, "from", json_string(w->from));
        json_t *a = json_array();
        for (size_t i = 0; i < w->n_calls; i++) {
            const xmtp_wallet_call *x = &w->calls[i];
            json_t *o2 = json_object();
            if (x->to)
                json_object_set_new(o2, "to", json_string(x->to));
            if (x->data)
                json_object_set_new(o2, "data", json_string(x->data));
            if (x->value)
                json_object_set_new(o2, "value", json_string(x->value));
            if (x->gas)
                json_object_set_new(o2, "gas", json_string(x->gas));
            if (x->n_metadata)
                json_object_set_new(o2, "metadata", kv_obj(x->n_metadata, x->metadata));
            json_array_append_new(a, o2);
        }
        json_object_set_new(f, "calls", a);
        if (w->n_capabilities)
            json_object_set_new(f, "capabilities", kv_obj(w->n_capabilities, w->capabilities));
        break;
    }
    case XMTP_CT_ACTIONS: {
        const xmtp_actions *x = &c->u.actions;
        json_object_set_new(f, "id", json_string(x->id));
        json_object_set_new(f, "description", json_string(x->description));
        json_t *a = json_array();
        for (size_t i = 0; i < x->n_actions; i++) {
            const xmtp_action_item *it = &x->actions[i];
            json_t *o2 = json_pack("{s:s, s:s}", "id", it->id, "label", it->label);
            if (it->image_url)
                json_object_set_new(o2, "imageUrl", json_string(it->image_url));
            if (it->style)
                json_object_set_new(o2, "style", json_string(it->style));
            if (it->expires_at)
                json_object_set_new(o2, "expiresAt", json_string(it->expires_at));
            json_array_append_new(a, o2);
        }
        json_object_set_new(f, "actions", a);
        if (x->expires_at)
            json_object_set_new(f, "expiresAt", json_string(x->expires_at));
        break;
    }
    case XMTP_CT_INTENT:
        json_object_set_new(f, "id", json_string(c->u.intent.id));
        json_object_set_new(f, "actionId", json_string(c->u.intent.action_id));
        if (c->u.intent.metadata_json)
            json_object_set_new(f, "metadata", json_loads(c->u.intent.metadata_json, 0, NULL));
        break;
    case XMTP_CT_DELETE_MESSAGE:
        json_object_set_new(f, "messageId", json_string(c->u.delete_message.message_id));
        break;
    case XMTP_CT_LEAVE_REQUEST:
        if (c->u.leave_request.has_note)
            json_object_set_new(f, "authenticatedNote",
                                hexval(c->u.leave_request.note.data, c->u.leave_request.note.len));
        break;
    default:
        break;
    }
    json_object_set_new(o, "fields", f);
    json_object_set_new(o, "shouldPush", json_boolean(xmtp_content_should_push(c->kind)));
    return o;
}

/* --- building content from the JS field objects (arena-free: everything lives in the json) -- */

typedef struct {
    xw_buf bufs[64];
    int n;
} holder;

static xmtp_bytes hold_hex(holder *h, const char *hex)
{
    xw_buf *b = &h->bufs[h->n++];
    xw_buf_init(b, MAXB);
    unhex(hex, b);
    return (xmtp_bytes){b->data ? b->data : (const uint8_t *)"", b->len};
}

static const char *os(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void remote_from(holder *h, json_t *o, xmtp_remote_attachment *r)
{
    r->url = os(o, "url");
    r->content_digest = os(o, "contentDigest");
    r->secret = hold_hex(h, s(o, "secret"));
    r->salt = hold_hex(h, s(o, "salt"));
    r->nonce = hold_hex(h, s(o, "nonce"));
    r->scheme = os(o, "scheme");
    json_t *cl = json_object_get(o, "contentLength");
    r->has_content_length = json_is_integer(cl);
    r->content_length = (uint32_t)json_integer_value(cl);
    r->filename = os(o, "filename");
}

static xmtp_kv *kvs(json_t *o, size_t *n)
{
    *n = o ? json_object_size(o) : 0;
    xmtp_kv *kv = calloc(*n + 1, sizeof *kv);
    const char *k;
    json_t *v;
    size_t i = 0;
    if (o)
        json_object_foreach(o, k, v) kv[i++] = (xmtp_kv){k, json_string_value(v)};
    return kv;
}

static json_t *content_encode(json_t *req)
{
    const char *kind = s(req, "kind");
    json_t *f = json_object_get(req, "fields");
    xmtp_content c = {0};
    holder h = {.n = 0};
    void *frees[64] = {0};
    int nf = 0;
    if (!strcmp(kind, "text") || !strcmp(kind, "markdown")) {
        c.kind = !strcmp(kind, "text") ? XMTP_CT_TEXT : XMTP_CT_MARKDOWN;
        c.u.text = os(f, "text");
    } else if (!strcmp(kind, "reaction") || !strcmp(kind, "reaction1")) {
        c.kind = XMTP_CT_REACTION;
        c.u.reaction = (xmtp_reaction){
            !strcmp(kind, "reaction1"), os(f, "reference"),
            os(f, "referenceInboxId"),  (int)json_integer_value(json_object_get(f, "action")),
            os(f, "content"),           (int)json_integer_value(json_object_get(f, "schema"))};
    } else if (!strcmp(kind, "readReceipt")) {
        c.kind = XMTP_CT_READ_RECEIPT;
    } else if (!strcmp(kind, "attachment")) {
        c.kind = XMTP_CT_ATTACHMENT;
        c.u.attachment =
            (xmtp_attachment){os(f, "filename"), os(f, "mimeType"), hold_hex(&h, s(f, "content"))};
    } else if (!strcmp(kind, "remoteStaticAttachment")) {
        c.kind = XMTP_CT_REMOTE_ATTACHMENT;
        remote_from(&h, f, &c.u.remote_attachment);
    } else if (!strcmp(kind, "multiRemoteStaticAttachment")) {
        c.kind = XMTP_CT_MULTI_REMOTE_ATTACHMENT;
        json_t *a = json_object_get(f, "attachments");
        xmtp_remote_attachment *items = calloc(json_array_size(a) + 1, sizeof *items);
        frees[nf++] = items;
        for (size_t i = 0; i < json_array_size(a) && h.n < 60; i++)
            remote_from(&h, json_array_get(a, i), &items[i]);
        c.u.multi_remote_attachment = (xmtp_multi_remote_attachment){json_array_size(a), items};
    } else if (!strcmp(kind, "transactionReference")) {
        c.kind = XMTP_CT_TRANSACTION_REFERENCE;
        xmtp_transaction_reference *t = &c.u.transaction_reference;
        t->namespace_ = os(f, "namespace");
        t->network_id = os(f, "networkId");
        t->reference = os(f, "reference");
        json_t *m = json_object_get(f, "metadata");
        if (m) {
            t->has_metadata = 1;
            t->metadata.transaction_type = os(m, "transactionType");
            t->metadata.currency = os(m, "currency");
            t->metadata.amount = json_number_value(json_object_get(m, "amount"));
            t->metadata.decimals = (uint32_t)json_integer_value(json_object_get(m, "decimals"));
            t->metadata.from_address = os(m, "fromAddress");
            t->metadata.to_address = os(m, "toAddress");
        }
    } else if (!strcmp(kind, "walletSendCalls")) {
        c.kind = XMTP_CT_WALLET_SEND_CALLS;
        xmtp_wallet_send_calls *w = &c.u.wallet_send_calls;
        w->version = os(f, "version");
        w->chain_id = os(f, "chainId");
        w->from = os(f, "from");
        json_t *a = json_object_get(f, "calls");
        xmtp_wallet_call *calls = calloc(json_array_size(a) + 1, sizeof *calls);
        frees[nf++] = calls;
        for (size_t i = 0; i < json_array_size(a) && nf < 60; i++) {
            json_t *o = json_array_get(a, i);
            calls[i] = (xmtp_wallet_call){os(o, "to"), os(o, "data"), os(o, "value"), os(o, "gas"), 0, NULL};
            xmtp_kv *md = kvs(json_object_get(o, "metadata"), &calls[i].n_metadata);
            frees[nf++] = md;
            calls[i].metadata = md;
        }
        w->n_calls = json_array_size(a);
        w->calls = calls;
        xmtp_kv *caps = kvs(json_object_get(f, "capabilities"), &w->n_capabilities);
        frees[nf++] = caps;
        w->capabilities = caps;
    } else if (!strcmp(kind, "actions")) {
        c.kind = XMTP_CT_ACTIONS;
        json_t *a = json_object_get(f, "actions");
        xmtp_action_item *it = calloc(json_array_size(a) + 1, sizeof *it);
        frees[nf++] = it;
        for (size_t i = 0; i < json_array_size(a); i++) {
            json_t *o = json_array_get(a, i);
            it[i] = (xmtp_action_item){os(o, "id"), os(o, "label"), os(o, "imageUrl"), os(o, "style"),
                                       os(o, "expiresAt")};
        }
        c.u.actions =
            (xmtp_actions){os(f, "id"), os(f, "description"), json_array_size(a), it, os(f, "expiresAt")};
    } else if (!strcmp(kind, "intent")) {
        c.kind = XMTP_CT_INTENT;
        char *md =
            json_object_get(f, "metadata") ? json_dumps(json_object_get(f, "metadata"), JSON_COMPACT) : NULL;
        frees[nf++] = md;
        c.u.intent = (xmtp_intent){os(f, "id"), os(f, "actionId"), md};
    } else {
        return json_pack("{s:s}", "error", "unknown kind");
    }
    xw_buf out;
    xw_buf_init(&out, MAXB);
    xw_errbuf eb = {{0}};
    int rc = xmtp_content_encode(&c, &out, &eb);
    json_t *res = rc ? err(rc, &eb) : json_pack("{s:o}", "hex", hexval(out.data, out.len));
    xw_buf_free(&out);
    for (int i = 0; i < h.n; i++)
        xw_buf_free(&h.bufs[i]);
    for (int i = 0; i < nf; i++)
        free(frees[i]);
    return res;
}

/* A member spec {wallet: key hex} | {installation: seed hex} | {address: "0x.."}. */
static int member_of(json_t *o, xmtp_member_id *m, xw_errbuf *eb)
{
    int rc;
    if (json_object_get(o, "wallet")) {
        xmtp_wallet *w = NULL;
        uint8_t a[20];
        if ((rc = xmtp_wallet_from_hex(s(o, "wallet"), &w, eb)))
            return rc;
        xmtp_wallet_address(w, a);
        xmtp_wallet_free(w);
        xmtp_member_eth(m, a);
        return XW_OK;
    }
    if (json_object_get(o, "installation")) {
        uint8_t seed[32], pk[32];
        if (xw_hex_decode_exact(s(o, "installation"), seed, 32) || xmtp_ed25519_public_key(seed, pk))
            return xw_errf(eb, XW_EINVAL, "bad installation seed");
        xmtp_member_installation(m, pk);
        return XW_OK;
    }
    uint8_t a[20];
    const char *t = s(o, "address");
    if ((rc = xmtp_address_parse(t, strlen(t), 0, a, eb)))
        return rc;
    xmtp_member_eth(m, a);
    return XW_OK;
}

/* {inboxId, ts, actions: [{kind, member, signer, nonce}], wallets: [hex], installations: [hex]} */
static json_t *idu_build(json_t *req)
{
    xw_errbuf eb = {{0}};
    xmtp_idu *u = NULL;
    uint64_t ts, nonce;
    int rc = u64_of(req, "ts", &ts, &eb);
    if (!rc)
        rc = xmtp_idu_new(s(req, "inboxId"), ts, &u, &eb);
    json_t *acts = json_object_get(req, "actions");
    for (size_t i = 0; !rc && i < json_array_size(acts); i++) {
        json_t *a = json_array_get(acts, i);
        const char *kind = s(a, "kind");
        xmtp_member_id m, signer;
        if ((rc = member_of(json_object_get(a, "member"), &m, &eb)))
            break;
        if (strcmp(kind, "create") && (rc = member_of(json_object_get(a, "signer"), &signer, &eb)))
            break;
        if (!strcmp(kind, "create")) {
            if (!(rc = u64_of(a, "nonce", &nonce, &eb)))
                rc = xmtp_idu_create_inbox(u, m.bytes, nonce, &eb);
        } else if (!strcmp(kind, "add"))
            rc = xmtp_idu_add_association(u, &m, &signer, &eb);
        else if (!strcmp(kind, "revoke"))
            rc = xmtp_idu_revoke(u, &m, &signer, &eb);
        else if (!strcmp(kind, "change_recovery"))
            rc = xmtp_idu_change_recovery(u, m.bytes, &signer, &eb);
        else
            rc = xw_errf(&eb, XW_EINVAL, "unknown action %s", kind);
    }
    json_t *ws = json_object_get(req, "wallets"), *is = json_object_get(req, "installations");
    for (size_t i = 0; !rc && i < json_array_size(ws); i++) {
        xmtp_wallet *w = NULL;
        if (!(rc = xmtp_wallet_from_hex(json_string_value(json_array_get(ws, i)), &w, &eb))) {
            rc = xmtp_idu_sign_wallet(u, w, &eb);
            if (rc == XW_ENOTFOUND)
                rc = XW_OK;
        }
        xmtp_wallet_free(w);
    }
    for (size_t i = 0; !rc && i < json_array_size(is); i++) {
        uint8_t seed[32];
        xmtp_installation_key *k = NULL;
        if (xw_hex_decode_exact(json_string_value(json_array_get(is, i)), seed, 32))
            rc = xw_errf(&eb, XW_EINVAL, "bad seed");
        else if (!(rc = xmtp_installation_key_from_seed(seed, &k, &eb))) {
            rc = xmtp_idu_sign_installation(u, k, &eb);
            if (rc == XW_ENOTFOUND)
                rc = XW_OK;
        }
        xmtp_installation_key_free(k);
    }
    xw_buf out;
    xw_buf_init(&out, MAXB);
    if (!rc)
        rc = xmtp_idu_encode(u, &out, &eb);
    json_t *res = rc ? err(rc, &eb) : json_pack("{s:o}", "hex", hexval(out.data, out.len));
    xw_buf_free(&out);
    xmtp_idu_free(u);
    return res;
}

static json_t *handle(json_t *req)
{
    const char *op = s(req, "op");
    xw_errbuf eb = {{0}};
    xw_buf b, b2;
    xw_buf_init(&b, MAXB);
    xw_buf_init(&b2, MAXB);
    json_t *res = NULL;
    int rc = XW_OK;
    if (!strcmp(op, "inbox_id")) {
        char id[65];
        const char *a = s(req, "address");
        /* the nonce comes as decimal text: JSON numbers cannot carry every u64 */
        uint64_t nonce;
        rc = u64_of(req, "nonce", &nonce, &eb);
        if (!rc)
            rc = xmtp_inbox_id_from_text(a, strlen(a), nonce, id, &eb);
        if (!rc)
            res = json_pack("{s:s}", "inboxId", id);
    } else if (!strcmp(op, "keccak")) {
        uint8_t h[32];
        unhex(s(req, "hex"), &b);
        xmtp_keccak256(b.data, b.len, h);
        res = json_pack("{s:o}", "hash", hexval(h, 32));
    } else if (!strcmp(op, "eip191_sign")) {
        xmtp_wallet *w = NULL;
        uint8_t sig[65], a[20];
        const char *msg = s(req, "msg");
        if (!(rc = xmtp_wallet_from_hex(s(req, "key"), &w, &eb)) &&
            !(rc = xmtp_wallet_sign_personal(w, msg, strlen(msg), sig, &eb))) {
            char eip55[43];
            xmtp_wallet_address(w, a);
            xmtp_address_to_eip55(a, eip55);
            res = json_pack("{s:o, s:s}", "sig", hexval(sig, 65), "address", eip55);
        }
        xmtp_wallet_free(w);
    } else if (!strcmp(op, "eip191_recover")) {
        uint8_t a[20];
        char eip55[43];
        const char *msg = s(req, "msg");
        unhex(s(req, "sig"), &b);
        if (!(rc = xmtp_eip191_recover(msg, strlen(msg), b.data, b.len, a, NULL, &eb))) {
            xmtp_address_to_eip55(a, eip55);
            res = json_pack("{s:s}", "address", eip55);
        }
    } else if (!strcmp(op, "ed25519ph_sign")) {
        uint8_t seed[32], pk[32], sig[64];
        const char *ctx = s(req, "ctx"), *msg = s(req, "msg");
        if (xw_hex_decode_exact(s(req, "seed"), seed, 32) || xmtp_ed25519_public_key(seed, pk))
            rc = xw_errf(&eb, XW_EINVAL, "bad seed");
        else if (!(rc = xmtp_ed25519ph_sign(seed, ctx, strlen(ctx), msg, strlen(msg), sig, &eb)))
            res = json_pack("{s:o, s:o}", "sig", hexval(sig, 64), "pk", hexval(pk, 32));
    } else if (!strcmp(op, "ed25519ph_verify")) {
        uint8_t pk[32], sig[64];
        const char *ctx = s(req, "ctx"), *msg = s(req, "msg");
        if (xw_hex_decode_exact(s(req, "pk"), pk, 32) || xw_hex_decode_exact(s(req, "sig"), sig, 64))
            rc = xw_errf(&eb, XW_EINVAL, "bad key or signature hex");
        else if (!(rc = xmtp_ed25519ph_verify(pk, ctx, strlen(ctx), msg, strlen(msg), sig, &eb)))
            res = json_pack("{s:b}", "ok", 1);
    } else if (!strcmp(op, "content_decode")) {
        xmtp_content *c = NULL;
        unhex(s(req, "hex"), &b);
        if (!(rc = xmtp_content_decode_bytes(b.data, b.len, &c, &eb))) {
            res = content_json(c);
            xmtp_content_free(c);
        }
    } else if (!strcmp(op, "content_encode")) {
        res = content_encode(req);
    } else if (!strcmp(op, "idu_build")) {
        res = idu_build(req);
    } else if (!strcmp(op, "idu_text")) {
        xmtp_idu *u = NULL;
        unhex(s(req, "hex"), &b);
        if (!(rc = xmtp_idu_decode(b.data, b.len, &u, &eb))) {
            if (!(rc = xmtp_idu_signature_text(u, &b2)))
                res = json_pack("{s:s%}", "text", (const char *)b2.data, b2.len);
            xmtp_idu_free(u);
        }
    } else if (!strcmp(op, "assoc_fold")) {
        /* {inboxId, updates: [hex...]} -> members and recovery after folding */
        xmtp_assoc_state *st = NULL;
        json_t *ups = json_object_get(req, "updates");
        if (!(rc = xmtp_assoc_state_new(s(req, "inboxId"), &st, &eb))) {
            for (size_t i = 0; i < json_array_size(ups) && !rc; i++) {
                xw_buf_reset(&b);
                unhex(json_string_value(json_array_get(ups, i)), &b);
                rc = xmtp_assoc_state_apply_at(st, i + 1, b.data, b.len, &eb);
            }
            if (!rc) {
                json_t *inst = json_array(), *addrs = json_array();
                for (size_t i = 0; i < xmtp_assoc_state_member_count(st); i++) {
                    const xmtp_member *m = xmtp_assoc_state_member_at(st, i);
                    char t[2 * XMTP_MEMBER_ID_MAX + 3];
                    xmtp_member_text(&m->id, t);
                    json_array_append_new(m->id.kind == XMTP_MEMBER_INSTALLATION ? inst : addrs,
                                          json_string(t));
                }
                char rec[2 * XMTP_MEMBER_ID_MAX + 3];
                xmtp_member_text(xmtp_assoc_state_recovery(st), rec);
                res =
                    json_pack("{s:o, s:o, s:s}", "installations", inst, "addresses", addrs, "recovery", rec);
            }
            xmtp_assoc_state_free(st);
        }
    } else {
        rc = xw_errf(&eb, XW_EINVAL, "unknown op %s", op);
    }
    xw_buf_free(&b);
    xw_buf_free(&b2);
    return rc ? err(rc, &eb) : res;
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        json_error_t je;
        json_t *req = json_loadb(line, (size_t)n, 0, &je);
        json_t *res = req ? handle(req) : json_pack("{s:s}", "error", je.text);
        char *out = json_dumps(res, JSON_COMPACT);
        puts(out);
        fflush(stdout);
        free(out);
        json_decref(res);
        json_decref(req);
    }
    free(line);
    return 0;
}
