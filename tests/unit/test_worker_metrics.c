/*
 * Tests for worker/metrics: definitions refused with their reasons, the exposition text
 * (exact for a small registry, and parsed back by a strict parser of the text format 0.0.4
 * written here), escaping, limits, updates from several threads (exact totals) while
 * scrapes run, readiness, allocation failures, and the HTTP endpoint on 127.0.0.1 queried
 * with curl.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "worker/metrics.h"

/* --- a strict parser of the text exposition format -------------------------------------------- */
#define MAXS 4096

typedef struct {
    char name[160];
    int nl;
    char lk[WK_METRICS_MAX_LABELS + 1][64];
    char lv[WK_METRICS_MAX_LABELS + 1][WK_METRICS_MAX_VALUE * 2 + 1];
    double v;
} sample;

typedef struct {
    sample s[MAXS];
    size_t n;
    char types[64][160];
    char kind[64][16];
    size_t ntypes;
    char err[256];
} parsed;

static int fail_at(parsed *p, int line, const char *why)
{
    snprintf(p->err, sizeof p->err, "line %d: %s", line, why);
    return -1;
}

static int name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

static int parse_value(const char *s, size_t len, double *v)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (strcmp(buf, "+Inf") == 0)
        *v = INFINITY;
    else if (strcmp(buf, "-Inf") == 0)
        *v = -INFINITY;
    else if (strcmp(buf, "NaN") == 0)
        *v = NAN;
    else {
        char *end;
        *v = strtod(buf, &end);
        if (*end || (buf[0] != '-' && buf[0] != '.' && (buf[0] < '0' || buf[0] > '9')))
            return -1;
    }
    return 0;
}

/* Parses text; every line must be a HELP, a TYPE or a sample of the family typed last. */
static int parse_text(const char *text, parsed *p)
{
    memset(p, 0, sizeof *p);
    int line = 0;
    const char *cur_family = NULL, *cur_kind = NULL;
    for (const char *l = text; *l;) {
        const char *nl = strchr(l, '\n');
        if (!nl)
            return fail_at(p, line + 1, "the last line has no newline");
        line++;
        size_t len = (size_t)(nl - l);
        if (len >= 2 && l[0] == '#') {
            char word[8], name[160], rest[512];
            int n = 0;
            if (sscanf(l, "# %7s %159s %n", word, name, &n) < 2)
                return fail_at(p, line, "bad comment");
            snprintf(rest, sizeof rest, "%.*s", (int)(nl - (l + n)), l + n);
            if (strcmp(word, "TYPE") == 0) {
                if (strcmp(rest, "counter") && strcmp(rest, "gauge") && strcmp(rest, "histogram"))
                    return fail_at(p, line, "unknown type");
                for (size_t i = 0; i < p->ntypes; i++)
                    if (strcmp(p->types[i], name) == 0)
                        return fail_at(p, line, "a second TYPE for one name");
                if (p->ntypes == 64)
                    return fail_at(p, line, "too many families");
                snprintf(p->types[p->ntypes], sizeof p->types[0], "%s", name);
                snprintf(p->kind[p->ntypes], sizeof p->kind[0], "%.15s", rest);
                cur_family = p->types[p->ntypes];
                cur_kind = p->kind[p->ntypes];
                p->ntypes++;
            } else if (strcmp(word, "HELP") != 0) {
                return fail_at(p, line, "a comment other than HELP or TYPE");
            }
            l = nl + 1;
            continue;
        }
        if (p->n == MAXS)
            return fail_at(p, line, "too many samples");
        sample *s = &p->s[p->n];
        memset(s, 0, sizeof *s);
        size_t i = 0;
        while (i < len && name_char(l[i], i == 0))
            i++;
        if (i == 0 || i >= sizeof s->name)
            return fail_at(p, line, "bad metric name");
        memcpy(s->name, l, i);
        if (i < len && l[i] == '{') {
            i++;
            while (i < len && l[i] != '}') {
                if (s->nl == WK_METRICS_MAX_LABELS + 1)
                    return fail_at(p, line, "too many labels");
                size_t k = i;
                while (i < len && name_char(l[i], i == k) && l[i] != ':')
                    i++;
                if (i == k || i - k >= sizeof s->lk[0] || i + 1 >= len || l[i] != '=' || l[i + 1] != '"')
                    return fail_at(p, line, "bad label");
                memcpy(s->lk[s->nl], l + k, i - k);
                i += 2;
                size_t o = 0;
                while (i < len && l[i] != '"') {
                    char c = l[i++];
                    if (c == '\\') {
                        if (i >= len)
                            return fail_at(p, line, "escape at the end");
                        char e = l[i++];
                        c = e == 'n' ? '\n' : e == '\\' ? '\\' : e == '"' ? '"' : 0;
                        if (!c)
                            return fail_at(p, line, "bad escape");
                    }
                    if (o + 1 >= sizeof s->lv[0])
                        return fail_at(p, line, "label value too long");
                    s->lv[s->nl][o++] = c;
                }
                if (i >= len)
                    return fail_at(p, line, "unterminated label value");
                i++;
                s->nl++;
                if (i < len && l[i] == ',')
                    i++;
                else if (i < len && l[i] != '}')
                    return fail_at(p, line, "labels not separated by commas");
            }
            if (i >= len)
                return fail_at(p, line, "unterminated labels");
            i++;
        }
        if (i >= len || l[i] != ' ')
            return fail_at(p, line, "no space before the value");
        if (parse_value(l + i + 1, len - i - 1, &s->v) != 0)
            return fail_at(p, line, "bad value");
        /* the sample belongs to the family typed last */
        if (!cur_family)
            return fail_at(p, line, "a sample before any TYPE");
        size_t fl = strlen(cur_family);
        int ok = strcmp(s->name, cur_family) == 0 && strcmp(cur_kind, "histogram") != 0;
        if (!ok && strcmp(cur_kind, "histogram") == 0 && strncmp(s->name, cur_family, fl) == 0)
            ok = !strcmp(s->name + fl, "_bucket") || !strcmp(s->name + fl, "_sum") ||
                 !strcmp(s->name + fl, "_count");
        if (!ok)
            return fail_at(p, line, "a sample of another family than the TYPE before it");
        p->n++;
        l = nl + 1;
    }
    return 0;
}

