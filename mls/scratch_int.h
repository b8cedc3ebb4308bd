/*
 * Internal to mls/: scratch buffers for the per-message hot path. A scratch buffer lives in
 * caller-provided stack memory when the caller's upper bound of what will be written fits,
 * and on the heap otherwise, so that protecting or opening a typical message allocates
 * nothing. A stack-backed xw_buf has max == cap, so it can never be reallocated: a wrong
 * bound shows up as XW_ETOOBIG, not as memory corruption.
 */
#ifndef XW_MLS_SCRATCH_INT_H
#define XW_MLS_SCRATCH_INT_H

#include <sodium.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/err.h"

static inline int mls_scratch_init(xw_buf *b, uint8_t *mem, size_t mem_len, size_t need, size_t max)
{
    if (need <= mem_len) {
        b->data = mem;
        b->len = 0;
        b->cap = mem_len;
        b->max = mem_len;
        return XW_OK;
    }
    xw_buf_init(b, max);
    return xw_buf_reserve(b, need);
}

/* Wipes what was written and frees the heap storage, if any. */
static inline void mls_scratch_free(xw_buf *b, const uint8_t *mem)
{
    if (b->data)
        sodium_memzero(b->data, b->len);
    if (b->data != mem)
        xw_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

#endif
