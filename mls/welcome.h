/*
 * Opening a Welcome and reading a GroupInfo (RFC 9420 §12.4.3) without a group: what
 * mls_group_join() builds on, exposed for tools and the welcome test vectors.
 */
#ifndef XW_MLS_WELCOME_H
#define XW_MLS_WELCOME_H

#include "common/buf.h"
#include "common/err.h"
#include "mls/group.h"
#include "mls/key_schedule.h"
#include "mls/keypackage.h"

typedef struct {
    const mls_suite *suite;
    xw_buf group_secrets; /* decrypted GroupSecrets */
    xw_buf group_info;    /* decrypted GroupInfo */
    uint8_t joiner_secret[MLS_MAX_HASH];
    uint8_t psk_secret[MLS_MAX_HASH];
    int has_path_secret;
    uint8_t path_secret[MLS_MAX_HASH];
} mls_welcome_opened;

/* Finds kp's entry, decrypts the GroupSecrets with init_priv, resolves its external PSKs and
 * decrypts the GroupInfo. o is initialised even on failure (free it). */
int mls_welcome_open(const uint8_t *p, size_t n, const mls_key_package *kp, const uint8_t *init_priv,
                     const mls_external_psk *psks, size_t n_psks, mls_welcome_opened *o, xw_errbuf *eb);
void mls_welcome_opened_free(mls_welcome_opened *o);

typedef struct {
    mls_group_context gc;
    mls_span gc_bytes;
    mls_span extensions;
    mls_span confirmation_tag;
    uint32_t signer;
    mls_span tbs; /* GroupInfoTBS: every byte before the signature */
    mls_span signature;
} mls_group_info;

int mls_group_info_parse(const uint8_t *p, size_t n, mls_group_info *gi, xw_errbuf *eb);

#endif
