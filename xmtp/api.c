/*
 * gRPC over libcurl (see api.h). A call is one HTTP/2 POST whose body is the 5-byte gRPC
 * prefix and the request; the response body is parsed as it arrives into length-prefixed
 * messages (each checked against the maximum before it is buffered), and the header
 * callback, which libcurl also calls for HTTP/2 trailers, picks up grpc-status and
 * grpc-message.
 */
#include "xmtp/api.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/parse.h"
#include "xmtp/api_frame.h"

struct xmtp_api {
    char *url; /* without trailing slash */
    char *app_version, *libxmtp_version;
    char *ca_file; /* NULL = system store */
    int timeout_ms, connect_timeout_ms, retries, backoff_ms;
    size_t max_msg;
    int tls;
    CURL *unary; /* kept for connection reuse */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;
static void curl_init_once(void) { curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }

int xmtp_api_new(const xmtp_api_opts *o, xmtp_api **out, xw_errbuf *eb)
{
    pthread_once(&curl_once, curl_init_once);
    if (!curl_ok)
        return xw_errf(eb, XW_EINTERNAL, "libcurl failed to initialise");
    if (!o || !o->url)
        return xw_errf(eb, XW_EINVAL, "the node URL is required (e.g. http://127.0.0.1:5556)");
    int tls;
    if (strncmp(o->url, "http://", 7) == 0)
        tls = 0;
    else if (strncmp(o->url, "https://", 8) == 0)
        tls = 1;
    else
        return xw_errf(eb, XW_EINVAL, "node URL '%s' must start with http:// (h2c) or https:// (TLS)",
                       o->url);
    curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if (!(v->features & CURL_VERSION_HTTP2))
        return xw_errf(eb, XW_EUNSUPPORTED, "this libcurl has no HTTP/2 support; gRPC needs it");
    xmtp_api *a = xw_calloc(1, sizeof *a);
    if (!a)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    a->url = xw_strdup(o->url);
    a->app_version = xw_strdup(o->app_version ? o->app_version : "xmtp-worker/0.1");
    a->libxmtp_version = xw_strdup(o->libxmtp_version ? o->libxmtp_version : "xmtp-worker-c/0.1");
    if (o->ca_file) {
        FILE *f = fopen(o->ca_file, "r");
        if (!f) {
            xmtp_api_free(a);
            return xw_errf(eb, XW_EINVAL,
                           "cannot read the CA file '%s': give a readable PEM file of the "
                           "certificates to trust",
                           o->ca_file);
        }
        fclose(f);
        if (!tls) {
            xmtp_api_free(a);
            return xw_errf(eb, XW_EINVAL,
                           "a CA file was given for '%s', which is not https://; use https:// "
                           "for TLS or drop the CA file",
                           o->url);
        }
        a->ca_file = xw_strdup(o->ca_file);
        if (!a->ca_file) {
            xmtp_api_free(a);
            return xw_errf(eb, XW_ENOMEM, "out of memory");
        }
    }
    if (!a->url || !a->app_version || !a->libxmtp_version) {
        xmtp_api_free(a);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    size_t ul = strlen(a->url);
    while (ul > 8 && a->url[ul - 1] == '/')
        a->url[--ul] = 0;
    a->tls = tls;
    a->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
    a->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000;
    a->retries = o->retries < 0 ? 0 : o->retries > 0 ? o->retries : 4;
    a->backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : 100;
    a->max_msg = o->max_message_size ? o->max_message_size : 50u * 1024 * 1024;
    *out = a;
    return XW_OK;
}

void xmtp_api_free(xmtp_api *a)
{
    if (!a)
        return;
    if (a->unary)
        curl_easy_cleanup(a->unary);
    xw_free(a->url);
    xw_free(a->app_version);
    xw_free(a->ca_file);
    xw_free(a->libxmtp_version);
    xw_free(a);
}

/* --- one call ---------------------------------------------------------------------------------- */

typedef struct {
    xmtp_api *a;
    xmtp_api_status *st;
    int have_status;
    xmtp_grpc_deframer df; /* body parsing */
    int bad;               /* protocol error: stop */
    char bad_why[160];
    size_t nmsgs;
    /* delivery */
    int streaming;
    xw_buf *unary_out;
    const xmtp_api_stream_opts *so;
    int stopped; /* callback or cancel ended it */
    int opened;
} call_ctx;

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    call_ctx *c = ud;
    size_t len = size * n;
    const char *colon = memchr(buf, ':', len);
    if (len > 5 && strncmp(buf, "HTTP/", 5) == 0) {
        /* status line: "HTTP/2 200", "HTTP/1.1 200 OK" (RFC 9110 §15: three digits, 100-599) */
        const char *sp = memchr(buf, ' ', len);
        const char *code = sp ? sp + 1 : buf + len;
        size_t rest = (size_t)(buf + len - code), cl = 0;
        while (cl < rest && code[cl] != ' ' && code[cl] != '\r' && code[cl] != '\n')
            cl++;
        uint64_t status;
        xw_errbuf peb = {{0}};
        if (xw_parse_u64_len("HTTP status", code, cl, 100, 599, &status, &peb) == XW_OK) {
            c->st->http_status = (int)status;
        } else if (!c->bad) {
            c->bad = 1;
            snprintf(c->bad_why, sizeof c->bad_why, "the server sent an invalid status line (%.110s)",
                     peb.msg);
        }
        return len;
    }
    if (!colon) {
        /* the blank line after the response headers: a stream is open */
        if (c->streaming && !c->opened && c->st->http_status == 200 && len <= 2) {
            c->opened = 1;
            if (c->so->on_open)
                c->so->on_open(c->so->ctx);
        }
        return len;
    }
    size_t nl = (size_t)(colon - buf);
    const char *v = colon + 1;
    size_t vl = len - nl - 1;
    while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
    if (nl == 11 && strncasecmp(buf, "grpc-status", 11) == 0) {
        uint64_t code;
        xw_errbuf peb = {{0}};
        if (xw_parse_u64_len("grpc-status", v, vl, 0, 16, &code, &peb) != XW_OK) {
            c->bad = 1;
            snprintf(c->bad_why, sizeof c->bad_why, "the server sent an invalid grpc-status (%.110s)",
                     peb.msg);
        } else {
            c->st->code = (int)code;
            c->have_status = 1;
        }
    } else if (nl == 12 && strncasecmp(buf, "grpc-message", 12) == 0) {
        xmtp_grpc_pct_decode(v, vl, c->st->message, sizeof c->st->message);
    }
    return len;
}

static int deliver(void *ctx, const uint8_t *msg, size_t len)
{
    call_ctx *c = ctx;
    c->nmsgs++;
    if (!c->streaming) {
        if (c->nmsgs > 1) {
            c->bad = 1;
            snprintf(c->bad_why, sizeof c->bad_why, "the server sent more than one message for a unary call");
            return -1;
        }
        if (xw_buf_append(c->unary_out, msg, len) != XW_OK) {
            c->bad = 1;
            snprintf(c->bad_why, sizeof c->bad_why, "the response does not fit in the caller's buffer");
            return -1;
        }
        return 0;
    }
    if (c->so->on_message && c->so->on_message(c->so->ctx, msg, len) != 0) {
        c->stopped = 1;
        return -1;
    }
    return 0;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
    call_ctx *c = ud;
    size_t len = size * n;
    if (c->streaming && !c->opened) {
        c->opened = 1;
        if (c->so->on_open)
            c->so->on_open(c->so->ctx);
    }
    xw_errbuf eb = {{0}};
    int rc = xmtp_grpc_deframe(&c->df, (const uint8_t *)buf, len, deliver, c, &eb);
    if (rc == XW_OK)
        return len;
    if (rc != XW_ECLOSED && !c->bad) {
        c->bad = 1;
        snprintf(c->bad_why, sizeof c->bad_why, "%.150s", eb.msg);
    }
    return 0;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    call_ctx *c = ud;
    if (c->so && c->so->cancel && atomic_load(c->so->cancel)) {
        c->stopped = 1;
        return 1;
    }
    return 0;
}

static int http_to_grpc(int http)
{
    switch (http) {
    case 400:
        return XW_GRPC_INTERNAL;
    case 401:
        return 16;
    case 403:
        return 7;
    case 404:
        return XW_GRPC_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
        return XW_GRPC_UNAVAILABLE;
    default:
        return XW_GRPC_UNKNOWN;
    }
}

static int h2c_reuse_broken(void)
{
    curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    return v->version_num <= 0x075801; /* 7.88.1 */
}

/* One attempt. Returns XW_OK / XW_EGRPC / transport errors. */
/* Sets up the handle for one call; *hlp gets the header list to free after the transfer. */
static int setup(xmtp_api *a, CURL *h, const char *method, const uint8_t *body, size_t blen, int timeout_ms,
                 call_ctx *c, struct curl_slist **hlp, xw_errbuf *eb)
{
    char url[2048], tmo[64], av[300], lv[300];
    if ((size_t)snprintf(url, sizeof url, "%s%s", a->url, method) >= sizeof url)
        return xw_errf(eb, XW_EINVAL, "method path too long");
    struct curl_slist *hl = NULL, *t;
    hl = curl_slist_append(hl, "content-type: application/grpc");
    hl = (t = curl_slist_append(hl, "te: trailers")) ? t : hl;
    snprintf(av, sizeof av, "x-app-version: %s", a->app_version);
    snprintf(lv, sizeof lv, "x-libxmtp-version: %s", a->libxmtp_version);
    hl = (t = curl_slist_append(hl, av)) ? t : hl;
    hl = (t = curl_slist_append(hl, lv)) ? t : hl;
    if (timeout_ms > 0) {
        snprintf(tmo, sizeof tmo, "grpc-timeout: %dm", timeout_ms);
        hl = (t = curl_slist_append(hl, tmo)) ? t : hl;
    }
    hl = (t = curl_slist_append(hl, "expect:")) ? t : hl;
    /* (no curl_easy_reset: with libcurl 7.88 it breaks reuse of the HTTP/2 connection) */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                     a->tls ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)a->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    /* libcurl 7.88.1 with HTTP/2: data that arrived but was not handed over in one read pass
     * waits for the next socket event or its ~200 ms-1 s internal timeout, so every call
     * whose response took more than one read stalled that long (seen on every
     * QueryGroupMessages page from xmtp-devnode: one recvfrom of the whole page, then poll
     * timeouts). A receive buffer of 1 MiB (libcurl's default is 16 KiB) takes a page of
     * group messages in one pass; larger responses still take the stall per extra pass. */
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 1048576L);
    /* libcurl 7.88.1 (Debian 12) breaks a reused prior-knowledge h2c connection ("Error in the
     * HTTP2 framing layer", curl issue #10634, fixed after 7.88.1): use a fresh connection
     * per call for http:// nodes. TLS connections are reused. */
    if (!a->tls && h2c_reuse_broken())
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    if (a->tls) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        if (a->ca_file)
            curl_easy_setopt(h, CURLOPT_CAINFO, a->ca_file);
    }
    if (getenv("XMTP_API_VERBOSE"))
        curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    if (timeout_ms > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    if (c->streaming) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    }
    *hlp = hl;
    return XW_OK;
}

