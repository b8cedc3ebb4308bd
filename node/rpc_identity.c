/*
 * xmtp.identity.api.v1.IdentityApi handlers (docs/protocol.md §1.3): the inbox log with
 * global sequence ids and at most 256 updates per inbox, lookups per inbox after a sequence
 * id, the address log behind GetInboxIds, and smart-contract wallet checks answered
 * "not valid" (the node has no chain access).
 *
 * Publishing: the update is decoded, checked against the inbox's existing log by
 * node_ident_check (ident.c: signatures and association rules of xmtp/), appended, and the identifiers it
 * associates or revokes are written to the address log, all in one transaction.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "gen/xmtp/identity/api/v1/identity.pb-c.h"
#include "node/ident.h"
#include "node/rpc.h"

#define I(name) "/xmtp.identity.api.v1.IdentityApi/" name
#define MAX_INBOX_UPDATES 256
#define MAX_LOOKUPS 10000

#define UNPACK(type, lower, var)                                                                             \
    type *var = (type *)node_pb_unpack(&lower##__descriptor, req, len, st);                                  \
    if (!var)                                                                                                \
    return st->code

static int store_failed(node_status *st, const xw_errbuf *eb)
{
    xw_log_error("node", "%s", eb->msg);
    return node_status_set(st, XW_GRPC_INTERNAL, "the node's store failed (%s); retry later", eb->msg);
}

static int publish_identity_update(void *vctx, const uint8_t *req, size_t len, xw_buf *resp, node_status *st)
{
    node_ctx *ctx = vctx;
    (void)resp;
    UNPACK(Xmtp__Identity__Api__V1__PublishIdentityUpdateRequest,
           xmtp__identity__api__v1__publish_identity_update_request, r);
    int rc = XW_GRPC_OK;
    xw_errbuf eb = {{0}};
    node_ident_result res = {0};
    xw_buf upd;
    xw_buf_init(&upd, ctx->max_msg);
    const Xmtp__Identity__Associations__IdentityUpdate *u = r->identity_update;
    if (!u) {
        rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT, "identity_update is required");
        goto out;
    }
    if (!u->inbox_id || !u->inbox_id[0] || strlen(u->inbox_id) > 128) {
        rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT, "identity update has no valid inbox_id");
        goto out;
    }
    /* keep the update exactly as the client encoded it (field 1 of the request) */
    const uint8_t *raw;
    size_t rawlen;
    if (xw_pb_field_find(req, len, 1, "PublishIdentityUpdateRequest", &raw, &rawlen, NULL) != XW_OK ||
        xw_buf_append(&upd, raw, rawlen) != XW_OK) {
        rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT,
                             "the request must carry exactly one identity_update field");
        goto out;
    }
    if (node_store_begin(ctx->store, &eb) != XW_OK) {
        rc = store_failed(st, &eb);
        goto out;
    }
    uint64_t count = 0;
    if (node_store_inbox_count(ctx->store, u->inbox_id, &count, &eb) != XW_OK) {
        node_store_rollback(ctx->store);
        rc = store_failed(st, &eb);
        goto out;
    }
    if (count >= MAX_INBOX_UPDATES) {
        node_store_rollback(ctx->store);
        rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT,
                             "inbox %s already has %d identity updates, the most an inbox may have",
                             u->inbox_id, MAX_INBOX_UPDATES);
        goto out;
    }
    rc = node_ident_check(ctx->store, u->inbox_id, upd.data, upd.len, &res, st);
    if (rc != XW_GRPC_OK) {
        node_store_rollback(ctx->store);
        goto out;
    }
    uint64_t seq = 0;
    if (node_store_inbox_add(ctx->store, u->inbox_id, upd.data, upd.len, &seq, NULL, &eb) != XW_OK) {
        node_store_rollback(ctx->store);
        rc = store_failed(st, &eb);
        goto out;
    }
    for (size_t i = 0; i < res.n; i++) {
        const node_ident_change *c = &res.changes[i];
        int e = c->added
                    ? node_store_address_associate(ctx->store, c->identifier, c->kind, u->inbox_id, seq, &eb)
                    : node_store_address_revoke(ctx->store, c->identifier, c->kind, u->inbox_id, seq, &eb);
        if (e != XW_OK) {
            node_store_rollback(ctx->store);
            rc = store_failed(st, &eb);
            goto out;
        }
    }
    if (node_store_commit(ctx->store, &eb) != XW_OK)
        rc = store_failed(st, &eb);
    else
        xw_log_debug("node", "inbox %s: update %llu stored (%zu address change(s))", u->inbox_id,
                     (unsigned long long)seq, res.n);
