/*
 * The client handle and the installation's registration (client.h).
 *
 * Registration follows libxmtp's register_identity order: the identity row (with the new
 * installation key) is written first, so an interrupted registration resumes with the same
 * key; then a key package is uploaded; then the identity update is signed by the wallet and
 * the installation and published; then the row is marked registered. A new inbox gets
 * [CreateInbox, AddAssociation(installation)]; an inbox the node already knows for the
 * wallet gets [AddAssociation(installation)], refused past XC_MAX_INSTALLATIONS.
 */
#include <string.h>

#include "common/alloc.h"
#include "xmtp/client/client_int.h"
#include "xmtp/inbox.h"
#include "xmtp/keystore.h"

int64_t xc_now(const xc_client *c) { return xw_clock_now_ns(c->clock); }

const char *xc_client_inbox_id(const xc_client *c) { return c->inbox_id; }
const uint8_t *xc_client_installation_id(const xc_client *c) { return c->installation_id; }
xc_store *xc_client_store(xc_client *c) { return c->st; }

void xc_client_free(xc_client *c)
{
    if (!c)
        return;
    xmtp_installation_key_free(c->ikey);
    mls_sig_priv_wipe(&c->sig);
    xc_store_close(c->st);
    xw_free(c);
}

static int client_new(const xc_client_opts *o, xc_client **out, xw_errbuf *eb)
{
    if (!o || !o->db_path || !o->node)
        return xw_errf(eb, XW_EINVAL, "the client needs a database path and a node");
    xc_client *c = xw_calloc(1, sizeof *c);
    if (!c)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    c->node = o->node;
    c->clock = o->clock ? o->clock : xw_clock_real();
    int rc = mls_suite_lookup(XC_SUITE, &c->suite, eb);
    if (rc == XW_OK)
        rc = xc_store_open(o->db_path, &c->st, eb);
    if (rc != XW_OK) {
        xc_client_free(c);
        return rc;
    }
    *out = c;
    return XW_OK;
}

/* Fills the handle's identity fields from a stored identity row. */
static int load_identity(xc_client *c, const xc_identity_row *row, xw_errbuf *eb)
{
    int rc = xmtp_installation_key_deserialize(row->install_key.data, row->install_key.len, &c->ikey, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, rc, "loading the installation key");
    if (memcmp(xmtp_installation_key_public(c->ikey), row->installation_id, XC_INSTALLATION_LEN) != 0)
        return xw_errf(eb, XW_ECORRUPT,
                       "client store: the installation key does not match the installation id");
    uint8_t seed[XMTP_ED25519_SEED_LEN];
    xmtp_installation_key_seed(c->ikey, seed);
    rc = mls_sig_priv_from_seed(c->suite, seed, sizeof seed, &c->sig, eb);
    xw_wipe(seed, sizeof seed);
    if (rc != XW_OK)
        return rc;
    memcpy(c->inbox_id, row->inbox_id, sizeof c->inbox_id);
    memcpy(c->address, row->address, sizeof c->address);
    memcpy(c->installation_id, row->installation_id, XC_INSTALLATION_LEN);
    return XW_OK;
}

/* Builds, signs and publishes the update that names this installation. */
static int publish_registration(xc_client *c, const xmtp_wallet *w, int create, uint64_t nonce, xw_errbuf *eb)
{
    uint8_t addr[XMTP_ADDRESS_LEN];
    xmtp_wallet_address(w, addr);
    xmtp_idu *u = NULL;
    int rc = xmtp_idu_new(c->inbox_id, (uint64_t)xc_now(c), &u, eb);
    if (rc == XW_OK && create)
        rc = xmtp_idu_create_inbox(u, addr, nonce, eb);
    xmtp_member_id inst, wal;
    xmtp_member_installation(&inst, c->installation_id);
    xmtp_member_eth(&wal, addr);
    if (rc == XW_OK)
        rc = xmtp_idu_add_association(u, &inst, &wal, eb);
    if (rc == XW_OK)
        rc = xmtp_idu_sign_wallet(u, w, eb);
    if (rc == XW_OK)
        rc = xmtp_idu_sign_installation(u, c->ikey, eb);
    xw_buf enc;
    xw_buf_init(&enc, XMTP_IDU_MAX_BYTES);
    if (rc == XW_OK)
        rc = xmtp_idu_encode(u, &enc, eb);
    if (rc == XW_OK)
        rc = c->node->ops->publish_identity_update(c->node->ctx, enc.data, enc.len, eb);
    xw_buf_free(&enc);
    xmtp_idu_free(u);
    return rc;
}

