/*
 * Serialisation of wallet and installation keys (format in keystore.h). Every temporary
 * copy of a secret is wiped before returning.
 */
#include "xmtp/keystore.h"

#include <sodium.h>
#include <string.h>

#include "common/alloc.h"

static const uint8_t magic[4] = {'X', 'W', 'K', '1'};
enum { KIND_WALLET = 1, KIND_INSTALLATION = 2 };

static int check_header(const uint8_t *blob, size_t len, int kind, size_t want, const char *what,
                        xw_errbuf *eb)
{
    if (!blob || len < 5 || memcmp(blob, magic, 4) != 0)
        return xw_errf(eb, XW_ECORRUPT, "stored %s key is not an xmtp-worker key blob (bad header)", what);
    if (blob[4] != kind)
        return xw_errf(eb, XW_ECORRUPT, "stored key is a %s key, not a %s key",
                       blob[4] == KIND_WALLET         ? "wallet"
                       : blob[4] == KIND_INSTALLATION ? "installation"
                                                      : "unknown",
                       what);
    if (len != want)
        return xw_errf(eb, XW_ECORRUPT, "stored %s key is %zu bytes, expected %zu (truncated or padded)",
                       what, len, want);
    return XW_OK;
}

int xmtp_wallet_serialize(const xmtp_wallet *w, xw_buf *out, xw_errbuf *eb)
{
    uint8_t blob[XMTP_KEYBLOB_WALLET_LEN];
    memcpy(blob, magic, 4);
    blob[4] = KIND_WALLET;
    xmtp_wallet_secret(w, blob + 5);
    xmtp_wallet_address(w, blob + 37);
    int rc = xw_buf_append(out, blob, sizeof blob);
    xw_wipe(blob, sizeof blob);
    return rc ? xw_errf(eb, rc, "key blob does not fit the buffer") : XW_OK;
}

int xmtp_wallet_deserialize(const uint8_t *blob, size_t len, xmtp_wallet **out, xw_errbuf *eb)
{
    int rc = check_header(blob, len, KIND_WALLET, XMTP_KEYBLOB_WALLET_LEN, "wallet", eb);
    if (rc)
        return rc;
    xmtp_wallet *w = NULL;
    if ((rc = xmtp_wallet_from_secret(blob + 5, &w, eb)))
        return rc == XW_EBADKEY ? xw_errf(eb, XW_ECORRUPT, "stored wallet secret is not a valid key") : rc;
    uint8_t a[XMTP_ADDRESS_LEN];
    xmtp_wallet_address(w, a);
    if (sodium_memcmp(a, blob + 37, sizeof a) != 0) {
        xmtp_wallet_free(w);
        return xw_errf(eb, XW_ECORRUPT, "stored wallet key does not match its address; the blob is damaged");
    }
    *out = w;
    return XW_OK;
}

int xmtp_installation_key_serialize(const xmtp_installation_key *k, xw_buf *out, xw_errbuf *eb)
{
    uint8_t blob[XMTP_KEYBLOB_INSTALLATION_LEN];
    memcpy(blob, magic, 4);
    blob[4] = KIND_INSTALLATION;
    xmtp_installation_key_seed(k, blob + 5);
    memcpy(blob + 37, xmtp_installation_key_public(k), 32);
    int rc = xw_buf_append(out, blob, sizeof blob);
    xw_wipe(blob, sizeof blob);
    return rc ? xw_errf(eb, rc, "key blob does not fit the buffer") : XW_OK;
}

int xmtp_installation_key_deserialize(const uint8_t *blob, size_t len, xmtp_installation_key **out,
                                      xw_errbuf *eb)
{
    int rc = check_header(blob, len, KIND_INSTALLATION, XMTP_KEYBLOB_INSTALLATION_LEN, "installation", eb);
    if (rc)
        return rc;
    xmtp_installation_key *k = NULL;
    if ((rc = xmtp_installation_key_from_seed(blob + 5, &k, eb)))
        return rc;
    if (sodium_memcmp(xmtp_installation_key_public(k), blob + 37, 32) != 0) {
        xmtp_installation_key_free(k);
        return xw_errf(eb, XW_ECORRUPT,
                       "stored installation key does not match its public key; the blob is damaged");
    }
    *out = k;
    return XW_OK;
}
