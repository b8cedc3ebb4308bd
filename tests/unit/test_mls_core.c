/*
 * Unit tests for mls/ core: codec edge cases, HPKE against RFC 9180 A.2.1 (DHKEM(X25519),
 * HKDF-SHA256, ChaCha20-Poly1305, base mode), the KEM registry, tree math helpers.
 * The MLS working group's vectors run separately (mls-vectors).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "mls/crypto.h"
#include "mls/hpke.h"
#include "mls/key_schedule.h"
#include "mls/secret_tree.h"
#include "mls/tls.h"
#include "mls/treemath.h"

static void hex(const char *h, uint8_t *out, size_t n)
{
    assert_int_equal(xw_hex_decode_exact(h, out, n), XW_OK);
}

static void test_varint(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        int err;
        uint32_t v;
    } cases[] = {
        {"00", XW_OK, 0},
        {"3f", XW_OK, 63},
        {"4040", XW_OK, 64},
        {"7fff", XW_OK, 16383},
        {"80004000", XW_OK, 16384},
        {"bfffffff", XW_OK, 0x3fffffff},
        {"4001", XW_EMALFORMED, 0},
        {"8000003f", XW_EMALFORMED, 0},
        {"80003fff", XW_EMALFORMED, 0},
        {"c0", XW_EMALFORMED, 0},
        {"ffffffffffffffff", XW_EMALFORMED, 0},
        {"40", XW_ETRUNCATED, 0},
        {"800000", XW_ETRUNCATED, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t b[8];
        size_t n = strlen(cases[i].hex) / 2;
        hex(cases[i].hex, b, n);
        xw_errbuf eb = {{0}};
        mls_reader r;
        mls_reader_init(&r, b, n, &eb);
        uint32_t v = mls_read_varint(&r);
        assert_int_equal(r.err, cases[i].err);
        if (cases[i].err == XW_OK)
            assert_int_equal(v, cases[i].v);
        else
            assert_true(strlen(eb.msg) > 10);
    }
    /* the writer always emits the minimal form and refuses 2^30 */
    xw_buf o;
    xw_buf_init(&o, 64);
    mls_writer w;
    mls_writer_init(&w, &o);
    mls_write_varint(&w, 63);
    mls_write_varint(&w, 64);
    mls_write_varint(&w, 16384);
    assert_int_equal(w.err, XW_OK);
    assert_int_equal(o.len, 1 + 2 + 4);
    mls_write_varint(&w, 1u << 30);
    assert_int_equal(w.err, XW_ETOOBIG);
    xw_buf_free(&o);
}

static void test_reader_bounds(void **state)
{
    (void)state;
    /* an opaque announcing more bytes than remain fails without reading them */
    uint8_t b[] = {0x05, 1, 2, 3};
    mls_reader r;
    mls_reader_init(&r, b, sizeof b, NULL);
    mls_span s = mls_read_opaque(&r);
    assert_int_equal(r.err, XW_ETRUNCATED);
    assert_null(s.p);
    /* errors are sticky: later reads return zero */
    assert_int_equal(mls_read_u32(&r), 0);
    /* vectors give a bounded sub-reader, trailing bytes are reported */
    uint8_t v[] = {0x02, 0xaa, 0xbb, 0xcc};
    mls_reader_init(&r, v, sizeof v, NULL);
    mls_reader sub;
    mls_read_vector(&r, &sub);
    assert_int_equal(mls_read_u16(&sub), 0xaabb);
    assert_int_equal(mls_reader_finish(&sub, "vec"), XW_OK);
    assert_int_equal(mls_reader_join(&r, &sub), XW_OK);
    assert_int_equal(mls_reader_finish(&r, "test"), XW_ETRAILING);
    /* optional presence byte other than 0/1 */
    uint8_t o[] = {2};
    mls_reader_init(&r, o, 1, NULL);
    mls_read_optional(&r);
    assert_int_equal(r.err, XW_EMALFORMED);
    /* vec_begin/vec_end insert a minimal header */
    xw_buf out;
    xw_buf_init(&out, 1 << 16);
    mls_writer w;
    mls_writer_init(&w, &out);
    size_t m = mls_write_vec_begin(&w);
    for (int i = 0; i < 100; i++)
        mls_write_u8(&w, (uint8_t)i);
    mls_write_vec_end(&w, m);
    assert_int_equal(out.len, 102);
    assert_int_equal(out.data[0], 0x40);
    assert_int_equal(out.data[1], 100);
    assert_int_equal(out.data[2], 0);
    xw_buf_free(&out);
}

