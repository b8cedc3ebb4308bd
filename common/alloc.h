/*
 * The one allocation wrapper (docs/style.md #8).
 *
 * Real out-of-memory aborts the process with a message: a daemon that cannot allocate a few
 * bytes cannot do anything useful, and checking every small allocation for a condition that
 * never recovers only hides bugs. Callers still check for NULL, because tests can make the
 * Nth allocation fail (xw_alloc_fail_at) to prove that every error path frees what it took;
 * under that hook the functions return NULL instead of aborting. Code that allocates sizes
 * read from untrusted input checks them against a maximum first (docs/style.md #6).
 *
 * All functions are thread-safe.
 */
#ifndef XW_COMMON_ALLOC_H
#define XW_COMMON_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *xw_malloc(size_t n);
void *xw_calloc(size_t count, size_t size);
void *xw_realloc(void *p, size_t n);
/* Room for one more element in an array of `size`-byte elements, n used of room for *cap:
 * arr itself while n < *cap, else arr reallocated to twice the room (`first` elements when it
 * had none) with *cap updated. NULL when out of memory or past SIZE_MAX: then arr and *cap
 * are as they were and arr is still the caller's. */
void *xw_grow(void *arr, size_t n, size_t *cap, size_t first, size_t size);
char *xw_strdup(const char *s);
char *xw_strndup(const char *s, size_t n);
void *xw_memdup(const void *p, size_t n);
void xw_free(void *p);

/* Overwrites n bytes with zeros in a way the compiler may not remove. */
void xw_wipe(void *p, size_t n);
/* xw_wipe then xw_free; for secrets. NULL is fine. */
void xw_free_secret(void *p, size_t n);

/* --- test hooks --- */
/* Makes the nth allocation from now on (1 = the next one) fail, and every later one too if
 * `sticky`; 0 disables. */
void xw_alloc_fail_at(uint64_t nth, int sticky);
/* Allocations made through this wrapper since the start, and failures injected so far. */
uint64_t xw_alloc_count(void);
uint64_t xw_alloc_failures(void);
/* Blocks allocated and not yet freed through this wrapper (tests compare before/after). */
int64_t xw_alloc_live(void);
/* Bytes requested through this wrapper since the start (a realloc counts its new size), so a
 * test can show that an operation allocates in proportion to its input. */
uint64_t xw_alloc_bytes(void);

#endif
