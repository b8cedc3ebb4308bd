/*
 * ML-KEM-768 (FIPS 203): K-PKE and the KEM on top of the polynomial layer in mlkem_poly.c.
 *
 * How it is put together: a public key in use is held expanded (the matrix Â, the vector t̂
 * and rho) so that X-Wing's decapsulation from a seed generates the matrix once and uses it
 * both for key generation and for the re-encryption that implicit rejection needs. The
 * matrix is sampled from SHAKE128 output, three blocks at first and then one block at a time
 * for the rare entry that needs more (the CCTV "unlucky" key needs 582 bytes). The matrix is
 * public, so the number of blocks leaks nothing.
 *
 * Secrets (s, e, y, e1, e2, m, r, K, the decrypted message) live on the stack and are wiped
 * before return. Decapsulation always computes both the real and the rejection key and picks
 * one with a mask derived from an OR over the whole ciphertext difference.
 */
#include "mls/mlkem.h"

#include <string.h>

#include "common/alloc.h"
#include "mls/mlkem_int.h"
#include "mls/mlkem_poly.h"

/* Constant-time validation (make pq-ctgrind): secrets are marked undefined for valgrind's
 * memcheck, which then reports any branch or address that depends on them. Values that are
 * derived from secrets but public by design (rho, the matrix seed) are declassified here. */
#ifdef XW_CTGRIND
#include <valgrind/memcheck.h>
#define PQ_DECLASSIFY(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#else
#define PQ_DECLASSIFY(p, n) ((void)0)
#endif

#define K MLKEM_K
#define POLYBYTES 384
#define PKE_SK_LEN (K * POLYBYTES)               /* 1152 */
#define CT_U_LEN (K * 320)                       /* 960 */
#define H_OFF (PKE_SK_LEN + MLS_MLKEM768_EK_LEN) /* 2336: H(ek) in dk */
#define Z_OFF (H_OFF + 32)                       /* 2368: z in dk */
#define XOF_BLOCK 168

typedef struct {
    mlkem_polyvec a[K]; /* a[i].p[j] = Â[i, j] */
    mlkem_polyvec t;    /* t̂, reduced */
    uint8_t rho[32];
} pke_pub;

/* One entry of Â from SHAKE128(seed): three blocks, then one block at a time until 256
 * coefficients are in (public data: the number of blocks leaks nothing). */
static int sample_entry(mls_pq_hash *h, const uint8_t seed[34], mlkem_poly *f)
{
    uint8_t buf[3 * XOF_BLOCK];
    int rc = mls_pq_hash_begin(h, MLS_PQ_SHAKE128);
    if (rc == XW_OK)
        rc = mls_pq_hash_absorb(h, seed, 34);
    if (rc == XW_OK)
        rc = mls_pq_hash_squeeze(h, buf, sizeof buf);
    size_t got = rc == XW_OK ? mlkem_sample_ntt(f, 0, buf, sizeof buf) : 0;
    while (rc == XW_OK && got < MLKEM_N) {
        rc = mls_pq_hash_squeeze(h, buf, XOF_BLOCK);
        got = mlkem_sample_ntt(f, got, buf, XOF_BLOCK);
    }
    return rc;
}

/* Â[i, j] = SampleNTT(rho || j || i) (FIPS 203 Algorithm 13, line 6). Four entries at a time
 * come from four SHAKE128s side by side, three blocks each, which suffice in all but about 1
 * case in 2^40; such an entry, and the ninth, are sampled alone. */
static int gen_matrix(mls_pq_hash *h, pke_pub *pk)
{
    uint8_t seeds[4][34], bufs[4][3 * XOF_BLOCK];
    const uint8_t *in[4] = {seeds[0], seeds[1], seeds[2], seeds[3]};
    uint8_t *const out[4] = {bufs[0], bufs[1], bufs[2], bufs[3]};
    for (int b = 0; b < 4; b++)
        memcpy(seeds[b], pk->rho, 32);
    int rc = XW_OK;
    for (int e = 0; e + 4 <= K * K && rc == XW_OK; e += 4) {
        for (int b = 0; b < 4; b++) {
            seeds[b][32] = (uint8_t)((e + b) % K); /* j */
            seeds[b][33] = (uint8_t)((e + b) / K); /* i */
        }
        rc = mls_pq_shake_x4(MLS_PQ_SHAKE128, in, 34, out, 3 * XOF_BLOCK);
        for (int b = 0; b < 4 && rc == XW_OK; b++) {
            mlkem_poly *f = &pk->a[(e + b) / K].p[(e + b) % K];
            if (mlkem_sample_ntt(f, 0, bufs[b], 3 * XOF_BLOCK) < MLKEM_N)
                rc = sample_entry(h, seeds[b], f);
        }
    }
    for (int e = K * K / 4 * 4; e < K * K && rc == XW_OK; e++) {
        seeds[0][32] = (uint8_t)(e % K);
        seeds[0][33] = (uint8_t)(e / K);
        rc = sample_entry(h, seeds[0], &pk->a[e / K].p[e % K]);
    }
    return rc;
}

