/*
 * xwing-hpke kind of the post-quantum vector runner (see pq_vectors.c): X-Wing inside RFC 9180
 * base mode, as libxmtp wraps welcomes (tests/vectors/data/pq/xwing-hpke-libxmtp.json).
 *
 * Per vector, with kem_id / kdf_id / aead_id, info (default: the welcome wrapper's), enc (or
 * hpke_ciphertext_tls to take it from), skR and encryptions[] (seq, aad, pt, ct):
 *   - when ikmR is given: DeriveKeyPair(ikmR) must give skR (and pkR);
 *   - when eseed is given (sender side): Encap(pkR, eseed) must give enc and shared_secret, and
 *     SetupBaseS must give key, base_nonce and exporter_secret (key_schedule_context, secret and
 *     suite_id are recomputed to show where a difference starts); each pt sealed in order must
 *     give its ct, and hpke_ciphertext_tls must be TLS HpkeCiphertext{enc, first ct};
 *   - always (receiver side): SetupBaseR(enc, skR) opens every ct in order to its pt;
 *   - for the two X-Wing ids, a receiver using the other id must fail to open the first ct.
 * XMTP's welcome wrapper on the same files (hpke_ciphertext_tls through xmtp/welcome_wrap.h)
 * is checked by tests/vectors/xmtp/welcome_vectors.c (xmtp/welcome.mk).
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/err.h"
#include "mls/hpke.h"
#include "mls/tls.h"
#include "mls/xwing_hpke.h"
#include "tests/vectors/pq/pq_vectors.h"

enum {
    F_INFO,
    F_ENC,
    F_SKR,
    F_PKR,
    F_IKMR,
    F_ESEED,
    F_SS,
    F_SUITE,
    F_KSC,
    F_SECRET,
    F_KEY,
    F_NONCE,
    F_EXP,
    F_TLS,
    NF
};
static const char *const names[NF] = {"info",
                                      "enc",
                                      "skR",
                                      "pkR",
                                      "ikmR",
                                      "eseed",
                                      "shared_secret",
                                      "suite_id",
                                      "key_schedule_context",
                                      "secret",
                                      "key",
                                      "base_nonce",
                                      "exporter_secret",
                                      "hpke_ciphertext_tls"};

typedef struct {
    xw_buf f[NF];
    int has[NF];
    xw_buf aad, pt, ct, out;
    char why[160];
    char msg[400];
    xw_errbuf eb;
} hv;

static const char *cmp(hv *x, const char *what, const uint8_t *got, size_t n, const xw_buf *want)
{
    if (n == want->len && (n == 0 || memcmp(got, want->data, n) == 0))
        return NULL;
    snprintf(x->msg, sizeof x->msg, "%s differs: got %s (%zu bytes), want %s (%zu bytes)", what,
             pqv_show(got, n), n, want->len ? pqv_show(want->data, want->len) : "", want->len);
    return x->msg;
}

static int num(json_t *v, const char *name, uint16_t *out)
{
    json_t *j = json_object_get(v, name);
    if (!json_is_integer(j) || json_integer_value(j) < 0 || json_integer_value(j) > 0xffff)
        return -1;
    *out = (uint16_t)json_integer_value(j);
    return 0;
}

/* Loads encryption i's aad, pt and ct. */
static const char *load_enc(hv *x, json_t *e)
{
    if (pqv_hex(e, "aad", &x->aad, x->why, sizeof x->why) ||
        pqv_hex(e, "pt", &x->pt, x->why, sizeof x->why) || pqv_hex(e, "ct", &x->ct, x->why, sizeof x->why))
        return x->why;
    return NULL;
}

