/*
 * Event JSON encoding and decoding with jansson (schema in docs/events.md).
 *
 * The encoder validates the event before building anything and renders one compact object
 * with keys in a fixed order, so the same event always gives the same bytes. Embedded JSON
 * (content, decisions) is parsed to prove it is well formed and re-rendered compactly.
 * The decoder is the strict mirror: it rejects input over PL_EVENT_MAX_BYTES before parsing,
 * duplicate keys, strings with NUL bytes, wrong types and out-of-range values, and ignores
 * keys it does not know (forward compatibility: newer workers may add fields).
 */
#include "pipeline/event.h"

#include <jansson.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/alloc.h"
#include "common/utf8.h"

static const char *const kind_names[] = {
#define PL_EVENT_KIND_NAME(name, wire) wire,
    PL_EVENT_KINDS(PL_EVENT_KIND_NAME)
#undef PL_EVENT_KIND_NAME
};

const char *pl_event_kind_name(pl_event_kind kind)
{
    if ((int)kind < 0 || kind >= PL_EVENT__KIND_COUNT)
        return NULL;
    return kind_names[kind];
}

int pl_event_kind_parse(const char *name, pl_event_kind *out)
{
    for (int i = 0; i < PL_EVENT__KIND_COUNT; i++)
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (pl_event_kind)i;
            return XW_OK;
        }
    return XW_EINVAL;
}

int pl_event_id_valid(const char *id)
{
    if (!id)
        return 0;
    size_t n = 0;
    for (const char *p = id; *p; p++, n++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                 c == '_' || c == ':' || c == '-';
        if (!ok || n >= PL_EVENT_ID_MAX)
            return 0;
    }
    return n > 0;
}

int pl_event_id_random(char out[33], xw_errbuf *eb)
{
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return xw_errf(eb, XW_EIO, "cannot read 16 random bytes for an event id (getrandom failed)");
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[32] = '\0';
    return XW_OK;
}

/* A printable UTF-8 field of bounded length with no control characters. */
static int check_text(const char *what, const char *s, size_t max, int required, xw_errbuf *eb)
{
    if (!s) {
        if (required)
            return xw_errf(eb, XW_EINVAL, "event %s is missing; every event needs one", what);
        return XW_OK;
    }
    /* fast path, one pass: printable ASCII of an acceptable length */
    size_t a = 0;
    while (a <= max && (unsigned char)s[a] >= 0x20 && (unsigned char)s[a] < 0x7f)
        a++;
    if (a <= max && s[a] == '\0' && (a > 0 || !required))
        return XW_OK;
    size_t n = strnlen(s, max + 1);
    if (n == 0 && required)
        return xw_errf(eb, XW_EINVAL, "event %s is empty; every event needs one", what);
    if (n > max)
        return xw_errf(eb, XW_EINVAL, "event %s is longer than %zu bytes", what, max);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return xw_errf(eb, XW_EINVAL, "event %s contains a control character at offset %zu", what, i);
    if (!xw_utf8_valid(s, n))
        return xw_errf(eb, XW_EINVAL, "event %s is not valid UTF-8", what);
    return XW_OK;
}

/* Writes v (>= 0) in decimal, zero-padded to at least `width` digits; returns the length. */
static size_t put_uint(char *out, uint64_t v, size_t width)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width)
        tmp[n++] = '0';
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* RFC 3339 UTC with nanoseconds, e.g. 2025-11-29T09:00:00.123456789Z; ns >= 0. Written by
 * hand: this runs for every event, and snprintf was a visible share of encoding. */
static size_t format_time(int64_t ns, char out[64])
{
    /* events come in bursts within one second: keep the last second's text per thread */
    static _Thread_local int64_t cached_secs = -1;
    static _Thread_local char cached[24];
    static _Thread_local size_t cached_len;
    int64_t secs64 = ns / 1000000000;
    if (secs64 != cached_secs) {
        time_t secs = (time_t)secs64;
        struct tm tm;
        gmtime_r(&secs, &tm);
        size_t n = put_uint(cached, (uint64_t)tm.tm_year + 1900, 4);
        const struct {
            char sep;
            int v;
        } parts[] = {
            {'-', tm.tm_mon + 1}, {'-', tm.tm_mday}, {'T', tm.tm_hour}, {':', tm.tm_min}, {':', tm.tm_sec}};
        for (size_t i = 0; i < 5; i++) {
            cached[n++] = parts[i].sep;
            n += put_uint(cached + n, (uint64_t)parts[i].v, 2);
        }
        cached_len = n;
        cached_secs = secs64;
    }
    memcpy(out, cached, cached_len);
    size_t n = cached_len;
    out[n++] = '.';
    n += put_uint(out + n, (uint64_t)(ns % 1000000000), 9);
    out[n++] = 'Z';
    return n;
}

