/*
 * The client's store: one SQLite file per installation (WAL), the C counterpart of
 * libxmtp's encrypted store. docs/client.md describes every table; the schema is versioned
 * with PRAGMA user_version and brought up to date on open by the migrations in store.c (a
 * file from a newer program is refused, never downgraded).
 *
 * Functions take an open store and either read (rows are copied out; blobs go to caller
 * buffers) or write inside the caller's transaction: the client wraps each unit of work
 * (one welcome, one page of group messages) in xc_store_begin/commit so that group state,
 * cursor, messages and quarantine records change together or not at all.
 *
 * Errors: XW_EDB (retriable: busy, I/O) or XW_ECORRUPT (the file is damaged) with SQLite's
 * message; XW_ENOTFOUND for a missing row where the function says so. One connection, one
 * thread at a time; the connection waits up to 10 s on a locked file.
 */
#ifndef XW_XMTP_CLIENT_STORE_H
#define XW_XMTP_CLIENT_STORE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

#define XC_STORE_SCHEMA_VERSION 2
#define XC_GROUP_ID_MAX 64 /* libxmtp uses 16 bytes; longer ids are refused */
#define XC_INBOX_LEN 64
#define XC_INSTALLATION_LEN 32
#define XC_CONTENT_TYPE_MAX 256

typedef struct xc_store xc_store;

int xc_store_open(const char *path, xc_store **out, xw_errbuf *eb);
void xc_store_close(xc_store *st);
/* The connection, for callers that write their own rows in the same transaction (the
 * worker's outbox). */
sqlite3 *xc_store_db(xc_store *st);

int xc_store_begin(xc_store *st, xw_errbuf *eb); /* BEGIN IMMEDIATE */
int xc_store_commit(xc_store *st, xw_errbuf *eb);
void xc_store_rollback(xc_store *st);

/* --- identity: one row --- */
typedef struct {
    char inbox_id[XC_INBOX_LEN + 1];
    char address[43];   /* the wallet address that created or joined the inbox ("0x" lowercase) */
    uint64_t nonce;     /* inbox nonce */
    xw_buf install_key; /* keystore blob (xmtp/keystore.h), secret */
    uint8_t installation_id[XC_INSTALLATION_LEN];
    int registered; /* the identity update that names this installation was published */
    int64_t created_ns;
} xc_identity_row;

void xc_identity_row_init(xc_identity_row *r);
void xc_identity_row_free(xc_identity_row *r);
/* XW_ENOTFOUND on a fresh file. */
int xc_store_identity_get(xc_store *st, xc_identity_row *out, xw_errbuf *eb);
int xc_store_identity_put(xc_store *st, const xc_identity_row *r, xw_errbuf *eb);

/* --- key packages and their private keys --- */
typedef struct {
    int64_t id;
    xw_buf key_package; /* the TLS KeyPackage as uploaded */
    xw_buf init_pub;    /* HPKE init key */
    xw_buf wrap_pub;    /* 0xff03 X-Wing public key (empty when none) */
    xw_buf secrets;     /* init_priv || enc_priv || xwing seed (secret) */
    int64_t created_ns;
    int64_t not_after_ns;
    int64_t delete_after_ns; /* 0 while current; set when superseded */
    int uploaded;
} xc_kp_row;

void xc_kp_row_init(xc_kp_row *r);
void xc_kp_row_free(xc_kp_row *r);
int xc_store_kp_insert(xc_store *st, const xc_kp_row *r, int64_t *id, xw_errbuf *eb);
int xc_store_kp_mark_uploaded(xc_store *st, int64_t id, xw_errbuf *eb);
/* Finds the key package whose init key or X-Wing key is `hpke_pub`; XW_ENOTFOUND if none. */
int xc_store_kp_find(xc_store *st, const uint8_t *hpke_pub, size_t len, xc_kp_row *out, xw_errbuf *eb);
/* The newest uploaded key package; XW_ENOTFOUND if none. */
int xc_store_kp_current(xc_store *st, xc_kp_row *out, xw_errbuf *eb);
/* Every key package older than id still current gets delete_after_ns = at. */
int xc_store_kp_supersede_before(xc_store *st, int64_t id, int64_t at, xw_errbuf *eb);
/* Deletes key packages whose delete_after_ns has passed; *n = how many. */
int xc_store_kp_purge(xc_store *st, int64_t now_ns, int *n, xw_errbuf *eb);

/* --- cursors (welcomes of this installation, per entity) --- */
int xc_store_cursor_get(xc_store *st, const char *entity, uint64_t *out, xw_errbuf *eb);
int xc_store_cursor_set(xc_store *st, const char *entity, uint64_t v, xw_errbuf *eb);

