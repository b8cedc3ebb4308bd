/*
 * Shared helpers of the MLS test-vector runner (build/tests/mls-vectors KIND FILE...).
 *
 * Each kind has a function that runs one JSON case and returns VT_PASS, VT_FAIL or VT_SKIP;
 * a failing case describes itself through vt_fail() (one line with the file, the case
 * index and the reason), a skipped one through vt_skip().
 */
#ifndef XW_TESTS_VECTORS_H
#define XW_TESTS_VECTORS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "mls/crypto.h"

enum { VT_PASS = 0, VT_FAIL = 1, VT_SKIP = 2 };

typedef struct {
    const char *file;
    size_t index;
    int failed; /* set by vt_fail */
} vt_case;

int vt_fail(vt_case *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int vt_skip(vt_case *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Decodes hex field `key` of obj into out (replaced). 0 on success, else reports a failure. */
int vt_hex(vt_case *c, json_t *obj, const char *key, xw_buf *out);
/* Unsigned integer field; 0 on success. */
int vt_uint(vt_case *c, json_t *obj, const char *key, uint64_t *out);
/* Compares got with the hex field `key`; 0 when equal, else reports which field differs. */
int vt_expect(vt_case *c, json_t *obj, const char *key, const uint8_t *got, size_t n);
/* The entry's cipher_suite, or VT_SKIP (reported) when unsupported; VT_FAIL if absent. */
int vt_suite(vt_case *c, json_t *obj, const mls_suite **s);

#define VT_MAX_BUF ((size_t)1 << 26)

int vt_tree_math(vt_case *c, json_t *e);
int vt_crypto_basics(vt_case *c, json_t *e);
int vt_deserialization(vt_case *c, json_t *e);
int vt_secret_tree(vt_case *c, json_t *e);
int vt_key_schedule(vt_case *c, json_t *e);
int vt_psk_secret(vt_case *c, json_t *e);
int vt_transcript_hashes(vt_case *c, json_t *e);
int vt_message_protection(vt_case *c, json_t *e);
int vt_messages(vt_case *c, json_t *e);

#endif