static const char *sender_side(hv *x, const mls_hpke_suite *s, const mls_hpke_kem *kem, json_t *encs)
{
    const char *bad;
    uint8_t shared[MLS_HPKE_MAX_SECRET], enc[MLS_HPKE_MAX_ENC];
    if (x->f[F_ESEED].len != kem->n_encap_rand)
        return "eseed has the wrong length for this KEM";
    if (!x->has[F_PKR] || x->f[F_PKR].len != kem->n_pk)
        return "the sender side needs pkR (or ikmR) of the KEM's size";
    if (kem->encap(kem, x->f[F_PKR].data, x->f[F_ESEED].data, shared, enc, &x->eb) != XW_OK)
        return x->eb.msg;
    if ((bad = cmp(x, "enc", enc, kem->n_enc, &x->f[F_ENC])))
        return bad;
    if (x->has[F_SS] && (bad = cmp(x, "shared_secret", shared, kem->n_secret, &x->f[F_SS])))
        return bad;
    /* where the key schedule starts, recomputed from RFC 9180 §5.1 */
    uint8_t sid[10] = {'H',
                       'P',
                       'K',
                       'E',
                       (uint8_t)(s->kem_id >> 8),
                       (uint8_t)s->kem_id,
                       (uint8_t)(s->kdf_id >> 8),
                       (uint8_t)s->kdf_id,
                       (uint8_t)(s->aead_id >> 8),
                       (uint8_t)s->aead_id};
    size_t nh = mls_hpke_kdf_nh(s->kdf_id);
    uint8_t ksc[1 + 2 * MLS_HPKE_MAX_NH], secret[MLS_HPKE_MAX_NH];
    ksc[0] = 0;
    if (x->has[F_SUITE] && (bad = cmp(x, "suite_id", sid, sizeof sid, &x->f[F_SUITE])))
        return bad;
    if (mls_hpke_labeled_extract(s->kdf_id, sid, 10, NULL, 0, "psk_id_hash", NULL, 0, ksc + 1) ||
        mls_hpke_labeled_extract(s->kdf_id, sid, 10, NULL, 0, "info_hash", x->f[F_INFO].data,
                                 x->f[F_INFO].len, ksc + 1 + nh) ||
        mls_hpke_labeled_extract(s->kdf_id, sid, 10, shared, kem->n_secret, "secret", NULL, 0, secret))
        return "LabeledExtract failed";
    if (x->has[F_KSC] && (bad = cmp(x, "key_schedule_context", ksc, 1 + 2 * nh, &x->f[F_KSC])))
        return bad;
    if (x->has[F_SECRET] && (bad = cmp(x, "secret", secret, nh, &x->f[F_SECRET])))
        return bad;
    mls_hpke_ctx ctx;
    if (mls_hpke_setup_base_s(s, x->f[F_PKR].data, x->f[F_PKR].len, x->f[F_INFO].data, x->f[F_INFO].len,
                              x->f[F_ESEED].data, enc, &ctx, &x->eb) != XW_OK)
        return x->eb.msg;
    size_t nk = mls_hpke_aead_nk(s->aead_id);
    if ((x->has[F_KEY] && (bad = cmp(x, "key", ctx.key, nk, &x->f[F_KEY]))) ||
        (x->has[F_NONCE] && (bad = cmp(x, "base_nonce", ctx.base_nonce, MLS_HPKE_NN, &x->f[F_NONCE]))) ||
        (x->has[F_EXP] && (bad = cmp(x, "exporter_secret", ctx.exporter_secret, nh, &x->f[F_EXP]))))
        return bad;
    xw_buf first_ct;
    xw_buf_init(&first_ct, 1u << 24);
    for (size_t i = 0; i < json_array_size(encs) && !bad; i++) {
        if ((bad = load_enc(x, json_array_get(encs, i))))
            break;
        xw_buf_reset(&x->out);
        uint8_t *c = xw_buf_extend(&x->out, x->pt.len + MLS_HPKE_TAG);
        if (!c || mls_hpke_seal(&ctx, x->aad.data, x->aad.len, x->pt.data, x->pt.len, c, &x->eb) != XW_OK)
            bad = c ? x->eb.msg : "out of memory";
        else if ((bad = cmp(x, "sealed ct", x->out.data, x->out.len, &x->ct)) == NULL && i == 0)
            bad = xw_buf_append(&first_ct, x->out.data, x->out.len) ? "out of memory" : NULL;
    }
    mls_hpke_ctx_wipe(&ctx);
    if (!bad && x->has[F_TLS]) {
        xw_buf tls;
        xw_buf_init(&tls, 1u << 24);
        mls_writer w;
        mls_writer_init(&w, &tls);
        mls_write_opaque(&w, enc, kem->n_enc);
        mls_write_opaque(&w, first_ct.data, first_ct.len);
        bad = w.err ? "TLS encoding failed" : cmp(x, "hpke_ciphertext_tls", tls.data, tls.len, &x->f[F_TLS]);
        xw_buf_free(&tls);
    }
    xw_buf_free(&first_ct);
    return bad;
}

