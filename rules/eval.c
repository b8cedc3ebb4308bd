/*
 * Conditions over one event, in three-valued logic.
 *
 * A leaf is false when its field is absent (the key was not in the event: the field does
 * not apply), unknown when the field is null (not known yet), and otherwise compared.
 * `and`, `or` and `not` follow Kleene's logic: false and unknown is false, true or unknown
 * is true, everything else with unknown is unknown. A regex that hits its PCRE2 match limit
 * is unknown too (and counted), never a match. Each leaf is computed at most once per event
 * (memo by epoch), so rules that share a test pay for it once; `in` and `intersects` look
 * the value up once in the set's dictionary and answer for every list with one bit test.
 */
#include <fnmatch.h>
#include <string.h>

#include "common/alloc.h"
#include "rules/engine_int.h"

typedef struct {
    uint8_t state;
    const char *s;
    size_t len;
    int64_t i;
    const rules_str *items;
    size_t n;
    int list;
} val;

static int grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 256;
    while (nc < need)
        nc *= 2;
    char *nb = xw_realloc(*buf, nc);
    if (!nb)
        return -1;
    *buf = nb;
    *cap = nc;
    return 0;
}

static int grow_items(rules_lowcache *lc, size_t need)
{
    if (need <= lc->capitems)
        return 0;
    size_t nc = lc->capitems ? lc->capitems : 32;
    while (nc < need)
        nc *= 2;
    rules_str *ni = xw_realloc(lc->items, nc * sizeof *ni);
    if (!ni)
        return -1;
    lc->items = ni;
    lc->capitems = nc;
    return 0;
}

static inline char lower_c(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Copies n bytes from src to dst with ASCII A-Z lowered, eight bytes at a time: per byte,
 * with the high bit masked off, adding 0x80 - 'A' sets bit 7 from 'A' up and adding
 * 0x7f - 'Z' sets it above 'Z' (no carry crosses a byte); bytes >= 0x80 are left alone. */
static void lower_copy(char *dst, const char *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, src + i, 8);
        uint64_t h = x & ~HIGHS;
        uint64_t up = (h + ONES * (0x80 - 'A')) & ~(h + ONES * (0x7f - 'Z')) & ~x & HIGHS;
        x ^= up >> 2;
        memcpy(dst + i, &x, 8);
    }
    for (; i < n; i++)
        dst[i] = lower_c(src[i]);
}

static rules_lowcache *get_lower(rules_engine *e, const rules_event *ev, rules_field f)
{
    rules_lowcache *lc = &e->low[f];
    if (lc->epoch == e->epoch)
        return lc;
    const rules_fval *fv = &ev->f[f];
    if (rules_ftype(f) == RULES_T_STR) {
        if (grow(&lc->buf, &lc->cap, fv->len + 1) != 0)
            return NULL;
        lower_copy(lc->buf, fv->s, fv->len);
        lc->buf[fv->len] = '\0';
        lc->len = fv->len;
    } else {
        size_t total = 0;
        for (size_t i = 0; i < fv->nitems; i++)
            total += fv->items[i].len + 1;
        if (grow(&lc->buf, &lc->cap, total + 1) != 0 || grow_items(lc, fv->nitems + 1) != 0)
            return NULL;
        size_t pos = 0;
        for (size_t i = 0; i < fv->nitems; i++) {
            lc->items[i].s = lc->buf + pos;
            lc->items[i].len = fv->items[i].len;
            lower_copy(lc->buf + pos, fv->items[i].s, fv->items[i].len);
            pos += fv->items[i].len;
            lc->buf[pos++] = '\0';
        }
        lc->nitems = fv->nitems;
    }
    lc->epoch = e->epoch;
    return lc;
}

/* content.words: content.text split into lowered words (words.c). */
static rules_lowcache *get_words(rules_engine *e, const rules_event *ev)
{
    rules_lowcache *wc = &e->words;
    if (wc->epoch == e->epoch)
        return wc;
    const rules_fval *t = &ev->f[RULES_F_CONTENT_TEXT];
    /* at most one word per two bytes, and 1.5 bytes out per byte in plus a NUL per word */
    if (grow(&wc->buf, &wc->cap, 2 * t->len + 2) != 0 || grow_items(wc, t->len / 2 + 1) != 0)
        return NULL;
    wc->nitems = rules_words_split(t->s, t->len, wc->buf, wc->items);
    wc->epoch = e->epoch;
    return wc;
}

