/*
 * Tests for worker/config: good files and bad ones (every message checked whole, with its
 * location), the environment over the file, derived values, show and reference, the files
 * a configuration points to, allocation failures, and the small helpers of worker/util.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "worker/config.h"
#include "worker/util.h"

#define KEY1 "0x0101010101010101010101010101010101010101010101010101010101010101"
#define ADDR1 "0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1"

/* A sink, so that cases about other keys see only their own error. */
static const char *const ENV_SINK[] = {"XMTPW_SINK_JSONL_PATH=/tmp/events.jsonl", NULL};

/* All messages of a load as printed, one per line. */
static char *load_msgs(const char *yaml, const char *const *envp, wk_config **out)
{
    wk_diags d;
    wk_diags_init(&d);
    wk_config *c = NULL;
    wk_config_load_mem("w.yaml", yaml, strlen(yaml), envp, &c, &d);
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    wk_diags_print(&d, f);
    fclose(f);
    wk_diags_free(&d);
    if (out)
        *out = c;
    else
        wk_config_free(c);
    return mem;
}

typedef struct {
    const char *yaml;
    const char *const *env; /* NULL: ENV_SINK */
    const char *want;       /* every message, in order */
} bad_case;

static const char *const ENV_NONE[] = {NULL};
static const char *const ENV_BAD_SHARDS[] = {"XMTPW_SINK_JSONL_PATH=/x", "XMTPW_PIPELINE_SHARDS=0x10", NULL};
static const char *const ENV_UNKNOWN[] = {"XMTPW_SINK_JSONL_PATH=/x", "XMTPW_SINK_KAFKA_BROKER=k:9092",
                                          "XMTPW_NOTHING_LIKE_IT=1",  "XMTPW_XMTP_WALLET_KEY=1",
                                          "XMTP_API_VERBOSE=1",       NULL};
static const char *const ENV_STORE_KEY[] = {"XMTPW_SINK_JSONL_PATH=/x",
                                            "XMTP_DB_ENCRYPTION_KEY=secret-store-key", NULL};
static const char *const ENV_MAP_NONAME[] = {"XMTPW_SINK_JSONL_PATH=/x", "XMTPW_SINK_KAFKA_PROPERTIES_=1",
                                             NULL};
static const char *const ENV_BAD_KEY[] = {"XMTPW_SINK_JSONL_PATH=/x", "XMTP_WALLET_KEY=0xnotakey-secret",
                                          NULL};

