/*
 * Allocation wrapper: abort on real out-of-memory, injectable failures for tests, a
 * live-block counter so a test can show that an error path freed everything it took, and a
 * count of bytes requested so a test can bound what an operation allocates.
 */
#include "common/alloc.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint_fast64_t alloc_count;
static atomic_uint_fast64_t alloc_fail_nth; /* absolute index of the first failing call */
static atomic_int alloc_fail_sticky;
static atomic_uint_fast64_t alloc_failures;
static atomic_int_fast64_t alloc_live;
static atomic_uint_fast64_t alloc_bytes;

static void oom(size_t n)
{
    fprintf(stderr, "xmtp-worker: out of memory allocating %zu bytes; aborting\n", n);
    abort();
}

/* Returns 1 if this allocation must fail by injection. */
static int inject(void)
{
    uint64_t idx = atomic_fetch_add(&alloc_count, 1) + 1;
    uint64_t nth = atomic_load(&alloc_fail_nth);
    if (nth == 0)
        return 0;
    if (idx == nth || (idx > nth && atomic_load(&alloc_fail_sticky))) {
        atomic_fetch_add(&alloc_failures, 1);
        return 1;
    }
    return 0;
}

void *xw_malloc(size_t n)
{
    if (inject())
        return NULL;
    atomic_fetch_add(&alloc_bytes, n);
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    atomic_fetch_add(&alloc_live, 1);
    return p;
}

void *xw_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL; /* an overflowing request is a caller bug, not out-of-memory */
    if (inject())
        return NULL;
    atomic_fetch_add(&alloc_bytes, count * size);
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        oom(count * size);
    atomic_fetch_add(&alloc_live, 1);
    return p;
}

void *xw_realloc(void *p, size_t n)
{
    if (inject())
        return NULL;
    atomic_fetch_add(&alloc_bytes, n);
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    if (!p)
        atomic_fetch_add(&alloc_live, 1);
    return q;
}

void *xw_grow(void *arr, size_t n, size_t *cap, size_t first, size_t size)
{
    if (n < *cap)
        return arr;
    if (*cap > SIZE_MAX / 2)
        return NULL;
    size_t nc = *cap ? *cap * 2 : first ? first : 1;
    if (size && nc > SIZE_MAX / size)
        return NULL;
    void *p = xw_realloc(arr, nc * size);
    if (p)
        *cap = nc;
    return p;
}

char *xw_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = xw_malloc(len + 1);
    if (!d)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *xw_strdup(const char *s) { return xw_strndup(s, SIZE_MAX); }

void *xw_memdup(const void *p, size_t n)
{
    void *d = xw_malloc(n);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

void xw_free(void *p)
{
    if (!p)
        return;
    atomic_fetch_sub(&alloc_live, 1);
    free(p);
}

void xw_wipe(void *p, size_t n)
{
    if (!p || !n)
        return;
    explicit_bzero(p, n); /* glibc: a memset the optimiser may not remove */
}

void xw_free_secret(void *p, size_t n)
{
    xw_wipe(p, n);
    xw_free(p);
}

void xw_alloc_fail_at(uint64_t nth, int sticky)
{
    atomic_store(&alloc_fail_sticky, sticky);
    atomic_store(&alloc_fail_nth, nth ? atomic_load(&alloc_count) + nth : 0);
}

uint64_t xw_alloc_count(void) { return atomic_load(&alloc_count); }
uint64_t xw_alloc_failures(void) { return atomic_load(&alloc_failures); }
int64_t xw_alloc_live(void) { return atomic_load(&alloc_live); }
uint64_t xw_alloc_bytes(void) { return atomic_load(&alloc_bytes); }
