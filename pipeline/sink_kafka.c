/*
 * Kafka sink: a librdkafka producer configured for ordered, deduplicated delivery.
 *
 * Guarantees come from the producer configuration, which users may extend but not weaken:
 *   enable.idempotence=true       the broker drops retried duplicates within a session
 *   acks=all                      a report of success means every in-sync replica has it
 *   enable.gapless.guarantee=true an error that could leave a gap before later messages of
 *                                 a partition becomes fatal instead (we then restart)
 *   message.timeout.ms=0          retriable errors are retried for ever rather than failed,
 *                                 so a later message never overtakes an earlier one; a
 *                                 broker outage stalls the exporter, and the outbox (on
 *                                 disk) holds the backlog. Users may set a finite timeout;
 *                                 a timed-out message is then redelivered from the outbox.
 *   partitioner=murmur2_random    key = group id, same partition as Java producers choose
 * Headers: event_id and event_type, so consumers can dedupe and route without parsing.
 *
 * Delivery reports arrive through rd_kafka_poll() on the exporter's thread. A fatal
 * producer error (idempotence state lost) marks the sink broken; restart() purges what is
 * in flight, destroys the producer and creates a new one from the same configuration.
 */
#include <librdkafka/rdkafka.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "pipeline/sink.h"

#define NTOPICS (PL_EVENT__KIND_COUNT + 1) /* one per kind, then the default */

typedef struct {
    pl_sink base;
    rd_kafka_conf_t *tmpl; /* configuration template, duplicated for each producer */
    rd_kafka_t *rk;
    char *names[NTOPICS];
    rd_kafka_topic_t *topics[NTOPICS];
    size_t in_flight;
    int fatal;
    int dead; /* set while the producer is being destroyed: ignore late reports */
    char fatal_msg[256];
} kafka_sink;

static int classify(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return XW_OK;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return XW_EDELIVERY;
    default:
        return XW_EKAFKA;
    }
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    kafka_sink *k = opaque;
    if (k->dead)
        return;
    if (k->in_flight > 0)
        k->in_flight--;
    int err = classify(m->err);
    char detail[200];
    if (err != XW_OK)
        snprintf(detail, sizeof detail, "kafka delivery to %s failed: %s (%s)", rd_kafka_topic_name(m->rkt),
                 rd_kafka_err2str(m->err), rd_kafka_err2name(m->err));
    k->base.report(k->base.report_ctx, m->_private, err, err != XW_OK ? detail : NULL);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    kafka_sink *k = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[200];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
        snprintf(k->fatal_msg, sizeof k->fatal_msg,
                 "kafka producer fatal error %s: %s; restarting the producer", rd_kafka_err2name(orig), buf);
        k->fatal = 1;
        xw_log_error("export", "%s", k->fatal_msg);
        return;
    }
    xw_log_warn("export", "kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "enable.gapless.guarantee is experimental"))
        level = 7; /* we set it on purpose (see the top of this file) */
    xw_log(level <= 3   ? XW_LOG_ERROR
           : level <= 4 ? XW_LOG_WARN
           : level <= 6 ? XW_LOG_INFO
                        : XW_LOG_DEBUG,
           "rdkafka", "%s: %s", fac, buf);
}

static void producer_destroy(kafka_sink *k)
{
    k->dead = 1;
    for (int i = 0; i < NTOPICS; i++)
        if (k->topics[i]) {
            rd_kafka_topic_destroy(k->topics[i]);
            k->topics[i] = NULL;
        }
    if (k->rk) {
        rd_kafka_destroy(k->rk);
        k->rk = NULL;
    }
    k->in_flight = 0;
    k->dead = 0;
}

static int producer_create(kafka_sink *k, xw_errbuf *eb)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_dup(k->tmpl);
    rd_kafka_conf_set_opaque(conf, k);
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!k->rk) {
        rd_kafka_conf_destroy(conf);
        return xw_errf(eb, XW_ECONFIG, "cannot create the kafka producer: %s", errstr);
    }
    for (int i = 0; i < NTOPICS; i++) {
        /* handles are reference-counted: kinds sharing a topic share one handle */
        k->topics[i] = rd_kafka_topic_new(k->rk, k->names[i], NULL);
        if (!k->topics[i]) {
            int e = rd_kafka_last_error();
            producer_destroy(k);
            return xw_errf(eb, XW_ECONFIG, "cannot use kafka topic \"%s\": %s", k->names[i],
                           rd_kafka_err2str((rd_kafka_resp_err_t)e));
        }
    }
    k->fatal = 0;
    k->fatal_msg[0] = '\0';
    return XW_OK;
}