static void test_hpke_rfc9180_a21(void **state)
{
    (void)state;
    uint8_t info[20], ikm_e[32], ikm_r[32], sk_r[32], pk_r[32], want_enc[32], enc[32];
    hex("4f6465206f6e2061204772656369616e2055726e", info, 20);
    hex("909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b", ikm_e, 32);
    hex("1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df", ikm_r, 32);
    hex("1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a", want_enc, 32);
    const mls_hpke_kem *kem = mls_hpke_kem_get(MLS_HPKE_KEM_X25519_SHA256);
    assert_non_null(kem);
    assert_int_equal(kem->derive_keypair(kem, ikm_r, 32, sk_r, pk_r, NULL), XW_OK);
    uint8_t want[64];
    hex("8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb", want, 32);
    assert_memory_equal(sk_r, want, 32);
    hex("4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a", want, 32);
    assert_memory_equal(pk_r, want, 32);

    mls_hpke_suite s = {MLS_HPKE_KEM_X25519_SHA256, MLS_HPKE_KDF_HKDF_SHA256, MLS_HPKE_AEAD_CHACHA20POLY1305};
    mls_hpke_ctx cs, cr;
    assert_int_equal(mls_hpke_setup_base_s(&s, pk_r, 32, info, 20, ikm_e, enc, &cs, NULL), XW_OK);
    assert_memory_equal(enc, want_enc, 32);
    hex("ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91", want, 32);
    assert_memory_equal(cs.key, want, 32);
    hex("5c4d98150661b848853b547f", want, 12);
    assert_memory_equal(cs.base_nonce, want, 12);
    hex("a3b010d4994890e2c6968a36f64470d3c824c8f5029942feb11e7a74b2921922", want, 32);
    assert_memory_equal(cs.exporter_secret, want, 32);
    assert_int_equal(mls_hpke_setup_base_r(&s, enc, 32, sk_r, 32, NULL, info, 20, &cr, NULL), XW_OK);
    assert_memory_equal(cr.key, cs.key, 32);

    uint8_t pt[29], aad[7], ct[45], want_ct[45], back[29];
    hex("4265617574792069732074727574682c20747275746820626561757479", pt, 29);
    hex("436f756e742d30", aad, 7);
    hex("1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28", want_ct,
        45);
    assert_int_equal(mls_hpke_seal(&cs, aad, 7, pt, 29, ct, NULL), XW_OK);
    assert_memory_equal(ct, want_ct, 45);
    assert_int_equal(mls_hpke_open(&cr, aad, 7, ct, 45, back, NULL), XW_OK);
    assert_memory_equal(back, pt, 29);
    /* the second message uses the next nonce: replaying the first fails */
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_hpke_open(&cr, aad, 7, ct, 45, back, &eb), XW_EDECRYPT);
    assert_true(strlen(eb.msg) > 10);

    uint8_t exp[32], tctx[11];
    hex("54657374436f6e74657874", tctx, 11);
    assert_int_equal(mls_hpke_export(&cs, tctx, 11, exp, 32, NULL), XW_OK);
    hex("5acb09211139c43b3090489a9da433e8a30ee7188ba8b0a9a1ccf0c229283e53", want, 32);
    assert_memory_equal(exp, want, 32);
    assert_int_equal(mls_hpke_export(&cr, NULL, 0, exp, 32, NULL), XW_OK);
    hex("4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e", want, 32);
    assert_memory_equal(exp, want, 32);
    mls_hpke_ctx_wipe(&cs);
    mls_hpke_ctx_wipe(&cr);
}

