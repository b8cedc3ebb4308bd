/*
 * Internals of the client shared by its files: the client handle, a group loaded into
 * memory, and the helpers each part offers the others. Tests may include it; nothing
 * outside xmtp/client/ should.
 *
 *   client.c    handle, registration of the installation, the call API's glue
 *   keypkg.c    key packages as libxmtp builds them, rotation, lookup for welcomes
 *   assoc.c     association states of inboxes at a sequence id (node log + cache)
 *   xmeta.c     XMTP's GroupContext extensions (metadata, membership, permissions)
 *   group.c     loading, rostering and saving a group
 *   welcome.c   welcomes: unwrap, join, validate, store
 *   apply.c     applying one group message envelope (the apply API and sync), events
 *   sync.c      group messages: fetch pages, one transaction per page; quarantine
 *   commit.c    validation of others' commits
 *   policy.c    permission policies of a commit
 *   transcript.c  GroupUpdated transcripts (encoding, storing)
 *   send.c      sending text, intents, publishing
 *   intent.c    our own commits as intents: build, publish, merge on echo, retry
 *   members.c   groups we create, adding and removing members
 */
#ifndef XW_XMTP_CLIENT_CLIENT_INT_H
#define XW_XMTP_CLIENT_CLIENT_INT_H

#include "mls/group.h"
#include "mls/keypackage.h"
#include "xmtp/association.h"
#include "xmtp/client/apply.h"
#include "xmtp/client/client.h"
#include "xmtp/installation.h"

/* MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519, libxmtp's only group suite. */
#define XC_SUITE 0x0003

/* libxmtp constants (XMTP-PROTOCOL.md §3.3, §3.4). */
#define XC_KP_LIFETIME_S (84 * 86400)         /* openmls default: 3 x 28 days */
#define XC_KP_BACKDATE_S 3600                 /* not_before one hour back */
#define XC_KP_KEEP_NS (86400 * XW_NS_PER_SEC) /* superseded private keys kept a day */

#define XC_CHECKED_SLOTS 32
#define XC_INSTALLATIONS_CHECK_NS                                                                            \
    (5 * XW_NS_PER_SEC) /* libxmtp SEND_MESSAGE_UPDATE_INSTALLATIONS_INTERVAL_NS */

struct xc_client {
    xc_store *st;
    xc_node *node;
    const xw_clock *clock;
    char inbox_id[XC_INBOX_LEN + 1];
    char address[43];
    xmtp_installation_key *ikey;
    uint8_t installation_id[XC_INSTALLATION_LEN];
    const mls_suite *suite;
    mls_sig_priv sig; /* the installation key as an MLS signature key */
    struct {          /* when each group's installations were last checked before a send */
        uint8_t gid[XC_GROUP_ID_MAX];
        size_t len;
        int64_t at_ns;
    } checked[XC_CHECKED_SLOTS];
    size_t checked_next;
};

int64_t xc_now(const xc_client *c);

/* --- keypkg.c --- */
/* Builds, stores and uploads a new key package, superseding the older ones. */
int xc_kp_rotate(xc_client *c, xw_errbuf *eb);
/* The key package a welcome was wrapped to (by its HPKE public key), decoded, with the
 * secrets to join with and the private key to unwrap with (32 bytes: X25519 init key or
 * X-Wing seed, by alg). */
typedef struct {
    mls_key_package *kp;
    xw_buf raw; /* the key package bytes */
    mls_key_package_secrets sec;
    uint8_t wrap_sk[32];
} xc_kp_keys;
int xc_kp_keys_for(xc_client *c, const uint8_t *hpke_pub, size_t len, int alg, xc_kp_keys *out,
                   xw_errbuf *eb);
void xc_kp_keys_free(xc_kp_keys *k);
/* Builds (does not store) a libxmtp-shaped key package for inbox/installation key `sig`:
 * for tests and for the peer helper. wrap_seed: 32-byte X-Wing seed or NULL for none. */
int xc_kp_build(const mls_suite *s, const mls_sig_priv *sig, const char *inbox_id, const uint8_t *wrap_seed,
                int64_t now_ns, xw_buf *out, mls_key_package_secrets *sec, xw_errbuf *eb);

/* --- assoc.c --- */
/* The association state of inbox exactly at sequence id seq (the log must have an entry
 * with that id; XW_EXMTP_SEQUENCE otherwise), fetching the log from the node when the store
 * does not have it. Caller frees *out. */
int xc_assoc_at(xc_client *c, const char *inbox, uint64_t seq, xmtp_assoc_state **out, xw_errbuf *eb);
/* The latest state known to the node (refreshes the stored log first). */
int xc_assoc_latest(xc_client *c, const char *inbox, xmtp_assoc_state **out, xw_errbuf *eb);

