/*
 * The fake node (node.h): everything in memory, node-go's query semantics, no validation of
 * signatures. It reads just enough of what it stores to file it: the group id and content
 * type of an MLSMessage (mls/framing.h), the signature key of a key package
 * (mls/keypackage.h), and the addresses an identity update links to an inbox
 * (xmtp/identity_update.h), so that GetInboxIds answers like the real node.
 *
 * Stored payloads are separately allocated and never freed before the fake, so pages point
 * straight into them. Not thread-safe.
 */
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/framing.h"
#include "mls/keypackage.h"
#include "xmtp/client/node.h"
#include "xmtp/identity_update.h"
#include "xmtp/wallet.h"

typedef struct {
    uint64_t id, created_ns;
    uint8_t *gid, *data;
    size_t gid_len, len;
    int is_commit;
} fake_msg;

typedef struct {
    xc_welcome_env env; /* byte fields point at owned copies */
} fake_welcome;

typedef struct {
    uint8_t key[32];
    uint8_t *kp;
    size_t len;
} fake_kp;

typedef struct {
    uint64_t seq, ns;
    char inbox[65];
    uint8_t *update;
    size_t len;
} fake_idu;

typedef struct {
    char address[43];
    char inbox[65];
} fake_addr;

typedef struct {
    const xw_clock *clock;
    uint64_t next_msg, next_welcome, next_seq;
    fake_msg *msgs;
    size_t n_msgs;
    fake_welcome *welcomes;
    size_t n_welcomes;
    fake_kp *kps;
    size_t n_kps;
    fake_idu *idus;
    size_t n_idus;
    fake_addr *addrs;
    size_t n_addrs;
    int fail_err;
    unsigned fail_count;
    size_t drop_after; /* SIZE_MAX: never */
    size_t replay;
    size_t n_subs;
} fake;

struct xc_sub {
    int welcomes, dead;
    size_t n;
    xc_sub_filter *f; /* keys owned */
};

#define GROW(arr, n)                                                                                         \
    do {                                                                                                     \
        void *np_ = xw_realloc((arr), ((n) + 1) * sizeof *(arr));                                            \
        if (!np_)                                                                                            \
            return xw_errf(eb, XW_ENOMEM, "out of memory");                                                  \
        (arr) = np_;                                                                                         \
    } while (0)

static int injected(fake *f, xw_errbuf *eb)
{
    if (f->fail_count == 0)
        return XW_OK;
    f->fail_count--;
    return xw_errf(eb, f->fail_err, "fake node: injected failure (%s)", xw_errname(f->fail_err));
}

static uint64_t now_ns(const fake *f) { return (uint64_t)xw_clock_now_ns(f->clock); }