static void test_hpke_errors(void **state)
{
    (void)state;
    mls_hpke_suite bad = {0x7777, MLS_HPKE_KDF_HKDF_SHA256, MLS_HPKE_AEAD_AES128GCM};
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_hpke_suite_check(&bad, &eb), XW_EUNSUPPORTED);
    assert_non_null(strstr(eb.msg, "0x7777"));
    /* the all-zero X25519 point is refused as a recipient key */
    mls_hpke_suite s = {MLS_HPKE_KEM_X25519_SHA256, MLS_HPKE_KDF_HKDF_SHA256, MLS_HPKE_AEAD_AES128GCM};
    uint8_t zero[32] = {0}, enc[32];
    mls_hpke_ctx c;
    assert_int_equal(mls_hpke_setup_base_s(&s, zero, 32, NULL, 0, NULL, enc, &c, &eb), XW_EBADKEY);
    assert_int_equal(mls_hpke_setup_base_s(&s, zero, 31, NULL, 0, NULL, enc, &c, &eb), XW_EBADKEY);
    /* registry: duplicates and oversize KEMs are refused */
    assert_int_equal(mls_hpke_kem_register(mls_hpke_kem_get(MLS_HPKE_KEM_X25519_SHA256)), XW_EEXISTS);
    mls_hpke_kem big = *mls_hpke_kem_get(MLS_HPKE_KEM_X25519_SHA256);
    big.id = 0x7778;
    big.n_enc = MLS_HPKE_MAX_ENC + 1;
    assert_int_equal(mls_hpke_kem_register(&big), XW_EINVAL);
    /* one-shot round trip with AES-128-GCM, and a tampered ciphertext */
    uint8_t sk[32], pk[32], ikm[32] = {1};
    const mls_hpke_kem *kem = mls_hpke_kem_get(MLS_HPKE_KEM_X25519_SHA256);
    assert_int_equal(kem->derive_keypair(kem, ikm, 32, sk, pk, NULL), XW_OK);
    xw_buf e, ct, pt;
    xw_buf_init(&e, 4096);
    xw_buf_init(&ct, 4096);
    xw_buf_init(&pt, 4096);
    assert_int_equal(mls_hpke_seal_base(&s, pk, 32, (const uint8_t *)"i", 1, NULL, 0,
                                        (const uint8_t *)"hello", 5, &e, &ct, NULL),
                     XW_OK);
    assert_int_equal(ct.len, 5 + 16);
    assert_int_equal(mls_hpke_open_base(&s, e.data, e.len, sk, 32, NULL, (const uint8_t *)"i", 1, NULL, 0,
                                        ct.data, ct.len, &pt, NULL),
                     XW_OK);
    assert_memory_equal(pt.data, "hello", 5);
    ct.data[3] ^= 0x80;
    assert_int_equal(mls_hpke_open_base(&s, e.data, e.len, sk, 32, NULL, (const uint8_t *)"i", 1, NULL, 0,
                                        ct.data, ct.len, &pt, &eb),
                     XW_EDECRYPT);
    assert_int_equal(pt.len, 0);
    xw_buf_free(&e);
    xw_buf_free(&ct);
    xw_buf_free(&pt);
}

