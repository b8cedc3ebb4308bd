/*
 * libFuzzer target for the TLS codec and the structural MLS decoder: the first byte picks a
 * wire type, the rest is decoded as it. Whatever decodes must re-encode to the same bytes
 * (the codec is canonical: minimal varints, exact lengths), and the reader primitives must
 * never read past the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "mls/crypto.h"
#include "mls/secret_tree.h"
#include "mls/tls.h"
#include "mls/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] >= 0xf0) { /* persisted secret-tree state */
        mls_secret_tree *st = NULL;
        const mls_suite *s = mls_suite_get(data[0] & 1 ? 1 : 3);
        if (mls_secret_tree_decode(s, data + 1, size - 1, &st, NULL) == XW_OK) {
            xw_buf out;
            xw_buf_init(&out, 4 * size + 64);
            if (mls_secret_tree_encode(st, &out, NULL) != XW_OK)
                abort();
            mls_ratchet_key k;
            mls_secret_tree_peek(st, 0, MLS_RATCHET_APPLICATION, 1, &k, NULL);
            xw_buf_free(&out);
            mls_secret_tree_free(st);
        }
        return 0;
    }
    mls_wire_type t = (mls_wire_type)(data[0] % MLS_WIRE__COUNT);
    const uint8_t *p = data + 1;
    size_t n = size - 1;

    mls_toks toks;
    mls_toks_init(&toks);
    xw_errbuf eb;
    if (mls_wire_decode(t, p, n, &toks, &eb) == XW_OK) {
        xw_buf out;
        xw_buf_init(&out, n + 16);
        if (mls_wire_encode(&toks, &out) != XW_OK || out.len != n || (n && memcmp(out.data, p, n) != 0))
            abort(); /* decode + encode must be the identity */
        xw_buf_free(&out);
    }
    mls_toks_free(&toks);

    /* primitives: a mix of reads driven by the input itself */
    mls_reader r;
    mls_reader_init(&r, p, n, NULL);
    for (size_t i = 0; i < n && !r.err && mls_reader_left(&r); i++) {
        switch (p[i] & 7) {
        case 0:
            mls_read_varint(&r);
            break;
        case 1: {
            mls_span s = mls_read_opaque(&r);
            if (!r.err && s.len && (s.p < p || s.p + s.len > p + n))
                abort();
            break;
        }
        case 2:
            mls_read_optional(&r);
            break;
        case 3: {
            mls_reader sub;
            mls_read_vector(&r, &sub);
            mls_read_u64(&sub);
            mls_reader_join(&r, &sub);
            break;
        }
        case 4:
            mls_read_u16(&r);
            break;
        default:
            mls_read_u32(&r);
        }
        if (r.off > r.len)
            abort();
    }
    return 0;
}