out:
    node_ident_result_free(&res);
    xw_buf_free(&upd);
    node_pb_free(&r->base);
    return rc;
}

typedef struct {
    xw_buf *out;
    int err;
} log_ctx;

static int log_row(void *c, uint64_t seq, uint64_t ts, const uint8_t *update, size_t len)
{
    log_ctx *x = c;
    /* IdentityUpdateLog { sequence_id = 1; server_timestamp_ns = 2; IdentityUpdate update = 3 }
     * assembled field by field so that the stored update bytes go out unchanged */
    xw_buf one;
    xw_buf_init(&one, x->out->max);
    if (xw_pb_append_varint(&one, 1, seq) != XW_OK || xw_pb_append_varint(&one, 2, ts) != XW_OK ||
        xw_pb_append_bytes(&one, 3, update, len) != XW_OK ||
        xw_pb_append_bytes(x->out, 2, one.data, one.len) != XW_OK)
        x->err = 1;
    xw_buf_free(&one);
    return x->err;
}

static int get_identity_updates(void *vctx, const uint8_t *req, size_t len, xw_buf *resp, node_status *st)
{
    node_ctx *ctx = vctx;
    UNPACK(Xmtp__Identity__Api__V1__GetIdentityUpdatesRequest,
           xmtp__identity__api__v1__get_identity_updates_request, r);
    int rc = XW_GRPC_OK;
    xw_errbuf eb = {{0}};
    xw_buf one;
    xw_buf_init(&one, resp->max);
    if (r->n_requests > MAX_LOOKUPS) {
        rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT, "%zu inboxes in one request; ask for at most %d",
                             r->n_requests, MAX_LOOKUPS);
        goto out;
    }
    for (size_t i = 0; i < r->n_requests; i++) {
        const char *inbox = r->requests[i]->inbox_id ? r->requests[i]->inbox_id : "";
        /* inbox ids are hex: look them up in lowercase, as stored (node-go decodes the hex) */
        char lower[160];
        size_t il = strlen(inbox);
        if (il >= sizeof lower)
            il = sizeof lower - 1;
        for (size_t k = 0; k < il; k++)
            lower[k] = (char)tolower((unsigned char)inbox[k]);
        lower[il] = 0;
        xw_buf_reset(&one);
        log_ctx x = {.out = &one};
        if (xw_pb_append_bytes(&one, 1, (const uint8_t *)inbox, strlen(inbox)) != XW_OK) {
            rc = node_status_set(st, XW_GRPC_RESOURCE_EXHAUSTED, "response too large");
            goto out;
        }
        if (node_store_inbox_log(ctx->store, lower, r->requests[i]->sequence_id, log_row, &x, &eb) != XW_OK &&
            !x.err) {
            rc = store_failed(st, &eb);
            goto out;
        }
        if (x.err || xw_pb_append_bytes(resp, 1, one.data, one.len) != XW_OK) {
            rc = node_status_set(st, XW_GRPC_RESOURCE_EXHAUSTED,
                                 "the identity updates do not fit in one response; ask for fewer inboxes");
            goto out;
        }
    }
out:
    xw_buf_free(&one);
    node_pb_free(&r->base);
    return rc;
}

