/*
 * The ratchet tree (RFC 9420 §4.1, §7): leaf nodes, parent nodes, the array representation
 * with blanks and unmerged leaves, extension and truncation, resolution, tree hashes, parent
 * hashes, validation of a received tree (§7.3, §7.9.2, §12.4.3.1) and the ratchet_tree
 * extension encoding.
 *
 * A tree always has a power-of-two number of leaves (2n - 1 nodes); the ratchet_tree
 * encoding drops trailing blank nodes and the decoder pads back. Leaf nodes are immutable
 * once decoded and reference-counted, so cloning a tree (to stage a commit) copies
 * pointers; parent nodes are small and copied. Tree hashes are cached per node and
 * invalidated along the path of every change, so a commit on a large tree rehashes log N
 * nodes. Private keys of the owner's view (its leaf and the parent nodes it knows) live in
 * the tree too, beside the public nodes, so that blanking a node also wipes its key.
 *
 * Everything here is single-owner (the group); nothing is thread-safe.
 */
#ifndef XW_MLS_TREE_H
#define XW_MLS_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "mls/crypto.h"
#include "mls/tls.h"
#include "mls/treemath.h"

#define MLS_NODE_BLANK 0
#define MLS_NODE_LEAF 1
#define MLS_NODE_PARENT 2

#define MLS_LEAF_SOURCE_KEY_PACKAGE 1
#define MLS_LEAF_SOURCE_UPDATE 2
#define MLS_LEAF_SOURCE_COMMIT 3

#define MLS_CREDENTIAL_BASIC 1
#define MLS_CREDENTIAL_X509 2

#define MLS_EXT_APPLICATION_ID 1
#define MLS_EXT_RATCHET_TREE 2
#define MLS_EXT_REQUIRED_CAPABILITIES 3
#define MLS_EXT_EXTERNAL_PUB 4
#define MLS_EXT_EXTERNAL_SENDERS 5
#define MLS_EXT_LAST_RESORT 0x000a

/* Largest tree this implementation accepts (leaves). */
#define MLS_TREE_LIMIT_LEAVES (1u << 16)

/* A decoded LeafNode. Immutable; its spans point into `raw`, which it owns. */
typedef struct {
    unsigned refs;
    uint8_t *raw; /* the encoded LeafNode */
    size_t raw_len;
    size_t tbs_len; /* bytes before the signature field */
    mls_span enc_key, sig_key;
    uint16_t cred_type;
    mls_span credential;                                              /* the whole Credential encoding */
    mls_span identity;                                                /* basic credentials */
    mls_span capabilities;                                            /* the whole Capabilities encoding */
    mls_span versions, suites, ext_types, proposal_types, cred_types; /* uint16 lists (raw) */
    uint8_t source;
    uint64_t not_before, not_after; /* key_package source */
    mls_span parent_hash;           /* commit source */
    mls_span extensions;            /* contents of the extensions vector */
    mls_span signature;
} mls_leaf;

/* Reads one LeafNode from r (errors go to r) and returns a copy that owns its bytes. */
mls_leaf *mls_leaf_read(mls_reader *r);
mls_leaf *mls_leaf_ref(mls_leaf *l);
void mls_leaf_unref(mls_leaf *l);
/* Writes the LeafNodeTBS (with group_id and leaf index for update and commit sources). */
void mls_leaf_tbs_write(mls_writer *w, const mls_leaf *l, mls_span group_id, uint32_t leaf_index);
int mls_leaf_verify_signature(const mls_suite *s, const mls_leaf *l, mls_span group_id, uint32_t leaf_index,
                              xw_errbuf *eb);
/* 1 when the raw uint16 list holds v. */
int mls_u16_list_has(mls_span list, uint16_t v);
/* Finds extension `type` in the contents of an extensions vector; 1 when found. */
int mls_extensions_find(mls_span exts, uint16_t type, mls_span *data);

/* Checks an extension list: well formed, no type twice. */
int mls_check_extension_list(mls_span exts, const char *where, xw_errbuf *eb);

/* Fields of a LeafNode to build (mls_leaf_build). Spans are borrowed. */
typedef struct {
    mls_span enc_key, sig_key, credential, capabilities;
    uint8_t source;
    uint64_t not_before, not_after;
    mls_span parent_hash;
    mls_span extensions;
} mls_leaf_fields;

/* Encodes and signs a LeafNode. group_id/leaf_index are used for update and commit sources. */
mls_leaf *mls_leaf_build(const mls_suite *s, const mls_leaf_fields *f, const mls_sig_priv *k,
                         mls_span group_id, uint32_t leaf_index, xw_errbuf *eb);

typedef struct {
    uint8_t *enc_key;
    size_t enc_len;
    uint8_t *parent_hash;
    size_t ph_len;
    uint32_t *unmerged;
    uint32_t n_unmerged;
} mls_parent;

typedef struct {
    uint8_t type; /* MLS_NODE_* */
    mls_leaf *leaf;
    mls_parent *parent;
} mls_node;

typedef struct {
    const mls_suite *suite;
    uint32_t n_leaves; /* a power of two */
    mls_node *nodes;   /* 2 n_leaves - 1 */
    uint8_t *th;       /* cached tree hashes, nh bytes per node */
    uint8_t *th_ok;
    /* the owner's private view: HPKE private keys per node (NULL when unknown) */
    uint8_t **priv;
} mls_tree;

