/*
 * Window state: sliding-window counters for rate(), the memory behind first_message() and
 * rule cooldowns, in one hash table bounded by a cap.
 *
 * An entry is keyed by (slot id, key text); the slot id is a hash of the slot's canonical
 * text (e.g. "rate|kinds|sender.inbox_id|60s"), so state survives a reload that keeps the
 * rule. A rate window of W is counted in 16 buckets of W/16 plus the current one: the count
 * covers at least the last W and at most W + W/16. When the table holds `cap` entries, one
 * that was not used recently is dropped: CLOCK (second chance), an approximation of least
 * recently used that marks an entry on use instead of relinking a list, so a lookup touches
 * no other entry (a flooder that went quiet long ago is forgotten first). Export writes
 * entries in the order they would be dropped, in a small binary format; import validates all
 * of it before replacing anything.
 *
 * Format (little-endian): "XWRULEST" u32 version=1 u32 count, then per entry: u8 type
 * (0 rate, 1 first, 2 cooldown) u64 slot u32 keylen key i64 base i64 width [17 x u32].
 */
#include <string.h>

#include "common/alloc.h"
#include "rules/rules_int.h"

#define MAX_KEY RULES_WIN_MAX_KEY

/* What a lookup compares comes first (one cache line for entries that are not the one);
 * counters and key follow. */
typedef struct wentry {
    struct wentry *hnext;
    uint64_t h, slot;
    uint32_t klen;
    uint32_t total; /* rate: the sum of cnt, kept as buckets come and go */
    uint8_t type;
    uint8_t ref;         /* CLOCK: used since the hand last passed it */
    int64_t base, width; /* rate: newest bucket index and bucket width; cooldown: until (base) */
    uint32_t cnt[RULES_WIN_BUCKETS];
    char key[];
} wentry;

struct rules_wstore {
    wentry **tab;
    size_t tabsize, n, cap;
    wentry **ring; /* every entry, in CLOCK order; the hand points at the next candidate */
    size_t hand;
};

rules_wstore *rules_wstore_new(size_t cap)
{
    if (cap == 0)
        cap = 1;
    rules_wstore *w = xw_calloc(1, sizeof *w);
    if (!w)
        return NULL;
    size_t ts = 64;
    while (ts < cap + cap / 2 && ts < ((size_t)1 << 30))
        ts *= 2;
    w->tab = xw_calloc(ts, sizeof *w->tab);
    w->ring = xw_calloc(cap, sizeof *w->ring);
    if (!w->tab || !w->ring) {
        xw_free(w->tab);
        xw_free(w->ring);
        xw_free(w);
        return NULL;
    }
    w->tabsize = ts;
    w->cap = cap;
    return w;
}

void rules_wstore_free(rules_wstore *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        xw_free(w->ring[i]);
    xw_free(w->ring);
    xw_free(w->tab);
    xw_free(w);
}

size_t rules_wstore_count(const rules_wstore *w) { return w->n; }

/* Puts e in the ring, dropping the first entry the hand finds unused since its last pass. */
static void ring_insert(rules_wstore *w, wentry *e)
{
    if (w->n < w->cap) {
        w->ring[w->n++] = e;
        return;
    }
    for (;;) {
        wentry *x = w->ring[w->hand];
        if (x->ref) {
            x->ref = 0;
            w->hand = (w->hand + 1) % w->cap;
            continue;
        }
        wentry **pp = &w->tab[x->h & (w->tabsize - 1)];
        while (*pp != x)
            pp = &(*pp)->hnext;
        *pp = x->hnext;
        xw_free(x);
        w->ring[w->hand] = e;
        w->hand = (w->hand + 1) % w->cap;
        return;
    }
}

uint64_t rules_wstore_hash_mix(uint64_t slot, uint64_t keyhash)
{
    uint64_t x = keyhash ^ (slot * UINT64_C(0x9e3779b97f4a7c15));
    x ^= x >> 31;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 29;
    return x;
}

uint64_t rules_wstore_hash(uint64_t slot, const char *key, size_t klen)
{
    return rules_wstore_hash_mix(slot, rules_hash64(key, klen > MAX_KEY ? MAX_KEY : klen, 0));
}

void rules_wstore_prefetch(const rules_wstore *w, uint64_t h, int stage)
{
    wentry *const *b = &w->tab[h & (w->tabsize - 1)];
    if (stage == 0) {
        __builtin_prefetch(b);
    } else if (*b) { /* the whole entry: header, counters, key */
        const char *p = (const char *)*b;
        __builtin_prefetch(p);
        __builtin_prefetch(p + 64);
        __builtin_prefetch(p + 128);
        __builtin_prefetch(p + 192);
    }
}

