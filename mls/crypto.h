/*
 * MLS cipher suites and the RFC 9420 labeled functions (§5.1, §5.2, §8).
 *
 * One table describes each supported suite: its HPKE KEM/KDF/AEAD ids, its signature scheme
 * and the sizes that follow from them. Everything else takes a suite pointer from
 * mls_suite_get() and never switches on suite ids itself. Supported: 1
 * (MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519) and 3
 * (MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519).
 *
 * Secrets are passed as caller-owned byte arrays of the suite's sizes (Nh for secrets,
 * Nk/Nn for AEAD keys and nonces); every function wipes its own temporaries. Signature
 * private keys live in mls_sig_priv, which callers wipe with mls_sig_priv_wipe().
 *
 * Labels are given without the "MLS 1.0 " prefix; the functions add it (RefHash excepted:
 * RFC 9420 passes its label through unchanged).
 */
#ifndef XW_MLS_CRYPTO_H
#define XW_MLS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "mls/hpke.h"

#define MLS_MAX_HASH 64     /* largest Nh */
#define MLS_MAX_AEAD_KEY 32 /* largest Nk */
#define MLS_NONCE 12        /* Nn of every supported AEAD */
#define MLS_AEAD_TAG 16
#define MLS_MAX_SIG_PUB 32
#define MLS_MAX_SIG 64

#define MLS_SIG_ED25519 0x0807

typedef struct {
    uint16_t id;
    const char *name;
    mls_hpke_suite hpke;
    uint16_t sig_scheme;
    size_t nh;          /* hash and KDF output size */
    size_t nk;          /* AEAD key size */
    size_t nn;          /* AEAD nonce size */
    size_t sig_pub_len; /* raw signature public key */
    size_t sig_seed_len;
    size_t sig_len;
    size_t hpke_pub_len, hpke_priv_len;
} mls_suite;

/* The suite with that id, or NULL when it is not supported. */
const mls_suite *mls_suite_get(uint16_t id);
/* Like mls_suite_get, with an error sentence naming the supported suites. */
int mls_suite_lookup(uint16_t id, const mls_suite **out, xw_errbuf *eb);

/* --- hash, MAC, KDF --- */
int mls_hash(const mls_suite *s, const uint8_t *p, size_t n, uint8_t *out);
/* Hash(a || b) without building the concatenation. */
int mls_hash2(const mls_suite *s, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
              uint8_t *out);
int mls_mac(const mls_suite *s, const uint8_t *key, size_t key_len, const uint8_t *p, size_t n, uint8_t *out);
/* Constant-time comparison of a received MAC with MAC(key, p). XW_EMLS_TAG when it differs. */
int mls_mac_verify(const mls_suite *s, const uint8_t *key, size_t key_len, const uint8_t *p, size_t n,
                   const uint8_t *tag, size_t tag_len);
int mls_extract(const mls_suite *s, const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                uint8_t *out);

/* ExpandWithLabel(secret, label, context, L); label is raw bytes (the exporter's may be binary). */
int mls_expand_with_label(const mls_suite *s, const uint8_t *secret, const void *label, size_t label_len,
                          const uint8_t *ctx, size_t ctx_len, uint8_t *out, size_t L);
/* The same with the secret prepared once (mls_hmac_key_init with the suite's KDF), for several
 * derivations from one secret. */
int mls_expand_with_label_keyed(const mls_suite *s, const mls_hmac_key *secret, const void *label,
                                size_t label_len, const uint8_t *ctx, size_t ctx_len, uint8_t *out, size_t L);
int mls_derive_tree_secret_keyed(const mls_suite *s, const mls_hmac_key *secret, const char *label,
                                 uint32_t generation, uint8_t *out, size_t L);
/* DeriveSecret(secret, label): Nh bytes. */
int mls_derive_secret(const mls_suite *s, const uint8_t *secret, const char *label, uint8_t *out);
/* DeriveTreeSecret(secret, label, generation, L). */
int mls_derive_tree_secret(const mls_suite *s, const uint8_t *secret, const char *label, uint32_t generation,
                           uint8_t *out, size_t L);
/* RefHash(label, value): Nh bytes. */
int mls_ref_hash(const mls_suite *s, const void *label, size_t label_len, const uint8_t *value, size_t n,
                 uint8_t *out);

/* --- AEAD with the suite's algorithm --- */
/* out gets n + MLS_AEAD_TAG bytes. */
int mls_aead_seal(const mls_suite *s, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                  size_t aad_len, const uint8_t *pt, size_t n, uint8_t *out);
/* out gets n - MLS_AEAD_TAG bytes; XW_EDECRYPT on a bad tag. */
int mls_aead_open(const mls_suite *s, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                  size_t aad_len, const uint8_t *ct, size_t n, uint8_t *out);

/* --- signatures --- */
typedef struct {
    uint16_t scheme;
    uint8_t sk[64]; /* libsodium's expanded Ed25519 key: seed || public key */
    uint8_t pub[MLS_MAX_SIG_PUB];
    size_t pub_len;
} mls_sig_priv;

/* From the raw private key (the 32-byte Ed25519 seed). */
int mls_sig_priv_from_seed(const mls_suite *s, const uint8_t *seed, size_t n, mls_sig_priv *out,
                           xw_errbuf *eb);
int mls_sig_priv_generate(const mls_suite *s, mls_sig_priv *out);
void mls_sig_priv_wipe(mls_sig_priv *k);
/* SignWithLabel: sig gets suite->sig_len bytes. */
int mls_sign_with_label(const mls_suite *s, const mls_sig_priv *k, const char *label, const uint8_t *content,
                        size_t n, uint8_t *sig, xw_errbuf *eb);
/* VerifyWithLabel: XW_EBADSIG (with a sentence) unless the signature verifies. */
int mls_verify_with_label(const mls_suite *s, const uint8_t *pub, size_t pub_len, const char *label,
                          const uint8_t *content, size_t n, const uint8_t *sig, size_t sig_len,
                          xw_errbuf *eb);

/* --- public-key encryption --- */
/* EncryptWithLabel: kem_output and ct are replaced. */
int mls_encrypt_with_label(const mls_suite *s, const uint8_t *pub, size_t pub_len, const char *label,
                           const uint8_t *ctx, size_t ctx_len, const uint8_t *pt, size_t n,
                           xw_buf *kem_output, xw_buf *ct, xw_errbuf *eb);
/* EncryptWithLabel to many public keys under the same label and context (an UpdatePath's
 * copath resolutions): the EncryptContext and its HPKE info hash are computed once here,
 * then each mls_hpke_sealer_seal(z, pub, pub_len, NULL, 0, pt, n, kem_output, ct, eb) is one
 * EncryptWithLabel. */
int mls_label_sealer_init(mls_hpke_sealer *z, const mls_suite *s, const char *label, const uint8_t *ctx,
                          size_t ctx_len, xw_errbuf *eb);
/* DecryptWithLabel: pt is replaced. pub may be NULL (recomputed from priv). */
int mls_decrypt_with_label(const mls_suite *s, const uint8_t *priv, size_t priv_len, const uint8_t *pub,
                           const char *label, const uint8_t *ctx, size_t ctx_len, const uint8_t *kem_output,
                           size_t kem_len, const uint8_t *ct, size_t ct_len, xw_buf *pt, xw_errbuf *eb);
/* DeriveKeyPair(secret) of the suite's KEM: priv gets hpke_priv_len bytes, pub hpke_pub_len. */
int mls_derive_keypair(const mls_suite *s, const uint8_t *secret, size_t n, uint8_t *priv, uint8_t *pub,
                       xw_errbuf *eb);

#endif
