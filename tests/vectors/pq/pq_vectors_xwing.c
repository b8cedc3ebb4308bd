/*
 * X-Wing kinds of the post-quantum vector runner (see pq_vectors.c).
 *
 * xwing: a JSON array of vectors, or {"vectors": [...]}. Each has `sk` (or `seed`) and `pk`;
 * with `eseed`, also `ct` and `ss`. Checked: keygen_derand(sk) == pk, encaps_derand(pk, eseed)
 * == (ct, ss), decaps(sk, ct) == ss. When the intermediate values of
 * xwing-draft06-intermediate.json are present, the ML-KEM half is checked on its own too
 * (pk_M, dk_M, ct_M, ss_M from mlkem_d, mlkem_z, mlkem_m), which tells which half is wrong;
 * that file has no pk or ct, so they are put together as pk_M || pk_X and ct_M || ct_X.
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/err.h"
#include "mls/mlkem.h"
#include "mls/xwing.h"
#include "tests/vectors/pq/pq_vectors.h"

#define NF 16

typedef struct {
    xw_buf f[NF];
    char why[160];
    char msg[400];
    xw_errbuf eb;
} xfields;

static const char *field_names[NF] = {"sk",      "pk",      "eseed", "ct",   "ss",   "mlkem_d",
                                      "mlkem_z", "mlkem_m", "pk_M",  "dk_M", "ct_M", "ss_M",
                                      "pk_X",    "ct_X",    "seed",  NULL};
enum { F_SK, F_PK, F_ESEED, F_CT, F_SS, F_D, F_Z, F_M, F_PKM, F_DKM, F_CTM, F_SSM, F_PKX, F_CTX, F_SEED };

static const char *cmp(xfields *x, const char *what, const uint8_t *got, size_t n, const xw_buf *want)
{
    if (n == want->len && (n == 0 || memcmp(got, want->data, n) == 0))
        return NULL;
    snprintf(x->msg, sizeof x->msg, "%s differs: got %s (%zu bytes), want %s (%zu bytes)", what,
             pqv_show(got, n), n, want->len ? pqv_show(want->data, want->len) : "", want->len);
    return x->msg;
}

/* The ML-KEM half on its own, when the intermediate values are there. */
static const char *check_mlkem_half(xfields *x, const int *has)
{
    uint8_t ek[MLS_MLKEM768_EK_LEN], dk[MLS_MLKEM768_DK_LEN], ct[MLS_MLKEM768_CT_LEN], ss[32];
    const char *bad = NULL;
    if (!has[F_D] || !has[F_Z] || !has[F_PKM])
        return NULL;
    if (x->f[F_D].len != 32 || x->f[F_Z].len != 32)
        return "mlkem_d and mlkem_z must be 32 bytes";
    if (mls_mlkem768_keygen_derand(x->f[F_D].data, x->f[F_Z].data, ek, dk) != XW_OK)
        return "ML-KEM key generation failed";
    if ((bad = cmp(x, "pk_M", ek, sizeof ek, &x->f[F_PKM])))
        return bad;
    if (has[F_DKM] && (bad = cmp(x, "dk_M", dk, sizeof dk, &x->f[F_DKM])))
        return bad;
    if (has[F_M] && has[F_CTM] && has[F_SSM]) {
        if (x->f[F_M].len != 32)
            return "mlkem_m must be 32 bytes";
        if (mls_mlkem768_encaps_derand(ek, sizeof ek, x->f[F_M].data, ct, ss, &x->eb) != XW_OK)
            return x->eb.msg;
        if ((bad = cmp(x, "ct_M", ct, sizeof ct, &x->f[F_CTM])) ||
            (bad = cmp(x, "ss_M (encaps)", ss, 32, &x->f[F_SSM])))
            return bad;
        if (mls_mlkem768_decaps(dk, sizeof dk, ct, sizeof ct, ss, &x->eb) != XW_OK)
            return x->eb.msg;
        if ((bad = cmp(x, "ss_M (decaps)", ss, 32, &x->f[F_SSM])))
            return bad;
    }
    return NULL;
}

