/*
 * Request builders for the dev node's abuse tests (see devnode_attack.h).
 */
#include "tests/unit/devnode_attack.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "node/rpc.h"
#include "proto/pb.h"

#define MLS_PATH "/xmtp.mls.api.v1.MlsApi/"

static void die(const char *what)
{
    fprintf(stderr, "attack helper failed: %s\n", what);
    abort();
}

static void must(int rc, const char *what)
{
    if (rc != XW_OK)
        die(what);
}

/* Wraps the protobuf message in msg as a gRPC body in out (reset first). */
static void frame(xw_buf *out, const xw_buf *msg)
{
    xw_buf_reset(out);
    tn_grpc_body(out, msg->data ? msg->data : (const uint8_t *)"", msg->len);
}

static void put_varint_field(xw_buf *b, uint32_t field, uint64_t v)
{
    must(xw_pb_append_varint(b, field, v), "append");
}

/* The low 16 bits of FNV-1a evolve on their own: (h ^ byte) * 16777619, and 16777619 is
 * 403 modulo 65536, odd, so invertible. */
#define FNV_P16 403u
static uint16_t fnv16_step(uint16_t h, uint8_t b) { return (uint16_t)((h ^ b) * FNV_P16); }

static uint16_t fnv16_inverse_of_p(void)
{
    uint32_t inv = 1;
    for (int i = 0; i < 16; i++) /* Newton: inv *= 2 - p * inv */
        inv = inv * (2 - FNV_P16 * inv);
    return (uint16_t)inv;
}

/* Fills key[keylen] (keylen >= 3) from rnd so that FNV-1a's low 16 bits end at target: the
 * last two bytes are solved for. Returns 0 if this prefix has no solution. */
static int fnv_collide(uint8_t *key, size_t keylen, uint16_t target)
{
    uint16_t h = (uint16_t)2166136261u;
    for (size_t i = 0; i + 2 < keylen; i++)
        h = fnv16_step(h, key[i]);
    uint16_t pinv = fnv16_inverse_of_p();
    for (unsigned b2 = 0; b2 < 256; b2++) {
        uint16_t before_last = (uint16_t)((uint16_t)(target * pinv) ^ b2);
        unsigned b1 = (uint16_t)(before_last * pinv) ^ h;
        if (b1 < 256) {
            key[keylen - 2] = (uint8_t)b1;
            key[keylen - 1] = (uint8_t)b2;
            return 1;
        }
    }
    return 0;
}

void atk_subscribe_body(xw_buf *out, size_t n, size_t keylen, int collide, uint32_t seed, const uint8_t *also)
{
    xw_buf msg, f;
    xw_buf_init(&msg, 256u << 20);
    xw_buf_init(&f, 1u << 20);
    uint8_t *key = xw_malloc(keylen ? keylen : 1);
    uint64_t x = 0x9e3779b97f4a7c15ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        do {
            for (size_t k = 0; k < keylen; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: distinct enough */
                key[k] = (uint8_t)(x >> 24);
            }
            if (keylen >= 8) /* distinct for sure: the index in the first bytes */
                memcpy(key, &i, sizeof(uint32_t));
        } while (collide && keylen >= 8 && !fnv_collide(key, keylen, 0x1234));
        xw_buf_reset(&f);
        must(xw_pb_append_bytes(&f, 1, key, keylen), "filter key");
        must(xw_pb_append_bytes(&msg, 1, f.data, f.len), "filter");
    }
    if (also) {
        xw_buf_reset(&f);
        must(xw_pb_append_bytes(&f, 1, also, 16), "filter key");
        must(xw_pb_append_bytes(&msg, 1, f.data, f.len), "filter");
    }
    frame(out, &msg);
    xw_free(key);
    xw_buf_free(&f);
    xw_buf_free(&msg);
}

void atk_big_body(xw_buf *out, size_t mlen)
{
    xw_buf_reset(out);
    uint8_t h[5] = {0, (uint8_t)(mlen >> 24), (uint8_t)(mlen >> 16), (uint8_t)(mlen >> 8), (uint8_t)mlen};
    must(xw_buf_append(out, h, 5), "prefix");
    uint8_t *p = xw_buf_extend(out, mlen);
    if (!p)
        die("big body");
    memset(p, 0, mlen);
}

void atk_query_body(xw_buf *out, const uint8_t gid[16], uint32_t limit)
{
    xw_buf msg, pi;
    xw_buf_init(&msg, 1024);
    xw_buf_init(&pi, 64);
    put_varint_field(&pi, 2, limit);
    must(xw_pb_append_bytes(&msg, 1, gid, 16), "group id");
    must(xw_pb_append_bytes(&msg, 2, pi.data, pi.len), "paging");
    frame(out, &msg);
    xw_buf_free(&pi);
    xw_buf_free(&msg);
}

void atk_group_id(uint8_t gid[16], uint32_t i)
{
    char s[17];
    snprintf(s, sizeof s, "group-%010u", i);
    memcpy(gid, s, 16);
}

void atk_newest_body(xw_buf *out, size_t n, size_t keylen, uint32_t first)
{
    xw_buf msg;
    xw_buf_init(&msg, 64u << 20);
    uint8_t key[256];
    if (keylen > sizeof key || (first && keylen != 16))
        die("newest key length");
    for (size_t i = 0; i < n; i++) {
        if (first)
            atk_group_id(key, first + (uint32_t)i);
        else
            randombytes_buf(key, keylen);
        must(xw_pb_append_bytes(&msg, 1, key, keylen), "group id");
    }
    put_varint_field(&msg, 2, 1);
    frame(out, &msg);
    xw_buf_free(&msg);
}

