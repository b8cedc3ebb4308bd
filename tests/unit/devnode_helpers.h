/*
 * Helpers for the dev node tests: run a node in a thread of the test process, build MLS
 * messages and signed key packages, and a raw HTTP/2 client (nghttp2) for the tests that
 * must send what a well-behaved gRPC client never would.
 */
#ifndef XW_TESTS_DEVNODE_HELPERS_H
#define XW_TESTS_DEVNODE_HELPERS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "node/rpc.h"
#include "node/server.h"
#include "node/store.h"
#include "xmtp/api.h"

typedef struct {
    node_ctx ctx;
    node_server *srv;
    node_method methods[NODE_RPC_MAX_METHODS];
    pthread_t thread;
    int port;
    char url[64];
    xmtp_api *api;
} test_node;

/* Starts a node on a free port with the given store path (":memory:" for none) and limits
 * (0 = defaults). */
void tn_start(test_node *tn, const char *db, size_t max_msg, size_t max_call_buf);
/* The same with every server option (its listen address is ignored: 127.0.0.1, free port). */
void tn_start_opts(test_node *tn, const char *db, const node_server_opts *opts);
/* Stops it (SIGTERM path) and frees everything. */
void tn_stop(test_node *tn);

/* A fresh database path from a mkstemp template ("/tmp/devnode-x-XXXXXX", rewritten in place);
 * nothing exists there yet. */
void tn_db_path(char *tmpl);
/* Removes the database at path with its -wal and -shm files. */
void tn_db_remove(const char *path);

/* An MLS PrivateMessage (wire format 2) for group `gid` with the given content type and
 * payload bytes. */
void tn_mls_private(xw_buf *out, const uint8_t *gid, size_t gidlen, uint8_t content_type,
                    const char *payload);

/* A key package signed with a fresh Ed25519 key; the public key (installation key) goes
 * to pk_out[32]. `inbox` names the inbox in the MlsCredential. */
void tn_key_package(xw_buf *out, const char *inbox, uint8_t pk_out[32], uint8_t sk_out[64]);
/* Another key package (fresh init and encryption keys) for the same installation key. */
void tn_key_package_again(xw_buf *out, const char *inbox, const uint8_t pk[32], const uint8_t sk[64]);
/* Variations of a key package (zero: as tn_key_package_again makes them). */
typedef struct {
    int same_init_enc;  /* init_key = leaf encryption_key, which RFC 9420 forbids */
    uint64_t not_after; /* lifetime end (0: 4000000000) */
    int bare_caps;      /* capabilities that list no version, suite or credential type */
} tn_kp_opts;
void tn_key_package_with(xw_buf *out, const char *inbox, const uint8_t pk[32], const uint8_t sk[64],
                         const tn_kp_opts *o);

/* --- raw HTTP/2 client --- */
typedef struct rawc rawc;
rawc *raw_connect(int port, int32_t initial_window);
/* The same from a chosen local address (e.g. "127.0.0.2": another client as the node sees
 * it); NULL if the connection fails. */
rawc *raw_connect_from(int port, int32_t initial_window, const char *src_ip);
/* Submits a request; returns the stream id. ctype NULL means application/grpc. */
int32_t raw_request(rawc *r, const char *path, const char *ctype, const uint8_t *body, size_t len);
/* The same with a grpc-timeout header (e.g. "300m"). */
int32_t raw_request_timeout(rawc *r, const char *path, const char *ctype, const uint8_t *body, size_t len,
                            const char *grpc_timeout);
/* Runs the session until stream `sid` closes, the connection ends, or ms pass. Returns 1 if
 * the stream closed. */
int raw_run(rawc *r, int32_t sid, int ms);
int raw_grpc_status(rawc *r); /* -1 if none, -2 if not a number from 0 to 16 */
int raw_http_status(rawc *r); /* 0 if none, -2 if not a status from 100 to 599 */
const char *raw_grpc_message(rawc *r);
size_t raw_data_len(rawc *r); /* DATA bytes received */
int raw_conn_closed(rawc *r); /* the server closed the connection / sent GOAWAY */
int raw_fd(rawc *r);
void raw_window_open(rawc *r, int32_t sid, int32_t bytes);
/* Sends SETTINGS_INITIAL_WINDOW_SIZE (every stream's window) and opens the connection's
 * window to 16 MiB. */
void raw_set_initial_window(rawc *r, int32_t bytes);
void raw_close(rawc *r);
/* Reads and handles whatever arrives within ms (then without waiting); 1 if anything came. */
int raw_pump(rawc *r, int ms);
size_t raw_data_all(rawc *r); /* DATA bytes received on all streams */
int raw_streams_closed(rawc *r);
/* Streams that ended with grpc-status 0, and with any other status (all stream ids). */
int raw_streams_ok(rawc *r);
int raw_streams_failed(rawc *r);
/* Request body bytes handed to the session so far (all streams). */
size_t raw_body_sent(rawc *r);

/* Body = gRPC prefix + message. */
void tn_grpc_body(xw_buf *out, const uint8_t *msg, size_t len);

/* --- MlsApi requests, packed into out (replacing what it held; the message alone, without
 * the gRPC prefix). Group ids are 16 bytes. --- */
/* SendGroupMessages with msgs[0..n) as V1 inputs. */
void tn_pack_send(xw_buf *out, const xw_buf *msgs, size_t n, int should_push);
/* QueryGroupMessages for gid; direction < 0 sends no paging info (the node's defaults). */
void tn_pack_query(xw_buf *out, const uint8_t *gid, int direction, uint32_t limit, uint64_t cursor);
/* SubscribeGroupMessages with a filter for each of gids[0..n), each from cursor. */
void tn_pack_subscribe(xw_buf *out, const uint8_t *const *gids, size_t n, uint64_t cursor);

#endif
