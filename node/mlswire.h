/*
 * What the node needs to know about MLS bytes it is asked to store (RFC 9420):
 *
 * - node_mls_peek: the group id and content type of an MLSMessage (PublicMessage or
 *   PrivateMessage), so that a group message is filed under the group it really belongs to
 *   and `is_commit` is set from the content type (Commit or Proposal), like XMTP's
 *   validation service.
 * - node_kp_validate: a TLS-encoded KeyPackage decoded completely by mls/wire.h, its leaf
 *   node signature (LeafNodeTBS) and key package signature (KeyPackageTBS) verified with
 *   mls/crypto.h for its cipher suite, init_key distinct from the leaf encryption_key, its
 *   leaf source key_package, its credential a BasicCredential whose identity is an XMTP
 *   MlsCredential protobuf naming the inbox. The installation key is the leaf signature
 *   key. Not checked (as in xmtp-node-go): lifetime; capabilities beyond their syntax.
 *
 * Both only read their input and never allocate; errors name the field that is wrong.
 */
#ifndef XW_NODE_MLSWIRE_H
#define XW_NODE_MLSWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum { NODE_MLS_APPLICATION = 1, NODE_MLS_PROPOSAL = 2, NODE_MLS_COMMIT = 3 };

typedef struct {
    int wire_format;  /* 1 public, 2 private */
    int content_type; /* NODE_MLS_* */
    uint64_t epoch;
    const uint8_t *group_id; /* points into the input */
    size_t group_id_len;
} node_mls_info;

int node_mls_peek(const uint8_t *msg, size_t len, node_mls_info *out, xw_errbuf *eb);

#define NODE_INBOX_ID_MAX 128

typedef struct {
    uint16_t cipher_suite;
    const uint8_t *signature_key; /* 32 bytes, = installation key */
    size_t signature_key_len;
    char inbox_id[NODE_INBOX_ID_MAX + 1]; /* from the MlsCredential */
    uint64_t not_before, not_after;       /* lifetime (not enforced, as in xmtp-node-go) */
} node_kp_info;

int node_kp_validate(const uint8_t *kp, size_t len, node_kp_info *out, xw_errbuf *eb);

#endif