static const bad_case BAD[] = {
    /* YAML itself */
    {"xmtp: [\n", NULL,
     "w.yaml:2:1: error: YAML syntax error: did not find expected node content while parsing a flow node "
     "(line 2)\n"},
    {"a: &x 1\nb: *x\n", NULL,
     "w.yaml:1:4: error: YAML anchors and aliases are not supported in the configuration; write the value "
     "out\n"},
    {"log:\n  level: info\n---\nlog:\n  level: warn\n", NULL,
     "w.yaml:3:1: error: a second YAML document; the configuration is one document\n"},
    {"- xmtp\n", NULL,
     "w.yaml:1:1: error: the configuration is a mapping of sections (xmtp:, sink:, ...), not a list\n"},
    {"[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]\n", NULL, "w.yaml:1:17: error: nesting deeper than 16 levels\n"},
    /* keys */
    {"xmpt:\n  env: dev\n", NULL, "w.yaml:1:1: error: unknown key xmpt; did you mean xmtp?\n"},
    {"sink:\n  kafka:\n    broker: k:9092\n    topic: t\n", ENV_NONE,
     "w.yaml:3:5: error: unknown key sink.kafka.broker; did you mean sink.kafka.brokers?\n"
     "w.yaml:2:3: error: sink.kafka.brokers is required for the Kafka sink (XMTPW_SINK_KAFKA_BROKERS)\n"},
    {"shards: 4\n", NULL,
     "w.yaml:1:1: error: unknown key shards; did you mean pipeline.shards (it belongs in section "
     "pipeline)?\n"},
    {"pipeline:\n  zzz: 1\n", NULL,
     "w.yaml:2:3: error: unknown key pipeline.zzz; the keys of pipeline are: shards, queues\n"},
    {"log:\n  level: info\n  level: warn\n", NULL,
     "w.yaml:3:3: error: duplicate key log.level (first at line 2); keep one of them\n"},
    {"log:\n  level: info\nlog:\n  format: text\n", NULL,
     "w.yaml:3:1: error: duplicate section log (first at line 1); merge them\n"},
    {"sink: kafka\n", NULL,
     "w.yaml:1:7: error: sink is a section, not a value; write its keys under it, indented\n"},
    {"{a: 1}: 2\n", NULL, "w.yaml:1:1: error: a key must be a plain word, not a mapping\n"},
    {"log.level: info\n", NULL,
     "w.yaml:1:1: error: unknown key log.level; the keys at the top level are: xmtp, rules, sink, outbox, "
     "pipeline, metrics, log, shutdown\n"},
    /* values */
    {"xmtp:\n  env: prod\n", NULL,
     "w.yaml:2:8: error: xmtp.env: unknown value \"prod\"; did you mean production? (use local, dev or "
     "production)\n"},
    {"xmtp:\n  env: mainnet\n", NULL,
     "w.yaml:2:8: error: xmtp.env: unknown value \"mainnet\"; use local, dev or production\n"},
    {"pipeline:\n  shards: four\n", NULL,
     "w.yaml:2:11: error: pipeline.shards: \"four\" is not a whole number\n"},
    {"pipeline:\n  shards: 0\n", NULL, "w.yaml:2:11: error: pipeline.shards: \"0\" is below the minimum 1\n"},
    {"pipeline:\n  shards: 65\n", NULL,
     "w.yaml:2:11: error: pipeline.shards: \"65\" is above the maximum 64\n"},
    {"pipeline:\n  shards: -1\n", NULL,
     "w.yaml:2:11: error: pipeline.shards: \"-1\" is not a whole number\n"},
    {"outbox:\n  max_events: 99999999999999999999\n", NULL,
     "w.yaml:2:15: error: outbox.max_events: \"99999999999999999999\" is above the maximum 1000000000\n"},
    {"pipeline:\n  queues:\n    store: 1__000\n", NULL,
     "w.yaml:3:12: error: pipeline.queues.store: \"1__000\" is not a whole number\n"},
    {"shutdown:\n  drain_deadline: 30\n", NULL,
     "w.yaml:2:19: error: shutdown.drain_deadline: \"30\" is not a duration; write a whole number and a "
     "unit: "
     "ms, s, m or h (e.g. 30s)\n"},
    {"shutdown:\n  drain_deadline: 30sec\n", NULL,
     "w.yaml:2:19: error: shutdown.drain_deadline: \"30sec\" is not a duration; write a whole number and a "
     "unit: ms, s, m or h (e.g. 30s)\n"},
    {"shutdown:\n  drain_deadline: 50ms\n", NULL,
     "w.yaml:2:19: error: shutdown.drain_deadline: \"50ms\" is below the minimum 100ms\n"},
    {"shutdown:\n  drain_deadline: 2h\n", NULL,
     "w.yaml:2:19: error: shutdown.drain_deadline: \"2h\" is above the maximum 3600s\n"},
    {"sink:\n  jsonl:\n    path: /x\n    fsync: yes\n", ENV_NONE,
     "w.yaml:4:12: error: sink.jsonl.fsync: unknown value \"yes\"; use false or true\n"},
    {"log:\n  level:\n", NULL, "w.yaml:2:9: error: log.level has no value; give one or remove the key\n"},
    {"log:\n  level: \"\"\n", NULL,
     "w.yaml:2:10: error: log.level: unknown value \"\"; use trace, debug, info, warn, "
     "error or off\n"},
    {"xmtp:\n  db_directory: \"\"\n", NULL,
     "w.yaml:2:17: error: xmtp.db_directory: the value is empty; give one or remove the key\n"},
    {"xmtp:\n  ca_file: \"a\\0b\"\n", NULL,
     "w.yaml:2:12: error: xmtp.ca_file: the value contains a NUL character\n"},
    {"pipeline:\n  shards: {a: 1}\n", NULL,
     "w.yaml:2:11: error: pipeline.shards takes a single value, not a mapping\n"},
    {"xmtp:\n  node_url: localhost:5556\n", NULL,
     "w.yaml:2:13: error: xmtp.node_url: \"localhost:5556\" is not valid; write http://host:port or "
     "https://host:port (e.g. http://localhost:5556)\n"},
    {"xmtp:\n  node_url: http://host:5556/path\n", NULL,
     "w.yaml:2:13: error: xmtp.node_url: \"http://host:5556/path\" is not valid; write http://host:port or "
     "https://host:port (e.g. http://localhost:5556)\n"},
    {"xmtp:\n  node_url: http://h\n  ca_file: /etc/ca.pem\n", NULL,
     "w.yaml:3:12: error: xmtp.ca_file is only used with an https:// node URL, and the node URL is http://h; "
     "remove it\n"},
    {"metrics:\n  address: 9464\n", NULL,
     "w.yaml:2:12: error: metrics.address: \"9464\" is not valid; write host:port (e.g. 127.0.0.1:9464 or "
     "[::1]:9464), or off\n"},
    {"metrics:\n  address: 127.0.0.1:70000\n", NULL,
     "w.yaml:2:12: error: metrics.address: \"127.0.0.1:70000\" is not valid; write host:port (e.g. "
     "127.0.0.1:9464 or [::1]:9464), or off\n"},
    /* lists and maps */
    {"rules:\n  files: a.yaml\n", NULL,
     "w.yaml:2:10: error: rules.files is a list of files; write it as [a.yaml, b.yaml] or one \"- file\" per "
     "line\n"},
    {"rules:\n  files: [a.yaml, [b]]\n", NULL,
     "w.yaml:2:19: error: rules.files: an entry is a list; give a file path\n"},
    {"rules:\n  files: [a.yaml, \"\"]\n", NULL,
     "w.yaml:2:19: error: rules.files: an entry is empty; give a file path\n"},
    {"sink:\n  kafka:\n    brokers: k\n    topic: t\n    topics:\n      mesage: m\n", ENV_NONE,
     "w.yaml:6:15: error: sink.kafka.topics: \"mesage\" is not an event kind; did you mean message? (see "
     "docs/events.md)\n"},
    {"sink:\n  kafka:\n    brokers: k\n    topic: t\n    topics:\n      message: \"a b\"\n", ENV_NONE,
     "w.yaml:6:16: error: sink.kafka.topics.message: \"a b\" is not valid as a Kafka topic name; use "
     "letters, "
     "digits, '.', '_' and '-' (at most 249)\n"},
    {"sink:\n  kafka:\n    brokers: k\n    topic: t\n    properties:\n      Linger.MS: 5\n", ENV_NONE,
     "w.yaml:6:18: error: sink.kafka.properties: \"Linger.MS\" is not a librdkafka property name (lowercase "
     "letters, digits, '.' and '_')\n"},
    {"sink:\n  kafka:\n    brokers: k\n    topic: t\n    properties:\n      linger.ms: 5\n      linger.ms: "
     "6\n",
     ENV_NONE,
     "w.yaml:7:7: error: sink.kafka.properties: duplicate entry linger.ms (first at line 6); keep one of "
     "them\n"},
    {"sink:\n  kafka:\n    brokers: k\n    topic: t\n    properties: [a]\n", ENV_NONE,
     "w.yaml:5:17: error: sink.kafka.properties is a mapping of names to values; write one \"name: value\" "
     "per "
     "line under it\n"},
    {"sink:\n  kafka:\n    brokers: k\n    topic: t\n    properties:\n      a: [1]\n", ENV_NONE,
     "w.yaml:6:10: error: sink.kafka.properties: a value is a list; write \"name: value\"\n"},
    {"sink:\n  kafka:\n    brokers: \"k 1\"\n    topic: t\n", ENV_NONE,
     "w.yaml:3:14: error: sink.kafka.brokers: \"k 1\" is not valid; it may not contain spaces or control "
     "characters\n"},
    {"sink:\n  kafka:\n    brokers: k\n    topic: \"..\"\n", ENV_NONE,
     "w.yaml:4:12: error: sink.kafka.topic: \"..\" is not valid as a Kafka topic name; use letters, digits, "
     "'.', "
     "'_' and '-' (at most 249)\n"},
    /* keys that go together */
    {"log:\n  level: info\n", ENV_NONE,
     "w.yaml:1:1: error: no sink: set sink.kafka.brokers and sink.kafka.topic (XMTPW_SINK_KAFKA_BROKERS, "
     "XMTPW_SINK_KAFKA_TOPIC), or sink.jsonl.path (XMTPW_SINK_JSONL_PATH)\n"},
    {"sink:\n  kafka:\n    brokers: k\n    topic: t\n  jsonl:\n    path: /x\n", ENV_NONE,
     "w.yaml:1:1: error: both a Kafka sink (sink.kafka) and a JSON-lines sink (sink.jsonl) are configured; "
     "remove one, or choose with sink.type\n"},
    {"sink:\n  type: jsonl\n  kafka:\n    topic: t\n", ENV_NONE,
     "w.yaml:1:1: error: sink.jsonl.path is required for the JSON-lines sink (XMTPW_SINK_JSONL_PATH)\n"
     "w.yaml:3:3: error: sink.kafka is set but sink.type is jsonl (w.yaml:2:9); remove one\n"},
    {"sink:\n  type: kafka\n", NULL,
     "w.yaml:1:1: error: sink.kafka.brokers is required for the Kafka sink (XMTPW_SINK_KAFKA_BROKERS)\n"
     "w.yaml:1:1: error: sink.kafka.topic is required for the Kafka sink (XMTPW_SINK_KAFKA_TOPIC)\n"
     "environment XMTPW_SINK_JSONL_PATH: error: sink.jsonl.path is set but sink.type is kafka (w.yaml:2:9); "
     "remove one\n"},
    {"xmtp:\n  wallet_key: " KEY1 "\n  wallet_key_file: /k\n", NULL,
     "w.yaml:3:20: error: both xmtp.wallet_key (w.yaml:2:15) and xmtp.wallet_key_file are set; keep one\n"},
    {"xmtp:\n  wallet_key: 0x0000000000000000000000000000000000000000000000000000000000000000\n", NULL,
     "w.yaml:2:15: error: xmtp.wallet_key: wallet secret key is zero or not below the secp256k1 order; use "
     "another key\n"},
    /* the environment */
    {"", ENV_BAD_SHARDS,
     "environment XMTPW_PIPELINE_SHARDS: error: pipeline.shards: \"0x10\" is not a whole number\n"},
    {"", ENV_UNKNOWN,
     "environment XMTPW_SINK_KAFKA_BROKER: error: unknown setting; did you mean XMTPW_SINK_KAFKA_BROKERS?\n"
     "environment XMTPW_NOTHING_LIKE_IT: error: unknown setting (the variables are listed in "
     "docs/worker.md)\n"
     "environment XMTPW_XMTP_WALLET_KEY: error: not a setting: xmtp.wallet_key is set by XMTP_WALLET_KEY "
     "(the "
     "XMTP SDKs' name)\n"},
    {"", ENV_STORE_KEY,
     "environment XMTP_DB_ENCRYPTION_KEY: error: xmtp.db_encryption_key: not supported yet: the store is not "
     "encrypted; unset XMTP_DB_ENCRYPTION_KEY (or remove the key) to run with an unencrypted store\n"},
    {"", ENV_MAP_NONAME,
     "environment XMTPW_SINK_KAFKA_PROPERTIES_: error: the variable needs a name after the prefix (e.g. "
     "XMTPW_SINK_KAFKA_PROPERTIES_SASL_USERNAME)\n"},
    {"", ENV_BAD_KEY,
     "environment XMTP_WALLET_KEY: error: xmtp.wallet_key: a wallet key is 64 hex digits, optionally "
     "prefixed "
     "with 0x\n"},
};

