/*
 * gRPC client for an XMTP node over libcurl HTTP/2: prior-knowledge h2c for http:// URLs,
 * TLS with ALPN h2 for https:// URLs (XMTP's hosted nodes).
 *
 * Calls take and return serialized protobuf messages (the caller packs and unpacks with
 * the generated code in build/gen/xmtp): `xmtp_api_unary` for request/response RPCs and
 * `xmtp_api_stream` for server streams (SubscribeGroupMessages, SubscribeWelcomeMessages).
 * The outcome is the grpc-status from the trailers (or the HTTP status when the server sent
 * no gRPC status), with the percent-decoded grpc-message.
 *
 * Every request carries `content-type: application/grpc`, `te: trailers`, `grpc-timeout`
 * (the call's deadline), `x-app-version` and `x-libxmtp-version` (the same header names
 * libxmtp sends; node-go forwards them). Unary calls that fail with UNAVAILABLE or with a
 * connection error are retried with exponential backoff and jitter until the deadline.
 *
 * For https:// the node's certificate and host name are always verified, against the system's
 * CA store or against `ca_file` when given; a certificate that does not verify fails the call
 * with XW_EDENIED at once (no retry).
 *
 * Set XMTP_API_VERBOSE=1 in the environment to see libcurl's trace of every call on stderr.
 *
 * Threads: an xmtp_api handle serves one thread at a time for unary calls (it keeps one
 * connection and reuses it). Streams open their own connection, so a stream may run in
 * another thread while unary calls go on; xmtp_api_stream_cancel may be called from any
 * thread.
 */
#ifndef XW_XMTP_API_H
#define XW_XMTP_API_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/grpc_status.h"

typedef struct xmtp_api xmtp_api;

typedef struct {
    const char *url;             /* "http://127.0.0.1:5556" or "https://grpc.dev.xmtp.network:443" */
    const char *app_version;     /* x-app-version; default "xmtp-worker/0.1" */
    const char *libxmtp_version; /* x-libxmtp-version; default "xmtp-worker-c/0.1" */
    int timeout_ms;              /* deadline of a unary call, retries included; default 30000 */
    int connect_timeout_ms;      /* default 10000 */
    int retries;                 /* extra attempts on UNAVAILABLE; default 4; -1 = none */
    int backoff_ms;              /* first retry delay, doubled each time; default 100 */
    size_t max_message_size;     /* largest response message accepted; default 50 MiB */
    const char *ca_file;         /* https://: PEM file of CAs to trust instead of the system's
                                    (a private node's own CA or self-signed certificate);
                                    NULL = the system store. Certificates are always verified. */
} xmtp_api_opts;

typedef struct {
    int code;          /* grpc-status (XW_GRPC_*), or -1 when the call failed before any status arrived */
    int http_status;   /* :status of the response, 0 if none */
    char message[256]; /* percent-decoded grpc-message (or a transport error) */
    int attempts;      /* how many times the call was sent */
} xmtp_api_status;

int xmtp_api_new(const xmtp_api_opts *opts, xmtp_api **out, xw_errbuf *eb);
void xmtp_api_free(xmtp_api *a);

/*
 * One unary call. `method` is the full path ("/xmtp.mls.api.v1.MlsApi/QueryGroupMessages").
 * On grpc-status 0 the response message is appended to resp and XW_OK returned. Otherwise:
 * XW_EGRPC with st->code set (st->message says why), XW_ETIMEOUT past the deadline,
 * XW_ENETWORK when the node could not be reached, XW_EDENIED when its TLS certificate did not
 * verify, XW_EPROTOCOL when the response was not
 * valid gRPC. st may be NULL.
 */
int xmtp_api_unary(xmtp_api *a, const char *method, const uint8_t *req, size_t len, xw_buf *resp,
                   xmtp_api_status *st, xw_errbuf *eb);

/* Called for each message of a stream; returns 0 to go on, non-zero to end the stream. */
typedef int (*xmtp_api_msg_fn)(void *ctx, const uint8_t *msg, size_t len);
/* Called once when the response headers arrive (the node sends them at once). Optional. */
typedef void (*xmtp_api_open_fn)(void *ctx);

typedef struct {
    xmtp_api_msg_fn on_message;
    xmtp_api_open_fn on_open;
    void *ctx;
    const atomic_int *cancel; /* optional: set to non-zero (any thread) to end the stream */
    int deadline_ms;          /* 0 = no deadline */
} xmtp_api_stream_opts;

/*
 * A server-streaming call; blocks until the server ends the stream (XW_OK if its status is
 * OK, XW_EGRPC otherwise, e.g. ABORTED or UNAVAILABLE), the callback stops it or `cancel`
 * is set (XW_ECLOSED), or the transport fails (XW_ENETWORK, XW_EPROTOCOL, XW_ETIMEOUT).
 * Streams are not retried: the caller resubscribes from its cursor.
 */
int xmtp_api_stream(xmtp_api *a, const char *method, const uint8_t *req, size_t len,
                    const xmtp_api_stream_opts *so, xmtp_api_status *st, xw_errbuf *eb);

/*
 * The same server stream driven by the caller instead of a blocking call (for code that
 * owns no thread): xmtp_api_sub_open starts the call without waiting; each
 * xmtp_api_sub_poll runs the transfer for at most timeout_ms, calling so->on_message for
 * what arrives, and returns as soon as at least one message was delivered. *ended = 1 once
 * the stream is over, with the code xmtp_api_stream would have returned (XW_OK for a
 * status OK end). so->cancel and so->on_open are honoured as there.
 */
typedef struct xmtp_api_sub xmtp_api_sub;
int xmtp_api_sub_open(xmtp_api *a, const char *method, const uint8_t *req, size_t len,
                      const xmtp_api_stream_opts *so, xmtp_api_sub **out, xw_errbuf *eb);
int xmtp_api_sub_poll(xmtp_api_sub *s, int timeout_ms, int *ended, xmtp_api_status *st, xw_errbuf *eb);
void xmtp_api_sub_close(xmtp_api_sub *s);

/* Full method paths of the v3 API. */
#define XMTP_MLS_API "/xmtp.mls.api.v1.MlsApi/"
#define XMTP_IDENTITY_API "/xmtp.identity.api.v1.IdentityApi/"

#endif
