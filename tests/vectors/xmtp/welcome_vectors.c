/*
 * XMTP welcome wrapper vectors: build/tests/welcome-vectors FILE [FILE...].
 *
 * Runs xmtp/welcome_wrap.h over the X-Wing-in-HPKE vector files of tests/vectors/data/pq
 * (xwing-hpke-*.json, the layout the pq-vectors runner's xwing-hpke kind reads; that runner
 * checks the HPKE layers in mls/, this one what XMTP builds on them). A vector is a welcome
 * vector when it has hpke_ciphertext_tls and the welcome wrapper's suite: an X-Wing KEM
 * (0x004D or 0x647A), HKDF-SHA256, ChaCha20-Poly1305, and the wrapper's info (or none, which
 * means the wrapper's). For each:
 *   - the unwrapper (which tries 0x004D, then 0x647A) must open hpke_ciphertext_tls to the
 *     first plaintext, and the second ciphertext (seq 1), when there is one, as metadata to
 *     the second plaintext, and report the vector's KEM id;
 *   - with eseed and pkR and KEM id 0x004D (what libxmtp sends), the wrapper's sender side
 *     must reproduce hpke_ciphertext_tls and the metadata ciphertext byte for byte.
 * Other vectors are not counted. Prints each failure and ends with "N passed, N failed";
 * exits 0 only when nothing failed, and a file without welcome vectors counts as a failure.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/codec.h"
#include "common/err.h"
#include "mls/hpke.h"
#include "mls/xwing_hpke.h"
#include "xmtp/welcome_wrap.h"

#define FIELD_MAX (1u << 24)

/* TLS EncryptContext{label = "MLS 1.0 MLS_WELCOME", context = ""}: the wrapper's HPKE info. */
static const uint8_t welcome_info[21] = {0x13, 'M', 'L', 'S', ' ', '1', '.', '0', ' ', 'M', 'L',
                                         'S',  '_', 'W', 'E', 'L', 'C', 'O', 'M', 'E', 0x00};

typedef struct {
    xw_buf skr, pkr, eseed, tls, info, pt0, pt1, ct1;
    int has_meta, has_eseed, has_pkr;
    char msg[400];
} wv;

/* Decodes hex field `name` of obj into b; 0 when absent (has = 0), -1 when not hex. */
static int hex_field(json_t *obj, const char *name, xw_buf *b, int *has)
{
    json_t *v = json_object_get(obj, name);
    xw_buf_reset(b);
    *has = json_is_string(v);
    if (!*has)
        return 0;
    return xw_hex_decode(json_string_value(v), json_string_length(v), b) == XW_OK ? 0 : -1;
}

static int num(json_t *v, const char *name)
{
    json_t *j = json_object_get(v, name);
    return json_is_integer(j) ? (int)json_integer_value(j) : -1;
}

static const char *differs(wv *x, const char *what, const uint8_t *got, size_t n, const xw_buf *want)
{
    if (n == want->len && (n == 0 || memcmp(got, want->data, n) == 0))
        return NULL;
    snprintf(x->msg, sizeof x->msg, "%s differs: got %zu bytes, want %zu", what, n, want->len);
    return x->msg;
}

/* 1 when v is a welcome vector (loaded into x), 0 when it is not, -1 with x->msg when broken. */
static int load(json_t *v, wv *x)
{
    int kem = num(v, "kem_id"), has_tls, has_info, has, k;
    if ((kem != MLS_HPKE_KEM_XWING_LIBXMTP && kem != MLS_HPKE_KEM_XWING_DRAFT) ||
        num(v, "kdf_id") != MLS_HPKE_KDF_HKDF_SHA256 || num(v, "aead_id") != MLS_HPKE_AEAD_CHACHA20POLY1305)
        return 0;
    if (hex_field(v, "hpke_ciphertext_tls", &x->tls, &has_tls) || hex_field(v, "info", &x->info, &has_info) ||
        hex_field(v, "skR", &x->skr, &has) || hex_field(v, "pkR", &x->pkr, &x->has_pkr) ||
        hex_field(v, "eseed", &x->eseed, &x->has_eseed)) {
        snprintf(x->msg, sizeof x->msg, "a hex field is not hex");
        return -1;
    }
    if (!has_tls ||
        (has_info && (x->info.len != sizeof welcome_info || memcmp(x->info.data, welcome_info, x->info.len))))
        return 0;
    json_t *encs = json_object_get(v, "encryptions");
    json_t *e0 = json_array_get(encs, 0), *e1 = json_array_get(encs, 1);
    x->has_meta = e1 && num(e1, "seq") == 1;
    if (!has || !e0 || hex_field(e0, "pt", &x->pt0, &k) || !k ||
        (x->has_meta && (hex_field(e1, "pt", &x->pt1, &k) || !k || hex_field(e1, "ct", &x->ct1, &k) || !k))) {
        snprintf(x->msg, sizeof x->msg,
                 "a welcome vector needs skR and encryptions with pt (and ct for seq 1)");
        return -1;
    }
    return 1;
}

