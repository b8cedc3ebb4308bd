/*
 * Association state of an inbox (docs/protocol.md §4.4): who belongs to it (addresses and
 * installations), its recovery address and the signatures already used, computed by folding
 * the inbox's identity updates in sequence order.
 *
 * xmtp_assoc_state_apply() verifies every signature of one update against the update's
 * signature text, then applies its actions with libxmtp's rules:
 *   - CreateInbox only on an empty state, signed by the identifier it creates the inbox for;
 *     the inbox id must be SHA-256(address || nonce); the recovery address is that address.
 *   - AddAssociation: the new member signs for itself; the other signature comes from a
 *     current member or the recovery address; nobody adds itself; an installation may not
 *     add an installation; signature kinds match roles; chain ids match.
 *   - RevokeAssociation: signed by the recovery address; removes the member and every
 *     installation it added.
 *   - ChangeRecoveryAddress: signed by the current recovery address.
 *   - A signature (in canonical form) used by an earlier update is refused as a replay.
 *   - The update's inbox id must be the state's.
 * Smart-contract wallets, passkeys and legacy delegated keys are decoded and refused with
 * their own error codes: they need chain access or keys this project does not handle.
 *
 * Atomic: on any error the state is unchanged and the errbuf says which action failed and
 * why. Not thread-safe: one owner at a time (clone it to share a snapshot).
 */
#ifndef XMTP_ASSOCIATION_H
#define XMTP_ASSOCIATION_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "xmtp/identity_update.h"

#define XMTP_ASSOC_MAX_MEMBERS 1024
#define XMTP_ASSOC_MAX_SEEN 8192

typedef struct {
    xmtp_member_id id;
    int has_added_by;
    xmtp_member_id added_by;
    int has_timestamp;
    uint64_t client_timestamp_ns;
    int has_chain_id;
    uint64_t chain_id;
} xmtp_member;

typedef struct xmtp_assoc_state xmtp_assoc_state;

/* The state of inbox_id before its first update ("not created"). */
int xmtp_assoc_state_new(const char *inbox_id, xmtp_assoc_state **out, xw_errbuf *eb);
void xmtp_assoc_state_free(xmtp_assoc_state *st);
int xmtp_assoc_state_clone(const xmtp_assoc_state *st, xmtp_assoc_state **out, xw_errbuf *eb);

/* Decodes one serialized IdentityUpdate and applies it (see above). */
int xmtp_assoc_state_apply(xmtp_assoc_state *st, const uint8_t *update, size_t len, xw_errbuf *eb);
/* The same for an update already in memory. */
int xmtp_assoc_state_apply_idu(xmtp_assoc_state *st, const xmtp_idu *u, xw_errbuf *eb);
/* Applies the update the node stored under sequence_id, which must be above the last one
 * applied (XW_EXMTP_SEQUENCE otherwise). */
int xmtp_assoc_state_apply_at(xmtp_assoc_state *st, uint64_t sequence_id, const uint8_t *update, size_t len,
                              xw_errbuf *eb);

typedef struct {
    uint64_t sequence_id;
    const uint8_t *data;
    size_t len;
} xmtp_idu_log_entry;

/* Folds a log (ascending sequence ids) into a new state, stopping after the last entry whose
 * sequence id is <= up_to (UINT64_MAX for the whole log): the state at that sequence id. */
int xmtp_assoc_state_from_log(const char *inbox_id, const xmtp_idu_log_entry *log, size_t n, uint64_t up_to,
                              xmtp_assoc_state **out, xw_errbuf *eb);

/* Queries. */
int xmtp_assoc_state_created(const xmtp_assoc_state *st);
const char *xmtp_assoc_state_inbox_id(const xmtp_assoc_state *st);
/* The recovery identifier; NULL before creation. */
const xmtp_member_id *xmtp_assoc_state_recovery(const xmtp_assoc_state *st);
size_t xmtp_assoc_state_member_count(const xmtp_assoc_state *st);
/* Members in the order they were added. */
const xmtp_member *xmtp_assoc_state_member_at(const xmtp_assoc_state *st, size_t i);
const xmtp_member *xmtp_assoc_state_find(const xmtp_assoc_state *st, const xmtp_member_id *id);
/* 1 when pk is an installation of the inbox in this state. */
int xmtp_assoc_state_has_installation(const xmtp_assoc_state *st, const uint8_t pk[XMTP_ED25519_PK_LEN]);
size_t xmtp_assoc_state_seen_count(const xmtp_assoc_state *st);
/* Sequence id of the last update applied with _apply_at (0 if none), and updates applied. */
uint64_t xmtp_assoc_state_sequence_id(const xmtp_assoc_state *st);
size_t xmtp_assoc_state_update_count(const xmtp_assoc_state *st);

/* Members of `to` missing from `from` (added) and of `from` missing from `to` (removed), in
 * member order: what changed between two states of one inbox, e.g. which installations a
 * group must add or remove. Free with xmtp_assoc_diff_free. */
typedef struct {
    size_t n_added, n_removed;
    xmtp_member_id *added, *removed;
} xmtp_assoc_diff;
int xmtp_assoc_state_diff(const xmtp_assoc_state *from, const xmtp_assoc_state *to, xmtp_assoc_diff *out,
                          xw_errbuf *eb);
void xmtp_assoc_diff_free(xmtp_assoc_diff *d);

/* Storage: the state as an xmtp.identity.associations.AssociationState protobuf (members
 * with who added them, recovery address, used signatures in canonical form). The sequence
 * id and update count are not part of that message: store them beside it and give them
 * back to _decode. Decoding checks every field and refuses damaged input with XW_ECORRUPT. */
int xmtp_assoc_state_encode(const xmtp_assoc_state *st, xw_buf *out, xw_errbuf *eb);
int xmtp_assoc_state_decode(const uint8_t *data, size_t len, uint64_t sequence_id, size_t update_count,
                            xmtp_assoc_state **out, xw_errbuf *eb);

#endif
