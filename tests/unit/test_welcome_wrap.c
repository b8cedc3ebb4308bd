/*
 * Tests for the XMTP welcome wrapper (xmtp/welcome_wrap.h): round trips for both algorithms,
 * with and without metadata (the WelcomePointer form), the 0x647A fallback, every refusal with
 * its error and untouched outputs, the KeyPackage extensions 0xff03 / 0xff04 (including the
 * bytes libxmtp 1.9.1 sends for 0xff04) and allocation failures in the decoders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/hpke.h"
#include "mls/xwing.h"
#include "mls/xwing_hpke.h"
#include "xmtp/welcome_wrap.h"

#define BUFMAX (1u << 20)

static const uint8_t welcome_msg[] = {0x00, 0x01, 0x00, 0x03, 'a', 'w', 'e', 'l', 'c', 'o', 'm', 'e'};

typedef struct {
    uint8_t sk[32];
    xmtp_welcome_key key;
} recipient;

static void make_xwing(recipient *r)
{
    r->key.alg = XMTP_WELCOME_XWING;
    r->key.pub_len = MLS_XWING_PK_LEN;
    assert_int_equal(mls_xwing_keygen(r->sk, r->key.pub, NULL), XW_OK);
}

static void make_x25519(recipient *r)
{
    r->key.alg = XMTP_WELCOME_CURVE25519;
    r->key.pub_len = 32;
    randombytes_buf(r->sk, 32);
    assert_int_equal(crypto_scalarmult_base(r->key.pub, r->sk), 0);
}

static void roundtrip(recipient *r, uint16_t want_kem)
{
    xw_buf data, mct, w, m, meta;
    xw_errbuf eb = {{0}};
    uint16_t used = 0;
    uint64_t cursor = 0;
    xw_buf_init(&data, BUFMAX);
    xw_buf_init(&mct, 4096);
    xw_buf_init(&w, BUFMAX);
    xw_buf_init(&m, 4096);
    xw_buf_init(&meta, 64);
    assert_int_equal(xmtp_welcome_metadata_encode(1, &meta, &eb), XW_OK);
    assert_int_equal(meta.len, 2);
    assert_int_equal(meta.data[0], 0x08); /* WelcomeMetadata{message_cursor: 1} */
    assert_int_equal(meta.data[1], 0x01);
    assert_int_equal(xmtp_welcome_wrap(&r->key, welcome_msg, sizeof welcome_msg, meta.data, meta.len, NULL,
                                       &data, &mct, &eb),
                     XW_OK);
    size_t n_enc = r->key.alg == XMTP_WELCOME_XWING ? 1120 : 32;
    assert_int_equal(data.len, (n_enc > 63 ? 2 : 1) + n_enc + 1 + sizeof welcome_msg + 16);
    if (r->key.alg == XMTP_WELCOME_XWING) {
        assert_int_equal(data.data[0], 0x44); /* varint 1120 */
        assert_int_equal(data.data[1], 0x60);
    }
    assert_int_equal(mct.len, 18); /* as seen in libxmtp traffic */
    assert_int_equal(xmtp_welcome_unwrap(r->key.alg, r->sk, 32, data.data, data.len, mct.data, mct.len, &w,
                                         &m, &used, &eb),
                     XW_OK);
    assert_int_equal(used, want_kem);
    assert_int_equal(w.len, sizeof welcome_msg);
    assert_memory_equal(w.data, welcome_msg, sizeof welcome_msg);
    assert_int_equal(xmtp_welcome_metadata_decode(m.data, m.len, &cursor, &eb), XW_OK);
    assert_int_equal(cursor, 1);

    /* the WelcomePointer form: one ciphertext, opened without metadata */
    assert_int_equal(
        xmtp_welcome_wrap(&r->key, welcome_msg, sizeof welcome_msg, NULL, 0, NULL, &data, NULL, &eb), XW_OK);
    xw_buf_reset(&w);
    assert_int_equal(
        xmtp_welcome_unwrap(r->key.alg, r->sk, 32, data.data, data.len, NULL, 0, &w, NULL, NULL, &eb), XW_OK);
    assert_memory_equal(w.data, welcome_msg, sizeof welcome_msg);
    xw_buf_free(&data);
    xw_buf_free(&mct);
    xw_buf_free(&w);
    xw_buf_free(&m);
    xw_buf_free(&meta);
}

