/*
 * Internals of mls_group shared by group.c (life cycle, messages, epochs), commit.c
 * (proposal lists, commits), welcome.c (GroupInfo, Welcome) and group_state.c (save/load).
 * Tests may include it; nothing else should.
 */
#ifndef XW_MLS_GROUP_INT_H
#define XW_MLS_GROUP_INT_H

#include "mls/framing.h"
#include "mls/group.h"
#include "mls/key_schedule.h"
#include "mls/proposal.h"
#include "mls/tree.h"
#include "mls/treekem.h"

#define MLS_GROUP_MAX_PAST 64
#define MLS_GROUP_MAX_PROPOSALS 4096
#define MLS_GROUP_MAX_PSKS 256

/* An older epoch kept for late application messages (and its resumption PSK). */
typedef struct {
    uint64_t epoch;
    xw_buf gc;
    mls_epoch_secrets sec;
    mls_secret_tree *st;
    mls_tree *tree; /* public view: sender signature keys */
} mls_past_epoch;

typedef struct {
    uint8_t ref[MLS_MAX_HASH];
    mls_proposal *p;
    uint32_t sender; /* leaf index, or MLS_GROUP_EXTERNAL_SENDER */
} mls_cached_proposal;

typedef struct {
    xw_buf id, psk;
} mls_psk_entry;

/* What the framing sender-key lookup needs: the epoch's tree (members) and GroupContext
 * extensions (external_senders). */
typedef struct {
    const mls_tree *tree;
    mls_span extensions;
} mls_sender_lookup;

struct mls_group {
    const mls_suite *suite;
    mls_group_config cfg;
    xw_buf group_id;
    uint64_t epoch;
    xw_buf extensions; /* contents of the GroupContext extensions vector */
    uint8_t confirmed[MLS_MAX_HASH];
    size_t confirmed_len;
    uint8_t interim[MLS_MAX_HASH];
    size_t interim_len;
    xw_buf gc; /* encoded GroupContext of the current epoch */
    mls_tree *tree;
    uint32_t me;
    int active;
    mls_sig_priv sig;
    mls_epoch_secrets sec;
    mls_secret_tree *st;
    mls_cached_proposal *props;
    size_t n_props;
    mls_past_epoch *past; /* oldest first */
    size_t n_past;
    /* own Update proposal in flight: the private key of its leaf (0 length when none) */
    uint8_t update_priv[MLS_HPKE_MAX_SK];
    uint8_t update_pub[MLS_HPKE_MAX_PK];
    size_t update_len;
    mls_psk_entry *psks;
    size_t n_psks;
    mls_group *staged;        /* own commit awaiting confirmation */
    mls_sender_lookup lookup; /* argument of the framing sender-key lookup */
    xw_buf staged_msg;        /* its message bytes */
    /* a received commit awaiting mls_group_incoming_merge (never saved), and the handshake
     * generation of its PrivateMessage, consumed in g->st at the merge */
    mls_group *incoming;
    int incoming_private;
    uint32_t incoming_leaf, incoming_gen;
};

/* An empty group shell (buffers initialised). */
mls_group *mls_group_alloc(const mls_suite *s, const mls_group_config *cfg);
/* Re-encodes g->gc from the fields and the tree hash. */
int mls_group_gc_update(mls_group *g);
/* Sets up the epoch from secrets already in g->sec: secret tree. */
int mls_group_epoch_start(mls_group *g, xw_errbuf *eb);
/* Wipes the secrets an epoch no longer needs once its secret tree exists. */
void mls_group_wipe_spent(mls_group *g);
/* A copy for staging the next epoch: tree with private keys, context fields, signature key,
 * PSK store; no secret tree, no cache, no past epochs. */
mls_group *mls_group_fork(const mls_group *g);
/* Moves next into g as the new current epoch: g's epoch goes to the past list, next's
 * fields replace g's, next is freed. */
void mls_group_advance(mls_group *g, mls_group *next);
/* Looks up a PSK value. */
int mls_group_psk_lookup(const mls_group *g, const mls_psk_id *id, const uint8_t **psk, size_t *len,
                         xw_errbuf *eb);