/* RFC 4231 test cases 2 and 6 (key longer than a block), for every KDF hash. */
static void test_hmac_kdfs(void **state)
{
    (void)state;
    static const struct {
        uint16_t kdf;
        int long_key;
        const char *want;
    } cases[] = {
        {MLS_HPKE_KDF_HKDF_SHA256, 0, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {MLS_HPKE_KDF_HKDF_SHA384, 0,
         "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"},
        {MLS_HPKE_KDF_HKDF_SHA512, 0,
         "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcae"
         "ab1a34d4a6"
         "b4b636e070a38bce737"},
        {MLS_HPKE_KDF_HKDF_SHA256, 1, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {MLS_HPKE_KDF_HKDF_SHA512, 1,
         "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e"
         "64f73f63f0"
         "aec8b915a985d786598"},
    };
    uint8_t long_key[131];
    memset(long_key, 0xaa, sizeof long_key);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *msg = cases[i].long_key ? "Test Using Larger Than Block-Size Key - Hash Key First"
                                            : "what do ya want for nothing?";
        /* the message in two parts, to exercise the multi-part path */
        const uint8_t *parts[2] = {(const uint8_t *)msg, (const uint8_t *)msg + 5};
        size_t lens[2] = {5, strlen(msg) - 5};
        uint8_t out[64], want[64];
        size_t nh = mls_hpke_kdf_nh(cases[i].kdf);
        hex(cases[i].want, want, nh);
        if (cases[i].long_key)
            assert_int_equal(mls_hpke_kdf_mac(cases[i].kdf, long_key, sizeof long_key, parts, lens, 2, out),
                             XW_OK);
        else
            assert_int_equal(mls_hpke_kdf_mac(cases[i].kdf, (const uint8_t *)"Jefe", 4, parts, lens, 2, out),
                             XW_OK);
        assert_memory_equal(out, want, nh);
    }
    uint8_t out[64];
    assert_int_equal(mls_hpke_kdf_mac(0x0042, NULL, 0, NULL, NULL, 0, out), XW_EUNSUPPORTED);
}

static void test_treemath(void **state)
{
    (void)state;
    /* 8 leaves: leaf 0's direct path is 1, 3, 7 and its copath 2, 5, 11 */
    uint32_t p[8];
    assert_int_equal(mls_tree_direct_path(0, 8, p, 8), 3);
    assert_int_equal(p[0], 1);
    assert_int_equal(p[1], 3);
    assert_int_equal(p[2], 7);
    assert_int_equal(mls_tree_copath(0, 8, p, 8), 3);
    assert_int_equal(p[0], 2);
    assert_int_equal(p[1], 5);
    assert_int_equal(p[2], 11);
    assert_int_equal(mls_tree_common_ancestor(0, 6), 3);
    assert_int_equal(mls_tree_common_ancestor(2, 12), 7);
    assert_int_equal(mls_tree_common_ancestor(4, 4), 4);
    assert_int_equal(mls_tree_parent(15, 8), MLS_NODE_NONE);
    assert_int_equal(mls_tree_root(0), MLS_NODE_NONE);
    assert_int_equal(mls_tree_left(4), MLS_NODE_NONE);
}

static void test_suite_table(void **state)
{
    (void)state;
    assert_non_null(mls_suite_get(1));
    assert_non_null(mls_suite_get(3));
    const mls_suite *s;
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_suite_lookup(2, &s, &eb), XW_EUNSUPPORTED);
    assert_non_null(strstr(eb.msg, "suites 1 and 3"));
    /* Ed25519: a wrong-size seed is refused, a flipped signature bit fails */
    mls_sig_priv k;
    uint8_t seed[31] = {0};
    assert_int_equal(mls_sig_priv_from_seed(mls_suite_get(3), seed, 31, &k, &eb), XW_EBADKEY);
    assert_int_equal(mls_sig_priv_generate(mls_suite_get(3), &k), XW_OK);
    uint8_t sig[64];
    assert_int_equal(mls_sign_with_label(mls_suite_get(3), &k, "L", (const uint8_t *)"x", 1, sig, NULL),
                     XW_OK);
    sig[10] ^= 1;
    assert_int_equal(
        mls_verify_with_label(mls_suite_get(3), k.pub, 32, "L", (const uint8_t *)"x", 1, sig, 64, &eb),
        XW_EBADSIG);
    mls_sig_priv_wipe(&k);
}

