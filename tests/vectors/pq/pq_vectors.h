/*
 * Shared parts of the post-quantum vector runner (pq_vectors.c: main and the ML-KEM kinds;
 * pq_vectors_xwing.c: the X-Wing kinds): pass/fail accounting and hex fields from JSON.
 */
#ifndef XW_TESTS_VECTORS_PQ_PQ_VECTORS_H
#define XW_TESTS_VECTORS_PQ_PQ_VECTORS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef struct {
    int passed, failed;
} pqv_count;

/* Records one case: prints "FAIL <id>: <reason>" when reason is not NULL. */
void pqv_result(pqv_count *c, const char *id, const char *reason, ...) __attribute__((format(printf, 3, 4)));

/* pqv_result with reason `bad` (NULL: passed). */
void pqv_verdict(pqv_count *c, const char *id, const char *bad);
/* The vectors of a file that is a JSON array of them or an object with "vectors"; NULL, after
 * saying that a `kind` file is neither, otherwise. */
json_t *pqv_vectors(json_t *root, const char *kind);

/* Decodes the hex string field `name` of obj into b (reset first). 0 on success; -1 when the
 * field is missing or not hex (`why` then says which). */
int pqv_hex(json_t *obj, const char *name, xw_buf *b, char *why, size_t why_len);
/* 1 when obj has a string field `name`. */
int pqv_has(json_t *obj, const char *name);
/* The first n bytes' hex, for messages (one of 4 rotating static buffers, up to 32
 * bytes shown). */
const char *pqv_show(const uint8_t *p, size_t n);

int pqv_xwing(json_t *root, pqv_count *c);
int pqv_xwing_hpke(json_t *root, pqv_count *c);

#endif
