/*
 * TLS presentation-language codec for MLS (RFC 9420 §2.1): a bounds-checked reader over a
 * byte span and a writer into a bounded xw_buf.
 *
 * The reader never reads past its span and never allocates: variable-length values are
 * returned as pointers into the input (`mls_span`), so the memory a decoder uses is bounded
 * by its input. Its error is sticky: after the first failure every later read returns zeros
 * and does nothing, so a decoder can read a whole structure and check `r->err` once at the
 * end (or at any point where it needs a value to branch on). The first failure's sentence
 * goes into the caller's xw_errbuf (may be NULL).
 *
 * MLS variable-length integers (§2.1.2): the two top bits of the first byte give the length
 * (00 = 1, 01 = 2, 10 = 4 bytes); 11 is reserved and rejected, and so is any encoding longer
 * than the minimal one.
 *
 * The writer's error is sticky too. Vectors whose length is not known in advance are written
 * with mls_write_vec_begin()/mls_write_vec_end(), which insert the minimal varint header when
 * the vector is closed.
 *
 * This header is a stable interface (mls/pq and the group code build on it).
 */
#ifndef XW_MLS_TLS_H
#define XW_MLS_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

/* The largest value a varint can hold: 2^30 - 1. */
#define MLS_VARINT_MAX 0x3fffffffu

/* A borrowed byte range (into a reader's input or another owner's buffer). */
typedef struct {
    const uint8_t *p;
    size_t len;
} mls_span;

typedef struct {
    const uint8_t *p;
    size_t len;
    size_t off;
    int err;        /* XW_OK until the first failure */
    xw_errbuf *eb;  /* where the first failure is described; may be NULL */
    unsigned depth; /* nesting of sub-readers, bounded by MLS_TLS_MAX_DEPTH */
} mls_reader;

#define MLS_TLS_MAX_DEPTH 32

void mls_reader_init(mls_reader *r, const uint8_t *p, size_t len, xw_errbuf *eb);
/* Records a failure (only the first one is kept) and returns r->err. */
int mls_reader_fail(mls_reader *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
size_t mls_reader_left(const mls_reader *r);
/* XW_ETRAILING unless every byte was consumed; returns r->err otherwise. `what` names the value. */
int mls_reader_finish(mls_reader *r, const char *what);

uint8_t mls_read_u8(mls_reader *r);
uint16_t mls_read_u16(mls_reader *r);
uint32_t mls_read_u32(mls_reader *r);
uint64_t mls_read_u64(mls_reader *r);
uint32_t mls_read_varint(mls_reader *r);
/* n raw bytes (a fixed-size array). */
mls_span mls_read_fixed(mls_reader *r, size_t n);
/* opaque data<V>: a varint length, then the bytes. */
mls_span mls_read_opaque(mls_reader *r);
/* Like mls_read_opaque, and fails unless the length is between min and max. */
mls_span mls_read_opaque_len(mls_reader *r, size_t min, size_t max, const char *what);
/* A vector<V>: reads its varint length and sets `sub` to a reader over exactly its bytes.
 * The sub-reader shares the error buffer; call mls_reader_join(r, sub) after reading it. */
void mls_read_vector(mls_reader *r, mls_reader *sub);
/* Folds a sub-reader's error into its parent. Returns r->err. */
int mls_reader_join(mls_reader *r, mls_reader *sub);
/* optional<T>: returns 1 if present, 0 if absent; any other presence byte is an error. */
int mls_read_optional(mls_reader *r);

/* Decodes a varint at the start of p (n bytes). Returns the number of bytes used, or 0
 * with *err set when it is truncated, non-minimal or uses the reserved 11 prefix. */
size_t mls_varint_decode(const uint8_t *p, size_t n, uint32_t *v, int *err);
/* Size of the minimal encoding of v (1, 2 or 4), or 0 if v > MLS_VARINT_MAX. */
size_t mls_varint_size(uint64_t v);

typedef struct {
    xw_buf *b;
    int err;
} mls_writer;

void mls_writer_init(mls_writer *w, xw_buf *b);
void mls_write_u8(mls_writer *w, uint8_t v);
void mls_write_u16(mls_writer *w, uint16_t v);
void mls_write_u32(mls_writer *w, uint32_t v);
void mls_write_u64(mls_writer *w, uint64_t v);
void mls_write_varint(mls_writer *w, uint64_t v);
void mls_write_fixed(mls_writer *w, const void *p, size_t n);
/* opaque data<V> */
void mls_write_opaque(mls_writer *w, const void *p, size_t n);
static inline void mls_write_span(mls_writer *w, mls_span s) { mls_write_opaque(w, s.p, s.len); }
/* Opens a vector<V>; returns a mark for mls_write_vec_end(). */
size_t mls_write_vec_begin(mls_writer *w);
/* Closes the vector opened at mark: prefixes its bytes with their minimal varint length. */
void mls_write_vec_end(mls_writer *w, size_t mark);
void mls_write_optional(mls_writer *w, int present);

#endif
