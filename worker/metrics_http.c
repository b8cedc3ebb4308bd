/*
 * The metrics endpoint (metrics.h) on libmicrohttpd.
 *
 * The listening socket is made here (getaddrinfo, bind, listen) so that a failure says
 * exactly what went wrong ("cannot listen on 127.0.0.1:9464: Address already in use");
 * libmicrohttpd then serves it from its own thread. Each request gets a response built for
 * it: /metrics renders the registry into a buffer handed to libmicrohttpd, which frees it
 * when sent. Requests have no body we read: anything but GET and HEAD is answered 405.
 */
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "worker/metrics.h"
#include "worker/util.h"

#define MAX_CONNECTIONS 16
#define IDLE_TIMEOUT_S 10

struct wk_metrics_server {
    struct MHD_Daemon *d;
    wk_metrics *m;
    unsigned port;
};

static void buffer_free(void *p) { xw_free(p); }

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, void *body,
                             size_t len, int owned)
{
    struct MHD_Response *r = owned
                                 ? MHD_create_response_from_buffer_with_free_callback(len, body, buffer_free)
                                 : MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned)
            xw_free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned status, const char *fmt, const char *arg)
{
    char *msg = xw_malloc(512);
    if (!msg)
        return MHD_NO;
    int n = snprintf(msg, 512, fmt, arg);
    return reply(c, status, "text/plain; charset=utf-8", msg, n < 512 ? (size_t)n : 511, 1);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **req)
{
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)req;
    wk_metrics_server *s = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "%s is not allowed; use GET or HEAD\n", method);
    if (strcmp(url, "/metrics") == 0) {
        xw_buf b;
        xw_buf_init(&b, WK_METRICS_MAX_OUTPUT);
        int rc = wk_metrics_render(s->m, &b);
        if (rc != XW_OK) {
            xw_buf_free(&b);
            xw_log_error("metrics", "cannot render the metrics: %s", xw_strerror(rc));
            return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render the metrics: %s\n",
                        xw_strerror(rc));
        }
        size_t len;
        uint8_t *body = xw_buf_detach(&b, &len);
        return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len, body != NULL);
    }
    if (strcmp(url, "/healthz") == 0)
        return text(c, MHD_HTTP_OK, "%s", "ok\n");
    if (strcmp(url, "/readyz") == 0) {
        char why[256];
        if (wk_metrics_ready(s->m, why, sizeof why))
            return text(c, MHD_HTTP_OK, "%s", "ready\n");
        return text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready: %s\n", why);
    }
    return text(c, MHD_HTTP_NOT_FOUND, "%s", "not found; the paths are /metrics, /healthz and /readyz\n");
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    xw_log_warn("metrics", "%s", msg);
}

static int listen_on(const char *address, int *fd_out, int *v6, unsigned *bound, xw_errbuf *eb)
{
    char host[WK_HOST_MAX], port_s[8];
    unsigned port;
    if (wk_hostport_parse(address, strlen(address), 1, host, &port) != 0)
        return xw_errf(eb, XW_EINVAL, "metrics address \"%.64s\" is not host:port", address);
    snprintf(port_s, sizeof port_s, "%u", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    int gai = getaddrinfo(host, port_s, &hints, &res);
    if (gai != 0)
        return xw_errf(eb, XW_EIO, "cannot listen on %s: %s", address, gai_strerror(gai));
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, MAX_CONNECTIONS) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return xw_errf(eb, XW_EIO, "cannot listen on %s: %s", address, strerror(e));
    }
    *v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    *bound = port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return XW_OK;
}

int wk_metrics_serve(wk_metrics *m, const char *address, wk_metrics_server **out, xw_errbuf *eb)
{
    *out = NULL;
    int fd = -1, v6 = 0;
    unsigned port = 0;
    int rc = listen_on(address, &fd, &v6, &port, eb);
    if (rc != XW_OK)
        return rc;
    wk_metrics_server *s = xw_calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    s->m = m;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    s->d =
        MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                         MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_END);
    if (!s->d) {
        close(fd);
        xw_free(s);
        return xw_errf(eb, XW_EIO, "cannot serve metrics on %s (libmicrohttpd did not start; see the log)",
                       address);
    }
    s->port = port;
    *out = s;
    return XW_OK;
}

unsigned wk_metrics_server_port(const wk_metrics_server *s) { return s->port; }

void wk_metrics_server_stop(wk_metrics_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->d); /* closes the listening socket too */
    xw_free(s);
}
