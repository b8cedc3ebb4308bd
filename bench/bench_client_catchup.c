/*
 * bench_client_catchup: the C client (xmtp/client) catching up a backlog of group messages
 * from the dev node, against libxmtp 1.9.1's group.sync() on the same backlog from the same
 * node in the same run (issue 15's speed goal: at least 10 times libxmtp).
 *
 * Without arguments it runs the whole benchmark: tests/interop/bench_client_catchup.mjs starts
 * build/xmtp-devnode, registers this program's installation (and a libxmtp reader), has
 * libxmtp senders write the backlog after both joined, times libxmtp's sync, then calls this
 * program to time the C client's catch-up, and prints both rates and their ratio.
 * BENCH_MESSAGES sets the backlog size (default 10,000).
 *
 * The modes the script calls (one JSON line each):
 *   bench_client_catchup --node URL --db FILE init WALLET_HEX   {"inbox":..}
 *   bench_client_catchup --node URL --db FILE join              {"joined":..}
 *   bench_client_catchup --node URL --db FILE catchup           {"messages":..,"seconds":..}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "xmtp/client/client.h"

static int usage(void)
{
    fprintf(stderr, "usage: bench_client_catchup [--node URL --db FILE init WALLET_HEX | join | catchup]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc == 1) {
        char *args[] = {"node", "tests/interop/bench_client_catchup.mjs", "build/xmtp-devnode", argv[0],
                        NULL};
        execvp(args[0], args);
        perror("node");
        return 1;
    }
    const char *url = NULL, *db = NULL;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--node") == 0)
            url = argv[i + 1];
        else if (strcmp(argv[i], "--db") == 0)
            db = argv[i + 1];
        else
            return usage();
    }
    if (!url || !db || i >= argc)
        return usage();
    const char *cmd = argv[i++];
    xw_errbuf eb = {{0}};
    xc_node *node = NULL;
    xc_client *c = NULL;
    xmtp_wallet *w = NULL;
    int rc = xc_node_api_new(url, &node, &eb);
    xc_client_opts o = {.db_path = db, .node = node};
    if (rc == XW_OK && strcmp(cmd, "init") == 0) {
        if (i >= argc)
            return usage();
        rc = xmtp_wallet_from_hex(argv[i], &w, &eb);
        if (rc == XW_OK)
            rc = xc_client_create(&o, w, &c, &eb);
        if (rc == XW_OK)
            printf("{\"inbox\":\"%s\"}\n", xc_client_inbox_id(c));
    } else if (rc == XW_OK && strcmp(cmd, "join") == 0) {
        xc_welcome_stats ws = {0};
        rc = xc_client_open(&o, &c, &eb);
        if (rc == XW_OK)
            rc = xc_client_sync_welcomes(c, &ws, &eb);
        if (rc == XW_OK)
            printf("{\"joined\":%zu}\n", ws.joined);
    } else if (rc == XW_OK && strcmp(cmd, "catchup") == 0) {
        xc_sync_stats st = {0};
        rc = xc_client_open(&o, &c, &eb);
        int64_t t0 = xw_clock_mono_ns(xw_clock_real());
        if (rc == XW_OK)
            rc = xc_client_sync_all(c, &st, &eb);
        int64_t t1 = xw_clock_mono_ns(xw_clock_real());
        if (rc == XW_OK)
            printf("{\"messages\":%zu,\"envelopes\":%zu,\"quarantined\":%zu,\"seconds\":%.6f}\n", st.messages,
                   st.envelopes, st.quarantined, (double)(t1 - t0) / 1e9);
    } else if (rc == XW_OK) {
        return usage();
    }
    if (rc != XW_OK)
        fprintf(stderr, "bench_client_catchup %s: %s: %s\n", cmd, xw_errname(rc), eb.msg);
    xc_client_free(c);
    xmtp_wallet_free(w);
    xc_node_free(node);
    return rc == XW_OK ? 0 : 1;
}