static const char *check_vector(json_t *v, xfields *x)
{
    int has[NF] = {0};
    for (int i = 0; field_names[i]; i++) {
        if (!pqv_has(v, field_names[i]))
            continue;
        if (pqv_hex(v, field_names[i], &x->f[i], x->why, sizeof x->why))
            return x->why;
        has[i] = 1;
    }
    /* the intermediate file gives the halves only */
    if (!has[F_PK] && has[F_PKM] && has[F_PKX]) {
        if (xw_buf_append(&x->f[F_PK], x->f[F_PKM].data, x->f[F_PKM].len) ||
            xw_buf_append(&x->f[F_PK], x->f[F_PKX].data, x->f[F_PKX].len))
            return "out of memory";
        has[F_PK] = 1;
    }
    if (!has[F_CT] && has[F_CTM] && has[F_CTX]) {
        if (xw_buf_append(&x->f[F_CT], x->f[F_CTM].data, x->f[F_CTM].len) ||
            xw_buf_append(&x->f[F_CT], x->f[F_CTX].data, x->f[F_CTX].len))
            return "out of memory";
        has[F_CT] = 1;
    }
    int sk_i = has[F_SK] ? F_SK : F_SEED;
    if (!has[sk_i] || !has[F_PK])
        return "a vector needs sk (or seed) and pk";
    if (has[F_SK] && has[F_SEED] && cmp(x, "seed", x->f[F_SEED].data, x->f[F_SEED].len, &x->f[F_SK]))
        return "seed and sk differ (X-Wing's private key is its seed)";
    const char *bad = check_mlkem_half(x, has);
    if (bad)
        return bad;
    if (has[F_PKM] && has[F_PKX] &&
        (x->f[F_PK].len != x->f[F_PKM].len + x->f[F_PKX].len ||
         memcmp(x->f[F_PK].data, x->f[F_PKM].data, x->f[F_PKM].len) ||
         memcmp(x->f[F_PK].data + x->f[F_PKM].len, x->f[F_PKX].data, x->f[F_PKX].len)))
        return "the file's pk is not pk_M || pk_X";
    if (x->f[sk_i].len != MLS_XWING_SK_LEN)
        return "sk must be 32 bytes";
    uint8_t pk[MLS_XWING_PK_LEN], ct[MLS_XWING_CT_LEN], ss[32];
    if (mls_xwing_keygen_derand(x->f[sk_i].data, pk, &x->eb) != XW_OK)
        return x->eb.msg;
    if ((bad = cmp(x, "pk", pk, sizeof pk, &x->f[F_PK])))
        return bad;
    if (!has[F_ESEED])
        return NULL;
    if (!has[F_CT] || !has[F_SS])
        return "a vector with eseed needs ct and ss";
    if (x->f[F_ESEED].len != MLS_XWING_ESEED_LEN)
        return "eseed must be 64 bytes";
    if (mls_xwing_encaps_derand(x->f[F_PK].data, x->f[F_PK].len, x->f[F_ESEED].data, ct, ss, &x->eb) != XW_OK)
        return x->eb.msg;
    if ((bad = cmp(x, "ct", ct, sizeof ct, &x->f[F_CT])) ||
        (bad = cmp(x, "ss (encaps)", ss, 32, &x->f[F_SS])))
        return bad;
    if (mls_xwing_decaps(x->f[sk_i].data, x->f[sk_i].len, x->f[F_CT].data, x->f[F_CT].len, ss, &x->eb) !=
        XW_OK)
        return x->eb.msg;
    return cmp(x, "ss (decaps)", ss, 32, &x->f[F_SS]);
}

int pqv_xwing(json_t *root, pqv_count *c)
{
    json_t *vs = pqv_vectors(root, "xwing");
    if (!vs)
        return -1;
    for (size_t i = 0; i < json_array_size(vs); i++) {
        xfields *x = xw_calloc(1, sizeof *x);
        if (!x)
            return -1;
        for (int k = 0; k < NF; k++)
            xw_buf_init(&x->f[k], 1u << 20);
        char id[32];
        snprintf(id, sizeof id, "vector %zu", i);
        pqv_verdict(c, id, check_vector(json_array_get(vs, i), x));
        for (int k = 0; k < NF; k++)
            xw_buf_free(&x->f[k]);
        xw_free(x);
    }
    return 0;
}
