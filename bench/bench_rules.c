/*
 * Benchmark of the rules engine: 100 rules over 1,000,000 generated events on one core.
 *
 * The set: 10 word lists of 10,000 words; 30 rules `content.words intersects LIST` (plus
 * admin and age tests), 20 regex rules (10 on the text behind a cheap test, 10 on links),
 * 20 rate rules over 10 distinct windows (sender and group keys, 10 s to 1 h, two with a
 * condition), 10 first_message / mention / command rules and 20 rules on other fields with
 * icontains / startswith / glob / in. Events: 16,384 distinct generated events (80% messages
 * of 4 to 16 words from a 50,000-word vocabulary, 10,000 senders in 200 groups, some links
 * and mentions), replayed with increasing timestamps. Thread CPU time (CLOCK_THREAD_CPUTIME_ID), median
 * of interleaved rounds (BENCH_RULES_ROUNDS, default 5; BENCH_RULES_EVENTS for fewer events,
 * e.g. under callgrind). Prints events/s, the ratio against
 * the same loop with an empty set (the baseline, measured in this run), JSON parsing + eval
 * throughput, and the peak resident memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/resource.h>
#include <time.h>

#include "bench/bench_util.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/parse.h"
#include "common/clock.h"
#include "rules/rules.h"

#define NEVENTS_DEFAULT 1000000
static int NEVENTS = NEVENTS_DEFAULT; /* BENCH_RULES_EVENTS=N: fewer, e.g. under callgrind */
#define NROUNDS 5
#define NVOCAB 50000

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static char vocab[NVOCAB][12];

static void make_vocab(void)
{
    static const char *syl[] = {"ka", "lo", "mi", "ne", "su", "ta", "ri",
                                "po", "ve", "zu", "an", "el", "or", "ix"};
    for (int i = 0; i < NVOCAB; i++) {
        int n = 2 + (int)(rnd() % 3);
        vocab[i][0] = '\0';
        for (int k = 0; k < n; k++)
            strcat(vocab[i], syl[rnd() % 14]);
        char num[8];
        snprintf(num, sizeof num, "%d", i % 97);
        if (strlen(vocab[i]) + strlen(num) < sizeof vocab[i])
            strcat(vocab[i], num); /* distinct enough */
    }
}

/* CPU time: the machine may be shared */
static double now(void) { return (double)xw_clock_thread_cpu_ns() / 1e9; }