/* Finds or creates (slot, key) and marks it used. *created tells which. */
static wentry *get(rules_wstore *w, uint8_t type, uint64_t slot, const char *key, size_t klen, uint64_t h,
                   int *created)
{
    if (klen > MAX_KEY)
        klen = MAX_KEY;
    for (wentry *e = w->tab[h & (w->tabsize - 1)]; e; e = e->hnext)
        if (e->h == h && e->slot == slot && e->klen == klen && e->type == type &&
            memcmp(e->key, key, klen) == 0) {
            e->ref = 1;
            *created = 0;
            return e;
        }
    wentry *e = xw_malloc(sizeof *e + klen + 1);
    if (!e)
        return NULL;
    memset(e, 0, sizeof *e);
    e->slot = slot;
    e->h = h;
    e->type = type;
    e->klen = (uint32_t)klen;
    memcpy(e->key, key, klen);
    e->key[klen] = '\0';
    size_t b = h & (w->tabsize - 1);
    e->hnext = w->tab[b];
    w->tab[b] = e;
    ring_insert(w, e);
    *created = 1;
    return e;
}

static int64_t floordiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

static uint32_t *bucket(wentry *e, int64_t idx)
{
    int64_t m = idx % RULES_WIN_BUCKETS;
    if (m < 0)
        m += RULES_WIN_BUCKETS;
    return &e->cnt[m];
}

static wentry *find(rules_wstore *w, uint8_t type, uint64_t slot, const char *key, size_t klen, uint64_t h)
{
    if (klen > MAX_KEY)
        klen = MAX_KEY;
    for (wentry *e = w->tab[h & (w->tabsize - 1)]; e; e = e->hnext)
        if (e->h == h && e->slot == slot && e->type == type && e->klen == klen &&
            memcmp(e->key, key, klen) == 0)
            return e;
    return NULL;
}

int64_t rules_wstore_rate(rules_wstore *w, const rules_slot *slot, const char *key, size_t klen, uint64_t h,
                          int64_t ts, int add)
{
    int created = 0;
    wentry *e = add ? get(w, 0, slot->id, key, klen, h, &created) : find(w, 0, slot->id, key, klen, h);
    if (!e)
        return add ? -1 : 0;
    int64_t width = slot->window_ns / 16;
    if (width <= 0)
        width = 1;
    int64_t b = floordiv(ts, width);
    if (created || e->width != width) {
        memset(e->cnt, 0, sizeof e->cnt);
        e->total = 0;
        e->base = b;
        e->width = width;
    }
    if (b > e->base) {
        if (b - e->base >= RULES_WIN_BUCKETS) {
            memset(e->cnt, 0, sizeof e->cnt);
            e->total = 0;
        } else {
            for (int64_t i = e->base + 1; i <= b; i++) {
                uint32_t *c = bucket(e, i);
                e->total -= *c;
                *c = 0;
            }
        }
        e->base = b;
    }
    if (add && e->base - b < RULES_WIN_BUCKETS) { /* an event older than the window is not counted */
        uint32_t *c = bucket(e, b);
        if (e->total < UINT32_MAX) {
            (*c)++;
            e->total++;
        }
    }
    return e->total;
}

int rules_wstore_first(rules_wstore *w, uint64_t slot_id, const char *key, size_t klen, uint64_t h)
{
    int created;
    wentry *e = get(w, 1, slot_id, key, klen, h, &created);
    if (!e)
        return -1;
    return created;
}

int rules_wstore_cooling(rules_wstore *w, uint64_t id, const char *key, size_t klen, int64_t ts)
{
    const wentry *e = find(w, 2, id, key, klen, rules_wstore_hash(id, key, klen));
    return e && ts < e->base;
}

int rules_wstore_cool_until(rules_wstore *w, uint64_t id, const char *key, size_t klen, int64_t until)
{
    int created;
    wentry *e = get(w, 2, id, key, klen, rules_wstore_hash(id, key, klen), &created);
    if (!e)
        return XW_ENOMEM;
    e->base = until;
    return XW_OK;
}

