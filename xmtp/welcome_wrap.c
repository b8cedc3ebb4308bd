/*
 * XMTP welcome wrapper and its KeyPackage extensions (see welcome_wrap.h).
 *
 * Wrapping is two seals on one HPKE base-mode context from mls/hpke.h; unwrapping parses the
 * TLS HpkeCiphertext with mls/tls.h, sets up the receiver and opens in the same order. For
 * X-Wing the receiver first uses KEM id 0x004D (libxmtp's) and, if the welcome does not open,
 * 0x647A: the KEM step is the same, only the key schedule differs, and the AEAD tag tells
 * which is right. Outputs are built in local buffers and handed over only on success.
 * The protobuf parts (KeyPackage extensions, WelcomeMetadata) are in welcome_ext.c.
 */
#include "xmtp/welcome_wrap.h"

#include <string.h>

#include "common/alloc.h"
#include "mls/hpke.h"
#include "mls/tls.h"
#include "mls/xwing_hpke.h"

/* TLS EncryptContext{label = "MLS 1.0 MLS_WELCOME", context = ""} (openmls' HPKE info). */
static const uint8_t welcome_info[21] = {0x13, 'M', 'L', 'S', ' ', '1', '.', '0', ' ', 'M', 'L',
                                         'S',  '_', 'W', 'E', 'L', 'C', 'O', 'M', 'E', 0x00};

static const char *alg_name(xmtp_welcome_alg alg)
{
    return alg == XMTP_WELCOME_CURVE25519 ? "Curve25519" : alg == XMTP_WELCOME_XWING ? "X-Wing" : "unknown";
}

static mls_hpke_suite suite_for(uint16_t kem_id)
{
    mls_hpke_suite s = {kem_id, MLS_HPKE_KDF_HKDF_SHA256, MLS_HPKE_AEAD_CHACHA20POLY1305};
    return s;
}

/* The HPKE KEM ids to try for an algorithm, in order; returns how many. */
static int kem_ids(xmtp_welcome_alg alg, uint16_t ids[2], xw_errbuf *eb)
{
    if (alg == XMTP_WELCOME_CURVE25519) {
        ids[0] = MLS_HPKE_KEM_X25519_SHA256;
        return 1;
    }
    if (alg == XMTP_WELCOME_XWING) {
        if (mls_xwing_hpke_register(eb) != XW_OK)
            return -1;
        ids[0] = MLS_HPKE_KEM_XWING_LIBXMTP;
        ids[1] = MLS_HPKE_KEM_XWING_DRAFT;
        return 2;
    }
    xw_errf(eb, XW_EUNSUPPORTED, "welcome wrapper algorithm %d is not supported (1 = Curve25519, 2 = X-Wing)",
            (int)alg);
    return -1;
}

/* Replaces *dst by src (same max kept), leaving src empty. */
static void buf_hand_over(xw_buf *dst, xw_buf *src)
{
    xw_buf_free_secret(dst);
    dst->data = src->data;
    dst->len = src->len;
    dst->cap = src->cap;
    src->data = NULL;
    src->len = src->cap = 0;
}

