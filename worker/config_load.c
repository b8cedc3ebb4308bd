/*
 * Loading a configuration: defaults, the file, the environment, then resolution.
 *
 * The environment: each key's variable (config_int.h) is looked up like getenv() (the first
 * "NAME=" entry wins); an empty value counts as unset. Lists (rules.files) are split at
 * commas. Maps take one variable per entry: XMTPW_SINK_KAFKA_TOPICS_<KIND> with the kind in
 * capitals (LEAVE_REQUEST), and XMTPW_SINK_KAFKA_PROPERTIES_<NAME> with the librdkafka
 * property in capitals, '.' written as '_' and '_' as "__" (the convention of Confluent's
 * images: SASL_USERNAME is sasl.username). Every other XMTPW_ variable is an error, so a
 * misspelt one is not silently ignored.
 *
 * Resolution fills in what follows from other keys (the node URL from xmtp.env, the outbox
 * path from xmtp.db_directory, the sink type from the sink keys that are set) and refuses
 * combinations that cannot work (both a wallet key and a key file, a CA file for an http://
 * node, settings of both sinks, a store key while the store cannot be encrypted).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "worker/config_int.h"
#include "xmtp/wallet.h"

#define TOPICS_PREFIX "XMTPW_SINK_KAFKA_TOPICS_"
#define PROPS_PREFIX "XMTPW_SINK_KAFKA_PROPERTIES_"
#define ENV_WHERE_MAX 200

/* Variables that are not keys but are known: the configuration file's name. */
static const char *const other_vars[] = {"XMTPW_CONFIG"};

static const char *env_get(const char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i] + n + 1;
    return NULL;
}

static void env_where(char *out, size_t cap, const char *name, size_t len)
{
    if (len > 120)
        len = 120;
    snprintf(out, cap, "environment %.*s", (int)len, name);
}

/* The XMTPW_ form of a key's path, for keys whose variable has an SDK name. */
static void generic_var(const char *path, char *out, size_t cap)
{
    size_t o = (size_t)snprintf(out, cap, "XMTPW_");
    for (; *path && o + 1 < cap; path++)
        out[o++] = *path == '.' ? '_' : (char)toupper((unsigned char)*path);
    out[o] = '\0';
}

static void unknown_var(wk_loader *L, const char *entry, size_t nlen)
{
    char where[ENV_WHERE_MAX];
    env_where(where, sizeof where, entry, nlen);
    const char *names[WK_K__COUNT + 1];
    size_t n = 0;
    for (int k = 0; k < WK_K__COUNT; k++) {
        if (wk_keydefs[k].type == WK_T_MAP)
            continue;
        char g[96];
        generic_var(wk_keydefs[k].path, g, sizeof g);
        if (strcmp(g, wk_keydefs[k].env) != 0 && strlen(g) == nlen && memcmp(g, entry, nlen) == 0) {
            wk_diags_add(L->d, 0, where, "not a setting: %s is set by %s (the XMTP SDKs' name)",
                         wk_keydefs[k].path, wk_keydefs[k].env);
            return;
        }
        names[n++] = wk_keydefs[k].env;
    }
    names[n++] = other_vars[0];
    const char *dym = wk_did_you_mean(entry, nlen, names, n);
    if (dym)
        wk_diags_add(L->d, 0, where, "unknown setting; did you mean %s?", dym);
    else
        wk_diags_add(L->d, 0, where, "unknown setting (the variables are listed in docs/worker.md)");
}

