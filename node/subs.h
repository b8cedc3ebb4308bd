/*
 * Subscriptions of the dev node: SubscribeGroupMessages and SubscribeWelcomeMessages.
 *
 * A subscription is one streaming call with a list of filters (a topic key — group id or
 * installation key — and an id cursor). Each filter first catches up from the store
 * (ascending pages read only when the call's outbound buffer has drained, so a long backlog
 * never sits in memory), then goes live: messages published afterwards are pushed to it at
 * once. The node runs on one thread and a message is committed to the store before it is
 * published here, so the switch from catch-up to live has no gap and no duplicate: a filter
 * still catching up ignores live messages (it will read them from the store), and every
 * filter remembers the last id it sent and never sends an id at or below it.
 *
 * A live subscriber whose outbound buffer is full (it does not read) is ended with ABORTED,
 * like xmtp-node-go ("caller did not read all messages fast enough").
 *
 * Loop thread only.
 */
#ifndef XW_NODE_SUBS_H
#define XW_NODE_SUBS_H

#include <stddef.h>
#include <stdint.h>

#include "node/server.h"

typedef struct node_subs node_subs;

/* Reads up to `limit` stored messages with id > cursor for `key`, ascending, and hands each,
 * already serialized for the stream, to emit(); emit returns non-zero to stop early.
 * Returns XW_OK or an error. */
typedef int (*node_subs_emit_fn)(void *e, uint64_t id, const uint8_t *msg, size_t len);
typedef int (*node_subs_fetch_fn)(void *ctx, const uint8_t *key, size_t klen, uint64_t cursor, uint32_t limit,
                                  node_subs_emit_fn emit, void *e);

typedef struct {
    const uint8_t *key;
    size_t key_len;
    uint64_t cursor;
} node_sub_filter;

/* Filters in one request, filters open on one connection (all its subscriptions), and
 * bytes in a key (a group id or an installation key). */
#define NODE_SUBS_MAX_FILTERS 10000
#define NODE_SUBS_MAX_CONN_FILTERS 50000
#define NODE_SUBS_MAX_KEY 256

node_subs *node_subs_new(const char *name, node_subs_fetch_fn fetch, void *fetch_ctx);
void node_subs_free(node_subs *s);

/* Starts a subscription on `call` (the filters are copied; duplicate keys are merged, the
 * smallest cursor wins). INVALID_ARGUMENT past the per-request limits, RESOURCE_EXHAUSTED
 * past the connection's filter count or memory budget. */
int node_subs_open(node_subs *s, node_call *call, const node_sub_filter *f, size_t n, node_status *st);

/* A message with this id was stored under key: deliver it to live subscribers. */
void node_subs_publish(node_subs *s, const uint8_t *key, size_t klen, uint64_t id, const uint8_t *msg,
                       size_t len);

/* Open subscriptions; safe to call from any thread (a snapshot). */
size_t node_subs_count(const node_subs *s);
/* The longest chain of the index's hash table ever seen (tests: the hash is keyed, so
 * chosen keys do not collide); safe to call from any thread. */
size_t node_subs_longest_chain(const node_subs *s);

#endif