static void test_bad_files(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        wk_config *c = NULL;
        char *got = load_msgs(BAD[i].yaml, BAD[i].env ? BAD[i].env : ENV_SINK, &c);
        if (c || strcmp(got, BAD[i].want) != 0) {
            print_error("case %zu (%s):\n  want: %s  got:  %s  (config %s)\n", i, BAD[i].yaml, BAD[i].want,
                        got, c ? "loaded" : "refused");
            failed++;
        }
        if (strstr(got, "secret-store-key") || strstr(got, "notakey-secret"))
            fail_msg("case %zu: a secret is in a message: %s", i, got);
        wk_config_free(c);
        free(got);
    }
    assert_int_equal(failed, 0);
}

static void test_value_too_long_and_lists_bounded(void **state)
{
    (void)state;
    char *y = xw_malloc(8000);
    assert_non_null(y);
    int n = snprintf(y, 8000, "xmtp:\n  db_directory: /");
    memset(y + n, 'a', 3800);
    memcpy(y + n + 3800, "\n", 2);
    char *got = load_msgs(y, ENV_SINK, NULL);
    assert_string_equal(got,
                        "w.yaml:2:17: error: xmtp.db_directory: the value is 3801 bytes long; at most 3800 "
                        "are accepted\n");
    free(got);
    /* 65 rule files */
    n = snprintf(y, 8000, "rules:\n  files:\n");
    for (int i = 0; i < 65; i++)
        n += snprintf(y + n, 8000 - (size_t)n, "    - r%d.yaml\n", i);
    got = load_msgs(y, ENV_SINK, NULL);
    assert_string_equal(got, "w.yaml:67:7: error: rules.files: more than 64 entries; merge some files\n");
    free(got);
    /* 65 kafka properties */
    n = snprintf(y, 8000, "sink:\n  kafka:\n    brokers: k\n    topic: t\n    properties:\n");
    for (int i = 0; i < 65; i++)
        n += snprintf(y + n, 8000 - (size_t)n, "      p%d: v\n", i);
    got = load_msgs(y, ENV_NONE, NULL);
    assert_string_equal(got, "w.yaml:70:7: error: sink.kafka.properties: more than 64 entries\n");
    free(got);
    xw_free(y);
}