static int kafka_produce(pl_sink *s, const pl_sink_msg *msg, void *opaque, xw_errbuf *eb)
{
    kafka_sink *k = (kafka_sink *)s;
    pl_event_kind kind;
    int ti = pl_event_kind_parse(msg->kind, &kind) == XW_OK ? (int)kind : NTOPICS - 1;
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    rd_kafka_header_add(h, "event_id", -1, msg->event_id, -1);
    rd_kafka_header_add(h, "event_type", -1, msg->kind, -1);
    rd_kafka_resp_err_t e = rd_kafka_producev(
        k->rk, RD_KAFKA_V_RKT(k->topics[ti]), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)msg->payload, msg->payload_len),
        RD_KAFKA_V_KEY(msg->key, strlen(msg->key)), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(opaque),
        RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        k->in_flight++;
        return XW_OK;
    }
    rd_kafka_headers_destroy(h);
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return XW_EFULL;
    int err = classify(e);
    if (e == RD_KAFKA_RESP_ERR__FATAL)
        k->fatal = 1;
    return xw_errf(eb, err == XW_OK ? XW_EKAFKA : err, "kafka refused event %s for topic %s: %s (%s)",
                   msg->event_id, k->names[ti], rd_kafka_err2str(e), rd_kafka_err2name(e));
}

static void kafka_poll(pl_sink *s, int timeout_ms) { rd_kafka_poll(((kafka_sink *)s)->rk, timeout_ms); }

static size_t kafka_in_flight(pl_sink *s) { return ((kafka_sink *)s)->in_flight; }

static int kafka_broken(pl_sink *s, xw_errbuf *eb)
{
    kafka_sink *k = (kafka_sink *)s;
    if (!k->fatal) {
        char buf[200];
        if (rd_kafka_fatal_error(k->rk, buf, sizeof buf) == RD_KAFKA_RESP_ERR_NO_ERROR)
            return 0;
        snprintf(k->fatal_msg, sizeof k->fatal_msg, "kafka producer fatal error: %s", buf);
        k->fatal = 1;
    }
    xw_errf(eb, XW_EKAFKA, "%s", k->fatal_msg);
    return 1;
}

static int kafka_restart(pl_sink *s, xw_errbuf *eb)
{
    kafka_sink *k = (kafka_sink *)s;
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING);
    /* purged messages come back as delivery reports (retriable); serve them */
    for (int i = 0; i < 100 && k->in_flight > 0; i++)
        rd_kafka_poll(k->rk, 50);
    producer_destroy(k); /* whatever is still in flight is never reported by this producer */
    return producer_create(k, eb);
}

static void kafka_destroy(pl_sink *s)
{
    kafka_sink *k = (kafka_sink *)s;
    producer_destroy(k);
    if (k->tmpl)
        rd_kafka_conf_destroy(k->tmpl);
    for (int i = 0; i < NTOPICS; i++)
        xw_free(k->names[i]);
    xw_free(k);
}

static const pl_sink_ops kafka_ops = {
    .name = "kafka",
    .produce = kafka_produce,
    .poll = kafka_poll,
    .in_flight = kafka_in_flight,
    .broken = kafka_broken,
    .restart = kafka_restart,
    .destroy = kafka_destroy,
};

