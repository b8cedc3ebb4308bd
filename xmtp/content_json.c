/*
 * Codecs with JSON bodies (jansson): reaction 1.0 (legacy), transaction reference, wallet
 * send calls, and Coinbase's actions and intent. Field names and order follow libxmtp's
 * serde structs, so C-encoded JSON reads back in libxmtp and the fallback texts match.
 * Decoding refuses invalid UTF-8, duplicate keys (serde does too), "\u0000" and wrong
 * types with XW_EXMTP_CONTENT.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "xmtp/content_int.h"

static int oom(xw_errbuf *eb) { return xw_errf(eb, XW_ENOMEM, "out of memory in a content codec"); }

static int load(const xmtp_encoded_content *ec, json_t **out, xw_errbuf *eb)
{
    json_error_t err;
    json_t *j = json_loadb((const char *)ec->content.data, ec->content.len, JSON_REJECT_DUPLICATES, &err);
    if (!j)
        return xw_errf(eb, XW_EXMTP_CONTENT, "body is not valid JSON (%s at byte %d)", err.text,
                       err.position);
    if (!json_is_object(j)) {
        json_decref(j);
        return xw_errf(eb, XW_EXMTP_CONTENT, "body is JSON but not an object");
    }
    *out = j;
    return XW_OK;
}

/* Copies o[key] (a string) into the arena; NULL out when absent and !required. */
static int jstr(xw_arena *a, json_t *o, const char *key, int required, const char **out, xw_errbuf *eb)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return xw_errf(eb, XW_EXMTP_CONTENT, "JSON field \"%s\" is missing", key);
        return XW_OK;
    }
    if (!json_is_string(v))
        return xw_errf(eb, XW_EXMTP_CONTENT, "JSON field \"%s\" must be a string", key);
    return (*out = xw_arena_strndup(a, json_string_value(v), json_string_length(v))) ? XW_OK : oom(eb);
}

/* An object of string values as a key/value list. */
static int jmap(xw_arena *a, json_t *o, const char *key, size_t *n, const xmtp_kv **out, xw_errbuf *eb)
{
    json_t *m = json_object_get(o, key);
    *n = 0;
    *out = NULL;
    if (!m || json_is_null(m))
        return XW_OK;
    if (!json_is_object(m) || json_object_size(m) > XMTP_CONTENT_MAX_PARAMS)
        return xw_errf(eb, XW_EXMTP_CONTENT, "JSON field \"%s\" must be an object of at most %d strings", key,
                       XMTP_CONTENT_MAX_PARAMS);
    xmtp_kv *kv = xw_arena_array(a, json_object_size(m) + 1, sizeof *kv);
    if (!kv)
        return oom(eb);
    const char *k;
    json_t *v;
    size_t i = 0;
    json_object_foreach(m, k, v)
    {
        if (!json_is_string(v))
            return xw_errf(eb, XW_EXMTP_CONTENT, "JSON field \"%s.%s\" must be a string", key, k);
        if (!(kv[i].key = xw_arena_strdup(a, k)) ||
            !(kv[i].value = xw_arena_strndup(a, json_string_value(v), json_string_length(v))))
            return oom(eb);
        i++;
    }
    *n = i;
    *out = kv;
    return XW_OK;
}

/* Serialises j into the body (compact, insertion order, UTF-8 unescaped like serde). */
static int set_json(xmtp_encoded_content *ec, xw_arena *a, json_t *j, xw_errbuf *eb)
{
    if (!j)
        return oom(eb);
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s)
        return xw_errf(eb, XW_EINVAL, "content cannot be written as JSON (invalid UTF-8 in a field?)");
    ec->content.len = strlen(s);
    ec->content.data = (const uint8_t *)xw_arena_strdup(a, s);
    free(s);
    return ec->content.data ? XW_OK : oom(eb);
}

/* json_string that fails on invalid UTF-8 (caught by the NULL check in callers). */
static int put_str(json_t *o, const char *key, const char *v)
{
    if (!v)
        return 0;
    json_t *s = json_string(v);
    return s ? json_object_set_new(o, key, s) : -1;
}

static int put_map(json_t *o, const char *key, size_t n, const xmtp_kv *kv)
{
    json_t *m = json_object();
    if (!m)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (put_str(m, kv[i].key, kv[i].value))
            return json_decref(m), -1;
    return json_object_set_new(o, key, m);
}

