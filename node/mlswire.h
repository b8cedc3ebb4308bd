/*
 * What the node needs to know about MLS bytes it is asked to store (RFC 9420), read with the
 * project's MLS module (mls/framing.h, mls/keypackage.h) rather than a reader of its own:
 *
 * - node_mls_peek: the group id and content type of an MLSMessage (PublicMessage or
 *   PrivateMessage), decoded whole by mls_message_decode, so that a group message is filed
 *   under the group it really belongs to and `is_commit` is set from the content type
 *   (Commit or Proposal), like XMTP's validation service.
 * - node_kp_validate: a bare TLS-encoded KeyPackage decoded whole by mls_key_package_read,
 *   its leaf node signature (LeafNodeTBS) and key package signature (KeyPackageTBS)
 *   verified for its cipher suite, init_key distinct from the leaf encryption_key, its leaf
 *   source key_package, its credential a BasicCredential whose identity is an XMTP
 *   MlsCredential protobuf (decoded with proto/pb.h) naming the inbox by a lowercase-hex id.
 *   The installation key is the leaf signature key. Not checked (as in xmtp-node-go):
 *   lifetime; capabilities beyond their syntax.
 *
 * Errors name the field that is wrong; every refusal is a permanent one for that input.
 */
#ifndef XW_NODE_MLSWIRE_H
#define XW_NODE_MLSWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "mls/crypto.h"
#include "mls/framing.h"

enum {
    NODE_MLS_APPLICATION = MLS_CONTENT_APPLICATION,
    NODE_MLS_PROPOSAL = MLS_CONTENT_PROPOSAL,
    NODE_MLS_COMMIT = MLS_CONTENT_COMMIT
};

typedef struct {
    int wire_format;  /* 1 public, 2 private */
    int content_type; /* NODE_MLS_* */
    uint64_t epoch;
    const uint8_t *group_id; /* points into the input */
    size_t group_id_len;
} node_mls_info;

/* Reads only its input; allocates nothing. */
int node_mls_peek(const uint8_t *msg, size_t len, node_mls_info *out, xw_errbuf *eb);

#define NODE_INBOX_ID_MAX 128

typedef struct {
    uint16_t cipher_suite;
    uint8_t signature_key[MLS_MAX_SIG_PUB]; /* = installation key */
    size_t signature_key_len;
    char inbox_id[NODE_INBOX_ID_MAX + 1]; /* from the MlsCredential */
    uint64_t not_before, not_after;       /* lifetime (not enforced, as in xmtp-node-go) */
} node_kp_info;

/* Fills *out (a copy: nothing points into kp) or refuses the key package. Allocates while it
 * works and frees it all before returning. */
int node_kp_validate(const uint8_t *kp, size_t len, node_kp_info *out, xw_errbuf *eb);

#endif