/* The outcome of a finished transfer. */
static int finish(xmtp_api *a, const char *method, CURLcode cc, int timeout_ms, call_ctx *c, xw_errbuf *eb)
{
    if (c->stopped)
        return xw_errf(eb, XW_ECLOSED, "the stream was ended by the caller");
    if (c->bad) {
        snprintf(c->st->message, sizeof c->st->message, "%s", c->bad_why);
        return xw_errf(eb, XW_EPROTOCOL, "%s%s: %s", a->url, method, c->bad_why);
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(c->st->message, sizeof c->st->message, "deadline of %d ms exceeded", timeout_ms);
        c->st->code = c->have_status ? c->st->code : XW_GRPC_DEADLINE_EXCEEDED;
        return xw_errf(eb, XW_ETIMEOUT, "%s%s: no answer within %d ms", a->url, method, timeout_ms);
    }
    if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE) {
        snprintf(c->st->message, sizeof c->st->message, "%s", curl_easy_strerror(cc));
        return xw_errf(eb, XW_EDENIED,
                       "%s%s: the node's TLS certificate was not accepted (%s); if the node uses a "
                       "private CA or a self-signed certificate, pass its PEM file as the CA file",
                       a->url, method, curl_easy_strerror(cc));
    }
    if (cc != CURLE_OK && !c->have_status) {
        snprintf(c->st->message, sizeof c->st->message, "%s", curl_easy_strerror(cc));
        return xw_errf(eb, XW_ENETWORK, "%s%s: %s; is the node running?", a->url, method,
                       curl_easy_strerror(cc));
    }
    if (!c->have_status) {
        if (c->st->http_status != 200) {
            c->st->code = http_to_grpc(c->st->http_status);
            snprintf(c->st->message, sizeof c->st->message, "HTTP status %d without gRPC status",
                     c->st->http_status);
            return xw_errf(eb, XW_EGRPC, "%s%s: HTTP %d", a->url, method, c->st->http_status);
        }
        snprintf(c->st->message, sizeof c->st->message, "the response ended without grpc-status trailers");
        return xw_errf(eb, XW_EPROTOCOL, "%s%s: the response ended without grpc-status", a->url, method);
    }
    if (xmtp_grpc_deframer_partial(&c->df)) {
        snprintf(c->st->message, sizeof c->st->message, "the response ended inside a gRPC message");
        return xw_errf(eb, XW_EPROTOCOL, "%s%s: the response ended inside a gRPC message", a->url, method);
    }
    if (c->st->code != XW_GRPC_OK)
        return xw_errf(eb, XW_EGRPC, "%s failed: %d %s", method, c->st->code, c->st->message);
    if (!c->streaming && c->nmsgs != 1)
        return xw_errf(eb, XW_EPROTOCOL, "%s: status OK but %zu response messages (expected 1)", method,
                       c->nmsgs);
    return XW_OK;
}

