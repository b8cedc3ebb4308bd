/*
 * kafka-mock: hosts librdkafka's mock Kafka cluster in a process of its own, so that tests
 * and the demo have a Kafka to talk to and kcat (a separate, real Kafka client) can read
 * what arrived.
 *
 *   kafka-mock [--brokers N] [--topic NAME:PARTITIONS]...
 *   kafka-mock --help
 *
 * Prints the bootstrap address ("127.0.0.1:PORT,...") on the first line of stdout, then
 * reads commands from stdin, one per line, and answers each with "ok" or "error: ...":
 *
 *   topic NAME PARTITIONS           create a topic (replication = number of brokers)
 *   errors APIKEY ERROR COUNT       the next COUNT requests of APIKEY (a number, or
 *                                   "produce", "metadata", "initproducerid") fail with
 *                                   ERROR (a Kafka error name such as
 *                                   NOT_LEADER_FOR_PARTITION, or its number)
 *   berrors BROKER APIKEY ERROR COUNT [RTT_MS]
 *                                   the same, on one broker only (with a delay)
 *   bpending BROKER APIKEY          answers "ok N": errors still queued on that broker
 *   clear APIKEY                    forget pushed errors
 *   leader TOPIC PARTITION BROKER   move a partition's leadership
 *   down BROKER | up BROKER         take a broker's listener down or bring it back
 *   rtt BROKER MS                   add round-trip delay to a broker
 *   quit                            exit (as does end of input, SIGINT or SIGTERM)
 *
 * Uses the Debian 12 librdkafka 2.0.2 rdkafka_mock.h API.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"

static rd_kafka_mock_cluster_t *mc;

static int parse_int(const char *s, long *out)
{
    int64_t v;
    if (xw_parse_i64(NULL, s, LONG_MIN, LONG_MAX, &v, NULL) != XW_OK)
        return -1;
    *out = (long)v;
    return 0;
}

/* A count, a broker id, a partition or a time: a whole number in [min, max], never negative;
 * on failure the reason (naming what and the value) is in why. */
static int parse_count(const char *what, const char *s, long min, long max, long *out, char *why, size_t n)
{
    uint64_t v;
    xw_errbuf eb = {{0}};
    if (xw_parse_u64(what, s, (uint64_t)min, (uint64_t)max, &v, &eb) != XW_OK) {
        snprintf(why, n, "%s", eb.msg);
        return -1;
    }
    *out = (long)v;
    return 0;
}

static int parse_apikey(const char *s, int16_t *out)
{
    long v;
    if (strcasecmp(s, "produce") == 0)
        v = 0;
    else if (strcasecmp(s, "metadata") == 0)
        v = 3;
    else if (strcasecmp(s, "initproducerid") == 0)
        v = 22;
    else if (parse_int(s, &v) != 0 || v < 0 || v > 100)
        return -1;
    *out = (int16_t)v;
    return 0;
}

static int parse_error(const char *s, rd_kafka_resp_err_t *out)
{
    long v;
    if (parse_int(s, &v) == 0) {
        *out = (rd_kafka_resp_err_t)v;
        return 0;
    }
    const struct rd_kafka_err_desc *descs;
    size_t n;
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++)
        if (descs[i].name && strcasecmp(descs[i].name, s) == 0) {
            *out = descs[i].code;
            return 0;
        }
    return -1;
}

static const char *topic_create(const char *name, long parts, int brokers)
{
    if (parts < 1 || parts > 1000)
        return "partitions must be 1 to 1000";
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, (int)parts, brokers);
    return e ? rd_kafka_err2str(e) : NULL;
}

