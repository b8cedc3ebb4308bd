/*
 * Real and manual clocks. The real clock is a static object with no state; the manual one
 * keeps its two readings in atomics.
 */
#include "common/clock.h"

#include <stdatomic.h>
#include <time.h>

#include "common/alloc.h"

struct xw_clock {
    int manual;
    atomic_int_fast64_t now_ns;
    atomic_int_fast64_t mono_ns;
};

static struct xw_clock real_clock = {.manual = 0};

const xw_clock *xw_clock_real(void) { return &real_clock; }

static int64_t read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * XW_NS_PER_SEC + ts.tv_nsec;
}

int64_t xw_clock_now_ns(const xw_clock *c)
{
    if (c && c->manual)
        return atomic_load(&((xw_clock *)c)->now_ns);
    return read_clock(CLOCK_REALTIME);
}

int64_t xw_clock_mono_ns(const xw_clock *c)
{
    if (c && c->manual)
        return atomic_load(&((xw_clock *)c)->mono_ns);
    return read_clock(CLOCK_MONOTONIC);
}

int64_t xw_clock_thread_cpu_ns(void) { return read_clock(CLOCK_THREAD_CPUTIME_ID); }

xw_clock *xw_clock_manual_new(int64_t now_ns, int64_t mono_ns)
{
    xw_clock *c = xw_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->manual = 1;
    atomic_store(&c->now_ns, now_ns);
    atomic_store(&c->mono_ns, mono_ns);
    return c;
}

void xw_clock_manual_set(xw_clock *c, int64_t now_ns) { atomic_store(&c->now_ns, now_ns); }

void xw_clock_manual_advance(xw_clock *c, int64_t delta_ns)
{
    if (delta_ns < 0)
        return;
    atomic_fetch_add(&c->now_ns, delta_ns);
    atomic_fetch_add(&c->mono_ns, delta_ns);
}

void xw_clock_free(xw_clock *c)
{
    if (c && c->manual)
        xw_free(c);
}

void xw_deadline_after_ms(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int xw_cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
    return rc;
}

void xw_sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}