/* --- reaction 1.0 ------------------------------------------------------------------------------ */

int xmtp_ct_dec_reaction_json(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb)
{
    json_t *j = NULL;
    int rc = load(ec, &j, eb);
    if (rc)
        return rc;
    xmtp_reaction *r = &c->u.reaction;
    const char *action = NULL, *schema = NULL;
    r->legacy_json = 1;
    if (!(rc = jstr(c->arena_, j, "action", 1, &action, eb)) &&
        !(rc = jstr(c->arena_, j, "reference", 1, &r->reference, eb)) &&
        !(rc = jstr(c->arena_, j, "referenceInboxId", 0, &r->reference_inbox_id, eb)) &&
        !(rc = jstr(c->arena_, j, "schema", 1, &schema, eb)))
        rc = jstr(c->arena_, j, "content", 1, &r->content, eb);
    json_decref(j);
    if (rc)
        return rc;
    r->action = !strcmp(action, "added")     ? XMTP_REACTION_ADDED
                : !strcmp(action, "removed") ? XMTP_REACTION_REMOVED
                                             : 0;
    r->schema = !strcmp(schema, "unicode")     ? XMTP_SCHEMA_UNICODE
                : !strcmp(schema, "shortcode") ? XMTP_SCHEMA_SHORTCODE
                : !strcmp(schema, "custom")    ? XMTP_SCHEMA_CUSTOM
                                               : 0;
    return XW_OK;
}

int xmtp_ct_enc_reaction_json(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb)
{
    const xmtp_reaction *r = &c->u.reaction;
    static const char *const actions[] = {"unknown", "added", "removed"};
    static const char *const schemas[] = {"unknown", "unicode", "shortcode", "custom"};
    if (r->action < 0 || r->action > 2 || r->schema < 0 || r->schema > 3)
        return xw_errf(eb, XW_EINVAL, "reaction action %d or schema %d out of range", r->action, r->schema);
    json_t *j = json_object();
    if (j && (put_str(j, "action", actions[r->action]) || put_str(j, "reference", r->reference) ||
              (r->reference_inbox_id && r->reference_inbox_id[0] &&
               put_str(j, "referenceInboxId", r->reference_inbox_id)) ||
              put_str(j, "schema", schemas[r->schema]) || put_str(j, "content", r->content))) {
        json_decref(j);
        return xw_errf(eb, XW_EINVAL, "reaction fields must be UTF-8");
    }
    int rc = set_json(ec, a, j, eb);
    if (rc)
        return rc;
    return (ec->fallback = xmtp_ct_reaction_fallback_(a, r->action == XMTP_REACTION_REMOVED, r->content))
               ? XW_OK
               : oom(eb);
}

/* --- transaction reference ----------------------------------------------------------------------- */

int xmtp_ct_dec_transaction_reference(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb)
{
    json_t *j = NULL;
    int rc = load(ec, &j, eb);
    if (rc)
        return rc;
    xmtp_transaction_reference *t = &c->u.transaction_reference;
    xw_arena *a = c->arena_;
    json_t *nid = json_object_get(j, "networkId");
    if (json_is_integer(nid)) { /* JavaScript clients may send a number */
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(nid));
        if (!(t->network_id = xw_arena_strdup(a, num)))
            rc = oom(eb);
    } else {
        rc = jstr(a, j, "networkId", 1, &t->network_id, eb);
    }
    if (!rc && !(rc = jstr(a, j, "namespace", 0, &t->namespace_, eb)))
        rc = jstr(a, j, "reference", 1, &t->reference, eb);
    json_t *m = json_object_get(j, "metadata");
    if (!rc && m && !json_is_null(m)) {
        json_t *amount = json_object_get(m, "amount"), *dec = json_object_get(m, "decimals");
        if (!json_is_object(m) || !json_is_number(amount) || !json_is_integer(dec) ||
            json_integer_value(dec) < 0 || json_integer_value(dec) > UINT32_MAX) {
            rc = xw_errf(eb, XW_EXMTP_CONTENT,
                         "transaction metadata needs a numeric amount and integer decimals");
        } else {
            t->has_metadata = 1;
            t->metadata.amount = json_number_value(amount);
            t->metadata.decimals = (uint32_t)json_integer_value(dec);
            if (!(rc = jstr(a, m, "transactionType", 1, &t->metadata.transaction_type, eb)) &&
                !(rc = jstr(a, m, "currency", 1, &t->metadata.currency, eb)) &&
                !(rc = jstr(a, m, "fromAddress", 1, &t->metadata.from_address, eb)))
                rc = jstr(a, m, "toAddress", 1, &t->metadata.to_address, eb);
        }
    }
    json_decref(j);
    return rc;
}