static void build_rules(xw_buf *y)
{
    for (int l = 0; l < 10; l++) {
        xw_buf_appendf(y, "- list: words_%d\n  items: [", l);
        for (int i = 0; i < 10000; i++) /* 20 words of each list are in the vocabulary */
            xw_buf_appendf(y, "%s%s", i ? ", " : "",
                           (i % 500 == 0) ? vocab[(l * 977 + i * 13) % NVOCAB] : "zz");
        xw_buf_appendf(y, "]\n");
        /* make the 10,000 entries distinct: a suffix per entry */
        xw_buf_truncate(y, y->len - 2);
        for (int i = 0; i < 10000; i += 1)
            if (i % 500 != 0)
                xw_buf_appendf(y, ", w%d_%d", l, i);
        xw_buf_appendf(y, "]\n");
    }
    xw_buf_append_str(
        y, "- list: vips\n  items: [s1, s2, s3]\n- macro: member\n  condition: not sender.is_admin "
           "and not sender.inbox_id in vips\n");
    int r = 0;
    const char *only = getenv("BENCH_RULES_ONLY"); /* words, regex, rate or other: one group alone */
    int w_on = !only || strcmp(only, "words") == 0, re_on = !only || strcmp(only, "regex") == 0;
    int rate_on = !only || strcmp(only, "rate") == 0, other_on = !only || strcmp(only, "other") == 0;
    for (int i = 0; i < 30 && w_on; i++, r++)
        xw_buf_appendf(
            y,
            "- rule: words_%d\n  on: [message, reply]\n  condition: content.words intersects words_%d "
            "and member%s\n  actions: [delete_message]\n",
            r, i % 10, i % 3 == 0 ? " and sender.joined_age < 24h" : "");
    for (int i = 0; i < 10 && re_on; i++, r++)
        xw_buf_appendf(
            y,
            "- rule: re_text_%d\n  on: [message]\n  condition: len(content.text) > 40 and content.text "
            "regex \"(?i)\\\\b(code|promo|bonus)%d[0-9]{2}\\\\b\"\n  actions: [delete_message]\n",
            r, i);
    for (int i = 0; i < 10 && re_on; i++, r++)
        xw_buf_appendf(y,
                       "- rule: re_link_%d\n  on: [message]\n  condition: content.links regex "
                       "\"^https?://[a-z0-9.-]*\\\\.(xyz|top|click|zip%d)/\"\n  actions: [delete_message]\n",
                       r, i);
    static const char *win[] = {"10s", "60s", "5m", "15m", "1h"};
    /* far above the generated traffic (a sender every 20 s, a group 2.5 times a second) */
    static const int rate_limit[] = {30, 200, 1000, 3000, 12000};
    for (int i = 0; i < 20 && rate_on; i++, r++) {
        const char *key = i % 2 ? "group.id" : "sender.inbox_id";
        const char *guard = i == 4 ? ", len(content.links) > 0" : i == 9 ? ", content.type = \"text\"" : "";
        xw_buf_appendf(
            y,
            "- rule: rate_%d\n  on: [message, reply, reaction]\n  condition: rate(%s, %s%s) > %d and "
            "member\n  cooldown: 5m\n  actions: [remove_member]\n",
            r, key, win[i % 5], guard, (i % 2 ? 2 : 1) * rate_limit[i % 5]);
    }
    for (int i = 0; i < 10 && other_on; i++, r++) {
        if (i < 4)
            xw_buf_appendf(
                y,
                "- rule: first_%d\n  on: [message]\n  condition: first_message(sender.inbox_id) and "
                "len(content.links) > %d\n  actions: [delete_message]\n",
                r, i);
        else if (i < 7)
            xw_buf_appendf(
                y,
                "- rule: mentions_%d\n  on: [message, reply]\n  condition: len(content.mentions) >= %d "
                "and member\n  actions: [delete_message]\n",
                r, 3 + i);
        else
            xw_buf_appendf(
                y,
                "- rule: cmd_%d\n  on: [message]\n  condition: lower(content.text) startswith \"/cmd%d\"\n"
                "  actions: [{reply: \"ok {{sender.inbox_id}}\"}]\n",
                r, i);
    }
    for (int i = 0; i < 20 && other_on; i++, r++) {
        switch (i % 4) {
        case 0:
            xw_buf_appendf(
                y,
                "- rule: f_%d\n  on: [message]\n  condition: content.text icontains \"free %s\" and "
                "group.member_count > %d\n  actions: [alert]\n",
                r, vocab[i * 31], i * 10);
            break;
        case 1:
            xw_buf_appendf(
                y,
                "- rule: f_%d\n  on: [message, reaction]\n  condition: group.id in (g%d, g%d, g%d) and "
                "sender.message_count < %d\n  actions: [tag: watched]\n",
                r, i, i + 50, i + 100, i);
            break;
        case 2:
            xw_buf_appendf(
                y,
                "- rule: f_%d\n  on: [member_added, leave_request]\n  condition: sender.address glob "
                "\"0x%x*\" and not group.is_dm\n  actions: [alert]\n",
                r, i);
            break;
        default:
            xw_buf_appendf(
                y,
                "- rule: f_%d\n  on: [message]\n  condition: content.type = \"remote_attachment\" and "
                "sender.joined_age < %dh\n  actions: [delete_message]\n",
                r, i);
        }
    }
}

#define NTEXTS 4096
static char *texts[NTEXTS];
static size_t text_len[NTEXTS];

static void make_texts(void)
{
    char b[256];
    for (int t = 0; t < NTEXTS; t++) {
        size_t len = 0;
        int words = 4 + (int)(rnd() % 13);
        for (int w = 0; w < words && len < 200; w++)
            len += (size_t)snprintf(b + len, sizeof b - len, "%s%s", w ? " " : "", vocab[rnd() % NVOCAB]);
        texts[t] = strdup(b);
        text_len[t] = len;
    }
}

/* Builds event i into ev, as the worker's enrich stage would: the same i gives the same
 * event in every loop (the generator restarts from the same seed). */
