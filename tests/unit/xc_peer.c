/*
 * The libxmtp-like test peer (xc_peer.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/group.h"
#include "mls/hpke.h"
#include "mls/tree.h"
#include "xmtp/welcome_wrap.h"
#include "tests/unit/xc_peer.h"
#include "xmtp/client/client_int.h"
#include "xmtp/content.h"
#include "xmtp/identity_update.h"
#include "xmtp/inbox.h"
#include "xmtp/message_id.h"

#define MAX_OWN 4096

struct xc_peer {
    xc_node *node;
    const xw_clock *clock;
    xmtp_wallet *wallet;
    xmtp_installation_key *ikey;
    char inbox[65];
    const mls_suite *suite;
    mls_sig_priv sig;
    mls_group *g;
    uint8_t gid[16];
    uint64_t cursor;
    uint64_t own[MAX_OWN];
    size_t n_own;
    char texts[1 << 16];
};

/* The peer is a fixture: any failure is a broken test setup, reported and fatal. */
#define CHECK(expr)                                                                                          \
    do {                                                                                                     \
        xw_errbuf eb_ = {{0}};                                                                               \
        xw_errbuf *eb = &eb_;                                                                                \
        int rc_ = (expr);                                                                                    \
        if (rc_ != XW_OK) {                                                                                  \
            fprintf(stderr, "xc_peer %s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #expr, xw_errname(rc_),     \
                    eb_.msg);                                                                                \
            abort();                                                                                         \
        }                                                                                                    \
        (void)eb;                                                                                            \
    } while (0)
#define REQUIRE(cond)                                                                                        \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "xc_peer %s:%d: %s does not hold\n", __FILE__, __LINE__, #cond);                 \
            abort();                                                                                         \
        }                                                                                                    \
    } while (0)

xc_peer *xc_peer_new(xc_node *node, const xw_clock *clock)
{
    xc_peer *p = xw_calloc(1, sizeof *p);
    REQUIRE(p);
    p->node = node;
    p->clock = clock;
    CHECK(xmtp_wallet_generate(&p->wallet, eb));
    CHECK(xmtp_installation_key_generate(&p->ikey, eb));
    CHECK(mls_suite_lookup(XC_SUITE, &p->suite, eb));
    uint8_t seed[32];
    xmtp_installation_key_seed(p->ikey, seed);
    CHECK(mls_sig_priv_from_seed(p->suite, seed, 32, &p->sig, eb));
    uint8_t addr[20];
    xmtp_wallet_address(p->wallet, addr);
    xmtp_inbox_id_for_address(addr, 1, p->inbox);
    xmtp_idu *u = NULL;
    CHECK(xmtp_idu_new(p->inbox, (uint64_t)xw_clock_now_ns(clock), &u, eb));
    CHECK(xmtp_idu_create_inbox(u, addr, 1, eb));
    xmtp_member_id inst, wal;
    xmtp_member_installation(&inst, xmtp_installation_key_public(p->ikey));
    xmtp_member_eth(&wal, addr);
    CHECK(xmtp_idu_add_association(u, &inst, &wal, eb));
    CHECK(xmtp_idu_sign_wallet(u, p->wallet, eb));
    CHECK(xmtp_idu_sign_installation(u, p->ikey, eb));
    xw_buf b;
    xw_buf_init(&b, 1 << 20);
    CHECK(xmtp_idu_encode(u, &b, eb));
    CHECK(node->ops->publish_identity_update(node->ctx, b.data, b.len, eb));
    xmtp_idu_free(u);
    /* a key package on the node, so that others can add this peer (it never joins) */
    uint8_t wrap[32];
    mls_random(wrap, sizeof wrap);
    mls_key_package_secrets sec;
    xw_buf_reset(&b);
    CHECK(xc_kp_build(p->suite, &p->sig, p->inbox, wrap, xw_clock_now_ns(clock), &b, &sec, eb));
    mls_key_package_secrets_wipe(&sec);
    CHECK(node->ops->upload_key_package(node->ctx, b.data, b.len, eb));
    xw_buf_free(&b);
    return p;
}

void xc_peer_free(xc_peer *p)
{
    if (!p)
        return;
    mls_group_free(p->g);
    xmtp_wallet_free(p->wallet);
    xmtp_installation_key_free(p->ikey);
    xw_free(p);
}

const char *xc_peer_inbox(const xc_peer *p) { return p->inbox; }
const uint8_t *xc_peer_installation(const xc_peer *p) { return xmtp_installation_key_public(p->ikey); }
const uint8_t *xc_peer_group_id(const xc_peer *p, size_t *len)
{
    *len = sizeof p->gid;
    return p->gid;
}

uint64_t xc_peer_latest_seq(xc_peer *p, const char *inbox)
{
    xc_idlog log = {0};
    CHECK(p->node->ops->get_identity_updates(p->node->ctx, inbox, 0, &log, eb));
    REQUIRE(log.n > 0);
    uint64_t seq = log.e[log.n - 1].sequence_id;
    xc_idlog_free(&log);
    return seq;
}

void xc_peer_create_group(xc_peer *p, const char *name)
{
    mls_random(p->gid, sizeof p->gid);
    xw_buf kp, exts;
    xw_buf_init(&kp, 1 << 16);
    xw_buf_init(&exts, 1 << 20);
    mls_key_package_secrets sec;
    CHECK(xc_kp_build(p->suite, &p->sig, p->inbox, NULL, xw_clock_now_ns(p->clock), &kp, &sec, eb));
    const char *members[1] = {p->inbox};
    uint64_t seqs[1] = {0};
    xc_meta_new_group ng = {.conversation_type = XC_CONV_GROUP,
                            .creator_inbox_id = p->inbox,
                            .name = name,
                            .members = members,
                            .seqs = seqs,
                            .n_members = 1};
    CHECK(xc_meta_group_extensions(&ng, &exts, eb));
    mls_group_config cfg;
    mls_group_config_default(&cfg);
    CHECK(
        mls_group_create(&cfg, p->gid, sizeof p->gid, kp.data, kp.len, &sec, exts.data, exts.len, &p->g, eb));
    mls_key_package_secrets_wipe(&sec);
    xw_buf_free(&kp);
    xw_buf_free(&exts);
}

static uint64_t publish(xc_peer *p, const xw_buf *msg, int is_commit)
{
    uint64_t id = 0;
    CHECK(xc_node_fake_add_group_message(p->node, p->gid, sizeof p->gid, msg->data, msg->len, is_commit, &id,
                                         eb));
    REQUIRE(p->n_own < MAX_OWN);
    p->own[p->n_own++] = id;
    return id;
}

/* Commits gce (and optional adds or removes), publishes, confirms; returns the commit id. */
static uint64_t commit_full(xc_peer *p, const xw_buf *gce, const uint8_t *kp, size_t kp_len,
                            const uint32_t *rm, size_t n_rm, xw_buf *welcome)
{
    xw_buf out;
    xw_buf_init(&out, 1 << 24);
    const uint8_t *kps[1] = {kp};
    size_t lens[1] = {kp_len};
    mls_commit_opts o = {0};
    o.remove = rm;
    o.n_remove = n_rm;
    if (kp) {
        o.add_kps = kps;
        o.add_lens = lens;
        o.n_add = 1;
    }
    o.gce = gce->data;
    o.gce_len = gce->len;
    CHECK(mls_group_commit(p->g, &o, &out, welcome, eb));
    uint64_t id = publish(p, &out, 1);
    CHECK(mls_group_commit_confirm(p->g, eb));
    xw_buf_free(&out);
    return id;
}

static uint64_t commit(xc_peer *p, const xw_buf *gce, const uint8_t *kp, size_t kp_len, xw_buf *welcome)
{
    return commit_full(p, gce, kp, kp_len, NULL, 0, welcome);
}

uint64_t xc_peer_remove(xc_peer *p, const char *inbox)
{
    mls_span exts = mls_group_extensions(p->g);
    xc_meta_membership ms;
    CHECK(xc_meta_membership_get(exts.p, exts.len, &ms, eb));
    const char *names[64];
    uint64_t seqs[64];
    size_t n = 0;
    for (size_t i = 0; i < ms.n && n < 64; i++)
        if (strcmp(ms.inboxes[i].inbox_id, inbox) != 0) {
            names[n] = ms.inboxes[i].inbox_id;
            seqs[n++] = ms.inboxes[i].sequence_id;
        }
    xc_member_row *m = NULL;
    size_t nm = 0;
    CHECK(xc_roster(p->g, &m, &nm, eb));
    uint32_t rm[64];
    size_t n_rm = 0;
    for (size_t i = 0; i < nm && n_rm < 64; i++)
        if (strcmp(m[i].inbox_id, inbox) == 0)
            rm[n_rm++] = m[i].leaf;
    xw_free(m);
    xw_buf mem, gce;
    xw_buf_init(&mem, 1 << 20);
    xw_buf_init(&gce, 1 << 20);
    CHECK(xc_meta_membership_encode(names, seqs, n, &mem, eb));
    CHECK(xc_meta_replace_ext(exts.p, exts.len, XC_EXT_GROUP_MEMBERSHIP, mem.data, mem.len, &gce, eb));
    xc_meta_membership_free(&ms);
    uint64_t id = commit_full(p, &gce, NULL, 0, rm, n_rm, NULL);
    xw_buf_free(&mem);
    xw_buf_free(&gce);
    return id;
}

uint64_t xc_peer_add_at(xc_peer *p, const char *inbox, const uint8_t installation[32], uint64_t seq)
{
    size_t kp_len = 0;
    const uint8_t *kp = xc_node_fake_key_package(p->node, installation, 32, &kp_len);
    REQUIRE(kp);
    mls_span exts = mls_group_extensions(p->g);
    xc_meta_membership ms;
    CHECK(xc_meta_membership_get(exts.p, exts.len, &ms, eb));
    const char *names[64];
    uint64_t seqs[64];
    size_t n = 0;
    for (size_t i = 0; i < ms.n && n < 63; i++) {
        names[n] = ms.inboxes[i].inbox_id;
        seqs[n++] = strcmp(ms.inboxes[i].inbox_id, p->inbox) == 0 ? xc_peer_latest_seq(p, p->inbox)
                                                                  : ms.inboxes[i].sequence_id;
    }
    int known = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], inbox) == 0) {
            seqs[i] = seq;
            known = 1;
        }
    if (!known) {
        names[n] = inbox;
        seqs[n++] = seq;
    }
    xw_buf mem, gce, welcome;
    xw_buf_init(&mem, 1 << 20);
    xw_buf_init(&gce, 1 << 20);
    xw_buf_init(&welcome, 1 << 24);
    CHECK(xc_meta_membership_encode(names, seqs, n, &mem, eb));
    CHECK(xc_meta_replace_ext(exts.p, exts.len, XC_EXT_GROUP_MEMBERSHIP, mem.data, mem.len, &gce, eb));
    xc_meta_membership_free(&ms);
    uint64_t id = commit(p, &gce, kp, kp_len, &welcome);
    /* wrap the welcome to the key package's 0xff03 key, as libxmtp does */
    mls_key_package *k = NULL;
    CHECK(mls_key_package_decode(kp, kp_len, &k, eb));
    mls_span ff03 = {0};
    int has = mls_extensions_find(k->extensions, XMTP_WELCOME_EXT_WRAPPER_ENCRYPTION, &ff03);
    xmtp_welcome_key key;
    CHECK(xmtp_welcome_key_for(k->init_key.p, k->init_key.len, has ? ff03.p : NULL, ff03.len, &key, eb));
    xw_buf meta, data, meta_ct;
    xw_buf_init(&meta, 4096);
    xw_buf_init(&data, 1 << 24);
    xw_buf_init(&meta_ct, 4096);
    CHECK(xmtp_welcome_metadata_encode(id, &meta, eb));
    CHECK(xmtp_welcome_wrap(&key, welcome.data, welcome.len, meta.data, meta.len, NULL, &data, &meta_ct, eb));
    xc_welcome_env w = {.wrapper_algorithm = key.alg,
                        .installation_key = {installation, 32},
                        .data = {data.data, data.len},
                        .hpke_public_key = {key.alg == XMTP_WELCOME_XWING ? key.pub : k->init_key.p,
                                            key.alg == XMTP_WELCOME_XWING ? key.pub_len : k->init_key.len},
                        .metadata = {meta_ct.data, meta_ct.len}};
    CHECK(xc_node_fake_add_welcome(p->node, &w, NULL, eb));
    mls_key_package_free(k);
    xw_buf_free(&meta);
    xw_buf_free(&data);
    xw_buf_free(&meta_ct);
    xw_buf_free(&mem);
    xw_buf_free(&gce);
    xw_buf_free(&welcome);
    return id;
}

