/*
 * Constant-time validation of ML-KEM-768 with valgrind's memcheck ("ctgrind"): every secret
 * input is marked undefined, so memcheck reports each conditional jump or memory address that
 * depends on a secret. Run with `make pq-ctgrind` (needs valgrind, which is not a project
 * dependency; the target says so when it is missing).
 *
 * Checked: KeyGen_internal with secret d and z (rho is declassified inside, as it is public);
 * Encaps_internal with a secret m; Decaps with secret s and z on a valid ciphertext and on
 * forged ones (the implicit-rejection path), which covers the re-encryption comparison.
 * Outputs are declassified before the program looks at them.
 */
#include <stdio.h>
#include <string.h>
#include <valgrind/memcheck.h>

#include "common/err.h"
#include "mls/mlkem.h"
#include "mls/pq_hash.h"

#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))

int main(void)
{
    static uint8_t ek[MLS_MLKEM768_EK_LEN], dk[MLS_MLKEM768_DK_LEN], ct[MLS_MLKEM768_CT_LEN];
    uint8_t d[32], z[32], m[32], k1[32], k2[32];
    int passed = 0, failed = 0;
    for (int round = 0; round < 3; round++) {
        if (mls_pq_random(d, 32) || mls_pq_random(z, 32) || mls_pq_random(m, 32))
            return 1;
        SECRET(d, 32);
        SECRET(z, 32);
        int rc = mls_mlkem768_keygen_derand(d, z, ek, dk);
        PUBLIC(&rc, sizeof rc);
        PUBLIC(ek, sizeof ek);
        PUBLIC(dk + 1152, 1184 + 32); /* the embedded ek and its hash are public */
        SECRET(m, 32);
        int rc2 = mls_mlkem768_encaps_derand(ek, sizeof ek, m, ct, k1, NULL);
        PUBLIC(&rc2, sizeof rc2);
        PUBLIC(ct, sizeof ct);
        PUBLIC(k1, 32);
        int rc3 = mls_mlkem768_decaps(dk, sizeof dk, ct, sizeof ct, k2, NULL);
        PUBLIC(&rc3, sizeof rc3);
        PUBLIC(k2, 32);
        if (rc || rc2 || rc3 || memcmp(k1, k2, 32)) {
            printf("round %d: valid ciphertext: wrong result\n", round);
            failed++;
        } else {
            passed++;
        }
        ct[round * 100] ^= 1; /* forged: the rejection key comes out, with the same timing */
        rc3 = mls_mlkem768_decaps(dk, sizeof dk, ct, sizeof ct, k2, NULL);
        PUBLIC(&rc3, sizeof rc3);
        PUBLIC(k2, 32);
        if (rc3 || !memcmp(k1, k2, 32)) {
            printf("round %d: forged ciphertext: wrong result\n", round);
            failed++;
        } else {
            passed++;
        }
        PUBLIC(dk, sizeof dk);
    }
    printf("%d passed, %d failed (memcheck reports, if any, are above)\n", passed, failed);
    return failed != 0;
}
