/*
 * Saving and loading a whole group state as bytes (mls_group_save / mls_group_load), so a
 * caller can keep it in SQLite and resume after a restart with identical behaviour.
 *
 * The format is this file's own, in the TLS presentation language of the rest of mls/:
 *   "XWG1" u16 suite, the configuration, the GroupContext fields and transcript hashes,
 *   the ratchet tree (ratchet_tree encoding) and the private keys of its nodes, the own leaf
 *   index, the signature key seed, the epoch secrets, the secret tree, the cached proposals
 *   (reference, sender, encoded proposal), the past epochs (GroupContext, secrets, secret
 *   tree, public tree) and the external PSKs.
 * Everything is re-validated on load: lengths against the suite, trees through the normal
 * decoder, proposals through the proposal decoder; any inconsistency is XW_ECORRUPT. A
 * staged own commit is saved too (its message and its next-epoch state, nested), so it can
 * still be confirmed or discarded after a restart.
 *
 * The bytes hold every secret of the member: the caller stores them encrypted or in a
 * protected database, and wipes copies (xw_buf_free_secret).
 */
#include <string.h>

#include "common/alloc.h"
#include "mls/group_int.h"

#define STATE_MAGIC "XWG1"

static void secrets_write(mls_writer *w, const mls_suite *s, const mls_epoch_secrets *e)
{
    const uint8_t *f[] = {e->joiner_secret,       e->welcome_secret,    e->init_secret,
                          e->sender_data_secret,  e->encryption_secret, e->exporter_secret,
                          e->epoch_authenticator, e->external_secret,   e->confirmation_key,
                          e->membership_key,      e->resumption_psk};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        mls_write_fixed(w, f[i], s->nh);
}

static void secrets_read(mls_reader *r, const mls_suite *s, mls_epoch_secrets *e)
{
    uint8_t *f[] = {e->joiner_secret,     e->welcome_secret,  e->init_secret,         e->sender_data_secret,
                    e->encryption_secret, e->exporter_secret, e->epoch_authenticator, e->external_secret,
                    e->confirmation_key,  e->membership_key,  e->resumption_psk};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        mls_span x = mls_read_fixed(r, s->nh);
        if (x.p)
            memcpy(f[i], x.p, s->nh);
    }
}

static void tree_write(mls_writer *w, const mls_tree *t, int with_priv)
{
    xw_buf b;
    xw_buf_init(&b, (size_t)1 << 28);
    if (mls_tree_encode(t, &b) != XW_OK)
        w->err = XW_ETOOBIG;
    mls_write_opaque(w, b.data, b.len);
    xw_buf_free(&b);
    if (!with_priv)
        return;
    size_t m = mls_write_vec_begin(w);
    for (uint32_t x = 0; x < mls_tree_nodes(t); x++)
        if (t->priv[x]) {
            mls_write_u32(w, x);
            mls_write_opaque(w, t->priv[x], t->suite->hpke_priv_len);
        }
    mls_write_vec_end(w, m);
}

static void st_write(mls_writer *w, const mls_secret_tree *st)
{
    xw_buf b;
    xw_buf_init(&b, (size_t)1 << 30);
    if (mls_secret_tree_encode(st, &b, NULL) != XW_OK)
        w->err = XW_ETOOBIG;
    mls_write_opaque(w, b.data, b.len);
    xw_buf_free_secret(&b);
}