/* Checks every histogram: le ascending to +Inf, counts cumulative, _count == +Inf bucket. */
static void check_histograms(const parsed *p)
{
    for (size_t i = 0; i < p->n; i++) {
        const sample *s = &p->s[i];
        size_t nl = strlen(s->name);
        if (nl < 7 || strcmp(s->name + nl - 7, "_bucket") != 0)
            continue;
        if (i > 0 && strcmp(p->s[i - 1].name, s->name) == 0)
            continue; /* not the first bucket of a series */
        double prev_le = -INFINITY, prev = 0;
        size_t j = i;
        for (; j < p->n && strcmp(p->s[j].name, s->name) == 0; j++) {
            const sample *b = &p->s[j];
            assert_string_equal(b->lk[b->nl - 1], "le");
            double le;
            assert_int_equal(parse_value(b->lv[b->nl - 1], strlen(b->lv[b->nl - 1]), &le), 0);
            assert_true(le > prev_le);
            assert_true(b->v >= prev);
            prev_le = le;
            prev = b->v;
        }
        assert_true(isinf(prev_le) && prev_le > 0);
        assert_true(j + 1 < p->n);
        assert_true(strstr(p->s[j].name, "_sum") != NULL);
        assert_true(strstr(p->s[j + 1].name, "_count") != NULL);
        assert_true(p->s[j + 1].v == prev);
    }
}

static char *render(wk_metrics *m)
{
    xw_buf b;
    xw_buf_init(&b, WK_METRICS_MAX_OUTPUT);
    assert_int_equal(wk_metrics_render(m, &b), XW_OK);
    assert_int_equal(xw_buf_append_u8(&b, 0), XW_OK);
    size_t len;
    return (char *)xw_buf_detach(&b, &len);
}

