/*
 * Installation keys. The handle keeps the seed and libsodium's expanded secret key
 * (seed || public key) so plain Ed25519 signing needs no re-derivation; both are wiped on
 * free.
 */
#include "xmtp/installation.h"

#include <sodium.h>
#include <string.h>

#include "common/alloc.h"
#include "xmtp/crypto.h"

struct xmtp_installation_key {
    uint8_t seed[XMTP_ED25519_SEED_LEN];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    uint8_t pk[XMTP_ED25519_PK_LEN];
};

int xmtp_installation_key_from_seed(const uint8_t seed[XMTP_ED25519_SEED_LEN], xmtp_installation_key **out,
                                    xw_errbuf *eb)
{
    if (xmtp_crypto_init() != 0)
        return xw_errf(eb, XW_EINTERNAL, "libsodium failed to initialise");
    xmtp_installation_key *k = xw_calloc(1, sizeof *k);
    if (!k)
        return xw_errf(eb, XW_ENOMEM, "out of memory for an installation key");
    memcpy(k->seed, seed, sizeof k->seed);
    if (crypto_sign_seed_keypair(k->pk, k->sk, k->seed) != 0) {
        xmtp_installation_key_free(k);
        return xw_errf(eb, XW_ECRYPTO, "could not derive the installation public key");
    }
    *out = k;
    return XW_OK;
}

int xmtp_installation_key_generate(xmtp_installation_key **out, xw_errbuf *eb)
{
    if (xmtp_crypto_init() != 0)
        return xw_errf(eb, XW_EINTERNAL, "libsodium failed to initialise");
    uint8_t seed[XMTP_ED25519_SEED_LEN];
    randombytes_buf(seed, sizeof seed);
    int rc = xmtp_installation_key_from_seed(seed, out, eb);
    xw_wipe(seed, sizeof seed);
    return rc;
}

void xmtp_installation_key_free(xmtp_installation_key *k)
{
    if (k)
        xw_free_secret(k, sizeof *k);
}

const uint8_t *xmtp_installation_key_public(const xmtp_installation_key *k) { return k->pk; }

void xmtp_installation_key_seed(const xmtp_installation_key *k, uint8_t out[XMTP_ED25519_SEED_LEN])
{
    memcpy(out, k->seed, XMTP_ED25519_SEED_LEN);
}

int xmtp_installation_key_sign_ph(const xmtp_installation_key *k, const char *ctx, const void *msg,
                                  size_t len, uint8_t sig[XMTP_ED25519_SIG_LEN], xw_errbuf *eb)
{
    return xmtp_ed25519ph_sign(k->seed, ctx, strlen(ctx), msg, len, sig, eb);
}

int xmtp_installation_key_sign_identity(const xmtp_installation_key *k, const void *text, size_t len,
                                        uint8_t sig[XMTP_ED25519_SIG_LEN], xw_errbuf *eb)
{
    return xmtp_installation_key_sign_ph(k, XMTP_CTX_IDENTITY_UPDATE, text, len, sig, eb);
}

int xmtp_installation_key_sign(const xmtp_installation_key *k, const void *msg, size_t len,
                               uint8_t sig[XMTP_ED25519_SIG_LEN], xw_errbuf *eb)
{
    if (crypto_sign_detached(sig, NULL, msg, len, k->sk) != 0)
        return xw_errf(eb, XW_ECRYPTO, "Ed25519 signing failed");
    return XW_OK;
}
