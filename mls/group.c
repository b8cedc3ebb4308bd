/*
 * Group life cycle and messages (see group.h): creation, epochs (current plus a bounded list
 * of past ones), the proposal cache, sending application data and dispatching received
 * messages. Commits are in commit.c, Welcomes in welcome.c, persistence in group_state.c.
 *
 * All-or-nothing receiving: a PublicMessage is verified without touching any state. A
 * PrivateMessage handshake is opened against a copy of the secret tree that replaces the
 * real one only once the proposal or commit was accepted; application messages rely on
 * mls_unprotect(), which consumes a ratchet key only after the signature verified.
 */
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "mls/group_int.h"

#define GROUP_BUF_MAX ((size_t)1 << 26)

void mls_group_config_default(mls_group_config *c)
{
    memset(c, 0, sizeof *c);
    c->past_epochs = 3;
    c->padding = 32;
    c->out_of_order = MLS_SECRET_TREE_DEFAULT_OUT_OF_ORDER;
    c->max_forward = MLS_SECRET_TREE_DEFAULT_MAX_FORWARD;
    c->ratchet_tree_in_welcome = 1;
    c->check_lifetimes = 1;
}

mls_group *mls_group_alloc(const mls_suite *s, const mls_group_config *cfg)
{
    mls_group *g = xw_calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->suite = s;
    if (cfg)
        g->cfg = *cfg;
    else
        mls_group_config_default(&g->cfg);
    if (g->cfg.past_epochs > MLS_GROUP_MAX_PAST)
        g->cfg.past_epochs = MLS_GROUP_MAX_PAST;
    xw_buf_init(&g->group_id, 1 << 16);
    xw_buf_init(&g->extensions, 1 << 20);
    xw_buf_init(&g->gc, 1 << 21);
    xw_buf_init(&g->staged_msg, GROUP_BUF_MAX);
    g->active = 1;
    return g;
}

static void past_free(mls_past_epoch *p)
{
    xw_buf_free(&p->gc);
    mls_epoch_secrets_wipe(&p->sec);
    mls_secret_tree_free(p->st);
    mls_tree_free(p->tree);
}

static void props_clear(mls_group *g)
{
    for (size_t i = 0; i < g->n_props; i++)
        mls_proposal_free(g->props[i].p);
    xw_free(g->props);
    g->props = NULL;
    g->n_props = 0;
}

void mls_group_free(mls_group *g)
{
    if (!g)
        return;
    mls_group_free(g->staged);
    mls_group_free(g->incoming);
    xw_buf_free(&g->group_id);
    xw_buf_free(&g->extensions);
    xw_buf_free(&g->gc);
    xw_buf_free(&g->staged_msg);
    mls_tree_free(g->tree);
    mls_sig_priv_wipe(&g->sig);
    mls_epoch_secrets_wipe(&g->sec);
    mls_secret_tree_free(g->st);
    props_clear(g);
    for (size_t i = 0; i < g->n_past; i++)
        past_free(&g->past[i]);
    xw_free(g->past);
    for (size_t i = 0; i < g->n_psks; i++) {
        xw_buf_free(&g->psks[i].id);
        xw_buf_free_secret(&g->psks[i].psk);
    }
    xw_free(g->psks);
    xw_wipe(g, sizeof *g);
    xw_free(g);
}

int mls_group_gc_update(mls_group *g)
{
    uint8_t th[MLS_MAX_HASH];
    int rc = mls_tree_root_hash(g->tree, th);
    if (rc != XW_OK)
        return rc;
    mls_group_context gc = {MLS_PROTOCOL_VERSION_10,
                            g->suite->id,
                            {g->group_id.data, g->group_id.len},
                            g->epoch,
                            {th, g->suite->nh},
                            {g->confirmed, g->confirmed_len},
                            {g->extensions.data, g->extensions.len}};
    xw_buf_reset(&g->gc);
    mls_writer w;
    mls_writer_init(&w, &g->gc);
    mls_group_context_write(&w, &gc);
    return w.err;
}

void mls_group_wipe_spent(mls_group *g)
{
    /* used up once the epoch runs: the joiner and welcome secrets (Welcomes are built before
     * the epoch starts) and the encryption secret (copied into the secret tree) */
    xw_wipe(g->sec.joiner_secret, sizeof g->sec.joiner_secret);
    xw_wipe(g->sec.welcome_secret, sizeof g->sec.welcome_secret);
    xw_wipe(g->sec.encryption_secret, sizeof g->sec.encryption_secret);
}

