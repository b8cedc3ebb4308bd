/*
 * An MLS group as one member sees it (RFC 9420 §8, §11, §12): the state machine an XMTP
 * layer drives.
 *
 * A group is created alone (mls_group_create) or joined from a Welcome (mls_group_join).
 * Messages come in through mls_group_process(), which handles application messages (of the
 * current epoch or of the last `past_epochs` ones), proposals (validated and cached for a
 * commit by reference) and commits (every §12.2 rule, the update path, the confirmation
 * tag). A received commit is not applied at once: it becomes the group's incoming commit,
 * whose roster changes the caller inspects (mls_received.changes) before it calls
 * mls_group_incoming_merge() or mls_group_incoming_discard(); mls_group_receive() does both
 * steps in one call. Own commits are staged too: mls_group_commit() returns the commit and
 * the Welcome and leaves the group in its epoch until the application calls
 * mls_group_commit_confirm() (the delivery service accepted it) or mls_group_commit_discard().
 *
 * A leaf check (mls_group_config.leaf_check) sees every leaf that enters the tree from
 * someone else: added key packages, Update proposals, the committer's UpdatePath leaf, and
 * every leaf of a tree joined from a Welcome; it can refuse any of them.
 *
 * Every operation is all-or-nothing: a message or input that is rejected (malformed, bad
 * tag, bad signature, wrong epoch or generation, invalid proposal or commit, refused by the
 * leaf check) leaves the state exactly as it was (mls_group_save() gives the same bytes
 * before and after), with a sentence in the caller's xw_errbuf. mls_group_save() and
 * mls_group_load() persist the whole state (secrets included; the caller stores it
 * protected) so that a restarted process behaves identically, a staged own commit included;
 * an incoming commit that was not merged is not part of the saved state.
 *
 * Wire-format policy: with the default (XMTP's) every handshake and application message is
 * a PrivateMessage and PublicMessage handshakes are refused; the policy can allow sending
 * and accepting PublicMessage handshakes.
 *
 * A group has one owner at a time; nothing here is thread-safe.
 */
#ifndef XW_MLS_GROUP_H
#define XW_MLS_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "mls/crypto.h"
#include "mls/keypackage.h"
#include "mls/secret_tree.h"

typedef struct mls_group mls_group;

/* The "leaf index" of proposals sent by an external sender (external_senders extension). */
#define MLS_GROUP_EXTERNAL_SENDER UINT32_MAX

/* --- leaves as the application sees them --- */

/* A LeafNode's fields; every span points into the encoded LeafNode. */
typedef struct {
    mls_span leaf_node; /* the whole encoded LeafNode */
    uint16_t credential_type;
    mls_span credential; /* the whole Credential encoding */
    mls_span identity;   /* a basic credential's identity (empty for other types) */
    mls_span signature_key;
    mls_span encryption_key;
    mls_span capabilities; /* the whole Capabilities encoding */
    mls_span extensions;   /* contents of the leaf's extensions vector */
    uint8_t source;        /* 1 key_package, 2 update, 3 commit */
} mls_leaf_view;

/* Why a leaf is shown to the leaf check. */
typedef enum {
    MLS_LEAF_ADD = 1,     /* the leaf of a key package added by an Add proposal */
    MLS_LEAF_UPDATE,      /* the new leaf of a member's Update proposal */
    MLS_LEAF_COMMIT_PATH, /* the committer's new leaf in a commit's UpdatePath */
    MLS_LEAF_JOIN,        /* a leaf of the ratchet tree of a group joined from a Welcome */
} mls_leaf_reason;

const char *mls_leaf_reason_name(mls_leaf_reason r);

