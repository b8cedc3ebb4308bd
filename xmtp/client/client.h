/*
 * The XMTP client: one installation of an inbox, the C counterpart of libxmtp's Client and
 * MlsGroup. It registers (or reopens) an installation, keeps key packages on the node,
 * joins groups from welcomes, applies group messages (decrypting, validating, storing) and
 * sends text, with everything it knows in one SQLite file (xmtp/client/store.h,
 * docs/client.md).
 *
 * Call API: xc_client_create / xc_client_open, then xc_client_sync_welcomes, xc_group_sync,
 * xc_group_send_text... Each call does its network round trips through the node ops
 * (xmtp/client/node.h) and its writes in short transactions; nothing runs in the
 * background and the client owns no thread. Time comes from the clock in the options.
 *
 * Bad input from the network never stops a sync: a welcome or group message that fails to
 * decode, decrypt or validate is recorded in the quarantine table with the reason, the
 * cursor moves past it and the group state stays exactly as it was. Retriable failures
 * (node unreachable, database busy) stop the call with a retriable code and leave cursors
 * where they were, so the next call picks up from there.
 *
 * A client is used by one thread at a time.
 */
#ifndef XW_XMTP_CLIENT_CLIENT_H
#define XW_XMTP_CLIENT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/err.h"
#include "xmtp/client/node.h"
#include "xmtp/client/store.h"
#include "xmtp/wallet.h"

typedef struct xc_client xc_client;

typedef struct {
    const char *db_path;   /* the installation's SQLite file (created by xc_client_create) */
    xc_node *node;         /* borrowed; must outlive the client */
    const xw_clock *clock; /* NULL: the real clock */
    uint64_t nonce;        /* inbox nonce when a new inbox is created (0 here means 1, the SDKs' default) */
} xc_client_opts;

/* Most installations an inbox may have (libxmtp's MAX_INSTALLATIONS_PER_INBOX). */
#define XC_MAX_INSTALLATIONS 10

/*
 * Opens db_path, creating the installation when the file holds none: a new Ed25519
 * installation key, a key package uploaded, and an identity update published that either
 * creates the wallet's inbox (CreateInbox + AddAssociation) or, when the node already knows
 * an inbox for the wallet's address, adds this installation to it (refused with XW_ELIMIT
 * at XC_MAX_INSTALLATIONS). A file whose identity exists is reopened as with
 * xc_client_open (the wallet must be the one it was created with), finishing a
 * registration that was interrupted.
 */
int xc_client_create(const xc_client_opts *o, const xmtp_wallet *w, xc_client **out, xw_errbuf *eb);
/* Opens an existing installation; XW_ENOTFOUND when the file holds none. */
int xc_client_open(const xc_client_opts *o, xc_client **out, xw_errbuf *eb);
void xc_client_free(xc_client *c);

const char *xc_client_inbox_id(const xc_client *c);
const uint8_t *xc_client_installation_id(const xc_client *c); /* 32 bytes */
xc_store *xc_client_store(xc_client *c);

/* Makes and uploads a new key package; the previous ones stay usable for a day. */
int xc_client_rotate_key_package(xc_client *c, xw_errbuf *eb);

typedef struct {
    size_t welcomes;    /* welcomes looked at */
    size_t joined;      /* groups joined */
    size_t quarantined; /* welcomes refused (see the quarantine table) */
} xc_welcome_stats;

/* Fetches the installation's welcomes after the stored cursor, joins every valid one (and
 * syncs the new group's history), then rotates the key package if any was used. */
int xc_client_sync_welcomes(xc_client *c, xc_welcome_stats *stats, xw_errbuf *eb);

typedef struct {
    size_t envelopes;     /* envelopes fetched */
    size_t messages;      /* application messages stored */
    size_t commits;       /* commits applied */
    size_t own_published; /* own messages seen on the node */
    size_t quarantined;   /* envelopes refused */
} xc_sync_stats;

/* Applies a group's messages after its cursor, page by page, until the node has no more;
 * then publishes its queued intents. XW_ENOTFOUND for an unknown group. */
int xc_group_sync(xc_client *c, const uint8_t *gid, size_t len, xc_sync_stats *stats, xw_errbuf *eb);
/* Welcomes, then every group. */
int xc_client_sync_all(xc_client *c, xc_sync_stats *stats, xw_errbuf *eb);

