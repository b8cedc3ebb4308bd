/*
 * A test peer for the client's unit tests: another XMTP installation, written with the C
 * engine's lower layers, that behaves on the wire like libxmtp: it registers an inbox,
 * creates groups with libxmtp's GroupContext extensions, adds members by their key
 * packages (one commit: Adds + the new membership map), sends X-Wing-wrapped welcomes with
 * the commit's cursor, sends text and changes metadata. It talks to the fake node through
 * the same ops as the client. It is a fixture: any failure prints why and aborts.
 */
#ifndef XW_TESTS_XC_PEER_H
#define XW_TESTS_XC_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "xmtp/client/client.h"
#include "xmtp/client/node.h"
#include "xmtp/wallet.h"

typedef struct xc_peer xc_peer;

xc_peer *xc_peer_new(xc_node *node, const xw_clock *clock);
void xc_peer_free(xc_peer *p);
const char *xc_peer_inbox(const xc_peer *p);
const uint8_t *xc_peer_installation(const xc_peer *p);
/* The inbox's latest identity-log sequence id on the node. */
uint64_t xc_peer_latest_seq(xc_peer *p, const char *inbox);

/* A new group with only the peer in it. */
void xc_peer_create_group(xc_peer *p, const char *name);
const uint8_t *xc_peer_group_id(const xc_peer *p, size_t *len);
/* Adds the installation's current key package (from the fake node) in one commit with the
 * new membership map; publishes the commit, then the welcome (cursor = the commit's id).
 * Returns the commit's id. */
uint64_t xc_peer_add(xc_peer *p, const char *inbox, const uint8_t installation[32]);
/* Like xc_peer_add, with the membership map's sequence id for that inbox given. */
uint64_t xc_peer_add_at(xc_peer *p, const char *inbox, const uint8_t installation[32], uint64_t seq);
/* Removes every installation of inbox, in one commit with the new membership map. */
uint64_t xc_peer_remove(xc_peer *p, const char *inbox);
/* Sends text; returns the envelope id and the libxmtp message id. */
uint64_t xc_peer_send_text(xc_peer *p, const char *text, uint8_t msg_id[32]);
/* Commits a whole new mutable metadata (attributes and admin lists). */
uint64_t xc_peer_set_mutable(xc_peer *p, const char *const *keys, const char *const *values, size_t n,
                             const char *const *admins, size_t n_admins, const char *const *supers,
                             size_t n_supers);
/* Commits a new group_name. */
uint64_t xc_peer_set_name(xc_peer *p, const char *name);
/* Processes everything on the node for the group after its cursor (own commits confirmed,
 * others applied); returns the texts received, joined by '\n', in a static buffer. */
const char *xc_peer_sync(xc_peer *p);
/* An application message encrypted for the group but not published (for crafted tests). */
void xc_peer_encrypt(xc_peer *p, const uint8_t *plain, size_t len, uint8_t **out, size_t *out_len);

/* The fixture the client's sync, apply and stream tests share: a fake node on a manual
 * clock, a bot (a C client with its store in a fresh temporary directory) and alice (a
 * peer). xc_fixture_setup(state, tag) is a cmocka setup (directory /tmp/xc-TAG-XXXXXX);
 * xc_fixture_teardown frees everything and removes the directory. */
typedef struct {
    char dir[64];
    char path[128];
    xw_clock *clock;
    xc_node *node;
    xmtp_wallet *wallet;
    xc_client *bot;
    xc_peer *alice;
} xc_fixture;
int xc_fixture_setup(void **state, const char *tag);
int xc_fixture_teardown(void **state);
/* Moves the fixture's clock one second on. */
void xc_fixture_tick(xc_fixture *f);

#endif
