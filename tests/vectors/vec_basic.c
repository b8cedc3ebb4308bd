/*
 * Vector kinds tree-math, crypto-basics and deserialization.
 */
#include <string.h>

#include "common/alloc.h"
#include "mls/tls.h"
#include "mls/treemath.h"
#include "tests/vectors/vectors.h"

static int check_array(vt_case *c, json_t *e, const char *key, uint32_t n_nodes,
                       uint32_t (*fn)(uint32_t, uint32_t), uint32_t n_leaves, int needs_n)
{
    json_t *a = json_object_get(e, key);
    if (!json_is_array(a) || json_array_size(a) != n_nodes)
        return vt_fail(c, "\"%s\" is not an array of n_nodes = %u entries", key, n_nodes);
    for (uint32_t i = 0; i < n_nodes; i++) {
        json_t *v = json_array_get(a, i);
        uint32_t want = json_is_null(v) ? MLS_NODE_NONE : (uint32_t)json_integer_value(v);
        uint32_t got = fn(i, n_leaves);
        (void)needs_n;
        if (got != want)
            return vt_fail(c, "%s(%u) with %u leaves: got %d, want %d", key, i, n_leaves,
                           got == MLS_NODE_NONE ? -1 : (int)got, want == MLS_NODE_NONE ? -1 : (int)want);
    }
    return VT_PASS;
}

static uint32_t left2(uint32_t x, uint32_t n)
{
    (void)n;
    return mls_tree_left(x);
}
static uint32_t right2(uint32_t x, uint32_t n)
{
    (void)n;
    return mls_tree_right(x);
}

int vt_tree_math(vt_case *c, json_t *e)
{
    uint64_t n_leaves, n_nodes, root;
    if (vt_uint(c, e, "n_leaves", &n_leaves) || vt_uint(c, e, "n_nodes", &n_nodes) ||
        vt_uint(c, e, "root", &root))
        return VT_FAIL;
    if (n_leaves == 0 || n_leaves > (1u << 20))
        return vt_fail(c, "n_leaves %llu is out of the tested range", (unsigned long long)n_leaves);
    uint32_t n = (uint32_t)n_leaves;
    if (mls_tree_width(n) != n_nodes)
        return vt_fail(c, "node count: got %u, want %llu", mls_tree_width(n), (unsigned long long)n_nodes);
    if (mls_tree_root(n) != root)
        return vt_fail(c, "root: got %u, want %llu", mls_tree_root(n), (unsigned long long)root);
    if (check_array(c, e, "left", (uint32_t)n_nodes, left2, n, 0) ||
        check_array(c, e, "right", (uint32_t)n_nodes, right2, n, 0) ||
        check_array(c, e, "parent", (uint32_t)n_nodes, mls_tree_parent, n, 1) ||
        check_array(c, e, "sibling", (uint32_t)n_nodes, mls_tree_sibling, n, 1))
        return VT_FAIL;
    return VT_PASS;
}

int vt_deserialization(vt_case *c, json_t *e)
{
    xw_buf h;
    uint64_t len;
    xw_buf_init(&h, 16);
    if (vt_hex(c, e, "vlbytes_header", &h) || vt_uint(c, e, "length", &len)) {
        xw_buf_free(&h);
        return VT_FAIL;
    }
    xw_errbuf eb = {{0}};
    mls_reader r;
    mls_reader_init(&r, h.data, h.len, &eb);
    uint32_t v = mls_read_varint(&r);
    mls_reader_finish(&r, "varint");
    int rc = VT_PASS;
    if (r.err)
        rc = vt_fail(c, "header does not decode: %s", eb.msg);
    else if (v != len)
        rc = vt_fail(c, "decoded %u, want %llu", v, (unsigned long long)len);
    else {
        /* and it re-encodes to the same header */
        xw_buf o;
        xw_buf_init(&o, 16);
        mls_writer w;
        mls_writer_init(&w, &o);
        mls_write_varint(&w, v);
        if (w.err || o.len != h.len || memcmp(o.data, h.data, h.len) != 0)
            rc = vt_fail(c, "re-encoding %u does not give the same header", v);
        xw_buf_free(&o);
    }
    xw_buf_free(&h);
    return rc;
}