int mls_group_epoch_start(mls_group *g, xw_errbuf *eb)
{
    mls_secret_tree_config c = {g->cfg.out_of_order, g->cfg.max_forward};
    mls_secret_tree_free(g->st);
    g->st = NULL;
    return mls_secret_tree_new(g->suite, g->sec.encryption_secret, g->tree->n_leaves, &c, &g->st, eb);
}

mls_group *mls_group_fork(const mls_group *g)
{
    mls_group *n = mls_group_alloc(g->suite, &g->cfg);
    if (!n)
        return NULL;
    n->epoch = g->epoch;
    n->me = g->me;
    n->sig = g->sig;
    n->confirmed_len = g->confirmed_len;
    memcpy(n->confirmed, g->confirmed, sizeof n->confirmed);
    n->interim_len = g->interim_len;
    memcpy(n->interim, g->interim, sizeof n->interim);
    n->update_len = g->update_len;
    memcpy(n->update_priv, g->update_priv, sizeof n->update_priv);
    memcpy(n->update_pub, g->update_pub, sizeof n->update_pub);
    if (xw_buf_append(&n->group_id, g->group_id.data, g->group_id.len) ||
        xw_buf_append(&n->extensions, g->extensions.data, g->extensions.len) ||
        !(n->tree = mls_tree_clone(g->tree, 1))) {
        mls_group_free(n);
        return NULL;
    }
    if (g->n_psks) {
        n->psks = xw_calloc(g->n_psks, sizeof *n->psks);
        if (!n->psks) {
            mls_group_free(n);
            return NULL;
        }
        for (size_t i = 0; i < g->n_psks; i++) {
            xw_buf_init(&n->psks[i].id, 1 << 16);
            xw_buf_init(&n->psks[i].psk, 1 << 16);
            n->n_psks++;
            if (xw_buf_append(&n->psks[i].id, g->psks[i].id.data, g->psks[i].id.len) ||
                xw_buf_append(&n->psks[i].psk, g->psks[i].psk.data, g->psks[i].psk.len)) {
                mls_group_free(n);
                return NULL;
            }
        }
    }
    return n;
}

void mls_group_advance(mls_group *g, mls_group *next)
{
    /* the current epoch becomes a past one (public tree only) */
    if (g->cfg.past_epochs > 0 && g->active) {
        if (g->n_past == g->cfg.past_epochs) {
            past_free(&g->past[0]);
            memmove(g->past, g->past + 1, (g->n_past - 1) * sizeof *g->past);
            g->n_past--;
        }
        mls_past_epoch *np = g->past;
        if (g->n_past == 0 || !np) {
            np = xw_realloc(g->past, g->cfg.past_epochs * sizeof *np);
            if (np)
                g->past = np;
        }
        if (np) {
            mls_past_epoch *p = &g->past[g->n_past++];
            p->epoch = g->epoch;
            p->gc = g->gc;
            xw_buf_init(&g->gc, 1 << 21);
            p->sec = g->sec;
            /* a past epoch only opens late application messages and answers resumption PSKs:
             * drop every other secret */
            xw_wipe(p->sec.joiner_secret, sizeof p->sec.joiner_secret);
            xw_wipe(p->sec.welcome_secret, sizeof p->sec.welcome_secret);
            xw_wipe(p->sec.init_secret, sizeof p->sec.init_secret);
            xw_wipe(p->sec.encryption_secret, sizeof p->sec.encryption_secret);
            xw_wipe(p->sec.exporter_secret, sizeof p->sec.exporter_secret);
            xw_wipe(p->sec.external_secret, sizeof p->sec.external_secret);
            xw_wipe(p->sec.confirmation_key, sizeof p->sec.confirmation_key);
            p->st = g->st;
            g->st = NULL;
            p->tree = g->tree;
            for (uint32_t x = 0; x < mls_tree_nodes(p->tree); x++)
                if (p->tree->priv[x]) {
                    xw_free_secret(p->tree->priv[x], g->suite->hpke_priv_len);
                    p->tree->priv[x] = NULL;
                }
            g->tree = NULL;
        }
    }
    mls_secret_tree_free(g->st);
    mls_tree_free(g->tree);
    xw_buf_free(&g->gc);
    props_clear(g);
    g->epoch = next->epoch;
    g->me = next->me;
    g->active = next->active;
    xw_buf tmp = g->extensions;
    g->extensions = next->extensions;
    next->extensions = tmp;
    g->confirmed_len = next->confirmed_len;
    memcpy(g->confirmed, next->confirmed, sizeof g->confirmed);
    g->interim_len = next->interim_len;
    memcpy(g->interim, next->interim, sizeof g->interim);
    g->gc = next->gc;
    xw_buf_init(&next->gc, 1 << 21);
    g->tree = next->tree;
    next->tree = NULL;
    g->sec = next->sec;
    mls_group_wipe_spent(g);
    xw_wipe(g->update_priv, sizeof g->update_priv); /* applied or obsolete: proposals end with the epoch */
    g->update_len = 0;
    g->st = next->st;
    next->st = NULL;
    /* the PSK store may have grown in next? it is shared configuration: keep g's */
    mls_group_free(next);
}

