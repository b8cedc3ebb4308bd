/*
 * HPKE (RFC 9180), base mode, with export, over a pluggable KEM; plus the KDF and AEAD
 * primitives it is built from, which the rest of mls/ shares.
 *
 * A KEM is a table of four functions (mls_hpke_kem). DHKEM(X25519, HKDF-SHA256) is built in;
 * other KEMs (X-Wing, ML-KEM) plug in by registering their table with mls_hpke_kem_register()
 * at start-up, before any thread uses HPKE. Every KEM is randomised through an explicit seed
 * (`n_encap_rand` bytes, filled from the system RNG by the one-shot API), so known-answer
 * tests can run any KEM deterministically.
 *
 * KDFs: HKDF-SHA256 (1), HKDF-SHA384 (2), HKDF-SHA512 (3), on OpenSSL. AEADs: AES-128-GCM (1),
 * AES-256-GCM (2) on OpenSSL, ChaCha20-Poly1305 (3) on libsodium, and export-only (0xFFFF).
 *
 * Secrets (contexts, private keys) are wiped by mls_hpke_ctx_wipe() and by every function on
 * its error paths. This header is a stable interface: mls/ post-quantum code builds on it.
 */
#ifndef XW_MLS_HPKE_H
#define XW_MLS_HPKE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

#define MLS_HPKE_KEM_X25519_SHA256 0x0020
#define MLS_HPKE_KDF_HKDF_SHA256 0x0001
#define MLS_HPKE_KDF_HKDF_SHA384 0x0002
#define MLS_HPKE_KDF_HKDF_SHA512 0x0003
#define MLS_HPKE_AEAD_AES128GCM 0x0001
#define MLS_HPKE_AEAD_AES256GCM 0x0002
#define MLS_HPKE_AEAD_CHACHA20POLY1305 0x0003
#define MLS_HPKE_AEAD_EXPORT_ONLY 0xffff

/* X25519(sk, 9), the public key of sk, through libsodium's table-driven Ed25519 fixed-base
 * multiplication (mls/x25519_base.c); equal to crypto_scalarmult_curve25519_base for every sk,
 * and cheaper (docs/pq-welcomes.md). Used by DHKEM(X25519) and X-Wing wherever a public key
 * is derived from a private key. XW_ECRYPTO only if libsodium fails. */
int mls_x25519_base(uint8_t pk[32], const uint8_t sk[32]);

/* Bounds every KEM must fit in (room for ML-KEM-1024 and hybrids). */
#define MLS_HPKE_MAX_SECRET 64
#define MLS_HPKE_MAX_ENC 1664
#define MLS_HPKE_MAX_PK 1664
#define MLS_HPKE_MAX_SK 3264
#define MLS_HPKE_MAX_RAND 128
#define MLS_HPKE_MAX_NH 64 /* largest KDF output */
#define MLS_HPKE_MAX_NK 32 /* largest AEAD key */
#define MLS_HPKE_NN 12     /* AEAD nonce size of every supported AEAD */
#define MLS_HPKE_TAG 16    /* AEAD tag size of every supported AEAD */
#define MLS_HPKE_MAX_PT (1u << 28)

typedef struct mls_hpke_kem mls_hpke_kem;
struct mls_hpke_kem {
    uint16_t id;
    const char *name;
    size_t n_secret;     /* Nsecret */
    size_t n_enc;        /* Nenc */
    size_t n_pk;         /* Npk */
    size_t n_sk;         /* Nsk: size of a serialized private key */
    size_t n_encap_rand; /* bytes of randomness one Encap consumes */
    /* DeriveKeyPair(ikm): writes n_sk bytes of sk and n_pk bytes of pk. */
    int (*derive_keypair)(const mls_hpke_kem *kem, const uint8_t *ikm, size_t ikm_len, uint8_t *sk,
                          uint8_t *pk, xw_errbuf *eb);
    /* Encap(pk) with the given randomness: writes n_secret bytes of shared secret and n_enc of enc. */
    int (*encap)(const mls_hpke_kem *kem, const uint8_t *pk, const uint8_t *rand, uint8_t *shared,
                 uint8_t *enc, xw_errbuf *eb);
    /* Decap(enc, sk); pk is the matching public key, or NULL to have it recomputed. */
    int (*decap)(const mls_hpke_kem *kem, const uint8_t *enc, const uint8_t *sk, const uint8_t *pk,
                 uint8_t *shared, xw_errbuf *eb);
    /* The public key of a serialized private key. */
    int (*public_key)(const mls_hpke_kem *kem, const uint8_t *sk, uint8_t *pk, xw_errbuf *eb);
};

