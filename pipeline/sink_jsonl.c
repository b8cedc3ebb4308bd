/*
 * JSON-lines sink: each event's JSON on its own line, appended to a file or stdout.
 *
 * produce() writes the line into the stdio buffer and remembers the message; poll()
 * flushes (and fsyncs when asked) and then reports every remembered message at once, as
 * delivered or, if the write failed, as retriable (XW_EIO) so the exporter keeps the rows
 * and tries again. At most JSONL_MAX_PENDING messages wait for a flush: past that,
 * produce() answers XW_EFULL and the exporter polls.
 *
 * A payload that contains a newline would break the one-event-per-line framing; the
 * encoder never produces one, and such a message is refused as permanent.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "pipeline/sink.h"

#define JSONL_MAX_PENDING 65536

typedef struct {
    pl_sink base;
    FILE *f;
    int owns_file;
    int do_fsync;
    int write_error; /* errno of the first failed write since the last report */
    void **pending;
    size_t npending;
} jsonl_sink;

static int jsonl_produce(pl_sink *s, const pl_sink_msg *msg, void *opaque, xw_errbuf *eb)
{
    jsonl_sink *j = (jsonl_sink *)s;
    if (memchr(msg->payload, '\n', msg->payload_len))
        return xw_errf(eb, XW_EDELIVERY, "event %s contains a newline and cannot be written as one JSON line",
                       msg->event_id);
    if (j->npending >= JSONL_MAX_PENDING)
        return XW_EFULL;
    if (fwrite(msg->payload, 1, msg->payload_len, j->f) != msg->payload_len || fputc('\n', j->f) == EOF) {
        if (!j->write_error)
            j->write_error = errno ? errno : EIO;
    }
    j->pending[j->npending++] = opaque;
    return XW_OK;
}

static void jsonl_poll(pl_sink *s, int timeout_ms)
{
    (void)timeout_ms;
    jsonl_sink *j = (jsonl_sink *)s;
    if (j->npending == 0)
        return;
    if (fflush(j->f) != 0 && !j->write_error)
        j->write_error = errno ? errno : EIO;
    if (!j->write_error && j->do_fsync && fsync(fileno(j->f)) != 0 && errno != EINVAL)
        j->write_error = errno; /* EINVAL: stdout is a pipe or terminal, nothing to sync */
    char detail[160];
    int err = XW_OK;
    if (j->write_error) {
        snprintf(detail, sizeof detail, "writing JSON lines failed: %s; the events stay in the outbox",
                 strerror(j->write_error));
        err = XW_EIO;
        clearerr(j->f);
    }
    size_t n = j->npending;
    j->npending = 0;
    j->write_error = 0;
    for (size_t i = 0; i < n; i++)
        s->report(s->report_ctx, j->pending[i], err, err ? detail : NULL);
}

static size_t jsonl_in_flight(pl_sink *s) { return ((jsonl_sink *)s)->npending; }

static int jsonl_broken(pl_sink *s, xw_errbuf *eb)
{
    (void)s;
    (void)eb;
    return 0;
}

static int jsonl_restart(pl_sink *s, xw_errbuf *eb)
{
    (void)eb;
    jsonl_poll(s, 0);
    return XW_OK;
}

static void jsonl_destroy(pl_sink *s)
{
    jsonl_sink *j = (jsonl_sink *)s;
    if (j->owns_file)
        fclose(j->f);
    else
        fflush(j->f);
    xw_free(j->pending);
    xw_free(j);
}

static const pl_sink_ops jsonl_ops = {
    .name = "jsonl",
    .produce = jsonl_produce,
    .poll = jsonl_poll,
    .in_flight = jsonl_in_flight,
    .broken = jsonl_broken,
    .restart = jsonl_restart,
    .destroy = jsonl_destroy,
};

int pl_sink_jsonl_new(const char *path, int do_fsync, pl_sink **out, xw_errbuf *eb)
{
    *out = NULL;
    jsonl_sink *j = xw_calloc(1, sizeof *j);
    if (!j)
        return xw_errf(eb, XW_ENOMEM, "out of memory creating the JSON-lines sink");
    j->pending = xw_calloc(JSONL_MAX_PENDING, sizeof *j->pending);
    if (!j->pending) {
        xw_free(j);
        return xw_errf(eb, XW_ENOMEM, "out of memory creating the JSON-lines sink");
    }
    if (strcmp(path, "-") == 0) {
        j->f = stdout;
    } else {
        j->f = fopen(path, "a");
        if (!j->f) {
            int e = errno;
            xw_free(j->pending);
            xw_free(j);
            return xw_errf(eb, XW_EIO, "cannot open %s for appending JSON lines: %s", path, strerror(e));
        }
        j->owns_file = 1;
    }
    j->do_fsync = do_fsync;
    j->base.ops = &jsonl_ops;
    *out = &j->base;
    return XW_OK;
}
