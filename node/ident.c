/*
 * Identity update checks (see ident.h), with the identity module's association rules
 * (xmtp/association.h): the inbox's stored log is folded from the start (every signature of
 * every update verified), then the new update is applied to that state; if it does not
 * apply the refusal says which action failed and why. The identifier changes for the
 * address log are the difference between the member lists before and after.
 */
#include "node/ident.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "xmtp/association.h"

int node_ident_kind(int proto_kind) { return proto_kind == 2 ? 2 : 1; }

int node_ident_normalize(const char *in, int kind, char *out, size_t cap)
{
    size_t n = strlen(in);
    if (n + 1 > cap || n > NODE_IDENT_MAX)
        return XW_ETOOBIG;
    for (size_t i = 0; i <= n; i++)
        out[i] = kind == 1 ? (char)tolower((unsigned char)in[i]) : in[i];
    if (kind == 1) {
        if (n != 42 || out[0] != '0' || out[1] != 'x')
            return XW_EMALFORMED;
        for (size_t i = 2; i < n; i++)
            if (!isxdigit((unsigned char)out[i]))
                return XW_EMALFORMED;
    }
    return XW_OK;
}

static int add_change(node_ident_result *res, const xmtp_member_id *m, int added)
{
    char text[NODE_IDENT_MAX + 1];
    int kind;
    if (m->kind == XMTP_MEMBER_ETHEREUM) {
        text[0] = '0';
        text[1] = 'x';
        xw_hex_encode(m->bytes, m->len, text + 2);
        kind = 1;
    } else if (m->kind == XMTP_MEMBER_PASSKEY) {
        xw_hex_encode(m->bytes, m->len, text);
        kind = 2;
    } else {
        return XW_OK; /* installations are not in the address log */
    }
    node_ident_change *c = xw_realloc(res->changes, (res->n + 1) * sizeof *c);
    if (!c)
        return XW_ENOMEM;
    res->changes = c;
    c = &c[res->n++];
    snprintf(c->identifier, sizeof c->identifier, "%s", text);
    c->kind = kind;
    c->added = added;
    return XW_OK;
}

typedef struct {
    xmtp_assoc_state *st;
    int rc;
    uint64_t seq;
    xw_errbuf eb;
} fold_ctx;

static int fold_row(void *c, uint64_t seq, uint64_t ts, const uint8_t *update, size_t len)
{
    (void)ts;
    fold_ctx *f = c;
    f->rc = xmtp_assoc_state_apply_at(f->st, seq, update, len, &f->eb);
    f->seq = seq;
    return f->rc != XW_OK;
}

int node_ident_check(node_store *st, const char *inbox_id, const uint8_t *bytes, size_t len,
                     node_ident_result *res, node_status *status)
{
    xw_errbuf eb = {{0}};
    fold_ctx f = {0};
    xmtp_assoc_state *after = NULL;
    int rc = XW_GRPC_OK;
    if (xmtp_assoc_state_new(inbox_id, &f.st, &eb) != XW_OK)
        return node_status_set(status, XW_GRPC_INVALID_ARGUMENT, "%s", eb.msg);
    if (node_store_inbox_log(st, inbox_id, 0, fold_row, &f, &eb) != XW_OK && f.rc == XW_OK) {
        rc = node_status_set(status, XW_GRPC_INTERNAL, "the node's store failed (%s)", eb.msg);
        goto out;
    }
    if (f.rc != XW_OK) {
        /* the stored log no longer folds (rules changed or data damaged): say so */
        rc = node_status_set(status, XW_GRPC_INTERNAL,
                             "the stored log of inbox %s does not fold at update %llu: %s", inbox_id,
                             (unsigned long long)f.seq, f.eb.msg);
        goto out;
    }
    if (xmtp_assoc_state_clone(f.st, &after, &eb) != XW_OK) {
        rc = node_status_set(status, XW_GRPC_RESOURCE_EXHAUSTED, "%s", eb.msg);
        goto out;
    }
    if (xmtp_assoc_state_apply(after, bytes, len, &eb) != XW_OK) {
        rc = node_status_set(status, XW_GRPC_INVALID_ARGUMENT, "identity update refused: %s", eb.msg);
        goto out;
    }
    /* identifier changes: members after but not before, and before but not after */
    for (size_t i = 0; i < xmtp_assoc_state_member_count(after) && rc == XW_GRPC_OK; i++) {
        const xmtp_member *m = xmtp_assoc_state_member_at(after, i);
        if (!xmtp_assoc_state_find(f.st, &m->id) && add_change(res, &m->id, 1) != XW_OK)
            rc = node_status_set(status, XW_GRPC_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (size_t i = 0; i < xmtp_assoc_state_member_count(f.st) && rc == XW_GRPC_OK; i++) {
        const xmtp_member *m = xmtp_assoc_state_member_at(f.st, i);
        if (!xmtp_assoc_state_find(after, &m->id) && add_change(res, &m->id, 0) != XW_OK)
            rc = node_status_set(status, XW_GRPC_RESOURCE_EXHAUSTED, "out of memory");
    }
out:
    xmtp_assoc_state_free(after);
    xmtp_assoc_state_free(f.st);
    return rc;
}

void node_ident_result_free(node_ident_result *res)
{
    xw_free(res->changes);
    res->changes = NULL;
    res->n = 0;
}