/* The encoder writes straight into the caller's buffer; the first failed append (past the
 * buffer's maximum, or past PL_EVENT_MAX_BYTES for this event) sticks, and the caller's
 * buffer is cut back to where it was. */
typedef struct {
    xw_buf *b;
    size_t start;
    int err;
} enc;

static __attribute__((noinline)) void put_slow(enc *e, const void *p, size_t n)
{
    if (e->err)
        return;
    if (e->b->len - e->start + n > PL_EVENT_MAX_BYTES || xw_buf_append(e->b, p, n) != XW_OK)
        e->err = XW_ETOOBIG;
}

/* Inlined: the common case (room already there) is a bounds check and a copy. */
static inline void put(enc *e, const void *p, size_t n)
{
    xw_buf *b = e->b;
    if (!e->err && b->data && n <= b->cap - b->len && b->len - e->start + n <= PL_EVENT_MAX_BYTES) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
        return;
    }
    put_slow(e, p, n);
}

static void put_str(enc *e, const char *lit) { put(e, lit, strlen(lit)); }

static void put_num(enc *e, uint64_t v)
{
    char tmp[24];
    put(e, tmp, put_uint(tmp, v, 1));
}

/* A JSON string; s was checked by check_text (UTF-8, no control characters), so only the
 * quote and the backslash need escaping (runs found with strcspn, which glibc vectorizes). */
static void put_json_string(enc *e, const char *s)
{
    put(e, "\"", 1);
    for (;;) {
        size_t k = strcspn(s, "\"\\");
        put(e, s, k);
        s += k;
        if (!*s)
            break;
        put(e, "\\", 1);
        put(e, s, 1);
        s++;
    }
    put(e, "\"", 1);
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    enc *e = data;
    put(e, buffer, size);
    return e->err ? -1 : 0;
}

/* --- embedded JSON, fast path ------------------------------------------------------------------
 *
 * Embedded JSON (content, decisions) is written on every event, and parsing it into a
 * jansson tree and dumping it again was the largest single cost of writing the outbox.
 * fast_json() checks and compacts it in one pass straight into the output, with no
 * allocation, for the common shape. It never rejects anything: whatever it is not sure
 * about it hands back (FAST_DEFER, nothing written) and the jansson path below decides,
 * with jansson's error messages. It accepts only text that jansson accepts and writes what
 * jansson would write, except that numbers keep their spelling (jansson re-renders reals):
 *   - whitespace is dropped, strings are copied with only the escapes jansson writes
 *     (\" \\ \b \f \n \r \t; "\/" becomes "/"); a \u escape defers;
 *   - raw bytes in strings must be UTF-8 without control characters;
 *   - numbers follow RFC 8259; an exponent or more than 18 integer digits defers (jansson
 *     fails on integers past int64 and reals past double);
 *   - objects are checked for duplicate keys by comparing their written (canonical) keys;
 *     more than FAST_KEYS keys in one object, or nesting deeper than FAST_DEPTH, defers.
 * tests/fuzz/fuzz_pl_json.c checks this against jansson on arbitrary input. */
#define FAST_DEPTH 32
#define FAST_KEYS 16
enum { FAST_OK = 0, FAST_DEFER = 1 };

typedef struct {
    const unsigned char *p, *end;
    enc *e;
} fast;

static void fast_ws(fast *f)
{
    while (f->p < f->end && (*f->p == ' ' || *f->p == '\t' || *f->p == '\n' || *f->p == '\r'))
        f->p++;
}