static int attempt(xmtp_api *a, CURL *h, const char *method, const uint8_t *body, size_t blen, int timeout_ms,
                   call_ctx *c, xw_errbuf *eb)
{
    struct curl_slist *hl = NULL;
    int rc = setup(a, h, method, body, blen, timeout_ms, c, &hl, eb);
    if (rc != XW_OK)
        return rc;
    CURLcode cc = curl_easy_perform(h);
    curl_slist_free_all(hl);
    return finish(a, method, cc, timeout_ms, c, eb);
}

static int build_body(const uint8_t *req, size_t len, uint8_t **out, xw_errbuf *eb)
{
    if (len > 0xffffffffu)
        return xw_errf(eb, XW_ETOOBIG, "request of %zu bytes does not fit in one gRPC message", len);
    uint8_t *b = xw_malloc(5 + len);
    if (!b)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    b[0] = 0;
    b[1] = (uint8_t)(len >> 24);
    b[2] = (uint8_t)(len >> 16);
    b[3] = (uint8_t)(len >> 8);
    b[4] = (uint8_t)len;
    if (len)
        memcpy(b + 5, req, len);
    *out = b;
    return XW_OK;
}

int xmtp_api_unary(xmtp_api *a, const char *method, const uint8_t *req, size_t len, xw_buf *resp,
                   xmtp_api_status *st, xw_errbuf *eb)
{
    xmtp_api_status local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    st->code = -1;
    uint8_t *body;
    int rc = build_body(req, len, &body, eb);
    if (rc)
        return rc;
    if (!a->unary && !(a->unary = curl_easy_init())) {
        xw_free(body);
        return xw_errf(eb, XW_ENOMEM, "curl_easy_init failed");
    }
    int64_t start = xw_clock_mono_ns(xw_clock_real());
    int64_t deadline = start + (int64_t)a->timeout_ms * XW_NS_PER_MS;
    int delay = a->backoff_ms;
    size_t mark = resp->len;
    for (int i = 0;; i++) {
        call_ctx c = {.a = a, .st = st, .unary_out = resp};
        xmtp_grpc_deframer_init(&c.df, a->max_msg);
        int left = (int)((deadline - xw_clock_mono_ns(xw_clock_real())) / XW_NS_PER_MS);
        st->code = -1;
        st->http_status = 0;
        st->message[0] = 0;
        st->attempts = i + 1;
        rc = left > 0 ? attempt(a, a->unary, method, body, 5 + len, left, &c, eb)
                      : xw_errf(eb, XW_ETIMEOUT, "%s: deadline of %d ms exceeded", method, a->timeout_ms);
        xmtp_grpc_deframer_free(&c.df);
        int retriable = rc == XW_ENETWORK || (rc == XW_EGRPC && st->code == XW_GRPC_UNAVAILABLE);
        if (rc == XW_OK || !retriable || i >= a->retries)
            break;
        xw_buf_truncate(resp, mark);
        /* the connection may be dead: start the next attempt on a fresh one */
        curl_easy_cleanup(a->unary);
        a->unary = curl_easy_init();
        if (!a->unary) {
            rc = xw_errf(eb, XW_ENOMEM, "curl_easy_init failed");
            break;
        }
        int jitter = delay > 4 ? (int)(random() % (delay / 4 + 1)) : 0;
        int wait = delay + jitter;
        int64_t now = xw_clock_mono_ns(xw_clock_real());
        if (now + (int64_t)wait * XW_NS_PER_MS >= deadline)
            break;
        xw_sleep_ms(wait);
        delay = delay < 5000 ? delay * 2 : delay;
    }
    if (rc != XW_OK)
        xw_buf_truncate(resp, mark);
    xw_free(body);
    return rc;
}

