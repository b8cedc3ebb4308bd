/*
 * xw-export: runs the exporter on an outbox file, to Kafka or to JSON lines.
 *
 *   xw-export --outbox FILE --brokers HOST:PORT[,...] --topic TOPIC [options]
 *   xw-export --outbox FILE --jsonl PATH|- [options]
 *   xw-export --outbox FILE --list-failed | --requeue-failed | --counts
 *   xw-export --help
 *
 * The worker runs the same exporter in-process; this program is for operations (drain an
 * outbox, inspect and requeue failed events) and for the tests that SIGKILL an exporter.
 * The outbox must exist (a mistyped path is an error; nothing is created), and one exporter
 * runs per outbox: while another holds the outbox's lease (pipeline/lease.h), this one
 * refuses at once, naming it. SIGINT/SIGTERM stop it gracefully: in-flight reports are
 * collected (up to 10 s) and settled. With --until-empty, it gives up when nothing has been
 * delivered for --give-up-after seconds (a broker that cannot be reached), instead of waiting
 * for ever. Exit status 0 on success, 1 on error, 2 on bad usage.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/parse.h"
#include "pipeline/exporter.h"
#include "pipeline/lease.h"
#include "tools/process_setup.h"

#define GIVE_UP_DEFAULT_S 60

static pl_exporter *g_ex;

static void on_signal(int sig)
{
    (void)sig;
    if (g_ex)
        pl_exporter_stop(g_ex);
}

static void usage_print(FILE *f)
{
    fprintf(f,
            "usage: xw-export --outbox FILE (--brokers LIST --topic TOPIC | --jsonl PATH|-) [options]\n"
            "       xw-export --outbox FILE (--counts | --list-failed | --requeue-failed)\n"
            "Exports the events of a worker's outbox (an existing SQLite file) to Kafka or JSON lines;\n"
            "one exporter per outbox. See docs/export.md.\n"
            "options:\n"
            "  --topic-for KIND=TOPIC   topic for one event kind (message, reaction, ...)\n"
            "  --prop NAME=VALUE        extra librdkafka property (security, tuning)\n"
            "  --fsync                  JSON lines: fsync before a line counts as delivered\n"
            "  --until-empty            exit once the outbox is empty (default: run until SIGTERM)\n"
            "  --give-up-after SECONDS  with --until-empty: exit 1 when nothing has been delivered for\n"
            "                           this long, e.g. an unreachable broker (default %d; 0: never)\n"
            "  --max-in-flight N        messages awaiting a delivery report (default 100000, at least 512)\n"
            "  --stats                  print counters to stderr when done\n"
            "  --log-level LEVEL        trace, debug, info, warn (default), error\n"
            "  --help                   this text\n",
            GIVE_UP_DEFAULT_S);
}

static void usage(const char *why)
{
    if (why)
        fprintf(stderr, "xw-export: %s\n", why);
    usage_print(stderr);
    exit(2);
}

/* --until-empty's watchdog: stops the exporter when neither a delivery nor a permanent
 * failure has been reported for limit_ns (progress, as the exporter's counters show it). */
typedef struct {
    pl_exporter *ex;
    int64_t limit_ns;
    atomic_int done;    /* the run returned */
    atomic_int gave_up; /* the watchdog stopped it */
} watchdog;