/* A string at f->p (the opening quote); *at receives its offset in the output. */
static int fast_string(fast *f, size_t *at)
{
    *at = f->e->b->len;
    put(f->e, "\"", 1);
    const unsigned char *run = ++f->p;
    for (;;) {
        if (f->p >= f->end)
            return FAST_DEFER;
        unsigned c = *f->p;
        if (c == '"')
            break;
        if (c < 0x20)
            return FAST_DEFER;
        if (c == '\\') {
            if (!xw_utf8_valid(run, (size_t)(f->p - run)))
                return FAST_DEFER;
            put(f->e, run, (size_t)(f->p - run));
            if (f->end - f->p < 2)
                return FAST_DEFER;
            switch (f->p[1]) {
            case '"':
                put(f->e, "\\\"", 2);
                break;
            case '\\':
                put(f->e, "\\\\", 2);
                break;
            case '/':
                put(f->e, "/", 1);
                break;
            case 'b':
                put(f->e, "\\b", 2);
                break;
            case 'f':
                put(f->e, "\\f", 2);
                break;
            case 'n':
                put(f->e, "\\n", 2);
                break;
            case 'r':
                put(f->e, "\\r", 2);
                break;
            case 't':
                put(f->e, "\\t", 2);
                break;
            default:
                return FAST_DEFER; /* \u and invalid escapes */
            }
            f->p += 2;
            run = f->p;
            continue;
        }
        f->p++;
    }
    if (!xw_utf8_valid(run, (size_t)(f->p - run)))
        return FAST_DEFER;
    put(f->e, run, (size_t)(f->p - run));
    put(f->e, "\"", 1);
    f->p++;
    return FAST_OK;
}

static int fast_digits(fast *f)
{
    const unsigned char *s = f->p;
    while (f->p < f->end && *f->p >= '0' && *f->p <= '9')
        f->p++;
    return (int)(f->p - s);
}

static int fast_number(fast *f)
{
    const unsigned char *s = f->p;
    if (*f->p == '-')
        f->p++;
    if (f->p >= f->end || *f->p < '0' || *f->p > '9')
        return FAST_DEFER;
    int nint = fast_digits(f);
    if (nint > 18 || (nint > 1 && s[*s == '-'] == '0'))
        return FAST_DEFER;
    if (f->p < f->end && *f->p == '.') {
        f->p++;
        if (fast_digits(f) == 0)
            return FAST_DEFER;
    }
    if (f->p < f->end && (*f->p == 'e' || *f->p == 'E'))
        return FAST_DEFER;
    put(f->e, s, (size_t)(f->p - s));
    return FAST_OK;
}

static int fast_literal(fast *f, const char *lit, size_t n)
{
    if ((size_t)(f->end - f->p) < n || memcmp(f->p, lit, n) != 0)
        return FAST_DEFER;
    put(f->e, lit, n);
    f->p += n;
    return FAST_OK;
}

static int fast_value(fast *f, int depth)
{
    fast_ws(f);
    if (f->p >= f->end)
        return FAST_DEFER;
    size_t at;
    switch (*f->p) {
    case '"':
        return fast_string(f, &at);
    case 't':
        return fast_literal(f, "true", 4);
    case 'f':
        return fast_literal(f, "false", 5);
    case 'n':
        return fast_literal(f, "null", 4);
    case '[':
    case '{':
        break;
    default:
        return fast_number(f);
    }
    if (depth >= FAST_DEPTH)
        return FAST_DEFER;
    int obj = *f->p == '{';
    char close = obj ? '}' : ']';
    put(f->e, f->p, 1);
    f->p++;
    fast_ws(f);
    if (f->p < f->end && *f->p == close) {
        put(f->e, f->p, 1);
        f->p++;
        return FAST_OK;
    }
    size_t keys[FAST_KEYS], klen[FAST_KEYS], nkeys = 0;
    for (;;) {
        if (obj) {
            fast_ws(f);
            if (f->p >= f->end || *f->p != '"' || nkeys == FAST_KEYS ||
                fast_string(f, &keys[nkeys]) != FAST_OK)
                return FAST_DEFER;
            if (f->e->err)
                return FAST_DEFER; /* out of room: the jansson path reports it */
            klen[nkeys] = f->e->b->len - keys[nkeys];
            for (size_t i = 0; i < nkeys; i++)
                if (klen[i] == klen[nkeys] &&
                    memcmp(f->e->b->data + keys[i], f->e->b->data + keys[nkeys], klen[i]) == 0)
                    return FAST_DEFER; /* duplicate key: jansson says so */
            nkeys++;
            fast_ws(f);
            if (f->p >= f->end || *f->p != ':')
                return FAST_DEFER;
            put(f->e, ":", 1);
            f->p++;
        }
        if (fast_value(f, depth + 1) != FAST_OK)
            return FAST_DEFER;
        fast_ws(f);
        if (f->p >= f->end)
            return FAST_DEFER;
        if (*f->p == close) {
            put(f->e, f->p, 1);
            f->p++;
            return FAST_OK;
        }
        if (*f->p != ',')
            return FAST_DEFER;
        put(f->e, ",", 1);
        f->p++;
    }
}