int mls_group_psk_lookup(const mls_group *g, const mls_psk_id *id, const uint8_t **psk, size_t *len,
                         xw_errbuf *eb)
{
    if (id->psk_nonce.len != g->suite->nh)
        return xw_errf(eb, XW_EMLS_PROPOSAL, "PSK nonce has %zu bytes; it must have %zu", id->psk_nonce.len,
                       g->suite->nh);
    if (id->psktype == MLS_PSK_EXTERNAL) {
        for (size_t i = 0; i < g->n_psks; i++)
            if (g->psks[i].id.len == id->psk_id.len &&
                memcmp(g->psks[i].id.data, id->psk_id.p, id->psk_id.len) == 0) {
                *psk = g->psks[i].psk.data;
                *len = g->psks[i].psk.len;
                return XW_OK;
            }
        return xw_errf(
            eb, XW_ENOTFOUND,
            "the commit injects an external PSK (id of %zu bytes) this member does not hold; add it with "
            "mls_group_add_external_psk",
            id->psk_id.len);
    }
    if (id->psktype == MLS_PSK_RESUMPTION) {
        if (id->usage != MLS_PSK_USAGE_APPLICATION)
            return xw_errf(
                eb, XW_EMLS_PROPOSAL,
                "resumption PSK with usage %u (reinit or branch) is only valid when reinitialising or "
                "branching a group",
                id->usage);
        if (id->psk_group_id.len != g->group_id.len ||
            memcmp(id->psk_group_id.p, g->group_id.data, g->group_id.len) != 0)
            return xw_errf(eb, XW_ENOTFOUND, "resumption PSK of another group is not available");
        if (id->psk_epoch == g->epoch) {
            *psk = g->sec.resumption_psk;
            *len = g->suite->nh;
            return XW_OK;
        }
        for (size_t i = 0; i < g->n_past; i++)
            if (g->past[i].epoch == id->psk_epoch) {
                *psk = g->past[i].sec.resumption_psk;
                *len = g->suite->nh;
                return XW_OK;
            }
        return xw_errf(eb, XW_ENOTFOUND,
                       "resumption PSK of epoch %llu is no longer kept (only %u past epochs are)",
                       (unsigned long long)id->psk_epoch, g->cfg.past_epochs);
    }
    return xw_errf(eb, XW_EMLS_PROPOSAL, "PSK type %u is unknown", id->psktype);
}

int mls_group_add_external_psk(mls_group *g, const mls_external_psk *p, xw_errbuf *eb)
{
    if (g->n_psks >= MLS_GROUP_MAX_PSKS)
        return xw_errf(eb, XW_ELIMIT, "a group holds at most %d external PSKs", MLS_GROUP_MAX_PSKS);
    mls_psk_entry *n = xw_realloc(g->psks, (g->n_psks + 1) * sizeof *n);
    if (!n)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    g->psks = n;
    mls_psk_entry *e = &g->psks[g->n_psks];
    xw_buf_init(&e->id, 1 << 16);
    xw_buf_init(&e->psk, 1 << 16);
    if (xw_buf_append(&e->id, p->id, p->id_len) || xw_buf_append(&e->psk, p->psk, p->psk_len)) {
        xw_buf_free(&e->id);
        xw_buf_free(&e->psk);
        return xw_errf(eb, XW_ETOOBIG, "external PSK or its id is too long (64 KiB at most)");
    }
    g->n_psks++;
    return XW_OK;
}