static int put_u(xw_buf *b, uint64_t v, int n)
{
    uint8_t t[8];
    for (int i = 0; i < n; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    return xw_buf_append(b, t, (size_t)n);
}

int rules_wstore_export(const rules_wstore *w, xw_buf *out)
{
    size_t start = out->len;
    int rc = xw_buf_append(out, "XWRULEST", 8);
    rc = rc ? rc : put_u(out, 1, 4);
    rc = rc ? rc : put_u(out, w->n, 4);
    for (size_t k = 0; k < w->n && rc == XW_OK; k++) {
        const wentry *e = w->ring[(w->hand + k) % w->n];
        rc = put_u(out, e->type, 1);
        rc = rc ? rc : put_u(out, e->slot, 8);
        rc = rc ? rc : put_u(out, e->klen, 4);
        rc = rc ? rc : xw_buf_append(out, e->key, e->klen);
        rc = rc ? rc : put_u(out, (uint64_t)e->base, 8);
        rc = rc ? rc : put_u(out, (uint64_t)e->width, 8);
        for (int i = 0; i < RULES_WIN_BUCKETS && e->type == 0 && rc == XW_OK; i++)
            rc = put_u(out, e->cnt[i], 4);
    }
    if (rc != XW_OK)
        xw_buf_truncate(out, start);
    return rc;
}

static int get_u(const uint8_t **p, const uint8_t *end, int n, uint64_t *v)
{
    if (end - *p < n)
        return -1;
    *v = 0;
    for (int i = 0; i < n; i++)
        *v |= (uint64_t)(*p)[i] << (8 * i);
    *p += n;
    return 0;
}

rules_wstore *rules_wstore_import(const uint8_t *p, size_t n, size_t cap, xw_errbuf *eb)
{
    const uint8_t *end = p + n, *p0 = p;
    uint64_t ver = 0, count = 0;
    if (n < 16 || memcmp(p, "XWRULEST", 8) != 0) {
        xw_errf(eb, XW_EMALFORMED, "not a rules state file (bad magic)");
        return NULL;
    }
    p += 8;
    get_u(&p, end, 4, &ver);
    get_u(&p, end, 4, &count);
    if (ver != 1) {
        xw_errf(eb, XW_EUNSUPPORTED, "rules state version %llu is not supported (expected 1)",
                (unsigned long long)ver);
        return NULL;
    }
    /* an entry takes at least 29 bytes: refuse a count the input cannot hold before allocating */
    if (count > (n - 16) / 29) {
        xw_errf(eb, XW_ETRUNCATED, "rules state announces %llu entries but holds at most %zu",
                (unsigned long long)count, (n - 16) / 29);
        return NULL;
    }
    rules_wstore *w = rules_wstore_new(cap);
    if (!w) {
        xw_errf(eb, XW_ENOMEM, "out of memory");
        return NULL;
    }
    for (uint64_t i = 0; i < count; i++) {
        uint64_t type, slot, klen, base, width;
        if (get_u(&p, end, 1, &type) || get_u(&p, end, 8, &slot) || get_u(&p, end, 4, &klen))
            goto trunc;
        if (type > 2 || klen > MAX_KEY) {
            xw_errf(eb, XW_EMALFORMED,
                    "rules state entry %llu at byte %td is invalid (type %llu, key %llu bytes)",
                    (unsigned long long)i, p - p0, (unsigned long long)type, (unsigned long long)klen);
            goto fail;
        }
        if ((size_t)(end - p) < klen)
            goto trunc;
        const char *key = (const char *)p;
        p += klen;
        if (get_u(&p, end, 8, &base) || get_u(&p, end, 8, &width))
            goto trunc;
        int created;
        wentry *e = get(w, (uint8_t)type, slot, key, klen, rules_wstore_hash(slot, key, klen), &created);
        if (!e) {
            xw_errf(eb, XW_ENOMEM, "out of memory");
            goto fail;
        }
        e->base = (int64_t)base;
        e->width = (int64_t)width;
        if (type == 0) {
            if ((int64_t)width <= 0) {
                xw_errf(eb, XW_EMALFORMED, "rules state entry %llu has a bucket width of %lld",
                        (unsigned long long)i, (long long)(int64_t)width);
                goto fail;
            }
            uint64_t total = 0;
            for (int j = 0; j < RULES_WIN_BUCKETS; j++) {
                uint64_t c;
                if (get_u(&p, end, 4, &c))
                    goto trunc;
                e->cnt[j] = (uint32_t)c;
                total += c;
            }
            if (total > UINT32_MAX) {
                xw_errf(eb, XW_EMALFORMED, "rules state entry %llu counts more than 2^32 events",
                        (unsigned long long)i);
                goto fail;
            }
            e->total = (uint32_t)total;
        }
    }
    if (p != end) {
        xw_errf(eb, XW_ETRAILING, "rules state has %td bytes after its last entry", end - p);
        goto fail;
    }
    return w;
trunc:
    xw_errf(eb, XW_ETRUNCATED, "rules state ends in the middle of an entry (byte %td)", p - p0);
fail:
    rules_wstore_free(w);
    return NULL;
}
