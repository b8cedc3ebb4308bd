/*
 * Identity update checks (see ident.h).
 *
 * What is checked here: the update names the inbox it is published to, has at least one
 * action, every action is well formed, the first update of an inbox is a CreateInbox whose
 * inbox id is SHA-256(lowercase identifier ‖ decimal nonce) and whose identifier is an
 * Ethereum address, and no later update creates the inbox again.
 * Signatures and the association rules (who may add whom, replay) are NOT checked here yet:
 * that needs the identity module's folding (xmtp/association.h), to be wired in.
 */
#include "node/ident.h"

#include <ctype.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"

typedef Xmtp__Identity__Associations__IdentityAction Action;
typedef Xmtp__Identity__Associations__MemberIdentifier MemberId;

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

static int add_change(node_ident_result *res, const char *ident, int kind, int added)
{
    node_ident_change *c = xw_realloc(res->changes, (res->n + 1) * sizeof *c);
    if (!c)
        return XW_ENOMEM;
    res->changes = c;
    c = &c[res->n];
    if (node_ident_normalize(ident, kind, c->identifier, sizeof c->identifier) != XW_OK)
        return XW_EMALFORMED;
    c->kind = kind;
    c->added = added;
    res->n++;
    return XW_OK;
}

static int member_change(node_ident_result *res, const MemberId *m, int added)
{
    if (!m)
        return XW_EMALFORMED;
    switch (m->kind_case) {
    case XMTP__IDENTITY__ASSOCIATIONS__MEMBER_IDENTIFIER__KIND_ETHEREUM_ADDRESS:
        return add_change(res, m->ethereum_address ? m->ethereum_address : "", 1, added);
    case XMTP__IDENTITY__ASSOCIATIONS__MEMBER_IDENTIFIER__KIND_PASSKEY: {
        if (!m->passkey || !m->passkey->key.len || m->passkey->key.len > NODE_IDENT_MAX / 2)
            return XW_EMALFORMED;
        char hex[NODE_IDENT_MAX + 1];
        xw_hex_encode(m->passkey->key.data, m->passkey->key.len, hex);
        return add_change(res, hex, 2, added);
    }
    case XMTP__IDENTITY__ASSOCIATIONS__MEMBER_IDENTIFIER__KIND_INSTALLATION_PUBLIC_KEY:
        return m->installation_public_key.len == 32 ? XW_OK : XW_EMALFORMED;
    default:
        return XW_EMALFORMED;
    }
}

static int inbox_id_of(const char *ident, uint64_t nonce, char out[65])
{
    char text[NODE_IDENT_MAX + 32];
    int n = snprintf(text, sizeof text, "%s%" PRIu64, ident, nonce);
    uint8_t h[32];
    unsigned int hl = 32;
    if (n < 0 || (size_t)n >= sizeof text || EVP_Digest(text, (size_t)n, h, &hl, EVP_sha256(), NULL) != 1)
        return XW_EINTERNAL;
    xw_hex_encode(h, 32, out);
    return XW_OK;
}

typedef struct {
    int created;
} log_scan;

static int scan_row(void *c, uint64_t seq, uint64_t ts, const uint8_t *update, size_t len)
{
    (void)seq;
    (void)ts;
    (void)update;
    (void)len;
    ((log_scan *)c)->created = 1; /* the first stored update of an inbox is always its CreateInbox */
    return 1;
}