int xmtp_ct_enc_transaction_reference(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a,
                                      xw_errbuf *eb)
{
    const xmtp_transaction_reference *t = &c->u.transaction_reference;
    if (!t->network_id || !t->reference)
        return xw_errf(eb, XW_EINVAL, "a transaction reference needs a network id and a reference");
    json_t *j = json_object();
    int bad = !j || put_str(j, "namespace", t->namespace_) || put_str(j, "networkId", t->network_id) ||
              put_str(j, "reference", t->reference);
    if (!bad && t->has_metadata) {
        json_t *m = json_object();
        bad = !m || put_str(m, "transactionType", t->metadata.transaction_type) ||
              put_str(m, "currency", t->metadata.currency) ||
              json_object_set_new(m, "amount", json_real(t->metadata.amount)) ||
              json_object_set_new(m, "decimals", json_integer(t->metadata.decimals)) ||
              put_str(m, "fromAddress", t->metadata.from_address) ||
              put_str(m, "toAddress", t->metadata.to_address) || json_object_set_new(j, "metadata", m);
    }
    if (bad) {
        json_decref(j);
        return xw_errf(eb, XW_EINVAL, "transaction reference fields must be UTF-8");
    }
    int rc = set_json(ec, a, j, eb);
    if (rc)
        return rc;
    size_t n = strlen(t->reference) + 100;
    char *fb = xw_arena_alloc(a, n);
    if (!fb)
        return oom(eb);
    snprintf(fb, n,
             "[Crypto transaction] Use a blockchain explorer to learn more using the transaction hash: %s",
             t->reference);
    ec->fallback = fb;
    return XW_OK;
}

/* How jobjects reads one array of objects: its key, the words its errors use, one item. */
typedef struct {
    const char *key;    /* "calls": the array's key, in "\"calls\" must be an array ..." */
    const char *plural; /* "... of at most 50 calls" */
    const char *noun;   /* "call 3 is not an object" */
    size_t size;        /* sizeof one decoded item */
    int (*item)(xw_arena *a, json_t *o, void *out, xw_errbuf *eb);
} jobjects_kind;

/*
 * Decodes arr, an array of at most XMTP_CONTENT_MAX_ITEMS objects, into an arena array with
 * one zeroed spare item at the end. Stops at the first item that fails; *n and *out are set
 * once the array is allocated, even then.
 */
static int jobjects(xw_arena *a, json_t *arr, const jobjects_kind *k, size_t *n, void **out, xw_errbuf *eb)
{
    *out = NULL;
    if (!json_is_array(arr) || json_array_size(arr) > XMTP_CONTENT_MAX_ITEMS)
        return xw_errf(eb, XW_EXMTP_CONTENT, "\"%s\" must be an array of at most %d %s", k->key,
                       XMTP_CONTENT_MAX_ITEMS, k->plural);
    uint8_t *items = xw_arena_array(a, json_array_size(arr) + 1, k->size);
    if (!items)
        return oom(eb);
    int rc = XW_OK;
    for (size_t i = 0; i < json_array_size(arr) && !rc; i++) {
        json_t *o = json_array_get(arr, i);
        if (!json_is_object(o))
            rc = xw_errf(eb, XW_EXMTP_CONTENT, "%s %zu is not an object", k->noun, i + 1);
        else
            rc = k->item(a, o, items + i * k->size, eb);
    }
    *n = json_array_size(arr);
    *out = items;
    return rc;
}

/* --- wallet send calls ----------------------------------------------------------------------------- */