int xmtp_api_stream(xmtp_api *a, const char *method, const uint8_t *req, size_t len,
                    const xmtp_api_stream_opts *so, xmtp_api_status *st, xw_errbuf *eb)
{
    xmtp_api_status local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    st->code = -1;
    st->attempts = 1;
    uint8_t *body;
    int rc = build_body(req, len, &body, eb);
    if (rc)
        return rc;
    CURL *h = curl_easy_init();
    if (!h) {
        xw_free(body);
        return xw_errf(eb, XW_ENOMEM, "curl_easy_init failed");
    }
    call_ctx c = {.a = a, .st = st, .streaming = 1, .so = so};
    xmtp_grpc_deframer_init(&c.df, a->max_msg);
    rc = attempt(a, h, method, body, 5 + len, so->deadline_ms, &c, eb);
    xmtp_grpc_deframer_free(&c.df);
    curl_easy_cleanup(h);
    xw_free(body);
    return rc;
}

/* --- a stream driven by the caller ------------------------------------------------------------- */

struct xmtp_api_sub {
    xmtp_api *a;
    CURLM *m;
    CURL *h;
    struct curl_slist *hl;
    uint8_t *body;
    call_ctx c;
    xmtp_api_status st;
    xmtp_api_stream_opts so;
    char method[256];
    int done, rc;
    char why[256];
};

