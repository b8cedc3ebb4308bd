/*
 * libFuzzer target for the post-quantum decoders of untrusted bytes: X-Wing and ML-KEM-768
 * decapsulation (ciphertexts from the network, of any length), and the encapsulation-key
 * checks that run on a peer's key package key before encapsulating.
 *
 * Input: byte 0 picks the operation, the rest is its untrusted argument. Properties checked:
 * right-length ciphertexts always decapsulate (implicit rejection) except for a low-order
 * X25519 part; decapsulation is deterministic; wrong lengths are refused; a key that passes
 * the check can be encapsulated to, and one that fails is refused by encapsulation too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "mls/mlkem.h"
#include "mls/xwing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t dk[MLS_MLKEM768_DK_LEN], ek[MLS_MLKEM768_EK_LEN];
static uint8_t xsk[32] = {1, 2, 3};
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t d[32] = {9}, z[32] = {7}, m[32] = {5}, eseed[64] = {4};
    if (!ready) {
        if (mls_mlkem768_keygen_derand(d, z, ek, dk) != XW_OK)
            abort();
        ready = 1;
    }
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    uint8_t ss[32], ss2[32], ct[MLS_XWING_CT_LEN];
    switch (data[0] % 4) {
    case 0: { /* X-Wing decapsulation with a fixed key */
        int rc = mls_xwing_decaps(xsk, sizeof xsk, p, n, ss, NULL);
        if (n != MLS_XWING_CT_LEN ? rc != XW_EMALFORMED : (rc != XW_OK && rc != XW_EDECRYPT))
            abort();
        if (rc == XW_OK &&
            (mls_xwing_decaps(xsk, sizeof xsk, p, n, ss2, NULL) != XW_OK || memcmp(ss, ss2, 32)))
            abort();
        break;
    }
    case 1: { /* ML-KEM-768 decapsulation */
        int rc = mls_mlkem768_decaps(dk, sizeof dk, p, n, ss, NULL);
        if ((n == MLS_MLKEM768_CT_LEN) != (rc == XW_OK))
            abort();
        break;
    }
    case 2: { /* ML-KEM-768 encapsulation key check and encapsulation */
        int ok = mls_mlkem768_ek_check(p, n, NULL) == XW_OK;
        if ((mls_mlkem768_encaps_derand(p, n, m, ct, ss, NULL) == XW_OK) != ok)
            abort();
        break;
    }
    default: { /* X-Wing public key check and encapsulation */
        int ok = mls_xwing_pk_check(p, n, NULL) == XW_OK;
        int rc = mls_xwing_encaps_derand(p, n, eseed, ct, ss, NULL);
        if (!ok && rc == XW_OK)
            abort();
        if (ok && rc != XW_OK && rc != XW_EBADKEY) /* EBADKEY: low-order X25519 part */
            abort();
        break;
    }
    }
    return 0;
}
