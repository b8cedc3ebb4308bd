/*
 * Tests for xmtp/ identity primitives: Keccak-256 on published vectors, wallets (secp256k1,
 * EIP-191 signing and recovery, addresses, EIP-55), inbox ids, Ed25519ph (RFC 8032 §7.3
 * vector and the XMTP contexts), each with its bad-input cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sqlite3.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/err.h"
#include "xmtp/ed25519ph.h"
#include "xmtp/installation.h"
#include "xmtp/keystore.h"
#include "xmtp/inbox.h"
#include "xmtp/keccak.h"
#include "xmtp/wallet.h"

static void unhex(const char *h, uint8_t *out, size_t n)
{
    assert_int_equal(xw_hex_decode_exact(h, out, n), XW_OK);
}

static void assert_hex(const uint8_t *b, size_t n, const char *want)
{
    char got[2 * 256 + 1];
    assert_true(n <= 256);
    xw_hex_encode(b, n, got);
    assert_string_equal(got, want);
}

static void test_keccak_vectors(void **state)
{
    (void)state;
    uint8_t h[32];
    xmtp_keccak256("", 0, h);
    assert_hex(h, 32, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    xmtp_keccak256("abc", 3, h);
    assert_hex(h, 32, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    const char *fox = "The quick brown fox jumps over the lazy dog";
    xmtp_keccak256(fox, strlen(fox), h);
    assert_hex(h, 32, "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
    /* 200 bytes of 0xa3 cross two rate blocks; streaming in odd pieces must agree */
    uint8_t m[200], h2[32];
    memset(m, 0xa3, sizeof m);
    xmtp_keccak256(m, sizeof m, h);
    xmtp_keccak_ctx c;
    xmtp_keccak256_init(&c);
    for (size_t off = 0; off < sizeof m;) {
        size_t n = off % 7 + 1;
        if (off + n > sizeof m)
            n = sizeof m - off;
        xmtp_keccak256_update(&c, m + off, n);
        off += n;
    }
    xmtp_keccak256_final(&c, h2);
    assert_memory_equal(h, h2, 32);
    /* exactly one rate block (136 bytes) exercises the padding-only final block */
    xmtp_keccak256(m, 136, h);
    xmtp_keccak256(m, 135, h2);
    assert_memory_not_equal(h, h2, 32);
}

