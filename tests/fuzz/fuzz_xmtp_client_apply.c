/*
 * libFuzzer target for the client's handling of network input: welcome processing and
 * group-envelope application (xmtp/client/welcome.c, sync.c), on the fake node with a bot
 * that has joined a group of the libxmtp-like test peer. Byte 0 picks what the rest becomes:
 *
 *   0  a raw group envelope (any bytes) in the bot's group
 *   1  the plaintext of a valid PrivateMessage from the peer (fuzzes PlaintextEnvelope,
 *      EncodedContent, content decoding, and the state restore after a refusal)
 *   2  the MLS Welcome inside a correctly wrapped welcome to the bot's key package
 *   3  the wrapped welcome data itself (HpkeCiphertext), for the bot's X-Wing key
 *
 * Properties: no crash, no leak, no sanitizer report; sync never fails on bad input (only
 * quarantines it); an envelope that was quarantined leaves the stored group state
 * byte-for-byte as it was; a refused welcome stores no group.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/keypackage.h"
#include "mls/tree.h"
#include "xmtp/welcome_wrap.h"
#include "tests/unit/xc_peer.h"
#include "xmtp/client/client_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    xw_clock *clock;
    xc_node *node;
    xc_client *bot;
    xc_peer *alice;
    xmtp_wallet *wallet;
} F;

static void die(const char *what, const xw_errbuf *eb)
{
    fprintf(stderr, "fuzz_xmtp_client_apply: %s: %s\n", what, eb ? eb->msg : "");
    abort();
}

static void setup(void)
{
    xw_errbuf eb = {{0}};
    F.clock = xw_clock_manual_new(xw_clock_now_ns(xw_clock_real()), 1);
    if (xc_node_fake_new(F.clock, &F.node, &eb) != XW_OK || xmtp_wallet_generate(&F.wallet, &eb) != XW_OK)
        die("setup", &eb);
    xc_client_opts o = {.db_path = ":memory:", .node = F.node, .clock = F.clock};
    if (xc_client_create(&o, F.wallet, &F.bot, &eb) != XW_OK)
        die("create", &eb);
    F.alice = xc_peer_new(F.node, F.clock);
    xc_peer_create_group(F.alice, "fuzz");
    xc_peer_add(F.alice, xc_client_inbox_id(F.bot), xc_client_installation_id(F.bot));
    if (xc_client_sync_all(F.bot, NULL, &eb) != XW_OK)
        die("join", &eb);
}

static size_t stored_state(uint8_t **out)
{
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(F.alice, &gl);
    xc_group_row r;
    xc_group_row_init(&r);
    xw_errbuf eb = {{0}};
    if (xc_store_group_get(xc_client_store(F.bot), gid, gl, &r, &eb) != XW_OK)
        die("group", &eb);
    size_t n = r.state.len;
    *out = xw_buf_detach(&r.state, &n);
    xc_group_row_free(&r);
    return n;
}

static void apply_envelope(const uint8_t *p, size_t n, int encrypt)
{
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(F.alice, &gl);
    xw_errbuf eb = {{0}};
    uint8_t *msg = NULL;
    size_t mlen = n;
    if (encrypt)
        xc_peer_encrypt(F.alice, p, n, &msg, &mlen);
    if (xc_node_fake_add_group_message(F.node, gid, gl, encrypt ? msg : p, mlen, 0, NULL, &eb) != XW_OK)
        die("add", &eb);
    xw_free(msg);
    uint8_t *before = NULL, *after = NULL;
    size_t bl = stored_state(&before);
    xc_sync_stats st = {0};
    if (xc_group_sync(F.bot, gid, gl, &st, &eb) != XW_OK)
        die("sync refused to quarantine", &eb);
    size_t al = stored_state(&after);
    if (st.quarantined && !st.messages && !st.commits && (al != bl || memcmp(before, after, al) != 0))
        die("a quarantined envelope changed the group state", NULL);
    xw_free(before);
    xw_free(after);
}

static void apply_welcome(const uint8_t *p, size_t n, int wrap)
{
    xw_errbuf eb = {{0}};
    size_t kp_len = 0;
    const uint8_t *kp = xc_node_fake_key_package(F.node, xc_client_installation_id(F.bot), 32, &kp_len);
    mls_key_package *k = NULL;
    if (!kp || mls_key_package_decode(kp, kp_len, &k, &eb) != XW_OK)
        die("key package", &eb);
    mls_span ff03;
    xmtp_welcome_key key;
    if (!mls_extensions_find(k->extensions, XMTP_WELCOME_EXT_WRAPPER_ENCRYPTION, &ff03) ||
        xmtp_welcome_key_for(k->init_key.p, k->init_key.len, ff03.p, ff03.len, &key, &eb) != XW_OK)
        die("wrap key", &eb);
    mls_key_package_free(k);
    xw_buf data, meta, meta_ct;
    xw_buf_init(&data, 1 << 24);
    xw_buf_init(&meta, 64);
    xw_buf_init(&meta_ct, 4096);
    if (wrap) {
        if (xmtp_welcome_metadata_encode(1, &meta, &eb) != XW_OK ||
            xmtp_welcome_wrap(&key, p, n, meta.data, meta.len, NULL, &data, &meta_ct, &eb) != XW_OK)
            die("wrap", &eb);
    } else if (xw_buf_append(&data, p, n) != XW_OK) {
        die("copy", NULL);
    }
    xc_welcome_env w = {.wrapper_algorithm = XMTP_WELCOME_XWING,
                        .installation_key = {xc_client_installation_id(F.bot), 32},
                        .data = {data.data, data.len},
                        .hpke_public_key = {key.pub, key.pub_len},
                        .metadata = {meta_ct.data, meta_ct.len}};
    if (xc_node_fake_add_welcome(F.node, &w, NULL, &eb) != XW_OK)
        die("add welcome", &eb);
    xc_welcome_stats ws = {0};
    if (xc_client_sync_welcomes(F.bot, &ws, &eb) != XW_OK)
        die("welcome sync refused to quarantine", &eb);
    if (ws.quarantined + ws.joined != ws.welcomes)
        die("a welcome was neither joined nor quarantined", NULL);
    xw_buf_free(&data);
    xw_buf_free(&meta);
    xw_buf_free(&meta_ct);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!F.bot)
        setup();
    if (size < 1 || size > (1u << 16))
        return 0;
    xw_clock_manual_advance(F.clock, XW_NS_PER_MS);
    switch (data[0] % 4) {
    case 0:
        apply_envelope(data + 1, size - 1, 0);
        break;
    case 1:
        apply_envelope(data + 1, size - 1, 1);
        break;
    case 2:
        apply_welcome(data + 1, size - 1, 1);
        break;
    default:
        apply_welcome(data + 1, size - 1, 0);
        break;
    }
    return 0;
}
