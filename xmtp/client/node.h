/*
 * The XMTP node as the client sees it: an ops table (STYLE.md #10) with two implementations,
 * the real v3 node over gRPC (xmtp/api.h) and an in-memory fake for unit tests and fuzzing.
 *
 * The ops speak in small C structs, not protobufs, so the fake needs no codec and the client
 * code has one shape for envelopes wherever they come from. Pages and logs returned by an op
 * own their memory; free them with xc_page_free / xc_idlog_free.
 *
 * Errors: a node that cannot be reached, is busy or rate-limits us gives a retriable code
 * (XW_ENETWORK, XW_EUNAVAILABLE, XW_EAGAIN, XW_ETIMEOUT); a request the node refuses gives
 * XW_EGRPC (permanent) with the node's message. Nodes are used from one thread at a time.
 */
#ifndef XW_XMTP_CLIENT_NODE_H
#define XW_XMTP_CLIENT_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"

typedef struct {
    const uint8_t *p;
    size_t len;
} xc_bytes;

/* A stored group message (GroupMessage.V1). */
typedef struct {
    uint64_t id; /* the node's sequence id: the group cursor */
    uint64_t created_ns;
    xc_bytes group_id;
    xc_bytes data; /* a TLS MLSMessage */
    int is_commit;
} xc_group_env;

/* A stored welcome (WelcomeMessage.V1, or a WelcomePointer we do not resolve). */
typedef struct {
    uint64_t id; /* the welcome cursor of this installation */
    uint64_t created_ns;
    int is_pointer;
    int wrapper_algorithm; /* WelcomeWrapperAlgorithm */
    xc_bytes installation_key, data, hpke_public_key, metadata;
} xc_welcome_env;

/* One page of a query, ascending ids. */
typedef struct {
    size_t n;
    xc_group_env *groups;     /* QueryGroupMessages */
    xc_welcome_env *welcomes; /* QueryWelcomeMessages */
    void *owner_;
    void (*release_)(void *owner);
} xc_page;

void xc_page_free(xc_page *p);

/* An inbox's identity log (IdentityUpdateLog entries, ascending sequence ids). */
typedef struct {
    uint64_t sequence_id;
    uint64_t server_ns;
    uint8_t *update; /* serialized IdentityUpdate (owned) */
    size_t len;
} xc_idlog_entry;

typedef struct {
    size_t n;
    xc_idlog_entry *e;
} xc_idlog;

void xc_idlog_free(xc_idlog *l);
/* A copy of n bytes that is never NULL for n == 0 (one byte allocated, nothing read). */
uint8_t *xc_bytes_dup(const void *p, size_t n);
int xc_idlog_add(xc_idlog *l, uint64_t seq, uint64_t server_ns, const uint8_t *update, size_t len);

/* Largest page a query asks for (the node's own maximum). */
#define XC_PAGE_MAX 100

/* A subscription filter: a group id (group messages) or an installation key (welcomes),
 * and the last id the subscriber has; the node sends what it holds after the cursor, then
 * new envelopes as they arrive (node-go's and xmtp-devnode's catch-up on subscribe). */
typedef struct {
    const uint8_t *key;
    size_t len;
    uint64_t cursor;
} xc_sub_filter;

/* An open subscription (the implementation's own state). */
typedef struct xc_sub xc_sub;

