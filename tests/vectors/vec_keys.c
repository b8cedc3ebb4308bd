/*
 * Vector kinds secret-tree, key-schedule and psk_secret.
 */
#include <stddef.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/key_schedule.h"
#include "mls/secret_tree.h"
#include "tests/vectors/vectors.h"

int vt_secret_tree(vt_case *c, json_t *e)
{
    const mls_suite *s;
    int rc = vt_suite(c, e, &s);
    if (rc != VT_PASS)
        return rc;
    xw_buf enc, sds, ct;
    xw_buf_init(&enc, VT_MAX_BUF);
    xw_buf_init(&sds, VT_MAX_BUF);
    xw_buf_init(&ct, VT_MAX_BUF);
    mls_secret_tree *st = NULL;
    json_t *sd = json_object_get(e, "sender_data");
    json_t *leaves = json_object_get(e, "leaves");
    rc = VT_FAIL;
    if (vt_hex(c, e, "encryption_secret", &enc) || !sd || vt_hex(c, sd, "sender_data_secret", &sds) ||
        vt_hex(c, sd, "ciphertext", &ct) || !json_is_array(leaves))
        goto done;
    if (enc.len != s->nh || sds.len != s->nh) {
        vt_fail(c, "secrets are not Nh = %zu bytes", s->nh);
        goto done;
    }
    /* (a) sender data key and nonce from the ciphertext sample */
    uint8_t key[MLS_MAX_AEAD_KEY], nonce[MLS_NONCE];
    size_t sample = ct.len < s->nh ? ct.len : s->nh;
    if (mls_expand_with_label(s, sds.data, "key", 3, ct.data, sample, key, s->nk) ||
        mls_expand_with_label(s, sds.data, "nonce", 5, ct.data, sample, nonce, s->nn) ||
        vt_expect(c, sd, "key", key, s->nk) || vt_expect(c, sd, "nonce", nonce, s->nn))
        goto done;
    /* (b) the ratchets of every leaf */
    xw_errbuf eb = {{0}};
    uint32_t n = (uint32_t)json_array_size(leaves);
    if (mls_secret_tree_new(s, enc.data, n, NULL, &st, &eb)) {
        vt_fail(c, "cannot build the secret tree: %s", eb.msg);
        goto done;
    }
    for (uint32_t i = 0; i < n; i++) {
        json_t *gens = json_array_get(leaves, i);
        for (size_t j = 0; j < json_array_size(gens); j++) {
            json_t *g = json_array_get(gens, j);
            uint64_t gen;
            if (vt_uint(c, g, "generation", &gen) || gen > UINT32_MAX)
                goto done;
            static const struct {
                mls_ratchet_type t;
                const char *k, *n;
            } types[2] = {{MLS_RATCHET_HANDSHAKE, "handshake_key", "handshake_nonce"},
                          {MLS_RATCHET_APPLICATION, "application_key", "application_nonce"}};
            for (int t = 0; t < 2; t++) {
                mls_ratchet_key k;
                if (mls_secret_tree_peek(st, i, types[t].t, (uint32_t)gen, &k, &eb) ||
                    mls_secret_tree_consume(st, i, types[t].t, (uint32_t)gen, &eb)) {
                    vt_fail(c, "leaf %u generation %llu: %s", i, (unsigned long long)gen, eb.msg);
                    goto done;
                }
                if (vt_expect(c, g, types[t].k, k.key, s->nk) ||
                    vt_expect(c, g, types[t].n, k.nonce, s->nn)) {
                    vt_fail(c, "(leaf %u, generation %llu)", i, (unsigned long long)gen);
                    goto done;
                }
                /* a consumed generation cannot be used again */
                if (mls_secret_tree_peek(st, i, types[t].t, (uint32_t)gen, &k, NULL) != XW_EMLS_GENERATION) {
                    vt_fail(c, "leaf %u generation %llu can be used twice", i, (unsigned long long)gen);
                    goto done;
                }
                mls_ratchet_key_wipe(&k);
            }
        }
    }
    rc = VT_PASS;
done:
    mls_secret_tree_free(st);
    xw_buf_free(&enc);
    xw_buf_free(&sds);
    xw_buf_free(&ct);
    return rc;
}