uint64_t xc_peer_add(xc_peer *p, const char *inbox, const uint8_t installation[32])
{
    return xc_peer_add_at(p, inbox, installation, xc_peer_latest_seq(p, inbox));
}

void xc_peer_encrypt(xc_peer *p, const uint8_t *plain, size_t len, uint8_t **out, size_t *out_len)
{
    xw_buf m;
    xw_buf_init(&m, 1 << 24);
    CHECK(mls_group_send(p->g, plain, len, &m, eb));
    *out = xw_buf_detach(&m, out_len);
}

uint64_t xc_peer_send_text(xc_peer *p, const char *text, uint8_t msg_id[32])
{
    xmtp_content c = {.kind = XMTP_CT_TEXT};
    c.u.text = text;
    xw_buf ec, env;
    xw_buf_init(&ec, 1 << 20);
    xw_buf_init(&env, 1 << 20);
    CHECK(xmtp_content_encode(&c, &ec, eb));
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)xw_clock_now_ns(p->clock));
    CHECK(xmtp_plaintext_v1_encode(ec.data, ec.len, key, &env, eb));
    if (msg_id)
        xmtp_message_id(p->gid, sizeof p->gid, key, ec.data, ec.len, msg_id);
    uint8_t *m = NULL;
    size_t mlen = 0;
    xc_peer_encrypt(p, env.data, env.len, &m, &mlen);
    xw_buf mb = {m, mlen, mlen, mlen};
    uint64_t id = publish(p, &mb, 0);
    xw_free(m);
    xw_buf_free(&ec);
    xw_buf_free(&env);
    return id;
}