/* --- groups --- */
enum { XC_CONV_GROUP = 1, XC_CONV_DM = 2, XC_CONV_SYNC = 3, XC_CONV_ONESHOT = 4 };
enum { XC_MEMBERSHIP_ALLOWED = 1, XC_MEMBERSHIP_REJECTED = 2, XC_MEMBERSHIP_PENDING = 3 };
enum { XC_CONSENT_UNKNOWN = 0, XC_CONSENT_ALLOWED = 1, XC_CONSENT_DENIED = 2 };

typedef struct {
    uint8_t id[XC_GROUP_ID_MAX];
    size_t id_len;
    int64_t created_ns;
    int conversation_type;
    int membership_state;
    int consent;
    int active; /* 0 once we were removed */
    char creator_inbox_id[XC_INBOX_LEN + 1];
    char added_by_inbox_id[XC_INBOX_LEN + 1];
    uint8_t added_by_installation[XC_INSTALLATION_LEN];
    char dm_id[140]; /* "dm:a:b" for DMs, "" otherwise */
    uint64_t welcome_id;
    uint64_t cursor; /* last group message applied (or skipped into quarantine) */
    uint64_t epoch;
    int64_t rotated_at_ns;
    int64_t last_message_ns;
    xw_buf state;                        /* mls_group_save() bytes (secret) */
    xw_buf name, description, image_url; /* metadata views (UTF-8, no NUL) */
    xw_buf admins, super_admins;         /* inbox ids separated by one space */
} xc_group_row;

void xc_group_row_init(xc_group_row *r);
void xc_group_row_free(xc_group_row *r);
/* Inserts or replaces the whole row. */
int xc_store_group_put(xc_store *st, const xc_group_row *r, xw_errbuf *eb);
/* XW_ENOTFOUND when the group is unknown. */
int xc_store_group_get(xc_store *st, const uint8_t *id, size_t len, xc_group_row *out, xw_errbuf *eb);
int xc_store_group_exists(xc_store *st, const uint8_t *id, size_t len, int *yes, xw_errbuf *eb);
/* Only the cursor (for an envelope that was quarantined without a state change). */
int xc_store_group_set_cursor(xc_store *st, const uint8_t *id, size_t len, uint64_t cursor, xw_errbuf *eb);
typedef int (*xc_group_fn)(void *ctx, const xc_group_row *r);
/* Every group, oldest first (state not loaded). */
int xc_store_group_each(xc_store *st, xc_group_fn fn, void *ctx, xw_errbuf *eb);

/* The roster (one row per leaf) and the GroupMembership map (inbox -> sequence id). */
typedef struct {
    uint32_t leaf;
    char inbox_id[XC_INBOX_LEN + 1];
    uint8_t installation_id[XC_INSTALLATION_LEN];
    uint64_t since_epoch; /* the first epoch in which this leaf held this installation (0: unknown) */
} xc_member_row;
typedef struct {
    char inbox_id[XC_INBOX_LEN + 1];
    uint64_t sequence_id;
} xc_inbox_row;
int xc_store_members_replace(xc_store *st, const uint8_t *gid, size_t gid_len, const xc_member_row *m,
                             size_t n, const xc_inbox_row *inboxes, size_t n_inboxes, xw_errbuf *eb);
/* Reads the roster into a new array (free with xw_free). */
int xc_store_members_get(xc_store *st, const uint8_t *gid, size_t gid_len, xc_member_row **out, size_t *n,
                         xw_errbuf *eb);

/* --- messages --- */
enum { XC_KIND_APPLICATION = 1, XC_KIND_MEMBERSHIP_CHANGE = 2 };
enum { XC_DELIVERY_UNPUBLISHED = 1, XC_DELIVERY_PUBLISHED = 2, XC_DELIVERY_FAILED = 3 };

typedef struct {
    uint8_t id[32];
    const uint8_t *group_id;
    size_t group_id_len;
    char sender_inbox_id[XC_INBOX_LEN + 1];
    uint8_t sender_installation_id[XC_INSTALLATION_LEN];
    int kind;
    char content_type[XC_CONTENT_TYPE_MAX]; /* "authority/type:major.minor" */
    const uint8_t *encoded;                 /* EncodedContent bytes */
    size_t encoded_len;
    const char *decoded; /* text or fallback; NULL when none */
    size_t decoded_len;
    int delivery;
    int64_t sent_at_ns, inserted_at_ns;
    uint64_t cursor; /* the envelope's id; 0 until our own message is seen published */
    uint64_t epoch;
} xc_message_row;

/* Inserts unless a message with that id exists (*inserted says which). */
int xc_store_message_insert(xc_store *st, const xc_message_row *m, int *inserted, xw_errbuf *eb);
/* sent_at_ns: the node's time for a published message (libxmtp re-dates its own messages
 * to the envelope's timestamp); 0 keeps the stored one. */
