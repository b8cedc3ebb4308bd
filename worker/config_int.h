/*
 * Inside the configuration loader: the table of keys and what the parts of the loader share
 * (config.c: values, environment, resolution; config_yaml.c: the file; config_show.c: show
 * and reference; config_files.c: the files a configuration points to).
 *
 * WK_KEYS is the one list of keys: X(ID, "path", "VARIABLE", type, min, max, "default",
 * "meaning"). min/max bound a number (durations in milliseconds), the length of a string
 * in bytes, or the entries of a list or map. A default of NULL means "none"; the text is
 * parsed like a value from the file (so defaults obey the bounds too).
 */
#ifndef XW_WORKER_CONFIG_INT_H
#define XW_WORKER_CONFIG_INT_H

#include "worker/config.h"
#include "worker/util.h"

typedef enum {
    WK_T_STR,    /* text */
    WK_T_PATH,   /* a file or directory path */
    WK_T_URL,    /* http:// or https:// host[:port] */
    WK_T_SECRET, /* text never shown */
    WK_T_TOPIC,  /* a Kafka topic name */
    WK_T_ADDR,   /* host:port or "off" */
    WK_T_INT,    /* whole number, '_' allowed between digits */
    WK_T_DUR,    /* number with a unit: ms, s, m, h */
    WK_T_BOOL,   /* true or false */
    WK_T_ENUM,   /* one of a fixed list */
    WK_T_LIST,   /* list of paths */
    WK_T_MAP,    /* name -> text */
} wk_ktype;

#define WK_MAXLEN WK_CONFIG_MAX_VALUE
#define WK_KEYS(X)                                                                                           \
    X(XMTP_ENV, "xmtp.env", "XMTP_ENV", WK_T_ENUM, 0, 0, "dev",                                              \
      "XMTP network: local (http://localhost:5556), dev or production (the XMTP SDKs' names and URLs)")      \
    X(XMTP_NODE_URL, "xmtp.node_url", "XMTPW_XMTP_NODE_URL", WK_T_URL, 1, 2048, NULL,                        \
      "node API URL; overrides the URL of xmtp.env")                                                         \
    X(XMTP_CA_FILE, "xmtp.ca_file", "XMTPW_XMTP_CA_FILE", WK_T_PATH, 1, WK_MAXLEN, NULL,                     \
      "PEM file of CAs to trust for an https:// node instead of the system's")                               \
    X(XMTP_WALLET_KEY, "xmtp.wallet_key", "XMTP_WALLET_KEY", WK_T_SECRET, 1, 256, NULL,                      \
      "the bot's wallet key: 64 hex digits, optionally after 0x")                                            \
    X(XMTP_WALLET_KEY_FILE, "xmtp.wallet_key_file", "XMTPW_XMTP_WALLET_KEY_FILE", WK_T_PATH, 1, WK_MAXLEN,   \
      NULL, "file holding the wallet key instead (mode 0600 or stricter)")                                   \
    X(XMTP_DB_DIRECTORY, "xmtp.db_directory", "XMTP_DB_DIRECTORY", WK_T_PATH, 1, 3800, "/var/lib/xmtpw",     \
      "directory of the installation's store")                                                               \
    X(XMTP_DB_ENCRYPTION_KEY, "xmtp.db_encryption_key", "XMTP_DB_ENCRYPTION_KEY", WK_T_SECRET, 1, 256, NULL, \
      "refused for now: the store is not encrypted")                                                         \
    X(RULES_FILES, "rules.files", "XMTPW_RULES_FILES", WK_T_LIST, 0, WK_CONFIG_MAX_RULES_FILES, NULL,        \
      "rule files, compiled in order (later ones override earlier ones); none: export only")                 \
    X(SINK_TYPE, "sink.type", "XMTPW_SINK_TYPE", WK_T_ENUM, 0, 0, NULL,                                      \
      "where events go: Kafka or a JSON-lines file")                                                         \
    X(SINK_KAFKA_BROKERS, "sink.kafka.brokers", "XMTPW_SINK_KAFKA_BROKERS", WK_T_STR, 1, WK_MAXLEN, NULL,    \
      "bootstrap brokers, host:port[,host:port...]")                                                         \
    X(SINK_KAFKA_TOPIC, "sink.kafka.topic", "XMTPW_SINK_KAFKA_TOPIC", WK_T_TOPIC, 1, 249, NULL,              \
      "topic of every event")                                                                                \
    X(SINK_KAFKA_TOPICS, "sink.kafka.topics", "XMTPW_SINK_KAFKA_TOPICS_<KIND>", WK_T_MAP, 0,                 \
      PL_EVENT__KIND_COUNT, NULL, "topic for one event kind (docs/events.md), instead of sink.kafka.topic")  \
    X(SINK_KAFKA_PROPERTIES, "sink.kafka.properties", "XMTPW_SINK_KAFKA_PROPERTIES_<NAME>", WK_T_MAP, 0,     \
      WK_CONFIG_MAX_KAFKA_PROPS, NULL,                                                                       \
      "librdkafka properties (security, tuning); delivery guarantees cannot be weakened")                    \
    X(SINK_JSONL_PATH, "sink.jsonl.path", "XMTPW_SINK_JSONL_PATH", WK_T_PATH, 1, WK_MAXLEN, NULL,            \
      "JSON-lines file events are appended to; - for standard output")                                       \
    X(SINK_JSONL_FSYNC, "sink.jsonl.fsync", "XMTPW_SINK_JSONL_FSYNC", WK_T_BOOL, 0, 0, "false",              \
      "an event counts as delivered only once its line is on disk")                                          \
    X(OUTBOX_PATH, "outbox.path", "XMTPW_OUTBOX_PATH", WK_T_PATH, 1, WK_MAXLEN, NULL,                        \
      "SQLite file of the events waiting for the sink")                                                      \
    X(OUTBOX_MAX_EVENTS, "outbox.max_events", "XMTPW_OUTBOX_MAX_EVENTS", WK_T_INT, 1000, 1000000000,         \
      "1000000", "events waiting for the sink before processing waits for it (backpressure)")                \
    X(PIPELINE_SHARDS, "pipeline.shards", "XMTPW_PIPELINE_SHARDS", WK_T_INT, 1, 64, "2",                     \
      "decrypt threads; a group always goes to the same one")                                                \
    X(PIPELINE_QUEUES_DECRYPT, "pipeline.queues.decrypt", "XMTPW_PIPELINE_QUEUES_DECRYPT", WK_T_INT, 16,     \
      1000000, "1024", "envelopes waiting for each decrypt shard")                                           \
    X(PIPELINE_QUEUES_VALIDATE, "pipeline.queues.validate", "XMTPW_PIPELINE_QUEUES_VALIDATE", WK_T_INT, 16,  \
      1000000, "1024", "messages waiting for validation")                                                    \
    X(PIPELINE_QUEUES_STORE, "pipeline.queues.store", "XMTPW_PIPELINE_QUEUES_STORE", WK_T_INT, 16, 1000000,  \
      "4096", "messages waiting for the store stage (one transaction takes up to this many)")                \
    X(PIPELINE_QUEUES_ENRICH, "pipeline.queues.enrich", "XMTPW_PIPELINE_QUEUES_ENRICH", WK_T_INT, 16,        \
      1000000, "1024", "stored messages waiting for enrichment and the rules")                               \
    X(PIPELINE_QUEUES_ACTIONS, "pipeline.queues.actions", "XMTPW_PIPELINE_QUEUES_ACTIONS", WK_T_INT, 16,     \
      1000000, "256", "planned actions waiting for their group's shard")                                     \
    X(METRICS_ADDRESS, "metrics.address", "XMTPW_METRICS_ADDRESS", WK_T_ADDR, 1, 300, "127.0.0.1:9464",      \
      "host:port of the Prometheus endpoint (/metrics, /healthz, /readyz); off for none")                    \
    X(LOG_LEVEL, "log.level", "XMTPW_LOG_LEVEL", WK_T_ENUM, 0, 0, "info", "the least severe level written")  \
    X(LOG_FORMAT, "log.format", "XMTPW_LOG_FORMAT", WK_T_ENUM, 0, 0, "json",                                 \
      "json: one object per line; text: for people")                                                         \
    X(SHUTDOWN_DRAIN_DEADLINE, "shutdown.drain_deadline", "XMTPW_SHUTDOWN_DRAIN_DEADLINE", WK_T_DUR, 100,    \
      3600000, "30s", "on SIGTERM, how long the queues may take to drain before the worker exits")

