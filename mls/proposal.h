/*
 * Proposals (RFC 9420 §12.1): decoding into owned values, and encoding.
 *
 * Add, Update, Remove, PreSharedKey and GroupContextExtensions are supported. ReInit and
 * ExternalInit are decoded (so that their bytes are checked) and then refused with
 * XW_EUNSUPPORTED and a sentence: this implementation neither reinitialises groups nor
 * accepts external commits. Unknown proposal types cannot be delimited and are refused.
 */
#ifndef XW_MLS_PROPOSAL_H
#define XW_MLS_PROPOSAL_H

#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "mls/key_schedule.h"
#include "mls/keypackage.h"
#include "mls/tree.h"

#define MLS_PROPOSAL_ADD 1
#define MLS_PROPOSAL_UPDATE 2
#define MLS_PROPOSAL_REMOVE 3
#define MLS_PROPOSAL_PSK 4
#define MLS_PROPOSAL_REINIT 5
#define MLS_PROPOSAL_EXTERNAL_INIT 6
#define MLS_PROPOSAL_GCE 7

typedef struct {
    uint16_t type;
    uint8_t *raw; /* the encoded Proposal (owned); spans below point into it */
    size_t raw_len;
    mls_key_package *kp; /* add */
    mls_leaf *leaf;      /* update */
    uint32_t removed;    /* remove */
    mls_psk_id psk;      /* psk */
    mls_span extensions; /* group_context_extensions: contents of the vector */
} mls_proposal;

/* Reads one Proposal from r. Errors go to r (ReInit/ExternalInit: XW_EUNSUPPORTED). */
mls_proposal *mls_proposal_read(mls_reader *r);
int mls_proposal_decode(const uint8_t *p, size_t n, mls_proposal **out, xw_errbuf *eb);
void mls_proposal_free(mls_proposal *p);
const char *mls_proposal_type_name(uint16_t t);

#endif