static int get_inbox_ids(void *vctx, const uint8_t *req, size_t len, xw_buf *resp, node_status *st)
{
    node_ctx *ctx = vctx;
    UNPACK(Xmtp__Identity__Api__V1__GetInboxIdsRequest, xmtp__identity__api__v1__get_inbox_ids_request, r);
    int rc = XW_GRPC_OK;
    xw_errbuf eb = {{0}};
    if (r->n_requests > MAX_LOOKUPS) {
        rc =
            node_status_set(st, XW_GRPC_INVALID_ARGUMENT,
                            "%zu identifiers in one request; ask for at most %d", r->n_requests, MAX_LOOKUPS);
        goto out;
    }
    for (size_t i = 0; i < r->n_requests; i++) {
        const Xmtp__Identity__Api__V1__GetInboxIdsRequest__Request *q = r->requests[i];
        char ident[256], inbox[160];
        int kind = node_ident_kind((int)q->identifier_kind);
        if (node_ident_normalize(q->identifier ? q->identifier : "", kind, ident, sizeof ident) != XW_OK)
            ident[0] = 0;
        int found = 0;
        if (ident[0] &&
            node_store_address_lookup(ctx->store, ident, kind, inbox, sizeof inbox, &found, &eb) != XW_OK) {
            rc = store_failed(st, &eb);
            goto out;
        }
        Xmtp__Identity__Api__V1__GetInboxIdsResponse__Response o =
            XMTP__IDENTITY__API__V1__GET_INBOX_IDS_RESPONSE__RESPONSE__INIT;
        o.identifier = q->identifier ? q->identifier : "";
        o.identifier_kind = q->identifier_kind;
        if (found) {
            o._inbox_id_case = XMTP__IDENTITY__API__V1__GET_INBOX_IDS_RESPONSE__RESPONSE___INBOX_ID_INBOX_ID;
            o.inbox_id = inbox;
        }
        if (xw_pb_append_message(resp, 1, &o.base) != XW_OK) {
            rc = node_status_set(st, XW_GRPC_RESOURCE_EXHAUSTED, "response too large");
            goto out;
        }
    }
out:
    node_pb_free(&r->base);
    return rc;
}

static int verify_scw_signatures(void *vctx, const uint8_t *req, size_t len, xw_buf *resp, node_status *st)
{
    (void)vctx;
    UNPACK(Xmtp__Identity__Api__V1__VerifySmartContractWalletSignaturesRequest,
           xmtp__identity__api__v1__verify_smart_contract_wallet_signatures_request, r);
    int rc = XW_GRPC_OK;
    if (r->n_signatures > MAX_LOOKUPS) {
        rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT, "%zu signatures in one request; at most %d",
                             r->n_signatures, MAX_LOOKUPS);
        goto out;
    }
    for (size_t i = 0; i < r->n_signatures; i++) {
        Xmtp__Identity__Api__V1__VerifySmartContractWalletSignaturesResponse__ValidationResponse o =
            XMTP__IDENTITY__API__V1__VERIFY_SMART_CONTRACT_WALLET_SIGNATURES_RESPONSE__VALIDATION_RESPONSE__INIT;
        o.is_valid = 0;
        o._error_case =
            XMTP__IDENTITY__API__V1__VERIFY_SMART_CONTRACT_WALLET_SIGNATURES_RESPONSE__VALIDATION_RESPONSE___ERROR_ERROR;
        o.error =
            "the dev node has no chain access and cannot verify smart-contract wallet signatures; use an "
            "EOA wallet (EIP-191) with the dev node";
        if (xw_pb_append_message(resp, 1, &o.base) != XW_OK) {
            rc = node_status_set(st, XW_GRPC_RESOURCE_EXHAUSTED, "response too large");
            goto out;
        }
    }
out:
    node_pb_free(&r->base);
    return rc;
}

size_t node_rpc_identity_methods(node_ctx *ctx, node_method *out, size_t cap)
{
    const node_method m[] = {
        {I("PublishIdentityUpdate"), publish_identity_update, NULL, ctx},
        {I("GetIdentityUpdates"), get_identity_updates, NULL, ctx},
        {I("GetInboxIds"), get_inbox_ids, NULL, ctx},
        {I("VerifySmartContractWalletSignatures"), verify_scw_signatures, NULL, ctx},
    };
    size_t n = sizeof m / sizeof m[0];
    if (n > cap)
        n = cap;
    memcpy(out, m, n * sizeof m[0]);
    return n;
}