typedef struct {
    /* QueryGroupMessages, ascending, ids > after_id, at most limit (<= XC_PAGE_MAX). */
    int (*query_group)(void *ctx, const uint8_t *group_id, size_t gid_len, uint64_t after_id, uint32_t limit,
                       xc_page *out, xw_errbuf *eb);
    /* QueryWelcomeMessages for an installation key, ascending, ids > after_id. */
    int (*query_welcomes)(void *ctx, const uint8_t *installation_key, size_t len, uint64_t after_id,
                          uint32_t limit, xc_page *out, xw_errbuf *eb);
    /* SendGroupMessages: each msgs[i] is a TLS MLSMessage. */
    int (*send_group)(void *ctx, const xc_bytes *msgs, size_t n, xw_errbuf *eb);
    /* UploadKeyPackage (a bare TLS KeyPackage; is_inbox_id_credential = true). */
    int (*upload_key_package)(void *ctx, const uint8_t *kp, size_t len, xw_errbuf *eb);
    /* PublishIdentityUpdate (a serialized IdentityUpdate). */
    int (*publish_identity_update)(void *ctx, const uint8_t *update, size_t len, xw_errbuf *eb);
    /* GetIdentityUpdates for one inbox: entries with sequence ids > after_seq (appended). */
    int (*get_identity_updates)(void *ctx, const char *inbox_id, uint64_t after_seq, xc_idlog *out,
                                xw_errbuf *eb);
    /* GetInboxIds for one Ethereum address ("0x" + 40 lowercase hex digits): *found = 1 and
     * the inbox id in out when the address belongs to an inbox. */
    int (*get_inbox_id)(void *ctx, const char *address, char out[65], int *found, xw_errbuf *eb);
    /* FetchKeyPackages for one installation key: the TLS KeyPackage appended to out;
     * XW_ENOTFOUND when the node has none for it. */
    int (*fetch_key_package)(void *ctx, const uint8_t *installation_key, size_t len, xw_buf *out,
                             xw_errbuf *eb);
    /* SendWelcomeMessages with one WelcomeMessageInput.V1 (id and created_ns unused). */
    int (*send_welcome)(void *ctx, const xc_welcome_env *w, xw_errbuf *eb);
    /* SubscribeGroupMessages (welcomes 0) or SubscribeWelcomeMessages (welcomes 1) with these
     * filters (copied). Opening does not wait for the node: a node that cannot be reached
     * shows in sub_next. */
    int (*subscribe)(void *ctx, int welcomes, const xc_sub_filter *f, size_t n, xc_sub **out, xw_errbuf *eb);
    /* Waits at most timeout_ms for envelopes and returns those that arrived (out->n may be 0
     * on timeout), ascending per filter. An ended stream (dropped, node restarted, closed by
     * the node) gives a retriable code, or XW_EGRPC when the node refused the subscription;
     * the subscription is then dead and must be closed. */
    int (*sub_next)(void *ctx, xc_sub *s, int timeout_ms, xc_page *out, xw_errbuf *eb);
    void (*sub_close)(void *ctx, xc_sub *s);
    void (*destroy)(void *ctx);
} xc_node_ops;

typedef struct {
    const xc_node_ops *ops;
    void *ctx;
} xc_node;

/* Frees a node made by one of the constructors below (NULL is fine). */
void xc_node_free(xc_node *n);

/* The real node at url ("http://127.0.0.1:5556", "https://grpc.dev.xmtp.network:443"). */
int xc_node_api_new(const char *url, xc_node **out, xw_errbuf *eb);

/*
 * The fake: an in-memory v3 node with node-go's query semantics (one id sequence for group
 * messages, one for welcomes, one for identity updates; ascending pages; duplicate payloads
 * skipped). It checks no signature or MLS syntax: tests that need validation use the real
 * node. created_ns comes from clock (kept, not owned).
 */
int xc_node_fake_new(const xw_clock *clock, xc_node **out, xw_errbuf *eb);

/* Test hooks on the fake. */
/* Stores a welcome as if another client had sent it; returns its id in *id. */
int xc_node_fake_add_welcome(xc_node *n, const xc_welcome_env *w, uint64_t *id, xw_errbuf *eb);
/* Stores a group message as if another client had sent it (group id given, not parsed). */
int xc_node_fake_add_group_message(xc_node *n, const uint8_t *group_id, size_t gid_len, const uint8_t *data,
                                   size_t len, int is_commit, uint64_t *id, xw_errbuf *eb);
/* The last key package uploaded for an installation key (NULL when none; valid until the
 * next upload). */
const uint8_t *xc_node_fake_key_package(xc_node *n, const uint8_t *installation_key, size_t len,
                                        size_t *kp_len);
/* Makes the next `count` calls fail with err (a retriable code simulates an outage). */
void xc_node_fake_fail_next(xc_node *n, int err, unsigned count);
/* Streams: the next subscription delivery that would go past `after` more envelopes (over
 * all subscriptions) ends the stream instead, as a dropped connection (XW_ENETWORK). */
void xc_node_fake_stream_drop_after(xc_node *n, size_t after);
/* On every later subscribe, the fake also resends `n` envelopes at or before each filter's
 * cursor (a node that repeats itself at the seam). */
void xc_node_fake_stream_replay(xc_node *n, size_t count);
/* Subscriptions opened so far. */
size_t xc_node_fake_subscriptions(const xc_node *n);
/* Number of group messages stored (all groups). */
size_t xc_node_fake_group_message_count(const xc_node *n);

#endif