/* PRF_2(seed, n_b) = SHAKE256(seed || n_b, 128) then SamplePolyCBD_2, for count (1..4)
 * polynomials f[b] with nonces n0 + b, in one four-way SHAKE256 (unused lanes repeat the last
 * nonce and are dropped). */
static int sample_cbd_x4(const uint8_t seed[32], uint8_t n0, int count, mlkem_poly *const f[4])
{
    uint8_t in[4][33], buf[4][128];
    const uint8_t *ip[4] = {in[0], in[1], in[2], in[3]};
    uint8_t *const op[4] = {buf[0], buf[1], buf[2], buf[3]};
    for (int b = 0; b < 4; b++) {
        memcpy(in[b], seed, 32);
        in[b][32] = (uint8_t)(n0 + (b < count ? b : count - 1));
    }
    int rc = mls_pq_shake_x4(MLS_PQ_SHAKE256, ip, 33, op, 128);
    for (int b = 0; b < count && rc == XW_OK; b++)
        mlkem_cbd2(f[b], buf[b]);
    explicit_bzero(in, sizeof in);
    explicit_bzero(buf, sizeof buf);
    return rc;
}

/* K-PKE.KeyGen(d) (Algorithm 13): fills pk (with the matrix), s_hat (small) and ek. */
static int pke_keygen(mls_pq_hash *h, const uint8_t d[32], pke_pub *pk, mlkem_polyvec *s_hat,
                      uint8_t ek[MLS_MLKEM768_EK_LEN])
{
    uint8_t g[64]; /* rho || sigma */
    const uint8_t kbyte = K;
    mlkem_polyvec e;
    int rc = mls_pq_hash_run(h, MLS_PQ_SHA3_512, d, 32, &kbyte, 1, g, sizeof g);
    if (rc == XW_OK) {
        memcpy(pk->rho, g, 32);
        PQ_DECLASSIFY(pk->rho, 32); /* rho is published in ek */
        rc = gen_matrix(h, pk);
    }
    if (rc == XW_OK) { /* s (nonces 0..2) and e (3..5) */
        mlkem_poly *const f0[4] = {&s_hat->p[0], &s_hat->p[1], &s_hat->p[2], &e.p[0]};
        mlkem_poly *const f1[4] = {&e.p[1], &e.p[2], &e.p[2], &e.p[2]};
        rc = sample_cbd_x4(g + 32, 0, 4, f0);
        if (rc == XW_OK)
            rc = sample_cbd_x4(g + 32, 4, 2, f1);
    }
    if (rc == XW_OK) {
        for (int i = 0; i < K; i++) {
            mlkem_ntt(&s_hat->p[i]);
            mlkem_ntt(&e.p[i]);
        }
        for (int i = 0; i < K; i++) {
            const mlkem_poly *row[K], *s[K];
            for (int j = 0; j < K; j++) {
                row[j] = &pk->a[i].p[j];
                s[j] = &s_hat->p[j];
            }
            mlkem_poly *t = &pk->t.p[i];
            mlkem_basemul_acc(t, row, s);
            mlkem_tomont(t);
            mlkem_add(t, &e.p[i]);
            mlkem_reduce(t);
            mlkem_to_unsigned(t);
            mlkem_encode12(ek + i * POLYBYTES, t);
        }
        memcpy(ek + PKE_SK_LEN, pk->rho, 32);
    }
    explicit_bzero(g, sizeof g);
    explicit_bzero(&e, sizeof e);
    return rc;
}

