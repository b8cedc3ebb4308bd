/*
 * libFuzzer target for the gRPC client's response decoding (xmtp/api_frame.h): the input
 * is split into pieces at the positions its first bytes choose (HTTP/2 delivers a body in
 * arbitrary chunks) and fed to the deframer; the rest of the input is also percent-decoded
 * as a grpc-message. Checks that every message handed out lies within the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "xmtp/api_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_msg(void *ctx, const uint8_t *msg, size_t len)
{
    size_t *total = ctx;
    if (len && !msg)
        abort();
    *total += len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t step = (size_t)data[0] % 17 + 1;
    size_t max = (size_t)data[1] * 16;
    data += 2;
    size -= 2;
    xmtp_grpc_deframer d;
    xmtp_grpc_deframer_init(&d, max);
    size_t total = 0;
    for (size_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        if (xmtp_grpc_deframe(&d, data + off, n, on_msg, &total, NULL) != XW_OK)
            break;
    }
    if (total > size)
        abort();
    xmtp_grpc_deframer_free(&d);
    char out[64];
    xmtp_grpc_pct_decode((const char *)data, size, out, sizeof out);
    return 0;
}
