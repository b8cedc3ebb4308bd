/*
 * Outbox → sink exporter (see exporter.h for the contract and the failure handling).
 *
 * Design note. The ring holds one slot per produced event, in read (= seq, then index in
 * the row) order; each slot records its row's seq, its index and the row's event count.
 * The slot's address is the message's opaque, so a delivery report finds its slot without
 * a lookup, and a slot is reused only after the head has passed it (settled). Settling only
 * the completed prefix, whole rows at a time, keeps the outbox simple: every row below the
 * head is deleted or failed, every row from the head on is pending, and a crash at any
 * point loses nothing. A row is produced in part only when the ring or the sink's queue
 * fills up; (resume_seq, resume_idx) then says where to go on, and the next scan starts at
 * that row again. max_in_flight is at least a row's maximum, so a row always fits once the
 * rows before it are settled.
 *
 * Deletion by ranges: between two consecutive rows of the ring no other pending row can
 * exist (rows are read in seq order, new rows always get higher seqs, failed rows are
 * excluded by `state = 0` in the DELETE), so a run of delivered rows is deleted with one
 * `seq BETWEEN first AND last` statement. Requeued rows get new seqs (outbox.h), which
 * keeps this true while an operator requeues during an export.
 */
#include "pipeline/exporter.h"

#include <errno.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "pipeline/lease.h"

enum { SLOT_INFLIGHT = 0, SLOT_OK, SLOT_FAILED, SLOT_RETRY };

typedef struct {
    int64_t seq;
    uint32_t idx, count; /* the event's place in its outbox row, and the row's size */
    int state;
    char *error; /* SLOT_FAILED: why (owned) */
} slot;

struct pl_exporter {
    pl_outbox *ob;
    pl_sink *sink;
    pl_exporter_config cfg;
    pl_lease *lease; /* one exporter per outbox (lease.h) */
    slot *ring;
    size_t head, count, completed;
    int64_t cursor;     /* highest seq whose events were all produced since the last rewind */
    int64_t resume_seq; /* a row produced in part (ring or sink queue full): its seq, */
    size_t resume_idx;  /* and the first event not yet produced */
    int rewind;         /* a retriable report arrived: drain, then read again from the start */
    int sync_retry;     /* the sink refused a row for now: back off, then read again */
    int full;           /* the sink's local queue is full: poll before producing more */
    char retry_detail[XW_ERRBUF_SIZE];
    pl_outbox_range *ranges;
    pl_outbox_failure *fails;
    atomic_int stop;
    atomic_int notified; /* new rows were committed: skip the rest of the idle wait */
    sem_t wake;          /* posted by notify and stop (sem_post is async-signal-safe) */
    atomic_uint_fast64_t produced, delivered, failed, retries, restarts, settles;
    atomic_size_t in_flight;
};

static void on_report(void *ctx, void *opaque, int err, const char *detail)
{
    pl_exporter *ex = ctx;
    slot *s = opaque;
    if (s->state != SLOT_INFLIGHT)
        return; /* cannot happen: one report per message */
    ex->completed++;
    if (err == XW_OK) {
        s->state = SLOT_OK;
    } else if (xw_err_is_retriable(err)) {
        s->state = SLOT_RETRY;
        if (!ex->rewind)
            snprintf(ex->retry_detail, sizeof ex->retry_detail, "%s", detail ? detail : xw_strerror(err));
        ex->rewind = 1;
    } else {
        s->state = SLOT_FAILED;
        s->error = xw_strdup(detail ? detail : xw_strerror(err));
    }
}