static void test_secret_tree_window(void **state)
{
    (void)state;
    const mls_suite *s = mls_suite_get(3);
    uint8_t enc[32] = {7};
    mls_secret_tree *snd, *rcv;
    mls_secret_tree_config cfg = {3, 10};
    assert_int_equal(mls_secret_tree_new(s, enc, 4, NULL, &snd, NULL), XW_OK);
    assert_int_equal(mls_secret_tree_new(s, enc, 4, &cfg, &rcv, NULL), XW_OK);
    mls_ratchet_key sent[20], k;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(mls_secret_tree_next(snd, 2, MLS_RATCHET_APPLICATION, &sent[i], NULL), XW_OK);
        assert_int_equal(sent[i].generation, (uint32_t)i);
    }
    /* peeking does not consume: the same generation can be peeked twice */
    assert_int_equal(mls_secret_tree_peek(rcv, 2, MLS_RATCHET_APPLICATION, 5, &k, NULL), XW_OK);
    assert_memory_equal(k.key, sent[5].key, 32);
    assert_int_equal(mls_secret_tree_peek(rcv, 2, MLS_RATCHET_APPLICATION, 5, &k, NULL), XW_OK);
    /* receive 5: 2, 3, 4 stay in the window (size 3), 0 and 1 are gone */
    assert_int_equal(mls_secret_tree_consume(rcv, 2, MLS_RATCHET_APPLICATION, 5, NULL), XW_OK);
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_secret_tree_peek(rcv, 2, MLS_RATCHET_APPLICATION, 5, &k, &eb), XW_EMLS_GENERATION);
    assert_non_null(strstr(eb.msg, "already used"));
    assert_int_equal(mls_secret_tree_peek(rcv, 2, MLS_RATCHET_APPLICATION, 1, &k, NULL), XW_EMLS_GENERATION);
    for (uint32_t g = 2; g <= 4; g++) {
        assert_int_equal(mls_secret_tree_peek(rcv, 2, MLS_RATCHET_APPLICATION, g, &k, NULL), XW_OK);
        assert_memory_equal(k.key, sent[g].key, 32);
        assert_memory_equal(k.nonce, sent[g].nonce, 12);
    }
    assert_int_equal(mls_secret_tree_consume(rcv, 2, MLS_RATCHET_APPLICATION, 3, NULL), XW_OK);
    assert_int_equal(mls_secret_tree_peek(rcv, 2, MLS_RATCHET_APPLICATION, 3, &k, NULL), XW_EMLS_GENERATION);
    /* more than max_forward (10) ahead of the next expected (6) is refused */
    assert_int_equal(mls_secret_tree_peek(rcv, 2, MLS_RATCHET_APPLICATION, 17, &k, &eb), XW_EMLS_GENERATION);
    assert_non_null(strstr(eb.msg, "ahead"));
    assert_int_equal(mls_secret_tree_peek(rcv, 2, MLS_RATCHET_APPLICATION, 16, &k, NULL), XW_OK);
    assert_memory_equal(k.key, sent[16].key, 32);
    /* the handshake ratchet is independent, other leaves too */
    assert_int_equal(mls_secret_tree_peek(rcv, 2, MLS_RATCHET_HANDSHAKE, 0, &k, NULL), XW_OK);
    assert_memory_not_equal(k.key, sent[0].key, 32);
    assert_int_equal(mls_secret_tree_peek(rcv, 4, MLS_RATCHET_HANDSHAKE, 0, &k, &eb), XW_EMLS_SENDER);
    mls_secret_tree_free(snd);
    mls_secret_tree_free(rcv);
    assert_int_equal(mls_secret_tree_new(s, enc, 0, NULL, &rcv, &eb), XW_ELIMIT);
}

