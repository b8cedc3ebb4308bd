/*
 * libFuzzer target for common/codec: hex and base64 decoders on arbitrary text. A decode
 * that succeeds must re-encode to the same text (the decoders accept only canonical forms).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(int (*dec)(const char *, size_t, xw_buf *),
                            int (*enc)(const uint8_t *, size_t, xw_buf *), const char *text, size_t n)
{
    xw_buf out, again;
    xw_buf_init(&out, 1 << 20);
    xw_buf_init(&again, 1 << 21);
    if (dec(text, n, &out) == XW_OK) {
        if (enc(out.data, out.len, &again) != XW_OK || again.len != n || (n && memcmp(again.data, text, n)))
            abort();
    } else if (out.len != 0) {
        abort(); /* a failed decode must leave the buffer as it was */
    }
    xw_buf_free(&out);
    xw_buf_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    check_roundtrip(xw_base64_decode, xw_base64_encode, text, size);
    check_roundtrip(xw_base64url_decode, xw_base64url_encode, text, size);
    xw_buf out;
    xw_buf_init(&out, 1 << 20);
    if (xw_hex_decode(text, size, &out) == XW_OK && out.len * 2 != size)
        abort();
    xw_buf_free(&out);
    return 0;
}
