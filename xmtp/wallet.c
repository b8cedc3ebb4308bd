/*
 * Ethereum wallet keys and EIP-191 signatures on libsecp256k1.
 *
 * Signing hashes the message the EIP-191 way (Keccak-256 of "\x19Ethereum Signed Message:\n",
 * the decimal length and the message), signs with RFC 6979 nonces (libsecp256k1's default),
 * which always yields a low s, and appends v = 27 + recovery id like wallets and viem do.
 * Recovery accepts v in {0, 1, 27, 28} and either half of s, and reports one canonical replay
 * key for all these encodings, so a malleated copy of a signature cannot be replayed.
 */
#include "xmtp/wallet.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "xmtp/crypto.h"
#include "xmtp/keccak.h"

struct xmtp_wallet {
    uint8_t secret[XMTP_WALLET_SECRET_LEN];
    uint8_t pub[65];
    uint8_t addr[XMTP_ADDRESS_LEN];
};

static int init_or_fail(xw_errbuf *eb)
{
    if (xmtp_crypto_init() != 0)
        return xw_errf(eb, XW_EINTERNAL,
                       "libsodium or libsecp256k1 failed to initialise; check the entropy source");
    return XW_OK;
}

int xmtp_address_from_pubkey(const uint8_t *pub, size_t len, uint8_t out[XMTP_ADDRESS_LEN], xw_errbuf *eb)
{
    if (len != 65 || pub[0] != 0x04)
        return xw_errf(eb, XW_EBADKEY,
                       "an Ethereum address needs a 65-byte uncompressed public key, got %zu bytes", len);
    uint8_t h[32];
    xmtp_keccak256(pub + 1, 64, h);
    memcpy(out, h + 12, XMTP_ADDRESS_LEN);
    return XW_OK;
}

int xmtp_wallet_from_secret(const uint8_t secret[XMTP_WALLET_SECRET_LEN], xmtp_wallet **out, xw_errbuf *eb)
{
    int rc = init_or_fail(eb);
    if (rc)
        return rc;
    const secp256k1_context *ctx = xmtp_secp_ctx();
    if (!secp256k1_ec_seckey_verify(ctx, secret))
        return xw_errf(eb, XW_EBADKEY,
                       "wallet secret key is zero or not below the secp256k1 order; use another key");
    xmtp_wallet *w = xw_calloc(1, sizeof *w);
    if (!w)
        return xw_errf(eb, XW_ENOMEM, "out of memory for a wallet");
    memcpy(w->secret, secret, XMTP_WALLET_SECRET_LEN);
    secp256k1_pubkey pk;
    size_t plen = sizeof w->pub;
    if (!secp256k1_ec_pubkey_create(ctx, &pk, w->secret) ||
        !secp256k1_ec_pubkey_serialize(ctx, w->pub, &plen, &pk, SECP256K1_EC_UNCOMPRESSED)) {
        xmtp_wallet_free(w);
        return xw_errf(eb, XW_ECRYPTO, "could not derive the wallet public key");
    }
    xmtp_address_from_pubkey(w->pub, plen, w->addr, NULL);
    *out = w;
    return XW_OK;
}

int xmtp_wallet_generate(xmtp_wallet **out, xw_errbuf *eb)
{
    int rc = init_or_fail(eb);
    if (rc)
        return rc;
    uint8_t sk[XMTP_WALLET_SECRET_LEN];
    for (int tries = 0; tries < 16; tries++) {
        randombytes_buf(sk, sizeof sk);
        if (secp256k1_ec_seckey_verify(xmtp_secp_ctx(), sk)) {
            rc = xmtp_wallet_from_secret(sk, out, eb);
            xw_wipe(sk, sizeof sk);
            return rc;
        }
    }
    xw_wipe(sk, sizeof sk);
    return xw_errf(eb, XW_EINTERNAL, "random number generator returned 16 invalid secp256k1 keys in a row");
}