static int dec_call(xw_arena *a, json_t *o, void *out, xw_errbuf *eb)
{
    xmtp_wallet_call *c = out;
    int rc;
    if ((rc = jstr(a, o, "to", 0, &c->to, eb)) || (rc = jstr(a, o, "data", 0, &c->data, eb)) ||
        (rc = jstr(a, o, "value", 0, &c->value, eb)) || (rc = jstr(a, o, "gas", 0, &c->gas, eb)))
        return rc;
    return jmap(a, o, "metadata", &c->n_metadata, &c->metadata, eb);
}

int xmtp_ct_dec_wallet_send_calls(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb)
{
    json_t *j = NULL;
    int rc = load(ec, &j, eb);
    if (rc)
        return rc;
    xmtp_wallet_send_calls *w = &c->u.wallet_send_calls;
    xw_arena *a = c->arena_;
    json_t *calls = json_object_get(j, "calls");
    if ((rc = jstr(a, j, "version", 1, &w->version, eb)) ||
        (rc = jstr(a, j, "chainId", 1, &w->chain_id, eb)) || (rc = jstr(a, j, "from", 1, &w->from, eb)) ||
        (rc = jmap(a, j, "capabilities", &w->n_capabilities, &w->capabilities, eb)))
        goto out;
    static const jobjects_kind kind = {"calls", "calls", "call", sizeof(xmtp_wallet_call), dec_call};
    void *cs;
    rc = jobjects(a, calls, &kind, &w->n_calls, &cs, eb);
    w->calls = cs;
out:
    json_decref(j);
    return rc;
}

int xmtp_ct_enc_wallet_send_calls(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb)
{
    const xmtp_wallet_send_calls *w = &c->u.wallet_send_calls;
    if (!w->version || !w->chain_id || !w->from)
        return xw_errf(eb, XW_EINVAL, "wallet send calls need a version, a chain id and a sender");
    json_t *j = json_object(), *calls = json_array();
    int bad = !j || !calls || put_str(j, "version", w->version) || put_str(j, "chainId", w->chain_id) ||
              put_str(j, "from", w->from);
    for (size_t i = 0; !bad && i < w->n_calls; i++) {
        const xmtp_wallet_call *x = &w->calls[i];
        json_t *o = json_object();
        bad = !o || put_str(o, "to", x->to) || put_str(o, "data", x->data) || put_str(o, "value", x->value) ||
              put_str(o, "gas", x->gas) ||
              (x->n_metadata && put_map(o, "metadata", x->n_metadata, x->metadata)) ||
              json_array_append_new(calls, o);
    }
    if (!bad) {
        bad = json_object_set_new(j, "calls", calls);
        calls = NULL;
    }
    if (!bad && w->n_capabilities)
        bad = put_map(j, "capabilities", w->n_capabilities, w->capabilities);
    if (bad) {
        json_decref(calls);
        json_decref(j);
        return xw_errf(eb, XW_EINVAL, "wallet send calls fields must be UTF-8");
    }
    int rc = set_json(ec, a, j, eb);
    if (rc)
        return rc;
    size_t n = ec->content.len + 40;
    char *fb = xw_arena_alloc(a, n);
    if (!fb)
        return oom(eb);
    snprintf(fb, n, "[Transaction request generated]: %s", (const char *)ec->content.data);
    ec->fallback = fb;
    return XW_OK;
}

/* --- coinbase actions and intent --------------------------------------------------------------------- */

static int dec_action(xw_arena *a, json_t *o, void *out, xw_errbuf *eb)
{
    xmtp_action_item *it = out;
    int rc;
    if ((rc = jstr(a, o, "id", 1, &it->id, eb)) || (rc = jstr(a, o, "label", 1, &it->label, eb)) ||
        (rc = jstr(a, o, "imageUrl", 0, &it->image_url, eb)) || (rc = jstr(a, o, "style", 0, &it->style, eb)))
        return rc;
    return jstr(a, o, "expiresAt", 0, &it->expires_at, eb);
}