void xmtp_api_sub_close(xmtp_api_sub *s)
{
    if (!s)
        return;
    if (s->m && s->h)
        curl_multi_remove_handle(s->m, s->h);
    if (s->h)
        curl_easy_cleanup(s->h);
    if (s->m)
        curl_multi_cleanup(s->m);
    curl_slist_free_all(s->hl);
    xmtp_grpc_deframer_free(&s->c.df);
    xw_free(s->body);
    xw_free(s);
}

int xmtp_api_sub_open(xmtp_api *a, const char *method, const uint8_t *req, size_t len,
                      const xmtp_api_stream_opts *so, xmtp_api_sub **out, xw_errbuf *eb)
{
    xmtp_api_sub *s = xw_calloc(1, sizeof *s);
    if (!s)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    if ((size_t)snprintf(s->method, sizeof s->method, "%s", method) >= sizeof s->method) {
        xw_free(s);
        return xw_errf(eb, XW_EINVAL, "method path too long");
    }
    s->a = a;
    s->so = *so;
    s->st.code = -1;
    s->st.attempts = 1;
    s->c = (call_ctx){.a = a, .st = &s->st, .streaming = 1, .so = &s->so};
    xmtp_grpc_deframer_init(&s->c.df, a->max_msg);
    int rc = build_body(req, len, &s->body, eb);
    if (rc != XW_OK) {
        xmtp_grpc_deframer_free(&s->c.df);
        xw_free(s);
        return rc;
    }
    s->h = curl_easy_init();
    s->m = curl_multi_init();
    if (!s->h || !s->m) {
        xmtp_api_sub_close(s);
        return xw_errf(eb, XW_ENOMEM, "curl initialisation failed");
    }
    rc = setup(a, s->h, s->method, s->body, 5 + len, so->deadline_ms, &s->c, &s->hl, eb);
    if (rc == XW_OK && curl_multi_add_handle(s->m, s->h) != CURLM_OK)
        rc = xw_errf(eb, XW_ENOMEM, "curl_multi_add_handle failed");
    if (rc != XW_OK) {
        xmtp_api_sub_close(s);
        return rc;
    }
    *out = s;
    return XW_OK;
}