/* Runs one command line; returns NULL on success or a reason. */
static const char *command(char *line, int brokers, int *quit, char *reply, size_t reply_size)
{
    char *argv[8];
    int argc = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok && argc < 8; tok = strtok(NULL, " \t\r\n"))
        argv[argc++] = tok;
    if (argc == 0)
        return "empty command";
    long a, b;
    int16_t key;
    rd_kafka_resp_err_t err, e;
    if (strcmp(argv[0], "quit") == 0) {
        *quit = 1;
        return NULL;
    }
    if (strcmp(argv[0], "topic") == 0 && argc == 3) {
        if (parse_count("PARTITIONS", argv[2], 1, 1000, &a, reply, reply_size) != 0)
            return reply;
        return topic_create(argv[1], a, brokers);
    }
    if (strcmp(argv[0], "errors") == 0 && argc == 4) {
        if (parse_apikey(argv[1], &key) != 0 || parse_error(argv[2], &err) != 0)
            return "usage: errors APIKEY ERROR COUNT (COUNT 1..100000)";
        if (parse_count("COUNT", argv[3], 1, 100000, &a, reply, reply_size) != 0)
            return reply;
        rd_kafka_resp_err_t *errs = calloc((size_t)a, sizeof *errs);
        if (!errs)
            return "out of memory";
        for (long i = 0; i < a; i++)
            errs[i] = err;
        rd_kafka_mock_push_request_errors_array(mc, key, (size_t)a, errs);
        free(errs);
        return NULL;
    }
    if (strcmp(argv[0], "berrors") == 0 && (argc == 5 || argc == 6)) {
        long rtt = 0;
        if (parse_apikey(argv[2], &key) != 0 || parse_error(argv[3], &err) != 0)
            return "usage: berrors BROKER APIKEY ERROR COUNT [RTT_MS]";
        if (parse_count("BROKER", argv[1], 1, brokers, &b, reply, reply_size) != 0 ||
            parse_count("COUNT", argv[4], 1, 100000, &a, reply, reply_size) != 0 ||
            (argc == 6 && parse_count("RTT_MS", argv[5], 0, 3600000, &rtt, reply, reply_size) != 0))
            return reply;
        for (long i = 0; i < a; i++) {
            e = rd_kafka_mock_broker_push_request_error_rtts(mc, (int32_t)b, key, 1, err, (int)rtt);
            if (e)
                return rd_kafka_err2str(e);
        }
        return NULL;
    }
    if (strcmp(argv[0], "bpending") == 0 && argc == 3) {
        size_t cnt = 0;
        if (parse_apikey(argv[2], &key) != 0)
            return "usage: bpending BROKER APIKEY";
        if (parse_count("BROKER", argv[1], 1, brokers, &b, reply, reply_size) != 0)
            return reply;
        e = rd_kafka_mock_broker_error_stack_cnt(mc, (int32_t)b, key, &cnt);
        if (e)
            return rd_kafka_err2str(e);
        snprintf(reply, reply_size, "ok %zu", cnt);
        return NULL;
    }
    if (strcmp(argv[0], "clear") == 0 && argc == 2) {
        if (parse_apikey(argv[1], &key) != 0)
            return "usage: clear APIKEY";
        rd_kafka_mock_clear_request_errors(mc, key);
        return NULL;
    }
    if (strcmp(argv[0], "leader") == 0 && argc == 4) {
        if (parse_count("PARTITION", argv[2], 0, 999, &a, reply, reply_size) != 0 ||
            parse_count("BROKER", argv[3], 1, brokers, &b, reply, reply_size) != 0)
            return reply;
        e = rd_kafka_mock_partition_set_leader(mc, argv[1], (int32_t)a, (int32_t)b);
        return e ? rd_kafka_err2str(e) : NULL;
    }
    if ((strcmp(argv[0], "down") == 0 || strcmp(argv[0], "up") == 0) && argc == 2) {
        if (parse_count("BROKER", argv[1], 1, brokers, &a, reply, reply_size) != 0)
            return reply;
        e = argv[0][0] == 'd' ? rd_kafka_mock_broker_set_down(mc, (int32_t)a)
                              : rd_kafka_mock_broker_set_up(mc, (int32_t)a);
        return e ? rd_kafka_err2str(e) : NULL;
    }
    if (strcmp(argv[0], "rtt") == 0 && argc == 3) {
        if (parse_count("BROKER", argv[1], 1, brokers, &a, reply, reply_size) != 0 ||
            parse_count("MS", argv[2], 0, 3600000, &b, reply, reply_size) != 0)
            return reply;
        e = rd_kafka_mock_broker_set_rtt(mc, (int32_t)a, (int)b);
        return e ? rd_kafka_err2str(e) : NULL;
    }
    return "unknown command (topic, errors, clear, leader, down, up, rtt, quit)";
}

static void usage(FILE *f, const char *why, int status)
{
    if (why)
        fprintf(f, "kafka-mock: %s\n", why);
    fprintf(f, "usage: kafka-mock [--brokers N (1-16, default 3)] [--topic NAME:PARTITIONS]...\n"
               "  hosts librdkafka's mock Kafka cluster; prints its bootstrap address, then takes\n"
               "  commands on stdin (topic, errors, berrors, bpending, clear, leader, down, up, rtt,\n"
               "  quit; see tests/tools/kafka_mock.c and docs/export.md)\n");
    exit(status);
}

int main(int argc, char **argv)
{
    long brokers = 3;
    char bad[256];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, NULL, 0);
        } else if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
            if (parse_count("--brokers", argv[++i], 1, 16, &brokers, bad, sizeof bad) != 0)
                usage(stderr, bad, 2);
        } else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc) {
            const char *colon = strrchr(argv[++i], ':'); /* created below, once the cluster exists */
            long parts;
            if (colon &&
                parse_count("--topic's PARTITIONS", colon + 1, 1, 1000, &parts, bad, sizeof bad) != 0)
                usage(stderr, bad, 2);
        } else {
            snprintf(bad, sizeof bad, "unknown option '%.64s' or missing value", argv[i]);
            usage(stderr, bad, 2);
        }
    }
    signal(SIGPIPE, SIG_IGN);
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "kafka-mock: cannot create a librdkafka handle: %s\n", errstr);
        return 1;
    }
    mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
    if (!mc) {
        fprintf(stderr, "kafka-mock: cannot create the mock cluster\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--topic") != 0)
            continue;
        char spec[256];
        snprintf(spec, sizeof spec, "%s", argv[++i]);
        char *colon = strrchr(spec, ':');
        long parts = 1;
        if (colon) {
            *colon = '\0';
            if (parse_int(colon + 1, &parts) != 0)
                usage(stderr, "--topic takes NAME:PARTITIONS", 2);
        }
        const char *why = topic_create(spec, parts, (int)brokers);
        if (why) {
            fprintf(stderr, "kafka-mock: cannot create topic %s: %s\n", spec, why);
            return 1;
        }
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    /* SIGINT/SIGTERM end the process through their default action; stdin EOF or "quit" end
     * it cleanly. */
    char line[512];
    int quit = 0;
    while (!quit && fgets(line, sizeof line, stdin)) {
        char reply[256] = "ok";
        const char *why = command(line, (int)brokers, &quit, reply, sizeof reply);
        if (why)
            printf("error: %s\n", why);
        else
            printf("%s\n", reply);
        fflush(stdout);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
