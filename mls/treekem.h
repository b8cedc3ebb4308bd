/*
 * TreeKEM (RFC 9420 §7.4-§7.6, §7.9.2): UpdatePath decoding, creation and processing, and
 * the commit secret.
 *
 * Processing is two steps because the GroupContext the path secrets are encrypted under
 * holds the tree hash after the merge: mls_treekem_merge() puts the sender's new public
 * keys into the tree and checks the parent-hash chain and the new leaf, then the caller
 * builds the provisional GroupContext and mls_treekem_decrypt() recovers the path secret,
 * checks every derived public key and stores the private keys in the tree.
 *
 * Creation mirrors it: mls_treekem_prepare() generates the path secrets, updates the tree
 * (keys, parent hashes, a freshly signed leaf) and keeps the secrets in an mls_treekem_path;
 * after the caller has built the GroupContext, mls_treekem_encrypt() writes the UpdatePath.
 * New members added by the same commit are excluded from the resolutions (`exclude`).
 */
#ifndef XW_MLS_TREEKEM_H
#define XW_MLS_TREEKEM_H

#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "mls/crypto.h"
#include "mls/tree.h"

#define MLS_TREEKEM_MAX_PATH 32

/* A decoded UpdatePath; spans borrow from the decoded bytes. */
typedef struct {
    mls_leaf *leaf; /* owned reference */
    uint32_t n_nodes;
    mls_span enc_key[MLS_TREEKEM_MAX_PATH];
    mls_span cts[MLS_TREEKEM_MAX_PATH]; /* contents of each encrypted_path_secret vector */
} mls_update_path;

int mls_update_path_read(mls_reader *r, mls_update_path *up);
void mls_update_path_free(mls_update_path *up);

/* Merges the sender's UpdatePath into t (proposals already applied): checks the path
 * length, the leaf (source commit, signature over group_id and the sender's index) and the
 * parent-hash chain, and that no new key is already in the tree. On error t may be
 * half-changed: callers work on a staged copy. */
int mls_treekem_merge(mls_tree *t, uint32_t sender, const mls_update_path *up, mls_span group_id,
                      xw_errbuf *eb);

/* Recovers the path secret for leaf `me` from a merged path; stores the private keys of the
 * nodes from the common ancestor up; writes commit_secret (nh bytes) and, if not NULL, the
 * path secret that was decrypted. */
int mls_treekem_decrypt(mls_tree *t, uint32_t sender, uint32_t me, const mls_update_path *up,
                        const uint32_t *exclude, size_t n_excl, const uint8_t *gc, size_t gc_len,
                        uint8_t *commit_secret, uint8_t *path_secret_out, xw_errbuf *eb);

typedef struct {
    uint32_t me;
    uint32_t n;
    uint32_t fdp[MLS_TREEKEM_MAX_PATH];
    uint8_t path_secret[MLS_TREEKEM_MAX_PATH][MLS_MAX_HASH];
    uint8_t commit_secret[MLS_MAX_HASH];
    mls_leaf *leaf; /* the new leaf (a reference) */
} mls_treekem_path;

/* Fresh keys for leaf me's path. The new leaf copies the current one's fields except the
 * encryption key, source and parent hash, or uses `fields` when not NULL (its enc_key,
 * source and parent_hash are ignored). */
int mls_treekem_prepare(mls_tree *t, uint32_t me, const mls_sig_priv *k, const mls_leaf_fields *fields,
                        mls_span group_id, mls_treekem_path *out, xw_errbuf *eb);
/* Appends the UpdatePath encoding. */
int mls_treekem_encrypt(mls_tree *t, const mls_treekem_path *p, const uint32_t *exclude, size_t n_excl,
                        const uint8_t *gc, size_t gc_len, xw_buf *out, xw_errbuf *eb);
void mls_treekem_path_wipe(mls_treekem_path *p);

#endif