static int store_msg(fake *f, const uint8_t *gid, size_t gid_len, const uint8_t *data, size_t len,
                     int is_commit, uint64_t *id, xw_errbuf *eb)
{
    for (size_t i = 0; i < f->n_msgs; i++) /* node-go skips identical payloads */
        if (f->msgs[i].len == len && f->msgs[i].gid_len == gid_len &&
            memcmp(f->msgs[i].data, data, len) == 0 && memcmp(f->msgs[i].gid, gid, gid_len) == 0) {
            if (id)
                *id = f->msgs[i].id;
            return XW_OK;
        }
    GROW(f->msgs, f->n_msgs);
    fake_msg *m = &f->msgs[f->n_msgs];
    m->gid = xc_bytes_dup(gid, gid_len);
    m->data = xc_bytes_dup(data, len);
    if (!m->gid || !m->data) {
        xw_free(m->gid);
        xw_free(m->data);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    m->gid_len = gid_len;
    m->len = len;
    m->id = ++f->next_msg;
    m->created_ns = now_ns(f);
    m->is_commit = is_commit;
    f->n_msgs++;
    if (id)
        *id = m->id;
    return XW_OK;
}

/* What both queries do first: the injected failure, an empty page, the page size bounded. */
static int page_start(fake *f, xc_page *out, uint32_t *limit, xw_errbuf *eb)
{
    int rc = injected(f, eb);
    if (rc != XW_OK)
        return rc;
    memset(out, 0, sizeof *out);
    if (*limit == 0 || *limit > XC_PAGE_MAX)
        *limit = XC_PAGE_MAX;
    return XW_OK;
}

static int query_group(void *ctx, const uint8_t *gid, size_t gid_len, uint64_t after, uint32_t limit,
                       xc_page *out, xw_errbuf *eb)
{
    fake *f = ctx;
    int rc = page_start(f, out, &limit, eb);
    if (rc != XW_OK)
        return rc;
    out->groups = xw_calloc(limit, sizeof *out->groups);
    if (!out->groups)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    for (size_t i = 0; i < f->n_msgs && out->n < limit; i++) {
        const fake_msg *m = &f->msgs[i];
        if (m->id <= after || m->gid_len != gid_len || memcmp(m->gid, gid, gid_len) != 0)
            continue;
        out->groups[out->n++] =
            (xc_group_env){m->id, m->created_ns, {m->gid, m->gid_len}, {m->data, m->len}, m->is_commit};
    }
    return XW_OK;
}

static int query_welcomes(void *ctx, const uint8_t *key, size_t key_len, uint64_t after, uint32_t limit,
                          xc_page *out, xw_errbuf *eb)
{
    fake *f = ctx;
    int rc = page_start(f, out, &limit, eb);
    if (rc != XW_OK)
        return rc;
    out->welcomes = xw_calloc(limit, sizeof *out->welcomes);
    if (!out->welcomes)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    for (size_t i = 0; i < f->n_welcomes && out->n < limit; i++) {
        const xc_welcome_env *w = &f->welcomes[i].env;
        if (w->id <= after || w->installation_key.len != key_len ||
            memcmp(w->installation_key.p, key, key_len))
            continue;
        out->welcomes[out->n++] = *w;
    }
    return XW_OK;
}

static int send_group(void *ctx, const xc_bytes *msgs, size_t n, xw_errbuf *eb)
{
    fake *f = ctx;
    int rc = injected(f, eb);
    for (size_t i = 0; i < n && rc == XW_OK; i++) {
        mls_message m;
        rc = mls_message_decode(msgs[i].p, msgs[i].len, &m, eb);
        if (rc != XW_OK)
            return xw_errctx(eb, XW_EGRPC, "fake node: message %zu is not an MLSMessage", i);
        mls_span gid = m.wire_format == 2 ? m.priv.group_id : m.pub.content.group_id;
        uint8_t ct = m.wire_format == 2 ? m.priv.content_type : m.pub.content.content_type;
        if (m.wire_format != 1 && m.wire_format != 2)
            return xw_errf(eb, XW_EGRPC, "fake node: message %zu is not a group message", i);
        rc = store_msg(f, gid.p, gid.len, msgs[i].p, msgs[i].len, ct == 2 || ct == 3, NULL, eb);
    }
    return rc;
}

static int upload_key_package(void *ctx, const uint8_t *kp, size_t len, xw_errbuf *eb)
{
    fake *f = ctx;
    int rc = injected(f, eb);
    if (rc != XW_OK)
        return rc;
    mls_key_package *k = NULL;
    rc = mls_key_package_decode(kp, len, &k, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, XW_EGRPC, "fake node: not a key package");
    if (k->leaf->sig_key.len != 32) {
        mls_key_package_free(k);
        return xw_errf(eb, XW_EGRPC, "fake node: key package signature key is not 32 bytes");
    }
    uint8_t key[32];
    memcpy(key, k->leaf->sig_key.p, 32);
    mls_key_package_free(k);
    uint8_t *copy = xw_memdup(kp, len);
    if (!copy)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    for (size_t i = 0; i < f->n_kps; i++)
        if (memcmp(f->kps[i].key, key, 32) == 0) { /* one per installation, latest wins */
            xw_free(f->kps[i].kp);
            f->kps[i].kp = copy;
            f->kps[i].len = len;
            return XW_OK;
        }
    void *np = xw_realloc(f->kps, (f->n_kps + 1) * sizeof *f->kps);
    if (!np) {
        xw_free(copy);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    f->kps = np;
    memcpy(f->kps[f->n_kps].key, key, 32);
    f->kps[f->n_kps].kp = copy;
    f->kps[f->n_kps].len = len;
    f->n_kps++;
    return XW_OK;
}

static int link_address(fake *f, const uint8_t addr[XMTP_ADDRESS_LEN], const char *inbox, xw_errbuf *eb)
{
    char text[XMTP_ADDRESS_STRLEN + 1];
    xmtp_address_to_lower(addr, text);
    for (size_t i = 0; i < f->n_addrs; i++)
        if (strcmp(f->addrs[i].address, text) == 0) {
            memcpy(f->addrs[i].inbox, inbox, 65);
            return XW_OK;
        }
    GROW(f->addrs, f->n_addrs);
    memcpy(f->addrs[f->n_addrs].address, text, sizeof text);
    memcpy(f->addrs[f->n_addrs].inbox, inbox, 65);
    f->n_addrs++;
    return XW_OK;
}

static int publish_identity_update(void *ctx, const uint8_t *update, size_t len, xw_errbuf *eb)
{
    fake *f = ctx;
    int rc = injected(f, eb);
    if (rc != XW_OK)
        return rc;
    xmtp_idu *u = NULL;
    rc = xmtp_idu_decode(update, len, &u, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, XW_EGRPC, "fake node: not an identity update");
    for (size_t i = 0; i < u->n_actions && rc == XW_OK; i++) {
        const xmtp_action *a = &u->actions[i];
        if ((a->kind == XMTP_ACTION_CREATE_INBOX || a->kind == XMTP_ACTION_ADD) &&
            a->member.kind == XMTP_MEMBER_ETHEREUM)
            rc = link_address(f, a->member.bytes, u->inbox_id, eb);
    }
    uint8_t *copy = rc == XW_OK ? xc_bytes_dup(update, len) : NULL;
    if (rc == XW_OK && !copy)
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    void *np = rc == XW_OK ? xw_realloc(f->idus, (f->n_idus + 1) * sizeof *f->idus) : NULL;
    if (rc == XW_OK && !np)
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    if (rc == XW_OK) {
        f->idus = np;
        fake_idu *e = &f->idus[f->n_idus++];
        e->seq = ++f->next_seq;
        e->ns = now_ns(f);
        memcpy(e->inbox, u->inbox_id, 65);
        e->update = copy;
        e->len = len;
    } else {
        xw_free(copy);
    }
    xmtp_idu_free(u);
    return rc;
}

static int get_identity_updates(void *ctx, const char *inbox, uint64_t after, xc_idlog *out, xw_errbuf *eb)
{
    fake *f = ctx;
    int rc = injected(f, eb);
    for (size_t i = 0; i < f->n_idus && rc == XW_OK; i++)
        if (f->idus[i].seq > after && strcmp(f->idus[i].inbox, inbox) == 0 &&
            xc_idlog_add(out, f->idus[i].seq, f->idus[i].ns, f->idus[i].update, f->idus[i].len) != XW_OK)
            rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    return rc;
}

static int get_inbox_id(void *ctx, const char *address, char out[65], int *found, xw_errbuf *eb)
{
    fake *f = ctx;
    int rc = injected(f, eb);
    *found = 0;
    for (size_t i = 0; i < f->n_addrs && rc == XW_OK; i++)
        if (strcmp(f->addrs[i].address, address) == 0) {
            memcpy(out, f->addrs[i].inbox, 65);
            *found = 1;
        }
    return rc;
}

static void destroy(void *ctx)
{
    fake *f = ctx;
    for (size_t i = 0; i < f->n_msgs; i++) {
        xw_free(f->msgs[i].gid);
        xw_free(f->msgs[i].data);
    }
    for (size_t i = 0; i < f->n_welcomes; i++) {
        xc_welcome_env *w = &f->welcomes[i].env;
        xw_free((void *)w->installation_key.p);
        xw_free((void *)w->data.p);
        xw_free((void *)w->hpke_public_key.p);
        xw_free((void *)w->metadata.p);
    }
    for (size_t i = 0; i < f->n_kps; i++)
        xw_free(f->kps[i].kp);
    for (size_t i = 0; i < f->n_idus; i++)
        xw_free(f->idus[i].update);
    xw_free(f->msgs);
    xw_free(f->welcomes);
    xw_free(f->kps);
    xw_free(f->idus);
    xw_free(f->addrs);
    xw_free(f);
}

/* --- subscriptions: every call delivers what the node holds after the filters' cursors --- */
static void sub_free(xc_sub *s)
{
    for (size_t i = 0; s && i < s->n; i++)
        xw_free((void *)s->f[i].key);
    if (s)
        xw_free(s->f);
    xw_free(s);
}

static int subscribe(void *ctx, int welcomes, const xc_sub_filter *flt, size_t n, xc_sub **out, xw_errbuf *eb)
{
    fake *f = ctx;
    int rc = injected(f, eb);
    if (rc != XW_OK)
        return rc;
    xc_sub *s = xw_calloc(1, sizeof *s);
    if (!s || !(s->f = xw_calloc(n ? n : 1, sizeof *s->f))) {
        xw_free(s);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    s->welcomes = welcomes;
    for (size_t i = 0; i < n; i++) {
        s->f[i] = flt[i];
        s->f[i].key = xc_bytes_dup(flt[i].key, flt[i].len);
        if (!s->f[i].key) {
            sub_free(s);
            return xw_errf(eb, XW_ENOMEM, "out of memory");
        }
        s->n++;
        /* a node that repeats itself: the last `replay` envelopes at or before the cursor */
        if (f->replay && s->f[i].cursor > 0) {
            size_t total = welcomes ? f->n_welcomes : f->n_msgs, seen = 0;
            uint64_t newc = 0;
            for (size_t j = total; j-- > 0;) {
                uint64_t id = welcomes ? f->welcomes[j].env.id : f->msgs[j].id;
                const uint8_t *key = welcomes ? f->welcomes[j].env.installation_key.p : f->msgs[j].gid;
                size_t klen = welcomes ? f->welcomes[j].env.installation_key.len : f->msgs[j].gid_len;
                if (id > s->f[i].cursor || klen != flt[i].len || memcmp(key, flt[i].key, klen) != 0)
                    continue;
                if (seen++ == f->replay) {
                    newc = id;
                    break;
                }
            }
            s->f[i].cursor = newc;
        }
    }
    f->n_subs++;
    *out = s;
    return XW_OK;
}

static int sub_next(void *ctx, xc_sub *s, int timeout_ms, xc_page *out, xw_errbuf *eb)
{
    (void)timeout_ms; /* nothing arrives while the fake waits: it answers at once */
    fake *f = ctx;
    memset(out, 0, sizeof *out);
    if (s->dead == 2)
        return xw_errf(eb, XW_ENETWORK, "fake node: the stream was dropped");
    if (s->dead)
        return xw_errf(eb, XW_ECLOSED, "fake node: the stream has ended");
    int rc = injected(f, eb);
    if (rc != XW_OK) {
        s->dead = 1;
        return rc;
    }
    size_t cap = XC_PAGE_MAX;
    if (s->welcomes)
        out->welcomes = xw_calloc(cap, sizeof *out->welcomes);
    else
        out->groups = xw_calloc(cap, sizeof *out->groups);
    if (!out->welcomes && !out->groups)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    size_t total = s->welcomes ? f->n_welcomes : f->n_msgs;
    for (size_t j = 0; j < total && out->n < cap; j++) {
        uint64_t id = s->welcomes ? f->welcomes[j].env.id : f->msgs[j].id;
        const uint8_t *key = s->welcomes ? f->welcomes[j].env.installation_key.p : f->msgs[j].gid;
        size_t klen = s->welcomes ? f->welcomes[j].env.installation_key.len : f->msgs[j].gid_len;
        for (size_t i = 0; i < s->n; i++) {
            if (s->f[i].len != klen || memcmp(s->f[i].key, key, klen) != 0 || id <= s->f[i].cursor)
                continue;
            if (f->drop_after == 0) { /* what came before is delivered; the next call sees the drop */
                f->drop_after = SIZE_MAX;
                s->dead = 2;
                return XW_OK;
            }
            if (f->drop_after != SIZE_MAX)
                f->drop_after--;
            s->f[i].cursor = id;
            if (s->welcomes) {
                out->welcomes[out->n++] = f->welcomes[j].env;
            } else {
                const fake_msg *m = &f->msgs[j];
                out->groups[out->n++] = (xc_group_env){
                    m->id, m->created_ns, {m->gid, m->gid_len}, {m->data, m->len}, m->is_commit};
            }
            break;
        }
    }
    return XW_OK;
}

static void sub_close(void *ctx, xc_sub *s)
{
    (void)ctx;
    sub_free(s);
}

static int fetch_key_package(void *ctx, const uint8_t *key, size_t len, xw_buf *out, xw_errbuf *eb)
{
    fake *f = ctx;
    int rc = injected(f, eb);
    for (size_t i = 0; rc == XW_OK && len == 32 && i < f->n_kps; i++)
        if (memcmp(f->kps[i].key, key, 32) == 0)
            return xw_buf_append(out, f->kps[i].kp, f->kps[i].len) == XW_OK
                       ? XW_OK
                       : xw_errf(eb, XW_ETOOBIG, "fake node: key package too large");
    return rc != XW_OK ? rc : xw_errf(eb, XW_ENOTFOUND, "fake node: no key package for that installation");
}

static int send_welcome_op(void *ctx, const xc_welcome_env *w, xw_errbuf *eb)
{
    fake *f = ctx;
    int rc = injected(f, eb);
    if (rc != XW_OK)
        return rc;
    xc_node n = {.ops = NULL, .ctx = f};
    return xc_node_fake_add_welcome(&n, w, NULL, eb);
}

static const xc_node_ops fake_ops = {
    .query_group = query_group,
    .query_welcomes = query_welcomes,
    .send_group = send_group,
    .upload_key_package = upload_key_package,
    .publish_identity_update = publish_identity_update,
    .get_identity_updates = get_identity_updates,
    .get_inbox_id = get_inbox_id,
    .fetch_key_package = fetch_key_package,
    .send_welcome = send_welcome_op,
    .subscribe = subscribe,
    .sub_next = sub_next,
    .sub_close = sub_close,
    .destroy = destroy,
};

int xc_node_fake_new(const xw_clock *clock, xc_node **out, xw_errbuf *eb)
{
    fake *f = xw_calloc(1, sizeof *f);
    xc_node *n = xw_calloc(1, sizeof *n);
    if (!f || !n) {
        xw_free(f);
        xw_free(n);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    f->clock = clock ? clock : xw_clock_real();
    f->drop_after = SIZE_MAX;
    n->ops = &fake_ops;
    n->ctx = f;
    *out = n;
    return XW_OK;
}

static int dup_bytes(xc_bytes *dst, xc_bytes src)
{
    dst->p = xc_bytes_dup(src.p, src.len);
    dst->len = src.len;
    return dst->p ? XW_OK : XW_ENOMEM;
}

int xc_node_fake_add_welcome(xc_node *n, const xc_welcome_env *w, uint64_t *id, xw_errbuf *eb)
{
    fake *f = n->ctx;
    GROW(f->welcomes, f->n_welcomes);
    xc_welcome_env *e = &f->welcomes[f->n_welcomes].env;
    memset(e, 0, sizeof *e);
    int rc = dup_bytes(&e->installation_key, w->installation_key);
    rc |= dup_bytes(&e->data, w->data);
    rc |= dup_bytes(&e->hpke_public_key, w->hpke_public_key);
    rc |= dup_bytes(&e->metadata, w->metadata);
    if (rc != XW_OK) {
        xw_free((void *)e->installation_key.p);
        xw_free((void *)e->data.p);
        xw_free((void *)e->hpke_public_key.p);
        xw_free((void *)e->metadata.p);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    e->id = ++f->next_welcome;
    e->created_ns = now_ns(f);
    e->is_pointer = w->is_pointer;
    e->wrapper_algorithm = w->wrapper_algorithm;
    f->n_welcomes++;
    if (id)
        *id = e->id;
    return XW_OK;
}

int xc_node_fake_add_group_message(xc_node *n, const uint8_t *gid, size_t gid_len, const uint8_t *data,
                                   size_t len, int is_commit, uint64_t *id, xw_errbuf *eb)
{
    return store_msg(n->ctx, gid, gid_len, data, len, is_commit, id, eb);
}

const uint8_t *xc_node_fake_key_package(xc_node *n, const uint8_t *key, size_t len, size_t *kp_len)
{
    fake *f = n->ctx;
    for (size_t i = 0; len == 32 && i < f->n_kps; i++)
        if (memcmp(f->kps[i].key, key, 32) == 0) {
            *kp_len = f->kps[i].len;
            return f->kps[i].kp;
        }
    return NULL;
}

void xc_node_fake_fail_next(xc_node *n, int err, unsigned count)
{
    fake *f = n->ctx;
    f->fail_err = err;
    f->fail_count = count;
}

size_t xc_node_fake_group_message_count(const xc_node *n)
{
    const fake *f = n->ctx;
    return f->n_msgs;
}

void xc_node_fake_stream_drop_after(xc_node *n, size_t after)
{
    fake *f = n->ctx;
    f->drop_after = after;
}

void xc_node_fake_stream_replay(xc_node *n, size_t count)
{
    fake *f = n->ctx;
    f->replay = count;
}

size_t xc_node_fake_subscriptions(const xc_node *n)
{
    const fake *f = n->ctx;
    return f->n_subs;
}