/* Private key 1 is a well-known test key: its address is published everywhere. */
static void test_wallet_known_key(void **state)
{
    (void)state;
    xmtp_wallet *w = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(
        xmtp_wallet_from_hex("0x0000000000000000000000000000000000000000000000000000000000000001", &w, &eb),
        XW_OK);
    uint8_t a[20];
    char s[43];
    xmtp_wallet_address(w, a);
    xmtp_address_to_lower(a, s);
    assert_string_equal(s, "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf");
    xmtp_address_to_eip55(a, s);
    assert_string_equal(s, "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
    xmtp_wallet_free(w);

    /* hardhat/anvil account 0 */
    assert_int_equal(
        xmtp_wallet_from_hex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", &w, &eb),
        XW_OK);
    xmtp_wallet_address(w, a);
    xmtp_address_to_eip55(a, s);
    assert_string_equal(s, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    /* EIP-191 signature by that key over "hello world" (deterministic RFC 6979), as produced
     * by ethers/viem and published in their docs and tests */
    uint8_t sig[65];
    assert_int_equal(xmtp_wallet_sign_personal(w, "hello world", 11, sig, &eb), XW_OK);
    uint8_t got[20], rk[65];
    assert_int_equal(xmtp_eip191_recover("hello world", 11, sig, 65, got, rk, &eb), XW_OK);
    assert_memory_equal(got, a, 20);
    assert_true(sig[64] == 27 || sig[64] == 28);
    assert_memory_equal(rk, sig, 64);
    assert_int_equal(rk[64], sig[64] - 27);
    xmtp_wallet_free(w);
}

static void test_eip191_hash_vector(void **state)
{
    (void)state;
    /* hashMessage("hello world") from viem's documentation */
    uint8_t h[32];
    xmtp_eip191_hash("hello world", 11, h);
    assert_hex(h, 32, "d9eba16ed0ecae432b71fe008c98cc872bb4cc214d3220a36f365326cf807d68");
}

/* n - s and the flipped parity recover the same address and the same replay key; v may be
 * 0/1 or 27/28; anything else is refused with XW_EBADSIG. */
static void test_eip191_malleability(void **state)
{
    (void)state;
    static const uint8_t n[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                  0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    xmtp_wallet *w = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_wallet_generate(&w, &eb), XW_OK);
    uint8_t sig[65], a[20], got[20], rk1[65], rk2[65];
    xmtp_wallet_address(w, a);
    assert_int_equal(xmtp_wallet_sign_personal(w, "m", 1, sig, &eb), XW_OK);
    assert_int_equal(xmtp_eip191_recover("m", 1, sig, 65, got, rk1, &eb), XW_OK);
    uint8_t alt[65];
    memcpy(alt, sig, 65);
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = n[i] - sig[32 + i] - borrow;
        borrow = d < 0;
        alt[32 + i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    alt[64] = (uint8_t)(sig[64] == 27 ? 28 : 27);
    memset(got, 0, 20);
    assert_int_equal(xmtp_eip191_recover("m", 1, alt, 65, got, rk2, &eb), XW_OK);
    assert_memory_equal(got, a, 20);
    assert_memory_equal(rk1, rk2, 65);
    alt[64] -= 27; /* 0/1 form of the high-s signature */
    assert_int_equal(xmtp_eip191_recover("m", 1, alt, 65, got, rk2, &eb), XW_OK);
    assert_memory_equal(rk1, rk2, 65);
    /* bad recovery bytes and lengths */
    const uint8_t bad_v[] = {2, 26, 29, 35, 37, 255};
    for (size_t i = 0; i < sizeof bad_v; i++) {
        memcpy(alt, sig, 65);
        alt[64] = bad_v[i];
        assert_int_equal(xmtp_eip191_recover("m", 1, alt, 65, got, NULL, &eb), XW_EBADSIG);
        assert_non_null(strstr(eb.msg, "recovery byte"));
    }
    assert_int_equal(xmtp_eip191_recover("m", 1, sig, 64, got, NULL, &eb), XW_EBADSIG);
    assert_int_equal(xmtp_eip191_recover("m", 1, sig, 66, got, NULL, &eb), XW_EBADSIG);
    /* r = 0 is not a signature */
    memcpy(alt, sig, 65);
    memset(alt, 0, 32);
    assert_int_equal(xmtp_eip191_recover("m", 1, alt, 65, got, NULL, &eb), XW_EBADSIG);
    /* another message recovers another address */
    assert_int_equal(xmtp_eip191_recover("x", 1, sig, 65, got, NULL, &eb), XW_OK);
    assert_memory_not_equal(got, a, 20);
    xmtp_wallet_free(w);
}

static void test_wallet_bad_keys(void **state)
{
    (void)state;
    xmtp_wallet *w = NULL;
    xw_errbuf eb = {{0}};
    uint8_t zero[32] = {0}, big[32];
    memset(big, 0xff, sizeof big);
    assert_int_equal(xmtp_wallet_from_secret(zero, &w, &eb), XW_EBADKEY);
    assert_int_equal(xmtp_wallet_from_secret(big, &w, &eb), XW_EBADKEY);
    assert_int_equal(xmtp_wallet_from_hex("0x1234", &w, &eb), XW_EBADKEY);
    assert_non_null(strstr(eb.msg, "64 hex digits"));
    assert_int_equal(
        xmtp_wallet_from_hex("zz00000000000000000000000000000000000000000000000000000000000001", &w, &eb),
        XW_EBADKEY);
    assert_int_equal(xmtp_wallet_from_hex(NULL, &w, &eb), XW_EINVAL);
    assert_null(w);
    /* generated keys round-trip through their secret */
    assert_int_equal(xmtp_wallet_generate(&w, &eb), XW_OK);
    uint8_t sk[32], a1[20], a2[20];
    xmtp_wallet_secret(w, sk);
    xmtp_wallet_address(w, a1);
    xmtp_wallet *w2 = NULL;
    assert_int_equal(xmtp_wallet_from_secret(sk, &w2, &eb), XW_OK);
    xmtp_wallet_address(w2, a2);
    assert_memory_equal(a1, a2, 20);
    uint8_t pub[65], a3[20];
    xmtp_wallet_public_key(w, pub);
    assert_int_equal(xmtp_address_from_pubkey(pub, 65, a3, &eb), XW_OK);
    assert_memory_equal(a1, a3, 20);
    assert_int_equal(xmtp_address_from_pubkey(pub, 64, a3, &eb), XW_EBADKEY);
    xmtp_wallet_free(w);
    xmtp_wallet_free(w2);
    xmtp_wallet_free(NULL);
}

static void test_address_parse(void **state)
{
    (void)state;
    uint8_t a[20];
    xw_errbuf eb = {{0}};
    const char *good = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf";
    assert_int_equal(xmtp_address_parse(good, 42, XMTP_ADDR_STRICT_CHECKSUM, a, &eb), XW_OK);
    char s[43];
    xmtp_address_to_lower(a, s);
    assert_string_equal(s, "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf");
    assert_int_equal(xmtp_address_parse(s, 42, XMTP_ADDR_STRICT_CHECKSUM, a, &eb), XW_OK);
    assert_int_equal(xmtp_address_parse("0x7E5F4552091A69125D5DFCB7B8C2659029395BDF", 42,
                                        XMTP_ADDR_STRICT_CHECKSUM, a, &eb),
                     XW_OK);
    /* one flipped case breaks the checksum, but only in strict mode */
    const char *bad = "0x7e5F4552091A69125d5DfCb7b8C2659029395Bdf";
    assert_int_equal(xmtp_address_parse(bad, 42, XMTP_ADDR_STRICT_CHECKSUM, a, &eb), XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "EIP-55"));
    assert_int_equal(xmtp_address_parse(bad, 42, 0, a, &eb), XW_OK);
    assert_int_equal(xmtp_address_parse("7e5f4552091a69125d5dfcb7b8c2659029395bdf00", 42, 0, a, &eb),
                     XW_EMALFORMED);
    assert_int_equal(xmtp_address_parse("0x7e5f4552091a69125d5dfcb7b8c2659029395bd", 41, 0, a, &eb),
                     XW_EMALFORMED);
    assert_int_equal(xmtp_address_parse("0x7e5f4552091a69125d5dfcb7b8c2659029395bdg", 42, 0, a, &eb),
                     XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "position 41"));
    assert_int_equal(xmtp_address_parse(NULL, 0, 0, a, &eb), XW_EMALFORMED);
}

static void test_inbox_id(void **state)
{
    (void)state;
    char id[65];
    xw_errbuf eb = {{0}};
    /* libxmtp's own vector (associations/unsigned_actions.rs), re-checked with sha256sum */
    assert_int_equal(xmtp_inbox_id_from_text("0x1234567890abcdef1234567890abcdef12345678", 42, 0, id, &eb),
                     XW_OK);
    assert_string_equal(id, "fcd18d86276d7a99fe522dba9660c420f03c8648785ada7c5daae232a3df77a9");
    /* case does not matter: the address is lowercased before hashing */
    char id2[65];
    assert_int_equal(xmtp_inbox_id_from_text("0x1234567890ABCDEF1234567890ABCDEF12345678", 42, 0, id2, &eb),
                     XW_OK);
    assert_string_equal(id, id2);
    assert_int_equal(xmtp_inbox_id_from_text("0x1234567890abcdef1234567890abcdef12345678", 42, 1, id2, &eb),
                     XW_OK);
    assert_string_not_equal(id, id2);
    assert_int_equal(xmtp_inbox_id_check(id, 64, &eb), XW_OK);
    assert_int_equal(xmtp_inbox_id_check(id, 63, &eb), XW_EXMTP_INBOX);
    id[5] = 'A';
    assert_int_equal(xmtp_inbox_id_check(id, 64, &eb), XW_EXMTP_INBOX);
    assert_non_null(strstr(eb.msg, "position 5"));
    assert_int_equal(xmtp_inbox_id_from_text("0x12", 4, 0, id2, &eb), XW_EMALFORMED);
}

/* RFC 8032 §7.3, test "abc" (Ed25519ph with an empty context). */
static void test_ed25519ph_rfc8032(void **state)
{
    (void)state;
    uint8_t seed[32], pk[32], want_pk[32], sig[64], want[64];
    unhex("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42", seed, 32);
    unhex("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf", want_pk, 32);
    unhex("98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41"
          "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406",
          want, 64);
    assert_int_equal(xmtp_ed25519_public_key(seed, pk), XW_OK);
    assert_memory_equal(pk, want_pk, 32);
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_ed25519ph_sign(seed, "", 0, "abc", 3, sig, &eb), XW_OK);
    assert_memory_equal(sig, want, 64);
    assert_int_equal(xmtp_ed25519ph_verify(pk, "", 0, "abc", 3, sig, &eb), XW_OK);
    assert_int_equal(xmtp_ed25519ph_verify(pk, "", 0, "abd", 3, sig, &eb), XW_EBADSIG);
    /* the same key with XMTP's context gives another signature that only verifies there */
    const char *ctx = XMTP_CTX_IDENTITY_UPDATE;
    uint8_t sig2[64];
    assert_int_equal(xmtp_ed25519ph_sign(seed, ctx, strlen(ctx), "abc", 3, sig2, &eb), XW_OK);
    assert_memory_not_equal(sig, sig2, 64);
    assert_int_equal(xmtp_ed25519ph_verify(pk, ctx, strlen(ctx), "abc", 3, sig2, &eb), XW_OK);
    assert_int_equal(xmtp_ed25519ph_verify(pk, XMTP_CTX_PUBLIC, strlen(XMTP_CTX_PUBLIC), "abc", 3, sig2, &eb),
                     XW_EBADSIG);
    assert_int_equal(xmtp_ed25519ph_verify(pk, "", 0, "abc", 3, sig2, &eb), XW_EBADSIG);
}

