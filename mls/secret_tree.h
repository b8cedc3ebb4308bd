/*
 * The secret tree and its per-sender hash ratchets (RFC 9420 §9, §9.1).
 *
 * The tree starts from the epoch's encryption_secret at the root. A leaf's secrets are
 * derived on first use; deriving a node's children deletes the node, and deriving a leaf's
 * two ratchet secrets deletes the leaf secret, so what stays in memory cannot reproduce what
 * was handed out. Each leaf has a handshake and an application ratchet. A ratchet keeps the
 * secret of its next generation plus a window of keys for generations that were skipped
 * (out-of-order tolerance, default 5); a generation more than `max_forward` (default 1000)
 * ahead is refused, and a key is deleted once consumed.
 *
 * Receiving is two-phase so that a message that fails later checks (its tag, its signature,
 * the group's rules) changes nothing: mls_secret_tree_peek() computes the key for a
 * generation without changing the tree at all (a leaf whose ratchets do not exist yet is
 * derived on the side), mls_secret_tree_consume() advances and deletes it once the message
 * is accepted.
 *
 * Not thread-safe: one owner (the group) at a time. Freeing wipes every secret.
 */
#ifndef XW_MLS_SECRET_TREE_H
#define XW_MLS_SECRET_TREE_H

#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "mls/crypto.h"

typedef enum {
    MLS_RATCHET_HANDSHAKE = 0,
    MLS_RATCHET_APPLICATION = 1,
} mls_ratchet_type;

typedef struct {
    uint32_t out_of_order; /* skipped keys kept per ratchet (default 5, max 1000) */
    uint32_t max_forward;  /* how far past the next expected generation a message may be (default 1000) */
} mls_secret_tree_config;

#define MLS_SECRET_TREE_DEFAULT_OUT_OF_ORDER 5
#define MLS_SECRET_TREE_DEFAULT_MAX_FORWARD 1000
#define MLS_SECRET_TREE_MAX_LEAVES (1u << 16) /* 65536 members: memory is about 300 bytes per leaf */

typedef struct {
    uint32_t generation;
    uint8_t key[MLS_MAX_AEAD_KEY];
    uint8_t nonce[MLS_NONCE];
} mls_ratchet_key;

typedef struct mls_secret_tree mls_secret_tree;

/* cfg may be NULL (defaults). The tree copies encryption_secret (suite->nh bytes). */
int mls_secret_tree_new(const mls_suite *suite, const uint8_t *encryption_secret, uint32_t n_leaves,
                        const mls_secret_tree_config *cfg, mls_secret_tree **out, xw_errbuf *eb);
void mls_secret_tree_free(mls_secret_tree *st);
uint32_t mls_secret_tree_leaves(const mls_secret_tree *st);

/* Sender side: the key and nonce of the leaf's next generation, which is consumed. */
int mls_secret_tree_next(mls_secret_tree *st, uint32_t leaf, mls_ratchet_type type, mls_ratchet_key *out,
                         xw_errbuf *eb);
/* Receiver side: the key and nonce for `generation`, without consuming it or changing the
 * tree. XW_EMLS_GENERATION when it was consumed already, fell out of the window or is too far
 * ahead. */
int mls_secret_tree_peek(const mls_secret_tree *st, uint32_t leaf, mls_ratchet_type type, uint32_t generation,
                         mls_ratchet_key *out, xw_errbuf *eb);
/* Consumes `generation` (after a successful peek): keys of skipped generations go into the
 * window, the key itself is deleted. After a successful peek of the same generation it fails
 * only when memory runs out, and then changes nothing. */
int mls_secret_tree_consume(mls_secret_tree *st, uint32_t leaf, mls_ratchet_type type, uint32_t generation,
                            xw_errbuf *eb);

void mls_ratchet_key_wipe(mls_ratchet_key *k);

/* Persistence for the group state: the tree's remaining node secrets, every started
 * ratchet with its window, and the configuration, in a versioned TLS-style encoding.
 * The bytes are secret: store them encrypted and wipe copies. */
int mls_secret_tree_encode(const mls_secret_tree *st, xw_buf *out, xw_errbuf *eb);
/* Rebuilds a tree from mls_secret_tree_encode's output; every field is validated (sizes,
 * indices inside the tree, window size) and nothing is allocated beyond what the input
 * describes within the tree's bounds. XW_ECORRUPT when the bytes are not a valid state. */
int mls_secret_tree_decode(const mls_suite *suite, const uint8_t *p, size_t n, mls_secret_tree **out,
                           xw_errbuf *eb);

#endif