int pl_exporter_new(pl_outbox *ob, pl_sink *sink, const pl_exporter_config *cfg, pl_exporter **out,
                    xw_errbuf *eb)
{
    *out = NULL;
    pl_exporter_config c = cfg ? *cfg : (pl_exporter_config){0};
    if (!c.max_in_flight)
        c.max_in_flight = 100000;
    if (!c.batch)
        c.batch = 5000;
    if (c.settle_ms <= 0)
        c.settle_ms = 100;
    if (!c.settle_rows)
        c.settle_rows = 20000;
    if (c.idle_ms <= 0)
        c.idle_ms = 100;
    if (c.backoff_ms <= 0)
        c.backoff_ms = 200;
    if (c.backoff_max_ms < c.backoff_ms)
        c.backoff_max_ms = c.backoff_ms > 10000 ? c.backoff_ms : 10000;
    if (c.stop_timeout_ms <= 0)
        c.stop_timeout_ms = 10000;
    if (c.max_in_flight < PL_OUTBOX_BATCH_MAX_EVENTS)
        c.max_in_flight = PL_OUTBOX_BATCH_MAX_EVENTS; /* a whole outbox row must fit */
    if (c.max_in_flight > 10000000)
        return xw_errf(eb, XW_EINVAL, "exporter max_in_flight %zu is too large; use at most 10000000",
                       c.max_in_flight);
    pl_lease *lease;
    int rc = pl_lease_acquire(pl_outbox_path(ob), &lease, eb);
    if (rc != XW_OK)
        return rc;
    pl_exporter *ex = xw_calloc(1, sizeof *ex);
    if (!ex) {
        pl_lease_release(lease);
        return xw_errf(eb, XW_ENOMEM, "out of memory creating the exporter");
    }
    ex->lease = lease;
    sem_init(&ex->wake, 0, 0);
    ex->ring = xw_calloc(c.max_in_flight, sizeof *ex->ring);
    ex->ranges = xw_calloc(c.max_in_flight, sizeof *ex->ranges);
    ex->fails = xw_calloc(c.max_in_flight, sizeof *ex->fails);
    if (!ex->ring || !ex->ranges || !ex->fails) {
        pl_exporter_free(ex);
        return xw_errf(eb, XW_ENOMEM, "out of memory for %zu exporter slots", c.max_in_flight);
    }
    ex->ob = ob;
    ex->sink = sink;
    ex->cfg = c;
    pl_sink_set_report(sink, on_report, ex);
    *out = ex;
    return XW_OK;
}

void pl_exporter_free(pl_exporter *ex)
{
    if (!ex)
        return;
    if (ex->ring)
        for (size_t i = 0; i < ex->cfg.max_in_flight; i++)
            xw_free(ex->ring[i].error);
    xw_free(ex->ring);
    xw_free(ex->ranges);
    xw_free(ex->fails);
    sem_destroy(&ex->wake);
    pl_lease_release(ex->lease);
    xw_free(ex);
}

void pl_exporter_stop(pl_exporter *ex)
{
    atomic_store(&ex->stop, 1);
    sem_post(&ex->wake);
}

void pl_exporter_notify(pl_exporter *ex)
{
    if (!atomic_exchange(&ex->notified, 1)) /* one post per notification the run has not seen */
        sem_post(&ex->wake);
}

/* The idle wait: until idle_ms pass, a notification or a stop. */
static void idle_wait(pl_exporter *ex)
{
    struct timespec ts;
    xw_deadline_after_ms(&ts, ex->cfg.idle_ms);
    while (!atomic_load(&ex->stop) && !atomic_exchange(&ex->notified, 0))
        if (sem_clockwait(&ex->wake, CLOCK_MONOTONIC, &ts) != 0 && errno == ETIMEDOUT)
            break;
}

void pl_exporter_stats_get(pl_exporter *ex, pl_exporter_stats *out)
{
    out->produced = atomic_load(&ex->produced);
    out->delivered = atomic_load(&ex->delivered);
    out->failed = atomic_load(&ex->failed);
    out->retries = atomic_load(&ex->retries);
    out->restarts = atomic_load(&ex->restarts);
    out->settles = atomic_load(&ex->settles);
    out->in_flight = atomic_load(&ex->in_flight);
}

static slot *ring_at(pl_exporter *ex, size_t i) { return &ex->ring[(ex->head + i) % ex->cfg.max_in_flight]; }

/* Settles the completed prefix of the ring, row by row, in one transaction: a row whose
 * events were all delivered is deleted (runs of such rows as seq ranges); a row with
 * permanent failures and no retriable one is rewritten to keep only the failed events; a
 * row with a retriable failure stays pending whole (the rewind produces it again). With
 * force (after a rewind decision, nothing in flight), a row only partly in the ring is
 * dropped from the ring and stays pending. */
