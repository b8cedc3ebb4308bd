/*
 * Sinks: where exported events go, behind one small interface (docs/style.md #10).
 *
 *   - Kafka (sink_kafka.c): librdkafka idempotent producer, acks=all, key = group id,
 *     headers event_id and event_type, one topic per event kind (configurable).
 *   - JSON lines (sink_jsonl.c): one event per line to a file or stdout, for people
 *     without Kafka.
 *
 * A sink is asynchronous: produce() queues a message and later a delivery report says
 * what became of it, through the report function the owner (the exporter) set. Reports are
 * only ever made from inside pl_sink_poll(), pl_sink_flush() or pl_sink_restart(), on the
 * calling thread, so the owner needs no locks.
 *
 * Report results, by class (common/err.h): XW_OK delivered; a retriable code (XW_EKAFKA,
 * XW_EIO) means "not delivered, try again" — the exporter redelivers from the outbox; a
 * permanent code (XW_EDELIVERY) means this message will never be accepted — the exporter
 * keeps it in the outbox as failed and says so.
 *
 * Order contract: when a message gets a retriable report (or the sink breaks), no message
 * with the same key produced after it is delivered by the sink before the exporter
 * produces the failed one again (those later messages fail too, or are purged). The
 * exporter's per-group order rests on this. The Kafka sink keeps it through the idempotent
 * producer with enable.gapless.guarantee and no message timeout; the JSON-lines sink
 * reports a whole flush at once.
 *
 * Threads: a sink is used by one thread (the exporter's).
 */
#ifndef XW_PIPELINE_SINK_H
#define XW_PIPELINE_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "pipeline/event.h"

typedef struct pl_sink pl_sink;

typedef struct {
    const char *event_id;
    const char *kind; /* wire name; an unknown kind goes to the default topic */
    const char *key;  /* the group id */
    const void *payload;
    size_t payload_len;
} pl_sink_msg;

/* A delivery report for the message produced with `opaque`. detail is a sentence when
 * err != XW_OK (valid during the call). */
typedef void (*pl_sink_report_fn)(void *ctx, void *opaque, int err, const char *detail);

/* --- for implementations ---------------------------------------------------------------------- */
typedef struct {
    const char *name;
    /* XW_OK: queued, a report will follow. XW_EFULL: local queue full, poll and try again
     * (no report). Any other code: refused now, no report will follow (permanent codes mean
     * the message can never be delivered). The sink copies what it keeps of msg. */
    int (*produce)(pl_sink *s, const pl_sink_msg *msg, void *opaque, xw_errbuf *eb);
    /* Serves reports, waiting up to timeout_ms for the first one. */
    void (*poll)(pl_sink *s, int timeout_ms);
    /* Messages produced and not yet reported. */
    size_t (*in_flight)(pl_sink *s);
    /* 1 if the sink can no longer deliver and must be restarted (e.g. a fatal idempotent
     * producer error), with a sentence in eb. */
    int (*broken)(pl_sink *s, xw_errbuf *eb);
    /* Drops everything in flight (each gets a retriable report) and starts afresh. */
    int (*restart)(pl_sink *s, xw_errbuf *eb);
    void (*destroy)(pl_sink *s);
} pl_sink_ops;

struct pl_sink {
    const pl_sink_ops *ops;
    pl_sink_report_fn report;
    void *report_ctx;
};

/* --- for users -------------------------------------------------------------------------------- */
void pl_sink_set_report(pl_sink *s, pl_sink_report_fn fn, void *ctx);
int pl_sink_produce(pl_sink *s, const pl_sink_msg *msg, void *opaque, xw_errbuf *eb);
void pl_sink_poll(pl_sink *s, int timeout_ms);
size_t pl_sink_in_flight(pl_sink *s);
int pl_sink_broken(pl_sink *s, xw_errbuf *eb);
int pl_sink_restart(pl_sink *s, xw_errbuf *eb);
/* Polls until nothing is in flight or timeout_ms passes (< 0: no limit). XW_OK or
 * XW_ETIMEOUT. */
int pl_sink_flush(pl_sink *s, int timeout_ms);
const char *pl_sink_name(const pl_sink *s);
void pl_sink_free(pl_sink *s);

/* --- Kafka ------------------------------------------------------------------------------------ */
#define PL_KAFKA_MAX_PROPS 64

typedef struct {
    const char *brokers;                      /* bootstrap.servers, required */
    const char *topic;                        /* default topic, required */
    const char *topics[PL_EVENT__KIND_COUNT]; /* per-kind topic, NULL = the default */
    /* Extra librdkafka properties as name/value pairs (security, tuning); they may not
     * weaken the delivery guarantees (enable.idempotence, acks, enable.gapless.guarantee are
     * refused). */
    const char *props[PL_KAFKA_MAX_PROPS][2];
    size_t nprops;
} pl_kafka_config;

int pl_sink_kafka_new(const pl_kafka_config *cfg, pl_sink **out, xw_errbuf *eb);
/* The checks of pl_sink_kafka_new() without a producer (nothing connects): topics, refused
 * properties, and every property's name and value as librdkafka's configuration takes it.
 * What librdkafka checks only when a client starts (files named by ssl.* properties, SASL
 * settings that go together) is not covered. For `xmtpw config check`. */
int pl_sink_kafka_check(const pl_kafka_config *cfg, xw_errbuf *eb);
#ifdef XW_TESTING
/* Tests only: makes the producer fail fatally, as a lost idempotence state would. */
int pl_sink_kafka_test_fatal(pl_sink *s, const char *reason);
#endif

/* --- JSON lines ------------------------------------------------------------------------------- */
/* path "-" means stdout. With do_fsync, a report of success means the line is on disk;
 * without it, that it was handed to the kernel. The file is opened for appending. */
int pl_sink_jsonl_new(const char *path, int do_fsync, pl_sink **out, xw_errbuf *eb);

#endif