static void test_file_errors(void **state)
{
    (void)state;
    char dir[] = "/tmp/wkcfg.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    wk_diags d;
    wk_config *c = (wk_config *)1;

    wk_diags_init(&d);
    snprintf(path, sizeof path, "%s/missing.yaml", dir);
    assert_int_equal(wk_config_load(path, ENV_SINK, &c, &d), XW_ECONFIG);
    assert_null(c);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.v[0].where, path);
    assert_string_equal(d.v[0].msg, "cannot open the configuration file: No such file or directory");
    wk_diags_free(&d);

    wk_diags_init(&d);
    assert_int_equal(wk_config_load(dir, ENV_SINK, &c, &d), XW_ECONFIG);
    assert_string_equal(d.v[0].msg, "not a regular file");
    wk_diags_free(&d);

    snprintf(path, sizeof path, "%s/big.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (unsigned i = 0; i < WK_CONFIG_MAX_FILE_BYTES / 8 + 1; i++)
        fputs("#4567890", f);
    fclose(f);
    wk_diags_init(&d);
    assert_int_equal(wk_config_load(path, ENV_SINK, &c, &d), XW_ECONFIG);
    assert_string_equal(d.v[0].msg,
                        "the file is 1048584 bytes; a configuration may be at most 1048576 bytes");
    wk_diags_free(&d);
    unlink(path);

    snprintf(path, sizeof path, "%s/nul.yaml", dir);
    f = fopen(path, "w");
    fwrite("log:\n\0", 1, 6, f);
    fclose(f);
    wk_diags_init(&d);
    assert_int_equal(wk_config_load(path, ENV_SINK, &c, &d), XW_ECONFIG);
    assert_string_equal(d.v[0].where, path);
    assert_string_equal(d.v[0].msg, "the file contains a NUL byte; it is not a YAML text file");
    wk_diags_free(&d);
    unlink(path);
    rmdir(dir);
}

static const char GOOD[] = "# a full configuration\n"
                           "xmtp:\n"
                           "  env: production\n"
                           "  wallet_key: " KEY1 "\n"
                           "  db_directory: /var/lib/bot/\n"
                           "rules:\n"
                           "  files:\n"
                           "    - /etc/xmtpw/flood.yaml\n"
                           "    - local.yaml\n"
                           "sink:\n"
                           "  kafka:\n"
                           "    brokers: k1:9092,k2:9092\n"
                           "    topic: xmtp.events\n"
                           "    topics:\n"
                           "      leave_request: xmtp.leaves\n"
                           "    properties:\n"
                           "      security.protocol: SASL_SSL\n"
                           "      sasl.password: \"pa ss\"\n"
                           "      linger.ms: 10\n"
                           "outbox:\n"
                           "  max_events: 2_000_000\n"
                           "pipeline:\n"
                           "  shards: 4\n"
                           "  queues:\n"
                           "    decrypt: 2048\n"
                           "metrics:\n"
                           "  address: \"[::1]:0\"\n"
                           "log:\n"
                           "  level: debug\n"
                           "  format: text\n"
                           "shutdown:\n"
                           "  drain_deadline: 2m\n";