int vt_psk_secret(vt_case *c, json_t *e)
{
    const mls_suite *s;
    int rc = vt_suite(c, e, &s);
    if (rc != VT_PASS)
        return rc;
    json_t *psks = json_object_get(e, "psks");
    if (!json_is_array(psks))
        return vt_fail(c, "\"psks\" is not an array");
    size_t n = json_array_size(psks);
    mls_psk *p = xw_calloc(n ? n : 1, sizeof *p);
    xw_buf *bufs = xw_calloc(3 * (n ? n : 1), sizeof *bufs);
    rc = VT_FAIL;
    if (!p || !bufs) {
        vt_fail(c, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(psks, i);
        for (int k = 0; k < 3; k++)
            xw_buf_init(&bufs[3 * i + k], VT_MAX_BUF);
        if (vt_hex(c, o, "psk_id", &bufs[3 * i]) || vt_hex(c, o, "psk", &bufs[3 * i + 1]) ||
            vt_hex(c, o, "psk_nonce", &bufs[3 * i + 2]))
            goto done;
        p[i].id.psktype = MLS_PSK_EXTERNAL;
        p[i].id.psk_id = (mls_span){bufs[3 * i].data, bufs[3 * i].len};
        p[i].id.psk_nonce = (mls_span){bufs[3 * i + 2].data, bufs[3 * i + 2].len};
        p[i].psk = bufs[3 * i + 1].data;
        p[i].psk_len = bufs[3 * i + 1].len;
    }
    uint8_t out[MLS_MAX_HASH];
    xw_errbuf eb = {{0}};
    if (mls_psk_secret(s, p, n, out, &eb)) {
        vt_fail(c, "psk_secret: %s", eb.msg);
        goto done;
    }
    if (vt_expect(c, e, "psk_secret", out, s->nh) == 0)
        rc = VT_PASS;
done:
    if (bufs)
        for (size_t i = 0; i < 3 * n; i++)
            xw_buf_free(&bufs[i]);
    xw_free(bufs);
    xw_free(p);
    return rc;
}

enum { KS_GID, KS_INIT, KS_TREE, KS_COMMIT, KS_PSK, KS_CTH, KS_CTX, KS_GC, KS_N };

int vt_key_schedule(vt_case *c, json_t *e)
{
    const mls_suite *s;
    int rc = vt_suite(c, e, &s);
    if (rc != VT_PASS)
        return rc;
    xw_buf b[KS_N];
    for (int i = 0; i < KS_N; i++)
        xw_buf_init(&b[i], VT_MAX_BUF);
    json_t *epochs = json_object_get(e, "epochs");
    rc = VT_FAIL;
    uint8_t init[MLS_MAX_HASH];
    mls_epoch_secrets es;
    memset(&es, 0, sizeof es);
    if (vt_hex(c, e, "group_id", &b[KS_GID]) || vt_hex(c, e, "initial_init_secret", &b[KS_INIT]) ||
        !json_is_array(epochs))
        goto done;
    if (b[KS_INIT].len != s->nh) {
        vt_fail(c, "initial_init_secret is not Nh bytes");
        goto done;
    }
    memcpy(init, b[KS_INIT].data, s->nh);
    for (size_t ep = 0; ep < json_array_size(epochs); ep++) {
        json_t *o = json_array_get(epochs, ep);
        if (vt_hex(c, o, "tree_hash", &b[KS_TREE]) || vt_hex(c, o, "commit_secret", &b[KS_COMMIT]) ||
            vt_hex(c, o, "psk_secret", &b[KS_PSK]) || vt_hex(c, o, "confirmed_transcript_hash", &b[KS_CTH]))
            goto done;
        if (b[KS_COMMIT].len != s->nh || b[KS_PSK].len != s->nh) {
            vt_fail(c, "epoch %zu: commit_secret or psk_secret is not Nh bytes", ep);
            goto done;
        }
        mls_group_context gc = {MLS_PROTOCOL_VERSION_10,
                                s->id,
                                {b[KS_GID].data, b[KS_GID].len},
                                ep,
                                {b[KS_TREE].data, b[KS_TREE].len},
                                {b[KS_CTH].data, b[KS_CTH].len},
                                {NULL, 0}};
        mls_writer w;
        xw_buf_reset(&b[KS_GC]);
        mls_writer_init(&w, &b[KS_GC]);
        mls_group_context_write(&w, &gc);
        if (w.err || vt_expect(c, o, "group_context", b[KS_GC].data, b[KS_GC].len))
            goto done;
        /* and the encoding decodes back to the same context */
        {
            mls_reader r;
            mls_group_context back;
            mls_reader_init(&r, b[KS_GC].data, b[KS_GC].len, NULL);
            if (mls_group_context_read(&r, &back) || mls_reader_finish(&r, "group context") ||
                back.epoch != ep || back.group_id.len != b[KS_GID].len) {
                vt_fail(c, "epoch %zu: the group context does not decode back", ep);
                goto done;
            }
        }
        if (mls_key_schedule_run(s, init, b[KS_COMMIT].data, b[KS_PSK].data, b[KS_GC].data, b[KS_GC].len,
                                 &es)) {
            vt_fail(c, "epoch %zu: key schedule failed", ep);
            goto done;
        }
        static const struct {
            const char *key;
            size_t off;
        } outs[] = {
            {"joiner_secret", offsetof(mls_epoch_secrets, joiner_secret)},
            {"welcome_secret", offsetof(mls_epoch_secrets, welcome_secret)},
            {"init_secret", offsetof(mls_epoch_secrets, init_secret)},
            {"sender_data_secret", offsetof(mls_epoch_secrets, sender_data_secret)},
            {"encryption_secret", offsetof(mls_epoch_secrets, encryption_secret)},
            {"exporter_secret", offsetof(mls_epoch_secrets, exporter_secret)},
            {"epoch_authenticator", offsetof(mls_epoch_secrets, epoch_authenticator)},
            {"external_secret", offsetof(mls_epoch_secrets, external_secret)},
            {"confirmation_key", offsetof(mls_epoch_secrets, confirmation_key)},
            {"membership_key", offsetof(mls_epoch_secrets, membership_key)},
            {"resumption_psk", offsetof(mls_epoch_secrets, resumption_psk)},
        };
        for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
            if (vt_expect(c, o, outs[i].key, (uint8_t *)&es + outs[i].off, s->nh)) {
                vt_fail(c, "(epoch %zu)", ep);
                goto done;
            }
        uint8_t priv[MLS_HPKE_MAX_SK], pub[MLS_HPKE_MAX_PK];
        xw_errbuf eb = {{0}};
        if (mls_external_keypair(s, es.external_secret, priv, pub, &eb)) {
            vt_fail(c, "epoch %zu: external key pair: %s", ep, eb.msg);
            goto done;
        }
        xw_wipe(priv, sizeof priv);
        if (vt_expect(c, o, "external_pub", pub, s->hpke_pub_len))
            goto done;
        json_t *x = json_object_get(o, "exporter");
        uint64_t len;
        uint8_t exported[1024];
        /* The label is used as the text it is (test-vectors.md: a string); it happens to
         * look like hex, but the data only verify with the text itself as the label. */
        const char *label = json_string_value(json_object_get(x ? x : o, "label"));
        if (!x || !label || vt_hex(c, x, "context", &b[KS_CTX]) || vt_uint(c, x, "length", &len) ||
            len > sizeof exported) {
            vt_fail(c, "epoch %zu: exporter fields are missing", ep);
            goto done;
        }
        if (mls_exporter(s, es.exporter_secret, label, strlen(label), b[KS_CTX].data, b[KS_CTX].len, exported,
                         len) ||
            vt_expect(c, x, "secret", exported, len))
            goto done;
        memcpy(init, es.init_secret, s->nh);
    }
    rc = VT_PASS;
done:
    mls_epoch_secrets_wipe(&es);
    for (int i = 0; i < KS_N; i++)
        xw_buf_free(&b[i]);
    return rc;
}
