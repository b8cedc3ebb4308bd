/*
 * The apply API: the way into the client for a pipeline that owns its transactions (the
 * worker, docs/architecture.md "Data flow in the worker"). The caller fetches envelopes
 * itself (a stream, a query), BEGINs a transaction on the client's connection
 * (xc_store_db(xc_client_store(c)), or xc_store_begin), applies one envelope, writes its own
 * rows (the outbox) for the events it got back, and COMMITs: group state, cursor, messages,
 * transcripts, quarantine records and the caller's rows change together or not at all.
 *
 * xc_group_sync and xc_client_sync_welcomes use the same per-envelope code (apply.c,
 * welcome.c); they only add the paging and the transactions.
 *
 *   xc_events ev;
 *   xc_store_begin(st, &eb);
 *   rc = xc_apply_group_message(c, &env, &res, &ev, &eb);   (or xc_apply_welcome)
 *   ... the caller's rows for ev.ev[0..ev.n) ...
 *   rc == XW_OK ? xc_store_commit(st, &eb) : xc_store_rollback(st);
 *   xc_events_free(&ev);
 *
 * Outcomes: XW_OK when the envelope was applied, skipped (already applied: its id is not
 * after the group's cursor; or the group is inactive) or quarantined (a permanent failure:
 * a QUARANTINE event says why, the cursor moved past it, the MLS state is unchanged). Any
 * other code is retriable (XW_EDB, node errors from association lookups) or fatal; the
 * caller must then ROLLBACK, since rows may have been written. After a ROLLBACK nothing of
 * the envelope remains (the client keeps no group state in memory between calls), and
 * applying it again gives the same result and the same events.
 *
 * The client never begins, commits or rolls back in this path; XW_ESTATE when no
 * transaction is open. Commit validation may fetch identity updates from the node inside
 * the caller's transaction.
 */
#ifndef XW_XMTP_CLIENT_APPLY_H
#define XW_XMTP_CLIENT_APPLY_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "xmtp/client/client.h"
#include "xmtp/client/node.h"
#include "xmtp/client/store.h"
#include "xmtp/content.h"

typedef enum {
    XC_EVENT_MESSAGE = 1,   /* an application message (another member's, or ours from another
                               installation) */
    XC_EVENT_OWN_PUBLISHED, /* one of this installation's messages seen on the node */
    XC_EVENT_MEMBERSHIP,    /* a commit added, removed or saw leave inboxes */
    XC_EVENT_METADATA,      /* a commit changed metadata fields (name, description, ...) */
    XC_EVENT_ADMINS,        /* a commit changed the admin or super admin lists */
    XC_EVENT_PERMISSIONS,   /* a commit changed the group's permission policies (0xff02) */
    XC_EVENT_REMOVED,       /* a commit removed us: the group is now inactive */
    XC_EVENT_JOINED,        /* a welcome: we joined the group */
    XC_EVENT_QUARANTINE,    /* the envelope was refused (reason kept in the quarantine table) */
} xc_event_kind;

/* Inbox ids (owned). */
typedef struct {
    size_t n;
    char **v;
} xc_inbox_list;

typedef struct {
    char *name;
    char *old_value, *new_value; /* NULL when absent */
} xc_field_change;

typedef struct {
    xc_event_kind kind;
    uint8_t group_id[XC_GROUP_ID_MAX]; /* empty for a quarantined welcome */
    size_t group_id_len;
    uint64_t cursor;    /* the envelope's id (group message id, or welcome id for JOINED and
                           welcome quarantines) */
    int64_t sent_at_ns; /* the node's time of the envelope */
    uint64_t epoch;     /* the group's epoch after the envelope */
    /* MESSAGE and OWN_PUBLISHED: the message id; commit events and JOINED: the id of the
     * GroupUpdated transcript stored for them (all zero when none was stored) */
    uint8_t message_id[32];
    /* MESSAGE: the sender; commit events: the committer; JOINED: the inviter */
    char sender_inbox_id[XC_INBOX_LEN + 1];
    uint8_t sender_installation_id[XC_INSTALLATION_LEN];
    /* MESSAGE */
    char content_type[XC_CONTENT_TYPE_MAX];
    uint8_t *encoded; /* the EncodedContent bytes */
    size_t encoded_len;
    char *text;                         /* text/markdown, else the fallback; NULL when none */
    xmtp_content *content;              /* decoded content; NULL for unknown or malformed types */
    xc_inbox_list added, removed, left; /* MEMBERSHIP */
    xc_inbox_list added_admins, removed_admins, added_supers, removed_supers; /* ADMINS */
    size_t n_fields;                                                          /* METADATA */
    xc_field_change *fields;
    /* QUARANTINE */
    int error; /* the xw_err code */
    char reason[512];
} xc_event;

typedef struct {
    size_t n;
    xc_event *ev;
} xc_events;

void xc_events_free(xc_events *e);

typedef struct {
    int applied;     /* 1: applied or quarantined; 0: skipped (already applied, group inactive) */
    uint64_t cursor; /* the group's cursor afterwards */
    uint64_t epoch;  /* the group's epoch afterwards */
    int active;      /* 0 once we were removed */
} xc_apply_result;

/*
 * Applies one group message envelope (e->group_id names the group, e->id is its cursor,
 * e->data the bytes as the node delivered them) inside the caller's transaction. *ev is
 * reset and filled (free with xc_events_free, also after an error). res may be NULL.
 * XW_ENOTFOUND for a group the store does not know (nothing written).
 */
int xc_apply_group_message(xc_client *c, const xc_group_env *e, xc_apply_result *res, xc_events *ev,
                           xw_errbuf *eb);

/*
 * Applies one welcome envelope inside the caller's transaction: the group is joined and
 * stored (JOINED, with the "added" transcript) or the welcome quarantined (QUARANTINE);
 * the welcome cursor moves past it either way. A welcome whose id is not after the
 * welcome cursor is skipped. The joined group's history is NOT fetched: the caller
 * applies its messages from the group's cursor (gid/gid_len say which group; gid_len 0
 * when nothing was joined; gid holds XC_GROUP_ID_MAX bytes, may be NULL).
 */
int xc_apply_welcome(xc_client *c, const xc_welcome_env *w, uint8_t *gid, size_t *gid_len, xc_events *ev,
                     xw_errbuf *eb);

#endif
