/*
 * The metrics registry (metrics.h) and its text exposition.
 *
 * Families and series live in lists under one mutex, which only registration, series lookup
 * and rendering take; updates touch a series' atomics only. Gauges and histogram sums are
 * doubles kept as their bit patterns in 64-bit atomics (C11 has no atomic add for
 * doubles): set is a store, add a compare-and-swap loop. Counters and bucket counts are
 * plain atomic integers. Every atomic uses relaxed order: a scrape needs each number to be
 * one that was true at some moment, not a consistent cut across numbers.
 */
#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "worker/metrics.h"

#define REASON_MAX 200

struct wk_series {
    wk_series *next;
    wk_metric *fam;
    char *values[WK_METRICS_MAX_LABELS];
    _Atomic uint64_t count; /* counters */
    _Atomic uint64_t bits;  /* gauges: the value; histograms: the sum (double bits) */
    _Atomic uint64_t *buckets;
};

struct wk_metric {
    wk_metrics *reg;
    char *name, *help;
    wk_metric_type type;
    char *labels[WK_METRICS_MAX_LABELS];
    size_t nlabels;
    double bounds[WK_METRICS_MAX_BUCKETS];
    size_t nbuckets;
    size_t max_series, nseries;
    wk_series *first, *last;
};

typedef struct {
    void (*fn)(void *ctx);
    void *ctx;
} hook;

struct wk_metrics {
    pthread_mutex_t lock; /* families, series lists, hooks */
    wk_metric *fam[WK_METRICS_MAX_FAMILIES];
    size_t nfam;
    hook hooks[WK_METRICS_MAX_HOOKS];
    size_t nhooks;
    pthread_mutex_t render_lock; /* one render (and its hooks) at a time */
    pthread_mutex_t ready_lock;
    int ready;
    char reason[REASON_MAX + 1];
};

static uint64_t dbits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static double bitsd(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

int wk_metrics_new(wk_metrics **out)
{
    wk_metrics *m = xw_calloc(1, sizeof *m);
    if (!m)
        return XW_ENOMEM;
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->render_lock, NULL);
    pthread_mutex_init(&m->ready_lock, NULL);
    snprintf(m->reason, sizeof m->reason, "starting");
    *out = m;
    return XW_OK;
}

static void series_free(wk_series *s)
{
    for (size_t i = 0; i < WK_METRICS_MAX_LABELS; i++)
        xw_free(s->values[i]);
    xw_free(s->buckets);
    xw_free(s);
}

static void family_free(wk_metric *f)
{
    for (wk_series *s = f->first, *n; s; s = n) {
        n = s->next;
        series_free(s);
    }
    for (size_t i = 0; i < f->nlabels; i++)
        xw_free(f->labels[i]);
    xw_free(f->name);
    xw_free(f->help);
    xw_free(f);
}

void wk_metrics_free(wk_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nfam; i++)
        family_free(m->fam[i]);
    pthread_mutex_destroy(&m->lock);
    pthread_mutex_destroy(&m->render_lock);
    pthread_mutex_destroy(&m->ready_lock);
    xw_free(m);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* (colon allowed for metric names only) */