/* --- xmeta.c: views of a group's GroupContext extensions --- */
#define XC_EXT_IMMUTABLE_METADATA 0xf000
#define XC_EXT_MUTABLE_METADATA 0xff00
#define XC_EXT_GROUP_MEMBERSHIP 0xff01
#define XC_EXT_GROUP_PERMISSIONS 0xff02

typedef struct {
    int conversation_type; /* XC_CONV_* */
    char creator_inbox_id[XC_INBOX_LEN + 1];
    int has_dm;
    char dm[2][XC_INBOX_LEN + 1];
} xc_meta_immutable;

#define XC_META_MAX_ATTRS 64
#define XC_META_MAX_ADMINS 256
typedef struct {
    size_t n_attrs;
    struct {
        char *key, *value;
    } attrs[XC_META_MAX_ATTRS];
    size_t n_admins, n_super;
    char *admins[XC_META_MAX_ADMINS], *super_admins[XC_META_MAX_ADMINS];
    void *pb_; /* the decoded protobuf that owns the strings */
} xc_meta_mutable;

#define XC_META_MAX_INBOXES 1024
typedef struct {
    size_t n;
    xc_inbox_row *inboxes; /* owned */
    size_t n_failed;
    uint8_t (*failed)[XC_INSTALLATION_LEN]; /* owned */
} xc_meta_membership;

/* Each decodes its extension from the contents of a GroupContext extensions vector;
 * XW_EMALFORMED (with the reason) when it is missing or not what libxmtp writes. */
int xc_meta_immutable_get(const uint8_t *exts, size_t len, xc_meta_immutable *out, xw_errbuf *eb);
int xc_meta_mutable_get(const uint8_t *exts, size_t len, xc_meta_mutable *out, xw_errbuf *eb);
void xc_meta_mutable_free(xc_meta_mutable *m);
const char *xc_meta_attr(const xc_meta_mutable *m, const char *key);
int xc_meta_is_admin(const xc_meta_mutable *m, const char *inbox);
int xc_meta_is_super_admin(const xc_meta_mutable *m, const char *inbox);
int xc_meta_membership_get(const uint8_t *exts, size_t len, xc_meta_membership *out, xw_errbuf *eb);
void xc_meta_membership_free(xc_meta_membership *m);
/* The sequence id of inbox in the map; 0 (and *found 0) when absent. */
uint64_t xc_meta_membership_seq(const xc_meta_membership *m, const char *inbox, int *found);
/* 1 when the installation is listed as failed. */
int xc_meta_membership_failed(const xc_meta_membership *m, const uint8_t id[XC_INSTALLATION_LEN]);

/* Encoders, for groups we create (and the tests' peers). */
typedef struct {
    int conversation_type;
    const char *creator_inbox_id;
    const char *dm_other;    /* DMs: the other member */
    const char *name;        /* group_name attribute ("" by default) */
    const char *description; /* with image_url: when either is set, the three attributes
                                libxmtp writes (name, description, image URL; "" if unset) */
    const char *image_url;
    int admins_only;            /* permissions: the AdminsOnly preset (else Default) */
    const char *const *members; /* inbox ids in the membership map */
    const uint64_t *seqs;
    size_t n_members;
} xc_meta_new_group;
/* The contents of a new group's GroupContext extensions vector (0xf000, 0xff00, 0xff01,
 * 0xff02, required_capabilities), as libxmtp's build_group_config writes them. */
int xc_meta_group_extensions(const xc_meta_new_group *g, xw_buf *out, xw_errbuf *eb);
/* Replaces (or adds) one extension in an extensions vector's contents. */
int xc_meta_replace_ext(const uint8_t *exts, size_t len, uint16_t type, const uint8_t *data, size_t dlen,
                        xw_buf *out, xw_errbuf *eb);
int xc_meta_membership_encode(const char *const *inboxes, const uint64_t *seqs, size_t n, xw_buf *out,
                              xw_errbuf *eb);
/* The same, with installations listed as failed (bad or missing key packages). */
int xc_meta_membership_encode_failed(const char *const *inboxes, const uint64_t *seqs, size_t n,
                                     const uint8_t (*failed)[XC_INSTALLATION_LEN], size_t n_failed,
                                     xw_buf *out, xw_errbuf *eb);
/* A 0xff00 payload with the given attributes and lists. */
int xc_meta_mutable_encode(const char *const *keys, const char *const *values, size_t n_attrs,
                           const char *const *admins, size_t n_admins, const char *const *supers,
                           size_t n_supers, xw_buf *out, xw_errbuf *eb);