uint64_t xc_peer_set_mutable(xc_peer *p, const char *const *keys, const char *const *values, size_t n,
                             const char *const *admins, size_t n_admins, const char *const *supers,
                             size_t n_supers)
{
    mls_span exts = mls_group_extensions(p->g);
    xw_buf mut, gce;
    xw_buf_init(&mut, 1 << 20);
    xw_buf_init(&gce, 1 << 20);
    CHECK(xc_meta_mutable_encode(keys, values, n, admins, n_admins, supers, n_supers, &mut, eb));
    CHECK(xc_meta_replace_ext(exts.p, exts.len, XC_EXT_MUTABLE_METADATA, mut.data, mut.len, &gce, eb));
    uint64_t id = commit(p, &gce, NULL, 0, NULL);
    xw_buf_free(&mut);
    xw_buf_free(&gce);
    return id;
}

uint64_t xc_peer_set_name(xc_peer *p, const char *name)
{
    mls_span exts = mls_group_extensions(p->g);
    xc_meta_mutable mm;
    CHECK(xc_meta_mutable_get(exts.p, exts.len, &mm, eb));
    const char *keys[XC_META_MAX_ATTRS], *vals[XC_META_MAX_ATTRS];
    size_t n = 0;
    int set = 0;
    for (size_t i = 0; i < mm.n_attrs; i++) {
        keys[n] = mm.attrs[i].key;
        vals[n] = strcmp(mm.attrs[i].key, "group_name") == 0 ? (set = 1, name) : mm.attrs[i].value;
        n++;
    }
    if (!set) {
        keys[n] = "group_name";
        vals[n++] = name;
    }
    xw_buf mut, gce;
    xw_buf_init(&mut, 1 << 20);
    xw_buf_init(&gce, 1 << 20);
    CHECK(xc_meta_mutable_encode(keys, vals, n, (const char *const *)mm.admins, mm.n_admins,
                                 (const char *const *)mm.super_admins, mm.n_super, &mut, eb));
    CHECK(xc_meta_replace_ext(exts.p, exts.len, XC_EXT_MUTABLE_METADATA, mut.data, mut.len, &gce, eb));
    xc_meta_mutable_free(&mm);
    uint64_t id = commit(p, &gce, NULL, 0, NULL);
    xw_buf_free(&mut);
    xw_buf_free(&gce);
    return id;
}