static void test_secret_tree_persistence(void **state)
{
    (void)state;
    const mls_suite *s = mls_suite_get(1);
    uint8_t enc[32] = {9};
    mls_secret_tree *snd, *a, *b;
    assert_int_equal(mls_secret_tree_new(s, enc, 8, NULL, &snd, NULL), XW_OK);
    assert_int_equal(mls_secret_tree_new(s, enc, 8, NULL, &a, NULL), XW_OK);
    mls_ratchet_key sent[12], k;
    for (int i = 0; i < 12; i++)
        assert_int_equal(mls_secret_tree_next(snd, 5, MLS_RATCHET_HANDSHAKE, &sent[i], NULL), XW_OK);
    /* a has consumed generation 8 of leaf 5 (keeping 3..7 in its window) and touched leaf 0 */
    assert_int_equal(mls_secret_tree_consume(a, 5, MLS_RATCHET_HANDSHAKE, 8, NULL), XW_OK);
    assert_int_equal(mls_secret_tree_peek(a, 0, MLS_RATCHET_APPLICATION, 0, &k, NULL), XW_OK);
    xw_buf buf;
    xw_buf_init(&buf, 1 << 20);
    assert_int_equal(mls_secret_tree_encode(a, &buf, NULL), XW_OK);
    assert_int_equal(mls_secret_tree_decode(s, buf.data, buf.len, &b, NULL), XW_OK);
    /* the restored tree behaves like the original: window, consumed keys, new leaves */
    for (uint32_t g = 3; g <= 11; g++) {
        int ra = mls_secret_tree_peek(a, 5, MLS_RATCHET_HANDSHAKE, g, &k, NULL);
        mls_ratchet_key kb;
        int rb = mls_secret_tree_peek(b, 5, MLS_RATCHET_HANDSHAKE, g, &kb, NULL);
        assert_int_equal(ra, rb);
        if (ra == XW_OK) {
            assert_memory_equal(kb.key, sent[g].key, 16);
            assert_memory_equal(kb.nonce, sent[g].nonce, 12);
        }
    }
    assert_int_equal(mls_secret_tree_peek(b, 5, MLS_RATCHET_HANDSHAKE, 8, &k, NULL), XW_EMLS_GENERATION);
    mls_ratchet_key k1, k2;
    assert_int_equal(mls_secret_tree_peek(a, 7, MLS_RATCHET_APPLICATION, 4, &k1, NULL), XW_OK);
    assert_int_equal(mls_secret_tree_peek(b, 7, MLS_RATCHET_APPLICATION, 4, &k2, NULL), XW_OK);
    assert_memory_equal(k1.key, k2.key, 16);
    mls_secret_tree_free(b);
    /* every truncation and a wrong suite are refused without leaking */
    xw_errbuf eb = {{0}};
    for (size_t n = 0; n < buf.len; n++) {
        assert_int_equal(mls_secret_tree_decode(s, buf.data, n, &b, &eb), XW_ECORRUPT);
        assert_null(b);
    }
    assert_int_equal(mls_secret_tree_decode(mls_suite_get(3), buf.data, buf.len, &b, &eb), XW_ECORRUPT);
    assert_non_null(strstr(eb.msg, "suite"));
    xw_buf_free_secret(&buf);
    mls_secret_tree_free(a);
    mls_secret_tree_free(snd);
}

static void test_psk_id_codec(void **state)
{
    (void)state;
    mls_psk_id id = {MLS_PSK_RESUMPTION,          {NULL, 0}, MLS_PSK_USAGE_BRANCH,
                     {(const uint8_t *)"grp", 3}, 42,        {(const uint8_t *)"nonce", 5}};
    xw_buf b;
    xw_buf_init(&b, 256);
    mls_writer w;
    mls_writer_init(&w, &b);
    mls_psk_id_write(&w, &id);
    assert_int_equal(w.err, XW_OK);
    mls_reader r;
    mls_psk_id back;
    mls_reader_init(&r, b.data, b.len, NULL);
    assert_int_equal(mls_psk_id_read(&r, &back), XW_OK);
    assert_int_equal(mls_reader_finish(&r, "psk"), XW_OK);
    assert_int_equal(back.psk_epoch, 42);
    assert_int_equal(back.usage, MLS_PSK_USAGE_BRANCH);
    assert_memory_equal(back.psk_group_id.p, "grp", 3);
    b.data[0] = 9; /* unknown psktype */
    mls_reader_init(&r, b.data, b.len, NULL);
    assert_int_equal(mls_psk_id_read(&r, &back), XW_EMALFORMED);
    xw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint),           cmocka_unit_test(test_reader_bounds),
        cmocka_unit_test(test_hpke_rfc9180_a21), cmocka_unit_test(test_hpke_errors),
        cmocka_unit_test(test_treemath),         cmocka_unit_test(test_hmac_kdfs),
        cmocka_unit_test(test_suite_table),      cmocka_unit_test(test_secret_tree_window),
        cmocka_unit_test(test_psk_id_codec),     cmocka_unit_test(test_secret_tree_persistence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