/* Characters in n bytes of UTF-8: the bytes that are not continuation bytes (10xxxxxx),
 * counted eight at a time (bit 7 set and bit 6 clear; the byte sum by one multiply). */
static size_t utf8_len(const char *s, size_t n)
{
    size_t cont = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        uint64_t m = (x & ~(x << 1) & HIGHS) >> 7;
        cont += (size_t)((m * ONES) >> 56);
    }
    for (; i < n; i++)
        cont += ((unsigned char)s[i] & 0xC0) == 0x80;
    return n - cont;
}

/* Fetches the operand; returns its state. A NULL cache (out of memory) is reported as unknown. */
static int fetch(rules_engine *e, const rules_event *ev, const rules_coperand *o, int lowered, val *v)
{
    memset(v, 0, sizeof *v);
    if (o->k == CV_RATE || o->k == CV_FIRST) {
        v->state = e->slot_state[o->slot];
        v->i = e->slot_val[o->slot];
        if (v->state == RV_UNKNOWN)
            e->missing |= e->slot_missing[o->slot];
        return v->state;
    }
    rules_field f = o->f;
    const rules_fval *fv = &ev->f[f == RULES_F_CONTENT_WORDS ? RULES_F_CONTENT_TEXT : f];
    v->state = fv->state;
    if (v->state == RV_UNKNOWN)
        e->missing |= UINT64_C(1) << f;
    if (v->state != RV_SET)
        return v->state;
    rules_type t = rules_ftype(f);
    if (t == RULES_T_STR) {
        v->s = fv->s;
        v->len = fv->len;
        if (lowered || o->k == CV_LOWER) {
            rules_lowcache *lc = get_lower(e, ev, f);
            if (!lc)
                return v->state = RV_UNKNOWN;
            v->s = lc->buf;
        }
        if (o->k == CV_LEN)
            v->i = (int64_t)utf8_len(v->s, v->len);
    } else if (t == RULES_T_LIST) {
        v->list = 1;
        if (f == RULES_F_CONTENT_WORDS) {
            rules_lowcache *wc = get_words(e, ev);
            if (!wc)
                return v->state = RV_UNKNOWN;
            v->items = wc->items;
            v->n = wc->nitems;
        } else if (lowered || o->k == CV_LOWER) {
            rules_lowcache *lc = get_lower(e, ev, f);
            if (!lc)
                return v->state = RV_UNKNOWN;
            v->items = lc->items;
            v->n = lc->nitems;
        } else {
            v->items = fv->items;
            v->n = fv->nitems;
        }
        if (o->k == CV_LEN)
            v->i = (int64_t)v->n;
    } else {
        v->i = fv->i;
    }
    return v->state;
}

static void or_row(const rules_set *s, uint64_t *m, const char *str, size_t len)
{
    uint64_t h = rules_hash64(str, len, 0);
    uint32_t bit = RULES_BLOOM_BIT(h), bit2 = RULES_BLOOM_BIT2(h);
    if (!((s->bloom[bit / 64] >> (bit % 64)) & (s->bloom[bit2 / 64] >> (bit2 % 64)) & 1))
        return; /* in no list */
    int32_t row = rules_map_get_h(&s->dict, str, len, h);
    if (row < 0)
        return;
    const uint64_t *r = s->masks + (size_t)row * s->mask_words;
    for (size_t i = 0; i < s->mask_words; i++)
        m[i] |= r[i];
}

