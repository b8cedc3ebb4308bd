/*
 * Post-quantum vector runner: build/tests/pq-vectors KIND FILE [FILE...].
 *
 * Reads vector files of a known layout (see tests/vectors/data/pq/README.md), runs every case
 * through mls/mlkem.h or mls/xwing.h, prints each failing case with its reason, and ends with
 * "N passed, N failed" (after one such line per file, indented); exits 0 only when nothing
 * failed, and a file without cases counts as a failure. Cases
 * that must be refused count as passed only when the library refuses them; valid cases must
 * reproduce every expected output byte for byte.
 *
 * Kinds: mlkem-acvp-keygen, mlkem-acvp-encapdecap, wycheproof-keygen, wycheproof-decaps,
 * wycheproof-encaps, wycheproof-semi-expanded, cctv-strcmp, cctv-unlucky, cctv-modulus, xwing,
 * xwing-hpke.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/err.h"
#include "mls/mlkem.h"
#include "tests/vectors/pq/pq_vectors.h"

#define HEX_MAX (4u << 20)

void pqv_result(pqv_count *c, const char *id, const char *reason, ...)
{
    if (!reason) {
        c->passed++;
        return;
    }
    c->failed++;
    va_list ap;
    va_start(ap, reason);
    printf("FAIL %s: ", id);
    vprintf(reason, ap);
    printf("\n");
    va_end(ap);
}

void pqv_verdict(pqv_count *c, const char *id, const char *bad)
{
    if (bad)
        pqv_result(c, id, "%s", bad);
    else
        pqv_result(c, id, NULL);
}

json_t *pqv_vectors(json_t *root, const char *kind)
{
    json_t *vs = json_is_array(root) ? root : json_object_get(root, "vectors");
    if (json_is_array(vs))
        return vs;
    printf("an %s file is a JSON array of vectors or an object with \"vectors\"\n", kind);
    return NULL;
}

int pqv_has(json_t *obj, const char *name) { return json_is_string(json_object_get(obj, name)); }

int pqv_hex(json_t *obj, const char *name, xw_buf *b, char *why, size_t why_len)
{
    json_t *v = json_object_get(obj, name);
    xw_buf_reset(b);
    if (!json_is_string(v)) {
        snprintf(why, why_len, "field \"%s\" is missing or not a string", name);
        return -1;
    }
    if (xw_hex_decode(json_string_value(v), json_string_length(v), b) != XW_OK) {
        snprintf(why, why_len, "field \"%s\" is not hex", name);
        return -1;
    }
    return 0;
}

const char *pqv_show(const uint8_t *p, size_t n)
{
    static char bufs[4][2 * 32 + 4]; /* rotates, so one message can show several values */
    static unsigned next;
    char *out = bufs[next++ % 4];
    size_t m = n < 32 ? n : 32;
    xw_hex_encode(p, m, out);
    if (m < n)
        memcpy(out + 2 * m, "...", 4);
    return out;
}

/* Fields of one case, decoded on demand into f[0..7]. */
typedef struct {
    xw_buf f[8];
    char why[160];
    xw_errbuf eb;
} fields;

#define HEX(t, name, i) (pqv_hex((t), (name), &fs->f[i], fs->why, sizeof fs->why) == 0)

/* NULL when equal, else a description of the first difference (static buffer). */
static const char *diff(const char *what, const uint8_t *got, size_t got_len, const xw_buf *want)
{
    static char msg[256];
    if (got_len == want->len && (got_len == 0 || memcmp(got, want->data, got_len) == 0))
        return NULL;
    size_t i = 0;
    while (i < got_len && i < want->len && got[i] == want->data[i])
        i++;
    snprintf(msg, sizeof msg, "%s differs (got %zu bytes, want %zu; first difference at byte %zu: got %s)",
             what, got_len, want->len, i, i < got_len ? pqv_show(got + i, got_len - i) : "(end)");
    return msg;
}

static int result_valid(json_t *t)
{
    const char *r = json_string_value(json_object_get(t, "result"));
    return r && strcmp(r, "valid") == 0;
}

/* Runs fn on every test of every group ("testGroups"[].tests[]) or of "vectors"[]. fn returns
 * NULL when the case passed, else the reason. */
typedef const char *(*case_fn)(json_t *group, json_t *t, fields *fs);

static void run_case(pqv_count *c, const char *id, json_t *g, json_t *t, case_fn fn)
{
    fields fs;
    for (size_t i = 0; i < 8; i++)
        xw_buf_init(&fs.f[i], HEX_MAX);
    fs.why[0] = 0;
    fs.eb.msg[0] = 0;
    pqv_verdict(c, id, fn(g, t, &fs));
    for (size_t i = 0; i < 8; i++)
        xw_buf_free(&fs.f[i]);
}