typedef enum {
#define WK_K_ENUM(id, path, env, type, lo, hi, def, doc) WK_K_##id,
    WK_KEYS(WK_K_ENUM)
#undef WK_K_ENUM
        WK_K__COUNT
} wk_key;

typedef struct {
    const char *path;
    const char *env;
    wk_ktype type;
    int64_t min, max;
    const char *def;
    const char *doc;
} wk_keydef;

extern const wk_keydef wk_keydefs[WK_K__COUNT];

/* Allowed words of an enum or bool key (NULL-terminated); NULL for other types. */
const char *const *wk_key_words(wk_key k);
/* The key whose path is exactly path[0..len), or -1. */
int wk_key_find(const char *path, size_t len);
/* 1 if some key's path starts with "prefix." (a section such as "sink.kafka"). */
int wk_key_is_section(const char *prefix, size_t len);

#define WK_MAX_SECTIONS 16

struct wk_config_meta {
    char *file; /* the configuration file as named, or NULL */
    char *origin[WK_K__COUNT];
    unsigned char refused[WK_K__COUNT]; /* a value was given and refused */
    char *list_origin[WK_CONFIG_MAX_RULES_FILES];
    char *prop_origin[WK_CONFIG_MAX_KAFKA_PROPS];
    char *topic_origin[PL_EVENT__KIND_COUNT];
    char *section_path[WK_MAX_SECTIONS], *section_origin[WK_MAX_SECTIONS];
    size_t nsections;
    char address[48]; /* the wallet's, when a key is known */
};

/* One load in progress. */
typedef struct {
    wk_config *c;
    wk_diags *d;
    const char *file;
    unsigned flags; /* WK_CONFIG_* of config.h */
} wk_loader;

/* Setting values (config.c). `where` is the location for errors and becomes the origin.
 * Each returns 0, or -1 after adding an error to L->d (the old value stays). */
int wk_cfg_set(wk_loader *L, wk_key k, const char *text, size_t len, const char *where);
/* Lists: reset (the new list replaces the old one wholly), then add items. */
void wk_cfg_list_reset(wk_loader *L, wk_key k, const char *where);
int wk_cfg_list_add(wk_loader *L, wk_key k, const char *text, size_t len, const char *where);
/* Maps: adds or replaces an entry. */
int wk_cfg_map_put(wk_loader *L, wk_key k, const char *name, size_t nlen, const char *value, size_t vlen,
                   const char *where);
void wk_cfg_section_seen(wk_loader *L, const char *path, const char *where);

/* Applies a YAML document (config_yaml.c). 0, or -1 with errors in L->d. */
int wk_config_yaml_apply(wk_loader *L, const char *data, size_t len);

/* Whether a Kafka property holds a secret (passwords, keys, tokens): shown redacted. */
int wk_kafka_prop_is_secret(const char *name);

#endif
