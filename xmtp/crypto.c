/*
 * Process-wide crypto initialisation for xmtp/. libsodium needs sodium_init() once before
 * randombytes and some primitives; libsecp256k1 signing needs a context, created once and
 * randomised with 32 bytes from libsodium (blinding against side channels). Both are
 * immutable afterwards, so sharing them between threads needs no lock.
 */
#include "xmtp/crypto.h"

#include <pthread.h>
#include <sodium.h>

#include "common/alloc.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_rc = -1;
static secp256k1_context *secp;

static void init_once(void)
{
    if (sodium_init() < 0)
        return;
    secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!secp)
        return;
    unsigned char seed[32];
    randombytes_buf(seed, sizeof seed);
    int ok = secp256k1_context_randomize(secp, seed);
    xw_wipe(seed, sizeof seed);
    init_rc = ok ? 0 : -1;
}

int xmtp_crypto_init(void)
{
    pthread_once(&once, init_once);
    return init_rc;
}

const secp256k1_context *xmtp_secp_ctx(void) { return secp; }