int mls_group_save(const mls_group *g, xw_buf *out)
{
    const mls_suite *s = g->suite;
    size_t start = out->len;
    mls_writer w;
    mls_writer_init(&w, out);
    mls_write_fixed(&w, STATE_MAGIC, 4);
    mls_write_u16(&w, s->id);
    mls_write_u8(&w, (uint8_t)g->cfg.handshake_public);
    mls_write_u8(&w, (uint8_t)g->cfg.accept_public_handshake);
    mls_write_u32(&w, g->cfg.past_epochs);
    mls_write_u32(&w, g->cfg.padding);
    mls_write_u32(&w, g->cfg.out_of_order);
    mls_write_u32(&w, g->cfg.max_forward);
    mls_write_u8(&w, (uint8_t)g->cfg.ratchet_tree_in_welcome);
    mls_write_u64(&w, g->cfg.now);
    mls_write_u8(&w, (uint8_t)g->cfg.check_lifetimes);
    mls_write_u64(&w, g->cfg.max_lifetime);
    mls_write_u8(&w, (uint8_t)g->cfg.external_pub);
    mls_write_opaque(&w, g->group_id.data, g->group_id.len);
    mls_write_u64(&w, g->epoch);
    mls_write_opaque(&w, g->extensions.data, g->extensions.len);
    mls_write_opaque(&w, g->confirmed, g->confirmed_len);
    mls_write_opaque(&w, g->interim, g->interim_len);
    tree_write(&w, g->tree, 1);
    mls_write_u32(&w, g->me);
    mls_write_u8(&w, (uint8_t)g->active);
    mls_write_opaque(&w, g->sig.sk, 32);
    mls_write_opaque(&w, g->update_priv, g->update_len ? s->hpke_priv_len : 0);
    mls_write_opaque(&w, g->update_pub, g->update_len);
    secrets_write(&w, s, &g->sec);
    mls_write_u8(&w, g->st != NULL); /* none once the member was removed */
    if (g->st)
        st_write(&w, g->st);
    size_t m = mls_write_vec_begin(&w);
    for (size_t i = 0; i < g->n_props; i++) {
        mls_write_opaque(&w, g->props[i].ref, s->nh);
        mls_write_u32(&w, g->props[i].sender);
        mls_write_opaque(&w, g->props[i].p->raw, g->props[i].p->raw_len);
    }
    mls_write_vec_end(&w, m);
    m = mls_write_vec_begin(&w);
    for (size_t i = 0; i < g->n_past; i++) {
        const mls_past_epoch *p = &g->past[i];
        mls_write_u64(&w, p->epoch);
        mls_write_opaque(&w, p->gc.data, p->gc.len);
        secrets_write(&w, s, &p->sec);
        tree_write(&w, p->tree, 0);
        st_write(&w, p->st);
    }
    mls_write_vec_end(&w, m);
    m = mls_write_vec_begin(&w);
    for (size_t i = 0; i < g->n_psks; i++) {
        mls_write_opaque(&w, g->psks[i].id.data, g->psks[i].id.len);
        mls_write_opaque(&w, g->psks[i].psk.data, g->psks[i].psk.len);
    }
    mls_write_vec_end(&w, m);
    mls_write_u8(&w, g->staged != NULL);
    if (g->staged) {
        mls_write_opaque(&w, g->staged_msg.data, g->staged_msg.len);
        xw_buf st;
        xw_buf_init(&st, (size_t)1 << 30);
        if (mls_group_save(g->staged, &st) != XW_OK)
            w.err = XW_ETOOBIG;
        mls_write_opaque(&w, st.data, st.len);
        xw_buf_free_secret(&st);
    }
    if (w.err) {
        xw_buf_truncate(out, start);
        return w.err;
    }
    return XW_OK;
}

static int corrupt(xw_errbuf *eb, const char *what)
{
    return xw_errf(eb, XW_ECORRUPT, "stored group state is corrupt (%s); restore it from a backup", what);
}

static int st_read(mls_reader *r, const mls_suite *s, uint32_t leaves, mls_secret_tree **out, xw_errbuf *eb)
{
    mls_span b = mls_read_opaque(r);
    if (r->err)
        return r->err;
    int rc = mls_secret_tree_decode(s, b.p, b.len, out, eb);
    if (rc == XW_OK && mls_secret_tree_leaves(*out) != leaves) {
        mls_secret_tree_free(*out);
        *out = NULL;
        rc = corrupt(eb, "secret tree does not fit the ratchet tree");
    }
    return rc;
}