static void build_event(rules_event *ev, int i, int64_t ts)
{
    uint32_t k = rnd() % 100;
    rules_kind kind = k < 80   ? RULES_KIND_MESSAGE
                      : k < 88 ? RULES_KIND_REACTION
                      : k < 93 ? RULES_KIND_REPLY
                      : k < 96 ? RULES_KIND_MEMBER_ADDED
                      : k < 98 ? RULES_KIND_LEAVE_REQUEST
                               : RULES_KIND_METADATA_CHANGED;
    rules_event_reset(ev, kind, ts);
    char b[64];
    int n = snprintf(b, sizeof b, "e%d", i);
    rules_event_set_str(ev, RULES_F_EVENT_ID, b, (size_t)n);
    n = snprintf(b, sizeof b, "g%u", rnd() % 200);
    rules_event_set_str(ev, RULES_F_GROUP_ID, b, (size_t)n);
    rules_event_set_str(ev, RULES_F_GROUP_NAME, "a group", 7);
    rules_event_set_int(ev, RULES_F_GROUP_MEMBER_COUNT, 10 + rnd() % 500);
    rules_event_set_int(ev, RULES_F_GROUP_IS_DM, 0);
    n = snprintf(b, sizeof b, "inbox%05u", rnd() % 10000);
    rules_event_set_str(ev, RULES_F_SENDER_INBOX_ID, b, (size_t)n);
    n = snprintf(b, sizeof b, "0x%08x%08x", rnd(), rnd());
    rules_event_set_str(ev, RULES_F_SENDER_ADDRESS, b, (size_t)n);
    rules_event_set_int(ev, RULES_F_SENDER_IS_ADMIN, rnd() % 50 == 0);
    rules_event_set_int(ev, RULES_F_SENDER_JOINED_AGE, (int64_t)(rnd() % 1000) * 3600 * 1000000000LL);
    rules_event_set_int(ev, RULES_F_SENDER_MESSAGE_COUNT, rnd() % 300);
    rules_event_set_int(ev, RULES_F_SELF_IS_ADMIN, 1);
    n = snprintf(b, sizeof b, "m%d", i);
    rules_event_set_str(ev, RULES_F_MESSAGE_ID, b, (size_t)n);
    if (kind == RULES_KIND_MESSAGE || kind == RULES_KIND_REPLY || kind == RULES_KIND_REACTION) {
        if (rnd() % 20)
            rules_event_set_str(ev, RULES_F_CONTENT_TYPE, "text", 4);
        else
            rules_event_set_str(ev, RULES_F_CONTENT_TYPE, "remote_attachment", 17);
        uint32_t t = rnd() % NTEXTS;
        if (kind == RULES_KIND_REACTION)
            rules_event_set_str(ev, RULES_F_CONTENT_TEXT, "+1", 2);
        else
            rules_event_set_str(ev, RULES_F_CONTENT_TEXT, texts[t], text_len[t]);
        if (rnd() % 30 == 0)
            for (int m = 0; m < 6; m++)
                rules_event_list_add(ev, RULES_F_CONTENT_MENTIONS, "someone", 7);
        if (rnd() % 10 == 0) {
            n = snprintf(b, sizeof b, "https://site%u.%s/p", rnd() % 1000, rnd() % 4 ? "com" : "xyz");
            rules_event_list_add(ev, RULES_F_CONTENT_LINKS, b, (size_t)n);
        }
    }
}

/* Builds and evaluates NEVENTS events; returns the CPU seconds taken. */
static double run(rules_engine *e, size_t *nact)
{
    xw_errbuf eb;
    const rules_decision *d;
    int64_t ts = 1700000000LL * 1000000000LL;
    rules_event *ev = rules_event_new(RULES_KIND_MESSAGE, 0);
    rng = 0x2545f4914f6cdd1dULL;
    double t0 = now();
    for (int i = 0; i < NEVENTS; i++) {
        ts += 2000000; /* 500 events per second of event time */
        build_event(ev, i, ts);
        if (e) {
            if (rules_engine_eval(e, ev, &d, &eb) != XW_OK) {
                fprintf(stderr, "eval: %s\n", eb.msg);
                exit(1);
            }
            *nact += d->nactions;
        }
    }
    double t = now() - t0;
    rules_event_free(ev);
    return t;
}