/* Embedded JSON text, checked (well formed, no duplicate keys) and written compactly;
 * NULL text gives `dflt`. The fast path above takes the common shapes; jansson the rest. */
static int put_embedded(enc *e, const char *what, const char *text, const char *dflt, int want_array,
                        xw_errbuf *eb)
{
    if (!text) {
        put_str(e, dflt);
        return XW_OK;
    }
    size_t mark = e->b->len;
    fast f = {(const unsigned char *)text, (const unsigned char *)text + strlen(text), e};
    int frc = want_array && *text != '[' ? FAST_DEFER : fast_value(&f, 0);
    if (frc == FAST_OK) {
        fast_ws(&f);
        if (f.p == f.end && !e->err)
            return XW_OK;
    }
    xw_buf_truncate(e->b, mark); /* jansson decides, and reports a size failure too */
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!v)
        return xw_errf(eb, XW_EINVAL, "event %s is not valid JSON (%s at character %d)", what, jerr.text,
                       jerr.position);
    if (want_array && !json_is_array(v)) {
        json_decref(v);
        return xw_errf(eb, XW_EINVAL, "event %s must be a JSON array", what);
    }
    json_dump_callback(v, dump_cb, e, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return XW_OK; /* a size failure is in e->err */
}

int pl_event_encode(const pl_event *ev, xw_buf *out, xw_errbuf *eb)
{
    if (!pl_event_id_valid(ev->id))
        return xw_errf(eb, XW_EINVAL,
                       "event id \"%.80s\" is invalid; use 1 to %d characters of A-Z a-z 0-9 . _ : -",
                       ev->id ? ev->id : "(null)", PL_EVENT_ID_MAX);
    const char *kind = pl_event_kind_name(ev->kind);
    if (!kind)
        return xw_errf(eb, XW_EINVAL, "event %s has unknown kind %d", ev->id, (int)ev->kind);
    int rc;
    if ((rc = check_text("group id", ev->group_id, PL_EVENT_GROUP_MAX, 1, eb)) != XW_OK ||
        (rc = check_text("sender inbox id", ev->sender_inbox_id, PL_EVENT_FIELD_MAX, 0, eb)) != XW_OK ||
        (rc = check_text("sender installation id", ev->sender_installation_id, PL_EVENT_FIELD_MAX, 0, eb)) !=
            XW_OK ||
        (rc = check_text("content type", ev->content_type, PL_EVENT_FIELD_MAX, 0, eb)) != XW_OK)
        return xw_errctx(eb, rc, "event %s", ev->id);
    if (ev->sent_at_ns < 0 || ev->observed_at_ns < 0)
        return xw_errf(eb, XW_EINVAL, "event %s has a negative timestamp; use 0 for unknown", ev->id);
    if (ev->sender_installation_id && !ev->sender_inbox_id)
        return xw_errf(eb, XW_EINVAL, "event %s has a sender installation id but no sender inbox id", ev->id);

    enc e = {out, out->len, XW_OK};
    put_str(&e, "{\"schema\":");
    put_num(&e, PL_EVENT_SCHEMA);
    put_str(&e, ",\"id\":");
    put_json_string(&e, ev->id);
    put_str(&e, ",\"kind\":");
    put_json_string(&e, kind);
    put_str(&e, ",\"group\":");
    put_json_string(&e, ev->group_id);
    put_str(&e, ",\"sender\":");
    if (ev->sender_inbox_id) {
        put_str(&e, "{\"inbox_id\":");
        put_json_string(&e, ev->sender_inbox_id);
        if (ev->sender_installation_id) {
            put_str(&e, ",\"installation_id\":");
            put_json_string(&e, ev->sender_installation_id);
        }
        put_str(&e, "}");
    } else {
        put_str(&e, "null");
    }
    put_str(&e, ",\"sent_at_ns\":");
    put_num(&e, (uint64_t)ev->sent_at_ns);
    if (ev->sent_at_ns) {
        char sent_at[64];
        size_t tn = format_time(ev->sent_at_ns, sent_at);
        put_str(&e, ",\"sent_at\":\"");
        put(&e, sent_at, tn);
        put_str(&e, "\"");
    } else {
        put_str(&e, ",\"sent_at\":null");
    }
    put_str(&e, ",\"observed_at_ns\":");
    put_num(&e, (uint64_t)ev->observed_at_ns);
    put_str(&e, ",\"content_type\":");
    if (ev->content_type)
        put_json_string(&e, ev->content_type);
    else
        put_str(&e, "null");
    put_str(&e, ",\"content\":");
    rc = put_embedded(&e, "content", ev->content_json, "null", 0, eb);
    if (rc == XW_OK) {
        put_str(&e, ",\"decisions\":");
        rc = put_embedded(&e, "decisions", ev->decisions_json, "[]", 1, eb);
    }
    put_str(&e, "}");
    if (rc == XW_OK && e.err) {
        rc = e.err;
        if (out->max - e.start < PL_EVENT_MAX_BYTES)
            xw_errf(eb, rc, "event %s does not fit in the output buffer (%zu bytes left)", ev->id,
                    out->max - e.start);
        else
            xw_errf(eb, rc, "event %s encodes to more than %d bytes; shorten its content", ev->id,
                    PL_EVENT_MAX_BYTES);
    } else if (rc != XW_OK) {
        xw_errctx(eb, rc, "event %s", ev->id);
    }
    if (rc != XW_OK)
        xw_buf_truncate(out, e.start);
    return rc;
}