static void for_each_case(json_t *root, pqv_count *c, case_fn fn)
{
    json_t *groups = json_object_get(root, "testGroups");
    for (size_t gi = 0; gi < json_array_size(groups); gi++) {
        json_t *g = json_array_get(groups, gi), *tests = json_object_get(g, "tests");
        for (size_t ti = 0; ti < json_array_size(tests); ti++) {
            json_t *t = json_array_get(tests, ti), *tc = json_object_get(t, "tcId");
            char id[64];
            snprintf(id, sizeof id, "tcId %lld",
                     json_is_integer(tc) ? (long long)json_integer_value(tc) : -1LL);
            run_case(c, id, g, t, fn);
        }
    }
    json_t *vs = json_object_get(root, "vectors");
    for (size_t i = 0; i < json_array_size(vs); i++) {
        char id[64];
        snprintf(id, sizeof id, "vector %zu", i);
        run_case(c, id, NULL, json_array_get(vs, i), fn);
    }
}

/* Encapsulation to ek with m; `expect_ok` says whether the key must be accepted. */
static const char *check_encaps(const xw_buf *ek, const xw_buf *m, const xw_buf *want_c, const xw_buf *want_k,
                                int expect_ok, xw_errbuf *eb)
{
    uint8_t ct[MLS_MLKEM768_CT_LEN], ss[32];
    if (m->len != 32)
        return "m must be 32 bytes";
    int rc = mls_mlkem768_encaps_derand(ek->data, ek->len, m->data, ct, ss, eb);
    if (!expect_ok)
        return rc == XW_OK ? "a key that must be refused was accepted" : NULL;
    if (rc != XW_OK)
        return eb->msg;
    const char *bad = diff("ciphertext", ct, sizeof ct, want_c);
    return bad ? bad : diff("shared key", ss, sizeof ss, want_k);
}

/* Decapsulation of c with dk; `expect_ok` says whether dk and c must be accepted. */
static const char *check_decaps(const uint8_t *dk, size_t dk_len, const xw_buf *ct, const xw_buf *want_k,
                                int expect_ok, xw_errbuf *eb)
{
    uint8_t ss[32];
    int rc = mls_mlkem768_decaps(dk, dk_len, ct->data, ct->len, ss, eb);
    if (!expect_ok)
        return rc == XW_OK ? "an input that must be refused was decapsulated" : NULL;
    if (rc != XW_OK)
        return eb->msg;
    return diff("shared key", ss, sizeof ss, want_k);
}

/* Key generation from the seeds d = f[0] and z = f[1] must give ek = f[2] and dk = f[3]. */
static const char *check_keygen_dz(fields *fs)
{
    uint8_t ek[MLS_MLKEM768_EK_LEN], dk[MLS_MLKEM768_DK_LEN];
    if (fs->f[0].len != 32 || fs->f[1].len != 32)
        return "d and z must be 32 bytes";
    if (mls_mlkem768_keygen_derand(fs->f[0].data, fs->f[1].data, ek, dk) != XW_OK)
        return "key generation failed";
    const char *bad = diff("ek", ek, sizeof ek, &fs->f[2]);
    return bad ? bad : diff("dk", dk, sizeof dk, &fs->f[3]);
}

/* ACVP keyGen: d, z -> ek, dk. */
static const char *case_acvp_keygen(json_t *g, json_t *t, fields *fs)
{
    (void)g;
    if (!HEX(t, "d", 0) || !HEX(t, "z", 1) || !HEX(t, "ek", 2) || !HEX(t, "dk", 3))
        return fs->why;
    return check_keygen_dz(fs);
}

/* Wycheproof keygen_seed: 64-byte seed -> ek, dk. */
static const char *case_wp_keygen(json_t *g, json_t *t, fields *fs)
{
    (void)g;
    uint8_t ek[MLS_MLKEM768_EK_LEN], dk[MLS_MLKEM768_DK_LEN];
    if (!HEX(t, "seed", 0) || !HEX(t, "ek", 1) || !HEX(t, "dk", 2))
        return fs->why;
    int rc = mls_mlkem768_keygen_seed(fs->f[0].data, fs->f[0].len, ek, dk, &fs->eb);
    if (!result_valid(t))
        return rc == XW_OK ? "an invalid seed was accepted" : NULL;
    if (rc != XW_OK)
        return fs->eb.msg;
    const char *bad = diff("ek", ek, sizeof ek, &fs->f[1]);
    return bad ? bad : diff("dk", dk, sizeof dk, &fs->f[2]);
}