/*
 * Sends text to a group as libxmtp does: the EncodedContent (xmtp.org/text:1.0) in a
 * PlaintextEnvelope.V1 with idempotency key = decimal send time, encrypted for the current
 * epoch. The message is stored at once as `unpublished` with its id (message_id, 32
 * bytes), an intent is queued and published; the message becomes `published` when the next
 * sync sees it on the node. XW_ESTATE when we are no longer a member of the group.
 */
int xc_group_send_text(xc_client *c, const uint8_t *gid, size_t len, const char *text, uint8_t message_id[32],
                       xw_errbuf *eb);
/* --- groups we run (xmtp/client/members.c, docs/client.md "Membership") --- */
typedef enum { XC_PRESET_DEFAULT = 0, XC_PRESET_ADMINS_ONLY = 1 } xc_policy_preset;
typedef struct {
    xc_policy_preset preset;                    /* libxmtp's "all members" default, or AdminsOnly */
    const char *name, *description, *image_url; /* NULL: "" (libxmtp's defaults) */
} xc_group_opts;

/* A new group with only this installation in it, with the GroupContext extensions libxmtp's
 * create_group builds (immutable metadata with the creator, mutable metadata with the
 * options and this inbox as sole super admin, the membership map with this inbox at its
 * latest sequence id, the preset's permissions, required capabilities). gid: 16 random
 * bytes. XW_ELIMIT when a metadata value is over libxmtp's limit. */
int xc_group_create(xc_client *c, const xc_group_opts *o, uint8_t gid[16], xw_errbuf *eb);

#define XC_MAX_GROUP_SIZE 250 /* inboxes (libxmtp MAX_GROUP_SIZE) */
#define XC_ADD_MAX 64         /* inboxes per add call */
typedef struct {
    size_t inboxes_added;        /* inboxes with at least one installation added */
    size_t installations_added;  /* installations given a welcome */
    size_t installations_failed; /* with a bad or missing key package (those of added inboxes
                                    are listed as failed in the membership map) */
    size_t n_errors;             /* inboxes not added (none of their installations worked) */
    struct {
        size_t index; /* into the caller's list */
        int err;
        char reason[256];
    } errors[XC_ADD_MAX];
} xc_add_result;

/* Adds inboxes (already-present ones are skipped) in one commit: their latest association
 * states, every installation's key package fetched and verified (signature, lifetime,
 * capabilities, credential = the inbox and the installation key), Adds + the new membership
 * map; the commit goes through the intent lifecycle (synced, published, merged on its echo,
 * rebuilt when another commit wins the epoch), then each added installation gets its
 * welcome with the commit's cursor. An inbox none of whose installations worked is
 * reported in res->errors and not added; the others are. XW_ENOTFOUND when no inbox could
 * be added; XW_ELIMIT over XC_MAX_GROUP_SIZE. */
int xc_group_add_members(xc_client *c, const uint8_t *gid, size_t len, const char *const *inboxes, size_t n,
                         xc_add_result *res, xw_errbuf *eb);
/* The same for wallet addresses ("0x" + 40 hex digits), each resolved with GetInboxIds; an
 * address without an inbox is reported in res->errors (index into `addresses`). */
int xc_group_add_members_by_address(xc_client *c, const uint8_t *gid, size_t len,
                                    const char *const *addresses, size_t n, xc_add_result *res,
                                    xw_errbuf *eb);
/* Removes inboxes (every installation of each, and the inbox from the membership map) in one
 * commit. XW_EDENIED for a super admin (libxmtp forbids removing one), XW_EINVAL for our own
 * inbox, XW_ENOTFOUND for an inbox that is not a member. */
int xc_group_remove_members(xc_client *c, const uint8_t *gid, size_t len, const char *const *inboxes,
                            size_t n, xw_errbuf *eb);

/* libxmtp's update_installations: brings every member inbox of the membership map to its
 * latest identity sequence id, adding its new installations (key packages verified) and
 * removing the revoked ones, in one commit; nothing when no sequence id moved. Also run
 * before a message, at most every 5 s per group. */
int xc_group_update_installations(xc_client *c, const uint8_t *gid, size_t len, xw_errbuf *eb);

/* Publishes every queued intent of a group (the retry path of a failed publish). */
int xc_group_publish(xc_client *c, const uint8_t *gid, size_t len, xw_errbuf *eb);

#endif