/* The KEM with that id, or NULL. */
const mls_hpke_kem *mls_hpke_kem_get(uint16_t id);
/* Adds a KEM (the table must outlive the process). XW_EEXISTS if the id is taken, XW_ELIMIT
 * when the registry (16 entries) is full, XW_EINVAL if a size passes the MLS_HPKE_MAX_* bounds.
 * Call at start-up only: not thread-safe against concurrent lookups. */
int mls_hpke_kem_register(const mls_hpke_kem *kem);

/* --- KDF (by HPKE KDF id) --- */
/* Output size Nh of the KDF's hash, or 0 if unsupported. */
size_t mls_hpke_kdf_nh(uint16_t kdf_id);
/* HMAC over the concatenation of n parts (parts[i], lens[i]); out gets Nh bytes. */
int mls_hpke_kdf_mac(uint16_t kdf_id, const uint8_t *key, size_t key_len, const uint8_t *const *parts,
                     const size_t *lens, size_t n, uint8_t *out);
/* Hash (the KDF's hash) over n parts; out gets Nh bytes. */
int mls_hpke_kdf_hash(uint16_t kdf_id, const uint8_t *const *parts, const size_t *lens, size_t n,
                      uint8_t *out);
/* An HMAC key with its inner and outer pad states computed once, for callers that MAC
 * several inputs under one key (ratchet steps, sender-data keys). Wipe with mls_hmac_key_wipe(). */
typedef struct {
    uint16_t kdf_id;
    size_t key_len;
    _Alignas(16) uint8_t state[256]; /* SHA-256 pad states, or the raw key for other KDFs */
} mls_hmac_key;

int mls_hmac_key_init(mls_hmac_key *k, uint16_t kdf_id, const uint8_t *key, size_t key_len);
void mls_hmac_key_wipe(mls_hmac_key *k);
int mls_hmac_keyed(const mls_hmac_key *k, const uint8_t *const *parts, const size_t *lens, size_t n,
                   uint8_t *out);
/* HKDF-Expand under a prepared PRK. */
int mls_hpke_kdf_expand_keyed(const mls_hmac_key *prk, const uint8_t *const *info, const size_t *info_lens,
                              size_t n_info, uint8_t *out, size_t L);

int mls_hpke_kdf_extract(uint16_t kdf_id, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                         size_t ikm_len, uint8_t *prk);
/* HKDF-Expand with info given as n parts (avoids building the info string). L <= 255 * Nh. */
int mls_hpke_kdf_expand(uint16_t kdf_id, const uint8_t *prk, size_t prk_len, const uint8_t *const *info,
                        const size_t *info_lens, size_t n_info, uint8_t *out, size_t L);
/* RFC 9180 LabeledExtract / LabeledExpand with the given suite_id ("KEM.." or "HPKE.."). */
int mls_hpke_labeled_extract(uint16_t kdf_id, const uint8_t *suite_id, size_t suite_id_len,
                             const uint8_t *salt, size_t salt_len, const char *label, const uint8_t *ikm,
                             size_t ikm_len, uint8_t *prk);
int mls_hpke_labeled_expand(uint16_t kdf_id, const uint8_t *suite_id, size_t suite_id_len, const uint8_t *prk,
                            size_t prk_len, const char *label, const uint8_t *info, size_t info_len,
                            uint8_t *out, size_t L);

/* --- AEAD (by HPKE AEAD id) --- */
size_t mls_hpke_aead_nk(uint16_t aead_id); /* 0 if unsupported */
/* out gets pt_len + MLS_HPKE_TAG bytes; out may equal pt. */
int mls_hpke_aead_seal(uint16_t aead_id, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                       size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *out);
/* ct includes the tag; out gets ct_len - MLS_HPKE_TAG bytes. XW_EDECRYPT on a bad tag. */
int mls_hpke_aead_open(uint16_t aead_id, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                       size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *out);

/* --- HPKE base mode --- */
typedef struct {
    uint16_t kem_id, kdf_id, aead_id;
} mls_hpke_suite;

typedef struct {
    mls_hpke_suite suite;
    uint8_t key[MLS_HPKE_MAX_NK];
    uint8_t base_nonce[MLS_HPKE_NN];
    uint8_t exporter_secret[MLS_HPKE_MAX_NH];
    uint64_t seq;
} mls_hpke_ctx;