typedef struct {
    mls_leaf_reason reason;
    uint32_t index;     /* the leaf index it has (add: the one it gets) */
    mls_leaf_view leaf; /* the new leaf */
    int has_previous;   /* update and commit path: the leaf it replaces is in `previous` */
    mls_leaf_view previous;
    mls_span key_package; /* add: the whole encoded KeyPackage */
    uint32_t sender;      /* who proposed or committed it (MLS_GROUP_EXTERNAL_SENDER for an
                             external sender); join: the GroupInfo's signer */
    mls_span group_id;
    uint64_t epoch; /* the epoch the change creates (join: the epoch joined) */
} mls_leaf_event;

/* Returns XW_OK to accept the leaf, or an error code with a sentence in eb to refuse it: the
 * message, commit or Welcome that brings it is rejected with that code (a retriable code,
 * e.g. XW_EUNAVAILABLE when the answer is not known yet, means "try again later"), and the
 * group is unchanged. Called synchronously; it must not call into the group. */
typedef int (*mls_leaf_check_fn)(void *arg, const mls_leaf_event *ev, xw_errbuf *eb);

typedef struct {
    int handshake_public;        /* send proposals and commits as PublicMessage (default 0) */
    int accept_public_handshake; /* accept PublicMessage proposals and commits (default 0) */
    uint32_t past_epochs;        /* epochs kept for late application messages (default 3) */
    uint32_t padding;            /* PrivateMessage content padded to a multiple of this (default 32) */
    uint32_t out_of_order;       /* secret tree window (default 5) */
    uint32_t max_forward;        /* secret tree forward distance (default 1000) */
    int ratchet_tree_in_welcome; /* put the ratchet_tree extension in GroupInfo (default 1) */
    uint64_t now;                /* current time for lifetime checks (0: the system clock) */
    int check_lifetimes;         /* refuse received Adds of expired key packages (default 1) */
    uint64_t max_lifetime;       /* refuse key packages valid for longer than this (seconds; 0: no limit) */
    int external_pub;            /* put the external_pub extension in GroupInfo (default 0) */
    /* The application's leaf check (NULL: none) and its argument. Not part of the saved state:
     * after mls_group_load set it again with mls_group_set_leaf_check. */
    mls_leaf_check_fn leaf_check;
    void *leaf_check_arg;
} mls_group_config;

/* XMTP's policy: private handshakes, 3 past epochs, ratchet tree in the Welcome. */
void mls_group_config_default(mls_group_config *c);

typedef struct {
    const uint8_t *id;
    size_t id_len;
    const uint8_t *psk;
    size_t psk_len;
} mls_external_psk;

/* Creates a one-member group from the creator's own key package (bare or in an MLSMessage)
 * and its secrets. extensions: contents of the GroupContext extensions vector (may be empty). */
int mls_group_create(const mls_group_config *cfg, const uint8_t *group_id, size_t gid_len, const uint8_t *kp,
                     size_t kp_len, const mls_key_package_secrets *kps, const uint8_t *extensions,
                     size_t ext_len, mls_group **out, xw_errbuf *eb);

/* Joins from a Welcome (bare or in an MLSMessage) for key package kp. tree: the ratchet_tree
 * extension data when the Welcome does not carry one (NULL otherwise). psks: the external
 * PSKs this client holds. */
int mls_group_join(const mls_group_config *cfg, const uint8_t *welcome, size_t w_len, const uint8_t *kp,
                   size_t kp_len, const mls_key_package_secrets *kps, const uint8_t *tree, size_t tree_len,
                   const mls_external_psk *psks, size_t n_psks, mls_group **out, xw_errbuf *eb);

void mls_group_free(mls_group *g);

/* Sets (or clears, with NULL) the leaf check of a group, e.g. after mls_group_load. */
void mls_group_set_leaf_check(mls_group *g, mls_leaf_check_fn fn, void *arg);

/* Adds an external PSK the group may be asked to inject (copied). */
int mls_group_add_external_psk(mls_group *g, const mls_external_psk *psk, xw_errbuf *eb);

