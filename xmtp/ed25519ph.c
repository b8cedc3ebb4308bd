/*
 * Ed25519ph from libsodium's building blocks.
 *
 * RFC 8032 §5.1.6 with phflag = 1 and PH = SHA-512:
 *   dom2 = "SigEd25519 no Ed25519 collisions" || 0x01 || len(ctx) || ctx
 *   h = SHA-512(seed); a = clamp(h[0..32]); prefix = h[32..64]; A = aB
 *   r = SHA-512(dom2 || prefix || PH(M)) mod L; R = rB
 *   k = SHA-512(dom2 || R || A || PH(M)) mod L; S = r + k a mod L
 * Verification (§5.1.7) checks S < L, decodes A and R, and tests SB = R + kA by computing
 * SB - kA and comparing its canonical encoding with R. libsodium's noclamp scalar
 * multiplications refuse small-order points and the identity, which we treat as invalid.
 */
#include "xmtp/ed25519ph.h"

#include <sodium.h>
#include <string.h>

#include "common/alloc.h"
#include "xmtp/crypto.h"

static const char dom2_prefix[] = "SigEd25519 no Ed25519 collisions";

/* L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
static const uint8_t order_l[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                    0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

static int scalar_is_canonical(const uint8_t s[32])
{
    for (int i = 31; i >= 0; i--) {
        if (s[i] < order_l[i])
            return 1;
        if (s[i] > order_l[i])
            return 0;
    }
    return 0; /* equal to L */
}

static void dom2(crypto_hash_sha512_state *st, const void *ctx, size_t ctx_len)
{
    uint8_t hdr[2] = {1, (uint8_t)ctx_len};
    crypto_hash_sha512_update(st, (const unsigned char *)dom2_prefix, sizeof dom2_prefix - 1);
    crypto_hash_sha512_update(st, hdr, 2);
    if (ctx_len)
        crypto_hash_sha512_update(st, ctx, ctx_len);
}

static int check_ctx(size_t ctx_len, xw_errbuf *eb)
{
    if (ctx_len > 255)
        return xw_errf(eb, XW_EINVAL, "an Ed25519ph context is at most 255 bytes, got %zu", ctx_len);
    if (xmtp_crypto_init() != 0)
        return xw_errf(eb, XW_EINTERNAL, "libsodium failed to initialise");
    return XW_OK;
}

int xmtp_ed25519_public_key(const uint8_t seed[XMTP_ED25519_SEED_LEN], uint8_t pk[XMTP_ED25519_PK_LEN])
{
    if (xmtp_crypto_init() != 0)
        return XW_EINTERNAL;
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    int rc = crypto_sign_seed_keypair(pk, sk, seed);
    xw_wipe(sk, sizeof sk);
    return rc == 0 ? XW_OK : XW_ECRYPTO;
}

/* The challenge k = SHA-512(dom2(1, ctx) || R || A || PH(M)) mod L (RFC 8032 5.1.6, 5.1.7). */
static void challenge(uint8_t k[32], const void *ctx, size_t ctx_len, const uint8_t r[32],
                      const uint8_t pk[32], const uint8_t ph[64])
{
    uint8_t kh[64];
    crypto_hash_sha512_state st;
    crypto_hash_sha512_init(&st);
    dom2(&st, ctx, ctx_len);
    crypto_hash_sha512_update(&st, r, 32);
    crypto_hash_sha512_update(&st, pk, 32);
    crypto_hash_sha512_update(&st, ph, 64);
    crypto_hash_sha512_final(&st, kh);
    crypto_core_ed25519_scalar_reduce(k, kh);
}

int xmtp_ed25519ph_sign(const uint8_t seed[XMTP_ED25519_SEED_LEN], const void *ctx, size_t ctx_len,
                        const void *msg, size_t msg_len, uint8_t sig[XMTP_ED25519_SIG_LEN], xw_errbuf *eb)
{
    int rc = check_ctx(ctx_len, eb);
    if (rc)
        return rc;
    uint8_t h[64], a[32], a_wide[64] = {0}, pk[32], ph[64], rh[64], r[32], k[32], ka[32];
    crypto_hash_sha512(h, seed, 32);
    memcpy(a, h, 32);
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    rc = XW_ECRYPTO;
    if (crypto_scalarmult_ed25519_base_noclamp(pk, a) != 0)
        goto out;
    /* reduce the clamped scalar mod L for the scalar arithmetic below */
    memcpy(a_wide, a, 32);
    crypto_core_ed25519_scalar_reduce(a, a_wide);

    crypto_hash_sha512(ph, msg, msg_len);
    crypto_hash_sha512_state st;
    crypto_hash_sha512_init(&st);
    dom2(&st, ctx, ctx_len);
    crypto_hash_sha512_update(&st, h + 32, 32);
    crypto_hash_sha512_update(&st, ph, 64);
    crypto_hash_sha512_final(&st, rh);
    crypto_core_ed25519_scalar_reduce(r, rh);
    if (crypto_scalarmult_ed25519_base_noclamp(sig, r) != 0)
        goto out;

    challenge(k, ctx, ctx_len, sig, pk, ph);
    crypto_core_ed25519_scalar_mul(ka, k, a);
    crypto_core_ed25519_scalar_add(sig + 32, r, ka);
    rc = XW_OK;
out:
    xw_wipe(h, sizeof h);
    xw_wipe(a, sizeof a);
    xw_wipe(a_wide, sizeof a_wide);
    xw_wipe(rh, sizeof rh);
    xw_wipe(r, sizeof r);
    xw_wipe(ka, sizeof ka);
    xw_wipe(&st, sizeof st);
    if (rc)
        return xw_errf(eb, rc, "Ed25519ph signing failed (degenerate scalar)");
    return XW_OK;
}

int xmtp_ed25519ph_verify(const uint8_t pk[XMTP_ED25519_PK_LEN], const void *ctx, size_t ctx_len,
                          const void *msg, size_t msg_len, const uint8_t sig[XMTP_ED25519_SIG_LEN],
                          xw_errbuf *eb)
{
    int rc = check_ctx(ctx_len, eb);
    if (rc)
        return rc;
    if (!crypto_core_ed25519_is_valid_point(pk))
        return xw_errf(eb, XW_EBADKEY,
                       "installation public key is not a valid Ed25519 point (non-canonical or small order)");
    if (!scalar_is_canonical(sig + 32))
        return xw_errf(eb, XW_EBADSIG, "Ed25519ph signature S is not below the group order");
    if (!crypto_core_ed25519_is_valid_point(sig))
        return xw_errf(eb, XW_EBADSIG, "Ed25519ph signature R is not a valid point");
    uint8_t ph[64], k[32], sb[32], kA[32], check[32];
    crypto_hash_sha512(ph, msg, msg_len);
    challenge(k, ctx, ctx_len, sig, pk, ph);
    if (crypto_scalarmult_ed25519_base_noclamp(sb, sig + 32) != 0 ||
        crypto_scalarmult_ed25519_noclamp(kA, k, pk) != 0 || crypto_core_ed25519_sub(check, sb, kA) != 0 ||
        sodium_memcmp(check, sig, 32) != 0)
        return xw_errf(eb, XW_EBADSIG,
                       "Ed25519ph signature does not verify for this key, context and message");
    return XW_OK;
}