/* Opens every ciphertext in order with kem_id; `expect_ok` 0 means the first must fail. */
static const char *receiver_side(hv *x, const mls_hpke_suite *s, json_t *encs, int expect_ok)
{
    const char *bad = NULL;
    mls_hpke_ctx ctx;
    if (mls_hpke_setup_base_r(s, x->f[F_ENC].data, x->f[F_ENC].len, x->f[F_SKR].data, x->f[F_SKR].len, NULL,
                              x->f[F_INFO].data, x->f[F_INFO].len, &ctx, &x->eb) != XW_OK)
        return x->eb.msg;
    for (size_t i = 0; i < json_array_size(encs) && !bad; i++) {
        if ((bad = load_enc(x, json_array_get(encs, i))))
            break;
        xw_buf_reset(&x->out);
        uint8_t one[1];
        uint8_t *p = x->ct.len > MLS_HPKE_TAG ? xw_buf_extend(&x->out, x->ct.len - MLS_HPKE_TAG) : one;
        int rc =
            p ? mls_hpke_open(&ctx, x->aad.data, x->aad.len, x->ct.data, x->ct.len, p, &x->eb) : XW_ENOMEM;
        if (!expect_ok) {
            bad = rc == XW_EDECRYPT ? NULL : "a receiver with the other X-Wing KEM id opened the ciphertext";
            break;
        }
        if (rc != XW_OK)
            bad = x->eb.msg;
        else
            bad = cmp(x, "opened pt", p, x->ct.len - MLS_HPKE_TAG, &x->pt);
    }
    mls_hpke_ctx_wipe(&ctx);
    return bad;
}

static const uint8_t welcome_info[21] = {0x13, 'M', 'L', 'S', ' ', '1', '.', '0', ' ', 'M', 'L',
                                         'S',  '_', 'W', 'E', 'L', 'C', 'O', 'M', 'E', 0x00};