int xmtp_api_sub_poll(xmtp_api_sub *s, int timeout_ms, int *ended, xmtp_api_status *st, xw_errbuf *eb)
{
    *ended = 0;
    if (s->done) {
        *ended = 1;
        if (st)
            *st = s->st;
        return s->rc == XW_OK ? XW_OK : xw_errf(eb, s->rc, "%s", s->why);
    }
    int64_t deadline =
        xw_clock_mono_ns(xw_clock_real()) + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * XW_NS_PER_MS;
    size_t before = s->c.nmsgs;
    for (;;) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(s->m, &running);
        if (mc != CURLM_OK)
            return xw_errf(eb, XW_ENETWORK, "%s: %s", s->method, curl_multi_strerror(mc));
        int left_msgs = 0;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(s->m, &left_msgs)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            xw_errbuf fe = {{0}};
            s->done = 1;
            s->rc = finish(s->a, s->method, msg->data.result, s->so.deadline_ms, &s->c, &fe);
            snprintf(s->why, sizeof s->why, "%s", fe.msg);
        }
        if (s->done || s->c.nmsgs > before)
            break;
        int64_t now = xw_clock_mono_ns(xw_clock_real());
        if (now >= deadline)
            break;
        int wait = (int)((deadline - now + XW_NS_PER_MS - 1) / XW_NS_PER_MS);
        if (curl_multi_poll(s->m, NULL, 0, wait, NULL) != CURLM_OK)
            return xw_errf(eb, XW_ENETWORK, "%s: waiting for the stream failed", s->method);
    }
    if (st)
        *st = s->st;
    if (!s->done)
        return XW_OK;
    *ended = 1;
    return s->rc == XW_OK ? XW_OK : xw_errf(eb, s->rc, "%s", s->why);
}