static void *watchdog_main(void *arg)
{
    watchdog *w = arg;
    const xw_clock *clk = xw_clock_real();
    uint64_t last = UINT64_MAX;
    int64_t since = xw_clock_mono_ns(clk);
    while (!atomic_load(&w->done)) {
        pl_exporter_stats st;
        pl_exporter_stats_get(w->ex, &st);
        int64_t now = xw_clock_mono_ns(clk);
        if (st.delivered + st.failed != last) {
            last = st.delivered + st.failed;
            since = now;
        } else if (now - since >= w->limit_ns) {
            atomic_store(&w->gave_up, 1);
            pl_exporter_stop(w->ex);
            return NULL;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static int print_failed(void *ctx, const pl_outbox_row *row, const char *error)
{
    (void)ctx;
    printf("%lld\t%s\t%s\t%s\tattempts=%d\t%s\n", (long long)row->seq, row->event_id, row->kind,
           row->group_id, row->attempts, error);
    return 0;
}

/* Runs the exporter; with until_empty and give_up_s > 0, under the watchdog. */
static int run_export(pl_exporter *ex, int until_empty, uint64_t give_up_s, int *gave_up, xw_errbuf *eb)
{
    watchdog w = {.ex = ex, .limit_ns = (int64_t)give_up_s * XW_NS_PER_SEC};
    pthread_t th;
    int watching = until_empty && give_up_s > 0 && pthread_create(&th, NULL, watchdog_main, &w) == 0;
    int rc = pl_exporter_run(ex, until_empty, eb);
    if (watching) {
        atomic_store(&w.done, 1);
        pthread_join(th, NULL);
    }
    *gave_up = atomic_load(&w.gave_up);
    return rc;
}

int main(int argc, char **argv)
{
    const char *outbox = NULL, *jsonl = NULL;
    int until_empty = 0, do_fsync = 0, stats = 0, mode = 0; /* 0 export, 1 counts, 2 list, 3 requeue */
    uint64_t give_up_s = GIVE_UP_DEFAULT_S;
    int give_up_set = 0;
    pl_kafka_config kc = {0};
    pl_exporter_config ec = {0};
    xw_log_set_level(XW_LOG_WARN);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        xw_errbuf peb = {{0}};
        char why[300];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage_print(stdout);
            return 0;
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
        } else if (strcmp(a, "--outbox") && strcmp(a, "--brokers") && strcmp(a, "--topic") &&
                   strcmp(a, "--topic-for") && strcmp(a, "--prop") && strcmp(a, "--jsonl") &&
                   strcmp(a, "--max-in-flight") && strcmp(a, "--give-up-after") && strcmp(a, "--log-level")) {
            snprintf(why, sizeof why, "unknown option '%.200s'", a);
            usage(why);
        } else if (!v) {
            snprintf(why, sizeof why, "%s needs a value", a);
            usage(why);
        } else if (strcmp(a, "--outbox") == 0) {
            outbox = v;
            i++;
        } else if (strcmp(a, "--brokers") == 0) {
            kc.brokers = v;
            i++;
        } else if (strcmp(a, "--topic") == 0) {
            kc.topic = v;
            i++;
        } else if (strcmp(a, "--topic-for") == 0) {
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
        } else if (strcmp(a, "--prop") == 0) {
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
        } else if (strcmp(a, "--jsonl") == 0) {
            jsonl = v;
            i++;
        } else if (strcmp(a, "--max-in-flight") == 0) {
            uint64_t n;
            /* the exporter raises a value below a whole row and refuses one above 10,000,000 */
            if (xw_parse_u64("--max-in-flight", v, 1, 10000000, &n, &peb) != XW_OK)
                usage(peb.msg);
            ec.max_in_flight = (size_t)n;
            i++;
        } else if (strcmp(a, "--give-up-after") == 0) {
            if (xw_parse_u64("--give-up-after", v, 0, 86400 * 365, &give_up_s, &peb) != XW_OK)
                usage(peb.msg);
            give_up_set = 1;
            i++;
        } else { /* --log-level */
            int l = xw_log_level_parse(v);
            if (l < 0)
                usage("unknown log level");
            xw_log_set_level((xw_log_level)l);
            i++;
        }
    }
    if (!outbox)
        usage("--outbox is required");
    if (mode == 0 && !jsonl == !kc.brokers)
        usage("give either --brokers and --topic, or --jsonl");
    if (give_up_set && !until_empty)
        usage("--give-up-after applies to --until-empty only (without it, xw-export waits for the sink)");
    tools_exporter_process_setup(); /* a tuning: without it the export is only slower */
    xw_errbuf eb = {{0}};
    pl_outbox *ob;
    int rc = pl_outbox_open_existing(outbox, &ob, &eb);
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
    /* Refuse at once when another exporter holds the outbox, before making a sink (a Kafka
     * producer, an output file): look at the lease, then let it go for pl_exporter_new, which
     * takes it for real (and refuses just the same should another exporter win in between). */
    pl_lease *probe;
    if ((rc = pl_lease_acquire(pl_outbox_path(ob), &probe, &eb)) != XW_OK) {
        fprintf(stderr, "xw-export: %s\n", eb.msg);
        pl_outbox_close(ob);
        return 1;
    }
    pl_lease_release(probe);
    pl_sink *sink;
    rc = jsonl ? pl_sink_jsonl_new(jsonl, do_fsync, &sink, &eb) : pl_sink_kafka_new(&kc, &sink, &eb);
    if (rc != XW_OK) {
        fprintf(stderr, "xw-export: %s\n", eb.msg);
        pl_outbox_close(ob);
        return 1;
    }
    pl_exporter *ex;
    int gave_up = 0;
    rc = pl_exporter_new(ob, sink, &ec, &ex, &eb);
    if (rc == XW_OK) {
        g_ex = ex;
        struct sigaction sa = {0};
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        rc = run_export(ex, until_empty, give_up_s, &gave_up, &eb);
        pl_exporter_stats st;
        pl_exporter_stats_get(ex, &st);
        if (stats)
            fprintf(stderr,
                    "produced %llu delivered %llu failed %llu retries %llu restarts %llu settles %llu "
                    "in_flight %zu\n",
                    (unsigned long long)st.produced, (unsigned long long)st.delivered,
                    (unsigned long long)st.failed, (unsigned long long)st.retries,
                    (unsigned long long)st.restarts, (unsigned long long)st.settles, st.in_flight);
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
    pl_sink_free(sink); /* (librdkafka's last words come before ours) */
    int64_t pending = 0;
    if (rc == XW_OK && gave_up && pl_outbox_counts(ob, &pending, NULL, &eb) == XW_OK && pending > 0) {
        fprintf(
            stderr,
            "xw-export: gave up: nothing was delivered for %llu s (--give-up-after) and %lld events are "
            "still pending; they stay in the outbox. Is the %s reachable (the warnings above say what "
            "went wrong)? Run again once it is, or wait longer with --give-up-after SECONDS (0: for ever)\n",
            (unsigned long long)give_up_s, (long long)pending, jsonl ? "output" : "Kafka cluster");
        rc = XW_ETIMEOUT;
    }
    pl_outbox_close(ob);
    return rc == XW_OK ? 0 : 1;
}