int xmtp_welcome_wrap(const xmtp_welcome_key *to, const uint8_t *welcome, size_t welcome_len,
                      const uint8_t *metadata, size_t metadata_len, const uint8_t *rand, xw_buf *data,
                      xw_buf *metadata_ct, xw_errbuf *eb)
{
    uint16_t ids[2];
    if (!to || kem_ids(to->alg, ids, eb) < 0)
        return to ? XW_EUNSUPPORTED : xw_errf(eb, XW_EINVAL, "no recipient key to wrap the welcome to");
    if (welcome_len > XMTP_WELCOME_WRAP_MAX)
        return xw_errf(eb, XW_ETOOBIG, "welcome of %zu bytes is over the %u-byte limit", welcome_len,
                       XMTP_WELCOME_WRAP_MAX);
    if (metadata && metadata_len > XMTP_WELCOME_METADATA_MAX)
        return xw_errf(eb, XW_ETOOBIG, "welcome metadata of %zu bytes is over the %d-byte limit",
                       metadata_len, XMTP_WELCOME_METADATA_MAX);
    if (metadata && !metadata_ct)
        return xw_errf(eb, XW_EINVAL, "welcome metadata given without a buffer for its ciphertext");
    mls_hpke_suite s = suite_for(ids[0]);
    const mls_hpke_kem *kem = mls_hpke_kem_get(s.kem_id);
    mls_hpke_ctx ctx;
    uint8_t enc[MLS_HPKE_MAX_ENC];
    int rc = mls_hpke_setup_base_s(&s, to->pub, to->pub_len, welcome_info, sizeof welcome_info, rand, enc,
                                   &ctx, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, rc, "wrapping a welcome (%s)", alg_name(to->alg));
    xw_buf out, mout;
    xw_buf_init(&out, data->max);
    xw_buf_init(&mout, metadata_ct ? metadata_ct->max : 0);
    mls_writer w;
    mls_writer_init(&w, &out);
    mls_write_opaque(&w, enc, kem->n_enc);
    mls_write_varint(&w, welcome_len + MLS_HPKE_TAG);
    uint8_t *c = w.err == XW_OK ? xw_buf_extend(&out, welcome_len + MLS_HPKE_TAG) : NULL;
    if (!c)
        rc = xw_errf(eb, XW_ETOOBIG, "the wrapped welcome (%zu bytes) does not fit its buffer (max %zu)",
                     welcome_len + MLS_HPKE_TAG + kem->n_enc + 8, data->max);
    else
        rc = mls_hpke_seal(&ctx, NULL, 0, welcome, welcome_len, c, eb);
    if (rc == XW_OK && metadata) {
        uint8_t *mc = xw_buf_extend(&mout, metadata_len + MLS_HPKE_TAG);
        if (!mc)
            rc = xw_errf(eb, XW_ETOOBIG, "the wrapped welcome metadata does not fit its buffer (max %zu)",
                         mout.max);
        else
            rc = mls_hpke_seal(&ctx, NULL, 0, metadata, metadata_len, mc, eb);
    }
    mls_hpke_ctx_wipe(&ctx);
    if (rc == XW_OK) {
        buf_hand_over(data, &out);
        if (metadata)
            buf_hand_over(metadata_ct, &mout);
    }
    xw_buf_free(&out);
    xw_buf_free(&mout);
    return rc;
}

/* Where an unwrap attempt stopped. Only a welcome that fails its tag is retried with the
 * other KEM id: a bad encapsulation or a bad metadata tag is final. */
enum { STOP_SETUP, STOP_WELCOME, STOP_METADATA, STOP_NONE };

/* Opens data (and metadata) with one KEM id, from the KEM's shared secret. */
static int unwrap_with(uint16_t kem_id, const uint8_t *shared, size_t shared_len, mls_span ct,
                       const uint8_t *metadata_ct, size_t metadata_ct_len, xw_buf *w, xw_buf *m, int *stop,
                       xw_errbuf *eb)
{
    mls_hpke_suite s = suite_for(kem_id);
    mls_hpke_ctx ctx;
    *stop = STOP_SETUP;
    int rc =
        mls_hpke_setup_base_r_shared(&s, shared, shared_len, welcome_info, sizeof welcome_info, &ctx, eb);
    if (rc != XW_OK)
        return rc;
    *stop = STOP_WELCOME;
    uint8_t one[1];
    uint8_t *p = ct.len > MLS_HPKE_TAG ? xw_buf_extend(w, ct.len - MLS_HPKE_TAG) : one;
    if (!p)
        rc = xw_errf(eb, XW_ETOOBIG, "the welcome (%zu bytes) does not fit its buffer (max %zu)",
                     ct.len - MLS_HPKE_TAG, w->max);
    else
        rc = mls_hpke_open(&ctx, NULL, 0, ct.p, ct.len, p, eb);
    if (rc == XW_OK && metadata_ct) {
        *stop = STOP_METADATA;
        uint8_t *mp = metadata_ct_len > MLS_HPKE_TAG ? xw_buf_extend(m, metadata_ct_len - MLS_HPKE_TAG) : one;
        if (!mp)
            rc = xw_errf(eb, XW_ETOOBIG, "the welcome metadata does not fit its buffer (max %zu)", m->max);
        else
            rc = mls_hpke_open(&ctx, NULL, 0, metadata_ct, metadata_ct_len, mp, eb);
        if (rc == XW_EDECRYPT)
            rc = xw_errf(eb, XW_EDECRYPT,
                         "the welcome opened but its metadata does not decrypt on the same HPKE context; the "
                         "metadata belongs to another welcome or was tampered with");
    }
    if (rc == XW_OK)
        *stop = STOP_NONE;
    mls_hpke_ctx_wipe(&ctx);
    return rc;
}