/* --- tests ------------------------------------------------------------------------------------ */
static void test_definitions_refused(void **state)
{
    (void)state;
    wk_metrics *m = NULL;
    assert_int_equal(wk_metrics_new(&m), XW_OK);
    static const char *const lab[] = {"stage", "stage"};
    static const char *const le[] = {"le"};
    static const char *const dunder[] = {"__x"};
    static const double b_bad[] = {1, 1};
    static const double b_ok[] = {0.1, 1};
    struct {
        wk_metric_def def;
        int rc;
        const char *msg;
    } cases[] = {
        {{"9lives", "h", WK_METRIC_GAUGE, NULL, 0, NULL, 0, 0},
         XW_EINVAL,
         "metric name \"9lives\" is not [a-zA-Z_:][a-zA-Z0-9_:]* (at most 200)"},
        {{"events", "h", WK_METRIC_COUNTER, NULL, 0, NULL, 0, 0},
         XW_EINVAL,
         "counter events: a counter's name ends in _total"},
        {{"depth_total", "h", WK_METRIC_GAUGE, NULL, 0, NULL, 0, 0},
         XW_EINVAL,
         "depth_total: only counters' names end in _total"},
        {{"lat_count", "h", WK_METRIC_HISTOGRAM, NULL, 0, b_ok, 2, 0},
         XW_EINVAL,
         "histogram lat_count: _bucket, _sum and _count are added to its name"},
        {{"g", "two\nlines", WK_METRIC_GAUGE, NULL, 0, NULL, 0, 0},
         XW_EINVAL,
         "g: give a help text of one line (at most 400 bytes)"},
        {{"g", "h", WK_METRIC_GAUGE, lab, 2, NULL, 0, 0}, XW_EINVAL, "g: label stage appears twice"},
        {{"g", "h", WK_METRIC_GAUGE, dunder, 1, NULL, 0, 0},
         XW_EINVAL,
         "g: label name \"__x\" is not [a-zA-Z_][a-zA-Z0-9_]* or starts with __"},
        {{"lat", "h", WK_METRIC_HISTOGRAM, le, 1, b_ok, 2, 0},
         XW_EINVAL,
         "histogram lat: the label le is its buckets'"},
        {{"lat", "h", WK_METRIC_HISTOGRAM, NULL, 0, b_bad, 2, 0},
         XW_EINVAL,
         "histogram lat: bucket bounds must be finite and strictly increasing"},
        {{"lat", "h", WK_METRIC_HISTOGRAM, NULL, 0, NULL, 0, 0},
         XW_EINVAL,
         "histogram lat: give 1 to 32 bucket bounds"},
        {{"g", "h", WK_METRIC_GAUGE, NULL, 0, b_ok, 2, 0}, XW_EINVAL, "g: only histograms have buckets"},
        {{"g", "h", WK_METRIC_GAUGE, NULL, 0, NULL, 0, 5000}, XW_EINVAL, "g: at most 1024 series"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wk_metric *f = (wk_metric *)1;
        xw_errbuf eb = {{0}};
        assert_int_equal(wk_metrics_register(m, &cases[i].def, &f, &eb), cases[i].rc);
        assert_null(f);
        assert_string_equal(eb.msg, cases[i].msg);
    }
    wk_metric *f;
    xw_errbuf eb = {{0}};
    wk_metric_def ok = {"up", "h", WK_METRIC_GAUGE, NULL, 0, NULL, 0, 0};
    assert_int_equal(wk_metrics_register(m, &ok, &f, &eb), XW_OK);
    assert_int_equal(wk_metrics_register(m, &ok, &f, &eb), XW_EEXISTS);
    assert_string_equal(eb.msg, "metric up is registered already");
    char *text = render(m);
    assert_string_equal(text, "# HELP up h\n# TYPE up gauge\nup 0\n");
    xw_free(text);
    wk_metrics_free(m);
}

static const double LAT_BUCKETS[] = {0.001, 0.01, 0.1, 1};

static void test_render_exact_and_parsed(void **state)
{
    (void)state;
    wk_metrics *m = NULL;
    assert_int_equal(wk_metrics_new(&m), XW_OK);
    static const char *const stage[] = {"stage"};
    static const char *const two[] = {"stage", "result"};
    wk_metric *items, *depth, *lat, *acts, *temp;
    xw_errbuf eb;
    wk_metric_def d1 = {
        "xmtpw_items_total", "Items handled by a stage.", WK_METRIC_COUNTER, stage, 1, NULL, 0, 0};
    wk_metric_def d2 = {
        "xmtpw_queue_depth", "Items waiting.\\ Backslash.", WK_METRIC_GAUGE, stage, 1, NULL, 0, 0};
    wk_metric_def d3 = {
        "xmtpw_latency_seconds", "Time per item.", WK_METRIC_HISTOGRAM, NULL, 0, LAT_BUCKETS, 4, 0};
    wk_metric_def d4 = {"xmtpw_actions_total", "Actions.", WK_METRIC_COUNTER, two, 2, NULL, 0, 2};
    wk_metric_def d5 = {"xmtpw_odd", "Odd values.", WK_METRIC_GAUGE, stage, 1, NULL, 0, 0};
    assert_int_equal(wk_metrics_register(m, &d1, &items, &eb), XW_OK);
    assert_int_equal(wk_metrics_register(m, &d2, &depth, &eb), XW_OK);
    assert_int_equal(wk_metrics_register(m, &d3, &lat, &eb), XW_OK);
    assert_int_equal(wk_metrics_register(m, &d4, &acts, &eb), XW_OK);
    assert_int_equal(wk_metrics_register(m, &d5, &temp, &eb), XW_OK);
    wk_series *s_dec, *s_sto, *s_dep, *s_a1, *s_a2, *s;
    const char *v_dec[] = {"decrypt"}, *v_sto[] = {"store"};
    assert_int_equal(wk_metric_series(items, v_dec, &s_dec, &eb), XW_OK);
    assert_int_equal(wk_metric_series(items, v_sto, &s_sto, &eb), XW_OK);
    assert_int_equal(wk_metric_series(items, v_dec, &s, &eb), XW_OK);
    assert_ptr_equal(s, s_dec); /* the same series again */
    assert_null(wk_metric_only(items));
    wk_series_add(s_dec, 41);
    wk_series_add(s_dec, 1);
    wk_series_add(s_sto, 7);
    const char *v_odd[] = {"a\"b\\c\nd"};
    assert_int_equal(wk_metric_series(depth, v_odd, &s_dep, &eb), XW_OK);
    wk_series_set(s_dep, 3);
    wk_series_move(s_dep, -0.5);
    wk_series *h = wk_metric_only(lat);
    assert_non_null(h);
    wk_series_observe(h, 0.0005);
    wk_series_observe(h, 0.001); /* on the bound: in that bucket */
    wk_series_observe(h, 0.05);
    wk_series_observe(h, 3);
    const char *a1[] = {"delete_message", "ok"}, *a2[] = {"remove_member", "failed"}, *a3[] = {"x", "y"};
    assert_int_equal(wk_metric_series(acts, a1, &s_a1, &eb), XW_OK);
    assert_int_equal(wk_metric_series(acts, a2, &s_a2, &eb), XW_OK);
    assert_int_equal(wk_metric_series(acts, a3, &s, &eb), XW_ELIMIT);
    assert_string_equal(eb.msg,
                        "xmtpw_actions_total: at most 2 label combinations; this one is one too many");
    char longv[WK_METRICS_MAX_VALUE + 2];
    memset(longv, 'v', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    const char *lv[] = {longv, "y"};
    assert_int_equal(wk_metric_series(acts, lv, &s, &eb), XW_EINVAL);
    assert_string_equal(eb.msg, "xmtpw_actions_total: the value of label stage is longer than 128 bytes");
    wk_series_add(s_a1, 2);
    const char *o1[] = {"nan"}, *o2[] = {"inf"}, *o3[] = {"small"}, *o4[] = {"big"};
    wk_series *g;
    assert_int_equal(wk_metric_series(temp, o1, &g, &eb), XW_OK);
    wk_series_set(g, NAN);
    assert_int_equal(wk_metric_series(temp, o2, &g, &eb), XW_OK);
    wk_series_set(g, -INFINITY);
    assert_int_equal(wk_metric_series(temp, o3, &g, &eb), XW_OK);
    wk_series_set(g, 0.1);
    assert_int_equal(wk_metric_series(temp, o4, &g, &eb), XW_OK);
    wk_series_set(g, 1e21);

    char *text = render(m);
    assert_string_equal(text, "# HELP xmtpw_items_total Items handled by a stage.\n"
                              "# TYPE xmtpw_items_total counter\n"
                              "xmtpw_items_total{stage=\"decrypt\"} 42\n"
                              "xmtpw_items_total{stage=\"store\"} 7\n"
                              "# HELP xmtpw_queue_depth Items waiting.\\\\ Backslash.\n"
                              "# TYPE xmtpw_queue_depth gauge\n"
                              "xmtpw_queue_depth{stage=\"a\\\"b\\\\c\\nd\"} 2.5\n"
                              "# HELP xmtpw_latency_seconds Time per item.\n"
                              "# TYPE xmtpw_latency_seconds histogram\n"
                              "xmtpw_latency_seconds_bucket{le=\"0.001\"} 2\n"
                              "xmtpw_latency_seconds_bucket{le=\"0.01\"} 2\n"
                              "xmtpw_latency_seconds_bucket{le=\"0.1\"} 3\n"
                              "xmtpw_latency_seconds_bucket{le=\"1\"} 3\n"
                              "xmtpw_latency_seconds_bucket{le=\"+Inf\"} 4\n"
                              "xmtpw_latency_seconds_sum 3.0515\n"
                              "xmtpw_latency_seconds_count 4\n"
                              "# HELP xmtpw_actions_total Actions.\n"
                              "# TYPE xmtpw_actions_total counter\n"
                              "xmtpw_actions_total{stage=\"delete_message\",result=\"ok\"} 2\n"
                              "xmtpw_actions_total{stage=\"remove_member\",result=\"failed\"} 0\n"
                              "# HELP xmtpw_odd Odd values.\n"
                              "# TYPE xmtpw_odd gauge\n"
                              "xmtpw_odd{stage=\"nan\"} NaN\n"
                              "xmtpw_odd{stage=\"inf\"} -Inf\n"
                              "xmtpw_odd{stage=\"small\"} 0.1\n"
                              "xmtpw_odd{stage=\"big\"} 1e+21\n");
    parsed *p = xw_malloc(sizeof *p);
    assert_non_null(p);
    if (parse_text(text, p) != 0)
        fail_msg("%s", p->err);
    assert_int_equal(p->n, 16);
    assert_int_equal(p->ntypes, 5);
    assert_string_equal(p->s[2].lv[0], "a\"b\\c\nd");
    assert_true(p->s[2].v == 2.5);
    check_histograms(p);
    assert_true(wk_series_value(h) == 4);
    assert_true(wk_series_value(s_dec) == 42);
    assert_true(wk_series_value(s_dep) == 2.5);

    /* the parser itself refuses what is not the format */
    static const char *const not_text[] = {
        "up 1\n",                                   /* no TYPE */
        "# TYPE up gauge\nup{a=\"1\"\n",            /* unterminated labels */
        "# TYPE up gauge\nup one\n",                /* value */
        "# TYPE up gauge\ndown 1\n",                /* another family */
        "# TYPE up gauge\n# TYPE up gauge\nup 1\n", /* TYPE twice */
        "# TYPE up gauge\nup{a=\"\\x\"} 1\n",       /* escape */
        "# TYPE up gauge\nup 1",                    /* no newline */
        "# TYPE up summary\nup 1\n",                /* type */
        "# TYPE h histogram\nh_total 1\n",          /* histogram suffix */
    };
    for (size_t i = 0; i < sizeof not_text / sizeof not_text[0]; i++)
        assert_int_equal(parse_text(not_text[i], p), -1);
    xw_free(p);
    xw_free(text);
    wk_metrics_free(m);
}

/* --- threads ---------------------------------------------------------------------------------- */
#define THREADS 4
#define PER_THREAD 100000

typedef struct {
    wk_series *c, *g, *h;
    int id;
} upd_arg;

static void *updater(void *arg)
{
    upd_arg *a = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        wk_series_add(a->c, 1);
        wk_series_move(a->g, 1);
        wk_series_observe(a->h, (double)(i % 4)); /* 0, 1, 2, 3: one per bucket below */
    }
    return NULL;
}

typedef struct {
    wk_metrics *m;
    int scrapes;
    atomic_int stop;
    int hook_calls;
} scrape_arg;

static void hook(void *ctx) { ((scrape_arg *)ctx)->hook_calls++; }

static void *scraper(void *arg)
{
    scrape_arg *a = arg;
    parsed *p = xw_malloc(sizeof *p);
    while (!atomic_load(&a->stop)) {
        xw_buf b;
        xw_buf_init(&b, WK_METRICS_MAX_OUTPUT);
        if (wk_metrics_render(a->m, &b) != XW_OK || xw_buf_append_u8(&b, 0) != XW_OK)
            abort();
        if (parse_text((const char *)b.data, p) != 0)
            abort();
        /* _count equals the +Inf bucket in every scrape */
        double inf = -1, count = -2;
        for (size_t i = 0; i < p->n; i++) {
            if (strcmp(p->s[i].name, "t_h_bucket") == 0 && strcmp(p->s[i].lv[0], "+Inf") == 0)
                inf = p->s[i].v;
            if (strcmp(p->s[i].name, "t_h_count") == 0)
                count = p->s[i].v;
        }
        if (inf != count)
            abort();
        xw_buf_free(&b);
        a->scrapes++;
    }
    xw_free(p);
    return NULL;
}

static void test_threads_exact_totals(void **state)
{
    (void)state;
    wk_metrics *m = NULL;
    assert_int_equal(wk_metrics_new(&m), XW_OK);
    static const double b[] = {0.5, 1.5, 2.5};
    wk_metric *fc, *fg, *fh;
    xw_errbuf eb;
    wk_metric_def dc = {"t_c_total", "c", WK_METRIC_COUNTER, NULL, 0, NULL, 0, 0};
    wk_metric_def dg = {"t_g", "g", WK_METRIC_GAUGE, NULL, 0, NULL, 0, 0};
    wk_metric_def dh = {"t_h", "h", WK_METRIC_HISTOGRAM, NULL, 0, b, 3, 0};
    assert_int_equal(wk_metrics_register(m, &dc, &fc, &eb), XW_OK);
    assert_int_equal(wk_metrics_register(m, &dg, &fg, &eb), XW_OK);
    assert_int_equal(wk_metrics_register(m, &dh, &fh, &eb), XW_OK);
    scrape_arg sa = {m, 0, 0, 0};
    assert_int_equal(wk_metrics_on_scrape(m, hook, &sa), XW_OK);
    pthread_t th[THREADS], sc;
    upd_arg args[THREADS];
    assert_int_equal(pthread_create(&sc, NULL, scraper, &sa), 0);
    for (int i = 0; i < THREADS; i++) {
        args[i] = (upd_arg){wk_metric_only(fc), wk_metric_only(fg), wk_metric_only(fh), i};
        assert_int_equal(pthread_create(&th[i], NULL, updater, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&sa.stop, 1);
    pthread_join(sc, NULL);
    assert_true(sa.scrapes > 0);
    assert_int_equal(sa.hook_calls, sa.scrapes);

    char *text = render(m);
    char want[1024];
    const int n = THREADS * PER_THREAD, q = n / 4;
    snprintf(want, sizeof want,
             "# HELP t_c_total c\n# TYPE t_c_total counter\nt_c_total %d\n"
             "# HELP t_g g\n# TYPE t_g gauge\nt_g %d\n"
             "# HELP t_h h\n# TYPE t_h histogram\nt_h_bucket{le=\"0.5\"} %d\nt_h_bucket{le=\"1.5\"} %d\n"
             "t_h_bucket{le=\"2.5\"} %d\nt_h_bucket{le=\"+Inf\"} %d\nt_h_sum %d\nt_h_count %d\n",
             n, n, q, 2 * q, 3 * q, n, q * (0 + 1 + 2 + 3), n);
    assert_string_equal(text, want);
    xw_free(text);
    wk_metrics_free(m);
}

static void test_readiness_and_limits(void **state)
{
    (void)state;
    wk_metrics *m = NULL;
    assert_int_equal(wk_metrics_new(&m), XW_OK);
    char why[64];
    assert_int_equal(wk_metrics_ready(m, why, sizeof why), 0);
    assert_string_equal(why, "starting");
    wk_metrics_set_ready(m, 0, "catching up: 3/20 groups\nsecond line");
    assert_int_equal(wk_metrics_ready(m, why, sizeof why), 0);
    assert_string_equal(why, "catching up: 3/20 groups second line");
    wk_metrics_set_ready(m, 1, NULL);
    assert_int_equal(wk_metrics_ready(m, why, sizeof why), 1);
    for (int i = 0; i < WK_METRICS_MAX_HOOKS; i++)
        assert_int_equal(wk_metrics_on_scrape(m, hook, NULL), XW_OK);
    assert_int_equal(wk_metrics_on_scrape(m, hook, NULL), XW_ELIMIT);
    wk_metrics_free(m);

    assert_int_equal(wk_metrics_new(&m), XW_OK);
    xw_errbuf peb;
    assert_int_equal(wk_metrics_add_process(m, &peb), XW_OK);
    char *text = render(m);
    parsed *p = xw_malloc(sizeof *p);
    assert_non_null(p);
    if (parse_text(text, p) != 0)
        fail_msg("%s", p->err);
    assert_int_equal(p->n, 2);
    assert_string_equal(p->s[0].name, "process_start_time_seconds");
    assert_true(p->s[0].v > 1.7e9);
    assert_string_equal(p->s[1].name, "process_resident_memory_bytes");
    assert_true(p->s[1].v > 1e6); /* this test, under ASan, is megabytes */
    xw_free(p);
    xw_free(text);
    wk_metrics_free(m);

    assert_int_equal(wk_metrics_new(&m), XW_OK);
    char name[32];
    wk_metric *f;
    xw_errbuf eb;
    for (int i = 0; i < WK_METRICS_MAX_FAMILIES; i++) {
        snprintf(name, sizeof name, "g%d", i);
        wk_metric_def d = {name, "h", WK_METRIC_GAUGE, NULL, 0, NULL, 0, 0};
        assert_int_equal(wk_metrics_register(m, &d, &f, &eb), XW_OK);
    }
    wk_metric_def d = {"one_more", "h", WK_METRIC_GAUGE, NULL, 0, NULL, 0, 0};
    assert_int_equal(wk_metrics_register(m, &d, &f, &eb), XW_ELIMIT);
    assert_string_equal(eb.msg, "metric one_more: the registry holds 256 families already");
    wk_metrics_free(m);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    int64_t live = xw_alloc_live();
    static const char *const lab[] = {"a", "b"};
    for (uint64_t n = 1;; n++) {
        uint64_t before = xw_alloc_failures();
        xw_alloc_fail_at(n, 0);
        wk_metrics *m = NULL;
        int rc = wk_metrics_new(&m);
        wk_metric *f = NULL, *h = NULL;
        wk_series *s = NULL;
        xw_errbuf eb;
        wk_metric_def d = {"x_total", "h", WK_METRIC_COUNTER, lab, 2, NULL, 0, 0};
        wk_metric_def dh = {"lat", "h", WK_METRIC_HISTOGRAM, NULL, 0, LAT_BUCKETS, 4, 0};
        const char *v[] = {"1", "2"};
        if (rc == XW_OK)
            rc = wk_metrics_register(m, &d, &f, &eb);
        if (rc == XW_OK)
            rc = wk_metrics_register(m, &dh, &h, &eb);
        if (rc == XW_OK)
            rc = wk_metric_series(f, v, &s, &eb);
        xw_buf b;
        xw_buf_init(&b, 1 << 20);
        if (rc == XW_OK)
            rc = wk_metrics_render(m, &b);
        xw_alloc_fail_at(0, 0);
        int hit = xw_alloc_failures() > before;
        xw_buf_free(&b);
        wk_metrics_free(m);
        assert_int_equal(xw_alloc_live(), live);
        if (!hit) {
            assert_int_equal(rc, XW_OK);
            break;
        }
        assert_int_equal(rc, XW_ENOMEM);
    }
}

/* --- the endpoint, with curl ------------------------------------------------------------------ */
static char *run(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char *out = xw_calloc(1, 1 << 20);
    size_t n = fread(out, 1, (1 << 20) - 1, f);
    out[n] = '\0';
    assert_int_equal(pclose(f), 0);
    return out;
}

static void test_endpoint_with_curl(void **state)
{
    (void)state;
    wk_metrics *m = NULL;
    assert_int_equal(wk_metrics_new(&m), XW_OK);
    wk_metric *f;
    xw_errbuf eb = {{0}};
    wk_metric_def d = {
        "xmtpw_scrapes_seen_total", "Counted by the test.", WK_METRIC_COUNTER, NULL, 0, NULL, 0, 0};
    assert_int_equal(wk_metrics_register(m, &d, &f, &eb), XW_OK);
    wk_series_add(wk_metric_only(f), 5);
    wk_metrics_server *srv = NULL;
    assert_int_equal(wk_metrics_serve(m, "127.0.0.1:0", &srv, &eb), XW_OK);
    unsigned port = wk_metrics_server_port(srv);
    assert_true(port > 0);
    char cmd[256];

    /* GET /metrics: 200, the exposition's content type, the registry */
    snprintf(cmd, sizeof cmd, "curl -sS -i --max-time 20 http://127.0.0.1:%u/metrics", port);
    char *out = run(cmd);
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(out, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    char *body = strstr(out, "\r\n\r\n");
    assert_non_null(body);
    assert_string_equal(body + 4, "# HELP xmtpw_scrapes_seen_total Counted by the test.\n"
                                  "# TYPE xmtpw_scrapes_seen_total counter\nxmtpw_scrapes_seen_total 5\n");
    xw_free(out);

    /* health and readiness */
    snprintf(cmd, sizeof cmd, "curl -sS --max-time 20 -w ' %%{http_code}' http://127.0.0.1:%u/healthz", port);
    out = run(cmd);
    assert_string_equal(out, "ok\n 200");
    xw_free(out);
    wk_metrics_set_ready(m, 0, "catching up: 3/20 groups");
    snprintf(cmd, sizeof cmd, "curl -sS --max-time 20 -w ' %%{http_code}' http://127.0.0.1:%u/readyz", port);
    out = run(cmd);
    assert_string_equal(out, "not ready: catching up: 3/20 groups\n 503");
    xw_free(out);
    wk_metrics_set_ready(m, 1, NULL);
    out = run(cmd);
    assert_string_equal(out, "ready\n 200");
    xw_free(out);

    /* other paths and methods */
    snprintf(cmd, sizeof cmd, "curl -sS --max-time 20 -w ' %%{http_code}' http://127.0.0.1:%u/nothing", port);
    out = run(cmd);
    assert_string_equal(out, "not found; the paths are /metrics, /healthz and /readyz\n 404");
    xw_free(out);
    snprintf(cmd, sizeof cmd, "curl -sS -i --max-time 20 -X POST -d x=1 http://127.0.0.1:%u/metrics", port);
    out = run(cmd);
    assert_non_null(strstr(out, "HTTP/1.1 405 Method Not Allowed\r\n"));
    assert_non_null(strstr(out, "Allow: GET, HEAD\r\n"));
    assert_non_null(strstr(out, "POST is not allowed; use GET or HEAD\n"));
    xw_free(out);
    snprintf(cmd, sizeof cmd, "curl -sS -I --max-time 20 http://127.0.0.1:%u/metrics", port);
    out = run(cmd);
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    assert_null(strstr(out, "# TYPE"));
    xw_free(out);

    /* a second server on the same port: the system's reason */
    wk_metrics_server *two = NULL;
    char addr[64], want[128];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    assert_int_equal(wk_metrics_serve(m, addr, &two, &eb), XW_EIO);
    assert_null(two);
    snprintf(want, sizeof want, "cannot listen on %s: Address already in use", addr);
    assert_string_equal(eb.msg, want);
    assert_int_equal(wk_metrics_serve(m, "localhost", &two, &eb), XW_EINVAL);
    assert_string_equal(eb.msg, "metrics address \"localhost\" is not host:port");
    wk_metrics_server_stop(srv);

    /* after stop, nothing listens there */
    snprintf(cmd, sizeof cmd, "curl -s --max-time 20 http://127.0.0.1:%u/healthz; echo rc=$?", port);
    out = run(cmd);
    assert_string_equal(out, "rc=7\n");
    xw_free(out);
    wk_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_definitions_refused),  cmocka_unit_test(test_render_exact_and_parsed),
        cmocka_unit_test(test_threads_exact_totals), cmocka_unit_test(test_readiness_and_limits),
        cmocka_unit_test(test_alloc_failures),       cmocka_unit_test(test_endpoint_with_curl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
