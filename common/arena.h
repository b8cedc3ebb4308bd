/*
 * The one arena (STYLE.md #14): bump allocation in blocks, everything freed at once. Decoded
 * contents (xmtp/), compiled rule sets, events and decisions (rules/) each own one.
 *
 * Memory is handed out zeroed and 8-aligned (every scalar type but long double) from blocks
 * of a chosen size; a request larger than the block size gets a block of its own. An arena
 * may have a maximum: past it an allocation fails, so that a hostile input cannot make a
 * decoder take more than it was allowed. Not thread-safe: one owner at a time.
 *
 * An xw_arena is a value the owner embeds (xw_arena_init ... xw_arena_release) or a handle
 * from xw_arena_new (freed by xw_arena_free). Its fields are private to arena.c.
 */
#ifndef XW_COMMON_ARENA_H
#define XW_COMMON_ARENA_H

#include <stddef.h>
#include <stdint.h>

#define XW_ARENA_BLOCK_DEFAULT 16384u /* block size when init is given 0 */
#define XW_ARENA_UNBOUNDED SIZE_MAX   /* no maximum */

typedef struct xw_arena_block xw_arena_block;
typedef struct {
    xw_arena_block *head; /* the block allocations come from; older ones behind it */
    size_t total;         /* bytes handed out (each request rounded up to 8) */
    size_t block;         /* block size */
    size_t max;           /* total may not pass this */
} xw_arena;

/* An empty arena (no block yet); block 0 means XW_ARENA_BLOCK_DEFAULT. */
void xw_arena_init(xw_arena *a, size_t block, size_t max_total);
/* Frees every block; a stays initialised (same block size and maximum) and empty. */
void xw_arena_release(xw_arena *a);
/* Frees all blocks but the newest, which is reused from its start; total goes back to 0.
 * What the arena handed out before is gone. */
void xw_arena_reset(xw_arena *a);

/* A heap-allocated arena, or NULL when out of memory; xw_arena_free releases it and frees
 * the handle (NULL is fine). */
xw_arena *xw_arena_new(size_t block, size_t max_total);
void xw_arena_free(xw_arena *a);

/* n zeroed bytes, or NULL (out of memory, or the maximum would be passed). n may be 0. */
void *xw_arena_alloc(xw_arena *a, size_t n);
/* count * size zeroed bytes; NULL also when the product overflows. */
void *xw_arena_array(xw_arena *a, size_t count, size_t size);
/* Copies: s[0..n) plus a NUL; a C string; n bytes (a valid pointer even for n = 0). */
char *xw_arena_strndup(xw_arena *a, const char *s, size_t n);
char *xw_arena_strdup(xw_arena *a, const char *s);
void *xw_arena_memdup(xw_arena *a, const void *p, size_t n);

#endif
