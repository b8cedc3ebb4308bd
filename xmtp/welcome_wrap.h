/*
 * XMTP's welcome wrapper (libxmtp groups/mls_ext/welcome_wrapper.rs, docs/protocol.md §3.13):
 * how an MLS Welcome travels to one installation, and the two KeyPackage extensions that say
 * how that installation wants it.
 *
 * A welcome is wrapped with HPKE base mode, HKDF-SHA256 and ChaCha20-Poly1305, with
 * info = TLS {label "MLS 1.0 MLS_WELCOME", context ""} and empty aad. The first seal on the
 * context encrypts the TLS MLSMessage carrying the Welcome (sequence 0) and the second, on the
 * same context, the WelcomeMetadata protobuf (sequence 1). The wire form of the first is
 * WelcomeMessageInput.V1.data = TLS HpkeCiphertext{kem_output<V>, ciphertext<V>}; the second
 * is the bare ciphertext in welcome_metadata. A WelcomePointer carries only the first.
 *
 * Algorithms (WelcomeWrapperAlgorithm): 1 = DHKEM(X25519) to the key package's init_key,
 * 2 = X-Wing to the key in KeyPackage extension 0xff03. X-Wing senders use HPKE KEM id 0x004D
 * (what libxmtp 1.9/1.10 uses); receivers try 0x004D, then the draft's 0x647A.
 *
 * Functions leave their outputs untouched on failure and say what went wrong in `eb`.
 * Thread-safe (the first X-Wing use registers the KEM; see mls/xwing_hpke.h).
 *
 * Part of library xmtp, built on mls/ (HPKE, TLS codec, X-Wing): link
 * `xmtp mlspq mls xwproto common` (xmtp/welcome.mk).
 */
#ifndef XW_XMTP_WELCOME_WRAP_H
#define XW_XMTP_WELCOME_WRAP_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "mls/xwing.h"

#define XMTP_WELCOME_EXT_WRAPPER_ENCRYPTION 0xff03
#define XMTP_WELCOME_EXT_POINTEE_AEAD_TYPES 0xff04

typedef enum {
    XMTP_WELCOME_CURVE25519 = 1, /* DHKEM(X25519, HKDF-SHA256) to the key package init_key */
    XMTP_WELCOME_XWING = 2,      /* X-Wing (draft-06) to the 0xff03 public key */
} xmtp_welcome_alg;

/* WelcomePointeeEncryptionAeadType values (0xff04). */
#define XMTP_WELCOME_POINTEE_CHACHA20_POLY1305 3

/* Largest welcome and metadata plaintexts accepted (libxmtp sends batches of at most
 * 25 MiB; WelcomeMetadata is one varint). */
#define XMTP_WELCOME_WRAP_MAX (32u << 20)
#define XMTP_WELCOME_METADATA_MAX 4096

/* The recipient key a welcome is wrapped to. */
typedef struct {
    xmtp_welcome_alg alg;
    size_t pub_len;
    uint8_t pub[MLS_XWING_PK_LEN];
} xmtp_welcome_key;

/*
 * Seals `welcome` (a TLS MLSMessage) and then, when metadata is not NULL, `metadata` (a
 * WelcomeMetadata protobuf) to the recipient key. `data` is replaced by the TLS HpkeCiphertext
 * and `metadata_ct` (may be NULL when metadata is NULL) by the second ciphertext. rand: the
 * KEM's encapsulation randomness (32 bytes for X25519, 64 for X-Wing) for known-answer tests,
 * or NULL for the system RNG.
 */
int xmtp_welcome_wrap(const xmtp_welcome_key *to, const uint8_t *welcome, size_t welcome_len,
                      const uint8_t *metadata, size_t metadata_len, const uint8_t *rand, xw_buf *data,
                      xw_buf *metadata_ct, xw_errbuf *eb);

/*
 * Opens a wrapped welcome with the recipient's private key (32 bytes: the X25519 init key, or
 * the X-Wing seed). `welcome` is replaced by the plaintext; when metadata_ct is not NULL it is
 * opened too (sequence 1) into `metadata`. *kem_id_used (may be NULL) gets the HPKE KEM id that
 * worked. XW_EMALFORMED for a bad HpkeCiphertext, XW_EDECRYPT when nothing opens it.
 */
int xmtp_welcome_unwrap(xmtp_welcome_alg alg, const uint8_t *sk, size_t sk_len, const uint8_t *data,
                        size_t data_len, const uint8_t *metadata_ct, size_t metadata_ct_len, xw_buf *welcome,
                        xw_buf *metadata, uint16_t *kem_id_used, xw_errbuf *eb);

/* KeyPackage extension 0xff03: WelcomeWrapperEncryption{pub_key, algorithm} (raw protobuf, the
 * extension_data). Decoding checks the algorithm and the key: 32 bytes for X25519; 1216 for
 * X-Wing, whose ML-KEM half must pass the FIPS 203 key check. */
int xmtp_welcome_wrapper_ext_encode(const xmtp_welcome_key *key, xw_buf *out, xw_errbuf *eb);
int xmtp_welcome_wrapper_ext_decode(const uint8_t *p, size_t n, xmtp_welcome_key *out, xw_errbuf *eb);

/* The key to wrap to for a recipient key package: X-Wing to its 0xff03 key when it has that
 * extension (ext_ff03 not NULL), else X25519 to its 32-byte init_key. */
int xmtp_welcome_key_for(const uint8_t *init_key, size_t init_key_len, const uint8_t *ext_ff03,
                         size_t ext_len, xmtp_welcome_key *out, xw_errbuf *eb);

/* KeyPackage extension 0xff04: WelcomePointeeEncryptionAeadTypesExtension. Decoding yields a
 * bit mask of the advertised types below 32 (bit 3 = ChaCha20-Poly1305); others are ignored. */
int xmtp_welcome_pointee_ext_encode(const uint32_t *types, size_t n, xw_buf *out, xw_errbuf *eb);
int xmtp_welcome_pointee_ext_decode(const uint8_t *p, size_t n, uint32_t *mask, xw_errbuf *eb);

/* WelcomeMetadata{message_cursor}, the second sealed plaintext. */
int xmtp_welcome_metadata_encode(uint64_t message_cursor, xw_buf *out, xw_errbuf *eb);
int xmtp_welcome_metadata_decode(const uint8_t *p, size_t n, uint64_t *message_cursor, xw_errbuf *eb);

#endif
