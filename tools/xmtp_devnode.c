/*
 * xmtp-devnode: a local XMTP v3 node (MlsApi and IdentityApi over gRPC/h2c, SQLite store)
 * for development and tests. See docs/devnode.md.
 *
 *   xmtp-devnode [--listen 127.0.0.1:5556] [--db devnode.db | --db :memory:] [--log-level L]
 *                [--max-message-size BYTES] [--port-file PATH] [limits, see usage()]
 *
 * SIGTERM and SIGINT stop it gracefully: open streams end with UNAVAILABLE, connections get
 * GOAWAY, the store is closed cleanly.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/parse.h"
#include "node/rpc.h"
#include "node/server.h"
#include "node/store.h"

static node_server *g_server;

/* Memory freed by clients goes back to the system, so RSS follows what the node holds:
 * glibc keeps freed blocks below the mmap threshold in its heaps otherwise. */
static void give_back_memory(void) { malloc_trim(0); }

static void on_signal(int sig)
{
    (void)sig;
    if (g_server)
        node_server_stop(g_server);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xmtp-devnode [--listen HOST:PORT] [--db PATH|:memory:] [--log-level "
            "trace|debug|info|warn|error|off]\n"
            "                    [--log-json] [--max-message-size BYTES] [--port-file PATH]\n"
            "                    [--max-connections N] [--max-connections-per-address N]\n"
            "                    [--handshake-timeout S] [--idle-timeout S] [--stall-timeout S]\n"
            "                    [--max-connection-memory BYTES] [--max-memory BYTES]\n"
            "A local XMTP v3 node (gRPC over h2c) for development and tests.\n"
            "Defaults: --listen 127.0.0.1:5556 --db devnode.db --log-level info --max-message-size 52428800\n"
            "          --max-connections 4096 --max-connections-per-address 512 --handshake-timeout 10\n"
            "          --idle-timeout 300 --stall-timeout 30 --max-connection-memory 67108864\n"
            "          --max-memory 536870912 (see docs/devnode.md, \"Limits\")\n");
}

/* A whole number from lo to hi (common/parse.h), or an error with a message naming the
 * option on stderr. */
static int parse_count(const char *opt, const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
    xw_errbuf eb = {{0}};
    int rc = xw_parse_u64(opt, v, lo, hi, out, &eb);
    if (rc != XW_OK)
        fprintf(stderr, "xmtp-devnode: %s\n", eb.msg);
    return rc;
}

/* Seconds (decimals allowed) from 0.01 to a week, as milliseconds; -1 with a message. */
static int64_t parse_seconds(const char *opt, const char *v)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= 0.01 && d <= 604800)) {
        fprintf(stderr, "xmtp-devnode: %s must be seconds from 0.01 to 604800 (decimals allowed)\n", opt);
        return -1;
    }
    return (int64_t)(d * 1000 + 0.5);
}