static void test_roundtrip_xwing(void **state)
{
    (void)state;
    recipient r;
    make_xwing(&r);
    roundtrip(&r, MLS_HPKE_KEM_XWING_LIBXMTP);
}

static void test_roundtrip_x25519(void **state)
{
    (void)state;
    recipient r;
    make_x25519(&r);
    roundtrip(&r, MLS_HPKE_KEM_X25519_SHA256);
}

/* A sender on the draft's id 0x647A is still understood. */
static void test_draft_id_fallback(void **state)
{
    (void)state;
    recipient r;
    make_xwing(&r);
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_xwing_hpke_register(&eb), XW_OK);
    mls_hpke_suite s = {MLS_HPKE_KEM_XWING_DRAFT, MLS_HPKE_KDF_HKDF_SHA256, MLS_HPKE_AEAD_CHACHA20POLY1305};
    static const uint8_t info[21] = {0x13, 'M', 'L', 'S', ' ', '1', '.', '0', ' ', 'M', 'L',
                                     'S',  '_', 'W', 'E', 'L', 'C', 'O', 'M', 'E', 0x00};
    xw_buf enc, ct, data, w;
    xw_buf_init(&enc, 4096);
    xw_buf_init(&ct, 4096);
    xw_buf_init(&data, 8192);
    xw_buf_init(&w, 4096);
    assert_int_equal(mls_hpke_seal_base(&s, r.key.pub, r.key.pub_len, info, sizeof info, NULL, 0, welcome_msg,
                                        sizeof welcome_msg, &enc, &ct, &eb),
                     XW_OK);
    assert_int_equal(xw_buf_append_u8(&data, 0x44), XW_OK);
    assert_int_equal(xw_buf_append_u8(&data, 0x60), XW_OK);
    assert_int_equal(xw_buf_append(&data, enc.data, enc.len), XW_OK);
    assert_int_equal(xw_buf_append_u8(&data, (uint8_t)ct.len), XW_OK);
    assert_int_equal(xw_buf_append(&data, ct.data, ct.len), XW_OK);
    uint16_t used = 0;
    assert_int_equal(
        xmtp_welcome_unwrap(XMTP_WELCOME_XWING, r.sk, 32, data.data, data.len, NULL, 0, &w, NULL, &used, &eb),
        XW_OK);
    assert_int_equal(used, MLS_HPKE_KEM_XWING_DRAFT);
    assert_memory_equal(w.data, welcome_msg, sizeof welcome_msg);
    xw_buf_free(&enc);
    xw_buf_free(&ct);
    xw_buf_free(&data);
    xw_buf_free(&w);
}

/* mls_hpke_setup_base_r_shared on the KEM's shared secret gives the same context as
 * mls_hpke_setup_base_r, under both X-Wing ids and X25519, and refuses a wrong length. */
