/*
 * A small allocation arena for decoded objects: many strings and arrays freed together.
 * Every block comes from xw_malloc; the total is bounded by the arena's maximum so that a
 * hostile input cannot make a decoder allocate more than it was allowed to.
 * Internal to xmtp/ (not part of any public contract). Not thread-safe.
 */
#ifndef XMTP_ARENA_H
#define XMTP_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct xmtp_arena xmtp_arena;

xmtp_arena *xmtp_arena_new(size_t max_total);
void xmtp_arena_free(xmtp_arena *a);
/* Zeroed memory, or NULL (out of memory or past the maximum). */
void *xmtp_arena_alloc(xmtp_arena *a, size_t n);
void *xmtp_arena_array(xmtp_arena *a, size_t count, size_t size);
char *xmtp_arena_strndup(xmtp_arena *a, const char *s, size_t n);
char *xmtp_arena_strdup(xmtp_arena *a, const char *s);
void *xmtp_arena_memdup(xmtp_arena *a, const void *p, size_t n);

#endif