/* XW_EUNSUPPORTED (with a sentence) unless the KEM, KDF and AEAD are all available. */
int mls_hpke_suite_check(const mls_hpke_suite *s, xw_errbuf *eb);

/* SetupBaseS. enc gets kem->n_enc bytes. rand: kem->n_encap_rand bytes, or NULL for the system RNG. */
int mls_hpke_setup_base_s(const mls_hpke_suite *s, const uint8_t *pk_r, size_t pk_r_len, const uint8_t *info,
                          size_t info_len, const uint8_t *rand, uint8_t *enc, mls_hpke_ctx *ctx,
                          xw_errbuf *eb);
/* SetupBaseR. pk_r may be NULL (recomputed from sk_r). */
int mls_hpke_setup_base_r(const mls_hpke_suite *s, const uint8_t *enc, size_t enc_len, const uint8_t *sk_r,
                          size_t sk_r_len, const uint8_t *pk_r, const uint8_t *info, size_t info_len,
                          mls_hpke_ctx *ctx, xw_errbuf *eb);
/* SetupBaseR's key schedule on a KEM shared secret the caller already has (kem->decap's output,
 * kem->n_secret bytes, for the KEM of s). A receiver that must try suites differing only in
 * what the key schedule sees (the same KEM registered under two ids, as X-Wing is) decapsulates
 * once and calls this per suite. The shared secret is not kept. */
int mls_hpke_setup_base_r_shared(const mls_hpke_suite *s, const uint8_t *shared, size_t shared_len,
                                 const uint8_t *info, size_t info_len, mls_hpke_ctx *ctx, xw_errbuf *eb);
/* ContextS.Seal / ContextR.Open: ct = pt_len + MLS_HPKE_TAG bytes. Each call uses the next nonce. */
int mls_hpke_seal(mls_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                  uint8_t *ct, xw_errbuf *eb);
int mls_hpke_open(mls_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                  uint8_t *pt, xw_errbuf *eb);
/* Context.Export(exporter_context, L). */
int mls_hpke_export(const mls_hpke_ctx *ctx, const uint8_t *exp_ctx, size_t exp_ctx_len, uint8_t *out,
                    size_t L, xw_errbuf *eb);
void mls_hpke_ctx_wipe(mls_hpke_ctx *ctx);

/* Single-shot SealBase / OpenBase. enc and ct are replaced (enc: n_enc bytes; ct: pt + tag). */
int mls_hpke_seal_base(const mls_hpke_suite *s, const uint8_t *pk_r, size_t pk_r_len, const uint8_t *info,
                       size_t info_len, const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                       xw_buf *enc, xw_buf *ct, xw_errbuf *eb);
/* SealBase to many recipients under the same info (MLS encrypts a path secret to every node
 * of a copath resolution under the same GroupContext): mls_hpke_sealer_init computes the
 * info-dependent part of the key schedule (psk_id_hash, info_hash) once, and each
 * mls_hpke_sealer_seal then costs one encapsulation, the secret-dependent derivations and
 * the AEAD. Same output format as mls_hpke_seal_base. Holds no secret. */
typedef struct {
    mls_hpke_suite suite;
    uint8_t ksc[1 + 2 * MLS_HPKE_MAX_NH];
} mls_hpke_sealer;
int mls_hpke_sealer_init(mls_hpke_sealer *z, const mls_hpke_suite *s, const uint8_t *info, size_t info_len,
                         xw_errbuf *eb);
int mls_hpke_sealer_seal(const mls_hpke_sealer *z, const uint8_t *pk_r, size_t pk_r_len, const uint8_t *aad,
                         size_t aad_len, const uint8_t *pt, size_t pt_len, xw_buf *enc, xw_buf *ct,
                         xw_errbuf *eb);
/* pt is replaced with the plaintext; pk_r may be NULL. */
int mls_hpke_open_base(const mls_hpke_suite *s, const uint8_t *enc, size_t enc_len, const uint8_t *sk_r,
                       size_t sk_r_len, const uint8_t *pk_r, const uint8_t *info, size_t info_len,
                       const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len, xw_buf *pt,
                       xw_errbuf *eb);

/* Fills n bytes from the system RNG (libsodium). */
void mls_random(uint8_t *out, size_t n);
/* Random bytes that are public once used (PrivateMessage reuse guards), from a per-thread
 * pool filled by mls_random(), to save a system call per message. */
void mls_random_nonsecret(uint8_t *out, size_t n);

#endif