static void test_good_file(void **state)
{
    (void)state;
    wk_config *c = NULL;
    char *got = load_msgs(GOOD, ENV_NONE, &c);
    assert_string_equal(got, "");
    free(got);
    assert_non_null(c);
    assert_int_equal(c->xmtp.env, WK_XMTP_PRODUCTION);
    assert_string_equal(c->xmtp.node_url, "https://grpc.production.xmtp.network:443");
    assert_string_equal(wk_config_origin(c, "xmtp.node_url"), "derived from xmtp.env");
    assert_string_equal(c->xmtp.wallet_key, KEY1);
    assert_string_equal(wk_config_wallet_address(c), ADDR1);
    assert_null(c->xmtp.ca_file);
    assert_int_equal(c->rules.nfiles, 2);
    assert_string_equal(c->rules.files[1], "local.yaml");
    assert_int_equal(c->sink.type, WK_SINK_KAFKA);
    assert_string_equal(wk_config_origin(c, "sink.type"), "derived from sink.kafka");
    assert_string_equal(c->sink.kafka.brokers, "k1:9092,k2:9092");
    assert_string_equal(c->sink.kafka.topic, "xmtp.events");
    assert_string_equal(c->sink.kafka.topics[PL_EVENT_LEAVE_REQUEST], "xmtp.leaves");
    assert_null(c->sink.kafka.topics[PL_EVENT_MESSAGE]);
    assert_int_equal(c->sink.kafka.nprops, 3);
    assert_string_equal(c->sink.kafka.props[1].name, "sasl.password");
    assert_string_equal(c->sink.kafka.props[1].value, "pa ss");
    assert_string_equal(c->outbox.path, "/var/lib/bot/outbox.db3");
    assert_int_equal(c->outbox.max_events, 2000000);
    assert_int_equal(c->pipeline.shards, 4);
    assert_int_equal(c->pipeline.queue_decrypt, 2048);
    assert_int_equal(c->pipeline.queue_store, 4096);
    assert_string_equal(c->metrics.address, "[::1]:0");
    assert_int_equal(c->log.level, XW_LOG_DEBUG);
    assert_int_equal(c->log.format, XW_LOG_TEXT);
    assert_int_equal(c->shutdown.drain_deadline_ms, 120000);
    assert_string_equal(wk_config_origin(c, "pipeline.shards"), "w.yaml:23:11");
    assert_string_equal(wk_config_origin(c, "log.format"), "w.yaml:30:11");
    assert_string_equal(wk_config_origin(c, "outbox.path"), "derived from xmtp.db_directory");
    assert_string_equal(wk_config_origin(c, "pipeline.queues.enrich"), "default");
    assert_null(wk_config_origin(c, "pipeline.nothing"));
    wk_config_free(c);
}

static void test_defaults_and_env(void **state)
{
    (void)state;
    const char *const env[] = {
        "XMTPW_SINK_KAFKA_BROKERS=env:9092",
        "XMTPW_SINK_KAFKA_TOPIC=events",
        "XMTPW_PIPELINE_SHARDS=8",
        "XMTPW_PIPELINE_SHARDS=9", /* like getenv(): the first one counts */
        "XMTPW_LOG_LEVEL=",        /* empty: unset */
        "XMTP_ENV=local",
        "XMTPW_RULES_FILES=a.yaml,b.yaml,c.yaml",
        "XMTPW_SINK_KAFKA_PROPERTIES_SASL_USERNAME=bob",
        "XMTPW_SINK_KAFKA_PROPERTIES_ENABLE_SSL__CERTIFICATE__VERIFICATION=false",
        "XMTPW_SINK_KAFKA_PROPERTIES_LINGER_MS=50",
        "XMTPW_SINK_KAFKA_TOPICS_LEAVE_REQUEST=leaves",
        "XMTPW_METRICS_ADDRESS=off",
        "XMTPW_CONFIG=ignored.yaml",
        "PATH=/usr/bin",
        NULL,
    };
    const char *yaml = "pipeline:\n  shards: 2\nrules:\n  files: [x.yaml]\nsink:\n  kafka:\n    properties:\n"
                       "      linger.ms: 5\nlog:\n  level: warn\n";
    wk_config *c = NULL;
    char *got = load_msgs(yaml, env, &c);
    assert_string_equal(got, "");
    free(got);
    assert_non_null(c);
    assert_int_equal(c->pipeline.shards, 8);
    assert_string_equal(wk_config_origin(c, "pipeline.shards"), "environment XMTPW_PIPELINE_SHARDS");
    assert_int_equal(c->log.level, XW_LOG_WARN);
    assert_int_equal(c->xmtp.env, WK_XMTP_LOCAL);
    assert_string_equal(c->xmtp.node_url, "http://localhost:5556");
    assert_int_equal(c->rules.nfiles, 3);
    assert_string_equal(c->rules.files[0], "a.yaml");
    assert_string_equal(c->rules.files[2], "c.yaml");
    assert_string_equal(wk_config_origin(c, "rules.files"), "environment XMTPW_RULES_FILES");
    assert_int_equal(c->sink.kafka.nprops, 3);
    assert_string_equal(c->sink.kafka.props[0].name, "linger.ms");
    assert_string_equal(c->sink.kafka.props[0].value, "50");
    assert_string_equal(c->sink.kafka.props[1].name, "sasl.username");
    assert_string_equal(c->sink.kafka.props[2].name, "enable.ssl_certificate_verification");
    assert_string_equal(c->sink.kafka.topics[PL_EVENT_LEAVE_REQUEST], "leaves");
    assert_null(c->metrics.address);
    assert_string_equal(c->xmtp.db_directory, "/var/lib/xmtpw");
    assert_string_equal(c->outbox.path, "/var/lib/xmtpw/outbox.db3");
    assert_int_equal(c->outbox.max_events, 1000000);
    assert_int_equal(c->log.format, XW_LOG_JSON);
    assert_int_equal(c->shutdown.drain_deadline_ms, 30000);
    assert_int_equal(c->sink.jsonl.fsync, 0);
    wk_config_free(c);

    /* every XMTP_ENV value gives the SDKs' URL */
    static const char *const urls[] = {"http://localhost:5556", "https://grpc.dev.xmtp.network:443",
                                       "https://grpc.production.xmtp.network:443"};
    static const char *const names[] = {"XMTP_ENV=local", "XMTP_ENV=dev", "XMTP_ENV=production"};
    for (int i = 0; i < 3; i++) {
        const char *const e[] = {names[i], "XMTPW_SINK_JSONL_PATH=-", NULL};
        wk_diags d;
        wk_diags_init(&d);
        assert_int_equal(wk_config_load(NULL, e, &c, &d), XW_OK);
        assert_string_equal(c->xmtp.node_url, urls[i]);
        assert_string_equal(wk_config_env_url((wk_xmtp_env)i), urls[i]);
        assert_int_equal(c->sink.type, WK_SINK_JSONL);
        wk_config_free(c);
        wk_diags_free(&d);
    }
}