static const char *check(json_t *v, wv *x)
{
    const char *bad = NULL;
    xw_errbuf eb = {{0}};
    uint16_t kem = (uint16_t)num(v, "kem_id"), used = 0;
    xw_buf w, m, data, mc;
    xw_buf_init(&w, FIELD_MAX);
    xw_buf_init(&m, FIELD_MAX);
    xw_buf_init(&data, FIELD_MAX);
    xw_buf_init(&mc, FIELD_MAX);
    if (xmtp_welcome_unwrap(XMTP_WELCOME_XWING, x->skr.data, x->skr.len, x->tls.data, x->tls.len,
                            x->has_meta ? x->ct1.data : NULL, x->ct1.len, &w, &m, &used, &eb) != XW_OK) {
        snprintf(x->msg, sizeof x->msg, "unwrap: %s", eb.msg);
        bad = x->msg;
    } else if (!(bad = differs(x, "unwrapped welcome", w.data, w.len, &x->pt0)) && x->has_meta) {
        bad = differs(x, "unwrapped metadata", m.data, m.len, &x->pt1);
    }
    if (!bad && used != kem) {
        snprintf(x->msg, sizeof x->msg, "the unwrapper reports KEM id 0x%04x, the vector uses 0x%04x", used,
                 kem);
        bad = x->msg;
    }
    if (!bad && x->has_eseed && x->has_pkr && kem == MLS_HPKE_KEM_XWING_LIBXMTP) {
        xmtp_welcome_key to = {.alg = XMTP_WELCOME_XWING, .pub_len = x->pkr.len};
        if (x->pkr.len != sizeof to.pub) {
            bad = "pkR is not an X-Wing public key";
        } else {
            memcpy(to.pub, x->pkr.data, sizeof to.pub);
            if (xmtp_welcome_wrap(&to, x->pt0.data, x->pt0.len,
                                  x->has_meta ? (x->pt1.data ? x->pt1.data : (const uint8_t *)"") : NULL,
                                  x->pt1.len, x->eseed.data, &data, &mc, &eb) != XW_OK) {
                snprintf(x->msg, sizeof x->msg, "wrap: %s", eb.msg);
                bad = x->msg;
            } else if (!(bad = differs(x, "wrapped data", data.data, data.len, &x->tls)) && x->has_meta) {
                bad = differs(x, "wrapped metadata", mc.data, mc.len, &x->ct1);
            }
        }
    }
    xw_buf_free(&w);
    xw_buf_free(&m);
    xw_buf_free(&data);
    xw_buf_free(&mc);
    return bad;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [FILE...] (xwing-hpke vector files)\n", argv[0]);
        return 2;
    }
    wv x;
    xw_buf *bufs[] = {&x.skr, &x.pkr, &x.eseed, &x.tls, &x.info, &x.pt0, &x.pt1, &x.ct1};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        xw_buf_init(bufs[i], FIELD_MAX);
    for (int a = 1; a < argc; a++) {
        json_error_t je;
        json_t *root = json_load_file(argv[a], 0, &je);
        json_t *vs = json_is_array(root) ? root : json_object_get(root, "vectors");
        int in_file = 0;
        for (size_t i = 0; i < json_array_size(vs); i++) {
            json_t *v = json_array_get(vs, i);
            const char *name = json_string_value(json_object_get(v, "name"));
            int rc = load(v, &x);
            if (rc == 0)
                continue;
            in_file++;
            const char *bad = rc < 0 ? x.msg : check(v, &x);
            if (bad) {
                printf("FAIL %s vector %zu (%s): %s\n", argv[a], i, name ? name : "unnamed", bad);
                failed++;
            } else {
                passed++;
            }
        }
        if (!root)
            printf("FAIL %s: %s (line %d)\n", argv[a], je.text, je.line);
        else if (!in_file)
            printf("FAIL %s: no welcome vectors in it\n", argv[a]);
        failed += !root || !in_file;
        printf("  %s: %d welcome vectors\n", argv[a], in_file);
        json_decref(root);
    }
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        xw_buf_free(bufs[i]);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