static const char *case_acvp_encapdecap(json_t *g, json_t *t, fields *fs)
{
    const char *fn = json_string_value(json_object_get(g, "function"));
    if (!fn)
        return "group has no \"function\"";
    if (strcmp(fn, "encapsulation") == 0) {
        if (!HEX(t, "ek", 0) || !HEX(t, "m", 1) || !HEX(t, "c", 2) || !HEX(t, "k", 3))
            return fs->why;
        return check_encaps(&fs->f[0], &fs->f[1], &fs->f[2], &fs->f[3], 1, &fs->eb);
    }
    if (strcmp(fn, "decapsulation") == 0) {
        if (!HEX(t, "dk", 0) || !HEX(t, "c", 1) || !HEX(t, "k", 2))
            return fs->why;
        return check_decaps(fs->f[0].data, fs->f[0].len, &fs->f[1], &fs->f[2], 1, &fs->eb);
    }
    if (strcmp(fn, "encapsulationKeyCheck") == 0 || strcmp(fn, "decapsulationKeyCheck") == 0) {
        int is_ek = fn[0] == 'e';
        json_t *tp = json_object_get(t, "testPassed");
        if (!HEX(t, is_ek ? "ek" : "dk", 0))
            return fs->why;
        if (!json_is_boolean(tp))
            return "field \"testPassed\" is missing";
        int rc = is_ek ? mls_mlkem768_ek_check(fs->f[0].data, fs->f[0].len, &fs->eb)
                       : mls_mlkem768_dk_check(fs->f[0].data, fs->f[0].len, &fs->eb);
        if (json_is_true(tp) && rc != XW_OK)
            return fs->eb.msg;
        if (!json_is_true(tp) && rc == XW_OK)
            return "a key that must fail the check passed it";
        return NULL;
    }
    return "unknown \"function\" in the group";
}

/* Wycheproof mlkem_768_test: seed -> keys (ek compared when given), then decapsulate c. */
static const char *case_wp_decaps(json_t *g, json_t *t, fields *fs)
{
    (void)g;
    uint8_t ek[MLS_MLKEM768_EK_LEN], dk[MLS_MLKEM768_DK_LEN];
    int valid = result_valid(t);
    if (!HEX(t, "seed", 0) || !HEX(t, "c", 1) || !HEX(t, "K", 2))
        return fs->why;
    if (mls_mlkem768_keygen_seed(fs->f[0].data, fs->f[0].len, ek, dk, &fs->eb) != XW_OK)
        return valid ? fs->eb.msg : NULL; /* an invalid case may be refused at key generation */
    if (pqv_has(t, "ek")) {
        if (!HEX(t, "ek", 3))
            return fs->why;
        const char *bad = diff("ek", ek, sizeof ek, &fs->f[3]);
        if (bad)
            return bad;
    }
    if (mls_mlkem768_ek_check(ek, sizeof ek, &fs->eb) != XW_OK)
        return fs->eb.msg;
    return check_decaps(dk, sizeof dk, &fs->f[1], &fs->f[2], valid, &fs->eb);
}

static const char *case_wp_encaps(json_t *g, json_t *t, fields *fs)
{
    (void)g;
    if (!HEX(t, "ek", 0) || !HEX(t, "m", 1) || !HEX(t, "c", 2) || !HEX(t, "K", 3))
        return fs->why;
    return check_encaps(&fs->f[0], &fs->f[1], &fs->f[2], &fs->f[3], result_valid(t), &fs->eb);
}

static const char *case_wp_semi_expanded(json_t *g, json_t *t, fields *fs)
{
    (void)g;
    int valid = result_valid(t);
    if (!HEX(t, "dk", 0) || !HEX(t, "c", 1) || ((valid || pqv_has(t, "K")) && !HEX(t, "K", 2)))
        return fs->why; /* cases that must be refused may omit K */
    return check_decaps(fs->f[0].data, fs->f[0].len, &fs->f[1], &fs->f[2], valid, &fs->eb);
}

/* CCTV strcmp: dk, c -> K. */
static const char *case_cctv_strcmp(json_t *g, json_t *t, fields *fs)
{
    (void)g;
    if (!HEX(t, "dk", 0) || !HEX(t, "c", 1) || !HEX(t, "K", 2))
        return fs->why;
    return check_decaps(fs->f[0].data, fs->f[0].len, &fs->f[1], &fs->f[2], 1, &fs->eb);
}

/* CCTV unlucky: d, z -> ek, dk; m -> c, K; dk, c -> K. */
static const char *case_cctv_unlucky(json_t *g, json_t *t, fields *fs)
{
    (void)g;
    if (!HEX(t, "d", 0) || !HEX(t, "z", 1) || !HEX(t, "ek", 2) || !HEX(t, "dk", 3) || !HEX(t, "m", 4) ||
        !HEX(t, "c", 5) || !HEX(t, "K", 6))
        return fs->why;
    const char *bad = check_keygen_dz(fs); /* then dk = f[3] is the generated key */
    if (!bad)
        bad = check_encaps(&fs->f[2], &fs->f[4], &fs->f[5], &fs->f[6], 1, &fs->eb);
    if (!bad)
        bad = check_decaps(fs->f[3].data, fs->f[3].len, &fs->f[5], &fs->f[6], 1, &fs->eb);
    return bad;
}

