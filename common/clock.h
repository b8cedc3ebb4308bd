/*
 * Clocks behind one small interface (docs/style.md #10): the real clock, and a manual clock that
 * tests set and advance by hand so that time-dependent code (rate windows, key package
 * lifetimes, retries) is tested without sleeping.
 *
 * A clock is read from any thread; the manual clock's setters are atomic. Code that needs
 * the time, a deadline, a monotonic condition variable or a sleep comes here rather than to
 * clock_gettime (STYLE.md #14: one clock).
 */
#ifndef XW_COMMON_CLOCK_H
#define XW_COMMON_CLOCK_H

#include <pthread.h>
#include <stdint.h>

#define XW_NS_PER_SEC INT64_C(1000000000)
#define XW_NS_PER_MS INT64_C(1000000)

typedef struct xw_clock xw_clock;

/* Wall-clock time in nanoseconds since the Unix epoch. */
int64_t xw_clock_now_ns(const xw_clock *c);
/* Monotonic time in nanoseconds (arbitrary origin); never goes backwards. */
int64_t xw_clock_mono_ns(const xw_clock *c);

/* CPU time used by the calling thread, in nanoseconds: what a benchmark measures on a
 * machine that other processes share. */
int64_t xw_clock_thread_cpu_ns(void);

/* Monotonic time in milliseconds. */
static inline int64_t xw_clock_mono_ms(const xw_clock *c) { return xw_clock_mono_ns(c) / XW_NS_PER_MS; }

/* The process-wide real clock (never freed). */
const xw_clock *xw_clock_real(void);

/* A manual clock starting at the given wall and monotonic times. Free with xw_clock_free. */
xw_clock *xw_clock_manual_new(int64_t now_ns, int64_t mono_ns);
void xw_clock_manual_set(xw_clock *c, int64_t now_ns);
/* Advances both wall and monotonic time by delta_ns (>= 0). */
void xw_clock_manual_advance(xw_clock *c, int64_t delta_ns);
void xw_clock_free(xw_clock *c);

struct timespec;
/* Sets *ts to CLOCK_MONOTONIC's now plus ms: the absolute deadline of a timed wait on a
 * CLOCK_MONOTONIC condition variable or semaphore (pthread_cond_timedwait, sem_clockwait). */
void xw_deadline_after_ms(struct timespec *ts, int64_t ms);
/* pthread_cond_init with CLOCK_MONOTONIC, the clock of xw_deadline_after_ms's deadlines;
 * returns pthread_cond_init's result. */
int xw_cond_init_monotonic(pthread_cond_t *cv);
/* Sleeps ms milliseconds of real time (>= 0; a signal may cut it short). */
void xw_sleep_ms(int64_t ms);

#endif
