/*
 * Shared set-up of the group fuzz targets: a fixed group of four members (suite 3, public
 * handshakes so commits can be taken apart), built once at start-up, plus helpers to apply
 * (offset, xor) mutations to a valid message.
 */
#ifndef XW_TESTS_FUZZ_MLS_GROUP_COMMON_H
#define XW_TESTS_FUZZ_MLS_GROUP_COMMON_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "mls/group.h"
#include "mls/keypackage.h"

static inline void fz_kp(const mls_suite *s, const char *name, xw_buf *kp, mls_key_package_secrets *sec)
{
    mls_sig_priv sig;
    uint8_t seed[32] = {0};
    memcpy(seed, name, strlen(name) < 32 ? strlen(name) : 32);
    mls_sig_priv_from_seed(s, seed, 32, &sig, NULL);
    mls_key_package_opts o = {
        .identity = {(const uint8_t *)name, strlen(name)}, .not_before = 0, .not_after = UINT64_MAX};
    xw_buf_init(kp, 1 << 20);
    mls_key_package_create(s, &sig, &o, kp, sec, NULL);
}

/* Copies msg into out and applies the (offset, xor) pairs of data. */
static inline void fz_mutate(const xw_buf *msg, const uint8_t *data, size_t size, xw_buf *out)
{
    xw_buf_reset(out);
    xw_buf_append(out, msg->data, msg->len);
    for (size_t i = 0; i + 2 < size && out->len; i += 3) {
        size_t off = ((size_t)data[i] << 8 | data[i + 1]) % out->len;
        out->data[off] ^= data[i + 2];
    }
}

#endif
