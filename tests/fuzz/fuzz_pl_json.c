/*
 * libFuzzer target for the event encoder's embedded-JSON fast path (pipeline/event.c):
 * content given to pl_event_encode() must be accepted exactly when jansson accepts it
 * (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, as the encoder's jansson path does), and the
 * content written into the event must mean the same JSON value as jansson's parse of the
 * input. A difference aborts.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "pipeline/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536 || memchr(data, 0, size))
        return 0;
    char *text = xw_malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    json_t *want = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    pl_event ev = {.id = "fuzz-1", .kind = PL_EVENT_MESSAGE, .group_id = "g", .content_json = text};
    xw_buf out;
    xw_buf_init(&out, 1 << 20);
    int rc = pl_event_encode(&ev, &out, NULL);
    if ((rc == XW_OK) != (want != NULL))
        abort(); /* accepted by one and not the other */
    if (rc == XW_OK) {
        pl_event back;
        if (pl_event_decode((const char *)out.data, out.len, &back, NULL) != XW_OK)
            abort();
        /* a decoded event gives null content as NULL */
        json_t *got = json_loads(back.content_json ? back.content_json : "null", JSON_DECODE_ANY, NULL);
        if (!got || !json_equal(got, want))
            abort(); /* a different value */
        json_decref(got);
        pl_event_clear(&back);
    }
    json_decref(want);
    xw_buf_free(&out);
    xw_free(text);
    return 0;
}
