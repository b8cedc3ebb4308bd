/*
 * Key packages as libxmtp 1.9 builds them (identity.rs XmtpKeyPackageBuilder; checked
 * byte for byte against one uploaded by @xmtp/node-bindings 1.9.1, XMTP-PROTOCOL.md §3.3, §8):
 *
 *   suite 0x0003; credential Basic{MlsCredential{inbox_id}}; signature key = installation key
 *   leaf extensions:  application_id = opaque<V>(inbox id text)
 *   capabilities:     versions [mls10], suites [0x0003], extensions [last_resort, application_id,
 *                     0xff02, 0xff00, 0xff01, 0xff03, 0xff04, 0xf000], proposals
 *                     [group_context_extensions], credentials [basic]
 *   lifetime:         not_before = now - 1 h, not_after = now + 84 days
 *   KP extensions:    last_resort, 0xff03 {X-Wing public key, algorithm 2}
 *
 * libxmtp also puts 0xff04 (welcome pointee AEAD types) in the KeyPackage extensions; we
 * leave it out, so senders never use welcome pointers for us and every welcome arrives as a
 * plain X-Wing-wrapped V1 (docs/client.md). Capabilities stay identical to libxmtp's.
 *
 * Rotation (libxmtp rotate_and_upload_key_package): the new key package and its private
 * keys are stored first, then uploaded; once the node has it, the older ones get a
 * deletion time one day ahead (welcomes in flight may still use them) and are purged after.
 */
#include <string.h>

#include "common/alloc.h"
#include "mls/tls.h"
#include "mls/tree.h"
#include "xmtp/welcome_wrap.h"
#include "mls/xwing.h"
#include "xmtp/client/client_int.h"

#define KP_MAX (1u << 16)

int xc_kp_build(const mls_suite *s, const mls_sig_priv *sig, const char *inbox_id, const uint8_t *wrap_seed,
                int64_t now_ns, xw_buf *out, mls_key_package_secrets *sec, xw_errbuf *eb)
{
    static const uint8_t ext_types[] = {0x00, 0x01, 0xff, 0x02, 0xff, 0x00, 0xff,
                                        0x01, 0xff, 0x03, 0xff, 0x04, 0xf0, 0x00};
    static const uint8_t proposals[] = {0x00, 0x07};
    xw_buf cred, lext, kext, wrap;
    xw_buf_init(&cred, 4096);
    xw_buf_init(&lext, 4096);
    xw_buf_init(&kext, 8192);
    xw_buf_init(&wrap, 8192);
    int rc = xc_credential_for_inbox(inbox_id, &cred, eb);
    mls_writer w;
    mls_writer_init(&w, &lext);
    mls_write_u16(&w, MLS_EXT_APPLICATION_ID);
    size_t mark = mls_write_vec_begin(&w);
    mls_write_opaque(&w, inbox_id, strlen(inbox_id));
    mls_write_vec_end(&w, mark);
    int werr = w.err;
    mls_writer_init(&w, &kext);
    mls_write_u16(&w, MLS_EXT_LAST_RESORT);
    mls_write_varint(&w, 0);
    werr |= w.err;
    if (rc == XW_OK && wrap_seed) {
        xmtp_welcome_key key = {.alg = XMTP_WELCOME_XWING, .pub_len = MLS_XWING_PK_LEN};
        rc = mls_xwing_keygen_derand(wrap_seed, key.pub, eb);
        if (rc == XW_OK)
            rc = xmtp_welcome_wrapper_ext_encode(&key, &wrap, eb);
        mls_write_u16(&w, XMTP_WELCOME_EXT_WRAPPER_ENCRYPTION);
        mls_write_opaque(&w, wrap.data, wrap.len);
        werr |= w.err;
    }
    if (rc == XW_OK && werr)
        rc = xw_errf(eb, XW_ETOOBIG, "key package extensions do not fit");
    if (rc == XW_OK) {
        int64_t now_s = now_ns / XW_NS_PER_SEC;
        mls_key_package_opts o = {
            .identity = {cred.data, cred.len},
            .not_before = (uint64_t)(now_s - XC_KP_BACKDATE_S),
            .not_after = (uint64_t)(now_s + XC_KP_LIFETIME_S),
            .leaf_extensions = {lext.data, lext.len},
            .kp_extensions = {kext.data, kext.len},
            .extra_ext_types = {ext_types, sizeof ext_types},
            .proposal_types = {proposals, sizeof proposals},
            .last_resort = 0, /* written above, first, as libxmtp orders them */
        };
        rc = mls_key_package_create(s, sig, &o, out, sec, eb);
    }
    xw_buf_free(&cred);
    xw_buf_free(&lext);
    xw_buf_free(&kext);
    xw_buf_free(&wrap);
    return rc;
}

/* secrets column: init_priv | enc_priv | X-Wing seed, each hpke_priv_len / 32 bytes */
static int secrets_pack(const mls_suite *s, const mls_key_package_secrets *sec, const uint8_t seed[32],
                        xw_buf *out)
{
    int rc = xw_buf_append(out, sec->init_priv, s->hpke_priv_len);
    if (rc == XW_OK)
        rc = xw_buf_append(out, sec->enc_priv, s->hpke_priv_len);
    if (rc == XW_OK)
        rc = xw_buf_append(out, seed, 32);
    return rc;
}