/* roster.c */
void mls_leaf_view_of(const mls_leaf *l, mls_leaf_view *v);
typedef struct {
    mls_leaf_reason reason;
    uint32_t index;
    const mls_leaf *leaf, *previous; /* previous: NULL when none */
    mls_span key_package;
    uint32_t sender;
    mls_span group_id;
    uint64_t epoch;
} mls_leaf_check_args;
/* Runs the application's leaf check (XW_OK when there is none); a refusal gets a sentence
 * naming the leaf and the check's own. */
int mls_group_leaf_check(const mls_group_config *cfg, const mls_leaf_check_args *a, xw_errbuf *eb);
/* Empties a report (drops its leaf references). */
void mls_commit_changes_clear(mls_commit_changes *c);
/* Empties a report and makes room for n entries. */
int mls_commit_changes_reserve(mls_commit_changes *c, size_t n, xw_errbuf *eb);
/* Appends an entry (takes references on the leaves; previous may be NULL). */
int mls_commit_changes_add(mls_commit_changes *c, mls_roster_kind kind, uint32_t index, uint32_t proposer,
                           mls_leaf *leaf, mls_leaf *previous);
int mls_commit_changes_extensions(mls_commit_changes *c, mls_span before, mls_span after, xw_errbuf *eb);

/* commit.c */
typedef struct {
    mls_proposal *p; /* borrowed */
    uint32_t sender;
    int by_ref;
    uint8_t ref[MLS_MAX_HASH];
    /* an Add whose key package the committer has just validated against the group's current
     * extensions (mls_group_commit): the list check does not verify its signatures again */
    int kp_checked;
} mls_plist_item;

/* How a proposal list is applied, and what applying it gave. */
typedef struct {
    uint32_t committer;
    /* Lenient (the committer filtering its own list): items from n_fixed on are dropped
     * (dropped[i] = 1) instead of failing the list when they are invalid, conflict with an
     * earlier item or are refused by the leaf check. Strict when dropped is NULL. */
    size_t n_fixed;
    uint8_t *dropped;
    mls_commit_changes *changes; /* filled when not NULL */
    /* results */
    uint32_t *added; /* leaf indices of the added members, in order (room for n) */
    size_t n_added;
    mls_psk *psks; /* room for n */
    size_t n_psks;
    int path_required;
} mls_apply;

/* Validates a proposal list (§12.2) and applies it (§12.3) to next (a fork of g). */
int mls_group_apply_proposals(const mls_group *g, mls_group *next, const mls_plist_item *items, size_t n,
                              mls_apply *a, xw_errbuf *eb);
/* Processes an unprotected commit into a new state (the group itself is not changed).
 * changes, when not NULL, receives what the commit changes. */
int mls_group_process_commit(mls_group *g, const mls_authenticated_content *ac, mls_group **next_out,
                             int *removed, mls_commit_changes *changes, xw_errbuf *eb);

/* Checks a proposal received on its own (before caching it). */
int mls_group_check_proposal(const mls_group *g, const mls_proposal *p, uint32_t sender, xw_errbuf *eb);

/* welcome.c */
/* Builds the Welcome for the added leaves of next (a staged state whose key schedule ran). */
int mls_group_welcome_build(const mls_group *g, const mls_group *next, const uint8_t *confirmation_tag,
                            const uint32_t *added, const mls_key_package *const *kps, size_t n_added,
                            const mls_treekem_path *path, const mls_psk *psks, size_t n_psks, xw_buf *out,
                            xw_errbuf *eb);

/* current time (config or clock) */
uint64_t mls_group_now(const mls_group *g);

/* framing context of the current epoch */
int mls_group_framing_ctx(mls_group *g, mls_framing_ctx *ctx, xw_errbuf *eb);

#ifdef XW_TESTING
/* Test builds only: when set, mls_group_commit skips the §12.2 checks (and the leaf check) of
 * its own proposal list, so that tests can produce signed but invalid commits for receivers
 * to reject. */
extern int mls_group_test_unchecked;
#else
static const int mls_group_test_unchecked = 0;
#endif

#endif