static int conf_set(rd_kafka_conf_t *c, const char *name, const char *value, xw_errbuf *eb)
{
    char errstr[512];
    if (rd_kafka_conf_set(c, name, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        return xw_errf(eb, XW_ECONFIG, "kafka property %s=%s: %s", name, value, errstr);
    return XW_OK;
}

static int protected_prop(const char *name)
{
    static const char *const names[] = {"enable.idempotence",    "acks",
                                        "request.required.acks", "enable.gapless.guarantee",
                                        "bootstrap.servers",     "metadata.broker.list"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

/* Kafka's topic name rule: 1 to 249 of [a-zA-Z0-9._-], and not "." or "..". */
static int topic_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 249 || strcmp(t, ".") == 0 || strcmp(t, "..") == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Checks cfg and builds the producer configuration it gives (without callbacks): what
 * pl_sink_kafka_new() and pl_sink_kafka_check() share. */
static int build_conf(const pl_kafka_config *cfg, rd_kafka_conf_t **out, xw_errbuf *eb)
{
    *out = NULL;
    if (!cfg->brokers || !*cfg->brokers)
        return xw_errf(eb, XW_ECONFIG, "kafka sink needs brokers (bootstrap.servers), e.g. localhost:9092");
    if (!cfg->topic || !*cfg->topic)
        return xw_errf(eb, XW_ECONFIG, "kafka sink needs a default topic");
    for (int i = -1; i < PL_EVENT__KIND_COUNT; i++) {
        const char *t = i < 0 ? cfg->topic : cfg->topics[i];
        if (t && !topic_valid(t))
            return xw_errf(
                eb, XW_ECONFIG,
                "kafka topic \"%.64s\"%s%s is not a valid topic name; use 1 to 249 of a-z A-Z 0-9 . _ -", t,
                i < 0 ? "" : " for ", i < 0 ? "" : pl_event_kind_name((pl_event_kind)i));
    }
    if (cfg->nprops > PL_KAFKA_MAX_PROPS)
        return xw_errf(eb, XW_ECONFIG, "at most %d extra kafka properties are accepted", PL_KAFKA_MAX_PROPS);
    for (size_t i = 0; i < cfg->nprops; i++)
        if (protected_prop(cfg->props[i][0]))
            return xw_errf(
                eb, XW_ECONFIG,
                "kafka property %s is set by the exporter to keep delivery exactly-once; remove it",
                cfg->props[i][0]);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    static const char *const defaults[][2] = {
        {"enable.idempotence", "true"},       {"acks", "all"},
        {"enable.gapless.guarantee", "true"}, {"message.timeout.ms", "0"},
        {"partitioner", "murmur2_random"},    {"linger.ms", "5"},
        {"batch.num.messages", "10000"},      {"queue.buffering.max.messages", "1000000"},
        {"client.id", "xmtp-worker"},
    };
    int rc = conf_set(conf, "bootstrap.servers", cfg->brokers, eb);
    for (size_t i = 0; rc == XW_OK && i < sizeof defaults / sizeof defaults[0]; i++)
        rc = conf_set(conf, defaults[i][0], defaults[i][1], eb);
    for (size_t i = 0; rc == XW_OK && i < cfg->nprops; i++)
        rc = conf_set(conf, cfg->props[i][0], cfg->props[i][1], eb);
    if (rc != XW_OK) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    *out = conf;
    return XW_OK;
}

int pl_sink_kafka_check(const pl_kafka_config *cfg, xw_errbuf *eb)
{
    rd_kafka_conf_t *conf = NULL;
    int rc = build_conf(cfg, &conf, eb);
    if (conf)
        rd_kafka_conf_destroy(conf);
    return rc;
}

int pl_sink_kafka_new(const pl_kafka_config *cfg, pl_sink **out, xw_errbuf *eb)
{
    *out = NULL;
    rd_kafka_conf_t *conf = NULL;
    int rc = build_conf(cfg, &conf, eb);
    if (rc != XW_OK)
        return rc;
    kafka_sink *k = xw_calloc(1, sizeof *k);
    if (!k) {
        rd_kafka_conf_destroy(conf);
        return xw_errf(eb, XW_ENOMEM, "out of memory creating the kafka sink");
    }
    k->base.ops = &kafka_ops;
    k->tmpl = conf;
    for (int i = 0; i < NTOPICS && rc == XW_OK; i++) {
        const char *n = i < PL_EVENT__KIND_COUNT && cfg->topics[i] ? cfg->topics[i] : cfg->topic;
        if (!(k->names[i] = xw_strdup(n)))
            rc = xw_errf(eb, XW_ENOMEM, "out of memory creating the kafka sink");
    }
    if (rc == XW_OK) {
        rd_kafka_conf_set_dr_msg_cb(k->tmpl, dr_cb);
        rd_kafka_conf_set_error_cb(k->tmpl, error_cb);
        rd_kafka_conf_set_log_cb(k->tmpl, log_cb);
        rc = producer_create(k, eb);
    }
    if (rc != XW_OK) {
        kafka_destroy(&k->base);
        return rc;
    }
    *out = &k->base;
    return XW_OK;
}

#ifdef XW_TESTING
int pl_sink_kafka_test_fatal(pl_sink *s, const char *reason)
{
    kafka_sink *k = (kafka_sink *)s;
    return rd_kafka_test_fatal_error(k->rk, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, reason) ==
                   RD_KAFKA_RESP_ERR_NO_ERROR
               ? XW_OK
               : XW_ESTATE;
}
#endif
