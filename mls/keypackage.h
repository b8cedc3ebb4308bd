/*
 * Key packages (RFC 9420 §10): decoding, validation (§10.1), creation and references.
 *
 * A decoded key package owns a copy of its bytes (so unknown extensions survive byte for
 * byte) and a reference to its decoded leaf node. A created one comes with its private keys
 * (init and leaf encryption keys), which the caller keeps until a Welcome arrives and wipes
 * with mls_key_package_secrets_wipe().
 */
#ifndef XW_MLS_KEYPACKAGE_H
#define XW_MLS_KEYPACKAGE_H

#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "mls/crypto.h"
#include "mls/tree.h"

typedef struct {
    uint8_t *raw;
    size_t raw_len;
    size_t tbs_len;
    uint16_t version, cipher_suite;
    mls_span init_key;
    mls_leaf *leaf;
    mls_span extensions;
    mls_span signature;
} mls_key_package;

/* Reads a KeyPackage from r (errors go to r); the result owns a copy of its bytes. */
mls_key_package *mls_key_package_read(mls_reader *r);
/* Decodes a whole KeyPackage, or an MLSMessage holding one. */
int mls_key_package_decode(const uint8_t *p, size_t n, mls_key_package **out, xw_errbuf *eb);
void mls_key_package_free(mls_key_package *kp);
/* KeyPackageRef = RefHash("MLS 1.0 KeyPackage Reference", KeyPackage); out gets nh bytes. */
int mls_key_package_ref(const mls_suite *s, const mls_key_package *kp, uint8_t *out);
/* §10.1 checks: suite and version as expected, signature, leaf node valid for a key package
 * (source, lifetime against now (seconds; 0 skips the check), extensions, capabilities),
 * init key different from the leaf's encryption key. */
int mls_key_package_validate(const mls_suite *s, const mls_key_package *kp, uint64_t now,
                             mls_span gc_extensions, xw_errbuf *eb);

typedef struct {
    uint8_t init_priv[MLS_HPKE_MAX_SK];
    uint8_t enc_priv[MLS_HPKE_MAX_SK];
    mls_sig_priv sig;
} mls_key_package_secrets;

typedef struct {
    mls_span identity; /* basic credential */
    uint64_t not_before, not_after;
    mls_span leaf_extensions; /* contents of the LeafNode extensions vector */
    mls_span kp_extensions;   /* contents of the KeyPackage extensions vector */
    mls_span extra_ext_types; /* raw uint16 list added to the capabilities' extensions */
    mls_span proposal_types;  /* raw uint16 list: the capabilities' proposals (default empty) */
    int last_resort;          /* add the last_resort extension */
} mls_key_package_opts;

/* Creates a key package signed with sig (copied into secrets->sig); appends the encoded
 * KeyPackage (bare, not wrapped in an MLSMessage) to out. */
int mls_key_package_create(const mls_suite *s, const mls_sig_priv *sig, const mls_key_package_opts *o,
                           xw_buf *out, mls_key_package_secrets *secrets, xw_errbuf *eb);
void mls_key_package_secrets_wipe(mls_key_package_secrets *k);
/* Writes this implementation's Capabilities (mls10, the suite, basic credentials, the given
 * extra extension types). */
void mls_capabilities_write(mls_writer *w, const mls_suite *s, mls_span extra_ext_types);

#endif