int xc_kp_rotate(xc_client *c, xw_errbuf *eb)
{
    uint8_t seed[32];
    mls_random(seed, sizeof seed);
    xc_kp_row row;
    xc_kp_row_init(&row);
    mls_key_package_secrets sec;
    int64_t now = xc_now(c);
    int rc = xc_kp_build(c->suite, &c->sig, c->inbox_id, seed, now, &row.key_package, &sec, eb);
    mls_key_package *kp = NULL;
    if (rc == XW_OK)
        rc = mls_key_package_decode(row.key_package.data, row.key_package.len, &kp, eb);
    if (rc == XW_OK) {
        mls_span wrap;
        rc = xw_buf_append(&row.init_pub, kp->init_key.p, kp->init_key.len);
        if (rc == XW_OK && mls_extensions_find(kp->extensions, XMTP_WELCOME_EXT_WRAPPER_ENCRYPTION, &wrap)) {
            xmtp_welcome_key key;
            rc = xmtp_welcome_wrapper_ext_decode(wrap.p, wrap.len, &key, eb);
            if (rc == XW_OK)
                rc = xw_buf_append(&row.wrap_pub, key.pub, key.pub_len);
        }
        if (rc == XW_OK)
            rc = secrets_pack(c->suite, &sec, seed, &row.secrets);
        row.created_ns = now;
        row.not_after_ns = now + (int64_t)XC_KP_LIFETIME_S * XW_NS_PER_SEC;
    }
    mls_key_package_free(kp);
    mls_key_package_secrets_wipe(&sec);
    xw_wipe(seed, sizeof seed);
    int64_t id = 0;
    if (rc == XW_OK)
        rc = xc_store_kp_insert(c->st, &row, &id, eb);
    if (rc == XW_OK)
        rc = c->node->ops->upload_key_package(c->node->ctx, row.key_package.data, row.key_package.len, eb);
    if (rc == XW_OK && (rc = xc_store_begin(c->st, eb)) == XW_OK) {
        rc = xc_store_kp_mark_uploaded(c->st, id, eb);
        if (rc == XW_OK)
            rc = xc_store_kp_supersede_before(c->st, id, now + XC_KP_KEEP_NS, eb);
        if (rc == XW_OK)
            rc = xc_store_kp_purge(c->st, now, NULL, eb);
        if (rc == XW_OK)
            rc = xc_store_commit(c->st, eb);
        else
            xc_store_rollback(c->st);
    }
    xc_kp_row_free(&row);
    return rc;
}

void xc_kp_keys_free(xc_kp_keys *k)
{
    if (!k)
        return;
    mls_key_package_free(k->kp);
    xw_buf_free(&k->raw);
    mls_key_package_secrets_wipe(&k->sec);
    xw_wipe(k->wrap_sk, sizeof k->wrap_sk);
    k->kp = NULL;
}

int xc_kp_keys_for(xc_client *c, const uint8_t *pub, size_t len, int alg, xc_kp_keys *k, xw_errbuf *eb)
{
    memset(k, 0, sizeof *k);
    xw_buf_init(&k->raw, KP_MAX);
    xc_kp_row row;
    xc_kp_row_init(&row);
    int rc = xc_store_kp_find(c->st, pub, len, &row, eb);
    size_t sk = c->suite->hpke_priv_len;
    if (rc == XW_OK && row.secrets.len != 2 * sk + 32)
        rc = xw_errf(eb, XW_ECORRUPT, "client store: the private keys of key package %lld are damaged",
                     (long long)row.id);
    if (rc == XW_OK && alg == XMTP_WELCOME_XWING &&
        (row.wrap_pub.len != len || memcmp(row.wrap_pub.data, pub, len) != 0))
        rc = xw_errf(eb, XW_EBADKEY,
                     "the welcome names X-Wing wrapping but its key is our key package's init key");
    if (rc == XW_OK && alg == XMTP_WELCOME_CURVE25519 &&
        (row.init_pub.len != len || memcmp(row.init_pub.data, pub, len) != 0))
        rc = xw_errf(eb, XW_EBADKEY, "the welcome names X25519 wrapping but its key is not our init key");
    if (rc == XW_OK && alg != XMTP_WELCOME_XWING && alg != XMTP_WELCOME_CURVE25519)
        rc = xw_errf(eb, XW_EUNSUPPORTED,
                     "welcome wrapper algorithm %d is not supported (1 = X25519, 2 = X-Wing)", alg);
    if (rc == XW_OK)
        rc = xw_buf_append(&k->raw, row.key_package.data, row.key_package.len);
    if (rc == XW_OK)
        rc = mls_key_package_decode(k->raw.data, k->raw.len, &k->kp, eb);
    if (rc == XW_OK) {
        memcpy(k->sec.init_priv, row.secrets.data, sk);
        memcpy(k->sec.enc_priv, row.secrets.data + sk, sk);
        k->sec.sig = c->sig;
        memcpy(k->wrap_sk, alg == XMTP_WELCOME_XWING ? row.secrets.data + 2 * sk : row.secrets.data, 32);
    }
    xc_kp_row_free(&row);
    if (rc != XW_OK)
        xc_kp_keys_free(k);
    return rc;
}
