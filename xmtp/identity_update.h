/*
 * Identity updates (docs/protocol.md §4.2-4.3): the C model of an xmtp.identity.
 * associations.IdentityUpdate, its builder, the exact text every signature covers, signing
 * by wallet and by installation key, and protobuf encoding/decoding.
 *
 * Building: xmtp_idu_new(), then one call per action naming who must sign it, then
 * signatures (xmtp_idu_sign_wallet, xmtp_idu_sign_installation or xmtp_idu_add_ecdsa for a
 * signature made elsewhere over xmtp_idu_signature_text()); each signature fills every slot
 * whose expected signer made it. xmtp_idu_missing_signers() tells what is still needed.
 *
 * Ownership: an xmtp_idu owns its actions; xmtp_idu_free() frees them. Not thread-safe.
 */
#ifndef XMTP_IDENTITY_UPDATE_H
#define XMTP_IDENTITY_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "xmtp/inbox.h"
#include "xmtp/installation.h"
#include "xmtp/wallet.h"

#define XMTP_IDU_MAX_ACTIONS 256     /* per update; libxmtp revokes one installation per action */
#define XMTP_IDU_MAX_BYTES (1 << 20) /* largest encoded update we decode */
#define XMTP_MEMBER_ID_MAX 65        /* longest identifier bytes (an uncompressed P-256 key) */

typedef enum {
    XMTP_MEMBER_NONE = 0,
    XMTP_MEMBER_ETHEREUM = 1,     /* bytes: the 20-byte address */
    XMTP_MEMBER_INSTALLATION = 2, /* bytes: the 32-byte Ed25519 public key */
    XMTP_MEMBER_PASSKEY = 3,      /* bytes: the P-256 public key (decoded, never accepted) */
} xmtp_member_kind;

typedef struct {
    xmtp_member_kind kind;
    uint8_t len;
    uint8_t bytes[XMTP_MEMBER_ID_MAX];
} xmtp_member_id;

typedef enum {
    XMTP_SIG_NONE = 0, /* slot not signed yet */
    XMTP_SIG_ERC191 = 1,
    XMTP_SIG_ERC6492 = 2, /* smart-contract wallet: decoded, refused (needs chain access) */
    XMTP_SIG_INSTALLATION = 3,
    XMTP_SIG_LEGACY_DELEGATED = 4, /* XMTP V2 migration: decoded, refused */
    XMTP_SIG_PASSKEY = 5,          /* decoded, refused */
} xmtp_sig_kind;

typedef struct {
    xmtp_sig_kind kind;
    uint8_t len;         /* bytes used in sig */
    uint8_t sig[65];     /* ERC-191: r s v; installation: R S */
    uint8_t pub[32];     /* installation: the signing public key */
    uint64_t chain_id;   /* ERC-6492 only (from the CAIP-10 account id), for messages */
    char account[64];    /* ERC-6492 only: the account address text, for messages */
    xmtp_member_id want; /* builder only: who must sign this slot (never encoded) */
} xmtp_signature;

typedef enum {
    XMTP_ACTION_CREATE_INBOX = 1,
    XMTP_ACTION_ADD = 2,
    XMTP_ACTION_REVOKE = 3,
    XMTP_ACTION_CHANGE_RECOVERY = 4,
} xmtp_action_kind;

typedef struct {
    xmtp_action_kind kind;
    /* create: the initial identifier; add: the new member; revoke: the member to revoke;
     * change recovery: the new recovery identifier */
    xmtp_member_id member;
    uint64_t nonce; /* create only */
    /* create: initial identifier's signature; add: existing member's; revoke and change
     * recovery: the recovery identifier's */
    xmtp_signature sig;
    xmtp_signature new_member_sig; /* add only */
} xmtp_action;

typedef struct {
    char inbox_id[XMTP_INBOX_ID_STRLEN + 1];
    uint64_t client_timestamp_ns;
    size_t n_actions;
    xmtp_action *actions;
} xmtp_idu;

/* Member identifiers. */
void xmtp_member_eth(xmtp_member_id *m, const uint8_t addr[XMTP_ADDRESS_LEN]);
void xmtp_member_installation(xmtp_member_id *m, const uint8_t pk[XMTP_ED25519_PK_LEN]);
int xmtp_member_equal(const xmtp_member_id *a, const xmtp_member_id *b);
/* The identifier as the signature text shows it: "0x…" lowercase for addresses, hex otherwise.
 * out must hold 2 * XMTP_MEMBER_ID_MAX + 3 bytes. */
void xmtp_member_text(const xmtp_member_id *m, char *out);
const char *xmtp_member_kind_name(xmtp_member_kind k);
const char *xmtp_sig_kind_name(xmtp_sig_kind k);

/* A new, empty update for inbox_id (64 lowercase hex) at client_timestamp_ns. */
int xmtp_idu_new(const char *inbox_id, uint64_t client_timestamp_ns, xmtp_idu **out, xw_errbuf *eb);
void xmtp_idu_free(xmtp_idu *u);

/* Actions. `signer` is who must sign the action's (existing member / recovery) slot. */
int xmtp_idu_create_inbox(xmtp_idu *u, const uint8_t addr[XMTP_ADDRESS_LEN], uint64_t nonce, xw_errbuf *eb);
int xmtp_idu_add_association(xmtp_idu *u, const xmtp_member_id *new_member, const xmtp_member_id *signer,
                             xw_errbuf *eb);
int xmtp_idu_revoke(xmtp_idu *u, const xmtp_member_id *member, const xmtp_member_id *recovery, xw_errbuf *eb);
int xmtp_idu_change_recovery(xmtp_idu *u, const uint8_t new_addr[XMTP_ADDRESS_LEN],
                             const xmtp_member_id *recovery, xw_errbuf *eb);

/* The exact text all signatures of the update cover (§4.3), appended to out (no NUL). */
int xmtp_idu_signature_text(const xmtp_idu *u, xw_buf *out);

/* Sign every open slot this wallet/installation is expected to sign. XW_ENOTFOUND when none. */
int xmtp_idu_sign_wallet(xmtp_idu *u, const xmtp_wallet *w, xw_errbuf *eb);
int xmtp_idu_sign_installation(xmtp_idu *u, const xmtp_installation_key *k, xw_errbuf *eb);
/* Adds an EIP-191 signature made elsewhere over the signature text: the recovered address
 * decides which slots it fills. XW_EXMTP_SIGNER when it fills none. */
int xmtp_idu_add_ecdsa(xmtp_idu *u, const uint8_t *sig, size_t len, xw_errbuf *eb);
/* Number of unsigned slots; the first one's expected signer goes to *first when not NULL. */
size_t xmtp_idu_missing_signers(const xmtp_idu *u, xmtp_member_id *first);

/* Protobuf (xmtp.identity.associations.IdentityUpdate). Encoding needs every slot signed.
 * Decoding checks sizes, shapes and identifier syntax but no signature (that is the
 * association state's job); XW_EMALFORMED/XW_ETOOBIG/XW_EXMTP_INBOX with the reason. */
int xmtp_idu_encode(const xmtp_idu *u, xw_buf *out, xw_errbuf *eb);
int xmtp_idu_decode(const uint8_t *data, size_t len, xmtp_idu **out, xw_errbuf *eb);

#endif