static void test_setup_from_shared_secret(void **state)
{
    (void)state;
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_xwing_hpke_register(&eb), XW_OK);
    static const uint16_t kems[3] = {MLS_HPKE_KEM_XWING_LIBXMTP, MLS_HPKE_KEM_XWING_DRAFT,
                                     MLS_HPKE_KEM_X25519_SHA256};
    static const uint8_t info[5] = {'i', 'n', 'f', 'o', 0};
    for (int i = 0; i < 3; i++) {
        recipient r;
        if (kems[i] == MLS_HPKE_KEM_X25519_SHA256)
            make_x25519(&r);
        else
            make_xwing(&r);
        mls_hpke_suite s = {kems[i], MLS_HPKE_KDF_HKDF_SHA256, MLS_HPKE_AEAD_CHACHA20POLY1305};
        const mls_hpke_kem *kem = mls_hpke_kem_get(kems[i]);
        assert_non_null(kem);
        uint8_t enc[MLS_XWING_CT_LEN], shared[64], ct[sizeof welcome_msg + MLS_HPKE_TAG],
            pt[sizeof welcome_msg];
        mls_hpke_ctx cs, cr, cx;
        assert_int_equal(
            mls_hpke_setup_base_s(&s, r.key.pub, r.key.pub_len, info, sizeof info, NULL, enc, &cs, &eb),
            XW_OK);
        assert_int_equal(
            mls_hpke_setup_base_r(&s, enc, kem->n_enc, r.sk, 32, NULL, info, sizeof info, &cr, &eb), XW_OK);
        assert_int_equal(kem->decap(kem, enc, r.sk, NULL, shared, &eb), XW_OK);
        assert_int_equal(mls_hpke_setup_base_r_shared(&s, shared, kem->n_secret, info, sizeof info, &cx, &eb),
                         XW_OK);
        assert_memory_equal(cx.key, cr.key, sizeof cx.key);
        assert_memory_equal(cx.base_nonce, cr.base_nonce, sizeof cx.base_nonce);
        assert_memory_equal(cx.exporter_secret, cr.exporter_secret, sizeof cx.exporter_secret);
        assert_int_equal(mls_hpke_seal(&cs, NULL, 0, welcome_msg, sizeof welcome_msg, ct, &eb), XW_OK);
        assert_int_equal(mls_hpke_open(&cx, NULL, 0, ct, sizeof ct, pt, &eb), XW_OK);
        assert_memory_equal(pt, welcome_msg, sizeof pt);
        assert_int_equal(
            mls_hpke_setup_base_r_shared(&s, shared, kem->n_secret - 1, info, sizeof info, &cx, &eb),
            XW_EINVAL);
        assert_non_null(strstr(eb.msg, "shared secret is 31 bytes"));
        mls_hpke_ctx_wipe(&cs);
        mls_hpke_ctx_wipe(&cr);
        mls_hpke_ctx_wipe(&cx);
    }
}