/* show: secrets redacted, and what it writes loads back to the same configuration */
static void test_show_round_trip(void **state)
{
    (void)state;
    wk_config *c = NULL;
    char *got = load_msgs(GOOD, ENV_NONE, &c);
    free(got);
    xw_buf b;
    xw_buf_init(&b, 1 << 20);
    assert_int_equal(wk_config_show(c, &b), XW_OK);
    assert_int_equal(xw_buf_append_u8(&b, 0), XW_OK);
    const char *shown = (const char *)b.data;
    assert_null(strstr(shown, KEY1 + 2));
    assert_null(strstr(shown, "pa ss"));
    assert_non_null(strstr(shown, "  wallet_key: \"<redacted>\"  # w.yaml:4:15; address " ADDR1 "\n"));
    assert_non_null(strstr(shown, "      \"sasl.password\": \"<redacted>\"  # w.yaml:18:22\n"));
    assert_non_null(strstr(shown, "  shards: 4  # w.yaml:23:11\n"));
    assert_non_null(strstr(shown, "  drain_deadline: 2m  # w.yaml:32:19\n"));
    assert_non_null(strstr(shown, "  # ca_file: not set\n"));
    wk_config_free(c);

    /* without secrets, show -> load -> show gives the same values */
    const char *plain = "sink:\n  jsonl:\n    path: \"/tmp/a \\\"b\\\".jsonl\"\n    fsync: true\n"
                        "pipeline:\n  queues:\n    store: 100\nshutdown:\n  drain_deadline: 1500ms\n"
                        "metrics:\n  address: off\nrules:\n  files: [a.yaml]\n";
    got = load_msgs(plain, ENV_NONE, &c);
    assert_string_equal(got, "");
    free(got);
    xw_buf_reset(&b);
    assert_int_equal(wk_config_show(c, &b), XW_OK);
    wk_config *c2 = NULL;
    assert_int_equal(xw_buf_append_u8(&b, 0), XW_OK);
    got = load_msgs((const char *)b.data, ENV_NONE, &c2);
    assert_string_equal(got, "");
    free(got);
    assert_non_null(c2);
    assert_string_equal(c2->sink.jsonl.path, "/tmp/a \"b\".jsonl");
    assert_int_equal(c2->sink.jsonl.fsync, 1);
    assert_int_equal(c2->pipeline.queue_store, 100);
    assert_int_equal(c2->shutdown.drain_deadline_ms, 1500);
    assert_null(c2->metrics.address);
    assert_string_equal(c2->rules.files[0], "a.yaml");
    xw_buf b2;
    xw_buf_init(&b2, 1 << 20);
    assert_int_equal(wk_config_show(c2, &b2), XW_OK);
    /* same lines apart from the origins in the comments */
    size_t i = 0, j = 0;
    while (i < b.len - 1 && j < b2.len) {
        const char *l1 = (const char *)b.data + i, *l2 = (const char *)b2.data + j;
        size_t n1 = strcspn(l1, "\n"), n2 = strcspn(l2, "\n");
        const char *h1 = strstr(l1, "  # "), *h2 = strstr(l2, "  # ");
        size_t v1 = h1 && h1 < l1 + n1 ? (size_t)(h1 - l1) : n1,
               v2 = h2 && h2 < l2 + n2 ? (size_t)(h2 - l2) : n2;
        if (v1 != v2 || memcmp(l1, l2, v1) != 0)
            fail_msg("show differs after a round trip: %.*s vs %.*s", (int)n1, l1, (int)n2, l2);
        i += n1 + 1;
        j += n2 + 1;
    }
    assert_int_equal(i, b.len - 1);
    assert_int_equal(j, b2.len);
    xw_buf_free(&b);
    xw_buf_free(&b2);
    wk_config_free(c);
    wk_config_free(c2);
}