int xc_store_message_set_delivery(xc_store *st, const uint8_t id[32], int delivery, uint64_t cursor,
                                  int64_t sent_at_ns, xw_errbuf *eb);
typedef int (*xc_message_fn)(void *ctx, const xc_message_row *m);
/* A group's messages ordered by sent_at_ns then insertion; limit 0 = all. */
int xc_store_message_each(xc_store *st, const uint8_t *gid, size_t gid_len, size_t limit, xc_message_fn fn,
                          void *ctx, xw_errbuf *eb);

/* --- intents --- */
/* kinds: a text message, and commits (libxmtp's KeyUpdate and UpdateGroupMembership) */
enum { XC_INTENT_SEND_MESSAGE = 1, XC_INTENT_KEY_UPDATE = 2, XC_INTENT_UPDATE_MEMBERSHIP = 3 };
/* states; a commit intent goes to_publish -> published -> committed (merged on its echo,
 * welcomes not sent yet) -> done, or to error (refused, or another commit won its epoch) */
enum {
    XC_INTENT_TO_PUBLISH = 1,
    XC_INTENT_PUBLISHED = 2,
    XC_INTENT_DONE = 3,
    XC_INTENT_ERROR = 4,
    XC_INTENT_COMMITTED = 5
};

typedef struct {
    int64_t id;
    uint8_t group_id[XC_GROUP_ID_MAX];
    size_t group_id_len;
    int kind, state, attempts;
    xw_buf payload; /* the MLSMessage to publish */
    uint8_t payload_hash[32];
    uint8_t message_id[32];
    int64_t created_ns;
    char error[256];
    xw_buf post_commit; /* commits: the welcome and its recipients (intent.c), empty if none */
    uint64_t cursor;    /* commits: the envelope id of the commit on the node, once merged */
} xc_intent_row;

void xc_intent_row_init(xc_intent_row *r);
void xc_intent_row_free(xc_intent_row *r);
int xc_store_intent_insert(xc_store *st, const xc_intent_row *r, int64_t *id, xw_errbuf *eb);
int xc_store_intent_set_state(xc_store *st, int64_t id, int state, int attempts, const char *error,
                              xw_errbuf *eb);
/* A merged commit intent: state committed (or done), with the commit's cursor. */
int xc_store_intent_set_committed(xc_store *st, int64_t id, int state, uint64_t cursor, xw_errbuf *eb);
/* The intent that published payload_hash (XW_ENOTFOUND if none). */
int xc_store_intent_by_hash(xc_store *st, const uint8_t hash[32], xc_intent_row *out, xw_errbuf *eb);
typedef int (*xc_intent_fn)(void *ctx, const xc_intent_row *r);
/* A group's intents in the given state, oldest first. */
int xc_store_intent_each(xc_store *st, const uint8_t *gid, size_t gid_len, int state, xc_intent_fn fn,
                         void *ctx, xw_errbuf *eb);

/* --- quarantine --- */
typedef struct {
    const char *kind; /* "group_message" or "welcome" */
    const uint8_t *group_id;
    size_t group_id_len;
    uint64_t cursor;
    int64_t created_ns; /* the envelope's */
    const char *error;  /* xw_errname */
    const char *reason; /* the sentence */
    const uint8_t *data;
    size_t len;
} xc_quarantine_row;
int xc_store_quarantine_add(xc_store *st, const xc_quarantine_row *q, int64_t now_ns, xw_errbuf *eb);
int xc_store_quarantine_count(xc_store *st, const char *kind, int64_t *n, xw_errbuf *eb);
typedef int (*xc_quarantine_fn)(void *ctx, const xc_quarantine_row *q);
int xc_store_quarantine_each(xc_store *st, xc_quarantine_fn fn, void *ctx, xw_errbuf *eb);

/* --- identity logs and association-state cache --- */
int xc_store_idlog_add(xc_store *st, const char *inbox_id, uint64_t seq, uint64_t server_ns,
                       const uint8_t *update, size_t len, xw_errbuf *eb);
int xc_store_idlog_max(xc_store *st, const char *inbox_id, uint64_t *seq, xw_errbuf *eb);
typedef int (*xc_idlog_fn)(void *ctx, uint64_t seq, const uint8_t *update, size_t len);
/* Entries with sequence id <= up_to, ascending. */
int xc_store_idlog_each(xc_store *st, const char *inbox_id, uint64_t up_to, xc_idlog_fn fn, void *ctx,
                        xw_errbuf *eb);
int xc_store_assoc_get(xc_store *st, const char *inbox_id, uint64_t seq, xw_buf *state, uint64_t *updates,
                       xw_errbuf *eb);
int xc_store_assoc_put(xc_store *st, const char *inbox_id, uint64_t seq, const uint8_t *state, size_t len,
                       uint64_t updates, xw_errbuf *eb);

#endif
