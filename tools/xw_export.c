/*
 * xw-export: runs the exporter on an outbox file, to Kafka or to JSON lines.
 *
 *   xw-export --outbox FILE --brokers HOST:PORT[,...] --topic TOPIC [options]
 *   xw-export --outbox FILE --jsonl PATH|- [options]
 *   xw-export --outbox FILE --list-failed | --requeue-failed | --counts
 *
 * The worker runs the same exporter in-process; this program is for operations (drain an
 * outbox, inspect and requeue failed events) and for the tests that SIGKILL an exporter.
 * SIGINT/SIGTERM stop it gracefully: in-flight reports are collected (up to 10 s) and
 * settled. Exit status 0 on success, 1 on error, 2 on bad usage.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/parse.h"
#include "pipeline/exporter.h"
#include "tools/process_setup.h"

static pl_exporter *g_ex;

static void on_signal(int sig)
{
    (void)sig;
    if (g_ex)
        pl_exporter_stop(g_ex);
}

static void usage(const char *why)
{
    if (why)
        fprintf(stderr, "xw-export: %s\n", why);
    fprintf(stderr,
            "usage: xw-export --outbox FILE (--brokers LIST --topic TOPIC | --jsonl PATH|-) [options]\n"
            "       xw-export --outbox FILE (--counts | --list-failed | --requeue-failed)\n"
            "options:\n"
            "  --topic-for KIND=TOPIC   topic for one event kind (message, reaction, ...)\n"
            "  --prop NAME=VALUE        extra librdkafka property (security, tuning)\n"
            "  --fsync                  JSON lines: fsync before a line counts as delivered\n"
            "  --until-empty            exit once the outbox is empty (default: run until SIGTERM)\n"
            "  --max-in-flight N        messages awaiting a delivery report (default 100000, at least 512)\n"
            "  --stats                  print counters to stderr when done\n"
            "  --log-level LEVEL        trace, debug, info, warn (default), error\n");
    exit(2);
}

static int print_failed(void *ctx, const pl_outbox_row *row, const char *error)
{
    (void)ctx;
    printf("%lld\t%s\t%s\t%s\tattempts=%d\t%s\n", (long long)row->seq, row->event_id, row->kind,
           row->group_id, row->attempts, error);
    return 0;
}

int main(int argc, char **argv)
{
    const char *outbox = NULL, *jsonl = NULL;
    int until_empty = 0, do_fsync = 0, stats = 0, mode = 0; /* 0 export, 1 counts, 2 list, 3 requeue */
    pl_kafka_config kc = {0};
    pl_exporter_config ec = {0};
    xw_log_set_level(XW_LOG_WARN);
    tools_exporter_process_setup(); /* a tuning: without it the export is only slower */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--outbox") == 0 && v) {
            outbox = v;
            i++;
        } else if (strcmp(a, "--brokers") == 0 && v) {
            kc.brokers = v;
            i++;
        } else if (strcmp(a, "--topic") == 0 && v) {
            kc.topic = v;
            i++;
        } else if (strcmp(a, "--topic-for") == 0 && v) {
            const char *eq = strchr(v, '=');
            char kind[64];
            pl_event_kind k;
            if (!eq || (size_t)(eq - v) >= sizeof kind)
                usage("--topic-for takes KIND=TOPIC");
            memcpy(kind, v, (size_t)(eq - v));
            kind[eq - v] = '\0';
            if (pl_event_kind_parse(kind, &k) != XW_OK)
                usage("--topic-for: unknown event kind (see docs/events.md)");
            kc.topics[k] = eq + 1;
            i++;
        } else if (strcmp(a, "--prop") == 0 && v) {
            char *eq = strchr(argv[i + 1], '=');
            if (!eq)
                usage("--prop takes NAME=VALUE");
            if (kc.nprops == PL_KAFKA_MAX_PROPS)
                usage("too many --prop options");
            *eq = '\0';
            kc.props[kc.nprops][0] = argv[i + 1];
            kc.props[kc.nprops][1] = eq + 1;
            kc.nprops++;
            i++;
        } else if (strcmp(a, "--jsonl") == 0 && v) {
            jsonl = v;
            i++;
        } else if (strcmp(a, "--max-in-flight") == 0 && v) {
            xw_errbuf eb = {{0}};
            uint64_t n;
            /* the exporter raises a value below a whole row and refuses one above 10,000,000 */
            if (xw_parse_u64("--max-in-flight", v, 1, 10000000, &n, &eb) != XW_OK)
                usage(eb.msg);
            ec.max_in_flight = (size_t)n;
            i++;
        } else if (strcmp(a, "--log-level") == 0 && v) {
            int l = xw_log_level_parse(v);
            if (l < 0)
                usage("unknown log level");
            xw_log_set_level((xw_log_level)l);
            i++;
        } else if (strcmp(a, "--fsync") == 0) {
            do_fsync = 1;
        } else if (strcmp(a, "--until-empty") == 0) {
            until_empty = 1;
        } else if (strcmp(a, "--stats") == 0) {
            stats = 1;
        } else if (strcmp(a, "--counts") == 0) {
            mode = 1;
        } else if (strcmp(a, "--list-failed") == 0) {
            mode = 2;
        } else if (strcmp(a, "--requeue-failed") == 0) {
            mode = 3;
        } else {
            usage("unknown option or missing value");
        }
    }
    if (!outbox)
        usage("--outbox is required");
    xw_errbuf eb = {{0}};
    pl_outbox *ob;
    int rc = pl_outbox_open(outbox, &ob, &eb);
    if (rc != XW_OK) {
        fprintf(stderr, "xw-export: %s\n", eb.msg);
        return 1;
    }
    if (mode != 0) {
        int64_t pending = 0, failed = 0, n = 0;
        if (mode == 1 && (rc = pl_outbox_counts(ob, &pending, &failed, &eb)) == XW_OK)
            printf("pending %lld\nfailed %lld\n", (long long)pending, (long long)failed);
        if (mode == 2)
            rc = pl_outbox_scan_failed(ob, print_failed, NULL, &eb);
        if (mode == 3 && (rc = pl_outbox_requeue_failed(ob, &n, &eb)) == XW_OK)
            printf("requeued %lld\n", (long long)n);
        if (rc != XW_OK)
            fprintf(stderr, "xw-export: %s\n", eb.msg);
        pl_outbox_close(ob);
        return rc == XW_OK ? 0 : 1;
    }
    if (!jsonl == !kc.brokers) {
        pl_outbox_close(ob);
        usage("give either --brokers and --topic, or --jsonl");
    }
    pl_sink *sink;
    rc = jsonl ? pl_sink_jsonl_new(jsonl, do_fsync, &sink, &eb) : pl_sink_kafka_new(&kc, &sink, &eb);
    if (rc != XW_OK) {
        fprintf(stderr, "xw-export: %s\n", eb.msg);
        pl_outbox_close(ob);
        return 1;
    }
    pl_exporter *ex;
    rc = pl_exporter_new(ob, sink, &ec, &ex, &eb);
    if (rc == XW_OK) {
        g_ex = ex;
        struct sigaction sa = {0};
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        rc = pl_exporter_run(ex, until_empty, &eb);
        if (stats) {
            pl_exporter_stats st;
            pl_exporter_stats_get(ex, &st);
            fprintf(stderr,
                    "produced %llu delivered %llu failed %llu retries %llu restarts %llu settles %llu "
                    "in_flight %zu\n",
                    (unsigned long long)st.produced, (unsigned long long)st.delivered,
                    (unsigned long long)st.failed, (unsigned long long)st.retries,
                    (unsigned long long)st.restarts, (unsigned long long)st.settles, st.in_flight);
        }
        pl_exporter_stats st;
        pl_exporter_stats_get(ex, &st);
        if (st.failed)
            fprintf(stderr,
                    "xw-export: %llu events failed permanently and are kept in the outbox; see "
                    "xw-export --outbox %s --list-failed\n",
                    (unsigned long long)st.failed, outbox);
        g_ex = NULL;
        pl_exporter_free(ex);
    }
    if (rc != XW_OK)
        fprintf(stderr, "xw-export: %s\n", eb.msg);
    pl_sink_free(sink);
    pl_outbox_close(ob);
    return rc == XW_OK ? 0 : 1;
}