static int settle(pl_exporter *ex, int force, xw_errbuf *eb)
{
    size_t n = 0, nr = 0, nf = 0;
    int run_open = 0;
    uint64_t ok = 0;
    while (n < ex->count) {
        slot *s0 = ring_at(ex, n);
        size_t len = s0->count > s0->idx ? s0->count - s0->idx : 1;
        size_t have = ex->count - n < len ? ex->count - n : len;
        size_t nok = 0, nfail = 0, nretry = 0, ninflight = 0;
        for (size_t i = 0; i < have; i++) {
            int st = ring_at(ex, n + i)->state;
            nok += st == SLOT_OK;
            nfail += st == SLOT_FAILED;
            nretry += st == SLOT_RETRY;
            ninflight += st == SLOT_INFLIGHT;
        }
        if (ninflight > 0 || (have < len && !force) || (s0->idx != 0 && !force))
            break;
        if (have < len || s0->idx != 0 || nretry > 0) {
            run_open = 0; /* stays pending as it is */
        } else if (nfail > 0) {
            run_open = 0;
            for (size_t i = 0; i < have; i++) {
                slot *s = ring_at(ex, n + i);
                if (s->state == SLOT_FAILED)
                    ex->fails[nf++] = (pl_outbox_failure){s->seq, s->error, s->idx};
            }
            ok += nok;
        } else {
            if (run_open)
                ex->ranges[nr - 1].last = s0->seq;
            else
                ex->ranges[nr++] = (pl_outbox_range){s0->seq, s0->seq};
            run_open = 1;
            ok += nok;
        }
        n += have;
    }
    if (n == 0)
        return XW_OK;
    int rc = pl_outbox_settle(ex->ob, ex->ranges, nr, ex->fails, nf, eb);
    if (rc != XW_OK)
        return rc; /* the slots stay; the next settle tries again */
    for (size_t i = 0; i < nf; i++)
        xw_log_error("export", "event %zu of outbox row %lld failed permanently and is kept as failed: %s",
                     ex->fails[i].index, (long long)ex->fails[i].seq,
                     ex->fails[i].error ? ex->fails[i].error : "unknown error");
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        slot *s = ring_at(ex, i);
        done += s->state != SLOT_INFLIGHT;
        xw_free(s->error);
        memset(s, 0, sizeof *s);
    }
    ex->head = (ex->head + n) % ex->cfg.max_in_flight;
    ex->count -= n;
    ex->completed -= done;
    atomic_fetch_add(&ex->delivered, ok);
    atomic_fetch_add(&ex->failed, nf);
    atomic_fetch_add(&ex->settles, 1);
    atomic_store(&ex->in_flight, ex->count);
    return XW_OK;
}

static int on_row(void *ctx, const pl_outbox_row *row)
{
    pl_exporter *ex = ctx;
    if (row->seq == ex->resume_seq && row->index < ex->resume_idx)
        return 0; /* produced before the ring or the sink's queue filled up */
    if (ex->count == ex->cfg.max_in_flight)
        return 1;
    slot *s = ring_at(ex, ex->count);
    s->seq = row->seq;
    s->idx = (uint32_t)row->index;
    s->count = (uint32_t)row->count;
    s->state = SLOT_INFLIGHT;
    s->error = NULL;
    pl_sink_msg msg = {row->event_id, row->kind, row->group_id, row->payload, row->payload_len};
    xw_errbuf e = {{0}};
    int rc = pl_sink_produce(ex->sink, &msg, s, &e);
    if (rc == XW_EFULL) {
        ex->full = 1;
        return 1;
    }
    if (rc != XW_OK && xw_err_is_retriable(rc)) {
        snprintf(ex->retry_detail, sizeof ex->retry_detail, "%s", e.msg[0] ? e.msg : xw_strerror(rc));
        ex->sync_retry = 1;
        return 1;
    }
    if (rc != XW_OK) { /* refused for good: keep it as failed, in its place in the order */
        s->state = SLOT_FAILED;
        s->error = xw_strdup(e.msg[0] ? e.msg : xw_strerror(rc));
        ex->completed++;
    } else {
        atomic_fetch_add(&ex->produced, 1);
    }
    ex->count++;
    if (row->index + 1 == row->count) {
        ex->cursor = row->seq;
        ex->resume_seq = 0;
    } else {
        ex->resume_seq = row->seq;
        ex->resume_idx = row->index + 1;
    }
    return 0;
}

/* Waits (polling) until nothing is in flight or stop + stop timeout. */
static void drain(pl_exporter *ex)
{
    int64_t stop_deadline = 0;
    while (pl_sink_in_flight(ex->sink) > 0) {
        if (atomic_load(&ex->stop)) {
            if (!stop_deadline)
                stop_deadline = xw_clock_mono_ms(xw_clock_real()) + ex->cfg.stop_timeout_ms;
            else if (xw_clock_mono_ms(xw_clock_real()) > stop_deadline)
                break;
        }
        xw_errbuf e;
        if (pl_sink_broken(ex->sink, &e))
            break;
        pl_sink_poll(ex->sink, 50);
    }
}

