/*
 * What a configuration points to, checked as `xmtpw run` will use it: the wallet key file,
 * the CA file, the rule files, the directories files will be created in, and the Kafka
 * producer configuration.
 *
 * Every problem is reported at the location of the key that named the file. The rule files
 * are compiled by the rules engine itself (rules/rules.h), and their errors keep their own
 * file:line:col; the Kafka configuration is checked by the Kafka sink itself
 * (pl_sink_kafka_check, pipeline/sink.h), so the checks cannot drift from what a run does.
 */
#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "rules/rules.h"
#include "worker/config_int.h"
#include "xmtp/wallet.h"

#define KEY_FILE_MAX 1024
#define CA_SCAN_MAX (1u << 20)

static const char *where_of(const wk_config *c, wk_key k)
{
    return c->meta->origin[k] ? c->meta->origin[k] : "built-in default";
}

static void read_key_file(wk_config *c, wk_diags *d)
{
    const char *path = c->xmtp.wallet_key_file, *w = where_of(c, WK_K_XMTP_WALLET_KEY_FILE);
    FILE *f = fopen(path, "rb");
    if (!f) {
        wk_diags_add(d, 0, w, "xmtp.wallet_key_file: cannot open %s: %s", path, strerror(errno));
        return;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        wk_diags_add(d, 0, w, "xmtp.wallet_key_file: %s is not a regular file", path);
        fclose(f);
        return;
    }
    if (st.st_mode & 077) {
        wk_diags_add(d, 0, w,
                     "xmtp.wallet_key_file: %s can be read or written by others (mode %04o); chmod 600 it",
                     path, (unsigned)(st.st_mode & 07777));
        fclose(f);
        return;
    }
    char buf[KEY_FILE_MAX + 1];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n > KEY_FILE_MAX) {
        wk_diags_add(d, 0, w, "xmtp.wallet_key_file: %s is longer than %d bytes; it should hold one key",
                     path, KEY_FILE_MAX);
        xw_wipe(buf, sizeof buf);
        return;
    }
    size_t a = 0, b = n;
    while (a < b && (buf[a] == ' ' || buf[a] == '\t' || buf[a] == '\n' || buf[a] == '\r'))
        a++;
    while (b > a && (buf[b - 1] == ' ' || buf[b - 1] == '\t' || buf[b - 1] == '\n' || buf[b - 1] == '\r'))
        b--;
    buf[b] = '\0';
    xmtp_wallet *wal = NULL;
    xw_errbuf eb = {{0}};
    if (memchr(buf + a, '\0', b - a) || xmtp_wallet_from_hex(buf + a, &wal, &eb) != XW_OK) {
        wk_diags_add(d, 0, w, "xmtp.wallet_key_file: %s: %s", path,
                     eb.msg[0] ? eb.msg : "the key is not text");
        xw_wipe(buf, sizeof buf);
        return;
    }
    uint8_t addr[XMTP_ADDRESS_LEN];
    xmtp_wallet_address(wal, addr);
    xmtp_address_to_eip55(addr, c->meta->address);
    xmtp_wallet_free(wal);
    c->xmtp.wallet_key = xw_strndup(buf + a, b - a);
    xw_wipe(buf, sizeof buf);
    char *o = xw_strdup("read from xmtp.wallet_key_file");
    if (!c->xmtp.wallet_key || !o) {
        wk_diags_add(d, 0, w, "out of memory");
        xw_free(o);
        return;
    }
    xw_free(c->meta->origin[WK_K_XMTP_WALLET_KEY]);
    c->meta->origin[WK_K_XMTP_WALLET_KEY] = o;
}

static void check_ca_file(const wk_config *c, wk_diags *d)
{
    const char *path = c->xmtp.ca_file, *w = where_of(c, WK_K_XMTP_CA_FILE);
    FILE *f = fopen(path, "rb");
    if (!f) {
        wk_diags_add(d, 0, w, "xmtp.ca_file: cannot open %s: %s", path, strerror(errno));
        return;
    }
    char *buf = xw_malloc(CA_SCAN_MAX + 1);
    size_t n = buf ? fread(buf, 1, CA_SCAN_MAX, f) : 0;
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (!strstr(buf, "-----BEGIN CERTIFICATE-----"))
            wk_diags_add(d, 0, w, "xmtp.ca_file: %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                         path);
    }
    xw_free(buf);
}

/* The directory a file will be created in must exist and be writable; the store directory
 * itself may be missing when its parent can hold it (the worker creates it). */
static void check_dir(const char *key, const char *path, const char *w, int is_dir, const char *creatable,
                      wk_diags *d)
{
    struct stat st;
    if (is_dir && stat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            wk_diags_add(d, 0, w, "%s: %s is not a directory", key, path);
        else if (access(path, W_OK | X_OK) != 0)
            wk_diags_add(d, 0, w, "%s: cannot write in %s: %s", key, path, strerror(errno));
        return;
    }
    if (!is_dir && stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode))
            wk_diags_add(d, 0, w, "%s: %s exists and is not a regular file", key, path);
        else if (access(path, W_OK) != 0)
            wk_diags_add(d, 0, w, "%s: cannot write %s: %s", key, path, strerror(errno));
        return;
    }
    char *copy = xw_strdup(path);
    if (!copy)
        return;
    const char *parent = dirname(copy);
    if (creatable && strcmp(parent, creatable) == 0) {
        xw_free(copy);
        return; /* inside the store directory, which is checked on its own */
    }
    if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode))
        wk_diags_add(d, 0, w, "%s: the directory %s does not exist; create it first", key, parent);
    else if (access(parent, W_OK | X_OK) != 0)
        wk_diags_add(d, 0, w, "%s: cannot create %s: %s is not writable", key, path, parent);
    xw_free(copy);
}