static int in_test(rules_engine *e, const rules_cnode *n, const val *v)
{
    const rules_set *s = e->set;
    const uint64_t *m;
    int cacheable = (n->lhs.k == CV_FIELD || n->lhs.k == CV_LOWER);
    int lw = n->lhs.k == CV_LOWER;
    uint64_t *slot = cacheable ? e->masks + ((size_t)n->lhs.f * 2 + (size_t)lw) * s->mask_words : e->tmpmask;
    if (cacheable && e->mask_epoch[n->lhs.f][lw] == e->epoch) {
        m = slot;
    } else {
        memset(slot, 0, s->mask_words * sizeof *slot);
        int numeric = !(n->lhs.k == CV_FIELD || n->lhs.k == CV_LOWER) || rules_ftype(n->lhs.f) == RULES_T_INT;
        if (v->list) {
            for (size_t i = 0; i < v->n; i++)
                or_row(s, slot, v->items[i].s, v->items[i].len);
        } else if (!numeric) {
            or_row(s, slot, v->s, v->len);
        } else {
            char num[32];
            int k = snprintf(num, sizeof num, "%lld", (long long)v->i);
            or_row(s, slot, num, (size_t)k);
        }
        if (cacheable)
            e->mask_epoch[n->lhs.f][lw] = e->epoch;
        m = slot;
    }
    return (m[n->listbit / 64] >> (n->listbit % 64)) & 1;
}

/* Whether p occurs in s. A short needle is found by its first byte and a compare (at most
 * 16 bytes compared per candidate, so bounded); that beats memmem's setup on the short texts
 * of messages. */
static int occurs(const char *s, size_t len, const char *p, size_t pl)
{
    if (pl > len)
        return 0;
    if (pl == 0)
        return 1;
    if (pl > 16)
        return memmem(s, len, p, pl) != NULL;
    const char *end = s + (len - pl) + 1; /* past the last place p can start */
    for (const char *q = s; q < end && (q = memchr(q, p[0], (size_t)(end - q))) != NULL; q++)
        if (memcmp(q + 1, p + 1, pl - 1) == 0)
            return 1;
    return 0;
}

static int str_test(rules_engine *e, const rules_cnode *n, const char *s, size_t len)
{
    if (n->op == OP_REGEX) {
        int rc = pcre2_match(n->re, (PCRE2_SPTR)s, len, 0, 0, e->md, e->set->mctx);
        if (rc >= 0)
            return 1;
        if (rc == PCRE2_ERROR_NOMATCH)
            return 0;
        e->regex_err = 1;
        e->regex_hits++;
        return 2;
    }
    for (size_t k = 0; k < n->nstrs; k++) {
        const char *p = n->strs[k];
        size_t pl = n->lens[k];
        switch (n->op) {
        case OP_CONTAINS:
        case OP_ICONTAINS:
            if (occurs(s, len, p, pl))
                return 1;
            break;
        case OP_STARTSWITH:
            if (pl <= len && memcmp(s, p, pl) == 0)
                return 1;
            break;
        case OP_ENDSWITH:
            if (pl <= len && memcmp(s + len - pl, p, pl) == 0)
                return 1;
            break;
        case OP_GLOB:
        case OP_IGLOB:
            if (fnmatch(p, s, 0) == 0)
                return 1;
            break;
        default:
            break;
        }
    }
    return 0;
}

/* The joined pattern of the regexes on this operand (a string, or every item of a list),
 * run once per event: when it matches nothing, none of them can match. A match or a limit
 * hit returns 1: each regex is then run on its own. */
static int regroup_any(rules_engine *e, const rules_cnode *n, const val *v)
{
    uint32_t g = n->regroup1 - 1;
    if (e->regroup_epoch[g] != e->epoch) {
        const pcre2_code *re = e->set->regroups[g].re;
        int any = 0;
        if (!v->list) {
            any = pcre2_match(re, (PCRE2_SPTR)v->s, v->len, 0, 0, e->md, e->set->mctx) != PCRE2_ERROR_NOMATCH;
        } else {
            for (size_t i = 0; i < v->n && !any; i++)
                any = pcre2_match(re, (PCRE2_SPTR)v->items[i].s, v->items[i].len, 0, 0, e->md,
                                  e->set->mctx) != PCRE2_ERROR_NOMATCH;
        }
        e->regroup_val[g] = (uint8_t)any;
        e->regroup_epoch[g] = e->epoch;
    }
    return e->regroup_val[g];
}

