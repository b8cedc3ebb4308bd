/*
 * Request builders for the dev node's abuse tests (test_devnode_limits.c, in process, and
 * attack_devnode.c, against the real binary): gRPC bodies (5-byte prefix + protobuf) of
 * the requests each attack sends, written field by field so sizes and counts are exactly
 * what the attack needs.
 */
#ifndef XW_TESTS_DEVNODE_ATTACK_H
#define XW_TESTS_DEVNODE_ATTACK_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "tests/unit/devnode_helpers.h"
#include "xmtp/api.h"

/* SubscribeGroupMessages with n distinct keys of keylen bytes (from seed), then the 16-byte
 * group id `also` unless NULL. With collide, every key falls in one bucket of a
 * 65,536-bucket table under FNV-1a (the unkeyed hash the node once used). out is reset
 * first. */
void atk_subscribe_body(xw_buf *out, size_t n, size_t keylen, int collide, uint32_t seed,
                        const uint8_t *also);
/* A prefix announcing an mlen-byte message, then mlen zero bytes (no valid request). */
void atk_big_body(xw_buf *out, size_t mlen);
/* QueryGroupMessages for a 16-byte group id, a page of `limit`. */
void atk_query_body(xw_buf *out, const uint8_t gid[16], uint32_t limit);
/* GetNewestGroupMessage (with content) for n group ids of keylen bytes: random ones, or with
 * first > 0 and keylen 16 the groups atk_group_id(first) to atk_group_id(first + n - 1). */
void atk_newest_body(xw_buf *out, size_t n, size_t keylen, uint32_t first);
/* The 16-byte id of numbered group i. */
void atk_group_id(uint8_t gid[16], uint32_t i);
/* Publishes n messages of about `size` payload bytes to a 16-byte group. */
void atk_fill_group(xmtp_api *api, const uint8_t gid[16], size_t n, size_t size);
/* Publishes one message to each of the groups atk_group_id(first) to (first + n - 1). */
void atk_fill_groups(xmtp_api *api, uint32_t first, size_t n);

/* The RPCs that take a group id: rpc (0 to ATK_GROUP_ID_RPCS - 1) with a group id of
 * gid_len bytes; returns the method path. */
#define ATK_GROUP_ID_RPCS 6
const char *atk_group_id_body(xw_buf *out, int rpc, size_t gid_len);

#endif