static void test_reference(void **state)
{
    (void)state;
    xw_buf b;
    xw_buf_init(&b, 1 << 20);
    assert_int_equal(wk_config_reference(&b), XW_OK);
    assert_int_equal(xw_buf_append_u8(&b, 0), XW_OK);
    const char *r = (const char *)b.data;
    assert_non_null(strstr(r, "| `xmtp.env` | `XMTP_ENV` | `dev` | `local`, `dev`, `production` | "));
    assert_non_null(strstr(r, "| `pipeline.shards` | `XMTPW_PIPELINE_SHARDS` | `2` | 1..64 | "));
    assert_non_null(
        strstr(r, "| `shutdown.drain_deadline` | `XMTPW_SHUTDOWN_DRAIN_DEADLINE` | `30s` | 100ms..1h | "));
    assert_non_null(strstr(r, "| `xmtp.wallet_key` | `XMTP_WALLET_KEY` | none | at most 256 bytes | "));
    int rows = 0;
    for (const char *p = r; (p = strstr(p, "\n| `")); p++)
        rows++;
    assert_int_equal(rows, 27);
    xw_buf_free(&b);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static char *check_msgs(const char *yaml, const char *const *envp, wk_config **keep)
{
    wk_diags d;
    wk_diags_init(&d);
    wk_config *c = NULL;
    if (wk_config_load_mem("w.yaml", yaml, strlen(yaml), envp, &c, &d) == XW_OK)
        wk_config_check_files(c, &d);
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    wk_diags_print(&d, f);
    fclose(f);
    wk_diags_free(&d);
    if (keep)
        *keep = c;
    else
        wk_config_free(c);
    return mem;
}

static void test_check_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/wkfiles.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char y[2048], want[2048], key[128], rules[128], ca[128];
    snprintf(key, sizeof key, "%s/key", dir);
    snprintf(rules, sizeof rules, "%s/r.yaml", dir);
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);

    /* a key file readable by others is refused; at 0600 it is read */
    write_file(key, KEY1 "\n", 0644);
    snprintf(y, sizeof y,
             "xmtp:\n  wallet_key_file: %s\n  db_directory: %s\nsink:\n  jsonl:\n    path: %s/e.jsonl\n", key,
             dir, dir);
    char *got = check_msgs(y, ENV_NONE, NULL);
    snprintf(want, sizeof want,
             "w.yaml:2:20: error: xmtp.wallet_key_file: %s can be read or written by others (mode 0644); "
             "chmod 600 "
             "it\n",
             key);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(chmod(key, 0600), 0);
    wk_config *c = NULL;
    got = check_msgs(y, ENV_NONE, &c);
    assert_string_equal(got, "");
    free(got);
    assert_string_equal(c->xmtp.wallet_key, KEY1);
    assert_string_equal(wk_config_wallet_address(c), ADDR1);
    assert_string_equal(wk_config_origin(c, "xmtp.wallet_key"), "read from xmtp.wallet_key_file");
    wk_config_free(c);
    write_file(key, "0x12\n", 0600);
    got = check_msgs(y, ENV_NONE, NULL);
    snprintf(
        want, sizeof want,
        "w.yaml:2:20: error: xmtp.wallet_key_file: %s: a wallet key is 64 hex digits, optionally prefixed "
        "with 0x\n",
        key);
    assert_string_equal(got, want);
    free(got);

    /* CA file, rule files, directories */
    write_file(ca, "not a certificate\n", 0644);
    write_file(rules,
               "- rule: r\n  on: [message]\n  condition: content.txt contains \"x\"\n  actions: [tag: x]\n",
               0644);
    snprintf(y, sizeof y,
             "xmtp:\n  node_url: https://node:443\n  ca_file: %s\n  db_directory: %s/missing/store\n"
             "rules:\n  files: [%s]\noutbox:\n  path: /nonexistent-dir/o.db3\nsink:\n  jsonl:\n"
             "    path: %s\n",
             ca, dir, rules, dir);
    got = check_msgs(y, ENV_NONE, NULL);
    snprintf(
        want, sizeof want,
        "w.yaml:3:12: error: xmtp.ca_file: %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)\n"
        "w.yaml:4:17: error: xmtp.db_directory: the directory %s/missing does not exist; create it first\n"
        "w.yaml:8:9: error: outbox.path: the directory /nonexistent-dir does not exist; create it first\n"
        "w.yaml:11:11: error: sink.jsonl.path: %s exists and is not a regular file\n"
        "%s:3:14: error: unknown field 'content.txt'; see docs/rules.md for the fields\n",
        ca, dir, dir, rules);
    assert_string_equal(got, want);
    free(got);

    /* Kafka properties, as the sink checks them */
    snprintf(
        y, sizeof y,
        "xmtp:\n  db_directory: %s\nsink:\n  kafka:\n    brokers: k:9092\n    topic: t\n    properties:\n"
        "      linger.ms: 5\n      acks: \"1\"\n",
        dir);
    got = check_msgs(y, ENV_NONE, NULL);
    assert_string_equal(got,
                        "w.yaml:9:13: error: sink.kafka: kafka property acks is set by the exporter to keep "
                        "delivery exactly-once; remove it\n");
    free(got);
    snprintf(
        y, sizeof y,
        "xmtp:\n  db_directory: %s\nsink:\n  kafka:\n    brokers: k:9092\n    topic: t\n    properties:\n"
        "      sasl.password: zip\n      compression.codec: zip\n",
        dir);
    got = check_msgs(y, ENV_NONE, NULL);
    assert_string_equal(got,
                        "w.yaml:9:26: error: sink.kafka: kafka property compression.codec=<redacted>: "
                        "Invalid value \"<redacted>\" for configuration property \"compression.codec\"\n");
    free(got);
    snprintf(
        y, sizeof y,
        "xmtp:\n  db_directory: %s\nsink:\n  kafka:\n    brokers: k:9092\n    topic: t\n    properties:\n"
        "      linger.ms: 5\n      security.protocol: SASL_SSL\n",
        dir);
    got = check_msgs(y, ENV_NONE, NULL);
    assert_string_equal(got, "");
    free(got);

    unlink(key);
    unlink(rules);
    unlink(ca);
    rmdir(dir);
}

/* Every allocation failure on the way is an error or a success, never a leak or a crash. */
static void test_alloc_failures(void **state)
{
    (void)state;
    int64_t live = xw_alloc_live();
    int injected = 0;
    for (uint64_t n = 1;; n++) {
        uint64_t before = xw_alloc_failures();
        xw_alloc_fail_at(n, 0);
        wk_diags d;
        wk_diags_init(&d);
        wk_config *c = NULL;
        int rc = wk_config_load_mem("w.yaml", GOOD, strlen(GOOD), ENV_NONE, &c, &d);
        xw_buf b;
        xw_buf_init(&b, 1 << 20);
        int src = rc == XW_OK ? wk_config_show(c, &b) : XW_OK;
        xw_alloc_fail_at(0, 0);
        int hit = xw_alloc_failures() > before;
        xw_buf_free(&b);
        wk_config_free(c);
        wk_diags_free(&d);
        assert_int_equal(xw_alloc_live(), live);
        if (!hit) {
            assert_int_equal(rc, XW_OK);
            break;
        }
        injected++;
        /* a failed allocation is never passed over in silence */
        if (rc == XW_OK && src == XW_OK)
            fail_msg("allocation %llu failed and the load and show both succeeded", (unsigned long long)n);
    }
    assert_true(injected > 50);
}

