/*
 * The dev node's store: one SQLite database (WAL) holding group messages, welcomes, key
 * packages, the inbox (identity update) log, the address log and the commit log.
 *
 * Ids are INTEGER PRIMARY KEY AUTOINCREMENT columns: they increase in insertion order and
 * are never reused, across restarts. Group messages and welcomes are deduplicated on
 * SHA-256 of (group id or installation key) ‖ data, like xmtp-node-go: re-sending the same
 * bytes is skipped silently (the insert reports id 0).
 *
 * Rows handed to callbacks point into SQLite's memory and are valid only during the call.
 * Not thread-safe: the node uses it from its one loop thread.
 */
#ifndef XW_NODE_STORE_H
#define XW_NODE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct node_store node_store;

/* path ":memory:" keeps everything in memory. */
int node_store_open(const char *path, node_store **out, xw_errbuf *eb);
void node_store_close(node_store *st);

int node_store_begin(node_store *st, xw_errbuf *eb);
int node_store_commit(node_store *st, xw_errbuf *eb);
void node_store_rollback(node_store *st);

typedef struct {
    uint64_t id;
    uint64_t created_ns;
    const uint8_t *group_id;
    size_t group_id_len;
    const uint8_t *data;
    size_t data_len;
    const uint8_t *sender_hmac;
    size_t sender_hmac_len;
    int should_push;
    int is_commit;
} node_group_msg;

typedef struct {
    uint64_t id;
    uint64_t created_ns;
    int is_pointer; /* WelcomePointer: data holds welcome_pointer, metadata unused */
    const uint8_t *installation_key;
    size_t installation_key_len;
    const uint8_t *data;
    size_t data_len;
    const uint8_t *hpke_public_key;
    size_t hpke_public_key_len;
    int wrapper_algorithm;
    const uint8_t *welcome_metadata;
    size_t welcome_metadata_len;
} node_welcome;

typedef struct {
    uint64_t id;
    const uint8_t *group_id;
    size_t group_id_len;
    const uint8_t *entry;
    size_t entry_len;
    const uint8_t *sig;
    size_t sig_len;
    const uint8_t *sig_pubkey;
    size_t sig_pubkey_len;
} node_commit_entry;

/* Returns 0 to go on, non-zero to stop. */
typedef int (*node_group_msg_fn)(void *ctx, const node_group_msg *m);
typedef int (*node_welcome_fn)(void *ctx, const node_welcome *w);
typedef int (*node_commit_fn)(void *ctx, const node_commit_entry *e);

/* Inserts (within the caller's transaction, or its own). Sets m->id and m->created_ns;
 * id 0 means the same bytes were already stored. */
int node_store_group_msg_add(node_store *st, node_group_msg *m, xw_errbuf *eb);
int node_store_welcome_add(node_store *st, node_welcome *w, xw_errbuf *eb);

/* Up to `limit` rows with id > cursor (ascending) or id < cursor (descending; cursor 0 =
 * from the newest). */
int node_store_group_msgs(node_store *st, const uint8_t *group_id, size_t len, int ascending, uint64_t cursor,
                          uint32_t limit, node_group_msg_fn fn, void *ctx, xw_errbuf *eb);
int node_store_welcomes(node_store *st, const uint8_t *installation_key, size_t len, int ascending,
                        uint64_t cursor, uint32_t limit, node_welcome_fn fn, void *ctx, xw_errbuf *eb);

/* Key packages: one per installation, latest wins. */
int node_store_kp_put(node_store *st, const uint8_t *installation_key, size_t iklen, const uint8_t *kp,
                      size_t kplen, const char *inbox_id, xw_errbuf *eb);
/* Calls fn with the stored key package, or with (NULL, 0) when there is none. */
int node_store_kp_get(node_store *st, const uint8_t *installation_key, size_t iklen,
                      void (*fn)(void *ctx, const uint8_t *kp, size_t len), void *ctx, xw_errbuf *eb);

/* Inbox log. */
int node_store_inbox_count(node_store *st, const char *inbox_id, uint64_t *count, xw_errbuf *eb);
int node_store_inbox_add(node_store *st, const char *inbox_id, const uint8_t *update, size_t len,
                         uint64_t *sequence_id, uint64_t *server_ts_ns, xw_errbuf *eb);
typedef int (*node_inbox_fn)(void *ctx, uint64_t sequence_id, uint64_t server_ts_ns, const uint8_t *update,
                             size_t len);
int node_store_inbox_log(node_store *st, const char *inbox_id, uint64_t after, node_inbox_fn fn, void *ctx,
                         xw_errbuf *eb);

/* Address log: an identifier (kind + text) is associated with an inbox from a sequence id,
 * and revoked from another. */
int node_store_address_associate(node_store *st, const char *identifier, int kind, const char *inbox_id,
                                 uint64_t sequence_id, xw_errbuf *eb);
int node_store_address_revoke(node_store *st, const char *identifier, int kind, const char *inbox_id,
                              uint64_t sequence_id, xw_errbuf *eb);
/* The inbox with the latest unrevoked association, written into out (cap bytes); *found = 0
 * if none. */
int node_store_address_lookup(node_store *st, const char *identifier, int kind, char *out, size_t cap,
                              int *found, xw_errbuf *eb);

/* Commit log. */
int node_store_commit_add(node_store *st, node_commit_entry *e, xw_errbuf *eb);
int node_store_commits(node_store *st, const uint8_t *group_id, size_t len, int ascending, uint64_t cursor,
                       uint32_t limit, node_commit_fn fn, void *ctx, xw_errbuf *eb);

/* Counts for logs and tests. */
int64_t node_store_group_msg_total(node_store *st);

#endif
