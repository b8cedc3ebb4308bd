/*
 * Proposal decoding (see proposal.h). The bytes are copied once; the decoded parts of an
 * Add or Update are re-read from the copy.
 */
#include "mls/proposal.h"

#include "common/alloc.h"
#include "mls/hpke.h"
#include "mls/wire.h"

const char *mls_proposal_type_name(uint16_t t)
{
    switch (t) {
    case MLS_PROPOSAL_ADD:
        return "Add";
    case MLS_PROPOSAL_UPDATE:
        return "Update";
    case MLS_PROPOSAL_REMOVE:
        return "Remove";
    case MLS_PROPOSAL_PSK:
        return "PreSharedKey";
    case MLS_PROPOSAL_REINIT:
        return "ReInit";
    case MLS_PROPOSAL_EXTERNAL_INIT:
        return "ExternalInit";
    case MLS_PROPOSAL_GCE:
        return "GroupContextExtensions";
    default:
        return "unknown";
    }
}

static int body_parse(mls_reader *r, mls_proposal *p)
{
    switch (p->type) {
    case MLS_PROPOSAL_ADD:
        p->kp = mls_key_package_read(r);
        break;
    case MLS_PROPOSAL_UPDATE:
        p->leaf = mls_leaf_read(r);
        break;
    case MLS_PROPOSAL_REMOVE:
        p->removed = mls_read_u32(r);
        break;
    case MLS_PROPOSAL_PSK:
        mls_psk_id_read(r, &p->psk);
        break;
    case MLS_PROPOSAL_GCE:
        p->extensions = mls_extensions_read(r);
        break;
    case MLS_PROPOSAL_REINIT:
        mls_wire_read(r, MLS_WIRE_REINIT, NULL);
        if (!r->err)
            mls_reader_fail(
                r, XW_EUNSUPPORTED,
                "ReInit proposals are not supported: this implementation does not reinitialise groups; "
                "create a new group instead");
        break;
    case MLS_PROPOSAL_EXTERNAL_INIT:
        mls_wire_read(r, MLS_WIRE_EXTERNAL_INIT, NULL);
        if (!r->err)
            mls_reader_fail(
                r, XW_EUNSUPPORTED,
                "ExternalInit proposals are not supported: this implementation does not accept external "
                "commits; the joiner must be added by a member");
        break;
    default:
        mls_reader_fail(r, XW_EUNSUPPORTED, "proposal type 0x%04x is not supported", p->type);
    }
    return r->err;
}

mls_proposal *mls_proposal_read(mls_reader *r)
{
    size_t start = r->off;
    mls_proposal tmp = {0};
    tmp.type = mls_read_u16(r);
    if (r->err || body_parse(r, &tmp) != XW_OK) {
        mls_key_package_free(tmp.kp);
        mls_leaf_unref(tmp.leaf);
        return NULL;
    }
    mls_key_package_free(tmp.kp);
    mls_leaf_unref(tmp.leaf);
    mls_proposal *p = xw_calloc(1, sizeof *p);
    if (!p || !(p->raw = xw_memdup(r->p + start, r->off - start))) {
        xw_free(p);
        mls_reader_fail(r, XW_ENOMEM, "out of memory copying a proposal");
        return NULL;
    }
    p->raw_len = r->off - start;
    mls_reader c;
    mls_reader_init(&c, p->raw, p->raw_len, NULL);
    p->type = mls_read_u16(&c);
    if (body_parse(&c, p) != XW_OK) {
        mls_proposal_free(p);
        mls_reader_fail(r, XW_ENOMEM, "out of memory copying a proposal");
        return NULL;
    }
    return p;
}

int mls_proposal_decode(const uint8_t *b, size_t n, mls_proposal **out, xw_errbuf *eb)
{
    mls_reader r;
    mls_reader_init(&r, b, n, eb);
    mls_proposal *p = mls_proposal_read(&r);
    if (!p)
        return r.err;
    if (mls_reader_finish(&r, "proposal") != XW_OK) {
        mls_proposal_free(p);
        return r.err;
    }
    *out = p;
    return XW_OK;
}

void mls_proposal_free(mls_proposal *p)
{
    if (!p)
        return;
    mls_key_package_free(p->kp);
    mls_leaf_unref(p->leaf);
    xw_free(p->raw);
    xw_free(p);
}