/* Transcript helpers for epoch 0 (empty confirmed hash). */
static int interim_hash(const mls_suite *s, const uint8_t *confirmed, size_t clen, const uint8_t *tag,
                        uint8_t *out)
{
    uint8_t buf[MLS_MAX_HASH * 2 + 4];
    size_t n = 0;
    memcpy(buf, confirmed, clen);
    n = clen;
    buf[n++] = (uint8_t)s->nh; /* nh < 64: one-byte varint */
    memcpy(buf + n, tag, s->nh);
    n += s->nh;
    return mls_hash(s, buf, n, out);
}

int mls_group_create(const mls_group_config *cfg, const uint8_t *group_id, size_t gid_len, const uint8_t *kpb,
                     size_t kp_len, const mls_key_package_secrets *kps, const uint8_t *extensions,
                     size_t ext_len, mls_group **out, xw_errbuf *eb)
{
    mls_key_package *kp = NULL;
    int rc = mls_key_package_decode(kpb, kp_len, &kp, eb);
    if (rc != XW_OK)
        return rc;
    const mls_suite *s;
    if ((rc = mls_suite_lookup(kp->cipher_suite, &s, eb)) != XW_OK) {
        mls_key_package_free(kp);
        return rc;
    }
    mls_span ext = {extensions, ext_len};
    if ((rc = mls_key_package_validate(s, kp, 0, ext, eb)) != XW_OK ||
        (rc = mls_check_extension_list(ext, "group context", eb)) != XW_OK) {
        mls_key_package_free(kp);
        return rc;
    }
    mls_group *g = mls_group_alloc(s, cfg);
    if (!g || !(g->tree = mls_tree_new(s))) {
        mls_key_package_free(kp);
        mls_group_free(g);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    g->sig = kps->sig;
    mls_tree_set_leaf(g->tree, 0, kp->leaf);
    mls_key_package_free(kp);
    uint8_t init[MLS_MAX_HASH], tag[MLS_MAX_HASH];
    mls_random(init, s->nh);
    if (xw_buf_append(&g->group_id, group_id, gid_len) || xw_buf_append(&g->extensions, extensions, ext_len))
        rc = xw_errf(eb, XW_ETOOBIG, "group id or extensions too long");
    if (rc == XW_OK)
        rc = mls_tree_set_priv(g->tree, 0, kps->enc_priv, s->hpke_priv_len);
    if (rc == XW_OK)
        rc = mls_group_gc_update(g);
    if (rc == XW_OK)
        rc = mls_key_schedule_run(s, init, NULL, NULL, g->gc.data, g->gc.len, &g->sec);
    if (rc == XW_OK)
        rc = mls_mac(s, g->sec.confirmation_key, s->nh, (const uint8_t *)"", 0, tag);
    if (rc == XW_OK)
        rc = interim_hash(s, g->confirmed, 0, tag, g->interim);
    g->interim_len = s->nh;
    if (rc == XW_OK)
        rc = mls_group_epoch_start(g, eb);
    mls_group_wipe_spent(g);
    xw_wipe(init, sizeof init);
    if (rc != XW_OK) {
        mls_group_free(g);
        return rc;
    }
    *out = g;
    return XW_OK;
}

/* --- messages --- */

/* The signature key of external sender `index` in the external_senders extension. */
static int external_sender_key(mls_span exts, uint32_t index, mls_span *pub, xw_errbuf *eb)
{
    mls_span data;
    if (!mls_extensions_find(exts, MLS_EXT_EXTERNAL_SENDERS, &data))
        return xw_errf(eb, XW_EMLS_SENDER,
                       "a proposal from external sender %u, but the group has no external_senders "
                       "extension",
                       index);
    mls_reader r, v;
    mls_reader_init(&r, data.p, data.len, NULL);
    mls_read_vector(&r, &v);
    for (uint32_t i = 0; !v.err && mls_reader_left(&v); i++) {
        mls_span key = mls_read_opaque(&v);
        uint16_t ct = mls_read_u16(&v);
        if (ct == MLS_CREDENTIAL_BASIC)
            mls_read_opaque(&v);
        else if (ct == MLS_CREDENTIAL_X509) {
            mls_reader c;
            mls_read_vector(&v, &c);
            while (!c.err && mls_reader_left(&c))
                mls_read_opaque(&c);
            mls_reader_join(&v, &c);
        } else
            mls_reader_fail(&v, XW_EUNSUPPORTED, "credential type %u", ct);
        if (!v.err && i == index) {
            *pub = key;
            return XW_OK;
        }
    }
    if (v.err)
        return xw_errf(eb, XW_EMALFORMED, "the group's external_senders extension is malformed");
    return xw_errf(eb, XW_EMLS_SENDER,
                   "external sender %u is not listed in the group's external_senders extension", index);
}

static int tree_sender_key(void *arg, const mls_sender *sender, mls_span *pub, xw_errbuf *eb)
{
    const mls_sender_lookup *sl = arg;
    if (sender->type == MLS_SENDER_EXTERNAL)
        return external_sender_key(sl->extensions, sender->index, pub, eb);
    if (sender->type != MLS_SENDER_MEMBER)
        return xw_errf(
            eb, XW_EMLS_SENDER,
            "sender type %u is not accepted: members and listed external senders send to this group",
            sender->type);
    const mls_leaf *l = mls_tree_leaf(sl->tree, sender->index);
    if (!l)
        return xw_errf(eb, XW_EMLS_SENDER, "sender leaf %u is not a member of the group in this epoch",
                       sender->index);
    *pub = l->sig_key;
    return XW_OK;
}

int mls_group_framing_ctx(mls_group *g, mls_framing_ctx *ctx, xw_errbuf *eb)
{
    g->lookup.tree = g->tree;
    g->lookup.extensions = (mls_span){g->extensions.data, g->extensions.len};
    return mls_framing_ctx_init(ctx, g->suite, g->gc.data, g->gc.len, g->sec.membership_key,
                                g->sec.sender_data_secret, g->st, tree_sender_key, &g->lookup, eb);
}

int mls_group_send(mls_group *g, const uint8_t *data, size_t n, xw_buf *out, xw_errbuf *eb)
{
    if (!g->active)
        return xw_errf(eb, XW_ESTATE, "this member was removed from the group; it cannot send");
    if (g->incoming)
        return xw_errf(eb, XW_ESTATE, "a received commit awaits its merge; merge or discard it first");
    if (g->n_props)
        return xw_errf(
            eb, XW_ESTATE,
            "%zu proposals are pending in this epoch; RFC 9420 §12.4 requires a commit before sending "
            "application data",
            g->n_props);
    mls_framing_ctx ctx;
    int rc = mls_group_framing_ctx(g, &ctx, eb);
    if (rc != XW_OK)
        return rc;
    mls_framed_content fc = {{g->group_id.data, g->group_id.len},
                             g->epoch,
                             {MLS_SENDER_MEMBER, g->me},
                             {NULL, 0},
                             MLS_CONTENT_APPLICATION,
                             {data, n}};
    return mls_protect_private(&ctx, &fc, &g->sig, NULL, g->cfg.padding, out, eb);
}

void mls_received_init(mls_received *r)
{
    memset(r, 0, sizeof *r);
    xw_buf_init(&r->data, GROUP_BUF_MAX);
}

void mls_received_free(mls_received *r)
{
    xw_buf_free_secret(&r->data);
    mls_commit_changes_clear(&r->changes);
}

/* Empties a result for the next message (keeps the data buffer's storage). */
static void received_reset(mls_received *r)
{
    if (r->data.data)
        xw_wipe(r->data.data, r->data.len);
    xw_buf_reset(&r->data);
    mls_commit_changes_clear(&r->changes);
    r->kind = 0;
    r->sender = 0;
    r->epoch = 0;
    r->removed = r->own_commit = r->incoming = 0;
}

static int proposal_ref(const mls_suite *s, const mls_authenticated_content *ac, uint8_t *out)
{
    static const char label[] = "MLS 1.0 Proposal Reference";
    xw_buf b;
    xw_buf_init(&b, GROUP_BUF_MAX);
    mls_writer w;
    mls_writer_init(&w, &b);
    mls_authenticated_content_write(&w, ac);
    int rc = w.err ? w.err : mls_ref_hash(s, label, sizeof label - 1, b.data, b.len, out);
    xw_buf_free(&b);
    return rc;
}

/* Validates a received proposal and caches it; then consumes its ratchet generation (a
 * PrivateMessage). Everything that can fail comes before the first change. A proposal that
 * is cached already (the same AuthenticatedContent, e.g. delivered twice) is taken without
 * caching it again. */
static int cache_proposal(mls_group *g, const mls_framing_ctx *ctx, const mls_unprotected *u, xw_errbuf *eb)
{
    const mls_authenticated_content *ac = &u->ac;
    uint8_t st = ac->content.sender.type;
    if (st != MLS_SENDER_MEMBER && st != MLS_SENDER_EXTERNAL)
        return xw_errf(eb, XW_EMLS_SENDER, "proposals from new members (sender type %u) are not accepted",
                       st);
    mls_proposal *p = NULL;
    int rc = mls_proposal_decode(ac->content.content.p, ac->content.content.len, &p, eb);
    uint32_t sender = st == MLS_SENDER_EXTERNAL ? MLS_GROUP_EXTERNAL_SENDER : ac->content.sender.index;
    if (rc == XW_OK && st == MLS_SENDER_EXTERNAL && p->type != MLS_PROPOSAL_ADD &&
        p->type != MLS_PROPOSAL_REMOVE && p->type != MLS_PROPOSAL_PSK && p->type != MLS_PROPOSAL_GCE)
        rc = xw_errf(eb, XW_EMLS_PROPOSAL, "an external sender may not send %s proposals (RFC 9420 §12.1.8)",
                     mls_proposal_type_name(p->type));
    if (rc == XW_OK)
        rc = mls_group_check_proposal(g, p, sender, eb);
    uint8_t ref[MLS_MAX_HASH];
    if (rc == XW_OK)
        rc = proposal_ref(g->suite, ac, ref);
    int known = 0;
    for (size_t i = 0; rc == XW_OK && i < g->n_props && !known; i++)
        known = memcmp(g->props[i].ref, ref, g->suite->nh) == 0;
    if (rc == XW_OK && !known && g->n_props >= MLS_GROUP_MAX_PROPOSALS)
        rc = xw_errf(eb, XW_ELIMIT, "more than %d proposals are pending; commit first",
                     MLS_GROUP_MAX_PROPOSALS);
    mls_cached_proposal *n = NULL;
    if (rc == XW_OK && !known) {
        /* room first: a larger array with the same entries is the same state */
        n = xw_realloc(g->props, (g->n_props + 1) * sizeof *n);
        if (!n)
            rc = xw_errf(eb, XW_ENOMEM, "out of memory");
        else
            g->props = n;
    }
    if (rc == XW_OK)
        rc = mls_unprotected_consume(ctx, u, eb);
    if (rc != XW_OK || known) {
        mls_proposal_free(p);
        return rc;
    }
    memcpy(n[g->n_props].ref, ref, sizeof ref);
    n[g->n_props].p = p;
    n[g->n_props].sender = sender;
    g->n_props++;
    return XW_OK;
}

/* The framing context for a message of `epoch` (current, or a kept past one for application
 * messages). The ratchet generation is never consumed by mls_unprotect: the caller does it
 * once everything else passed. */
static int receive_ctx(mls_group *g, uint64_t epoch, uint8_t ct, mls_framing_ctx *ctx, xw_errbuf *eb)
{
    int rc;
    if (epoch != g->epoch) {
        if (ct != MLS_CONTENT_APPLICATION || epoch > g->epoch)
            return xw_errf(eb, XW_EMLS_EPOCH, "%s is for epoch %llu but the group is at epoch %llu",
                           ct == MLS_CONTENT_APPLICATION ? "application message" : "handshake message",
                           (unsigned long long)epoch, (unsigned long long)g->epoch);
        mls_past_epoch *past = NULL;
        for (size_t i = 0; i < g->n_past; i++)
            if (g->past[i].epoch == epoch)
                past = &g->past[i];
        if (!past)
            return xw_errf(eb, XW_EMLS_EPOCH,
                           "application message of epoch %llu is too old: only the last %u epochs are kept",
                           (unsigned long long)epoch, g->cfg.past_epochs);
        g->lookup.tree = past->tree;
        g->lookup.extensions = (mls_span){NULL, 0}; /* application messages come from members only */
        rc = mls_framing_ctx_init(ctx, g->suite, past->gc.data, past->gc.len, past->sec.membership_key,
                                  past->sec.sender_data_secret, past->st, tree_sender_key, &g->lookup, eb);
    } else {
        rc = mls_group_framing_ctx(g, ctx, eb);
    }
    ctx->defer_consume = 1;
    return rc;
}

/* Our own staged commit came back from the delivery service: it was accepted. */
static int own_echo(mls_group *g, mls_received *out, xw_errbuf *eb)
{
    int rc = mls_group_commit_confirm(g, eb);
    if (rc == XW_OK) {
        out->kind = MLS_RECEIVED_COMMIT;
        out->own_commit = 1;
        out->sender = g->me;
        out->epoch = g->epoch - 1;
    }
    return rc;
}

int mls_group_process(mls_group *g, const uint8_t *msg, size_t n, mls_received *out, xw_errbuf *eb)
{
    received_reset(out);
    if (!g->active)
        return xw_errf(eb, XW_ESTATE, "this member was removed from the group");
    if (g->incoming)
        return xw_errf(eb, XW_ESTATE,
                       "a received commit awaits its merge; call mls_group_incoming_merge or _discard first");
    if (g->staged && g->staged_msg.len == n && memcmp(g->staged_msg.data, msg, n) == 0)
        return own_echo(g, out, eb);
    mls_message m;
    int rc = mls_message_decode(msg, n, &m, eb);
    if (rc != XW_OK)
        return rc;
    uint64_t epoch;
    uint8_t ct;
    if (m.wire_format == MLS_WIRE_FORMAT_PUBLIC_MESSAGE) {
        epoch = m.pub.content.epoch;
        ct = m.pub.content.content_type;
        if (!g->cfg.accept_public_handshake)
            return xw_errf(
                eb, XW_EMLS_WIREFORMAT,
                "a PublicMessage %s arrived but the group's wire-format policy requires PrivateMessage",
                ct == MLS_CONTENT_COMMIT ? "commit" : "proposal");
    } else if (m.wire_format == MLS_WIRE_FORMAT_PRIVATE_MESSAGE) {
        epoch = m.priv.epoch;
        ct = m.priv.content_type;
    } else {
        return xw_errf(eb, XW_EMLS_WIREFORMAT,
                       "message has wire format %u; mls_group_receive takes PublicMessage or PrivateMessage",
                       m.wire_format);
    }
    mls_framing_ctx ctx;
    if ((rc = receive_ctx(g, epoch, ct, &ctx, eb)) != XW_OK)
        return rc;
    mls_unprotected u;
    mls_unprotected_init(&u);
    rc = mls_unprotect(&ctx, msg, n, &u, eb);
    mls_group *next = NULL;
    if (rc == XW_OK) {
        out->epoch = epoch;
        out->sender = u.ac.content.sender.index;
        switch (u.ac.content.content_type) {
        case MLS_CONTENT_APPLICATION:
            out->kind = MLS_RECEIVED_APPLICATION;
            if (xw_buf_append(&out->data, u.ac.content.content.p, u.ac.content.content.len))
                rc = xw_errf(eb, XW_ETOOBIG, "application message too large for the output buffer");
            if (rc == XW_OK)
                rc = mls_unprotected_consume(&ctx, &u, eb);
            break;
        case MLS_CONTENT_PROPOSAL:
            out->kind = MLS_RECEIVED_PROPOSAL;
            rc = cache_proposal(g, &ctx, &u, eb);
            break;
        case MLS_CONTENT_COMMIT:
            out->kind = MLS_RECEIVED_COMMIT;
            if (u.ac.content.sender.type == MLS_SENDER_MEMBER && u.ac.content.sender.index == g->me) {
                rc = xw_errf(
                    eb, XW_EMLS_COMMIT,
                    "a commit signed by this member arrived that is not the staged one; the state may have "
                    "been restored from an older copy");
                break;
            }
            rc = mls_group_process_commit(g, &u.ac, &next, &out->removed, &out->changes, eb);
            break;
        default:
            rc = xw_errf(eb, XW_EMALFORMED, "unknown content type %u", u.ac.content.content_type);
        }
    }
    if (rc == XW_OK && next) {
        /* kept aside; its handshake generation is consumed at the merge */
        g->incoming = next;
        g->incoming_private = u.ac.wire_format == MLS_WIRE_FORMAT_PRIVATE_MESSAGE;
        g->incoming_leaf = u.ac.content.sender.index;
        g->incoming_gen = u.generation;
        out->incoming = 1;
    }
    mls_unprotected_free(&u);
    if (rc != XW_OK) {
        mls_group_free(next);
        received_reset(out);
    }
    return rc;
}

int mls_group_incoming_merge(mls_group *g, xw_errbuf *eb)
{
    if (!g->incoming)
        return xw_errf(eb, XW_ESTATE, "no received commit awaits a merge");
    if (g->incoming_private) {
        int rc = mls_secret_tree_consume(g->st, g->incoming_leaf, MLS_RATCHET_HANDSHAKE, g->incoming_gen, eb);
        if (rc != XW_OK)
            return rc;
    }
    mls_group *next = g->incoming;
    g->incoming = NULL;
    mls_group_commit_discard(g); /* another commit won the epoch */
    mls_group_advance(g, next);
    return XW_OK;
}

void mls_group_incoming_discard(mls_group *g)
{
    mls_group_free(g->incoming);
    g->incoming = NULL;
}

int mls_group_has_incoming(const mls_group *g) { return g->incoming != NULL; }

int mls_group_receive(mls_group *g, const uint8_t *msg, size_t n, mls_received *out, xw_errbuf *eb)
{
    int rc = mls_group_process(g, msg, n, out, eb);
    if (rc != XW_OK || !out->incoming)
        return rc;
    rc = mls_group_incoming_merge(g, eb);
    if (rc != XW_OK) {
        mls_group_incoming_discard(g);
        received_reset(out);
        return rc;
    }
    out->incoming = 0;
    return XW_OK;
}

/* --- staged commits --- */

int mls_group_commit_confirm(mls_group *g, xw_errbuf *eb)
{
    if (!g->staged)
        return xw_errf(eb, XW_ESTATE, "no commit is staged");
    if (g->incoming)
        return xw_errf(eb, XW_ESTATE,
                       "a received commit for this epoch awaits its merge; merge or discard it first");
    mls_group *next = g->staged;
    g->staged = NULL;
    xw_buf_reset(&g->staged_msg);
    mls_group_advance(g, next);
    return XW_OK;
}

void mls_group_commit_discard(mls_group *g)
{
    mls_group_free(g->staged);
    g->staged = NULL;
    xw_buf_reset(&g->staged_msg);
}

int mls_group_has_staged_commit(const mls_group *g) { return g->staged != NULL; }

int mls_group_staged_tree(const mls_group *g, xw_buf *out)
{
    return g->staged ? mls_tree_encode(g->staged->tree, out) : XW_ESTATE;
}

/* --- information --- */

uint64_t mls_group_epoch(const mls_group *g) { return g->epoch; }

const uint8_t *mls_group_epoch_authenticator(const mls_group *g, size_t *len)
{
    *len = g->suite->nh;
    return g->sec.epoch_authenticator;
}

const uint8_t *mls_group_id(const mls_group *g, size_t *len)
{
    *len = g->group_id.len;
    return g->group_id.data;
}

uint32_t mls_group_own_leaf(const mls_group *g) { return g->me; }
const mls_suite *mls_group_suite(const mls_group *g) { return g->suite; }
int mls_group_active(const mls_group *g) { return g->active; }
uint32_t mls_group_leaf_count(const mls_group *g) { return g->tree->n_leaves; }
mls_span mls_group_extensions(const mls_group *g)
{
    return (mls_span){g->extensions.data, g->extensions.len};
}

int mls_group_member(const mls_group *g, uint32_t leaf, mls_span *identity)
{
    const mls_leaf *l = mls_tree_leaf(g->tree, leaf);
    if (!l)
        return 0;
    *identity = l->identity;
    return 1;
}

int mls_group_tree(const mls_group *g, xw_buf *out) { return mls_tree_encode(g->tree, out); }

int mls_group_export_secret(const mls_group *g, const char *label, const uint8_t *ctx, size_t ctx_len,
                            uint8_t *out, size_t L, xw_errbuf *eb)
{
    if (L > 255 * g->suite->nh)
        return xw_errf(eb, XW_EINVAL, "exported secret of %zu bytes is too long", L);
    return mls_exporter(g->suite, g->sec.exporter_secret, label, strlen(label), ctx, ctx_len, out, L);
}

uint64_t mls_group_now(const mls_group *g) { return g->cfg.now ? g->cfg.now : (uint64_t)time(NULL); }