const char *xc_peer_sync(xc_peer *p)
{
    p->texts[0] = 0;
    size_t used = 0;
    for (;;) {
        xc_page pg;
        CHECK(
            p->node->ops->query_group(p->node->ctx, p->gid, sizeof p->gid, p->cursor, XC_PAGE_MAX, &pg, eb));
        size_t n = pg.n;
        for (size_t i = 0; i < pg.n; i++) {
            const xc_group_env *e = &pg.groups[i];
            p->cursor = e->id;
            int own = 0;
            for (size_t j = 0; j < p->n_own; j++)
                own |= p->own[j] == e->id;
            if (own)
                continue;
            mls_received r;
            mls_received_init(&r);
            CHECK(mls_group_receive(p->g, e->data.p, e->data.len, &r, eb));
            if (r.kind == MLS_RECEIVED_APPLICATION) {
                xmtp_plaintext pt;
                CHECK(xmtp_plaintext_decode(r.data.data, r.data.len, &pt, eb));
                xmtp_content *c = NULL;
                CHECK(xmtp_content_decode_bytes(pt.content, pt.content_len, &c, eb));
                const char *t = c->kind == XMTP_CT_TEXT ? c->u.text : "<other>";
                int w = snprintf(p->texts + used, sizeof p->texts - used, "%s%s", used ? "\n" : "", t);
                if (w > 0 && (size_t)w < sizeof p->texts - used)
                    used += (size_t)w;
                xmtp_content_free(c);
                xmtp_plaintext_free(&pt);
            }
            mls_received_free(&r);
        }
        xc_page_free(&pg);
        if (n < XC_PAGE_MAX)
            break;
    }
    return p->texts;
}

int xc_fixture_setup(void **state, const char *tag)
{
    xc_fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/xc-%s-XXXXXX", tag);
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/bot.db3", f->dir);
    f->clock = xw_clock_manual_new(xw_clock_now_ns(xw_clock_real()), 1);
    xw_errbuf eb = {{0}};
    if (xc_node_fake_new(f->clock, &f->node, &eb) != XW_OK || xmtp_wallet_generate(&f->wallet, &eb) != XW_OK)
        return -1;
    xc_client_opts o = {.db_path = f->path, .node = f->node, .clock = f->clock};
    if (xc_client_create(&o, f->wallet, &f->bot, &eb) != XW_OK) {
        fprintf(stderr, "create: %s\n", eb.msg);
        return -1;
    }
    f->alice = xc_peer_new(f->node, f->clock);
    *state = f;
    return 0;
}

int xc_fixture_teardown(void **state)
{
    xc_fixture *f = *state;
    xc_client_free(f->bot);
    xc_peer_free(f->alice);
    xmtp_wallet_free(f->wallet);
    xc_node_free(f->node);
    xw_clock_free(f->clock);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

void xc_fixture_tick(xc_fixture *f) { xw_clock_manual_advance(f->clock, 1000 * XW_NS_PER_MS); }
