/*
 * protobuf-c <-> proto3 JSON for the interop test (see pbjson.h).
 *
 * Both directions walk the descriptor's fields. A field's storage is found at
 * `offset` inside the message struct; repeated fields keep their count at
 * `quantifier_offset` and a pointer to the element array at `offset`; a oneof member keeps
 * the number of the member that is set at `quantifier_offset`. protoc-c turns
 * map<K, V> into a repeated nested `...Entry` message with key = 1 and value = 2; such a
 * field becomes a JSON object.
 */
#include "tests/interop/pbjson.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/codec.h"
#include "common/parse.h"
#include "proto/pb.h"

/* our field name -> XMTP's JSON name, where proto/README.md renames a field */
static const char *const ALIASES[][2] = {{"base_policy", "base"}};

static void json_name(const char *name, char *out, size_t outlen)
{
    for (size_t i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++)
        if (strcmp(name, ALIASES[i][0]) == 0) {
            snprintf(out, outlen, "%s", ALIASES[i][1]);
            return;
        }
    size_t o = 0;
    int up = 0;
    for (const char *p = name; *p && o + 1 < outlen; p++) {
        if (*p == '_') {
            up = 1;
            continue;
        }
        out[o++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        up = 0;
    }
    out[o] = 0;
}

static int is_map_entry(const ProtobufCFieldDescriptor *f)
{
    if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label != PROTOBUF_C_LABEL_REPEATED)
        return 0;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    size_t n = strlen(d->short_name);
    return n > 5 && strcmp(d->short_name + n - 5, "Entry") == 0 && d->n_fields == 2 && d->fields[0].id == 1 &&
           d->fields[1].id == 2;
}

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default:
        return 4; /* 32-bit ints, enums, bool (protobuf_c_boolean is int), float */
    }
}

/* --- message -> JSON ------------------------------------------------------------------ */

static json_t *value_to_json(const ProtobufCFieldDescriptor *f, const void *p)
{
    char tmp[32];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(tmp, sizeof tmp, "%" PRId64, *(const int64_t *)p);
        return json_string(tmp);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(tmp, sizeof tmp, "%" PRIu64, *(const uint64_t *)p);
        return json_string(tmp);
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)p);
        return json_string(ev ? ev->name : "UNRECOGNIZED");
    }
    case PROTOBUF_C_TYPE_STRING:
        return json_string(*(char *const *)p);
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        xw_buf out;
        xw_buf_init(&out, 64u << 20);
        if (xw_base64_encode(b->data, b->len, &out) != 0 || xw_buf_append_u8(&out, 0) != 0) {
            xw_buf_free(&out);
            return NULL;
        }
        json_t *s = json_string(out.data ? (const char *)out.data : "");
        xw_buf_free(&out);
        return s;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return pbjson_from_msg(*(ProtobufCMessage *const *)p);
    default:
        return NULL; /* float/double: no XMTP schema uses them */
    }
}

static int is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        return *(char *const *)p == NULL || **(char *const *)p == 0;
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *)p == NULL;
    default:
        return elem_size(f) == 8 ? *(const uint64_t *)p == 0 : *(const uint32_t *)p == 0;
    }
}

json_t *pbjson_from_msg(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m;
        const void *p = base + f->offset;
        char name[128];
        json_name(f->name, name, sizeof name);
        json_t *v = NULL;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            if (n == 0)
                continue;
            const char *arr = *(char *const *)p;
            if (is_map_entry(f)) {
                v = json_object();
                const ProtobufCMessageDescriptor *ed = f->descriptor;
                for (size_t k = 0; k < n && v; k++) {
                    const char *e = (const char *)((ProtobufCMessage *const *)(const void *)arr)[k];
                    json_t *key = value_to_json(&ed->fields[0], e + ed->fields[0].offset);
                    json_t *val = value_to_json(&ed->fields[1], e + ed->fields[1].offset);
                    if (!val && ed->fields[1].type == PROTOBUF_C_TYPE_MESSAGE)
                        val = json_object(); /* an absent message value is the empty message */
                    if (!key || !json_is_string(key) || !val) {
                        json_decref(key);
                        json_decref(val);
                        json_decref(v);
                        v = NULL;
                        break;
                    }
                    json_object_set_new(v, json_string_value(key), val);
                    json_decref(key);
                }
            } else {
                v = json_array();
                size_t es = elem_size(f);
                for (size_t k = 0; k < n && v; k++) {
                    json_t *e = value_to_json(f, arr + k * es);
                    if (!e || json_array_append_new(v, e) != 0) {
                        json_decref(v);
                        v = NULL;
                    }
                }
            }
        } else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
                continue;
            v = value_to_json(f, p);
        } else {
            if (is_default(f, p))
                continue;
            v = value_to_json(f, p);
        }
        if (!v || json_object_set_new(obj, name, v) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

/* --- JSON -> message ------------------------------------------------------------------ */

static int set_err(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    snprintf(err, errlen, fmt, a, b);
    return -1;
}

static int build(const ProtobufCMessageDescriptor *d, json_t *j, ProtobufCMessage **out, char *err,
                 size_t errlen);

static int value_from_json(const ProtobufCFieldDescriptor *f, json_t *v, void *p, char *err, size_t errlen)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (!json_is_integer(v))
            return set_err(err, errlen, "%s%s: expected an integer", f->name, "");
        *(uint32_t *)p = (uint32_t)json_integer_value(v);
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return set_err(err, errlen, "%s%s: expected a boolean", f->name, "");
        *(protobuf_c_boolean *)p = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        if (!json_is_string(v))
            return set_err(err, errlen, "%s%s: expected a decimal string", f->name, "");
        const char *s = json_string_value(v);
        xw_errbuf peb = {{0}};
        uint64_t u;
        int64_t i;
        if (f->type == PROTOBUF_C_TYPE_UINT64 || f->type == PROTOBUF_C_TYPE_FIXED64) {
            if (xw_parse_u64(f->name, s, 0, UINT64_MAX, &u, &peb) != XW_OK)
                return set_err(err, errlen, "%s%s", peb.msg, "");
            *(uint64_t *)p = u;
        } else {
            if (xw_parse_i64(f->name, s, INT64_MIN, INT64_MAX, &i, &peb) != XW_OK)
                return set_err(err, errlen, "%s%s", peb.msg, "");
            *(int64_t *)p = i;
        }
        return 0;
    }
    case PROTOBUF_C_TYPE_ENUM: {
        if (!json_is_string(v))
            return set_err(err, errlen, "%s%s: expected an enum name", f->name, "");
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, json_string_value(v));
        if (!ev)
            return set_err(err, errlen, "%s: unknown enum name %s", f->name, json_string_value(v));
        *(int *)p = ev->value;
        return 0;
    }
    case PROTOBUF_C_TYPE_STRING:
        if (!json_is_string(v))
            return set_err(err, errlen, "%s%s: expected a string", f->name, "");
        *(char **)p = xw_strdup(json_string_value(v));
        return *(char **)p ? 0 : set_err(err, errlen, "%s%s: out of memory", f->name, "");
    case PROTOBUF_C_TYPE_BYTES: {
        if (!json_is_string(v))
            return set_err(err, errlen, "%s%s: expected base64", f->name, "");
        xw_buf b;
        xw_buf_init(&b, 64u << 20);
        if (xw_base64_decode(json_string_value(v), json_string_length(v), &b) != 0) {
            xw_buf_free(&b);
            return set_err(err, errlen, "%s: bad base64 %s", f->name, json_string_value(v));
        }
        ProtobufCBinaryData *bd = p;
        bd->data = xw_buf_detach(&b, &bd->len);
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return build(f->descriptor, v, (ProtobufCMessage **)p, err, errlen);
    default:
        return set_err(err, errlen, "%s%s: unsupported field type", f->name, "");
    }
}