int main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:5556", *db = "devnode.db", *port_file = NULL;
    size_t max_msg = NODE_DEFAULT_MAX_MESSAGE;
    node_server_opts opts = {.listen = listen};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--log-json")) {
            xw_log_set_format(XW_LOG_JSON);
            continue;
        }
        if (!v) {
            fprintf(stderr, "xmtp-devnode: %s needs a value\n", a);
            usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "--listen")) {
            /* the port is checked here: the resolver would take "-5" or "99999" as a port */
            const char *colon = strrchr(v, ':');
            uint64_t port;
            xw_errbuf peb = {{0}};
            if (!colon) {
                fprintf(stderr, "xmtp-devnode: --listen takes HOST:PORT (e.g. 127.0.0.1:5556), got '%s'\n",
                        v);
                return 2;
            }
            if (xw_parse_u64("the --listen port", colon + 1, 0, 65535, &port, &peb) != XW_OK) {
                fprintf(stderr, "xmtp-devnode: %s (0 picks a free port)\n", peb.msg);
                return 2;
            }
            listen = v;
        } else if (!strcmp(a, "--db")) {
            db = v;
        } else if (!strcmp(a, "--port-file")) {
            port_file = v;
        } else if (!strcmp(a, "--log-level")) {
            int l = xw_log_level_parse(v);
            if (l < 0) {
                fprintf(stderr,
                        "xmtp-devnode: unknown log level '%s' (trace, debug, info, warn, error, off)\n", v);
                return 2;
            }
            xw_log_set_level((xw_log_level)l);
        } else if (!strcmp(a, "--max-message-size")) {
            uint64_t n;
            if (parse_count(a, v, 1024, UINT64_C(1) << 31, &n) != XW_OK)
                return 2;
            max_msg = (size_t)n;
        } else if (!strcmp(a, "--max-connections") || !strcmp(a, "--max-connections-per-address")) {
            uint64_t n;
            if (parse_count(a, v, 1, 1000000, &n) != XW_OK)
                return 2;
            if (!strcmp(a, "--max-connections-per-address"))
                opts.max_per_address = (uint32_t)n;
            else
                opts.max_connections = (uint32_t)n;
        } else if (!strcmp(a, "--max-connection-memory") || !strcmp(a, "--max-memory")) {
            uint64_t n;
            if (parse_count(a, v, 1 << 20, UINT64_C(1) << 46, &n) != XW_OK)
                return 2;
            if (!strcmp(a, "--max-memory"))
                opts.max_memory = (size_t)n;
            else
                opts.max_connection_memory = (size_t)n;
        } else if (!strcmp(a, "--handshake-timeout") || !strcmp(a, "--idle-timeout") ||
                   !strcmp(a, "--stall-timeout")) {
            int64_t ms = parse_seconds(a, v);
            if (ms < 0)
                return 2;
            if (!strcmp(a, "--handshake-timeout"))
                opts.handshake_timeout_ms = ms;
            else if (!strcmp(a, "--idle-timeout"))
                opts.idle_timeout_ms = ms;
            else
                opts.stall_timeout_ms = ms;
        } else {
            fprintf(stderr, "xmtp-devnode: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "xmtp-devnode: libsodium failed to initialise\n");
        return 1;
    }
    /* Request and response buffers (up to a message each) come and go with clients: from
     * 256 KiB up they get pages of their own, given back to the system when freed (smaller
     * ones by give_back_memory), so the node's RSS follows what it holds (docs/devnode.md,
     * "Limits"). A fixed threshold also stops glibc from raising it to 32 MiB after the
     * first large free. */
    mallopt(M_MMAP_THRESHOLD, 256 << 10);
    xw_errbuf eb = {{0}};
    node_ctx ctx = {.max_msg = max_msg};
    if (node_store_open(db, &ctx.store, &eb) != XW_OK) {
        fprintf(stderr, "xmtp-devnode: %s\n", eb.msg);
        return 1;
    }
    if (node_ctx_init(&ctx, &eb) != XW_OK) {
        fprintf(stderr, "xmtp-devnode: %s\n", eb.msg);
        node_store_close(ctx.store);
        return 1;
    }
    node_method methods[NODE_RPC_MAX_METHODS];
    size_t nm = node_rpc_methods(&ctx, methods, NODE_RPC_MAX_METHODS);
    opts.listen = listen;
    opts.max_message_size = max_msg;
    opts.memory_freed = give_back_memory;
    if (node_server_new(&opts, methods, nm, &g_server, &eb) != XW_OK) {
        fprintf(stderr, "xmtp-devnode: %s\n", eb.msg);
        node_ctx_fini(&ctx);
        node_store_close(ctx.store);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (port_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", node_server_port(g_server)) < 0 || fclose(f) != 0 ||
            rename(tmp, port_file)) {
            fprintf(stderr, "xmtp-devnode: cannot write the port file %s: %s\n", port_file, strerror(errno));
            node_server_free(g_server);
            node_ctx_fini(&ctx);
            node_store_close(ctx.store);
            return 1;
        }
    }
    xw_log_info("node", "xmtp-devnode listening on %s (port %d), store %s, %zu methods", listen,
                node_server_port(g_server), db, nm);
    int rc = node_server_run(g_server, 2000);
    node_server_free(g_server);
    g_server = NULL;
    node_ctx_fini(&ctx);
    node_store_close(ctx.store);
    xw_log_info("node", "stopped");
    return rc == XW_OK ? 0 : 1;
}