#define NB 6
int vt_crypto_basics(vt_case *c, json_t *e)
{
    const mls_suite *s;
    int rc = vt_suite(c, e, &s);
    if (rc != VT_PASS)
        return rc;
    xw_buf b[NB];
    for (int i = 0; i < NB; i++)
        xw_buf_init(&b[i], VT_MAX_BUF);
    uint8_t out[512];
    uint64_t len, gen;
    json_t *o;
    rc = VT_FAIL;

    o = json_object_get(e, "ref_hash");
    if (!o || vt_hex(c, o, "value", &b[0]))
        goto done;
    {
        const char *label = json_string_value(json_object_get(o, "label"));
        if (!label || mls_ref_hash(s, label, strlen(label), b[0].data, b[0].len, out) ||
            vt_expect(c, o, "out", out, s->nh))
            goto done;
    }

    o = json_object_get(e, "expand_with_label");
    if (!o || vt_hex(c, o, "secret", &b[0]) || vt_hex(c, o, "context", &b[1]) ||
        vt_uint(c, o, "length", &len))
        goto done;
    {
        const char *label = json_string_value(json_object_get(o, "label"));
        if (!label || b[0].len != s->nh || len > sizeof out)
            goto bad_input;
        if (mls_expand_with_label(s, b[0].data, label, strlen(label), b[1].data, b[1].len, out, len) ||
            vt_expect(c, o, "out", out, len))
            goto done;
    }

    o = json_object_get(e, "derive_secret");
    if (!o || vt_hex(c, o, "secret", &b[0]))
        goto done;
    {
        const char *label = json_string_value(json_object_get(o, "label"));
        if (!label || b[0].len != s->nh)
            goto bad_input;
        if (mls_derive_secret(s, b[0].data, label, out) || vt_expect(c, o, "out", out, s->nh))
            goto done;
    }

    o = json_object_get(e, "derive_tree_secret");
    if (!o || vt_hex(c, o, "secret", &b[0]) || vt_uint(c, o, "generation", &gen) ||
        vt_uint(c, o, "length", &len))
        goto done;
    {
        const char *label = json_string_value(json_object_get(o, "label"));
        if (!label || b[0].len != s->nh || len > sizeof out || gen > UINT32_MAX)
            goto bad_input;
        if (mls_derive_tree_secret(s, b[0].data, label, (uint32_t)gen, out, len) ||
            vt_expect(c, o, "out", out, len))
            goto done;
    }

    o = json_object_get(e, "sign_with_label");
    if (!o || vt_hex(c, o, "priv", &b[0]) || vt_hex(c, o, "pub", &b[1]) || vt_hex(c, o, "content", &b[2]) ||
        vt_hex(c, o, "signature", &b[3]))
        goto done;
    {
        const char *label = json_string_value(json_object_get(o, "label"));
        xw_errbuf eb = {{0}};
        mls_sig_priv k;
        if (!label)
            goto bad_input;
        if (mls_verify_with_label(s, b[1].data, b[1].len, label, b[2].data, b[2].len, b[3].data, b[3].len,
                                  &eb)) {
            vt_fail(c, "sign_with_label: the given signature does not verify: %s", eb.msg);
            goto done;
        }
        if (mls_sig_priv_from_seed(s, b[0].data, b[0].len, &k, &eb)) {
            vt_fail(c, "sign_with_label: %s", eb.msg);
            goto done;
        }
        int bad = k.pub_len != b[1].len || memcmp(k.pub, b[1].data, b[1].len) != 0;
        int src = bad ? 0 : mls_sign_with_label(s, &k, label, b[2].data, b[2].len, out, &eb);
        mls_sig_priv_wipe(&k);
        if (bad) {
            vt_fail(c, "sign_with_label: the public key of priv is not pub");
            goto done;
        }
        if (src || vt_expect(c, o, "signature", out, s->sig_len))
            goto done;
        if (mls_verify_with_label(s, b[1].data, b[1].len, label, b[2].data, b[2].len, out, s->sig_len, &eb)) {
            vt_fail(c, "sign_with_label: our own signature does not verify: %s", eb.msg);
            goto done;
        }
        /* a different label must not verify */
        if (mls_verify_with_label(s, b[1].data, b[1].len, "other", b[2].data, b[2].len, out, s->sig_len,
                                  NULL) != XW_EBADSIG) {
            vt_fail(c, "sign_with_label: the signature verifies under another label");
            goto done;
        }
    }

    o = json_object_get(e, "encrypt_with_label");
    if (!o || vt_hex(c, o, "priv", &b[0]) || vt_hex(c, o, "pub", &b[1]) || vt_hex(c, o, "context", &b[2]) ||
        vt_hex(c, o, "plaintext", &b[3]) || vt_hex(c, o, "kem_output", &b[4]) ||
        vt_hex(c, o, "ciphertext", &b[5]))
        goto done;
    {
        const char *label = json_string_value(json_object_get(o, "label"));
        xw_errbuf eb = {{0}};
        xw_buf pt, kem, ct;
        xw_buf_init(&pt, VT_MAX_BUF);
        xw_buf_init(&kem, VT_MAX_BUF);
        xw_buf_init(&ct, VT_MAX_BUF);
        int ok = 0;
        if (!label) {
            vt_fail(c, "encrypt_with_label: label missing");
        } else if (mls_decrypt_with_label(s, b[0].data, b[0].len, NULL, label, b[2].data, b[2].len, b[4].data,
                                          b[4].len, b[5].data, b[5].len, &pt, &eb)) {
            vt_fail(c, "encrypt_with_label: the given ciphertext does not decrypt: %s", eb.msg);
        } else if (vt_expect(c, o, "plaintext", pt.data, pt.len) == 0) {
            if (mls_encrypt_with_label(s, b[1].data, b[1].len, label, b[2].data, b[2].len, b[3].data,
                                       b[3].len, &kem, &ct, &eb) ||
                mls_decrypt_with_label(s, b[0].data, b[0].len, b[1].data, label, b[2].data, b[2].len,
                                       kem.data, kem.len, ct.data, ct.len, &pt, &eb))
                vt_fail(c, "encrypt_with_label: our own round trip fails: %s", eb.msg);
            else if (pt.len != b[3].len || memcmp(pt.data, b[3].data, pt.len) != 0)
                vt_fail(c, "encrypt_with_label: our own round trip gives another plaintext");
            else if (ct.len &&
                     (ct.data[0] ^= 1,
                      mls_decrypt_with_label(s, b[0].data, b[0].len, NULL, label, b[2].data, b[2].len,
                                             kem.data, kem.len, ct.data, ct.len, &pt, NULL) != XW_EDECRYPT))
                vt_fail(c, "encrypt_with_label: a tampered ciphertext decrypts");
            else
                ok = 1;
        }
        xw_buf_free(&pt);
        xw_buf_free(&kem);
        xw_buf_free(&ct);
        if (!ok)
            goto done;
    }
    rc = VT_PASS;
    goto done;
bad_input:
    vt_fail(c, "a field has the wrong size or type for this suite");
done:
    for (int i = 0; i < NB; i++)
        xw_buf_free(&b[i]);
    if (rc == VT_FAIL && !c->failed)
        vt_fail(c, "a sub-object or field is missing");
    return rc;
}