static void test_util(void **state)
{
    (void)state;
    static const char *const w[] = {"check", "show", "keys"};
    assert_string_equal(wk_did_you_mean("chek", 4, w, 3), "check");
    assert_string_equal(wk_did_you_mean("SHOW", 4, w, 3), "show");
    assert_string_equal(wk_did_you_mean("ch", 2, w, 3), "check");
    assert_null(wk_did_you_mean("x", 1, w, 3));
    assert_null(wk_did_you_mean("validate", 8, w, 3));
    assert_null(wk_did_you_mean("", 0, w, 3));
    char host[WK_HOST_MAX];
    unsigned port;
    assert_int_equal(wk_hostport_parse("127.0.0.1:9464", 14, 1, host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 9464);
    assert_int_equal(wk_hostport_parse("[::1]:0", 7, 1, host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 0);
    assert_int_equal(wk_hostport_parse("node.example", 12, 0, host, &port), 0);
    assert_int_equal(wk_hostport_parse("node.example", 12, 1, host, &port), -1);
    assert_int_equal(wk_hostport_parse("h:65536", 7, 1, host, &port), -1);
    assert_int_equal(wk_hostport_parse("h:", 2, 0, host, &port), -1);
    assert_int_equal(wk_hostport_parse(":80", 3, 1, host, &port), -1);
    assert_int_equal(wk_hostport_parse("[zz]:80", 7, 1, host, &port), -1);
    assert_int_equal(wk_hostport_parse("a b:80", 6, 1, host, &port), -1);
    assert_int_equal(wk_hostport_parse("h:8a", 4, 1, host, &port), -1);
}

/* What the client's commands use: a load without a sink, option overrides, the key file alone. */
static void test_sink_optional_and_overrides(void **state)
{
    (void)state;
    wk_diags d;
    wk_diags_init(&d);
    wk_config *c = NULL;
    static const char *const env[] = {"XMTP_ENV=local", NULL};
    /* without the flag a missing sink is an error; with it, not */
    assert_int_equal(wk_config_load_flags(NULL, env, 0, &c, &d), XW_ECONFIG);
    assert_null(c);
    wk_diags_free(&d);
    wk_diags_init(&d);
    assert_int_equal(wk_config_load_flags(NULL, env, WK_CONFIG_SINK_OPTIONAL, &c, &d), XW_OK);
    assert_int_equal(d.errors, 0);
    assert_string_equal(c->xmtp.node_url, "http://localhost:5556");
    /* a half-configured sink is still refused with the flag */
    static const char *const env_half[] = {"XMTPW_SINK_KAFKA_TOPIC=t", NULL};
    wk_config *c2 = NULL;
    assert_int_equal(wk_config_load_flags(NULL, env_half, WK_CONFIG_SINK_OPTIONAL, &c2, &d), XW_ECONFIG);
    assert_null(c2);
    wk_diags_free(&d);
    wk_diags_init(&d);

    /* overrides: checked as the file's values, named by their origin */
    assert_int_equal(wk_config_override(c, "xmtp.node_url", "http://127.0.0.1:7777", "option --node", &d),
                     XW_OK);
    assert_string_equal(c->xmtp.node_url, "http://127.0.0.1:7777");
    assert_string_equal(wk_config_origin(c, "xmtp.node_url"), "option --node");
    assert_int_equal(wk_config_override(c, "xmtp.db_directory", "/tmp/x", "option --db-dir", &d), XW_OK);
    assert_string_equal(c->xmtp.db_directory, "/tmp/x");
    assert_int_equal(d.errors, 0);
    assert_int_equal(wk_config_override(c, "xmtp.node_url", "ftp://x", "option --node", &d), XW_ECONFIG);
    assert_string_equal(c->xmtp.node_url, "http://127.0.0.1:7777"); /* unchanged */
    assert_int_equal(d.errors, 1);
    assert_string_equal(d.v[0].where, "option --node");
    assert_non_null(strstr(d.v[0].msg, "xmtp.node_url"));
    assert_int_equal(wk_config_override(c, "no.such.key", "1", "option --x", &d), XW_EINVAL);
    assert_int_equal(wk_config_override(c, "rules.files", "a.yaml", "option --x", &d), XW_EINVAL);
    wk_diags_free(&d);
    wk_diags_init(&d);

    /* the key file alone: nothing set, nothing read; a file at 0600 read; at 0644 refused */
    assert_int_equal(wk_config_read_wallet_key(c, &d), XW_OK);
    assert_null(c->xmtp.wallet_key);
    char path[] = "/tmp/test-wk-key.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, KEY1 "\n", strlen(KEY1) + 1), (ssize_t)strlen(KEY1) + 1);
    close(fd);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(wk_config_override(c, "xmtp.wallet_key_file", path, "option --wallet-key-file", &d),
                     XW_OK);
    assert_int_equal(wk_config_read_wallet_key(c, &d), XW_ECONFIG);
    assert_null(c->xmtp.wallet_key);
    assert_string_equal(d.v[0].where, "option --wallet-key-file");
    assert_non_null(strstr(d.v[0].msg, "chmod 600 it"));
    wk_diags_free(&d);
    wk_diags_init(&d);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(wk_config_read_wallet_key(c, &d), XW_OK);
    assert_string_equal(c->xmtp.wallet_key, KEY1);
    assert_string_equal(wk_config_wallet_address(c), ADDR1);
    unlink(path);
    wk_diags_free(&d);
    wk_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_value_too_long_and_lists_bounded),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_defaults_and_env),
        cmocka_unit_test(test_show_round_trip),
        cmocka_unit_test(test_reference),
        cmocka_unit_test(test_check_files),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_util),
        cmocka_unit_test(test_sink_optional_and_overrides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