static void test_unwrap_refusals(void **state)
{
    (void)state;
    recipient r, other;
    make_xwing(&r);
    make_xwing(&other);
    xw_buf data, mct, data2, mct2, w, m;
    xw_errbuf eb = {{0}};
    xw_buf_init(&data, BUFMAX);
    xw_buf_init(&mct, 4096);
    xw_buf_init(&data2, BUFMAX);
    xw_buf_init(&mct2, 4096);
    xw_buf_init(&w, BUFMAX);
    xw_buf_init(&m, 4096);
    static const uint8_t meta[2] = {0x08, 0x05};
    assert_int_equal(
        xmtp_welcome_wrap(&r.key, welcome_msg, sizeof welcome_msg, meta, 2, NULL, &data, &mct, &eb), XW_OK);
    assert_int_equal(
        xmtp_welcome_wrap(&r.key, welcome_msg, sizeof welcome_msg, meta, 2, NULL, &data2, &mct2, &eb), XW_OK);
    assert_int_equal(xw_buf_append(&w, "keep", 4), XW_OK);

    /* the wrong key: both ids tried, named in the message; output untouched */
    assert_int_equal(xmtp_welcome_unwrap(XMTP_WELCOME_XWING, other.sk, 32, data.data, data.len, NULL, 0, &w,
                                         NULL, NULL, &eb),
                     XW_EDECRYPT);
    assert_non_null(strstr(eb.msg, "0x004D and 0x647A"));
    assert_int_equal(w.len, 4);
    /* metadata of another welcome */
    assert_int_equal(xmtp_welcome_unwrap(XMTP_WELCOME_XWING, r.sk, 32, data.data, data.len, mct2.data,
                                         mct2.len, &w, &m, NULL, &eb),
                     XW_EDECRYPT);
    assert_non_null(strstr(eb.msg, "metadata"));
    assert_int_equal(w.len, 4);
    assert_int_equal(m.len, 0);
    /* truncated, trailing bytes, a kem_output of the wrong size, a tampered ciphertext */
    assert_int_equal(xmtp_welcome_unwrap(XMTP_WELCOME_XWING, r.sk, 32, data.data, data.len - 1, NULL, 0, &w,
                                         NULL, NULL, &eb),
                     XW_EMALFORMED);
    assert_int_equal(xw_buf_append_u8(&data, 0), XW_OK);
    assert_int_equal(
        xmtp_welcome_unwrap(XMTP_WELCOME_XWING, r.sk, 32, data.data, data.len, NULL, 0, &w, NULL, NULL, &eb),
        XW_EMALFORMED);
    xw_buf_truncate(&data, data.len - 1);
    assert_int_equal(xmtp_welcome_unwrap(XMTP_WELCOME_CURVE25519, r.sk, 32, data.data, data.len, NULL, 0, &w,
                                         NULL, NULL, &eb),
                     XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "kem_output"));
    data.data[data.len - 3] ^= 1;
    assert_int_equal(
        xmtp_welcome_unwrap(XMTP_WELCOME_XWING, r.sk, 32, data.data, data.len, NULL, 0, &w, NULL, NULL, &eb),
        XW_EDECRYPT);
    /* unknown algorithm, short key, short metadata */
    assert_int_equal(
        xmtp_welcome_unwrap((xmtp_welcome_alg)3, r.sk, 32, data.data, data.len, NULL, 0, &w, NULL, NULL, &eb),
        XW_EUNSUPPORTED);
    assert_int_equal(xmtp_welcome_unwrap(XMTP_WELCOME_XWING, r.sk, 31, data2.data, data2.len, NULL, 0, &w,
                                         NULL, NULL, &eb),
                     XW_EBADKEY);
    assert_non_null(strstr(eb.msg, "31 bytes"));
    assert_int_equal(xmtp_welcome_unwrap(XMTP_WELCOME_XWING, NULL, 32, data2.data, data2.len, NULL, 0, &w,
                                         NULL, NULL, &eb),
                     XW_EBADKEY);
    assert_int_equal(xmtp_welcome_unwrap(XMTP_WELCOME_XWING, r.sk, 32, data2.data, data2.len, mct2.data, 15,
                                         &w, &m, NULL, &eb),
                     XW_EMALFORMED);
    assert_int_equal(w.len, 4);
    /* wrapping to an X-Wing key whose ML-KEM half is not reduced */
    r.key.pub[0] = 0xff;
    r.key.pub[1] |= 0x0f;
    assert_int_equal(
        xmtp_welcome_wrap(&r.key, welcome_msg, sizeof welcome_msg, NULL, 0, NULL, &data, NULL, &eb),
        XW_EBADKEY);
    assert_non_null(strstr(eb.msg, "not reduced"));
    xw_buf_free(&data);
    xw_buf_free(&mct);
    xw_buf_free(&data2);
    xw_buf_free(&mct2);
    xw_buf_free(&w);
    xw_buf_free(&m);
}