/* After a retriable failure: drain, restart a broken sink, settle, back off, rewind. */
static int recover(pl_exporter *ex, int *backoff, xw_errbuf *eb)
{
    drain(ex);
    xw_errbuf e = {{0}};
    int rc;
    if (pl_sink_broken(ex->sink, &e)) {
        xw_log_warn("export", "%s", e.msg);
        if ((rc = pl_sink_restart(ex->sink, eb)) != XW_OK)
            return xw_errctx(eb, rc, "restarting the %s sink", pl_sink_name(ex->sink));
        atomic_fetch_add(&ex->restarts, 1);
    }
    if (atomic_load(&ex->stop) && pl_sink_in_flight(ex->sink) > 0)
        return XW_OK; /* stopping with reports outstanding: those rows stay pending */
    /* whatever is still marked in flight will never be reported (restarted sink) */
    for (size_t i = 0; i < ex->count; i++)
        if (ring_at(ex, i)->state == SLOT_INFLIGHT) {
            ring_at(ex, i)->state = SLOT_RETRY;
            ex->completed++;
        }
    while ((rc = settle(ex, 1, eb)) != XW_OK) {
        if (!xw_err_is_retriable(rc) || atomic_load(&ex->stop))
            return rc;
        xw_sleep_ms(100);
    }
    xw_log_warn("export", "delivery interrupted (%s); redelivering pending events from the outbox in %d ms",
                ex->retry_detail, *backoff);
    for (int waited = 0; waited < *backoff && !atomic_load(&ex->stop); waited += 50)
        xw_sleep_ms(50);
    *backoff = *backoff * 2 > ex->cfg.backoff_max_ms ? ex->cfg.backoff_max_ms : *backoff * 2;
    ex->cursor = 0;
    ex->resume_seq = 0;
    ex->rewind = 0;
    ex->sync_retry = 0;
    atomic_fetch_add(&ex->retries, 1);
    return XW_OK;
}

int pl_exporter_run(pl_exporter *ex, int until_empty, xw_errbuf *eb)
{
    int backoff = ex->cfg.backoff_ms;
    int64_t last_settle = xw_clock_mono_ms(xw_clock_real());
    int rc = XW_OK;
    ex->cursor = 0;
    ex->resume_seq = 0;
    while (!atomic_load(&ex->stop)) {
        if (ex->rewind || ex->sync_retry) {
            if ((rc = recover(ex, &backoff, eb)) != XW_OK)
                break;
            continue;
        }
        size_t visited = 0;
        size_t room = ex->cfg.max_in_flight - ex->count;
        if (room > 0 && !ex->full) {
            rc = pl_outbox_scan(ex->ob, ex->cursor, room < ex->cfg.batch ? room : ex->cfg.batch, on_row, ex,
                                &visited, eb);
            if (rc != XW_OK) {
                if (!xw_err_is_retriable(rc))
                    break;
                xw_log_warn("export", "%s; trying again", eb ? eb->msg : xw_strerror(rc));
                rc = XW_OK;
                xw_sleep_ms(100);
            }
            atomic_store(&ex->in_flight, ex->count);
        }
        int busy = visited > 0 && !ex->full;
        ex->full = 0;
        pl_sink_poll(ex->sink, busy ? 0 : (ex->count > 0 ? 10 : 0));
        xw_errbuf be;
        if (!busy && pl_sink_broken(ex->sink, &be)) { /* a dead producer may never report */
            snprintf(ex->retry_detail, sizeof ex->retry_detail, "%s", be.msg);
            ex->rewind = 1;
            continue;
        }
        int64_t now = xw_clock_mono_ms(xw_clock_real());
        /* Settling in large transactions matters: each one rewrites the outbox pages it
         * deletes from, and small ones rewrite the same pages again and again. */
        if (ex->completed > 0 &&
            (ex->completed >= ex->cfg.settle_rows || now - last_settle >= ex->cfg.settle_ms ||
             (ex->completed == ex->count && visited == 0))) {
            size_t before = ex->count;
            rc = settle(ex, 0, eb);
            if (rc != XW_OK) {
                if (!xw_err_is_retriable(rc))
                    break;
                xw_log_warn("export", "%s; trying again", eb ? eb->msg : xw_strerror(rc));
                rc = XW_OK;
            } else if (ex->count < before && !ex->rewind) {
                backoff = ex->cfg.backoff_ms;
            }
            last_settle = now;
        }
        if (visited == 0 && ex->count == 0 && !ex->rewind && !ex->sync_retry) {
            if (ex->cursor != 0) { /* look once more from the start (requeued rows) */
                ex->cursor = 0;
                continue;
            }
            if (until_empty) {
                int64_t pending = 0;
                rc = pl_outbox_counts(ex->ob, &pending, NULL, eb);
                if (rc != XW_OK || pending == 0)
                    break;
            }
            idle_wait(ex);
        }
    }
    /* stopping: collect what is still in flight, within the stop timeout, and settle it */
    drain(ex);
    xw_errbuf e2;
    int src = settle(ex, 0, rc == XW_OK ? eb : &e2);
    if (rc == XW_OK)
        rc = src;
    atomic_store(&ex->in_flight, ex->count);
    return rc;
}
