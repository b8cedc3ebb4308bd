/*
 * Arena: a singly linked list of blocks, each one xw_malloc'd with its header; freeing the
 * arena walks the list. Small allocations are not pooled (decoded contents hold few
 * objects); the point is one owner and one free, and a hard cap on the total.
 */
#include "xmtp/arena.h"

#include <string.h>

#include "common/alloc.h"

struct block {
    struct block *next;
    max_align_t data[];
};

struct xmtp_arena {
    struct block *head;
    size_t used, max;
};

xmtp_arena *xmtp_arena_new(size_t max_total)
{
    xmtp_arena *a = xw_calloc(1, sizeof *a);
    if (a)
        a->max = max_total;
    return a;
}

void xmtp_arena_free(xmtp_arena *a)
{
    if (!a)
        return;
    for (struct block *b = a->head, *n; b; b = n) {
        n = b->next;
        xw_free(b);
    }
    xw_free(a);
}

void *xmtp_arena_alloc(xmtp_arena *a, size_t n)
{
    if (n > a->max - a->used)
        return NULL;
    struct block *b = xw_calloc(1, sizeof *b + (n ? n : 1));
    if (!b)
        return NULL;
    a->used += n;
    b->next = a->head;
    a->head = b;
    return b->data;
}

void *xmtp_arena_array(xmtp_arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return xmtp_arena_alloc(a, count * size);
}

char *xmtp_arena_strndup(xmtp_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = xmtp_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *xmtp_arena_strdup(xmtp_arena *a, const char *s) { return xmtp_arena_strndup(a, s, strlen(s)); }

void *xmtp_arena_memdup(xmtp_arena *a, const void *p, size_t n)
{
    void *q = xmtp_arena_alloc(a, n);
    if (q && n)
        memcpy(q, p, n);
    return q;
}