/* The inbox id in a BasicCredential identity (an MlsCredential protobuf). */
int xc_inbox_from_credential(const uint8_t *identity, size_t len, char out[XC_INBOX_LEN + 1], xw_errbuf *eb);
/* The BasicCredential identity for an inbox (MlsCredential{inbox_id}). */
int xc_credential_for_inbox(const char *inbox_id, xw_buf *out, xw_errbuf *eb);

/* --- group.c --- */
typedef struct {
    xc_group_row row;
    mls_group *mls;
    xc_member_row *members; /* roster of the current epoch, by leaf */
    size_t n_members;
    xc_meta_membership membership;
} xc_group;

void xc_group_init(xc_group *g);
void xc_group_release(xc_group *g);
/* Loads a stored group and its MLS state. XW_ENOTFOUND for an unknown group. */
int xc_group_load(xc_client *c, const uint8_t *gid, size_t len, xc_group *g, xw_errbuf *eb);
/* Recomputes the roster, membership map and metadata views from g->mls. XW_EMALFORMED
 * when a leaf's credential or an extension is not XMTP's. */
int xc_group_refresh(xc_group *g, xw_errbuf *eb);
/* Writes the MLS state, row and roster (inside the caller's transaction). */
int xc_group_save(xc_client *c, xc_group *g, xw_errbuf *eb);
/* The roster of an MLS group: one row per non-blank leaf. */
int xc_roster(const mls_group *g, xc_member_row **out, size_t *n, xw_errbuf *eb);
const xc_member_row *xc_group_member_at(const xc_group *g, uint32_t leaf);
/* Checks every leaf against its inbox's association state at the sequence id recorded in
 * the membership map, and that every expected installation is present unless listed as
 * failed (libxmtp's check_initial_membership). */
int xc_group_check_membership(xc_client *c, const xc_member_row *m, size_t n, const xc_meta_membership *ms,
                              xw_errbuf *eb);

/* --- quarantine (sync.c) --- */
int xc_quarantine(xc_client *c, const char *kind, const uint8_t *gid, size_t gid_len, uint64_t cursor,
                  int64_t created_ns, int err, const char *reason, const uint8_t *data, size_t len,
                  xw_errbuf *eb);

/* --- apply.c --- */
/* Applies envelopes to one loaded group, keeping the MLS state saved before the envelope
 * being applied (to put it back when the envelope is refused). */
typedef struct {
    xc_client *c;
    xc_group *g;
    xw_buf snap;
    xc_sync_stats *stats; /* may be NULL */
    xc_events *ev;        /* may be NULL: no events recorded */
    int own_merged;       /* apply_commit: the commit was our own staged one */
} xc_applier;
int xc_applier_init(xc_applier *a, xc_client *c, xc_group *g, xc_sync_stats *stats, xc_events *ev,
                    xw_errbuf *eb);
void xc_applier_free(xc_applier *a);
/* Applies one envelope inside the open transaction (does not save the group: the caller
 * does, once per envelope or per page). *applied = 0 when it was skipped (id not after the
 * cursor, group inactive). Permanent failures are quarantined and return XW_OK; any other
 * code means the transaction must be rolled back and the group reloaded. */
int xc_applier_apply(xc_applier *a, const xc_group_env *e, int *applied, xw_errbuf *eb);
/* XW_ESTATE unless the caller has a transaction open on the client's connection. */
int xc_in_caller_tx(xc_client *c, xw_errbuf *eb);
/* Appends a zeroed event (group, cursor, time, epoch filled in); NULL with *rc = XW_OK when
 * ev is NULL, NULL with *rc = XW_ENOMEM / XW_ELIMIT on failure. */
xc_event *xc_event_push(xc_events *ev, xc_event_kind kind, const uint8_t *gid, size_t gid_len,
                        uint64_t cursor, int64_t sent_at_ns, uint64_t epoch, int *rc);
/* Frees the events after the first n. */
void xc_events_truncate(xc_events *e, size_t n);

/* --- welcome.c --- */
int xc_welcome_apply(xc_client *c, const xc_welcome_env *w, uint8_t *gid, size_t *gid_len, xw_errbuf *eb);

/* --- commit.c and transcript.c --- */
/* Validates a commit already applied to `next` (a copy of `cur`'s group) and builds the
 * GroupUpdated transcript (EncodedContent bytes appended to transcript; empty when the
 * commit changed nothing libxmtp reports). actor_leaf: the committer. */
int xc_commit_validate(xc_client *c, const xc_group *cur, const xc_group *next, uint32_t actor_leaf,
                       xw_buf *transcript, char actor_inbox[XC_INBOX_LEN + 1], xw_errbuf *eb);