static const char *check_vector(json_t *v, hv *x)
{
    mls_hpke_suite s;
    for (int i = 0; i < NF; i++) {
        if (!pqv_has(v, names[i]))
            continue;
        if (pqv_hex(v, names[i], &x->f[i], x->why, sizeof x->why))
            return x->why;
        x->has[i] = 1;
    }
    json_t *encs = json_object_get(v, "encryptions");
    if (num(v, "kem_id", &s.kem_id) || num(v, "kdf_id", &s.kdf_id) || num(v, "aead_id", &s.aead_id))
        return "kem_id, kdf_id and aead_id must be integers";
    /* receiver-only vectors may give just the wire form: take enc from it; info defaults to
     * the welcome wrapper's */
    if (!x->has[F_ENC] && x->has[F_TLS]) {
        mls_reader r;
        mls_reader_init(&r, x->f[F_TLS].data, x->f[F_TLS].len, NULL);
        mls_span enc = mls_read_opaque(&r);
        (void)mls_read_opaque(&r);
        if (mls_reader_finish(&r, "hpke_ciphertext_tls") != XW_OK ||
            xw_buf_append(&x->f[F_ENC], enc.p, enc.len))
            return "hpke_ciphertext_tls is not a TLS HpkeCiphertext";
        x->has[F_ENC] = 1;
    }
    if (!x->has[F_INFO]) {
        if (xw_buf_append(&x->f[F_INFO], welcome_info, sizeof welcome_info))
            return "out of memory";
        x->has[F_INFO] = 1;
    }
    if (!x->has[F_INFO] || !x->has[F_ENC] || !x->has[F_SKR] || !json_is_array(encs))
        return "a vector needs info, enc, skR and encryptions";
    if (mls_hpke_suite_check(&s, &x->eb) != XW_OK)
        return x->eb.msg;
    const mls_hpke_kem *kem = mls_hpke_kem_get(s.kem_id);
    const char *bad;
    if (x->has[F_IKMR]) {
        uint8_t sk[MLS_HPKE_MAX_SK], pk[MLS_HPKE_MAX_PK];
        if (kem->derive_keypair(kem, x->f[F_IKMR].data, x->f[F_IKMR].len, sk, pk, &x->eb) != XW_OK)
            return x->eb.msg;
        if ((bad = cmp(x, "derived skR", sk, kem->n_sk, &x->f[F_SKR])))
            return bad;
        if (x->has[F_PKR] && (bad = cmp(x, "derived pkR", pk, kem->n_pk, &x->f[F_PKR])))
            return bad;
        if (!x->has[F_PKR] && !xw_buf_append(&x->f[F_PKR], pk, kem->n_pk))
            x->has[F_PKR] = 1;
    }
    if (x->has[F_ESEED] && (bad = sender_side(x, &s, kem, encs)))
        return bad;
    if ((bad = receiver_side(x, &s, encs, 1)))
        return bad;
    if (s.kem_id == MLS_HPKE_KEM_XWING_LIBXMTP || s.kem_id == MLS_HPKE_KEM_XWING_DRAFT) {
        mls_hpke_suite other = s;
        other.kem_id =
            s.kem_id == MLS_HPKE_KEM_XWING_LIBXMTP ? MLS_HPKE_KEM_XWING_DRAFT : MLS_HPKE_KEM_XWING_LIBXMTP;
        if ((bad = receiver_side(x, &other, encs, 0)))
            return bad;
    }
    return NULL;
}

int pqv_xwing_hpke(json_t *root, pqv_count *c)
{
    json_t *vs = pqv_vectors(root, "xwing-hpke");
    xw_errbuf eb = {{0}};
    if (!vs)
        return -1;
    if (mls_xwing_hpke_register(&eb) != XW_OK) {
        printf("%s\n", eb.msg);
        return -1;
    }
    for (size_t i = 0; i < json_array_size(vs); i++) {
        hv *x = xw_calloc(1, sizeof *x);
        if (!x)
            return -1;
        for (int k = 0; k < NF; k++)
            xw_buf_init(&x->f[k], 1u << 24);
        xw_buf_init(&x->aad, 1u << 24);
        xw_buf_init(&x->pt, 1u << 24);
        xw_buf_init(&x->ct, 1u << 24);
        xw_buf_init(&x->out, 1u << 24);
        char id[128];
        const char *name = json_string_value(json_object_get(json_array_get(vs, i), "name"));
        snprintf(id, sizeof id, "vector %zu%s%s%s", i, name ? " (" : "", name ? name : "", name ? ")" : "");
        pqv_verdict(c, id, check_vector(json_array_get(vs, i), x));
        for (int k = 0; k < NF; k++)
            xw_buf_free(&x->f[k]);
        xw_buf_free(&x->aad);
        xw_buf_free(&x->pt);
        xw_buf_free(&x->ct);
        xw_buf_free(&x->out);
        xw_free(x);
    }
    return 0;
}