int node_ident_check(node_store *st, const char *inbox_id,
                     const Xmtp__Identity__Associations__IdentityUpdate *u, const uint8_t *bytes, size_t len,
                     node_ident_result *res, node_status *status)
{
    (void)bytes;
    (void)len;
    xw_errbuf eb = {{0}};
    log_scan scan = {0};
    if (node_store_inbox_log(st, inbox_id, 0, scan_row, &scan, &eb) != XW_OK)
        return node_status_set(status, NODE_GRPC_INTERNAL, "the node's store failed (%s)", eb.msg);
    if (u->n_actions == 0)
        return node_status_set(status, NODE_GRPC_INVALID_ARGUMENT, "identity update has no actions");
    for (size_t i = 0; i < u->n_actions; i++) {
        const Action *a = u->actions[i];
        int rc = XW_OK;
        switch (a->kind_case) {
        case XMTP__IDENTITY__ASSOCIATIONS__IDENTITY_ACTION__KIND_CREATE_INBOX: {
            const Xmtp__Identity__Associations__CreateInbox *ci = a->create_inbox;
            char expect[65];
            if (scan.created || i != 0)
                return node_status_set(status, NODE_GRPC_INVALID_ARGUMENT,
                                       "action %zu creates inbox %s, which already exists", i, inbox_id);
            if (!ci->initial_identifier || node_ident_kind((int)ci->initial_identifier_kind) != 1)
                return node_status_set(status, NODE_GRPC_INVALID_ARGUMENT,
                                       "CreateInbox needs an Ethereum address as initial identifier");
            char ident[NODE_IDENT_MAX + 1];
            if (node_ident_normalize(ci->initial_identifier, 1, ident, sizeof ident) != XW_OK)
                return node_status_set(status, NODE_GRPC_INVALID_ARGUMENT,
                                       "CreateInbox initial identifier '%.60s' is not an Ethereum address",
                                       ci->initial_identifier);
            if (inbox_id_of(ident, ci->nonce, expect) != XW_OK || strcmp(expect, inbox_id) != 0)
                return node_status_set(
                    status, NODE_GRPC_INVALID_ARGUMENT,
                    "inbox id %s does not match its CreateInbox (SHA-256 of %s and nonce %llu "
                    "is %s)",
                    inbox_id, ident, (unsigned long long)ci->nonce, expect);
            if (!ci->initial_identifier_signature)
                return node_status_set(status, NODE_GRPC_INVALID_ARGUMENT, "CreateInbox has no signature");
            rc = add_change(res, ident, 1, 1);
            scan.created = 1;
            break;
        }
        case XMTP__IDENTITY__ASSOCIATIONS__IDENTITY_ACTION__KIND_ADD:
            if (!a->add->existing_member_signature || !a->add->new_member_signature)
                return node_status_set(
                    status, NODE_GRPC_INVALID_ARGUMENT,
                    "AddAssociation %zu needs both the existing and the new member's signature", i);
            rc = member_change(res, a->add->new_member_identifier, 1);
            break;
        case XMTP__IDENTITY__ASSOCIATIONS__IDENTITY_ACTION__KIND_REVOKE:
            if (!a->revoke->recovery_identifier_signature)
                return node_status_set(status, NODE_GRPC_INVALID_ARGUMENT,
                                       "RevokeAssociation %zu needs the recovery identifier's signature", i);
            rc = member_change(res, a->revoke->member_to_revoke, 0);
            break;
        case XMTP__IDENTITY__ASSOCIATIONS__IDENTITY_ACTION__KIND_CHANGE_RECOVERY_ADDRESS:
            if (!a->change_recovery_address->existing_recovery_identifier_signature)
                return node_status_set(status, NODE_GRPC_INVALID_ARGUMENT,
                                       "ChangeRecoveryAddress %zu needs the current recovery signature", i);
            break;
        default:
            return node_status_set(status, NODE_GRPC_INVALID_ARGUMENT, "action %zu has no known kind", i);
        }
        if (rc == XW_ENOMEM)
            return node_status_set(status, NODE_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        if (rc != XW_OK)
            return node_status_set(status, NODE_GRPC_INVALID_ARGUMENT, "action %zu names a malformed member",
                                   i);
        if (!scan.created)
            return node_status_set(status, NODE_GRPC_INVALID_ARGUMENT,
                                   "inbox %s does not exist; its first update must be a CreateInbox",
                                   inbox_id);
    }
    return NODE_GRPC_OK;
}

void node_ident_result_free(node_ident_result *res)
{
    xw_free(res->changes);
    res->changes = NULL;
    res->n = 0;
}