/* K-PKE.Encrypt(ek, m, r) (Algorithm 14) with the expanded key. */
static int pke_encrypt(mls_pq_hash *h, const pke_pub *pk, const uint8_t m[32], const uint8_t r[32],
                       uint8_t ct[MLS_MLKEM768_CT_LEN])
{
    mlkem_polyvec y, e1;
    mlkem_poly e2, mu, w;
    (void)h;
    /* y (nonces 0..2), e1 (3..5), e2 (6) */
    mlkem_poly *const f0[4] = {&y.p[0], &y.p[1], &y.p[2], &e1.p[0]};
    mlkem_poly *const f1[4] = {&e1.p[1], &e1.p[2], &e2, &e2};
    int rc = sample_cbd_x4(r, 0, 4, f0);
    if (rc == XW_OK)
        rc = sample_cbd_x4(r, 4, 3, f1);
    if (rc == XW_OK) {
        const mlkem_poly *yv[K], *col[K], *tv[K];
        for (int i = 0; i < K; i++) {
            mlkem_ntt(&y.p[i]);
            yv[i] = &y.p[i];
            tv[i] = &pk->t.p[i];
        }
        for (int i = 0; i < K; i++) { /* u = NTT^-1(Â^T ∘ ŷ) + e1 */
            for (int j = 0; j < K; j++)
                col[j] = &pk->a[j].p[i];
            mlkem_basemul_acc(&w, col, yv);
            mlkem_invntt(&w);
            mlkem_add(&w, &e1.p[i]);
            mlkem_reduce(&w);
            mlkem_to_unsigned(&w);
            mlkem_compress10(ct + i * 320, &w);
        }
        mlkem_basemul_acc(&w, tv, yv); /* v = NTT^-1(t̂^T ∘ ŷ) + e2 + mu */
        mlkem_invntt(&w);
        mlkem_add(&w, &e2);
        mlkem_from_msg(&mu, m);
        mlkem_add(&w, &mu);
        mlkem_reduce(&w);
        mlkem_to_unsigned(&w);
        mlkem_compress4(ct + CT_U_LEN, &w);
    }
    explicit_bzero(&y, sizeof y);
    explicit_bzero(&e1, sizeof e1);
    explicit_bzero(&e2, sizeof e2);
    explicit_bzero(&mu, sizeof mu);
    explicit_bzero(&w, sizeof w);
    return rc;
}

/* K-PKE.Decrypt(dk, c) (Algorithm 15) with s_hat decoded. */
static void pke_decrypt(const mlkem_polyvec *s_hat, const uint8_t ct[MLS_MLKEM768_CT_LEN], uint8_t m[32])
{
    mlkem_polyvec u;
    mlkem_poly v, w;
    const mlkem_poly *sv[K], *uv[K];
    for (int i = 0; i < K; i++) {
        mlkem_decompress10(&u.p[i], ct + i * 320);
        mlkem_ntt(&u.p[i]);
        sv[i] = &s_hat->p[i];
        uv[i] = &u.p[i];
    }
    mlkem_basemul_acc(&w, sv, uv);
    mlkem_invntt(&w);
    mlkem_decompress4(&v, ct + CT_U_LEN);
    mlkem_sub(&v, &w);
    mlkem_reduce(&v);
    mlkem_to_unsigned(&v);
    mlkem_to_msg(m, &v);
    explicit_bzero(&v, sizeof v);
    explicit_bzero(&w, sizeof w);
}

/* Parses a checked ek into the expanded form (t̂ reduced, rho) and samples the matrix. */
static int pke_expand(mls_pq_hash *h, const uint8_t ek[MLS_MLKEM768_EK_LEN], pke_pub *pk)
{
    for (int i = 0; i < K; i++)
        (void)mlkem_decode12(&pk->t.p[i], ek + i * POLYBYTES);
    memcpy(pk->rho, ek + PKE_SK_LEN, 32);
    return gen_matrix(h, pk);
}

/* 0xff..ff when the n bytes differ anywhere, 0 when equal; no early exit. */
static uint8_t ct_differs(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= (uint8_t)(a[i] ^ b[i]);
    uint32_t x = acc;
    uint32_t mask = (uint32_t) - (int32_t)((x | (0u - x)) >> 31);
    __asm__("" : "+r"(mask)); /* keep the compiler from turning the select into a branch */
    return (uint8_t)mask;
}