static void test_extensions(void **state)
{
    (void)state;
    recipient r, x;
    make_xwing(&r);
    make_x25519(&x);
    xw_buf b;
    xw_errbuf eb = {{0}};
    xmtp_welcome_key k;
    xw_buf_init(&b, 8192);
    /* 0xff03 round trips */
    assert_int_equal(xmtp_welcome_wrapper_ext_encode(&r.key, &b, &eb), XW_OK);
    assert_int_equal(b.len, 3 + 1216 + 2); /* 0a c0 09 <key> 10 02 */
    assert_int_equal(b.data[0], 0x0a);
    assert_int_equal(b.data[b.len - 2], 0x10);
    assert_int_equal(b.data[b.len - 1], 0x02);
    assert_int_equal(xmtp_welcome_wrapper_ext_decode(b.data, b.len, &k, &eb), XW_OK);
    assert_int_equal(k.alg, XMTP_WELCOME_XWING);
    assert_memory_equal(k.pub, r.key.pub, 1216);
    assert_int_equal(xmtp_welcome_key_for(x.key.pub, 32, b.data, b.len, &k, &eb), XW_OK);
    assert_int_equal(k.alg, XMTP_WELCOME_XWING);
    assert_int_equal(xmtp_welcome_key_for(x.key.pub, 32, NULL, 0, &k, &eb), XW_OK);
    assert_int_equal(k.alg, XMTP_WELCOME_CURVE25519);
    assert_int_equal(xmtp_welcome_key_for(x.key.pub, 31, NULL, 0, &k, &eb), XW_EBADKEY);
    assert_int_equal(xmtp_welcome_wrapper_ext_encode(&x.key, &b, &eb), XW_OK);
    assert_int_equal(xmtp_welcome_wrapper_ext_decode(b.data, b.len, &k, &eb), XW_OK);
    assert_int_equal(k.alg, XMTP_WELCOME_CURVE25519);
    /* refusals: symmetric (3) is for pointees, 7 is unknown, lengths, unreduced key, garbage */
    static const uint8_t alg3[] = {0x0a, 0x01, 0x00, 0x10, 0x03};
    static const uint8_t alg7[] = {0x0a, 0x01, 0x00, 0x10, 0x07};
    static const uint8_t xwing_short[] = {0x0a, 0x01, 0x00, 0x10, 0x02};
    static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0x01};
    assert_int_equal(xmtp_welcome_wrapper_ext_decode(alg3, sizeof alg3, &k, &eb), XW_EMLS_KEYPACKAGE);
    assert_int_equal(xmtp_welcome_wrapper_ext_decode(alg7, sizeof alg7, &k, &eb), XW_EUNSUPPORTED);
    assert_non_null(strstr(eb.msg, "algorithm 7"));
    assert_int_equal(xmtp_welcome_wrapper_ext_decode(xwing_short, sizeof xwing_short, &k, &eb), XW_EBADKEY);
    assert_non_null(strstr(eb.msg, "1 bytes"));
    assert_int_equal(xmtp_welcome_wrapper_ext_decode(garbage, sizeof garbage, &k, &eb), XW_EMALFORMED);
    r.key.pub[3] = 0xff;
    r.key.pub[4] |= 0x0f; /* coefficient 2 = 4095 */
    assert_int_equal(xmtp_welcome_wrapper_ext_encode(&r.key, &b, &eb), XW_EBADKEY);
    /* 0xff04: what libxmtp 1.9.1 sends is 0a 01 03 */
    static const uint32_t chacha = XMTP_WELCOME_POINTEE_CHACHA20_POLY1305;
    uint32_t mask = 0;
    assert_int_equal(xmtp_welcome_pointee_ext_encode(&chacha, 1, &b, &eb), XW_OK);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "\x0a\x01\x03", 3);
    assert_int_equal(xmtp_welcome_pointee_ext_decode(b.data, b.len, &mask, &eb), XW_OK);
    assert_int_equal(mask, 1u << 3);
    assert_int_equal(xmtp_welcome_pointee_ext_decode(NULL, 0, &mask, &eb), XW_OK);
    assert_int_equal(mask, 0);
    assert_int_equal(xmtp_welcome_pointee_ext_decode(garbage, sizeof garbage, &mask, &eb), XW_EMALFORMED);
    xw_buf_free(&b);
}

static void test_decoder_alloc_failures(void **state)
{
    (void)state;
    recipient r;
    make_xwing(&r);
    xw_buf b;
    xw_buf_init(&b, 8192);
    xmtp_welcome_key k;
    assert_int_equal(xmtp_welcome_wrapper_ext_encode(&r.key, &b, NULL), XW_OK);
    for (uint64_t nth = 1; nth < 8; nth++) {
        int64_t live = xw_alloc_live();
        xw_alloc_fail_at(nth, 0);
        int rc = xmtp_welcome_wrapper_ext_decode(b.data, b.len, &k, NULL);
        xw_alloc_fail_at(0, 0);
        assert_true(rc == XW_OK || rc == XW_EMALFORMED || rc == XW_ENOMEM);
        assert_int_equal(xw_alloc_live(), live);
    }
    xw_buf_free(&b);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_xwing),
        cmocka_unit_test(test_roundtrip_x25519),
        cmocka_unit_test(test_draft_id_fallback),
        cmocka_unit_test(test_unwrap_refusals),
        cmocka_unit_test(test_extensions),
        cmocka_unit_test(test_decoder_alloc_failures),
        cmocka_unit_test(test_setup_from_shared_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