static void test_ed25519ph_bad_input(void **state)
{
    (void)state;
    uint8_t seed[32] = {7}, pk[32], sig[64], bad[64];
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_ed25519_public_key(seed, pk), XW_OK);
    assert_int_equal(xmtp_ed25519ph_sign(seed, "c", 1, "msg", 3, sig, &eb), XW_OK);
    /* every single-bit flip of the signature is refused */
    for (int bit = 0; bit < 512; bit += 7) {
        memcpy(bad, sig, 64);
        bad[bit / 8] ^= (uint8_t)(1 << (bit % 8));
        assert_int_not_equal(xmtp_ed25519ph_verify(pk, "c", 1, "msg", 3, bad, &eb), XW_OK);
    }
    /* S + L verifies mathematically but is not canonical: refused */
    static const uint8_t l[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                  0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                                  0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};
    memcpy(bad, sig, 64);
    int carry = 0;
    for (int i = 0; i < 32; i++) {
        int v = bad[32 + i] + l[i] + carry;
        bad[32 + i] = (uint8_t)v;
        carry = v >> 8;
    }
    if (!carry) {
        assert_int_equal(xmtp_ed25519ph_verify(pk, "c", 1, "msg", 3, bad, &eb), XW_EBADSIG);
        assert_non_null(strstr(eb.msg, "group order"));
    }
    /* small-order and non-canonical public keys */
    uint8_t ident[32] = {1};
    assert_int_equal(xmtp_ed25519ph_verify(ident, "c", 1, "msg", 3, sig, &eb), XW_EBADKEY);
    uint8_t ff[32];
    memset(ff, 0xff, 32);
    assert_int_equal(xmtp_ed25519ph_verify(ff, "c", 1, "msg", 3, sig, &eb), XW_EBADKEY);
    /* contexts longer than 255 bytes do not exist */
    char longctx[256];
    memset(longctx, 'a', sizeof longctx);
    assert_int_equal(xmtp_ed25519ph_sign(seed, longctx, 256, "msg", 3, sig, &eb), XW_EINVAL);
    assert_int_equal(xmtp_ed25519ph_verify(pk, longctx, 256, "msg", 3, sig, &eb), XW_EINVAL);
    assert_int_equal(xmtp_ed25519ph_sign(seed, longctx, 255, "msg", 3, sig, &eb), XW_OK);
    assert_int_equal(xmtp_ed25519ph_verify(pk, longctx, 255, "msg", 3, sig, &eb), XW_OK);
}

