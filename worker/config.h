/*
 * The worker's configuration: one YAML file, every key also settable by an environment
 * variable, checked completely before anything runs.
 *
 * Sources, later ones winning: built-in defaults, the YAML file (optional), the
 * environment. Each key has exactly one environment variable: the XMTP SDKs' name where one
 * exists (XMTP_ENV, XMTP_WALLET_KEY, XMTP_DB_DIRECTORY, XMTP_DB_ENCRYPTION_KEY), otherwise
 * XMTPW_ and the key's path in capitals with '.' as '_' (sink.kafka.brokers is
 * XMTPW_SINK_KAFKA_BROKERS). Map keys take one variable per entry (a prefix and the entry's
 * name); lists take a comma-separated value. An empty variable counts as unset. Every
 * variable starting with XMTPW_ must be known. The table of keys, with their variables,
 * defaults and bounds, is docs/worker.md (and `xmtpw config keys`, which a test compares
 * with it).
 *
 * Errors: every problem is reported, not only the first, each with where it is
 * ("worker.yaml:12:5", "environment XMTPW_PIPELINE_SHARDS") and a sentence that says what
 * to do; unknown keys and values get a "did you mean" when one is close. A secret's value
 * (wallet key, store key, Kafka passwords) never appears in a message or in
 * wk_config_show().
 *
 * Two steps: wk_config_load*() reads and checks the text (no other file is read);
 * wk_config_check_files() then reads what the configuration points to (the wallet key
 * file, the CA file, the rule files, directories) and builds the Kafka configuration as the
 * sink will, so `xmtpw config check` finds everything `xmtpw run` would refuse at start.
 *
 * Limits: the file is at most WK_CONFIG_MAX_FILE_BYTES; a value at most
 * WK_CONFIG_MAX_VALUE bytes; lists and maps have their own maximums (below); at most
 * WK_CONFIG_MAX_DIAGS messages are kept. YAML anchors and aliases are refused.
 *
 * Threads: a wk_config is immutable after loading (check_files only fills in the wallet
 * key from its file) and may be read from any thread.
 */
#ifndef XW_WORKER_CONFIG_H
#define XW_WORKER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "pipeline/event.h"
#include "pipeline/sink.h"

#define WK_CONFIG_MAX_FILE_BYTES (1u << 20)
#define WK_CONFIG_MAX_VALUE 4096
#define WK_CONFIG_MAX_RULES_FILES 64
#define WK_CONFIG_MAX_KAFKA_PROPS PL_KAFKA_MAX_PROPS
#define WK_CONFIG_MAX_DIAGS 100

/* --- diagnostics ---------------------------------------------------------------------------- */
typedef struct {
    int warning; /* 0: error */
    char *where; /* "file:line:col", "environment NAME", or a file name alone */
    char *msg;
} wk_diag;

typedef struct {
    wk_diag *v;
    size_t n, cap;
    size_t errors, warnings, dropped; /* dropped: past WK_CONFIG_MAX_DIAGS */
} wk_diags;

