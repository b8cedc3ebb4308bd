/*
 * Safe decoding of protobuf-c messages (see pb.h): a descriptor-guided pass over the wire
 * bytes that checks framing, nesting depth and string contents, then protobuf-c's unpack
 * with an allocator backed by common/alloc.h.
 *
 * The pass reads each key (varint: field number << 3 | wire type), skips varint, 64-bit
 * and 32-bit values, and for length-delimited values checks the length against what is
 * left; when the field is known to the descriptor and is a string it checks UTF-8, when it
 * is a message (map entries are messages too) it recurses one level deeper. Groups (wire
 * types 3 and 4) do not exist in proto3 and are refused. Everything else about field
 * types is left to protobuf-c, which refuses a known field sent with the wrong wire type.
 */
#include "proto/pb.h"

#include <inttypes.h>
#include <string.h>

#include "common/alloc.h"

/* Largest field number protobuf allows (2^29 - 1). */
#define PB_MAX_FIELD_NUMBER 536870911u

/* --- allocator --------------------------------------------------------------------------- */

typedef struct {
    ProtobufCAllocator base;
    int failed; /* set when an allocation returned NULL */
} pb_alloc;

static void *pb_alloc_fn(void *data, size_t n)
{
    void *p = xw_malloc(n ? n : 1);
    if (!p && data)
        ((pb_alloc *)data)->failed = 1;
    return p;
}

static void pb_free_fn(void *data, void *p)
{
    (void)data;
    xw_free(p);
}

static ProtobufCAllocator g_allocator = {pb_alloc_fn, pb_free_fn, NULL};

ProtobufCAllocator *xw_pb_allocator(void) { return &g_allocator; }

/* --- wire pass --------------------------------------------------------------------------- */

/* Reads a varint of at most 10 bytes at *off; 0 on success. */
static int read_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (*off >= len)
            return -1;
        uint8_t b = p[(*off)++];
        if (i == 9 && b > 1)
            return -1; /* more than 64 bits */
        r |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

/* Returns the offset of the first byte that makes s[0..n) not UTF-8 (or a NUL), or n. */
static size_t utf8_bad_at(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == 0)
            return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return i;
        }
        if (n - i - 1 < need)
            return i;
        for (size_t k = 1; k <= need; k++) {
            uint8_t b = s[i + k];
            if ((b & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (b & 0x3f);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return i;
        i += need + 1;
    }
    return n;
}

static int walk(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len, unsigned depth,
                xw_errbuf *eb)
{
    if (depth > XW_PB_MAX_DEPTH)
        return xw_errf(eb, XW_EMALFORMED,
                       "%s is nested more than %d messages deep; refusing it (no XMTP message needs that)",
                       d->name, XW_PB_MAX_DEPTH);
    size_t off = 0;
    while (off < len) {
        size_t at = off;
        uint64_t key;
        if (read_varint(p, len, &off, &key) != 0)
            return xw_errf(eb, XW_EMALFORMED,
                           "%s: field key at byte %zu is truncated or longer than 10 bytes", d->name, at);
        uint64_t num = key >> 3;
        unsigned wt = (unsigned)(key & 7);
        if (num == 0 || num > PB_MAX_FIELD_NUMBER)
            return xw_errf(eb, XW_EMALFORMED, "%s: field number %" PRIu64 " at byte %zu is out of range",
                           d->name, num, at);
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)num);
        uint64_t v;
        switch (wt) {
        case 0:
            if (read_varint(p, len, &off, &v) != 0)
                return xw_errf(eb, XW_EMALFORMED, "%s: varint of field %" PRIu64 " at byte %zu is truncated",
                               d->name, num, at);
            break;
        case 1:
        case 5: {
            size_t n = wt == 1 ? 8 : 4;
            if (len - off < n)
                return xw_errf(eb, XW_EMALFORMED,
                               "%s: %zu-byte value of field %" PRIu64 " at byte %zu is truncated", d->name, n,
                               num, at);
            off += n;
            break;
        }
        case 2: {
            if (read_varint(p, len, &off, &v) != 0 || v > len - off)
                return xw_errf(eb, XW_EMALFORMED,
                               "%s: field %" PRIu64 " at byte %zu announces more bytes than the input holds",
                               d->name, num, at);
            size_t n = (size_t)v;
            if (f && f->type == PROTOBUF_C_TYPE_STRING) {
                size_t bad = utf8_bad_at(p + off, n);
                if (bad < n)
                    return xw_errf(eb, XW_EMALFORMED,
                                   "%s: string field %s has %s at its byte %zu; refusing it", d->name,
                                   f->name, p[off + bad] ? "invalid UTF-8" : "a NUL byte", bad);
            } else if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                int rc = walk((const ProtobufCMessageDescriptor *)f->descriptor, p + off, n, depth + 1, eb);
                if (rc != XW_OK)
                    return rc;
            }
            off += n;
            break;
        }
        default:
            return xw_errf(eb, XW_EMALFORMED,
                           "%s: field %" PRIu64 " at byte %zu has wire type %u, which proto3 does not use",
                           d->name, num, at, wt);
        }
    }
    return XW_OK;
}

/* --- public ------------------------------------------------------------------------------ */

int xw_pb_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, size_t max,
                 ProtobufCMessage **out, xw_errbuf *eb)
{
    *out = NULL;
    if (len > max)
        return xw_errf(eb, XW_ETOOBIG, "%s of %zu bytes exceeds the %zu-byte limit for it", desc->name, len,
                       max);
    if (len > 0 && !data)
        return xw_errf(eb, XW_EINVAL, "no bytes given for a %zu-byte %s", len, desc->name);
    int rc = walk(desc, data, len, 1, eb);
    if (rc != XW_OK)
        return rc;
    pb_alloc a = {{pb_alloc_fn, pb_free_fn, NULL}, 0};
    a.base.allocator_data = &a;
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &a.base, len, data);
    if (!m) {
        if (a.failed)
            return xw_errf(eb, XW_ENOMEM, "out of memory while decoding a %zu-byte %s", len, desc->name);
        return xw_errf(
            eb, XW_EMALFORMED,
            "%s: the %zu bytes are not a valid encoding (a field has the wrong wire type or value)",
            desc->name, len);
    }
    *out = m;
    return XW_OK;
}

void xw_pb_free(ProtobufCMessage *msg)
{
    if (msg)
        protobuf_c_message_free_unpacked(msg, &g_allocator);
}

int xw_pb_encode(const ProtobufCMessage *msg, xw_buf *out, xw_errbuf *eb)
{
    if (!protobuf_c_message_check(msg))
        return xw_errf(eb, XW_EINVAL, "%s is incomplete (a string, bytes or sub-message pointer is missing)",
                       msg->descriptor->name);
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (n == 0)
        return XW_OK;
    if (n > out->max - out->len)
        return xw_errf(eb, XW_ETOOBIG, "encoding %s takes %zu bytes; the buffer has room for %zu",
                       msg->descriptor->name, n, out->max - out->len);
    size_t old = out->len;
    uint8_t *p = xw_buf_extend(out, n);
    if (!p)
        return xw_errf(eb, XW_ENOMEM, "out of memory while encoding %s (%zu bytes)", msg->descriptor->name,
                       n);
    size_t w = protobuf_c_message_pack(msg, p);
    if (w != n) {
        xw_buf_truncate(out, old);
        return xw_errf(eb, XW_EINTERNAL, "protobuf-c packed %zu bytes of %s after announcing %zu", w,
                       msg->descriptor->name, n);
    }
    return XW_OK;
}