static inline uint32_t mls_tree_nodes(const mls_tree *t) { return 2 * t->n_leaves - 1; }

/* An empty tree of one blank leaf. */
mls_tree *mls_tree_new(const mls_suite *s);
void mls_tree_free(mls_tree *t);
/* A deep copy (leaves shared by reference); copy_priv also copies private keys. */
mls_tree *mls_tree_clone(const mls_tree *t, int copy_priv);

/* Decodes the ratchet_tree extension data (optional<Node> ratchet_tree<V>, with its length). */
int mls_tree_decode(const mls_suite *s, const uint8_t *p, size_t n, mls_tree **out, xw_errbuf *eb);
/* Appends the ratchet_tree encoding (trailing blanks dropped). */
int mls_tree_encode(const mls_tree *t, xw_buf *out);

/* Leaf nodes. */
static inline mls_leaf *mls_tree_leaf(const mls_tree *t, uint32_t leaf)
{
    return leaf < t->n_leaves && t->nodes[2 * leaf].type == MLS_NODE_LEAF ? t->nodes[2 * leaf].leaf : NULL;
}
/* Blanks a node (and wipes its private key). */
void mls_tree_blank(mls_tree *t, uint32_t node);
/* Puts a leaf (takes a reference) at leaf index i. */
void mls_tree_set_leaf(mls_tree *t, uint32_t leaf, mls_leaf *l);
/* Sets a parent node (copies the key; parent hash and unmerged leaves empty). */
int mls_tree_set_parent(mls_tree *t, uint32_t node, const uint8_t *enc_key, size_t enc_len);
int mls_tree_set_parent_hash(mls_tree *t, uint32_t node, const uint8_t *ph, size_t len);
/* Sets a private key (copied) for a node. */
int mls_tree_set_priv(mls_tree *t, uint32_t node, const uint8_t *priv, size_t len);
/* Marks a node and its ancestors as changed (for the tree hash cache). */
void mls_tree_touch(mls_tree *t, uint32_t node);

/* Add: puts l in the leftmost blank leaf (extending the tree if needed), adds the leaf
 * to the unmerged list of its non-blank ancestors, and returns its index. */
int mls_tree_add(mls_tree *t, mls_leaf *l, uint32_t *leaf_out);
/* Update: replaces the leaf and blanks its direct path. */
void mls_tree_update(mls_tree *t, uint32_t leaf, mls_leaf *l);
/* Remove: blanks the leaf and its direct path, then truncates. */
void mls_tree_remove(mls_tree *t, uint32_t leaf);
/* Drops the right half while it is all blank. */
void mls_tree_truncate(mls_tree *t);

/* Resolution of a node; `exclude` leaf indices (sorted or not, n_excl of them) are left out.
 * Returns the count written (up to cap; cap >= n_leaves suffices). */
size_t mls_tree_resolution(const mls_tree *t, uint32_t node, const uint32_t *exclude, size_t n_excl,
                           uint32_t *out, size_t cap);
/* Filtered direct path of a leaf: writes the parent nodes (bottom-up); returns the count. */
size_t mls_tree_filtered_direct_path(const mls_tree *t, uint32_t leaf, uint32_t *out, size_t cap);

/* Tree hash of a node (cached). out gets nh bytes. */
int mls_tree_hash(mls_tree *t, uint32_t node, uint8_t *out);
static inline int mls_tree_root_hash(mls_tree *t, uint8_t *out)
{
    return mls_tree_hash(t, mls_tree_root(t->n_leaves), out);
}
/* Parent hash of parent node p with copath child s (original sibling tree hash, §7.9). */
int mls_tree_parent_hash(mls_tree *t, uint32_t p, uint32_t s, uint8_t *out);

/* Checks a tree received from others (§12.4.3.1 / §7.9.2): every non-blank parent is
 * parent-hash valid, unmerged leaves are consistent, leaf nodes are valid (signatures with
 * group_id, capabilities, credentials, extensions) and encryption and signature keys are
 * unique. gc_extensions: the group's extensions (required_capabilities), may be empty. */
int mls_tree_validate(mls_tree *t, mls_span group_id, mls_span gc_extensions, xw_errbuf *eb);
/* Leaf validity on its own (§7.3, not the uniqueness checks): credential, signature,
 * capabilities against required_capabilities, extensions listed in capabilities.
 * leaf_index is used for update and commit sources. */
int mls_leaf_validate(const mls_suite *s, const mls_leaf *l, mls_span group_id, uint32_t leaf_index,
                      mls_span gc_extensions, xw_errbuf *eb);
/* Checks that l's credential type is supported by every member and that l supports every
 * member's credential type; that its keys are not used by another node (skip = its own leaf
 * index or UINT32_MAX). */
int mls_tree_check_leaf_fits(const mls_tree *t, const mls_leaf *l, uint32_t skip, xw_errbuf *eb);

/* Finds the leaf whose encoding equals `raw`; UINT32_MAX when absent. */
uint32_t mls_tree_find_leaf(const mls_tree *t, const uint8_t *raw, size_t n);
/* Number of non-blank leaves. */
uint32_t mls_tree_member_count(const mls_tree *t);

#endif