/* ML-KEM.Decaps_internal (Algorithm 18) on expanded keys. */
static int decaps_core(mls_pq_hash *h, const mlkem_polyvec *s_hat, const pke_pub *pk, const uint8_t h_ek[32],
                       const uint8_t z[32], const uint8_t ct[MLS_MLKEM768_CT_LEN], uint8_t ss[32])
{
    uint8_t m[32], kr[64], kbar[32], ct2[MLS_MLKEM768_CT_LEN];
    pke_decrypt(s_hat, ct, m);
    int rc = mls_pq_hash_run(h, MLS_PQ_SHA3_512, m, 32, h_ek, 32, kr, sizeof kr);
    if (rc == XW_OK)
        rc = mls_pq_hash_run(h, MLS_PQ_SHAKE256, z, 32, ct, MLS_MLKEM768_CT_LEN, kbar, sizeof kbar);
    if (rc == XW_OK)
        rc = pke_encrypt(h, pk, m, kr + 32, ct2);
    if (rc == XW_OK) {
        uint8_t mask = ct_differs(ct, ct2, sizeof ct2);
        for (int i = 0; i < 32; i++)
            ss[i] = (uint8_t)(kr[i] ^ ((kr[i] ^ kbar[i]) & mask));
    }
    explicit_bzero(m, sizeof m);
    explicit_bzero(kr, sizeof kr);
    explicit_bzero(kbar, sizeof kbar);
    explicit_bzero(ct2, sizeof ct2);
    return rc;
}

/* A key pair held expanded: the public part with its matrix, s_hat, H(ek) and z. Only s_hat
 * and z are secret; they are wiped on free. */
struct mls_mlkem768_int_key {
    pke_pub pk;
    mlkem_polyvec s_hat;
    uint8_t ek[MLS_MLKEM768_EK_LEN];
    uint8_t h_ek[32];
    uint8_t z[32];
};

int16_t mls_mlkem768_int_zeta(int i) { return mlkem_zeta(i); }
int16_t mls_mlkem768_int_gamma(int i) { return mlkem_gamma(i); }

void mls_mlkem768_int_key_free(mls_mlkem768_int_key *k)
{
    if (!k)
        return;
    explicit_bzero(&k->s_hat, sizeof k->s_hat);
    explicit_bzero(k->z, sizeof k->z);
    xw_free(k);
}

int mls_mlkem768_int_key_from_seed(mls_pq_hash *h, const uint8_t d[32], const uint8_t z[32],
                                   mls_mlkem768_int_key **out)
{
    mls_mlkem768_int_key *k = xw_malloc(sizeof *k);
    if (!k)
        return XW_ENOMEM;
    int rc = pke_keygen(h, d, &k->pk, &k->s_hat, k->ek);
    if (rc == XW_OK)
        rc = mls_pq_hash_run(h, MLS_PQ_SHA3_256, k->ek, sizeof k->ek, NULL, 0, k->h_ek, 32);
    memcpy(k->z, z, 32);
    if (rc != XW_OK) {
        mls_mlkem768_int_key_free(k);
        return rc;
    }
    *out = k;
    return XW_OK;
}

const uint8_t *mls_mlkem768_int_key_ek(const mls_mlkem768_int_key *k) { return k->ek; }

int mls_mlkem768_int_key_decaps(mls_pq_hash *h, const mls_mlkem768_int_key *k,
                                const uint8_t ct[MLS_MLKEM768_CT_LEN], uint8_t ss[MLS_MLKEM768_SS_LEN])
{
    return decaps_core(h, &k->s_hat, &k->pk, k->h_ek, k->z, ct, ss);
}

int mls_mlkem768_int_encaps(mls_pq_hash *h, const uint8_t ek[MLS_MLKEM768_EK_LEN], const uint8_t m[32],
                            uint8_t ct[MLS_MLKEM768_CT_LEN], uint8_t ss[MLS_MLKEM768_SS_LEN])
{
    uint8_t kr[64], h_ek[32];
    struct {
        pke_pub pub;
        uint8_t ct[MLS_MLKEM768_CT_LEN];
    } *pk = xw_malloc(sizeof *pk); /* public: no wipe needed */
    if (!pk)
        return XW_ENOMEM;
    int rc = pke_expand(h, ek, &pk->pub);
    if (rc == XW_OK)
        rc = mls_pq_hash_run(h, MLS_PQ_SHA3_256, ek, MLS_MLKEM768_EK_LEN, NULL, 0, h_ek, 32);
    if (rc == XW_OK)
        rc = mls_pq_hash_run(h, MLS_PQ_SHA3_512, m, 32, h_ek, 32, kr, sizeof kr);
    if (rc == XW_OK)
        rc = pke_encrypt(h, &pk->pub, m, kr + 32, pk->ct); /* outputs only on success */
    if (rc == XW_OK) {
        memcpy(ct, pk->ct, MLS_MLKEM768_CT_LEN);
        memcpy(ss, kr, 32);
    }
    explicit_bzero(kr, sizeof kr);
    xw_free(pk);
    return rc;
}

