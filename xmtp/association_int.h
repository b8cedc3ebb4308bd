/*
 * Internal layout of xmtp_assoc_state, shared by association.c (folding) and
 * association_store.c (serialisation and diffs). Not part of the public contract.
 */
#ifndef XMTP_ASSOCIATION_INT_H
#define XMTP_ASSOCIATION_INT_H

#include "xmtp/association.h"

typedef struct {
    uint8_t len;
    uint8_t key[65];
} xmtp_seen_key;

struct xmtp_assoc_state {
    char inbox_id[XMTP_INBOX_ID_STRLEN + 1];
    int created;
    xmtp_member_id recovery;
    xmtp_member *members;
    size_t n_members, cap_members;
    xmtp_seen_key *seen;
    size_t n_seen, cap_seen;
    uint64_t sequence_id;
    size_t n_updates;
};

/* Appends to the arrays (bounded by XMTP_ASSOC_MAX_*); XW_ELIMIT / XW_ENOMEM. */
int xmtp_assoc_put_member_(xmtp_assoc_state *st, const xmtp_member *m, xw_errbuf *eb);
int xmtp_assoc_add_seen_(xmtp_assoc_state *st, const xmtp_seen_key *k, xw_errbuf *eb);

#endif