void wk_diags_init(wk_diags *d);
void wk_diags_free(wk_diags *d);
void wk_diags_add(wk_diags *d, int warning, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "where: error: msg" lines, then "... and N more" if some were dropped. */
void wk_diags_print(const wk_diags *d, FILE *out);

/* --- the configuration ---------------------------------------------------------------------- */
typedef enum { WK_XMTP_LOCAL = 0, WK_XMTP_DEV, WK_XMTP_PRODUCTION } wk_xmtp_env;
typedef enum { WK_SINK_KAFKA = 0, WK_SINK_JSONL } wk_sink_type;

typedef struct {
    char *name;
    char *value;
} wk_config_pair;

typedef struct wk_config_meta wk_config_meta; /* where each value came from (config.c) */

typedef struct {
    struct {
        wk_xmtp_env env;
        char *node_url;          /* always set after loading (from env when not given) */
        char *ca_file;           /* NULL: the system's CAs */
        char *wallet_key;        /* secret; NULL when not given (wallet_key_file is read later) */
        char *wallet_key_file;   /* NULL when not given */
        char *db_directory;      /* where the installation's store lives */
        char *db_encryption_key; /* always NULL after a successful load (not supported yet) */
    } xmtp;
    struct {
        char **files; /* compiled in order; later files override earlier ones */
        size_t nfiles;
    } rules;
    struct {
        wk_sink_type type;
        struct {
            char *brokers;
            char *topic;
            char *topics[PL_EVENT__KIND_COUNT]; /* per event kind; NULL: topic */
            wk_config_pair props[WK_CONFIG_MAX_KAFKA_PROPS];
            size_t nprops;
        } kafka;
        struct {
            char *path; /* "-": standard output */
            int fsync;
        } jsonl;
    } sink;
    struct {
        char *path;         /* default: <db_directory>/outbox.db3 */
        int64_t max_events; /* pending events before the store stage waits */
    } outbox;
    struct {
        int64_t shards;
        int64_t queue_decrypt, queue_validate, queue_store, queue_enrich, queue_actions;
    } pipeline;
    struct {
        char *address; /* "host:port"; NULL: no endpoint ("off") */
    } metrics;
    struct {
        xw_log_level level;
        xw_log_format format;
    } log;
    struct {
        int64_t drain_deadline_ms;
    } shutdown;
    wk_config_meta *meta;
} wk_config;

/*
 * Loads path (NULL: no file, defaults and environment only) and the environment envp
 * ("NAME=VALUE" strings, NULL-terminated; NULL: none). XW_OK with *out set, or XW_ECONFIG
 * (XW_ENOMEM) with every problem in d and *out NULL. Warnings may be in d either way.
 */
int wk_config_load(const char *path, const char *const *envp, wk_config **out, wk_diags *d);
/* Flags of wk_config_load_flags(). */
#define WK_CONFIG_SINK_OPTIONAL 1u /* no sink configured is fine (the client's subcommands) */
int wk_config_load_flags(const char *path, const char *const *envp, unsigned flags, wk_config **out,
                         wk_diags *d);
/*
 * Sets one key after loading, as a command-line option does (`xmtpw info --node URL`): the
 * value is checked as the file's would be and `where` ("option --node") becomes its origin.
 * Lists and maps cannot be set this way (XW_EINVAL, as for an unknown key). XW_OK, or
 * XW_ECONFIG with the problem in d (the old value stays). Derived values are not derived
 * again.
 */
int wk_config_override(wk_config *c, const char *key, const char *value, const char *where, wk_diags *d);
/* The same from text in memory; name is used in locations. */
int wk_config_load_mem(const char *name, const char *data, size_t len, const char *const *envp,
                       wk_config **out, wk_diags *d);
/*
 * Reads and checks what the configuration points to: the wallet key file (mode 0600 or
 * stricter; its key is then in xmtp.wallet_key), the CA file, the rule files (compiled;
 * their own errors are added with their file:line:col), the store directory and the
 * directories of the outbox and JSON-lines files, and the Kafka properties (a producer
 * configuration is built and dropped). XW_OK or XW_ECONFIG with the problems in d.
 */
int wk_config_check_files(wk_config *c, wk_diags *d);
/* Only the wallet key file's part of wk_config_check_files(): when xmtp.wallet_key_file is
 * set and xmtp.wallet_key is not, reads the key (same checks and messages). */
int wk_config_read_wallet_key(wk_config *c, wk_diags *d);
/* Wipes the secrets and frees; NULL is fine. */
void wk_config_free(wk_config *c);

/* The effective configuration as YAML, each value with where it came from in a comment;
 * secrets are written as "<redacted>". Loading it again gives the same configuration. */
int wk_config_show(const wk_config *c, xw_buf *out);
/* The reference of every key as Markdown table rows: | key | variable | default | bounds |
 * meaning | (docs/worker.md holds the same rows). */
int wk_config_reference(xw_buf *out);
/* Where a key's value came from: "default", "worker.yaml:3:8", "environment XMTP_ENV",
 * "derived from xmtp.env"; NULL for an unknown key. */
const char *wk_config_origin(const wk_config *c, const char *key);
/* The wallet's address ("0x" + 40 hex digits) when a wallet key is known, else NULL. */
const char *wk_config_wallet_address(const wk_config *c);

/* The node URL for an XMTP_ENV value, as the XMTP SDKs use it. */
const char *wk_config_env_url(wk_xmtp_env env);
const char *wk_config_env_name(wk_xmtp_env env);

#endif