int xmtp_wallet_from_hex(const char *hex, xmtp_wallet **out, xw_errbuf *eb)
{
    if (!hex)
        return xw_errf(eb, XW_EINVAL, "no wallet key given");
    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
        hex += 2;
    uint8_t sk[XMTP_WALLET_SECRET_LEN];
    if (strlen(hex) != 64 || xw_hex_decode_exact(hex, sk, sizeof sk) != XW_OK) {
        xw_wipe(sk, sizeof sk);
        return xw_errf(eb, XW_EBADKEY, "a wallet key is 64 hex digits, optionally prefixed with 0x");
    }
    int rc = xmtp_wallet_from_secret(sk, out, eb);
    xw_wipe(sk, sizeof sk);
    return rc;
}

void xmtp_wallet_free(xmtp_wallet *w)
{
    if (w)
        xw_free_secret(w, sizeof *w);
}

void xmtp_wallet_secret(const xmtp_wallet *w, uint8_t out[XMTP_WALLET_SECRET_LEN])
{
    memcpy(out, w->secret, XMTP_WALLET_SECRET_LEN);
}

void xmtp_wallet_address(const xmtp_wallet *w, uint8_t out[XMTP_ADDRESS_LEN])
{
    memcpy(out, w->addr, XMTP_ADDRESS_LEN);
}

void xmtp_wallet_public_key(const xmtp_wallet *w, uint8_t out[65]) { memcpy(out, w->pub, 65); }

void xmtp_eip191_hash(const void *msg, size_t len, uint8_t out[32])
{
    static const char prefix[] = "\x19"
                                 "Ethereum Signed Message:\n";
    char num[24];
    int n = snprintf(num, sizeof num, "%zu", len);
    xmtp_keccak_ctx c;
    xmtp_keccak256_init(&c);
    xmtp_keccak256_update(&c, prefix, sizeof prefix - 1);
    xmtp_keccak256_update(&c, num, (size_t)n);
    xmtp_keccak256_update(&c, msg, len);
    xmtp_keccak256_final(&c, out);
}

int xmtp_wallet_sign_personal(const xmtp_wallet *w, const void *msg, size_t len,
                              uint8_t sig[XMTP_ECDSA_SIG_LEN], xw_errbuf *eb)
{
    int rc = init_or_fail(eb);
    if (rc)
        return rc;
    uint8_t h[32];
    xmtp_eip191_hash(msg, len, h);
    secp256k1_ecdsa_recoverable_signature rs;
    if (!secp256k1_ecdsa_sign_recoverable(xmtp_secp_ctx(), &rs, h, w->secret, NULL, NULL))
        return xw_errf(eb, XW_ECRYPTO, "secp256k1 signing failed");
    int recid = 0;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(xmtp_secp_ctx(), sig, &recid, &rs);
    sig[64] = (uint8_t)(27 + recid);
    return XW_OK;
}