/* The EncodedContent of a GroupUpdated (xmtp.org/group_updated:1.0). */
typedef struct {
    const char *initiated_by;
    const char *const *added;
    size_t n_added;
    const char *const *removed;
    size_t n_removed;
    const char *const *field_names, *const *old_values, *const *new_values; /* NULL value = absent */
    size_t n_fields;
    const char *const *added_admins, *const *removed_admins, *const *added_supers, *const *removed_supers;
    size_t n_added_admins, n_removed_admins, n_added_supers, n_removed_supers;
} xc_group_updated;
int xc_group_updated_encode(const xc_group_updated *u, xw_buf *out, xw_errbuf *eb);
/* Stores a GroupUpdated transcript message (kind membership change, published). */
int xc_transcript_store(xc_client *c, const uint8_t *gid, size_t gid_len, const uint8_t *ec, size_t ec_len,
                        const char *idempotency_key, int64_t sent_at_ns, const char *sender_inbox,
                        const uint8_t *sender_installation, uint64_t cursor, uint64_t epoch, xw_errbuf *eb);

/* --- policy.c --- */
typedef struct {
    const char *inbox_id;
    int is_admin, is_super_admin; /* in the group before the commit */
} xc_policy_actor;
typedef struct {
    xc_policy_actor actor;
    const char *const *added;
    size_t n_added;
    const char *const *removed;
    const int *removed_is_super_admin;
    size_t n_removed;
    const char *const *fields; /* metadata fields whose value changes */
    size_t n_fields;
    size_t admins_added, admins_removed, supers_added, supers_removed;
    size_t supers_left;        /* super admins after the commit */
    const char *dm_members[2]; /* DMs only */
} xc_policy_commit;
/* XW_EDENIED (with who may not do what) when the group's permissions before the commit
 * (cur_exts) do not allow it; XW_EMALFORMED for an unusable policy set. */
int xc_policy_evaluate(const uint8_t *cur_exts, size_t cur_len, const uint8_t *next_exts, size_t next_len,
                       const xc_policy_commit *pc, xw_errbuf *eb);

/* --- intent.c: our own commits --- */
#define XC_COMMIT_ATTEMPTS 3 /* builds of one commit intent when others' commits win the epoch */
#define XC_INTENT_LOST_RACE "another member's commit won epoch"
/* What a commit intent commits, for the epoch the group is in. add_installations[i]: the
 * installation of o.add_kps[i] (its welcome goes there). */
typedef struct {
    mls_commit_opts o;
    const uint8_t (*add_installations)[XC_INSTALLATION_LEN];
    int nothing_to_do; /* the plan found nothing to change: no commit */
} xc_commit_plan;
/* Fills a plan for group g (called once per attempt; ctx owns what the plan points at). */
typedef int (*xc_commit_plan_fn)(xc_client *c, xc_group *g, void *ctx, xc_commit_plan *plan, xw_errbuf *eb);
/* Syncs, builds, stores, publishes and reads back one commit (the lifecycle in intent.c);
 * XW_OK once it is merged and its welcomes are sent. */
int xc_commit_intent(xc_client *c, const uint8_t *gid, size_t len, int kind, xc_commit_plan_fn fn, void *ctx,
                     xw_errbuf *eb);
/* Sends the welcomes of merged commit intents (state committed) and marks them done. */
int xc_intent_post_commits(xc_client *c, const uint8_t *gid, size_t len, xw_errbuf *eb);
/* Marks the group's unmerged commit intents lost: another commit made epoch `epoch`. */
int xc_intent_lost_race(xc_client *c, const uint8_t *gid, size_t len, uint64_t epoch, xw_errbuf *eb);

/* --- members.c --- */
#define XC_GROUP_KEY_ROTATION_NS                                                                             \
    ((int64_t)30 * 86400 * XW_NS_PER_SEC) /* libxmtp GROUP_KEY_ROTATION_INTERVAL_NS */
/* A self-update commit (libxmtp's KeyUpdate intent) when the group's key is older than 30
 * days; a group joined from a welcome starts at 0, so its first send rotates. */
int xc_group_key_update_if_due(xc_client *c, const uint8_t *gid, size_t len, xw_errbuf *eb);
/* xc_group_update_installations when this group's were last checked 5 s ago or more. */
int xc_group_installations_check(xc_client *c, const uint8_t *gid, size_t len, xw_errbuf *eb);

/* --- send.c --- */
/* Recognises one of our own payloads by its hash: marks the intent done and the message
 * published at `cursor`, dated `created_ns` (the node's time). *ours = 1 when it was ours. */
int xc_send_own_echo(xc_client *c, const uint8_t *data, size_t len, uint64_t cursor, int64_t created_ns,
                     int *ours, xw_errbuf *eb);

#endif