int xmtp_ct_dec_actions(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb)
{
    json_t *j = NULL;
    int rc = load(ec, &j, eb);
    if (rc)
        return rc;
    xmtp_actions *x = &c->u.actions;
    xw_arena *a = c->arena_;
    json_t *arr = json_object_get(j, "actions");
    if ((rc = jstr(a, j, "id", 1, &x->id, eb)) || (rc = jstr(a, j, "description", 1, &x->description, eb)) ||
        (rc = jstr(a, j, "expiresAt", 0, &x->expires_at, eb)))
        goto out;
    static const jobjects_kind kind = {"actions", "items", "action", sizeof(xmtp_action_item), dec_action};
    void *it;
    rc = jobjects(a, arr, &kind, &x->n_actions, &it, eb);
    x->actions = it;
out:
    json_decref(j);
    return rc;
}

int xmtp_ct_enc_actions(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb)
{
    const xmtp_actions *x = &c->u.actions;
    if (!x->id || !x->description)
        return xw_errf(eb, XW_EINVAL, "actions need an id and a description");
    json_t *j = json_object(), *arr = json_array();
    int bad = !j || !arr || put_str(j, "id", x->id) || put_str(j, "description", x->description);
    xw_buf fb;
    xw_buf_init(&fb, XMTP_CONTENT_MAX_BYTES);
    bad = bad || xw_buf_appendf(&fb, "%s\n\n", x->description);
    for (size_t i = 0; !bad && i < x->n_actions; i++) {
        const xmtp_action_item *it = &x->actions[i];
        json_t *o = json_object();
        bad = !o || !it->id || !it->label || put_str(o, "id", it->id) || put_str(o, "label", it->label) ||
              put_str(o, "imageUrl", it->image_url) || put_str(o, "style", it->style) ||
              put_str(o, "expiresAt", it->expires_at) || json_array_append_new(arr, o) ||
              xw_buf_appendf(&fb, "[%zu] %s\n", i + 1, it->label);
    }
    if (!bad) {
        bad = json_object_set_new(j, "actions", arr);
        arr = NULL;
    }
    bad = bad || put_str(j, "expiresAt", x->expires_at) ||
          xw_buf_append_str(&fb, "\nReply with the number to select") || xw_buf_append_u8(&fb, 0);
    if (bad) {
        xw_buf_free(&fb);
        json_decref(arr);
        json_decref(j);
        return xw_errf(eb, XW_EINVAL, "actions need an id and a label for every item, all UTF-8");
    }
    ec->fallback = xw_arena_strdup(a, (const char *)fb.data);
    xw_buf_free(&fb);
    if (!ec->fallback) {
        json_decref(j);
        return oom(eb);
    }
    return set_json(ec, a, j, eb);
}

int xmtp_ct_dec_intent(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb)
{
    json_t *j = NULL;
    int rc = load(ec, &j, eb);
    if (rc)
        return rc;
    xmtp_intent *x = &c->u.intent;
    if (!(rc = jstr(c->arena_, j, "id", 1, &x->id, eb)) &&
        !(rc = jstr(c->arena_, j, "actionId", 1, &x->action_id, eb))) {
        json_t *m = json_object_get(j, "metadata");
        if (m && !json_is_null(m)) {
            char *s = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
            if (!s || !(x->metadata_json = xw_arena_strdup(c->arena_, s)))
                rc = oom(eb);
            free(s);
        }
    }
    json_decref(j);
    return rc;
}

int xmtp_ct_enc_intent(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb)
{
    const xmtp_intent *x = &c->u.intent;
    if (!x->id || !x->action_id)
        return xw_errf(eb, XW_EINVAL, "an intent needs an id and an action id");
    json_t *j = json_object();
    int bad = !j || put_str(j, "id", x->id) || put_str(j, "actionId", x->action_id);
    if (!bad && x->metadata_json) {
        json_error_t err;
        json_t *m = json_loads(x->metadata_json, JSON_REJECT_DUPLICATES, &err);
        if (!json_is_object(m)) {
            json_decref(m);
            bad = 1;
        } else {
            bad = json_object_set_new(j, "metadata", m);
        }
    }
    if (bad) {
        json_decref(j);
        return xw_errf(eb, XW_EINVAL, "intent fields must be UTF-8 and metadata a JSON object");
    }
    size_t n = strlen(x->action_id) + 32;
    char *fb = xw_arena_alloc(a, n);
    if (!fb) {
        json_decref(j);
        return oom(eb);
    }
    snprintf(fb, n, "User selected action: %s", x->action_id);
    ec->fallback = fb;
    return set_json(ec, a, j, eb);
}
