/*
 * libFuzzer target for pl_event_decode(): events arrive from files (JSON lines) and from
 * Kafka, so the decoder must take any bytes. Whatever it accepts must re-encode, and the
 * re-encoding must decode to the same bytes again (a canonical form).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "pipeline/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pl_event ev;
    if (pl_event_decode((const char *)data, size, &ev, NULL) != XW_OK)
        return 0;
    xw_buf a, b;
    xw_buf_init(&a, 1 << 21);
    xw_buf_init(&b, 1 << 21);
    if (pl_event_encode(&ev, &a, NULL) == XW_OK) {
        pl_event ev2;
        if (pl_event_decode((const char *)a.data, a.len, &ev2, NULL) != XW_OK)
            abort(); /* our own encoding must decode */
        if (pl_event_encode(&ev2, &b, NULL) != XW_OK || a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
            abort(); /* and be canonical */
        pl_event_clear(&ev2);
    }
    xw_buf_free(&a);
    xw_buf_free(&b);
    pl_event_clear(&ev);
    return 0;
}