int xmtp_eip191_recover(const void *msg, size_t len, const uint8_t *sig, size_t sig_len,
                        uint8_t addr[XMTP_ADDRESS_LEN], uint8_t replay_key[XMTP_ECDSA_SIG_LEN], xw_errbuf *eb)
{
    int rc = init_or_fail(eb);
    if (rc)
        return rc;
    if (sig_len != XMTP_ECDSA_SIG_LEN)
        return xw_errf(eb, XW_EBADSIG, "a wallet signature is 65 bytes (r, s, v), got %zu", sig_len);
    int v = sig[64];
    if (v == 27 || v == 28)
        v -= 27;
    if (v != 0 && v != 1)
        return xw_errf(eb, XW_EBADSIG, "wallet signature recovery byte is %d; it must be 0, 1, 27 or 28",
                       sig[64]);
    const secp256k1_context *ctx = xmtp_secp_ctx();
    /* Normalise s first: recovery with (r, n - s, v ^ 1) gives the same key. */
    secp256k1_ecdsa_signature plain;
    if (!secp256k1_ecdsa_signature_parse_compact(ctx, &plain, sig))
        return xw_errf(eb, XW_EBADSIG, "wallet signature r or s is not below the curve order");
    uint8_t compact[64];
    if (secp256k1_ecdsa_signature_normalize(ctx, &plain, &plain))
        v ^= 1;
    secp256k1_ecdsa_signature_serialize_compact(ctx, compact, &plain);
    secp256k1_ecdsa_recoverable_signature rs;
    secp256k1_pubkey pk;
    uint8_t h[32];
    xmtp_eip191_hash(msg, len, h);
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rs, compact, v) ||
        !secp256k1_ecdsa_recover(ctx, &pk, &rs, h))
        return xw_errf(eb, XW_EBADSIG, "no public key recovers from this wallet signature; it is corrupt");
    uint8_t pub[65];
    size_t plen = sizeof pub;
    secp256k1_ec_pubkey_serialize(ctx, pub, &plen, &pk, SECP256K1_EC_UNCOMPRESSED);
    xmtp_address_from_pubkey(pub, plen, addr, NULL);
    if (replay_key) {
        memcpy(replay_key, compact, 64);
        replay_key[64] = (uint8_t)v;
    }
    return XW_OK;
}

void xmtp_address_to_lower(const uint8_t a[XMTP_ADDRESS_LEN], char out[XMTP_ADDRESS_STRLEN + 1])
{
    out[0] = '0';
    out[1] = 'x';
    xw_hex_encode(a, XMTP_ADDRESS_LEN, out + 2);
}

void xmtp_address_to_eip55(const uint8_t a[XMTP_ADDRESS_LEN], char out[XMTP_ADDRESS_STRLEN + 1])
{
    xmtp_address_to_lower(a, out);
    uint8_t h[32];
    xmtp_keccak256(out + 2, 40, h); /* hash of the lowercase hex text */
    for (int i = 0; i < 40; i++) {
        int nib = (h[i / 2] >> (i % 2 ? 0 : 4)) & 15;
        char *c = &out[2 + i];
        if (*c >= 'a' && *c <= 'f' && nib >= 8)
            *c = (char)(*c - 'a' + 'A');
    }
}

int xmtp_address_parse(const char *s, size_t len, unsigned flags, uint8_t out[XMTP_ADDRESS_LEN],
                       xw_errbuf *eb)
{
    if (!s || len != XMTP_ADDRESS_STRLEN || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return xw_errf(eb, XW_EMALFORMED,
                       "an Ethereum address is 42 characters: 0x and 40 hex digits (got %zu characters)",
                       s ? len : 0);
    int lower = 0, upper = 0;
    for (size_t i = 2; i < len; i++) {
        char c = s[i];
        if (c >= 'a' && c <= 'f')
            lower = 1;
        else if (c >= 'A' && c <= 'F')
            upper = 1;
        else if (!(c >= '0' && c <= '9'))
            return xw_errf(eb, XW_EMALFORMED, "Ethereum address has a non-hex character at position %zu", i);
    }
    uint8_t a[XMTP_ADDRESS_LEN];
    if (xw_hex_decode_exact(s + 2, a, sizeof a) != XW_OK)
        return xw_errf(eb, XW_EMALFORMED, "Ethereum address is not valid hex");
    if (lower && upper && (flags & XMTP_ADDR_STRICT_CHECKSUM)) {
        char want[XMTP_ADDRESS_STRLEN + 1];
        xmtp_address_to_eip55(a, want);
        if (memcmp(want + 2, s + 2, 40) != 0)
            return xw_errf(eb, XW_EMALFORMED,
                           "Ethereum address %.42s fails its EIP-55 checksum (expected %s); check for a typo",
                           s, want);
    }
    memcpy(out, a, sizeof a);
    return XW_OK;
}
