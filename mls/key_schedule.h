/*
 * The MLS key schedule (RFC 9420 §8): GroupContext, joiner/welcome/epoch secrets and every
 * secret derived from the epoch secret, the exporter, the external key pair, PSK secrets
 * (§8.4) and the transcript hashes with the confirmation tag (§8.2).
 *
 * GroupContext is kept as borrowed spans: its owner (the group state or a decoded message)
 * keeps the bytes alive. The extensions are the raw content of the extensions vector,
 * checked to be a well-formed list of Extension structs when decoded.
 *
 * Secrets are written into caller-owned fixed arrays; mls_epoch_secrets_wipe() clears one.
 */
#ifndef XW_MLS_KEY_SCHEDULE_H
#define XW_MLS_KEY_SCHEDULE_H

#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "mls/crypto.h"
#include "mls/tls.h"

#define MLS_PROTOCOL_VERSION_10 1

typedef struct {
    uint16_t version; /* mls10 = 1 */
    uint16_t cipher_suite;
    mls_span group_id;
    uint64_t epoch;
    mls_span tree_hash;
    mls_span confirmed_transcript_hash;
    mls_span extensions; /* the bytes inside Extension extensions<V> */
} mls_group_context;

/* Writes the GroupContext struct. */
void mls_group_context_write(mls_writer *w, const mls_group_context *gc);
/* Reads one; its spans point into the reader's input. */
int mls_group_context_read(mls_reader *r, mls_group_context *gc);
/* Validates a list of Extension {uint16 type; opaque data<V>} and returns it as a span. */
mls_span mls_extensions_read(mls_reader *r);

typedef struct {
    uint8_t joiner_secret[MLS_MAX_HASH];
    uint8_t welcome_secret[MLS_MAX_HASH];
    uint8_t init_secret[MLS_MAX_HASH]; /* of the next epoch */
    uint8_t sender_data_secret[MLS_MAX_HASH];
    uint8_t encryption_secret[MLS_MAX_HASH];
    uint8_t exporter_secret[MLS_MAX_HASH];
    uint8_t epoch_authenticator[MLS_MAX_HASH];
    uint8_t external_secret[MLS_MAX_HASH];
    uint8_t confirmation_key[MLS_MAX_HASH];
    uint8_t membership_key[MLS_MAX_HASH];
    uint8_t resumption_psk[MLS_MAX_HASH];
} mls_epoch_secrets;

/* joiner_secret = ExpandWithLabel(Extract(init_secret, commit_secret), "joiner", GroupContext, Nh).
 * commit_secret NULL means the all-zero vector. */
int mls_key_schedule_joiner(const mls_suite *s, const uint8_t *init_secret, const uint8_t *commit_secret,
                            const uint8_t *group_context, size_t gc_len, uint8_t *joiner_secret);
/* From the joiner secret: welcome_secret, then the epoch secret and everything derived from it.
 * psk_secret NULL means the all-zero vector. out->joiner_secret is set too. */
int mls_key_schedule_epoch(const mls_suite *s, const uint8_t *joiner_secret, const uint8_t *psk_secret,
                           const uint8_t *group_context, size_t gc_len, mls_epoch_secrets *out);
/* Both steps: what a committer or a member processing a commit runs. */
int mls_key_schedule_run(const mls_suite *s, const uint8_t *init_secret, const uint8_t *commit_secret,
                         const uint8_t *psk_secret, const uint8_t *group_context, size_t gc_len,
                         mls_epoch_secrets *out);
void mls_epoch_secrets_wipe(mls_epoch_secrets *e);

/* Welcome key (Nk) and nonce (Nn) from the welcome secret (§12.4.3.1). */
int mls_welcome_key_nonce(const mls_suite *s, const uint8_t *welcome_secret, uint8_t *key, uint8_t *nonce);
/* MLS-Exporter(label, context, L) from the exporter secret (§8.5). */
int mls_exporter(const mls_suite *s, const uint8_t *exporter_secret, const void *label, size_t label_len,
                 const uint8_t *context, size_t ctx_len, uint8_t *out, size_t L);
/* External HPKE key pair: DeriveKeyPair(external_secret). */
int mls_external_keypair(const mls_suite *s, const uint8_t *external_secret, uint8_t *priv, uint8_t *pub,
                         xw_errbuf *eb);

/* --- pre-shared keys (§8.4) --- */
#define MLS_PSK_EXTERNAL 1
#define MLS_PSK_RESUMPTION 2
#define MLS_PSK_USAGE_APPLICATION 1
#define MLS_PSK_USAGE_REINIT 2
#define MLS_PSK_USAGE_BRANCH 3
#define MLS_PSK_MAX 1000

typedef struct {
    uint8_t psktype;
    mls_span psk_id;       /* external */
    uint8_t usage;         /* resumption */
    mls_span psk_group_id; /* resumption */
    uint64_t psk_epoch;    /* resumption */
    mls_span psk_nonce;
} mls_psk_id;

typedef struct {
    mls_psk_id id;
    const uint8_t *psk; /* the PSK value: external bytes, or the resumption_psk of that epoch */
    size_t psk_len;
} mls_psk;

void mls_psk_id_write(mls_writer *w, const mls_psk_id *id);
int mls_psk_id_read(mls_reader *r, mls_psk_id *id);
/* psk_secret over n PSKs in order (n == 0 gives the zero vector). out gets Nh bytes. */
int mls_psk_secret(const mls_suite *s, const mls_psk *psks, size_t n, uint8_t *out, xw_errbuf *eb);

/* --- transcript hashes (§8.2) and tags --- */
/* confirmed = Hash(interim_prev || ConfirmedTranscriptHashInput) */
int mls_confirmed_transcript_hash(const mls_suite *s, const uint8_t *interim_prev, size_t interim_len,
                                  const uint8_t *cth_input, size_t n, uint8_t *out);
/* interim = Hash(confirmed || InterimTranscriptHashInput{MAC confirmation_tag}) */
int mls_interim_transcript_hash(const mls_suite *s, const uint8_t *confirmed, const uint8_t *tag,
                                size_t tag_len, uint8_t *out);
/* confirmation_tag = MAC(confirmation_key, confirmed_transcript_hash) */
int mls_confirmation_tag(const mls_suite *s, const uint8_t *confirmation_key, const uint8_t *confirmed,
                         uint8_t *out);

#endif