static void check_rules(const wk_config *c, wk_diags *d)
{
    rules_diags rd;
    rules_diags_init(&rd);
    rules_set *s = NULL;
    rules_set_load_files((const char *const *)c->rules.files, c->rules.nfiles, NULL, &s, &rd);
    for (size_t i = 0; i < rd.n; i++) {
        const rules_diag *g = &rd.v[i];
        if (g->level == RULES_DIAG_NOTE)
            continue;
        char w[WK_MAXLEN + 64];
        if (g->line > 0)
            snprintf(w, sizeof w, "%s:%d:%d", g->file, g->line, g->col);
        else
            snprintf(w, sizeof w, "%s", g->file);
        wk_diags_add(d, g->level == RULES_DIAG_WARNING, w, "%s", g->msg);
    }
    if (rd.dropped)
        wk_diags_add(d, 0, where_of(c, WK_K_RULES_FILES), "rules.files: %zu more problems in the rule files",
                     rd.dropped);
    rules_set_free(s);
    rules_diags_free(&rd);
}

/* Replaces every occurrence of secret in msg (an xw_errbuf's) with "<redacted>". */
static void redact(char msg[XW_ERRBUF_SIZE], const char *secret)
{
    char out[XW_ERRBUF_SIZE];
    size_t o = 0, sl = strlen(secret);
    for (const char *p = msg; *p && o + 1 < sizeof out;) {
        if (sl && strncmp(p, secret, sl) == 0) {
            for (const char *r = "<redacted>"; *r && o + 1 < sizeof out; r++)
                out[o++] = *r;
            p += sl;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    memcpy(msg, out, o + 1);
}

static void check_kafka(const wk_config *c, wk_diags *d)
{
    pl_kafka_config kc = {0};
    kc.brokers = c->sink.kafka.brokers;
    kc.topic = c->sink.kafka.topic;
    for (int i = 0; i < PL_EVENT__KIND_COUNT; i++)
        kc.topics[i] = c->sink.kafka.topics[i];
    for (size_t i = 0; i < c->sink.kafka.nprops; i++) {
        kc.props[i][0] = c->sink.kafka.props[i].name;
        kc.props[i][1] = c->sink.kafka.props[i].value;
    }
    kc.nprops = c->sink.kafka.nprops;
    xw_errbuf eb = {{0}};
    if (pl_sink_kafka_check(&kc, &eb) == XW_OK)
        return;
    /* librdkafka's message may quote a value: never a secret's */
    for (size_t i = 0; i < c->sink.kafka.nprops; i++)
        if (wk_kafka_prop_is_secret(c->sink.kafka.props[i].name))
            redact(eb.msg, c->sink.kafka.props[i].value);
    /* at the property the message names, else at the brokers */
    const char *w = where_of(c, WK_K_SINK_KAFKA_BROKERS);
    for (size_t i = 0; i < c->sink.kafka.nprops; i++) {
        const char *hit = strstr(eb.msg, c->sink.kafka.props[i].name);
        size_t nl = strlen(c->sink.kafka.props[i].name);
        if (hit && (hit[nl] == '=' || hit[nl] == ' ' || hit[nl] == '\0' || hit[nl] == '"')) {
            w = c->meta->prop_origin[i];
            break;
        }
    }
    wk_diags_add(d, 0, w, "sink.kafka: %s", eb.msg);
}

int wk_config_read_wallet_key(wk_config *c, wk_diags *d)
{
    size_t before = d->errors;
    if (c->xmtp.wallet_key_file && !c->xmtp.wallet_key)
        read_key_file(c, d);
    return d->errors > before ? XW_ECONFIG : XW_OK;
}

int wk_config_check_files(wk_config *c, wk_diags *d)
{
    size_t before = d->errors;
    if (c->xmtp.wallet_key_file && !c->xmtp.wallet_key)
        read_key_file(c, d);
    if (c->xmtp.ca_file)
        check_ca_file(c, d);
    if (c->xmtp.db_directory)
        check_dir("xmtp.db_directory", c->xmtp.db_directory, where_of(c, WK_K_XMTP_DB_DIRECTORY), 1, NULL, d);
    if (c->outbox.path)
        check_dir("outbox.path", c->outbox.path, where_of(c, WK_K_OUTBOX_PATH), 0, c->xmtp.db_directory, d);
    if (c->sink.type == WK_SINK_JSONL && c->sink.jsonl.path && strcmp(c->sink.jsonl.path, "-") != 0)
        check_dir("sink.jsonl.path", c->sink.jsonl.path, where_of(c, WK_K_SINK_JSONL_PATH), 0, NULL, d);
    if (c->rules.nfiles)
        check_rules(c, d);
    if (c->sink.type == WK_SINK_KAFKA)
        check_kafka(c, d);
    return d->errors > before ? XW_ECONFIG : XW_OK;
}