static int tree_read(mls_reader *r, const mls_suite *s, int with_priv, mls_tree **out, xw_errbuf *eb)
{
    mls_span b = mls_read_opaque(r);
    if (r->err)
        return r->err;
    int rc = mls_tree_decode(s, b.p, b.len, out, eb);
    if (rc != XW_OK)
        return corrupt(eb, "ratchet tree");
    if (!with_priv)
        return XW_OK;
    mls_reader v;
    mls_read_vector(r, &v);
    while (rc == XW_OK && !v.err && mls_reader_left(&v)) {
        uint32_t x = mls_read_u32(&v);
        mls_span k = mls_read_opaque(&v);
        if (v.err || x >= mls_tree_nodes(*out) || k.len != s->hpke_priv_len)
            rc = corrupt(eb, "private key of a tree node");
        else
            rc = mls_tree_set_priv(*out, x, k.p, k.len);
    }
    if (rc == XW_OK && mls_reader_join(r, &v) != XW_OK)
        rc = r->err;
    if (rc != XW_OK) {
        mls_tree_free(*out);
        *out = NULL;
    }
    return rc;
}

int mls_group_load(const uint8_t *p, size_t n, mls_group **out, xw_errbuf *eb)
{
    mls_reader r;
    mls_reader_init(&r, p, n, eb);
    mls_span magic = mls_read_fixed(&r, 4);
    if (r.err || memcmp(magic.p, STATE_MAGIC, 4) != 0)
        return xw_errf(eb, XW_ECORRUPT, "not a saved group state (no XWG1 header)");
    const mls_suite *s;
    int rc = mls_suite_lookup(mls_read_u16(&r), &s, eb);
    if (rc != XW_OK)
        return corrupt(eb, "cipher suite");
    mls_group_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.handshake_public = mls_read_u8(&r);
    cfg.accept_public_handshake = mls_read_u8(&r);
    cfg.past_epochs = mls_read_u32(&r);
    cfg.padding = mls_read_u32(&r);
    cfg.out_of_order = mls_read_u32(&r);
    cfg.max_forward = mls_read_u32(&r);
    cfg.ratchet_tree_in_welcome = mls_read_u8(&r);
    cfg.now = mls_read_u64(&r);
    cfg.check_lifetimes = mls_read_u8(&r);
    cfg.max_lifetime = mls_read_u64(&r);
    cfg.external_pub = mls_read_u8(&r);
    if (r.err || cfg.past_epochs > MLS_GROUP_MAX_PAST)
        return corrupt(eb, "configuration");
    mls_group *g = mls_group_alloc(s, &cfg);
    if (!g)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    mls_span gid = mls_read_opaque(&r);
    g->epoch = mls_read_u64(&r);
    mls_span ext = mls_read_opaque(&r);
    mls_span conf = mls_read_opaque_len(&r, 0, MLS_MAX_HASH, "confirmed transcript hash");
    mls_span inter = mls_read_opaque_len(&r, 0, MLS_MAX_HASH, "interim transcript hash");
    if (r.err || xw_buf_append(&g->group_id, gid.p, gid.len) || xw_buf_append(&g->extensions, ext.p, ext.len))
        rc = corrupt(eb, "group context");
    if (rc == XW_OK) {
        memcpy(g->confirmed, conf.p, conf.len);
        g->confirmed_len = conf.len;
        memcpy(g->interim, inter.p, inter.len);
        g->interim_len = inter.len;
        rc = tree_read(&r, s, 1, &g->tree, eb);
    }
    if (rc == XW_OK) {
        g->me = mls_read_u32(&r);
        g->active = mls_read_u8(&r);
        mls_span seed = mls_read_opaque_len(&r, 32, 32, "signature key");
        if (r.err || mls_sig_priv_from_seed(s, seed.p, seed.len, &g->sig, eb) != XW_OK)
            rc = corrupt(eb, "signature key");
        mls_span up = mls_read_opaque(&r), upub = mls_read_opaque(&r);
        if (rc == XW_OK && (r.err || (up.len && up.len != s->hpke_priv_len) ||
                            (upub.len && upub.len != s->hpke_pub_len) || (!up.len) != (!upub.len)))
            rc = corrupt(eb, "pending update key");
        if (rc == XW_OK && up.len) {
            memcpy(g->update_priv, up.p, up.len);
            memcpy(g->update_pub, upub.p, upub.len);
            g->update_len = upub.len;
        }
    }
    if (rc == XW_OK && g->active > 1)
        rc = corrupt(eb, "active flag");
    if (rc == XW_OK && g->active && !mls_tree_leaf(g->tree, g->me))
        rc = corrupt(eb, "own leaf is blank");
    if (rc == XW_OK) {
        secrets_read(&r, s, &g->sec);
        int has_st = mls_read_u8(&r);
        if (r.err || (has_st && !g->active))
            rc = corrupt(eb, "epoch secrets");
        else if (has_st)
            rc = st_read(&r, s, g->tree->n_leaves, &g->st, eb);
        else if (g->active)
            rc = corrupt(eb, "secret tree missing");
    }
    if (rc == XW_OK)
        rc = mls_group_gc_update(g);
    mls_reader v;
    if (rc == XW_OK) {
        mls_read_vector(&r, &v);
        while (rc == XW_OK && !v.err && mls_reader_left(&v)) {
            mls_span ref = mls_read_opaque_len(&v, s->nh, s->nh, "proposal reference");
            uint32_t sender = mls_read_u32(&v);
            mls_span raw = mls_read_opaque(&v);
            mls_proposal *pp = NULL;
            mls_cached_proposal *np = NULL;
            if (v.err || g->n_props >= MLS_GROUP_MAX_PROPOSALS ||
                mls_proposal_decode(raw.p, raw.len, &pp, NULL) != XW_OK ||
                !(np = xw_realloc(g->props, (g->n_props + 1) * sizeof *np))) {
                mls_proposal_free(pp);
                rc = corrupt(eb, "cached proposal");
                break;
            }
            g->props = np;
            memcpy(np[g->n_props].ref, ref.p, s->nh);
            np[g->n_props].sender = sender;
            np[g->n_props].p = pp;
            g->n_props++;
        }
        if (rc == XW_OK && mls_reader_join(&r, &v) != XW_OK)
            rc = corrupt(eb, "proposal list");
    }
    if (rc == XW_OK) {
        mls_read_vector(&r, &v);
        g->past = xw_calloc(cfg.past_epochs ? cfg.past_epochs : 1, sizeof *g->past);
        if (!g->past)
            rc = xw_errf(eb, XW_ENOMEM, "out of memory");
        while (rc == XW_OK && !v.err && mls_reader_left(&v)) {
            if (g->n_past >= cfg.past_epochs) {
                rc = corrupt(eb, "more past epochs than configured");
                break;
            }
            mls_past_epoch *pe = &g->past[g->n_past];
            memset(pe, 0, sizeof *pe);
            xw_buf_init(&pe->gc, 1 << 21);
            g->n_past++;
            pe->epoch = mls_read_u64(&v);
            mls_span gc = mls_read_opaque(&v);
            secrets_read(&v, s, &pe->sec);
            if (v.err || xw_buf_append(&pe->gc, gc.p, gc.len)) {
                rc = corrupt(eb, "past epoch");
                break;
            }
            rc = tree_read(&v, s, 0, &pe->tree, eb);
            if (rc == XW_OK)
                rc = st_read(&v, s, pe->tree->n_leaves, &pe->st, eb);
        }
        if (rc == XW_OK && mls_reader_join(&r, &v) != XW_OK)
            rc = corrupt(eb, "past epochs");
    }
    if (rc == XW_OK) {
        mls_read_vector(&r, &v);
        while (rc == XW_OK && !v.err && mls_reader_left(&v)) {
            mls_span id = mls_read_opaque(&v), k = mls_read_opaque(&v);
            mls_external_psk e = {id.p, id.len, k.p, k.len};
            rc = v.err ? corrupt(eb, "PSK") : mls_group_add_external_psk(g, &e, eb);
        }
        if (rc == XW_OK && mls_reader_join(&r, &v) != XW_OK)
            rc = corrupt(eb, "PSKs");
    }
    if (rc == XW_OK && mls_read_u8(&r)) {
        mls_span msg = mls_read_opaque(&r), st = mls_read_opaque(&r);
        if (r.err || xw_buf_append(&g->staged_msg, msg.p, msg.len))
            rc = corrupt(eb, "staged commit");
        else if (mls_group_load(st.p, st.len, &g->staged, eb) != XW_OK || g->staged->staged)
            rc = corrupt(eb, "staged commit state");
    }
    if (rc == XW_OK && mls_reader_finish(&r, "group state") != XW_OK)
        rc = corrupt(eb, "trailing bytes");
    if (rc != XW_OK) {
        mls_group_free(g);
        return rc;
    }
    *out = g;
    return XW_OK;
}