__attribute__((noinline)) static int leaf(rules_engine *e, const rules_event *ev, const rules_cnode *n)
{
    val v;
    int lowered = n->op == OP_ICONTAINS || n->op == OP_IGLOB;
    int st = fetch(e, ev, &n->lhs, lowered, &v);
    if (st == RV_UNKNOWN)
        return 2;
    if (n->op == OP_EXISTS)
        return st == RV_SET;
    if (st != RV_SET)
        return 0;
    switch (n->op) {
    case OP_NONE:
        return v.i != 0;
    case OP_EQ:
    case OP_NE: {
        int eq =
            n->rtype == RULES_T_STR ? (v.len == n->slen && memcmp(v.s, n->s, v.len) == 0) : v.i == n->num;
        return n->op == OP_EQ ? eq : !eq;
    }
    case OP_LT:
        return v.i < n->num;
    case OP_LE:
        return v.i <= n->num;
    case OP_GT:
        return v.i > n->num;
    case OP_GE:
        return v.i >= n->num;
    case OP_IN:
    case OP_INTERSECTS:
        return in_test(e, n, &v);
    default:
        break;
    }
    if (n->op == OP_REGEX && n->regroup1 && !regroup_any(e, n, &v))
        return 0;
    if (!v.list)
        return str_test(e, n, v.s, v.len);
    int r = 0;
    for (size_t i = 0; i < v.n && r != 1; i++) {
        int x = str_test(e, n, v.items[i].s, v.items[i].len);
        if (x > r)
            r = x;
    }
    return r;
}

/* A leaf not in the memo yet: computed, and remembered with the fields it found unknown. */
__attribute__((noinline)) static int leaf_miss(rules_engine *e, const rules_event *ev, const rules_cnode *n)
{
    uint64_t saved = e->missing;
    int saved_re = e->regex_err;
    e->missing = 0;
    e->regex_err = 0;
    int r = leaf(e, ev, n);
    e->computed++;
    rules_memo *m = &e->memo[n->leaf];
    m->epoch = e->epoch;
    m->val = (uint8_t)(r == 2 && e->regex_err ? 3 : r);
    m->missing = e->missing;
    e->missing |= saved;
    e->regex_err |= saved_re;
    return r;
}

/* A leaf: computed inline (a window compare, a RULES_FAST_* test: cheaper than the memo),
 * from the memo, or computed and remembered. Inline in the and/or loops: most children are
 * leaves. */
static inline int eval_leaf(rules_engine *e, const rules_event *ev, const rules_cnode *n)
{
    int q = rules_quick(e, ev, n, &e->missing);
    if (q >= 0)
        return q;
    const rules_memo *m = &e->memo[n->leaf];
    if (m->epoch == e->epoch) {
        e->missing |= m->missing;
        if (m->val == 3) { /* regex limit, remembered */
            e->regex_err = 1;
            return 2;
        }
        return m->val;
    }
    return leaf_miss(e, ev, n);
}

static inline int eval_kid(rules_engine *e, const rules_event *ev, const rules_cnode *n)
{
    return n->k == CN_LEAF ? eval_leaf(e, ev, n) : rules_eval_cond(e, ev, n);
}

int rules_eval_cond(rules_engine *e, const rules_event *ev, const rules_cnode *n)
{
    int a, b;
    switch (n->k) {
    case CN_AND:
        b = 1;
        for (uint32_t i = 0; i < n->nkids; i++) {
            a = eval_kid(e, ev, n->kids[i]);
            if (a == 0)
                return 0;
            b |= a; /* 1 | 2 = 3: unknown unless a later child is false */
        }
        return b == 1 ? 1 : 2;
    case CN_OR:
        b = 0;
        for (uint32_t i = 0; i < n->nkids; i++) {
            a = eval_kid(e, ev, n->kids[i]);
            if (a == 1)
                return 1;
            b |= a;
        }
        return b ? 2 : 0;
    case CN_NOT:
        a = eval_kid(e, ev, n->a);
        return a == 2 ? 2 : !a;
    case CN_CONST:
        return n->cval;
    case CN_LEAF:
        break;
    }
    return eval_leaf(e, ev, n);
}

/*
 * Observes the event in each window slot of its kind. Three passes, so that the cache
 * misses of the window table overlap instead of adding up: hash every key and prefetch its
 * bucket, prefetch the first entry of each bucket, then look up and count. A key field is
 * hashed once for all the slots that use it.
 */