/* SendGroupMessages with the given MLS messages (n of them, in one buffer at offsets). */
static void send_batch(xmtp_api *api, const xw_buf *mls, const size_t *off, size_t n)
{
    xw_buf body, in, v1, resp;
    xw_buf_init(&body, 64u << 20);
    xw_buf_init(&in, 64u << 20);
    xw_buf_init(&v1, 64u << 20);
    xw_buf_init(&resp, 1024);
    for (size_t i = 0; i < n; i++) {
        xw_buf_reset(&in);
        xw_buf_reset(&v1);
        must(xw_pb_append_bytes(&v1, 1, mls->data + off[i], off[i + 1] - off[i]), "data");
        must(xw_pb_append_bytes(&in, 1, v1.data, v1.len), "v1");
        must(xw_pb_append_bytes(&body, 1, in.data, in.len), "messages");
    }
    xmtp_api_status st;
    xw_errbuf eb = {{0}};
    if (xmtp_api_unary(api, MLS_PATH "SendGroupMessages", body.data, body.len, &resp, &st, &eb) != XW_OK)
        die(eb.msg);
    xw_buf_free(&in);
    xw_buf_free(&v1);
    xw_buf_free(&body);
    xw_buf_free(&resp);
}

void atk_fill_group(xmtp_api *api, const uint8_t gid[16], size_t n, size_t size)
{
    char *payload = xw_malloc(size + 16);
    xw_buf m;
    xw_buf_init(&m, size + 4096);
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(payload, 16, "%zu-", i);
        memset(payload + k, 'p', size > (size_t)k ? size - (size_t)k : 0);
        payload[size > (size_t)k ? size : (size_t)k] = 0;
        xw_buf_reset(&m);
        tn_mls_private(&m, gid, 16, 1, payload);
        size_t off[2] = {0, m.len};
        send_batch(api, &m, off, 1);
    }
    xw_buf_free(&m);
    xw_free(payload);
}

void atk_fill_groups(xmtp_api *api, uint32_t first, size_t n)
{
    xw_buf m;
    xw_buf_init(&m, 64u << 20);
    size_t *off = xw_calloc(n + 1, sizeof *off);
    for (size_t i = 0; i < n; i++) {
        uint8_t gid[16];
        atk_group_id(gid, first + (uint32_t)i);
        tn_mls_private(&m, gid, 16, 1, "newest");
        off[i + 1] = m.len;
    }
    send_batch(api, &m, off, n);
    xw_free(off);
    xw_buf_free(&m);
}

const char *atk_group_id_body(xw_buf *out, int rpc, size_t gid_len)
{
    uint8_t *gid = xw_malloc(gid_len);
    memset(gid, 'g', gid_len);
    xw_buf msg, inner, inner2;
    xw_buf_init(&msg, 64u << 20);
    xw_buf_init(&inner, 64u << 20);
    xw_buf_init(&inner2, 64u << 20);
    const char *method = NULL;
    switch (rpc) {
    case 0:
        method = MLS_PATH "QueryGroupMessages";
        must(xw_pb_append_bytes(&msg, 1, gid, gid_len), "gid");
        break;
    case 1:
        method = MLS_PATH "GetNewestGroupMessage";
        must(xw_pb_append_bytes(&msg, 1, gid, gid_len), "gid");
        break;
    case 2:
        method = MLS_PATH "BatchQueryCommitLog";
        must(xw_pb_append_bytes(&inner, 1, gid, gid_len), "gid");
        must(xw_pb_append_bytes(&msg, 1, inner.data, inner.len), "query");
        break;
    case 3: {
        method = MLS_PATH "BatchPublishCommitLog";
        uint8_t sig[64] = {1}, pk[32] = {2};
        must(xw_pb_append_bytes(&inner2, 1, sig, sizeof sig), "sig");
        must(xw_pb_append_bytes(&inner2, 2, pk, sizeof pk), "pk");
        must(xw_pb_append_bytes(&inner, 1, gid, gid_len), "gid");
        must(xw_pb_append_bytes(&inner, 2, (const uint8_t *)"entry", 5), "entry");
        must(xw_pb_append_bytes(&inner, 3, inner2.data, inner2.len), "signature");
        must(xw_pb_append_bytes(&msg, 1, inner.data, inner.len), "request");
        break;
    }
    case 4: {
        method = MLS_PATH "SendGroupMessages";
        xw_buf mls;
        xw_buf_init(&mls, gid_len + 1024);
        tn_mls_private(&mls, gid, gid_len, 1, "payload");
        must(xw_pb_append_bytes(&inner2, 1, mls.data, mls.len), "data");
        must(xw_pb_append_bytes(&inner, 1, inner2.data, inner2.len), "v1");
        must(xw_pb_append_bytes(&msg, 1, inner.data, inner.len), "messages");
        xw_buf_free(&mls);
        break;
    }
    default:
        method = MLS_PATH "SubscribeGroupMessages";
        must(xw_pb_append_bytes(&inner, 1, gid, gid_len), "gid");
        must(xw_pb_append_bytes(&msg, 1, inner.data, inner.len), "filter");
        break;
    }
    frame(out, &msg);
    xw_buf_free(&inner2);
    xw_buf_free(&inner);
    xw_buf_free(&msg);
    xw_free(gid);
    return method;
}