int main(void)
{
    make_vocab();
    xw_buf y;
    xw_buf_init(&y, (size_t)64 << 20);
    build_rules(&y);
    rules_limits lim;
    rules_limits_default(&lim);
    lim.max_file_bytes = y.len + 1;
    rules_source src = {"bench.yaml", (const char *)y.data, y.len};
    rules_diags d;
    rules_diags_init(&d);
    rules_set *set = NULL;
    double tc = now();
    if (rules_set_compile(&src, 1, &lim, &set, &d) != XW_OK) {
        rules_diags_print(&d, stderr);
        return 1;
    }
    tc = now() - tc;
    size_t nrules = rules_set_rule_count(set);
    make_texts();

    /* baseline: the same events built and not evaluated; then built and evaluated with an
     * empty set, then with the 100 rules, each with a fresh engine. The three loops are
     * interleaved over NROUNDS rounds and the median of each is kept: the machine may be
     * shared, and even CPU time suffers from other processes' cache traffic. */
    const char *ne = getenv("BENCH_RULES_EVENTS");
    const char *nr = getenv("BENCH_RULES_ROUNDS");
    uint64_t nevents = (uint64_t)NEVENTS, nrounds = NROUNDS;
    xw_errbuf peb = {{0}};
    if ((ne && xw_parse_u64("BENCH_RULES_EVENTS", ne, 1, INT_MAX, &nevents, &peb) != XW_OK) ||
        (nr && xw_parse_u64("BENCH_RULES_ROUNDS", nr, 1, 99, &nrounds, &peb) != XW_OK)) {
        fprintf(stderr, "bench_rules: %s\n", peb.msg);
        return 2;
    }
    NEVENTS = (int)nevents;
    int rounds = (int)nrounds;
    size_t nact = 0;
    double tbs[99] = {0}, t0s[99] = {0}, tts[99] = {0};
    rules_engine *e = NULL;
    for (int rep = 0; rep < rounds; rep++) {
        tbs[rep] = run(NULL, &nact);
        rules_engine *empty = rules_engine_new(&lim);
        t0s[rep] = run(empty, &nact);
        rules_engine_free(empty);
        if (rep > 0) {
            rules_diags_free(&d);
            if (rules_set_compile(&src, 1, &lim, &set, &d) != XW_OK)
                return 1;
        }
        rules_engine_free(e);
        e = rules_engine_new(&lim);
        rules_engine_swap(e, set);
        nact = 0;
        tts[rep] = run(e, &nact);
    }
    double tb = bench_median(tbs, rounds), t0 = bench_median(t0s, rounds), tt = bench_median(tts, rounds);
    double te = tt - tb;

    /* JSON in: parse + eval on a sample */
    const char *js =
        "{\"kind\":\"message\",\"id\":\"j\",\"ts\":1700000000,\"group\":{\"id\":\"g1\",\"name\":\"n\","
        "\"member_count\":40,\"is_dm\":false},\"sender\":{\"inbox_id\":\"inbox00001\",\"address\":"
        "\"0xabc\",\"is_admin\":false,\"joined_age\":3600,\"message_count\":3},\"content\":{\"type\":"
        "\"text\",\"text\":\"lorem ipsum dolor sit amet and more words here\",\"links\":[],"
        "\"mentions\":[]},\"message\":{\"id\":\"m\"},\"self\":{\"is_admin\":true}}";
    size_t jn = strlen(js);
    int JN = NEVENTS / 10;
    double tj = now();
    for (int i = 0; i < JN; i++) {
        rules_event *ev;
        xw_errbuf eb;
        const rules_decision *dec;
        if (rules_event_parse_json(js, jn, &lim, &ev, &eb) != XW_OK ||
            rules_engine_eval(e, ev, &dec, &eb) != XW_OK)
            return 1;
        rules_event_free(ev);
    }
    tj = now() - tj;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double eps = NEVENTS / te;
    printf("rules bench: %zu rules (30 on 10 word lists of 10,000 words, 20 regex, 20 rate, 30 other), "
           "rule file %.1f MiB compiled in %.0f ms; %d events; CPU time of one thread, median of %d "
           "interleaved rounds\n",
           nrules, (double)y.len / (1 << 20), tc * 1e3, NEVENTS, rounds);
    printf("  baseline (build events only):   %.2f s\n", tb);
    printf("  build + eval, empty set:        %.2f s\n", t0);
    printf("  build + eval, 100 rules:        %.2f s (%.1fx the baseline), %zu actions planned\n", tt,
           tt / tb, nact);
    printf("  engine alone (difference):      %.0f events/s (%.0f ns/event)\n", eps, te / NEVENTS * 1e9);
    printf("  with event building:            %.0f events/s\n", NEVENTS / tt);
    printf("  json in (parse + eval):         %.0f events/s\n", JN / tj);
    printf("  memory: peak RSS %.1f MiB; window entries %zu (cap %zu)\n", ru.ru_maxrss / 1024.0,
           rules_engine_state_entries(e), lim.window_cap);
    printf("  goal >= 500,000 events/s on one core (engine alone): %s\n", eps >= 500000 ? "met" : "NOT met");
    rules_engine_free(e);
    rules_diags_free(&d);
    xw_buf_free(&y);
    return 0;
}