static void apply_env(wk_loader *L, const char *const *envp)
{
    char where[ENV_WHERE_MAX];
    for (int k = 0; k < WK_K__COUNT; k++) {
        const wk_keydef *kd = &wk_keydefs[k];
        if (kd->type == WK_T_MAP)
            continue;
        const char *v = env_get(envp, kd->env);
        if (!v || !*v)
            continue;
        env_where(where, sizeof where, kd->env, strlen(kd->env));
        if (kd->type != WK_T_LIST) {
            wk_cfg_set(L, (wk_key)k, v, strlen(v), where);
            continue;
        }
        wk_cfg_list_reset(L, (wk_key)k, where);
        for (const char *p = v;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (wk_cfg_list_add(L, (wk_key)k, p, len, where) != 0)
                break;
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    for (size_t i = 0; envp && envp[i]; i++) {
        const char *e = envp[i], *eq = strchr(e, '=');
        if (!eq || strncmp(e, "XMTPW_", 6) != 0)
            continue;
        size_t nlen = (size_t)(eq - e);
        const char *v = eq + 1;
        int known = 0;
        for (int k = 0; k < WK_K__COUNT && !known; k++)
            known = wk_keydefs[k].type != WK_T_MAP && strlen(wk_keydefs[k].env) == nlen &&
                    memcmp(wk_keydefs[k].env, e, nlen) == 0;
        for (size_t k = 0; k < sizeof other_vars / sizeof other_vars[0] && !known; k++)
            known = strlen(other_vars[k]) == nlen && memcmp(other_vars[k], e, nlen) == 0;
        if (known)
            continue;
        env_where(where, sizeof where, e, nlen);
        int topics = strncmp(e, TOPICS_PREFIX, strlen(TOPICS_PREFIX)) == 0;
        int props = strncmp(e, PROPS_PREFIX, strlen(PROPS_PREFIX)) == 0;
        if (!topics && !props) {
            unknown_var(L, e, nlen);
            continue;
        }
        /* first occurrence only, like getenv() */
        int first = 1;
        for (size_t j = 0; j < i && first; j++)
            first = !(strncmp(envp[j], e, nlen + 1) == 0);
        if (!first || !*v)
            continue;
        const char *s = e + strlen(topics ? TOPICS_PREFIX : PROPS_PREFIX);
        size_t sl = (size_t)(eq - s);
        char name[160];
        size_t o = 0;
        for (size_t j = 0; j < sl && o + 1 < sizeof name; j++) {
            char ch = (char)tolower((unsigned char)s[j]);
            if (props && s[j] == '_' && j + 1 < sl && s[j + 1] == '_') {
                name[o++] = '_';
                j++;
            } else {
                name[o++] = props && ch == '_' ? '.' : ch;
            }
        }
        if (sl == 0 || o >= sizeof name - 1) {
            wk_diags_add(L->d, 0, where, "%s",
                         sl ? "the name after the prefix is too long"
                            : "the variable needs a name after the prefix "
                              "(e.g. XMTPW_SINK_KAFKA_PROPERTIES_SASL_USERNAME)");
            continue;
        }
        wk_cfg_map_put(L, topics ? WK_K_SINK_KAFKA_TOPICS : WK_K_SINK_KAFKA_PROPERTIES, name, o, v, strlen(v),
                       where);
    }
}

/* --- resolution ------------------------------------------------------------------------------ */
static const char *origin(const wk_config *c, wk_key k) { return c->meta->origin[k]; }

/* Where to report a missing key of a section: the section in the file, its parent, or
 * the top of the file. */
static const char *section_where(wk_loader *L, const char *path, char *buf, size_t cap)
{
    const wk_config_meta *m = L->c->meta;
    for (size_t i = 0; i < m->nsections; i++)
        if (strcmp(m->section_path[i], path) == 0)
            return m->section_origin[i];
    const char *dot = strrchr(path, '.');
    if (dot) {
        char parent[64];
        snprintf(parent, sizeof parent, "%.*s", (int)(dot - path), path);
        return section_where(L, parent, buf, cap);
    }
    if (L->file) {
        snprintf(buf, cap, "%s:1:1", L->file);
        return buf;
    }
    return "configuration";
}

static int set_derived(wk_loader *L, wk_key k, const char *value, const char *from)
{
    char where[96];
    snprintf(where, sizeof where, "derived from %s", from);
    return wk_cfg_set(L, k, value, strlen(value), where);
}

static void resolve(wk_loader *L)
{
    wk_config *c = L->c;
    char buf[300];
    if (c->xmtp.db_encryption_key) {
        wk_diags_add(L->d, 0, origin(c, WK_K_XMTP_DB_ENCRYPTION_KEY),
                     "xmtp.db_encryption_key: not supported yet: the store is not encrypted; unset "
                     "XMTP_DB_ENCRYPTION_KEY (or remove the key) to run with an unencrypted store");
        xw_free_secret(c->xmtp.db_encryption_key, strlen(c->xmtp.db_encryption_key));
        c->xmtp.db_encryption_key = NULL;
    }
    if (!origin(c, WK_K_XMTP_NODE_URL))
        set_derived(L, WK_K_XMTP_NODE_URL, wk_config_env_url(c->xmtp.env), "xmtp.env");
    if (c->xmtp.ca_file && c->xmtp.node_url && strncmp(c->xmtp.node_url, "https://", 8) != 0)
        wk_diags_add(L->d, 0, origin(c, WK_K_XMTP_CA_FILE),
                     "xmtp.ca_file is only used with an https:// node URL, and the node URL is %s; remove it",
                     c->xmtp.node_url);
    if (c->xmtp.wallet_key && c->xmtp.wallet_key_file)
        wk_diags_add(L->d, 0, origin(c, WK_K_XMTP_WALLET_KEY_FILE),
                     "both xmtp.wallet_key (%s) and xmtp.wallet_key_file are set; keep one",
                     origin(c, WK_K_XMTP_WALLET_KEY));
    else if (c->xmtp.wallet_key) {
        xmtp_wallet *w = NULL;
        xw_errbuf eb = {{0}};
        if (xmtp_wallet_from_hex(c->xmtp.wallet_key, &w, &eb) != XW_OK) {
            wk_diags_add(L->d, 0, origin(c, WK_K_XMTP_WALLET_KEY), "xmtp.wallet_key: %s", eb.msg);
        } else {
            uint8_t a[XMTP_ADDRESS_LEN];
            xmtp_wallet_address(w, a);
            xmtp_address_to_eip55(a, c->meta->address);
            xmtp_wallet_free(w);
        }
    }

    /* the sink */
    int kafka_set =
        origin(c, WK_K_SINK_KAFKA_BROKERS) || origin(c, WK_K_SINK_KAFKA_TOPIC) || c->sink.kafka.nprops > 0;
    for (int i = 0; i < PL_EVENT__KIND_COUNT; i++)
        kafka_set |= c->sink.kafka.topics[i] != NULL;
    int jsonl_set = origin(c, WK_K_SINK_JSONL_PATH) != NULL; /* fsync alone chooses nothing */
    if (!origin(c, WK_K_SINK_TYPE)) {
        if (kafka_set && jsonl_set) {
            wk_diags_add(L->d, 0, section_where(L, "sink", buf, sizeof buf),
                         "both a Kafka sink (sink.kafka) and a JSON-lines sink (sink.jsonl) are configured; "
                         "remove one, or choose with sink.type");
            return;
        }
        if (!kafka_set && !jsonl_set && (L->flags & WK_CONFIG_SINK_OPTIONAL))
            goto after_sink;
        if (!kafka_set && !jsonl_set) {
            wk_diags_add(L->d, 0, section_where(L, "sink", buf, sizeof buf),
                         "no sink: set sink.kafka.brokers and sink.kafka.topic (XMTPW_SINK_KAFKA_BROKERS, "
                         "XMTPW_SINK_KAFKA_TOPIC), or sink.jsonl.path (XMTPW_SINK_JSONL_PATH)");
            return;
        }
        set_derived(L, WK_K_SINK_TYPE, jsonl_set ? "jsonl" : "kafka",
                    jsonl_set ? "sink.jsonl" : "sink.kafka");
    }
    if (c->sink.type == WK_SINK_KAFKA) {
        if (!c->sink.kafka.brokers && !c->meta->refused[WK_K_SINK_KAFKA_BROKERS])
            wk_diags_add(L->d, 0, section_where(L, "sink.kafka", buf, sizeof buf),
                         "sink.kafka.brokers is required for the Kafka sink (XMTPW_SINK_KAFKA_BROKERS)");
        if (!c->sink.kafka.topic && !c->meta->refused[WK_K_SINK_KAFKA_TOPIC])
            wk_diags_add(L->d, 0, section_where(L, "sink.kafka", buf, sizeof buf),
                         "sink.kafka.topic is required for the Kafka sink (XMTPW_SINK_KAFKA_TOPIC)");
        if (jsonl_set)
            wk_diags_add(L->d, 0, origin(c, WK_K_SINK_JSONL_PATH),
                         "sink.jsonl.path is set but sink.type is kafka (%s); remove one",
                         origin(c, WK_K_SINK_TYPE));
    } else {
        if (!c->sink.jsonl.path && !c->meta->refused[WK_K_SINK_JSONL_PATH])
            wk_diags_add(L->d, 0, section_where(L, "sink.jsonl", buf, sizeof buf),
                         "sink.jsonl.path is required for the JSON-lines sink (XMTPW_SINK_JSONL_PATH)");
        if (kafka_set)
            wk_diags_add(L->d, 0, section_where(L, "sink.kafka", buf, sizeof buf),
                         "sink.kafka is set but sink.type is jsonl (%s); remove one",
                         origin(c, WK_K_SINK_TYPE));
    }

after_sink:
    if (!origin(c, WK_K_OUTBOX_PATH) && c->xmtp.db_directory) {
        size_t n = strlen(c->xmtp.db_directory);
        char *p = xw_malloc(n + 16);
        if (!p)
            wk_diags_add(L->d, 0, origin(c, WK_K_XMTP_DB_DIRECTORY), "out of memory");
        if (p) {
            snprintf(p, n + 16, "%s%soutbox.db3", c->xmtp.db_directory,
                     n && c->xmtp.db_directory[n - 1] == '/' ? "" : "/");
            set_derived(L, WK_K_OUTBOX_PATH, p, "xmtp.db_directory");
            xw_free(p);
        }
    }
    if (c->metrics.address && strcmp(c->metrics.address, "off") == 0) {
        xw_free(c->metrics.address);
        c->metrics.address = NULL;
    }
}

/* --- load ------------------------------------------------------------------------------------ */
static wk_config *config_new(void)
{
    wk_config *c = xw_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->meta = xw_calloc(1, sizeof *c->meta);
    if (!c->meta) {
        xw_free(c);
        return NULL;
    }
    return c;
}

void wk_config_free(wk_config *c)
{
    if (!c)
        return;
    for (int k = 0; k < WK_K__COUNT; k++)
        xw_free(c->meta->origin[k]);
    if (c->xmtp.wallet_key)
        xw_free_secret(c->xmtp.wallet_key, strlen(c->xmtp.wallet_key));
    if (c->xmtp.db_encryption_key)
        xw_free_secret(c->xmtp.db_encryption_key, strlen(c->xmtp.db_encryption_key));
    xw_free(c->xmtp.node_url);
    xw_free(c->xmtp.ca_file);
    xw_free(c->xmtp.wallet_key_file);
    xw_free(c->xmtp.db_directory);
    for (size_t i = 0; i < c->rules.nfiles; i++) {
        xw_free(c->rules.files[i]);
        xw_free(c->meta->list_origin[i]);
    }
    xw_free(c->rules.files);
    xw_free(c->sink.kafka.brokers);
    xw_free(c->sink.kafka.topic);
    for (int i = 0; i < PL_EVENT__KIND_COUNT; i++) {
        xw_free(c->sink.kafka.topics[i]);
        xw_free(c->meta->topic_origin[i]);
    }
    for (size_t i = 0; i < c->sink.kafka.nprops; i++) {
        xw_free(c->sink.kafka.props[i].name);
        xw_free_secret(c->sink.kafka.props[i].value, strlen(c->sink.kafka.props[i].value));
        xw_free(c->meta->prop_origin[i]);
    }
    xw_free(c->sink.jsonl.path);
    xw_free(c->outbox.path);
    xw_free(c->metrics.address);
    for (size_t i = 0; i < c->meta->nsections; i++) {
        xw_free(c->meta->section_path[i]);
        xw_free(c->meta->section_origin[i]);
    }
    xw_free(c->meta->file);
    xw_free(c->meta);
    xw_free(c);
}

static int load(const char *name, const char *data, size_t len, const char *const *envp, unsigned flags,
                wk_config **out, wk_diags *d)
{
    *out = NULL;
    size_t errors_before = d->errors;
    wk_config *c = config_new();
    if (!c)
        return XW_ENOMEM;
    wk_loader L = {c, d, name, flags};
    if (name && !(c->meta->file = xw_strdup(name))) {
        wk_config_free(c);
        return XW_ENOMEM;
    }
    for (int k = 0; k < WK_K__COUNT; k++) {
        const wk_keydef *kd = &wk_keydefs[k];
        if (kd->def && wk_cfg_set(&L, (wk_key)k, kd->def, strlen(kd->def), NULL) != 0) {
            wk_config_free(c); /* a default outside its own bounds: the table is wrong */
            return XW_EINTERNAL;
        }
    }
    if (data)
        wk_config_yaml_apply(&L, data, len);
    apply_env(&L, envp);
    resolve(&L);
    if (d->errors > errors_before) {
        wk_config_free(c);
        return XW_ECONFIG;
    }
    *out = c;
    return XW_OK;
}

int wk_config_load_mem(const char *name, const char *data, size_t len, const char *const *envp,
                       wk_config **out, wk_diags *d)
{
    return load(name ? name : "<memory>", data ? data : "", data ? len : 0, envp, 0, out, d);
}

int wk_config_load(const char *path, const char *const *envp, wk_config **out, wk_diags *d)
{
    return wk_config_load_flags(path, envp, 0, out, d);
}

int wk_config_load_flags(const char *path, const char *const *envp, unsigned flags, wk_config **out,
                         wk_diags *d)
{
    *out = NULL;
    if (!path)
        return load(NULL, NULL, 0, envp, flags, out, d);
    FILE *f = fopen(path, "rb");
    if (!f) {
        wk_diags_add(d, 0, path, "cannot open the configuration file: %s", strerror(errno));
        return XW_ECONFIG;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        wk_diags_add(d, 0, path, "not a regular file");
        fclose(f);
        return XW_ECONFIG;
    }
    if ((uint64_t)st.st_size > WK_CONFIG_MAX_FILE_BYTES) {
        wk_diags_add(d, 0, path, "the file is %lld bytes; a configuration may be at most %u bytes",
                     (long long)st.st_size, WK_CONFIG_MAX_FILE_BYTES);
        fclose(f);
        return XW_ECONFIG;
    }
    char *data = xw_malloc((size_t)st.st_size + 1);
    if (!data) {
        fclose(f);
        return XW_ENOMEM;
    }
    size_t n = fread(data, 1, (size_t)st.st_size + 1, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr || n > (size_t)st.st_size) {
        wk_diags_add(d, 0, path,
                     rerr ? "cannot read the configuration file" : "the file grew while being read");
        xw_free(data);
        return XW_ECONFIG;
    }
    int rc = load(path, data, n, envp, flags, out, d);
    xw_free(data);
    return rc;
}

int wk_config_override(wk_config *c, const char *key, const char *value, const char *where, wk_diags *d)
{
    int k = wk_key_find(key, strlen(key));
    if (k < 0 || wk_keydefs[k].type == WK_T_LIST || wk_keydefs[k].type == WK_T_MAP)
        return XW_EINVAL;
    wk_loader L = {c, d, NULL, 0};
    return wk_cfg_set(&L, (wk_key)k, value, strlen(value), where) == 0 ? XW_OK : XW_ECONFIG;
}

const char *wk_config_origin(const wk_config *c, const char *key)
{
    int k = wk_key_find(key, strlen(key));
    if (k < 0)
        return NULL;
    return c->meta->origin[k] ? c->meta->origin[k] : "default";
}

const char *wk_config_wallet_address(const wk_config *c)
{
    return c->meta->address[0] ? c->meta->address : NULL;
}