int xmtp_welcome_unwrap(xmtp_welcome_alg alg, const uint8_t *sk, size_t sk_len, const uint8_t *data,
                        size_t data_len, const uint8_t *metadata_ct, size_t metadata_ct_len, xw_buf *welcome,
                        xw_buf *metadata, uint16_t *kem_id_used, xw_errbuf *eb)
{
    uint16_t ids[2];
    int n_ids = kem_ids(alg, ids, eb);
    if (n_ids < 0)
        return XW_EUNSUPPORTED;
    const mls_hpke_kem *kem = mls_hpke_kem_get(ids[0]);
    if (!data)
        return xw_errf(eb, XW_EMALFORMED, "wrapped welcome has no data");
    if (!sk || sk_len != 32)
        return xw_errf(eb, XW_EBADKEY, "welcome unwrapping key is %zu bytes; it must be 32 (%s)",
                       sk ? sk_len : 0,
                       alg == XMTP_WELCOME_XWING ? "the X-Wing seed" : "the X25519 init private key");
    if (metadata_ct && !metadata)
        return xw_errf(eb, XW_EINVAL, "welcome metadata given without a buffer for its plaintext");
    if (metadata_ct &&
        (metadata_ct_len < MLS_HPKE_TAG || metadata_ct_len > XMTP_WELCOME_METADATA_MAX + MLS_HPKE_TAG))
        return xw_errf(eb, XW_EMALFORMED,
                       "wrapped welcome metadata is %zu bytes; it must hold a 16-byte tag and at most %d "
                       "bytes of metadata",
                       metadata_ct_len, XMTP_WELCOME_METADATA_MAX);
    mls_reader r;
    mls_reader_init(&r, data, data_len, eb);
    mls_span enc = mls_read_opaque_len(&r, kem->n_enc, kem->n_enc, "HpkeCiphertext.kem_output");
    mls_span ct = mls_read_opaque_len(&r, MLS_HPKE_TAG, XMTP_WELCOME_WRAP_MAX + MLS_HPKE_TAG,
                                      "HpkeCiphertext.ciphertext");
    if (mls_reader_finish(&r, "wrapped welcome (TLS HpkeCiphertext)") != XW_OK)
        return xw_errctx(eb, XW_EMALFORMED, "wrapped welcome (%s) is malformed", alg_name(alg));
    int rc = XW_EDECRYPT, stop = STOP_SETUP;
    xw_errbuf local = {{0}};
    /* The KEM id enters only the key schedule: one decapsulation serves every id whose KEM
     * decapsulates the same way (both X-Wing ids), so a fallback costs no second one. */
    uint8_t shared[MLS_HPKE_MAX_SECRET];
    const mls_hpke_kem *decapped = NULL;
    for (int i = 0; i < n_ids; i++) {
        const mls_hpke_kem *ki = mls_hpke_kem_get(ids[i]);
        if (!ki) {
            rc = xw_errf(&local, XW_EUNSUPPORTED, "HPKE KEM 0x%04X is not registered", ids[i]);
            break;
        }
        if (!decapped || ki->decap != decapped->decap || ki->n_secret != decapped->n_secret ||
            ki->n_enc != decapped->n_enc) {
            stop = STOP_SETUP;
            if (enc.len != ki->n_enc || sk_len != ki->n_sk)
                rc = xw_errf(&local, XW_EBADKEY,
                             "%s needs a %zu-byte encapsulated key and a %zu-byte private key", ki->name,
                             ki->n_enc, ki->n_sk);
            else
                rc = ki->decap(ki, enc.p, sk, NULL, shared, &local);
            if (rc != XW_OK)
                break;
            decapped = ki;
        }
        xw_buf w, m;
        xw_buf_init(&w, welcome->max);
        xw_buf_init(&m, metadata ? metadata->max : 0);
        rc = unwrap_with(ids[i], shared, ki->n_secret, ct, metadata_ct, metadata_ct_len, &w, &m, &stop,
                         &local);
        if (rc == XW_OK) {
            buf_hand_over(welcome, &w);
            if (metadata_ct)
                buf_hand_over(metadata, &m);
            if (kem_id_used)
                *kem_id_used = ids[i];
        }
        xw_buf_free_secret(&w);
        xw_buf_free_secret(&m);
        if (rc != XW_EDECRYPT || stop != STOP_WELCOME)
            break;
    }
    xw_wipe(shared, sizeof shared);
    if (rc == XW_OK)
        return XW_OK;
    if (rc == XW_EDECRYPT && stop == STOP_WELCOME && n_ids == 2)
        return xw_errf(
            eb, rc,
            "welcome does not decrypt with this X-Wing key (tried HPKE KEM ids 0x004D and 0x647A): "
            "it was wrapped to another key package, or tampered with");
    return xw_errf(eb, rc, "unwrapping a welcome (%s): %s", alg_name(alg), local.msg);
}
