/*
 * X-Wing as an HPKE KEM (RFC 9180 base mode through mls/hpke.h), the way libxmtp wraps
 * welcomes (hpke-rs 0.4 over libcrux-kem 0.0.4; see tests/vectors/data/pq/README.md):
 *
 *   Nsecret 32, Nenc 1120, Npk 1216, Nsk 32; the X-Wing shared secret is the HPKE shared_secret;
 *   DeriveKeyPair(ikm): sk = the first 32 bytes of SHAKE256(ikm), pk = X-Wing keygen(sk);
 *   Encap consumes 64 bytes of randomness (the X-Wing eseed).
 *
 * The same KEM is registered under two ids, because the id enters the HPKE key schedule
 * (suite_id) and libxmtp 1.9/1.10 uses 0x004D, the number hpke-rs 0.4 gave X-Wing, while
 * 0x647A is the draft's IANA code point that later releases may switch to. Senders must use
 * 0x004D; receivers try 0x004D first, then 0x647A (xmtp/welcome_wrap.c does this).
 */
#ifndef XW_MLS_XWING_HPKE_H
#define XW_MLS_XWING_HPKE_H

#include "common/err.h"

#define MLS_HPKE_KEM_XWING_LIBXMTP 0x004d
#define MLS_HPKE_KEM_XWING_DRAFT 0x647a

/* Registers both X-Wing KEM ids with mls/hpke. Idempotent and safe to call from several
 * threads (the first call does the work), but HPKE lookups on other threads must not run
 * concurrently with that first call: call it at start-up (the welcome wrapper calls it too). */
int mls_xwing_hpke_register(xw_errbuf *eb);

#endif