/* Keys go into a real SQLite file and come back able to sign the same way; damaged blobs
 * are refused with XW_ECORRUPT. */
static void test_keystore_sqlite(void **state)
{
    (void)state;
    xw_errbuf eb = {{0}};
    xmtp_wallet *w = NULL;
    xmtp_installation_key *k = NULL;
    assert_int_equal(xmtp_wallet_generate(&w, &eb), XW_OK);
    assert_int_equal(xmtp_installation_key_generate(&k, &eb), XW_OK);
    xw_buf wb, kb;
    xw_buf_init(&wb, 256);
    xw_buf_init(&kb, 256);
    assert_int_equal(xmtp_wallet_serialize(w, &wb, &eb), XW_OK);
    assert_int_equal(xmtp_installation_key_serialize(k, &kb, &eb), XW_OK);
    assert_int_equal(wb.len, XMTP_KEYBLOB_WALLET_LEN);
    assert_int_equal(kb.len, XMTP_KEYBLOB_INSTALLATION_LEN);

    char path[] = "/tmp/xw-keystore-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "CREATE TABLE keys(name TEXT PRIMARY KEY, blob BLOB NOT NULL)", NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO keys VALUES(?, ?)", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, "wallet", -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, wb.data, (int)wb.len, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, "installation", -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, kb.data, (int)kb.len, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT blob FROM keys WHERE name = ?", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, "wallet", -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    xmtp_wallet *w2 = NULL;
    assert_int_equal(
        xmtp_wallet_deserialize(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &w2, &eb),
        XW_OK);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, "installation", -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    xmtp_installation_key *k2 = NULL;
    assert_int_equal(xmtp_installation_key_deserialize(sqlite3_column_blob(st, 0),
                                                       (size_t)sqlite3_column_bytes(st, 0), &k2, &eb),
                     XW_OK);
    sqlite3_finalize(st);
    sqlite3_close(db);
    unlink(path);

    uint8_t a1[20], a2[20], s1[65], s2[65], e1[64], e2[64];
    xmtp_wallet_address(w, a1);
    xmtp_wallet_address(w2, a2);
    assert_memory_equal(a1, a2, 20);
    assert_int_equal(xmtp_wallet_sign_personal(w, "m", 1, s1, NULL), XW_OK);
    assert_int_equal(xmtp_wallet_sign_personal(w2, "m", 1, s2, NULL), XW_OK);
    assert_memory_equal(s1, s2, 65);
    assert_memory_equal(xmtp_installation_key_public(k), xmtp_installation_key_public(k2), 32);
    assert_int_equal(xmtp_installation_key_sign_identity(k, "t", 1, e1, NULL), XW_OK);
    assert_int_equal(xmtp_installation_key_sign_identity(k2, "t", 1, e2, NULL), XW_OK);
    assert_memory_equal(e1, e2, 64);
    /* plain Ed25519 (MLS) signatures verify with libsodium */
    assert_int_equal(xmtp_installation_key_sign(k, "mls", 3, e1, NULL), XW_OK);
    assert_int_equal(
        crypto_sign_verify_detached(e1, (const unsigned char *)"mls", 3, xmtp_installation_key_public(k)), 0);

    /* damage: flipped secret, flipped check, wrong kind, truncation, garbage */
    xmtp_wallet *bad = NULL;
    xmtp_installation_key *badk = NULL;
    wb.data[10] ^= 1;
    assert_int_equal(xmtp_wallet_deserialize(wb.data, wb.len, &bad, &eb), XW_ECORRUPT);
    assert_non_null(strstr(eb.msg, "does not match its address"));
    wb.data[10] ^= 1;
    kb.data[50] ^= 1;
    assert_int_equal(xmtp_installation_key_deserialize(kb.data, kb.len, &badk, &eb), XW_ECORRUPT);
    kb.data[50] ^= 1;
    assert_int_equal(xmtp_wallet_deserialize(kb.data, kb.len, &bad, &eb), XW_ECORRUPT);
    assert_non_null(strstr(eb.msg, "not a wallet key"));
    assert_int_equal(xmtp_wallet_deserialize(wb.data, wb.len - 1, &bad, &eb), XW_ECORRUPT);
    assert_non_null(strstr(eb.msg, "truncated"));
    assert_int_equal(xmtp_installation_key_deserialize((const uint8_t *)"nope", 4, &badk, &eb), XW_ECORRUPT);
    assert_null(bad);
    assert_null(badk);

    xw_buf_free_secret(&wb);
    xw_buf_free_secret(&kb);
    xmtp_wallet_free(w);
    xmtp_wallet_free(w2);
    xmtp_installation_key_free(k);
    xmtp_installation_key_free(k2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keccak_vectors),
        cmocka_unit_test(test_wallet_known_key),
        cmocka_unit_test(test_eip191_hash_vector),
        cmocka_unit_test(test_eip191_malleability),
        cmocka_unit_test(test_wallet_bad_keys),
        cmocka_unit_test(test_address_parse),
        cmocka_unit_test(test_inbox_id),
        cmocka_unit_test(test_ed25519ph_rfc8032),
        cmocka_unit_test(test_ed25519ph_bad_input),
        cmocka_unit_test(test_keystore_sqlite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