int mls_mlkem768_keygen_derand(const uint8_t d[MLS_MLKEM768_SEED_LEN], const uint8_t z[MLS_MLKEM768_SEED_LEN],
                               uint8_t ek[MLS_MLKEM768_EK_LEN], uint8_t dk[MLS_MLKEM768_DK_LEN])
{
    mls_mlkem768_int_key *k = NULL;
    mls_pq_hash *h = mls_pq_hash_new();
    int rc = h ? mls_mlkem768_int_key_from_seed(h, d, z, &k) : XW_ENOMEM;
    if (rc == XW_OK) {
        for (int i = 0; i < K; i++) {
            mlkem_poly s = k->s_hat.p[i];
            mlkem_to_unsigned(&s);
            mlkem_encode12(dk + i * POLYBYTES, &s);
            explicit_bzero(&s, sizeof s);
        }
        memcpy(dk + PKE_SK_LEN, k->ek, MLS_MLKEM768_EK_LEN);
        memcpy(dk + H_OFF, k->h_ek, 32);
        memcpy(dk + Z_OFF, z, 32);
        memcpy(ek, k->ek, MLS_MLKEM768_EK_LEN);
    }
    mls_mlkem768_int_key_free(k);
    mls_pq_hash_free(h);
    return rc;
}

int mls_mlkem768_keygen_seed(const uint8_t *seed, size_t seed_len, uint8_t ek[MLS_MLKEM768_EK_LEN],
                             uint8_t dk[MLS_MLKEM768_DK_LEN], xw_errbuf *eb)
{
    if (!seed || seed_len != 64)
        return xw_errf(eb, XW_EBADKEY, "ML-KEM-768 seed is %zu bytes; it must be exactly 64 (d || z)",
                       seed ? seed_len : 0);
    int rc = mls_mlkem768_keygen_derand(seed, seed + 32, ek, dk);
    if (rc != XW_OK)
        return xw_errf(eb, rc, "ML-KEM-768 key generation failed: %s", xw_strerror(rc));
    return XW_OK;
}

int mls_mlkem768_keygen(uint8_t ek[MLS_MLKEM768_EK_LEN], uint8_t dk[MLS_MLKEM768_DK_LEN])
{
    uint8_t dz[64];
    int rc = mls_pq_random(dz, sizeof dz);
    if (rc == XW_OK)
        rc = mls_mlkem768_keygen_derand(dz, dz + 32, ek, dk);
    explicit_bzero(dz, sizeof dz);
    return rc;
}

int mls_mlkem768_ek_check(const uint8_t *ek, size_t ek_len, xw_errbuf *eb)
{
    if (!ek || ek_len != MLS_MLKEM768_EK_LEN)
        return xw_errf(
            eb, XW_EBADKEY,
            "ML-KEM-768 encapsulation key is %zu bytes; it must be exactly %d (FIPS 203 section 7.2)",
            ek ? ek_len : 0, MLS_MLKEM768_EK_LEN);
    for (int i = 0; i < K; i++) {
        mlkem_poly t;
        int bad = mlkem_decode12(&t, ek + i * POLYBYTES);
        if (bad >= 0) {
            const uint8_t *p = ek + i * POLYBYTES + 3 * (bad / 2);
            unsigned v =
                (bad & 1) ? (unsigned)(p[1] >> 4 | p[2] << 4) : (unsigned)(p[0] | (p[1] & 0x0f) << 8);
            return xw_errf(
                eb, XW_EBADKEY,
                "ML-KEM-768 encapsulation key is not reduced: coefficient %d of polynomial %d is %u, "
                "not below q = 3329 (FIPS 203 section 7.2); the key is corrupt or forged, refuse it",
                bad, i, v);
        }
    }
    return XW_OK;
}

