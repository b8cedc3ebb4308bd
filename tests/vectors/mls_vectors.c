/*
 * The MLS test-vector runner: `mls-vectors KIND FILE...` loads each FILE (a JSON array in
 * the MLS working group's published format), runs every case with the checks of KIND, and
 * prints one line per failing or skipped case, then "N passed, N failed, N skipped".
 * Cases of cipher suites this implementation does not support are skipped (not passed).
 * Exit status: 0 when no case failed, 1 when one did, 2 on a usage or file error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/codec.h"
#include "tests/vectors/groups_vectors.h"
#include "tests/vectors/vectors.h"

int vt_fail(vt_case *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL %s case %zu: ", c->file, c->index);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    c->failed = 1;
    return VT_FAIL;
}

int vt_skip(vt_case *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("SKIP %s case %zu: ", c->file, c->index);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    return VT_SKIP;
}

int vt_hex(vt_case *c, json_t *obj, const char *key, xw_buf *out)
{
    json_t *v = json_object_get(obj, key);
    xw_buf_reset(out);
    if (!json_is_string(v)) {
        vt_fail(c, "field \"%s\" is missing or not a hex string", key);
        return -1;
    }
    if (xw_hex_decode(json_string_value(v), json_string_length(v), out) != XW_OK) {
        vt_fail(c, "field \"%s\" is not valid hex", key);
        return -1;
    }
    return 0;
}

int vt_uint(vt_case *c, json_t *obj, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        vt_fail(c, "field \"%s\" is missing or not a non-negative integer", key);
        return -1;
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int vt_expect(vt_case *c, json_t *obj, const char *key, const uint8_t *got, size_t n)
{
    xw_buf want;
    xw_buf_init(&want, VT_MAX_BUF);
    int rc = vt_hex(c, obj, key, &want);
    if (rc == 0 && (want.len != n || (n && memcmp(want.data, got, n) != 0))) {
        char g[129] = "", w[129] = "";
        xw_hex_encode(got, n < 64 ? n : 64, g);
        xw_hex_encode(want.data, want.len < 64 ? want.len : 64, w);
        vt_fail(c, "%s differs: got %s%s (%zu bytes), want %s%s (%zu bytes)", key, g, n > 64 ? "..." : "", n,
                w, want.len > 64 ? "..." : "", want.len);
        rc = -1;
    }
    xw_buf_free(&want);
    return rc;
}

int vt_suite(vt_case *c, json_t *obj, const mls_suite **s)
{
    uint64_t id;
    if (vt_uint(c, obj, "cipher_suite", &id))
        return VT_FAIL;
    *s = id <= 0xffff ? mls_suite_get((uint16_t)id) : NULL;
    if (!*s)
        return vt_skip(c, "cipher suite %llu is not supported (suites 1 and 3 are)", (unsigned long long)id);
    return VT_PASS;
}

static const struct {
    const char *kind;
    int (*run)(vt_case *c, json_t *e);
} kinds[] = {
    {"tree-math", vt_tree_math},
    {"crypto-basics", vt_crypto_basics},
    {"deserialization", vt_deserialization},
    {"secret-tree", vt_secret_tree},
    {"key-schedule", vt_key_schedule},
    {"psk_secret", vt_psk_secret},
    {"transcript-hashes", vt_transcript_hashes},
    {"message-protection", vt_message_protection},
    {"messages", vt_messages},
    GROUPS_VECTOR_KINDS,
};

static void usage(void)
{
    fprintf(stderr, "usage: mls-vectors KIND FILE...\nKIND is one of:");
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        fprintf(stderr, " %s", kinds[i].kind);
    fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        usage();
        return 2;
    }
    int (*run)(vt_case *, json_t *) = NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(argv[1], kinds[i].kind) == 0)
            run = kinds[i].run;
    if (!run) {
        fprintf(stderr, "mls-vectors: unknown kind \"%s\"\n", argv[1]);
        usage();
        return 2;
    }
    size_t pass = 0, fail = 0, skip = 0;
    for (int f = 2; f < argc; f++) {
        json_error_t jerr;
        json_t *root = json_load_file(argv[f], 0, &jerr);
        if (!root) {
            printf("FAIL %s: cannot load JSON: %s (line %d)\n", argv[f], jerr.text, jerr.line);
            fail++;
            continue;
        }
        if (!json_is_array(root)) {
            printf("FAIL %s: the top level is not a JSON array of test cases\n", argv[f]);
            fail++;
            json_decref(root);
            continue;
        }
        for (size_t i = 0; i < json_array_size(root); i++) {
            vt_case c = {argv[f], i, 0};
            json_t *e = json_array_get(root, i);
            int r = json_is_object(e) ? run(&c, e) : vt_fail(&c, "case is not a JSON object");
            if (r == VT_PASS && c.failed)
                r = VT_FAIL;
            if (r == VT_PASS)
                pass++;
            else if (r == VT_SKIP)
                skip++;
            else
                fail++;
        }
        json_decref(root);
    }
    printf("%zu passed, %zu failed, %zu skipped\n", pass, fail, skip);
    return fail ? 1 : 0;
}