static int name_ok(const char *s, int colon)
{
    if (!s || !*s || strlen(s) > 200)
        return 0;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
                 (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static wk_series *series_new(wk_metric *f, const char *const *values)
{
    wk_series *s = xw_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->fam = f;
    for (size_t i = 0; i < f->nlabels; i++)
        if (!(s->values[i] = xw_strdup(values[i]))) {
            series_free(s);
            return NULL;
        }
    if (f->type == WK_METRIC_HISTOGRAM && !(s->buckets = xw_calloc(f->nbuckets + 1, sizeof *s->buckets))) {
        series_free(s);
        return NULL;
    }
    atomic_init(&s->count, 0);
    atomic_init(&s->bits, dbits(0.0));
    for (size_t i = 0; s->buckets && i <= f->nbuckets; i++)
        atomic_init(&s->buckets[i], 0);
    return s;
}

static int check_def(const wk_metric_def *def, xw_errbuf *eb)
{
    const char *n = def->name;
    if (!name_ok(n, 1))
        return xw_errf(eb, XW_EINVAL, "metric name \"%.64s\" is not [a-zA-Z_:][a-zA-Z0-9_:]* (at most 200)",
                       n ? n : "");
    if (def->type == WK_METRIC_COUNTER && !ends_with(n, "_total"))
        return xw_errf(eb, XW_EINVAL, "counter %s: a counter's name ends in _total", n);
    if (def->type != WK_METRIC_COUNTER && ends_with(n, "_total"))
        return xw_errf(eb, XW_EINVAL, "%s: only counters' names end in _total", n);
    if (def->type == WK_METRIC_HISTOGRAM &&
        (ends_with(n, "_bucket") || ends_with(n, "_sum") || ends_with(n, "_count")))
        return xw_errf(eb, XW_EINVAL, "histogram %s: _bucket, _sum and _count are added to its name", n);
    if (!def->help || strchr(def->help, '\n') || strlen(def->help) > 400)
        return xw_errf(eb, XW_EINVAL, "%s: give a help text of one line (at most 400 bytes)", n);
    if (def->nlabels > WK_METRICS_MAX_LABELS)
        return xw_errf(eb, XW_EINVAL, "%s: at most %d labels", n, WK_METRICS_MAX_LABELS);
    for (size_t i = 0; i < def->nlabels; i++) {
        const char *l = def->labels[i];
        if (!name_ok(l, 0) || strncmp(l, "__", 2) == 0)
            return xw_errf(eb, XW_EINVAL,
                           "%s: label name \"%.64s\" is not [a-zA-Z_][a-zA-Z0-9_]* or starts with __", n,
                           l ? l : "");
        if (def->type == WK_METRIC_HISTOGRAM && strcmp(l, "le") == 0)
            return xw_errf(eb, XW_EINVAL, "histogram %s: the label le is its buckets'", n);
        for (size_t j = 0; j < i; j++)
            if (strcmp(def->labels[j], l) == 0)
                return xw_errf(eb, XW_EINVAL, "%s: label %s appears twice", n, l);
    }
    if (def->type == WK_METRIC_HISTOGRAM) {
        if (def->nbuckets == 0 || def->nbuckets > WK_METRICS_MAX_BUCKETS)
            return xw_errf(eb, XW_EINVAL, "histogram %s: give 1 to %d bucket bounds", n,
                           WK_METRICS_MAX_BUCKETS);
        for (size_t i = 0; i < def->nbuckets; i++)
            if (!isfinite(def->buckets[i]) || (i > 0 && !(def->buckets[i] > def->buckets[i - 1])))
                return xw_errf(eb, XW_EINVAL,
                               "histogram %s: bucket bounds must be finite and strictly increasing", n);
    } else if (def->nbuckets) {
        return xw_errf(eb, XW_EINVAL, "%s: only histograms have buckets", n);
    }
    if (def->max_series > WK_METRICS_MAX_SERIES)
        return xw_errf(eb, XW_EINVAL, "%s: at most %d series", n, WK_METRICS_MAX_SERIES);
    return XW_OK;
}

int wk_metrics_register(wk_metrics *m, const wk_metric_def *def, wk_metric **out, xw_errbuf *eb)
{
    *out = NULL;
    int rc = check_def(def, eb);
    if (rc != XW_OK)
        return rc;
    wk_metric *f = xw_calloc(1, sizeof *f);
    if (!f)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    f->reg = m;
    f->type = def->type;
    f->nlabels = def->nlabels;
    f->nbuckets = def->nbuckets;
    if (def->nbuckets)
        memcpy(f->bounds, def->buckets, def->nbuckets * sizeof *def->buckets);
    f->max_series = def->max_series ? def->max_series : WK_METRICS_DEFAULT_SERIES;
    f->name = xw_strdup(def->name);
    f->help = xw_strdup(def->help);
    int oom = !f->name || !f->help;
    for (size_t i = 0; i < def->nlabels && !oom; i++)
        oom = !(f->labels[i] = xw_strdup(def->labels[i]));
    if (!oom && def->nlabels == 0) { /* the one series exists from the start */
        f->first = f->last = series_new(f, NULL);
        oom = !f->first;
        f->nseries = 1;
    }
    if (oom) {
        family_free(f);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nfam && rc == XW_OK; i++)
        if (strcmp(m->fam[i]->name, def->name) == 0)
            rc = xw_errf(eb, XW_EEXISTS, "metric %s is registered already", def->name);
    if (rc == XW_OK && m->nfam == WK_METRICS_MAX_FAMILIES)
        rc = xw_errf(eb, XW_ELIMIT, "metric %s: the registry holds %d families already", def->name,
                     WK_METRICS_MAX_FAMILIES);
    if (rc == XW_OK)
        m->fam[m->nfam++] = f;
    pthread_mutex_unlock(&m->lock);
    if (rc != XW_OK) {
        family_free(f);
        return rc;
    }
    *out = f;
    return XW_OK;
}

int wk_metric_series(wk_metric *f, const char *const *values, wk_series **out, xw_errbuf *eb)
{
    *out = NULL;
    for (size_t i = 0; i < f->nlabels; i++)
        if (!values[i] || strlen(values[i]) > WK_METRICS_MAX_VALUE)
            return xw_errf(eb, XW_EINVAL, "%s: the value of label %s is %s", f->name, f->labels[i],
                           values[i] ? "longer than 128 bytes" : "missing");
    wk_metrics *m = f->reg;
    pthread_mutex_lock(&m->lock);
    wk_series *s = f->first;
    for (; s; s = s->next) {
        size_t i = 0;
        while (i < f->nlabels && strcmp(s->values[i], values[i]) == 0)
            i++;
        if (i == f->nlabels)
            break;
    }
    int rc = XW_OK;
    if (!s && f->nseries >= f->max_series) {
        rc = xw_errf(eb, XW_ELIMIT, "%s: at most %zu label combinations; this one is one too many", f->name,
                     f->max_series);
    } else if (!s) {
        s = series_new(f, values);
        if (!s) {
            rc = xw_errf(eb, XW_ENOMEM, "out of memory");
        } else {
            if (f->last)
                f->last->next = s;
            else
                f->first = s;
            f->last = s;
            f->nseries++;
        }
    }
    pthread_mutex_unlock(&m->lock);
    *out = rc == XW_OK ? s : NULL;
    return rc;
}

wk_series *wk_metric_only(wk_metric *f) { return f->nlabels == 0 ? f->first : NULL; }

/* --- updates ----------------------------------------------------------------------------------- */
static void add_double(_Atomic uint64_t *a, double d)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(a, &old, dbits(bitsd(old) + d), memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

void wk_series_add(wk_series *s, uint64_t n)
{
    atomic_fetch_add_explicit(&s->count, n, memory_order_relaxed);
}
void wk_series_set(wk_series *s, double v)
{
    atomic_store_explicit(&s->bits, dbits(v), memory_order_relaxed);
}
void wk_series_move(wk_series *s, double d) { add_double(&s->bits, d); }

void wk_series_observe(wk_series *s, double v)
{
    const wk_metric *f = s->fam;
    size_t i = 0;
    while (i < f->nbuckets && !(v <= f->bounds[i]))
        i++;
    atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    add_double(&s->bits, v);
}

double wk_series_value(const wk_series *s)
{
    switch (s->fam->type) {
    case WK_METRIC_COUNTER:
        return (double)atomic_load_explicit(&s->count, memory_order_relaxed);
    case WK_METRIC_GAUGE:
        return bitsd(atomic_load_explicit(&s->bits, memory_order_relaxed));
    default: {
        uint64_t n = 0;
        for (size_t i = 0; i <= s->fam->nbuckets; i++)
            n += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        return (double)n;
    }
    }
}

/* --- rendering ------------------------------------------------------------------------------- */
/* The shortest text that reads back as v; Prometheus' spellings of the infinities and NaN. */
static void fmt_double(double v, char out[40])
{
    if (isnan(v)) {
        snprintf(out, 40, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, 40, "%s", v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        snprintf(out, 40, "%.0f", v);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(out, 40, "%.*g", p, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* HELP text: backslash and newline escaped. Label values: also the double quote. */
static int put_escaped(xw_buf *b, const char *s, int quote)
{
    int rc = XW_OK;
    for (; *s && rc == XW_OK; s++) {
        if (*s == '\\')
            rc = xw_buf_append_str(b, "\\\\");
        else if (*s == '\n')
            rc = xw_buf_append_str(b, "\\n");
        else if (quote && *s == '"')
            rc = xw_buf_append_str(b, "\\\"");
        else
            rc = xw_buf_append_u8(b, (uint8_t)*s);
    }
    return rc;
}

/* name{labels[,le="x"]} value\n */
static int put_sample(xw_buf *b, const wk_metric *f, const wk_series *s, const char *suffix, const char *le,
                      const char *value)
{
    int rc = xw_buf_appendf(b, "%s%s", f->name, suffix);
    if (rc == XW_OK && (f->nlabels || le)) {
        rc = xw_buf_append_u8(b, '{');
        for (size_t i = 0; i < f->nlabels && rc == XW_OK; i++) {
            rc = xw_buf_appendf(b, "%s%s=\"", i ? "," : "", f->labels[i]);
            rc = rc ? rc : put_escaped(b, s->values[i], 1);
            rc = rc ? rc : xw_buf_append_u8(b, '"');
        }
        if (rc == XW_OK && le)
            rc = xw_buf_appendf(b, "%sle=\"%s\"", f->nlabels ? "," : "", le);
        rc = rc ? rc : xw_buf_append_u8(b, '}');
    }
    return rc ? rc : xw_buf_appendf(b, " %s\n", value);
}

static int render_family(xw_buf *b, const wk_metric *f)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    int rc = xw_buf_appendf(b, "# HELP %s ", f->name);
    rc = rc ? rc : put_escaped(b, f->help, 0);
    rc = rc ? rc : xw_buf_appendf(b, "\n# TYPE %s %s\n", f->name, types[f->type]);
    char v[40], le[40];
    for (const wk_series *s = f->first; s && rc == XW_OK; s = s->next) {
        if (f->type == WK_METRIC_COUNTER) {
            snprintf(v, sizeof v, "%llu",
                     (unsigned long long)atomic_load_explicit(&s->count, memory_order_relaxed));
            rc = put_sample(b, f, s, "", NULL, v);
        } else if (f->type == WK_METRIC_GAUGE) {
            fmt_double(bitsd(atomic_load_explicit(&s->bits, memory_order_relaxed)), v);
            rc = put_sample(b, f, s, "", NULL, v);
        } else {
            uint64_t cum = 0;
            for (size_t i = 0; i <= f->nbuckets && rc == XW_OK; i++) {
                cum += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
                if (i < f->nbuckets)
                    fmt_double(f->bounds[i], le);
                else
                    snprintf(le, sizeof le, "+Inf");
                snprintf(v, sizeof v, "%llu", (unsigned long long)cum);
                rc = put_sample(b, f, s, "_bucket", le, v);
            }
            fmt_double(bitsd(atomic_load_explicit(&s->bits, memory_order_relaxed)), v);
            rc = rc ? rc : put_sample(b, f, s, "_sum", NULL, v);
            snprintf(v, sizeof v, "%llu", (unsigned long long)cum);
            rc = rc ? rc : put_sample(b, f, s, "_count", NULL, v);
        }
    }
    return rc;
}

int wk_metrics_on_scrape(wk_metrics *m, void (*fn)(void *ctx), void *ctx)
{
    int rc = XW_OK;
    pthread_mutex_lock(&m->lock);
    if (m->nhooks == WK_METRICS_MAX_HOOKS)
        rc = XW_ELIMIT;
    else
        m->hooks[m->nhooks++] = (hook){fn, ctx};
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int wk_metrics_render(wk_metrics *m, xw_buf *out)
{
    pthread_mutex_lock(&m->render_lock);
    hook hooks[WK_METRICS_MAX_HOOKS];
    pthread_mutex_lock(&m->lock);
    size_t nh = m->nhooks;
    memcpy(hooks, m->hooks, nh * sizeof *hooks);
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < nh; i++) /* outside the lock: a hook may look up series */
        hooks[i].fn(hooks[i].ctx);
    int rc = XW_OK;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nfam && rc == XW_OK; i++)
        rc = render_family(out, m->fam[i]);
    pthread_mutex_unlock(&m->lock);
    pthread_mutex_unlock(&m->render_lock);
    return rc;
}

/* --- readiness ------------------------------------------------------------------------------- */
void wk_metrics_set_ready(wk_metrics *m, int ready, const char *reason)
{
    pthread_mutex_lock(&m->ready_lock);
    m->ready = ready;
    size_t n = 0;
    for (; reason && reason[n] && n < REASON_MAX; n++)
        m->reason[n] = reason[n] == '\n' || reason[n] == '\r' ? ' ' : reason[n];
    m->reason[n] = '\0';
    pthread_mutex_unlock(&m->ready_lock);
}

int wk_metrics_ready(wk_metrics *m, char *reason, size_t cap)
{
    pthread_mutex_lock(&m->ready_lock);
    int r = m->ready;
    if (!r && cap)
        snprintf(reason, cap, "%s", m->reason);
    pthread_mutex_unlock(&m->ready_lock);
    return r;
}

/* --- the process ------------------------------------------------------------------------------ */
static void read_rss(void *ctx)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size, resident;
    if (!f)
        return;
    if (fscanf(f, "%llu %llu", &size, &resident) == 2)
        wk_series_set(ctx, (double)resident * (double)sysconf(_SC_PAGESIZE));
    fclose(f);
}

int wk_metrics_add_process(wk_metrics *m, xw_errbuf *eb)
{
    wk_metric *start, *rss;
    wk_metric_def ds = {"process_start_time_seconds",
                        "Start time of the process since the Unix epoch, in seconds.",
                        WK_METRIC_GAUGE,
                        NULL,
                        0,
                        NULL,
                        0,
                        0};
    wk_metric_def dr = {"process_resident_memory_bytes",
                        "Resident memory of the process, in bytes.",
                        WK_METRIC_GAUGE,
                        NULL,
                        0,
                        NULL,
                        0,
                        0};
    int rc = wk_metrics_register(m, &ds, &start, eb);
    rc = rc ? rc : wk_metrics_register(m, &dr, &rss, eb);
    if (rc != XW_OK)
        return rc;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    wk_series_set(wk_metric_only(start), (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
    read_rss(wk_metric_only(rss));
    rc = wk_metrics_on_scrape(m, read_rss, wk_metric_only(rss));
    return rc == XW_OK ? rc : xw_errf(eb, rc, "no room for the process metrics' scrape hook");
}
