/*
 * The sink interface's dispatch functions (see sink.h).
 */
#include "pipeline/sink.h"

#include <stdint.h>

#include "common/clock.h"

void pl_sink_set_report(pl_sink *s, pl_sink_report_fn fn, void *ctx)
{
    s->report = fn;
    s->report_ctx = ctx;
}

int pl_sink_produce(pl_sink *s, const pl_sink_msg *msg, void *opaque, xw_errbuf *eb)
{
    return s->ops->produce(s, msg, opaque, eb);
}

void pl_sink_poll(pl_sink *s, int timeout_ms) { s->ops->poll(s, timeout_ms); }
size_t pl_sink_in_flight(pl_sink *s) { return s->ops->in_flight(s); }
int pl_sink_broken(pl_sink *s, xw_errbuf *eb) { return s->ops->broken(s, eb); }
int pl_sink_restart(pl_sink *s, xw_errbuf *eb) { return s->ops->restart(s, eb); }
const char *pl_sink_name(const pl_sink *s) { return s->ops->name; }

int pl_sink_flush(pl_sink *s, int timeout_ms)
{
    int64_t end = timeout_ms < 0 ? INT64_MAX : xw_clock_mono_ms(xw_clock_real()) + timeout_ms;
    while (s->ops->in_flight(s) > 0) {
        int64_t left = end - xw_clock_mono_ms(xw_clock_real());
        if (left <= 0)
            return XW_ETIMEOUT;
        s->ops->poll(s, left > 100 ? 100 : (int)left);
    }
    return XW_OK;
}

void pl_sink_free(pl_sink *s)
{
    if (s)
        s->ops->destroy(s);
}