/* Finishes the registration of a stored, unregistered identity. */
static int finish_registration(xc_client *c, const xmtp_wallet *w, xc_identity_row *row, xw_errbuf *eb)
{
    /* Was the update published before an interruption? */
    xmtp_assoc_state *st = NULL;
    xw_errbuf lb = {{0}};
    int rc = xc_assoc_latest(c, c->inbox_id, &st, &lb);
    if (rc != XW_OK && rc != XW_EXMTP_SEQUENCE) /* XW_EXMTP_SEQUENCE: the inbox has no update yet */
        return xw_errf(eb, rc, "%s", lb.msg);
    int present = rc == XW_OK && xmtp_assoc_state_has_installation(st, c->installation_id);
    int created = rc == XW_OK && xmtp_assoc_state_created(st);
    size_t installs = 0;
    for (size_t i = 0; created && i < xmtp_assoc_state_member_count(st); i++)
        installs += xmtp_assoc_state_member_at(st, i)->id.kind == XMTP_MEMBER_INSTALLATION;
    xmtp_assoc_state_free(st);
    rc = XW_OK;
    if (!present && created && installs >= XC_MAX_INSTALLATIONS)
        return xw_errf(eb, XW_ELIMIT,
                       "inbox %s already has %zu installations (the limit is %d); revoke an old installation "
                       "with an XMTP SDK, then run this again",
                       c->inbox_id, installs, XC_MAX_INSTALLATIONS);
    rc = xc_kp_rotate(c, eb); /* libxmtp uploads the key package before the identity update */
    if (rc == XW_OK && !present)
        rc = publish_registration(c, w, !created, row->nonce, eb);
    if (rc == XW_OK) {
        row->registered = 1;
        rc = xc_store_identity_put(c->st, row, eb);
    }
    return rc;
}

int xc_client_create(const xc_client_opts *o, const xmtp_wallet *w, xc_client **out, xw_errbuf *eb)
{
    if (!w)
        return xw_errf(eb, XW_EINVAL, "creating an installation needs the wallet key");
    xc_client *c = NULL;
    int rc = client_new(o, &c, eb);
    if (rc != XW_OK)
        return rc;
    uint8_t addr[XMTP_ADDRESS_LEN];
    char addr_text[XMTP_ADDRESS_STRLEN + 1];
    xmtp_wallet_address(w, addr);
    xmtp_address_to_lower(addr, addr_text);
    xc_identity_row row;
    xc_identity_row_init(&row);
    rc = xc_store_identity_get(c->st, &row, NULL);
    if (rc == XW_OK) {
        if (strcmp(row.address, addr_text) != 0)
            rc = xw_errf(
                eb, XW_EDENIED,
                "%s belongs to wallet %s, not %s; use that wallet's key or another database directory",
                o->db_path, row.address, addr_text);
        else
            rc = load_identity(c, &row, eb);
    } else if (rc == XW_ENOTFOUND) {
        /* a new installation: find or make the inbox, store the key before anything else */
        char inbox[XC_INBOX_LEN + 1];
        int found = 0;
        rc = o->node->ops->get_inbox_id(o->node->ctx, addr_text, inbox, &found, eb);
        uint64_t nonce = o->nonce ? o->nonce : 1;
        if (rc == XW_OK && !found)
            xmtp_inbox_id_for_address(addr, nonce, inbox);
        xmtp_installation_key *k = NULL;
        if (rc == XW_OK)
            rc = xmtp_installation_key_generate(&k, eb);
        if (rc == XW_OK)
            rc = xmtp_installation_key_serialize(k, &row.install_key, eb);
        if (rc == XW_OK) {
            memcpy(row.inbox_id, inbox, sizeof row.inbox_id);
            memcpy(row.address, addr_text, sizeof row.address);
            row.nonce = found ? 0 : nonce;
            memcpy(row.installation_id, xmtp_installation_key_public(k), XC_INSTALLATION_LEN);
            row.created_ns = xw_clock_now_ns(c->clock);
            rc = xc_store_identity_put(c->st, &row, eb);
        }
        xmtp_installation_key_free(k);
        if (rc == XW_OK)
            rc = load_identity(c, &row, eb);
    }
    if (rc == XW_OK && !row.registered)
        rc = finish_registration(c, w, &row, eb);
    xc_identity_row_free(&row);
    if (rc != XW_OK) {
        xc_client_free(c);
        return rc;
    }
    *out = c;
    return XW_OK;
}

int xc_client_open(const xc_client_opts *o, xc_client **out, xw_errbuf *eb)
{
    xc_client *c = NULL;
    int rc = client_new(o, &c, eb);
    if (rc != XW_OK)
        return rc;
    xc_identity_row row;
    xc_identity_row_init(&row);
    rc = xc_store_identity_get(c->st, &row, eb);
    if (rc == XW_ENOTFOUND)
        rc = xw_errf(eb, XW_ENOTFOUND, "%s holds no installation yet; create one first (xmtpw init)",
                     o->db_path);
    if (rc == XW_OK && !row.registered)
        rc = xw_errf(
            eb, XW_ESTATE,
            "the installation in %s was never registered; run init again with its wallet key to finish",
            o->db_path);
    if (rc == XW_OK)
        rc = load_identity(c, &row, eb);
    xc_identity_row_free(&row);
    if (rc != XW_OK) {
        xc_client_free(c);
        return rc;
    }
    *out = c;
    return XW_OK;
}

int xc_client_rotate_key_package(xc_client *c, xw_errbuf *eb) { return xc_kp_rotate(c, eb); }