/* One hex encapsulation key per line; every one must fail the check and be refused. */
static int run_cctv_modulus(const char *path, pqv_count *c)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("cannot open %s\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0;
    xw_buf ek;
    xw_buf_init(&ek, HEX_MAX);
    while ((n = getline(&line, &cap, f)) > 0) {
        char id[64];
        xw_errbuf eb = {{0}};
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        snprintf(id, sizeof id, "line %d", lineno);
        xw_buf_reset(&ek);
        uint8_t ct[MLS_MLKEM768_CT_LEN], ss[32], m[32] = {0};
        if (xw_hex_decode(line, (size_t)n, &ek) != XW_OK)
            pqv_result(c, id, "not hex");
        else if (ek.len != MLS_MLKEM768_EK_LEN)
            pqv_result(c, id, "key is %zu bytes, not 1184 (the file is not what this kind expects)", ek.len);
        else if (mls_mlkem768_ek_check(ek.data, ek.len, &eb) == XW_OK)
            pqv_result(c, id, "unreduced encapsulation key passed the check");
        else if (strstr(eb.msg, "not reduced") == NULL)
            pqv_result(c, id, "refused for the wrong reason: %s", eb.msg);
        else if (mls_mlkem768_encaps_derand(ek.data, ek.len, m, ct, ss, NULL) == XW_OK)
            pqv_result(c, id, "encapsulation to an unreduced key succeeded");
        else
            pqv_result(c, id, NULL);
    }
    free(line);
    xw_buf_free(&ek);
    fclose(f);
    return 0;
}

static const char *const kind_names[] = {"mlkem-acvp-keygen", "mlkem-acvp-encapdecap",
                                         "wycheproof-keygen", "wycheproof-decaps",
                                         "wycheproof-encaps", "wycheproof-semi-expanded",
                                         "cctv-strcmp",       "cctv-unlucky",
                                         "cctv-modulus",      "xwing",
                                         "xwing-hpke"};
static const case_fn kind_fns[] = {case_acvp_keygen, case_acvp_encapdecap, case_wp_keygen,
                                   case_wp_decaps,   case_wp_encaps,       case_wp_semi_expanded,
                                   case_cctv_strcmp, case_cctv_unlucky};

/* Runs one file; a file that cannot be read or has no cases counts as one failure. */
static void run_file(size_t kind, const char *path, pqv_count *total)
{
    pqv_count c = {0, 0};
    int rc = 0;
    if (strcmp(kind_names[kind], "cctv-modulus") == 0) {
        rc = run_cctv_modulus(path, &c);
    } else {
        json_error_t jerr;
        json_t *root = json_load_file(path, 0, &jerr);
        if (!root) {
            printf("FAIL %s: line %d: %s\n", path, jerr.line, jerr.text);
            rc = -1;
        } else if (kind < sizeof kind_fns / sizeof kind_fns[0]) {
            for_each_case(root, &c, kind_fns[kind]);
        } else if (strcmp(kind_names[kind], "xwing") == 0) {
            rc = pqv_xwing(root, &c);
        } else {
            rc = pqv_xwing_hpke(root, &c);
        }
        json_decref(root);
    }
    if (rc == 0 && c.passed + c.failed == 0)
        printf("FAIL %s: no cases found for kind %s\n", path, kind_names[kind]);
    if (rc != 0 || c.passed + c.failed == 0)
        c.failed++;
    printf("  %s (%s): %d passed, %d failed\n", path, kind_names[kind], c.passed, c.failed);
    total->passed += c.passed;
    total->failed += c.failed;
}

int main(int argc, char **argv)
{
    size_t kind = 0, n_kinds = sizeof kind_names / sizeof kind_names[0];
    while (argc >= 2 && kind < n_kinds && strcmp(kind_names[kind], argv[1]) != 0)
        kind++;
    if (argc < 3 || kind == n_kinds) {
        fprintf(stderr, "usage: %s KIND FILE [FILE...]\nKIND:", argv[0]);
        for (size_t i = 0; i < n_kinds; i++)
            fprintf(stderr, " %s", kind_names[i]);
        fprintf(stderr, "\n");
        return 2;
    }
    pqv_count c = {0, 0};
    for (int i = 2; i < argc; i++)
        run_file(kind, argv[i], &c);
    printf("%d passed, %d failed\n", c.passed, c.failed);
    return c.failed == 0 ? 0 : 1;
}
