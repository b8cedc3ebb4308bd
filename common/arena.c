/*
 * Arena: a list of blocks, newest first; allocations come from the head block's free tail.
 * A request larger than the block size gets an exact block that is linked in behind the
 * head, so the head's free tail stays in use for the small requests after it.
 */
#include "common/arena.h"

#include <string.h>

#include "common/alloc.h"

struct xw_arena_block {
    xw_arena_block *next;
    size_t used, cap;
    _Alignas(8) unsigned char data[];
};

void xw_arena_init(xw_arena *a, size_t block, size_t max_total)
{
    a->head = NULL;
    a->total = 0;
    a->block = block ? block : XW_ARENA_BLOCK_DEFAULT;
    a->max = max_total;
}

static void free_blocks(xw_arena_block *b)
{
    while (b) {
        xw_arena_block *next = b->next;
        xw_free(b);
        b = next;
    }
}

void xw_arena_release(xw_arena *a)
{
    free_blocks(a->head);
    a->head = NULL;
    a->total = 0;
}

void xw_arena_reset(xw_arena *a)
{
    if (!a->head)
        return;
    free_blocks(a->head->next);
    a->head->next = NULL;
    a->head->used = 0;
    a->total = 0;
}

xw_arena *xw_arena_new(size_t block, size_t max_total)
{
    xw_arena *a = xw_malloc(sizeof *a);
    if (a)
        xw_arena_init(a, block, max_total);
    return a;
}

void xw_arena_free(xw_arena *a)
{
    if (!a)
        return;
    xw_arena_release(a);
    xw_free(a);
}

void *xw_arena_alloc(xw_arena *a, size_t n)
{
    if (n > SIZE_MAX / 2) /* so that neither the rounding nor the block's header overflows */
        return NULL;
    n = (n + 7) & ~(size_t)7;
    if (n > a->max - a->total)
        return NULL;
    xw_arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > a->block ? n : a->block;
        xw_arena_block *nb = xw_malloc(sizeof *nb + cap);
        if (!nb)
            return NULL;
        nb->cap = cap;
        nb->used = 0;
        if (b && n > a->block) { /* a big one goes behind the head, which stays in use */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

void *xw_arena_array(xw_arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return xw_arena_alloc(a, count * size);
}

char *xw_arena_strndup(xw_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *d = xw_arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *xw_arena_strdup(xw_arena *a, const char *s) { return xw_arena_strndup(a, s, strlen(s)); }

void *xw_arena_memdup(xw_arena *a, const void *p, size_t n)
{
    void *q = xw_arena_alloc(a, n);
    if (q && n)
        memcpy(q, p, n);
    return q;
}