/* --- own commits --- */
typedef struct {
    const uint8_t *const *add_kps; /* key packages to add (bare or MLSMessage) */
    const size_t *add_lens;
    size_t n_add;
    const uint32_t *remove; /* leaf indices */
    size_t n_remove;
    const mls_external_psk *const *psks; /* external PSKs to inject (must be known to the group) */
    size_t n_psks;
    const uint8_t *gce; /* new GroupContext extensions (contents), or NULL */
    size_t gce_len;
    int include_pending; /* also commit the cached proposals by reference (filtered, see below) */
    int no_path;         /* omit the path when allowed (default: always send one) */
} mls_commit_opts;

/* Builds a commit (MLSMessage appended to commit_out) and, when members are added, a Welcome
 * (MLSMessage appended to welcome_out), and stages the new epoch. Fails with XW_ESTATE when
 * a commit is already staged or an incoming commit awaits its merge.
 *
 * The proposals given in o (by value) must be valid together: a conflict among them, or one
 * refused by the leaf check, fails the commit. The cached proposals (include_pending) are
 * filtered as RFC 9420 §12.2 asks instead: for one leaf, a Remove wins over Updates and the
 * latest Update over older ones; a second Add of the same client (signature key), an Add of
 * a client already in the group that is not being removed, a second PreSharedKey of the same
 * PSK, a second GroupContextExtensions (o's own, else the latest, wins), a proposal that
 * conflicts with one of o's, an Update of this member or a Remove of it, and any proposal
 * that is invalid on its own or refused by the leaf check are left out. Left-out proposals
 * stay cached until the epoch ends. */
int mls_group_commit(mls_group *g, const mls_commit_opts *o, xw_buf *commit_out, xw_buf *welcome_out,
                     xw_errbuf *eb);
/* The staged commit was accepted: move to its epoch. */
int mls_group_commit_confirm(mls_group *g, xw_errbuf *eb);
/* The staged commit was rejected (or lost a race): forget it. */
void mls_group_commit_discard(mls_group *g);
int mls_group_has_staged_commit(const mls_group *g);
/* The ratchet tree of the staged epoch (for a Welcome sent without the extension). */
int mls_group_staged_tree(const mls_group *g, xw_buf *out);

/* A proposal as a message (for commits by reference): Remove of a leaf, or Add. */
int mls_group_propose_remove(mls_group *g, uint32_t leaf, xw_buf *out, xw_errbuf *eb);
int mls_group_propose_add(mls_group *g, const uint8_t *kp, size_t kp_len, xw_buf *out, xw_errbuf *eb);
/* An Update proposal with a fresh encryption key for this member's leaf, for another member
 * to commit (a member cannot commit its own Update; it sends an empty commit instead). The
 * new private key is kept until a commit applies the proposal or the epoch ends. */
int mls_group_propose_update(mls_group *g, xw_buf *out, xw_errbuf *eb);

/* --- messages --- */
int mls_group_send(mls_group *g, const uint8_t *data, size_t n, xw_buf *out, xw_errbuf *eb);

typedef enum {
    MLS_RECEIVED_APPLICATION = 1,
    MLS_RECEIVED_PROPOSAL,
    MLS_RECEIVED_COMMIT,
} mls_received_kind;

/* One change to the roster made by a commit. */
typedef enum {
    MLS_ROSTER_ADDED = 1,
    MLS_ROSTER_REMOVED,
    MLS_ROSTER_UPDATED, /* an Update proposal, or the committer's UpdatePath leaf */
} mls_roster_kind;

typedef struct {
    mls_roster_kind kind;
    uint32_t index;         /* leaf index (added: the one it got) */
    uint32_t proposer;      /* who proposed it (MLS_GROUP_EXTERNAL_SENDER: an external sender);
                               for the committer's path leaf, the committer */
    mls_leaf_view leaf;     /* added, updated: the new leaf; removed: the leaf removed */
    mls_leaf_view previous; /* updated: the leaf replaced */
} mls_roster_change;

