/*
 * Streams (libxmtp's stream_messages / stream_all_messages / stream_conversations): a
 * group's messages, every group's messages, or this installation's new welcomes, as a
 * subscription that starts from the stored cursors, so the node's catch-up and its live
 * envelopes come as one ordered sequence with no gap and no duplicate at the seam.
 *
 * The client owns no thread: the caller polls. xc_stream_next waits at most timeout_ms and
 * hands out one envelope (a copy, as the node delivered it) or nothing. The caller applies
 * it, with the apply API under its own transaction (apply.h) or with xc_stream_apply.
 *
 * A stream that ends (connection dropped, node restarted, the node closing it) is reopened
 * from the last envelope handed out, after a backoff that doubles from backoff_min_ms up
 * to backoff_max_ms and is reset by the next delivery; the waits use the client's clock
 * (common/clock.h: with a manual clock nothing sleeps, and the reconnection happens once
 * the caller has advanced the clock past the backoff). Envelopes at or before the last one
 * handed out for their group are dropped, so a node that repeats itself on resubscribing
 * gives no duplicate. A subscription the node refuses (XW_EGRPC) is returned as an error.
 *
 * Cursors: the stream starts from the store's cursors when it is opened and then follows
 * what it hands out. A caller that could not store an envelope it was given closes the
 * stream and opens it again (from the store's cursors).
 */
#ifndef XW_XMTP_CLIENT_STREAM_H
#define XW_XMTP_CLIENT_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "xmtp/client/apply.h"
#include "xmtp/client/client.h"

typedef struct xc_stream xc_stream;

typedef struct {
    int backoff_min_ms; /* first wait before reconnecting; default 100 */
    int backoff_max_ms; /* longest wait; default 5000 */
} xc_stream_opts;

enum { XC_ITEM_GROUP_MESSAGE = 1, XC_ITEM_WELCOME = 2 };

/* One envelope handed out by a stream; its bytes are owned (xc_stream_item_free). */
typedef struct {
    int kind;
    xc_group_env group;     /* XC_ITEM_GROUP_MESSAGE */
    xc_welcome_env welcome; /* XC_ITEM_WELCOME */
    uint8_t *own_[5];
} xc_stream_item;

void xc_stream_item_free(xc_stream_item *it);

typedef struct {
    size_t delivered;  /* envelopes handed out */
    size_t duplicates; /* envelopes dropped because they were not after their cursor */
    size_t reconnects; /* subscriptions reopened after a stream ended or failed to open */
    size_t subscriptions;
} xc_stream_stats;

/* The messages of one group (XW_ENOTFOUND for an unknown group). o may be NULL. */
int xc_stream_open_group(xc_client *c, const uint8_t *gid, size_t len, const xc_stream_opts *o,
                         xc_stream **out, xw_errbuf *eb);
/* The messages of every active group; groups joined later are added with
 * xc_stream_add_group. */
int xc_stream_open_all(xc_client *c, const xc_stream_opts *o, xc_stream **out, xw_errbuf *eb);
/* New welcomes for this installation. */
int xc_stream_open_welcomes(xc_client *c, const xc_stream_opts *o, xc_stream **out, xw_errbuf *eb);
/* Adds a group (from its stored cursor) to a group-message stream; the subscription is
 * reopened with the new filter set, without a gap for the others. Nothing for a group
 * already in it. */
int xc_stream_add_group(xc_stream *s, const uint8_t *gid, size_t len, xw_errbuf *eb);

/* *got = 1 and *it filled with the next envelope, or *got = 0 when none came within
 * timeout_ms (or a reconnection is still waiting for its backoff). */
int xc_stream_next(xc_stream *s, int timeout_ms, xc_stream_item *it, int *got, xw_errbuf *eb);

/* Applies an item in its own transaction (for programs without their own). A welcome that
 * joins a group also adds the group to `also` when given (an all-groups stream). */
int xc_stream_apply(xc_client *c, const xc_stream_item *it, xc_stream *also, xc_events *ev, xw_errbuf *eb);

void xc_stream_stats_get(const xc_stream *s, xc_stream_stats *out);
void xc_stream_close(xc_stream *s);

#endif