/* --- decoding --------------------------------------------------------------------------------- */

static int get_string(json_t *root, const char *key, size_t max, int required, char **out, xw_errbuf *eb)
{
    *out = NULL;
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        if (required)
            return xw_errf(eb, XW_EMALFORMED, "event has no \"%s\"", key);
        return XW_OK;
    }
    if (!json_is_string(v))
        return xw_errf(eb, XW_EMALFORMED, "event \"%s\" must be a string", key);
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (strlen(s) != n)
        return xw_errf(eb, XW_EMALFORMED, "event \"%s\" contains a NUL character", key);
    if (n > max)
        return xw_errf(eb, XW_EMALFORMED, "event \"%s\" is longer than %zu characters", key, max);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return xw_errf(eb, XW_EMALFORMED, "event \"%s\" contains a control character", key);
    if (required && n == 0)
        return xw_errf(eb, XW_EMALFORMED, "event \"%s\" is empty", key);
    *out = xw_strndup(s, n);
    return *out ? XW_OK : xw_errf(eb, XW_ENOMEM, "out of memory decoding event \"%s\"", key);
}

static int get_time(json_t *root, const char *key, int64_t *out, xw_errbuf *eb)
{
    json_t *v = json_object_get(root, key);
    *out = 0;
    if (!v)
        return XW_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return xw_errf(eb, XW_EMALFORMED, "event \"%s\" must be a non-negative integer", key);
    *out = (int64_t)json_integer_value(v);
    return XW_OK;
}

static void clear_str(const char **p)
{
    xw_free((void *)*p);
    *p = NULL;
}

void pl_event_clear(pl_event *ev)
{
    clear_str(&ev->id);
    clear_str(&ev->group_id);
    clear_str(&ev->sender_inbox_id);
    clear_str(&ev->sender_installation_id);
    clear_str(&ev->content_type);
    clear_str(&ev->content_json);
    clear_str(&ev->decisions_json);
    memset(ev, 0, sizeof *ev);
}

