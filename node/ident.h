/*
 * Identity update checks for PublishIdentityUpdate, and the identifier (address log) changes
 * an accepted update makes.
 *
 * node_ident_check folds the inbox's stored log and the new update with the identity
 * module's association rules (signatures verified, who may add or revoke whom, replays)
 * and refuses the update if it does not apply (INVALID_ARGUMENT with the reason). It fills `res` with the
 * identifiers (Ethereum addresses, passkeys) that the update associates with the inbox or
 * revokes from it, for GetInboxIds.
 */
#ifndef XW_NODE_IDENT_H
#define XW_NODE_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "node/server.h"
#include "node/store.h"

#define NODE_IDENT_MAX 200

typedef struct {
    char identifier[NODE_IDENT_MAX + 1];
    int kind; /* IdentifierKind: 1 Ethereum, 2 passkey */
    int added;
} node_ident_change;

typedef struct {
    node_ident_change *changes;
    size_t n;
} node_ident_result;

/* `bytes` is the serialized IdentityUpdate as the client sent it. */
int node_ident_check(node_store *st, const char *inbox_id, const uint8_t *bytes, size_t len,
                     node_ident_result *res, node_status *status);
void node_ident_result_free(node_ident_result *res);

/* IdentifierKind as stored: UNSPECIFIED (old clients) means Ethereum. */
int node_ident_kind(int proto_kind);
/* Canonical text of an identifier: Ethereum addresses lowercased (0x + 40 hex). */
int node_ident_normalize(const char *in, int kind, char *out, size_t cap);

#endif