int mls_mlkem768_dk_check(const uint8_t *dk, size_t dk_len, xw_errbuf *eb)
{
    if (!dk || dk_len != MLS_MLKEM768_DK_LEN)
        return xw_errf(
            eb, XW_EBADKEY,
            "ML-KEM-768 decapsulation key is %zu bytes; it must be exactly %d (FIPS 203 section 7.3)",
            dk ? dk_len : 0, MLS_MLKEM768_DK_LEN);
    uint8_t hv[32];
    mls_pq_hash *h = mls_pq_hash_new();
    if (!h)
        return xw_errf(eb, XW_ENOMEM, "out of memory while checking an ML-KEM-768 decapsulation key");
    int rc = mls_pq_hash_run(h, MLS_PQ_SHA3_256, dk + PKE_SK_LEN, MLS_MLKEM768_EK_LEN, NULL, 0, hv, 32);
    mls_pq_hash_free(h);
    if (rc != XW_OK)
        return xw_errf(eb, rc, "SHA3-256 failed while checking an ML-KEM-768 decapsulation key");
    if (memcmp(hv, dk + H_OFF, 32) != 0) /* both values are public */
        return xw_errf(
            eb, XW_EBADKEY,
            "ML-KEM-768 decapsulation key fails its hash check: SHA3-256 of the embedded encapsulation "
            "key differs from the stored hash (FIPS 203 section 7.3); the stored key is corrupt");
    return XW_OK;
}

int mls_mlkem768_encaps_derand(const uint8_t *ek, size_t ek_len, const uint8_t m[MLS_MLKEM768_SEED_LEN],
                               uint8_t ct[MLS_MLKEM768_CT_LEN], uint8_t ss[MLS_MLKEM768_SS_LEN],
                               xw_errbuf *eb)
{
    int rc = mls_mlkem768_ek_check(ek, ek_len, eb);
    if (rc != XW_OK)
        return rc;
    mls_pq_hash *h = mls_pq_hash_new();
    if (!h)
        return xw_errf(eb, XW_ENOMEM, "out of memory in ML-KEM-768 encapsulation");
    rc = mls_mlkem768_int_encaps(h, ek, m, ct, ss);
    mls_pq_hash_free(h);
    if (rc != XW_OK)
        return xw_errf(eb, rc, "ML-KEM-768 encapsulation failed: %s", xw_strerror(rc));
    return XW_OK;
}

int mls_mlkem768_encaps(const uint8_t *ek, size_t ek_len, uint8_t ct[MLS_MLKEM768_CT_LEN],
                        uint8_t ss[MLS_MLKEM768_SS_LEN], xw_errbuf *eb)
{
    uint8_t m[32];
    int rc = mls_pq_random(m, sizeof m);
    if (rc != XW_OK)
        return xw_errf(eb, rc, "the random generator (libsodium) could not start");
    rc = mls_mlkem768_encaps_derand(ek, ek_len, m, ct, ss, eb);
    explicit_bzero(m, sizeof m);
    return rc;
}

int mls_mlkem768_decaps(const uint8_t *dk, size_t dk_len, const uint8_t *ct, size_t ct_len,
                        uint8_t ss[MLS_MLKEM768_SS_LEN], xw_errbuf *eb)
{
    if (!ct || ct_len != MLS_MLKEM768_CT_LEN)
        return xw_errf(eb, XW_EMALFORMED, "ML-KEM-768 ciphertext is %zu bytes; it must be exactly %d",
                       ct ? ct_len : 0, MLS_MLKEM768_CT_LEN);
    int rc = mls_mlkem768_dk_check(dk, dk_len, eb);
    if (rc != XW_OK)
        return rc;
    mls_pq_hash *h = mls_pq_hash_new();
    mls_mlkem768_int_key *k = xw_malloc(sizeof *k);
    rc = h && k ? XW_OK : XW_ENOMEM;
    if (rc == XW_OK) {
        for (int i = 0; i < K; i++)
            (void)mlkem_decode12(&k->s_hat.p[i], dk + i * POLYBYTES); /* ByteDecode_12 is mod q */
        memcpy(k->z, dk + Z_OFF, 32);
        memcpy(k->h_ek, dk + H_OFF, 32);
        rc = pke_expand(h, dk + PKE_SK_LEN, &k->pk);
    }
    if (rc == XW_OK)
        rc = mls_mlkem768_int_key_decaps(h, k, ct, ss);
    mls_mlkem768_int_key_free(k);
    mls_pq_hash_free(h);
    if (rc != XW_OK)
        return xw_errf(eb, rc, "ML-KEM-768 decapsulation failed: %s", xw_strerror(rc));
    return XW_OK;
}