/* What a commit changes, in the order RFC 9420 §12.3 applies it: Updates, Removes, Adds,
 * then the committer's own new leaf. Every span stays valid until the mls_received it is
 * part of is reused or freed, whatever happens to the group. */
typedef struct {
    uint32_t committer;
    uint64_t epoch; /* the epoch the commit creates */
    mls_roster_change *entries;
    size_t n;
    size_t n_added, n_removed, n_updated;
    int extensions_changed;                       /* a GroupContextExtensions proposal was committed */
    mls_span extensions_before, extensions_after; /* contents of the extensions vectors */
    int removes_self;                             /* this member is removed */
    /* private */
    void **held_;
    size_t n_held_, cap_;
    xw_buf ext_;
} mls_commit_changes;

typedef struct {
    mls_received_kind kind;
    uint32_t sender;            /* leaf index */
    uint64_t epoch;             /* epoch the message was sent in */
    xw_buf data;                /* application data */
    int removed;                /* a commit removed this member; the group is inactive (once merged) */
    int own_commit;             /* the staged own commit came back and was confirmed */
    int incoming;               /* mls_group_process: the commit awaits mls_group_incoming_merge/discard */
    mls_commit_changes changes; /* a commit of another member: what it changes */
} mls_received;

void mls_received_init(mls_received *r);
void mls_received_free(mls_received *r);

/* Processes one MLSMessage (PublicMessage or PrivateMessage) for this group. Application
 * messages and proposals are taken at once. A commit of another member is fully checked
 * (every leaf it brings passes the leaf check), described in out->changes and kept aside as
 * the group's incoming commit (out->incoming = 1); the group stays in its epoch, and saves
 * as before, until mls_group_incoming_merge(). Our own staged commit coming back is confirmed
 * at once (out->own_commit). While an incoming commit waits, processing, sending, proposing
 * and committing fail with XW_ESTATE. */
int mls_group_process(mls_group *g, const uint8_t *msg, size_t n, mls_received *out, xw_errbuf *eb);
/* Applies the incoming commit: the group moves to its epoch (a staged own commit for the same
 * epoch is dropped: the other one won). XW_ESTATE when there is none. */
int mls_group_incoming_merge(mls_group *g, xw_errbuf *eb);
/* Drops the incoming commit; the group is exactly as before mls_group_process. */
void mls_group_incoming_discard(mls_group *g);
int mls_group_has_incoming(const mls_group *g);

/* mls_group_process, then mls_group_incoming_merge when a commit came in. */
int mls_group_receive(mls_group *g, const uint8_t *msg, size_t n, mls_received *out, xw_errbuf *eb);

/* --- information --- */
uint64_t mls_group_epoch(const mls_group *g);
const uint8_t *mls_group_epoch_authenticator(const mls_group *g, size_t *len);
const uint8_t *mls_group_id(const mls_group *g, size_t *len);
uint32_t mls_group_own_leaf(const mls_group *g);
const mls_suite *mls_group_suite(const mls_group *g);
int mls_group_active(const mls_group *g);
/* Number of leaf slots (members are the non-blank ones). */
uint32_t mls_group_leaf_count(const mls_group *g);
/* The basic-credential identity of a member; 0 when the leaf is blank. */
int mls_group_member(const mls_group *g, uint32_t leaf, mls_span *identity);
/* The GroupContext extensions (contents of the vector). */
mls_span mls_group_extensions(const mls_group *g);
/* The ratchet_tree extension data of the current epoch. */
int mls_group_tree(const mls_group *g, xw_buf *out);
int mls_group_export_secret(const mls_group *g, const char *label, const uint8_t *ctx, size_t ctx_len,
                            uint8_t *out, size_t L, xw_errbuf *eb);

/* --- persistence --- */
int mls_group_save(const mls_group *g, xw_buf *out);
int mls_group_load(const uint8_t *p, size_t n, mls_group **out, xw_errbuf *eb);

#endif