static int decode_root(json_t *root, pl_event *ev, xw_errbuf *eb)
{
    char *s = NULL;
    int rc;
    if (!json_is_object(root))
        return xw_errf(eb, XW_EMALFORMED, "event must be a JSON object");
    json_t *schema = json_object_get(root, "schema");
    if (!json_is_integer(schema))
        return xw_errf(eb, XW_EMALFORMED, "event has no integer \"schema\"");
    if (json_integer_value(schema) != PL_EVENT_SCHEMA)
        return xw_errf(eb, XW_EUNSUPPORTED, "event schema %lld is not supported (this build reads schema %d)",
                       (long long)json_integer_value(schema), PL_EVENT_SCHEMA);
    if ((rc = get_string(root, "id", PL_EVENT_ID_MAX, 1, &s, eb)) != XW_OK)
        return rc;
    ev->id = s;
    if (!pl_event_id_valid(ev->id))
        return xw_errf(eb, XW_EMALFORMED, "event \"id\" has characters outside A-Z a-z 0-9 . _ : -");
    if ((rc = get_string(root, "kind", 64, 1, &s, eb)) != XW_OK)
        return rc;
    rc = pl_event_kind_parse(s, &ev->kind);
    xw_free(s);
    if (rc != XW_OK)
        return xw_errf(eb, XW_EMALFORMED, "event %s has an unknown \"kind\"", ev->id);
    if ((rc = get_string(root, "group", PL_EVENT_GROUP_MAX, 1, &s, eb)) != XW_OK)
        return rc;
    ev->group_id = s;
    json_t *sender = json_object_get(root, "sender");
    if (sender && !json_is_null(sender)) {
        if (!json_is_object(sender))
            return xw_errf(eb, XW_EMALFORMED, "event %s \"sender\" must be an object or null", ev->id);
        if ((rc = get_string(sender, "inbox_id", PL_EVENT_FIELD_MAX, 1, &s, eb)) != XW_OK)
            return rc;
        ev->sender_inbox_id = s;
        if ((rc = get_string(sender, "installation_id", PL_EVENT_FIELD_MAX, 0, &s, eb)) != XW_OK)
            return rc;
        ev->sender_installation_id = s;
    }
    if ((rc = get_time(root, "sent_at_ns", &ev->sent_at_ns, eb)) != XW_OK ||
        (rc = get_time(root, "observed_at_ns", &ev->observed_at_ns, eb)) != XW_OK)
        return rc;
    json_t *sent_at = json_object_get(root, "sent_at");
    if (sent_at && !json_is_string(sent_at) && !json_is_null(sent_at))
        return xw_errf(eb, XW_EMALFORMED, "event %s \"sent_at\" must be a string", ev->id);
    if ((rc = get_string(root, "content_type", PL_EVENT_FIELD_MAX, 0, &s, eb)) != XW_OK)
        return rc;
    ev->content_type = s;
    json_t *content = json_object_get(root, "content");
    if (content && !json_is_null(content)) {
        ev->content_json = json_dumps(content, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!ev->content_json)
            return xw_errf(eb, XW_ENOMEM, "out of memory decoding event content");
        /* jansson allocates with malloc: move it under our allocator so clear() can free it */
        char *own = xw_strdup(ev->content_json);
        free((void *)ev->content_json);
        ev->content_json = own;
        if (!own)
            return xw_errf(eb, XW_ENOMEM, "out of memory decoding event content");
    }
    json_t *decisions = json_object_get(root, "decisions");
    if (decisions && !json_is_array(decisions))
        return xw_errf(eb, XW_EMALFORMED, "event %s \"decisions\" must be an array", ev->id);
    if (decisions) {
        char *d = json_dumps(decisions, JSON_COMPACT);
        if (!d)
            return xw_errf(eb, XW_ENOMEM, "out of memory decoding event decisions");
        ev->decisions_json = xw_strdup(d);
        free(d);
        if (!ev->decisions_json)
            return xw_errf(eb, XW_ENOMEM, "out of memory decoding event decisions");
    }
    return XW_OK;
}

int pl_event_decode(const char *json, size_t len, pl_event *ev, xw_errbuf *eb)
{
    memset(ev, 0, sizeof *ev);
    if (len > PL_EVENT_MAX_BYTES)
        return xw_errf(eb, XW_ETOOBIG, "event is %zu bytes; the maximum is %d", len, PL_EVENT_MAX_BYTES);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return xw_errf(eb, XW_EMALFORMED, "event is not valid JSON: %s at line %d column %d", jerr.text,
                       jerr.line, jerr.column);
    int rc = decode_root(root, ev, eb);
    json_decref(root);
    if (rc != XW_OK)
        pl_event_clear(ev);
    return rc;
}