static const ProtobufCFieldDescriptor *field_by_json(const ProtobufCMessageDescriptor *d, const char *key)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        char name[128];
        json_name(d->fields[i].name, name, sizeof name);
        if (strcmp(name, key) == 0)
            return &d->fields[i];
    }
    return NULL;
}

static int build(const ProtobufCMessageDescriptor *d, json_t *j, ProtobufCMessage **out, char *err,
                 size_t errlen)
{
    *out = NULL;
    if (!json_is_object(j))
        return set_err(err, errlen, "%s%s: expected an object", d->name, "");
    ProtobufCMessage *m = xw_calloc(1, d->sizeof_message);
    if (!m)
        return set_err(err, errlen, "%s%s: out of memory", d->name, "");
    protobuf_c_message_init(d, m);
    *out = m;
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        const ProtobufCFieldDescriptor *f = field_by_json(d, key);
        if (!f)
            return set_err(err, errlen, "%s has no field %s", d->name, key);
        char *base = (char *)m;
        void *p = base + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            int map = is_map_entry(f);
            size_t n = map ? json_object_size(v) : json_array_size(v);
            if (map ? !json_is_object(v) : !json_is_array(v))
                return set_err(err, errlen, "%s.%s: wrong JSON kind", d->name, key);
            char *arr = xw_calloc(n ? n : 1, elem_size(f));
            if (!arr)
                return set_err(err, errlen, "%s.%s: out of memory", d->name, key);
            *(char **)p = arr;
            /* count grows as elements are filled, so a failure frees only what exists */
            size_t *count = (size_t *)(base + f->quantifier_offset);
            if (map) {
                const ProtobufCMessageDescriptor *ed = f->descriptor;
                const char *mk;
                json_t *mv;
                json_object_foreach(v, mk, mv)
                {
                    ProtobufCMessage *e = xw_calloc(1, ed->sizeof_message);
                    if (!e)
                        return set_err(err, errlen, "%s.%s: out of memory", d->name, key);
                    protobuf_c_message_init(ed, e);
                    ((ProtobufCMessage **)(void *)arr)[(*count)++] = e;
                    json_t *ks = json_string(mk);
                    int rc =
                        value_from_json(&ed->fields[0], ks, (char *)e + ed->fields[0].offset, err, errlen);
                    json_decref(ks);
                    if (rc != 0 || value_from_json(&ed->fields[1], mv, (char *)e + ed->fields[1].offset, err,
                                                   errlen) != 0)
                        return -1;
                }
            } else {
                for (size_t k = 0; k < n; k++) {
                    if (value_from_json(f, json_array_get(v, k), arr + k * elem_size(f), err, errlen) != 0)
                        return -1;
                    (*count)++;
                }
            }
        } else {
            /* case first, so that a half-built member is freed with the message */
            if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
                *(uint32_t *)(base + f->quantifier_offset) = f->id;
            if (value_from_json(f, v, p, err, errlen) != 0)
                return -1;
        }
    }
    return 0;
}

int pbjson_to_msg(const ProtobufCMessageDescriptor *d, json_t *j, ProtobufCMessage **out, char *err,
                  size_t errlen)
{
    int rc = build(d, j, out, err, errlen);
    if (rc != 0) {
        xw_pb_free(*out);
        *out = NULL;
    }
    return rc;
}