int rules_eval_observe(rules_engine *e, const rules_event *ev)
{
    const rules_set *s = e->set;
    uint32_t kbit = 1u << ev->kind;
    uint64_t fh[RULES_F__COUNT];
    uint32_t fdone = 0;
    for (size_t i = 0; i < s->nslots; i++) {
        const rules_slot *sl = &s->slots[i];
        if (!(sl->kinds & kbit))
            continue;
        const rules_fval *k = &ev->f[sl->key];
        e->slot_state[i] = k->state;
        e->slot_val[i] = 0;
        e->slot_missing[i] = UINT64_C(1) << sl->key;
        if (k->state != RV_SET)
            continue;
        rules_slotkey *sk = &e->slot_keys[i];
        if (rules_ftype(sl->key) == RULES_T_STR) {
            sk->s = k->s;
            sk->len = k->len;
        } else {
            sk->len = (size_t)snprintf(sk->num, sizeof sk->num, "%lld", (long long)k->i);
            sk->s = sk->num;
        }
        if (!(fdone & (1u << sl->key))) {
            fh[sl->key] = rules_hash64(sk->s, sk->len > RULES_WIN_MAX_KEY ? RULES_WIN_MAX_KEY : sk->len, 0);
            fdone |= 1u << sl->key;
        }
        sk->h = rules_wstore_hash_mix(sl->id, fh[sl->key]);
        rules_wstore_prefetch(e->ws, sk->h, 0);
    }
    /* while the window table's lines come in: text work the rules of this kind use (the
     * first test that asks for it would do it; here its cost overlaps the memory latency) */
    int eager = s->eager[ev->kind], text = ev->f[RULES_F_CONTENT_TEXT].state == RV_SET;
    if ((eager & RULES_EAGER_WORDS) && text) {       /* and the words looked up in the lists */
        const rules_lowcache *wc = get_words(e, ev); /* NULL (no memory): met again where used */
        if (wc && s->field_used_in[RULES_F_CONTENT_WORDS]) {
            uint64_t *m = e->masks + (size_t)RULES_F_CONTENT_WORDS * 2 * s->mask_words;
            memset(m, 0, s->mask_words * sizeof *m);
            for (size_t i = 0; i < wc->nitems; i++)
                or_row(s, m, wc->items[i].s, wc->items[i].len);
            e->mask_epoch[RULES_F_CONTENT_WORDS][0] = e->epoch;
        }
    }
    for (size_t i = 0; i < s->nslots; i++)
        if ((s->slots[i].kinds & kbit) && e->slot_state[i] == RV_SET)
            rules_wstore_prefetch(e->ws, e->slot_keys[i].h, 1);
    if ((eager & RULES_EAGER_LOWER_TEXT) && text)
        (void)get_lower(e, ev, RULES_F_CONTENT_TEXT);
    for (size_t i = 0; i < s->nslots; i++) {
        const rules_slot *sl = &s->slots[i];
        if (!(sl->kinds & kbit) || e->slot_state[i] != RV_SET)
            continue;
        const rules_slotkey *sk = &e->slot_keys[i];
        int add = 1;
        if (sl->guard) { /* rate(KEY, WINDOW, GUARD): count the event only when GUARD holds */
            uint64_t saved = e->missing;
            int saved_re = e->regex_err;
            e->missing = 0;
            int g = rules_eval_cond(e, ev, sl->guard);
            e->slot_missing[i] = e->missing;
            e->missing = saved;
            e->regex_err = saved_re;
            if (g == 2) {
                e->slot_state[i] = RV_UNKNOWN;
                continue;
            }
            add = g;
        }
        if (sl->kind == 0) {
            int64_t c = rules_wstore_rate(e->ws, sl, sk->s, sk->len, sk->h, ev->ts_ns, add);
            if (c < 0)
                return XW_ENOMEM;
            e->slot_val[i] = c;
        } else {
            int f = rules_wstore_first(e->ws, sl->id, sk->s, sk->len, sk->h);
            if (f < 0)
                return XW_ENOMEM;
            e->slot_val[i] = f;
        }
    }
    return XW_OK;
}
