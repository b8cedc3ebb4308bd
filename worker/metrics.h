/*
 * Metrics: a small Prometheus registry and its HTTP endpoint.
 *
 * A registry holds metric families (counter, gauge, histogram with fixed buckets), each with
 * a fixed list of label names and at most max_series label combinations (series). Stages
 * look up their series once, at start, and update them on the hot path with atomics only:
 * no lock, no allocation. wk_metrics_render() writes the text exposition format (version
 * 0.0.4): "# HELP" and "# TYPE" lines, then one line per sample; a histogram's buckets are
 * cumulative, and its _count is the sum of the bucket counts it read, so that _count always
 * equals the +Inf bucket (its _sum is read separately and may include an observation the
 * buckets did not yet show).
 *
 * The endpoint (libmicrohttpd, its own thread) serves GET and HEAD on:
 *   /metrics  the registry, rendered for each request (scrape hooks run first)
 *   /healthz  200 "ok" while the process serves requests
 *   /readyz   200 "ready", or 503 "not ready: <reason>" (set by the program)
 * Other paths get 404, other methods 405. At most 16 connections at a time, 10 s idle
 * timeout.
 *
 * Limits (style.md #6): WK_METRICS_MAX_FAMILIES families, WK_METRICS_MAX_LABELS label
 * names, max_series series per family (at most WK_METRICS_MAX_SERIES), label values of at
 * most WK_METRICS_MAX_VALUE bytes, WK_METRICS_MAX_BUCKETS buckets, rendered output of at
 * most WK_METRICS_MAX_OUTPUT bytes.
 *
 * Threads: every function may be called from any thread, except wk_metrics_free() (after
 * the server is stopped and no thread updates any more). Series handles stay valid until the
 * registry is freed.
 */
#ifndef XW_WORKER_METRICS_H
#define XW_WORKER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

#define WK_METRICS_MAX_FAMILIES 256
#define WK_METRICS_MAX_LABELS 4
#define WK_METRICS_MAX_SERIES 1024
#define WK_METRICS_DEFAULT_SERIES 64
#define WK_METRICS_MAX_VALUE 128
#define WK_METRICS_MAX_BUCKETS 32
#define WK_METRICS_MAX_OUTPUT (8u << 20)
#define WK_METRICS_MAX_HOOKS 16

typedef struct wk_metrics wk_metrics;
typedef struct wk_metric wk_metric; /* a family */
typedef struct wk_series wk_series; /* one label combination of a family */

typedef enum { WK_METRIC_COUNTER = 0, WK_METRIC_GAUGE, WK_METRIC_HISTOGRAM } wk_metric_type;

typedef struct {
    const char *name; /* [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in _total */
    const char *help; /* one line */
    wk_metric_type type;
    const char *const *labels; /* names, [a-zA-Z_][a-zA-Z0-9_]*, not "__..."; "le" not in histograms */
    size_t nlabels;
    const double *buckets; /* histograms: upper bounds, strictly increasing, finite (+Inf is added) */
    size_t nbuckets;
    size_t max_series; /* 0: WK_METRICS_DEFAULT_SERIES */
} wk_metric_def;

int wk_metrics_new(wk_metrics **out);
void wk_metrics_free(wk_metrics *m);

/* Adds a family (everything in def is copied). XW_EINVAL with a sentence for a bad
 * definition, XW_EEXISTS for a name already registered, XW_ELIMIT past the family limit. */
int wk_metrics_register(wk_metrics *m, const wk_metric_def *def, wk_metric **out, xw_errbuf *eb);
/* The series with these label values (nlabels of them), created on first use. XW_ELIMIT
 * once the family has max_series series, XW_EINVAL for a value that is too long. */
int wk_metric_series(wk_metric *f, const char *const *values, wk_series **out, xw_errbuf *eb);
/* The one series of a family without labels. */
wk_series *wk_metric_only(wk_metric *f);

/* Updates (lock-free). Counters count whole events; gauges hold a double; histograms
 * count v in the first bucket whose bound is >= v (NaN: +Inf) and add it to the sum. */
void wk_series_add(wk_series *s, uint64_t n); /* counters */
void wk_series_set(wk_series *s, double v);   /* gauges */
void wk_series_move(wk_series *s, double d);  /* gauges: add d (may be negative) */
void wk_series_observe(wk_series *s, double v);
/* The current value (counters, gauges) or count (histograms); for tests and status lines. */
double wk_series_value(const wk_series *s);

/* A hook run before each render (e.g. to read queue depths into gauges). At most
 * WK_METRICS_MAX_HOOKS. Hooks run on the rendering thread, one render at a time. */
int wk_metrics_on_scrape(wk_metrics *m, void (*fn)(void *ctx), void *ctx);
/* Appends the text exposition of every family to out. */
int wk_metrics_render(wk_metrics *m, xw_buf *out);

/* The process's own gauges: process_start_time_seconds (set now) and
 * process_resident_memory_bytes (read from /proc/self/statm at each scrape), named as
 * Prometheus' client libraries name them. */
int wk_metrics_add_process(wk_metrics *m, xw_errbuf *eb);

/* Readiness for /readyz: ready, or not with a reason (one line, copied, cut at 200 bytes). */
void wk_metrics_set_ready(wk_metrics *m, int ready, const char *reason);
/* 1 if ready; else 0 with the reason copied into reason[cap]. */
int wk_metrics_ready(wk_metrics *m, char *reason, size_t cap);

/* --- the endpoint ------------------------------------------------------------------------------ */
typedef struct wk_metrics_server wk_metrics_server;

/* Listens on address ("host:port", "[v6]:port"; port 0 picks a free one) and serves m from
 * a thread of its own. XW_EINVAL for a bad address, XW_EIO (with the system's reason) when
 * it cannot listen. */
int wk_metrics_serve(wk_metrics *m, const char *address, wk_metrics_server **out, xw_errbuf *eb);
/* The port it listens on. */
unsigned wk_metrics_server_port(const wk_metrics_server *s);
/* Stops serving and frees; NULL is fine. */
void wk_metrics_server_stop(wk_metrics_server *s);

#endif
