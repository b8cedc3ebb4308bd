/*
 * rules: the YAML rules engine. Events in, decisions out.
 *
 * A rule set is compiled from one or more YAML files (later files may override items of
 * earlier ones) into an immutable rules_set. An engine holds one set plus the state that
 * outlives a single event: rate windows, first-message memory and cooldowns, bounded by a
 * cap (CLOCK replacement, close to least recently used) and exportable so that a restart
 * keeps them. rules_engine_eval() turns one event into a decision: which rules matched,
 * which were unknown (a field was not known yet) and which actions to take, each with an
 * idempotency key. The engine decides; the worker acts.
 *
 * Threads: a rules_set is immutable and may be read from any thread. An engine (and the
 * decision it returns) belongs to one thread at a time. rules_set_load* may run in any
 * thread; rules_engine_swap() is O(1) and is called between events by the engine's thread,
 * which is how a hot reload is made atomic: the new set is compiled completely first, and
 * on any error the old one stays.
 *
 * The language, the event JSON schema and every action are described in docs/rules.md.
 */
#ifndef XW_RULES_RULES_H
#define XW_RULES_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/err.h"

/* --- event fields: X(ID, "name", TYPE) ------------------------------------------------------ */
#define RULES_FIELDS(X)                                                                                      \
    X(EVENT_KIND, "event.kind", STR)                                                                         \
    X(EVENT_ID, "event.id", STR)                                                                             \
    X(GROUP_ID, "group.id", STR)                                                                             \
    X(GROUP_NAME, "group.name", STR)                                                                         \
    X(GROUP_MEMBER_COUNT, "group.member_count", INT)                                                         \
    X(GROUP_IS_DM, "group.is_dm", BOOL)                                                                      \
    X(SENDER_INBOX_ID, "sender.inbox_id", STR)                                                               \
    X(SENDER_ADDRESS, "sender.address", STR)                                                                 \
    X(SENDER_IS_ADMIN, "sender.is_admin", BOOL)                                                              \
    X(SENDER_IS_SUPER_ADMIN, "sender.is_super_admin", BOOL)                                                  \
    X(SENDER_JOINED_AGE, "sender.joined_age", DUR)                                                           \
    X(SENDER_MESSAGE_COUNT, "sender.message_count", INT)                                                     \
    X(ACTOR_INBOX_ID, "actor.inbox_id", STR)                                                                 \
    X(CONTENT_TYPE, "content.type", STR)                                                                     \
    X(CONTENT_TEXT, "content.text", STR)                                                                     \
    X(CONTENT_WORDS, "content.words", LIST)                                                                  \
    X(CONTENT_MENTIONS, "content.mentions", LIST)                                                            \
    X(CONTENT_LINKS, "content.links", LIST)                                                                  \
    X(CONTENT_REFERENCE, "content.reference", STR)                                                           \
    X(MESSAGE_ID, "message.id", STR)                                                                         \
    X(MESSAGE_SENT_NS, "message.sent_ns", INT)                                                               \
    X(SELF_IS_ADMIN, "self.is_admin", BOOL)                                                                  \
    X(SELF_IS_SUPER_ADMIN, "self.is_super_admin", BOOL)

typedef enum {
#define RULES_F_ENUM(id, name, type) RULES_F_##id,
    RULES_FIELDS(RULES_F_ENUM)
#undef RULES_F_ENUM
        RULES_F__COUNT
} rules_field;

typedef enum { RULES_T_STR, RULES_T_INT, RULES_T_BOOL, RULES_T_DUR, RULES_T_LIST } rules_type;

/* Field name and type; rules_field_lookup returns -1 for an unknown name. */
const char *rules_field_name(rules_field f);
rules_type rules_field_type(rules_field f);
int rules_field_lookup(const char *name, size_t len);
const char *rules_type_name(rules_type t);

/* --- event kinds --------------------------------------------------------------------------- */
#define RULES_KINDS(X)                                                                                       \
    X(MESSAGE, "message")                                                                                    \
    X(REACTION, "reaction")                                                                                  \
    X(REPLY, "reply")                                                                                        \
    X(LEAVE_REQUEST, "leave_request")                                                                        \
    X(MEMBER_ADDED, "member_added")                                                                          \
    X(MEMBER_REMOVED, "member_removed")                                                                      \
    X(METADATA_CHANGED, "metadata_changed")                                                                  \
    X(ADMIN_CHANGED, "admin_changed")                                                                        \
    X(GROUP_JOINED, "group_joined")                                                                          \
    X(DM_CREATED, "dm_created")

typedef enum {
#define RULES_K_ENUM(id, name) RULES_KIND_##id,
    RULES_KINDS(RULES_K_ENUM)
#undef RULES_K_ENUM
        RULES_KIND__COUNT
} rules_kind;

const char *rules_kind_name(rules_kind k);
int rules_kind_lookup(const char *name, size_t len); /* -1 if unknown */

/* --- actions ------------------------------------------------------------------------------- */
/* X(ID, "name", needs: 0 none, 1 admin, 2 super admin) */
#define RULES_ACTIONS(X)                                                                                     \
    X(DELETE_MESSAGE, "delete_message", 1)                                                                   \
    X(REMOVE_MEMBER, "remove_member", 1)                                                                     \
    X(REMOVE_PENDING_MEMBERS, "remove_pending_members", 1)                                                   \
    X(SEND_MESSAGE, "send_message", 0)                                                                       \
    X(REPLY, "reply", 0)                                                                                     \
    X(REACT, "react", 0)                                                                                     \
    X(SET_CONSENT, "set_consent", 0)                                                                         \
    X(ADD_ADMIN, "add_admin", 2)                                                                             \
    X(REMOVE_ADMIN, "remove_admin", 2)                                                                       \
    X(UPDATE_METADATA, "update_metadata", 1)                                                                 \
    X(TAG, "tag", 0)                                                                                         \
    X(ALERT, "alert", 0)

typedef enum {
#define RULES_A_ENUM(id, name, needs) RULES_ACT_##id,
    RULES_ACTIONS(RULES_A_ENUM)
#undef RULES_A_ENUM
        RULES_ACT__COUNT
} rules_action_kind;

const char *rules_action_name(rules_action_kind a);
/* 0: anyone may do it; 1: needs the bot to be an admin; 2: needs a super admin. */
int rules_action_needs(rules_action_kind a);

/* --- diagnostics --------------------------------------------------------------------------- */
typedef enum { RULES_DIAG_ERROR = 0, RULES_DIAG_WARNING, RULES_DIAG_NOTE } rules_diag_level;

typedef struct {
    rules_diag_level level;
    char *file;    /* owned */
    int line, col; /* 1-based; 0 when the message is about the whole file */
    char *msg;     /* owned */
} rules_diag;

/* At most RULES_MAX_DIAGS are kept; the rest are counted in `dropped`. */
#define RULES_MAX_DIAGS 200
typedef struct {
    rules_diag *v;
    size_t n, cap;
    size_t errors, warnings, dropped;
} rules_diags;

void rules_diags_init(rules_diags *d);
void rules_diags_free(rules_diags *d);
void rules_diags_add(rules_diags *d, rules_diag_level lvl, const char *file, int line, int col,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Prints "file:line:col: error: message" lines. */
void rules_diags_print(const rules_diags *d, FILE *out);

/* --- limits -------------------------------------------------------------------------------- */
typedef struct {
    size_t max_file_bytes;      /* one rule file (default 4 MiB) */
    size_t max_files;           /* files in one set (default 64) */
    int max_depth;              /* YAML and expression nesting (default 64) */
    size_t max_items;           /* rules + lists + macros (default 10,000) */
    size_t max_list_items;      /* items in one list (default 1,000,000) */
    uint32_t regex_match_limit; /* PCRE2 match limit per match (default 100,000) */
    size_t max_regex_bytes;     /* pattern length (default 4096) */
    size_t window_cap;          /* window/cooldown entries kept (default 100,000) */
    size_t max_event_bytes;     /* one event in JSON (default 1 MiB) */
    size_t max_terms;           /* tests in all conditions of a set, macros inlined (default 1,000,000) */
} rules_limits;

void rules_limits_default(rules_limits *lim);

/* --- rule sets ----------------------------------------------------------------------------- */
typedef struct rules_set rules_set;

typedef struct {
    const char *name; /* used in diagnostics, e.g. the path */
    const char *data;
    size_t len;
} rules_source;

/*
 * Compiles the sources, in order (later ones may override items of earlier ones), into a
 * new set. Errors and warnings go to `d` (never NULL). On any error returns
 * XW_ERULES_SYNTAX / XW_ERULES_COMPILE (or XW_ETOOBIG, XW_ENOMEM) and *out is NULL.
 * `lim` may be NULL for the defaults. The caller owns the returned set.
 */
int rules_set_compile(const rules_source *src, size_t n, const rules_limits *lim, rules_set **out,
                      rules_diags *d);
/* Same, reading the files. An unreadable or oversized file is an error in `d`. */
int rules_set_load_files(const char *const *paths, size_t n, const rules_limits *lim, rules_set **out,
                         rules_diags *d);
void rules_set_free(rules_set *s);
size_t rules_set_rule_count(const rules_set *s);
/* Adds a note per enabled rule whose actions need admin rights (preflight, static part). */
void rules_set_describe_needs(const rules_set *s, rules_diags *d);

/* Parses one condition expression alone (no lists or macros resolved): for fuzzing and for
 * tools. XW_ERULES_SYNTAX with the offset in the message on error. */
int rules_expr_check(const char *text, size_t len, xw_errbuf *eb);

/* --- events -------------------------------------------------------------------------------- */
typedef struct rules_event rules_event;

/* Parses one event in the JSON schema of docs/rules.md. Bad input is XW_EMALFORMED (or
 * XW_ETOOBIG) with a sentence in eb, and nothing allocated. */
int rules_event_parse_json(const char *json, size_t len, const rules_limits *lim, rules_event **out,
                           xw_errbuf *eb);

/* Building an event in C (the worker's enrich stage; tests; benches). Every field starts
 * absent. Strings are copied. */
rules_event *rules_event_new(rules_kind kind, int64_t ts_ns);
void rules_event_free(rules_event *ev);
void rules_event_reset(rules_event *ev, rules_kind kind, int64_t ts_ns);
void rules_event_set_ts(rules_event *ev, int64_t ts_ns);
int rules_event_set_str(rules_event *ev, rules_field f, const char *s, size_t len);
int rules_event_set_int(rules_event *ev, rules_field f, int64_t v); /* INT, DUR (ns) and BOOL */
int rules_event_list_add(rules_event *ev, rules_field f, const char *s, size_t len);
/* Marks a field as unknown (not synced yet): conditions that need it are unknown. */
int rules_event_set_unknown(rules_event *ev, rules_field f);

/* --- decisions ----------------------------------------------------------------------------- */
typedef enum {
    RULES_R_MATCH = 0, /* the rule matched and its actions are planned */
    RULES_R_UNKNOWN,   /* a needed field was unknown, or a regex hit its limit: nothing done */
    RULES_R_INERT,     /* matched, but the bot lacks the admin rights its actions need */
    RULES_R_COOLDOWN,  /* matched, but the rule already acted on this target recently */
} rules_result_kind;

typedef struct {
    const char *rule;
    rules_result_kind result;
    int simulate; /* mode: simulate */
    const char *priority;
    const char *reason;  /* the rule's desc with {{fields}} filled in; or why unknown/inert */
    const char *missing; /* comma-separated unknown fields (RULES_R_UNKNOWN) or NULL */
    const char *const *tags;
    size_t ntags;
} rules_rule_result;

typedef struct {
    const char *key;
    const char *value; /* text; numbers and booleans in their JSON spelling */
    int is_number;     /* value is a JSON number or boolean, not a string */
} rules_param;

typedef struct {
    rules_action_kind kind;
    const char *rule;
    const char *target; /* inbox id, message id or group id, by action */
    int simulate;
    char key[33]; /* idempotency key: hex of a 128-bit hash of (rule, action, target, message id) */
    const rules_param *params;
    size_t nparams;
} rules_planned_action;

typedef struct {
    const char *event_id;
    rules_kind kind;
    const rules_rule_result *results; /* rules that matched, were unknown, inert or cooling down */
    size_t nresults;
    const rules_planned_action *actions;
    size_t nactions;
    const char *const *tags; /* from `tag` actions of matched rules (deduplicated) */
    size_t ntags;
} rules_decision;

/* Appends the decision as one line of JSON (no newline). */
int rules_decision_to_json(const rules_decision *dec, xw_buf *out);

/* --- engine -------------------------------------------------------------------------------- */
typedef struct rules_engine rules_engine;

/* lim may be NULL (defaults). The engine starts with an empty set. */
rules_engine *rules_engine_new(const rules_limits *lim);
void rules_engine_free(rules_engine *e);
/* Replaces the engine's set with `s` (ownership passes to the engine; the old set is freed).
 * Window state whose windows are unchanged survives. O(1) apart from sizing per-event
 * scratch; if that allocation fails, `s` is freed and the old set stays in force
 * (rules_engine_set() tells which is installed; rules_engine_reload_files reports it). */
void rules_engine_swap(rules_engine *e, rules_set *s);
/* Hot reload: compiles the files fully and swaps on success. On any error the old set
 * stays in force and the error is in d. */
int rules_engine_reload_files(rules_engine *e, const char *const *paths, size_t n, rules_diags *d);
const rules_set *rules_engine_set(const rules_engine *e);

/*
 * Evaluates one event. The decision (and everything it points to) stays valid until the
 * next call on this engine. XW_EINVAL if the event has no kind. Updates window state.
 */
int rules_engine_eval(rules_engine *e, const rules_event *ev, const rules_decision **out, xw_errbuf *eb);

/* Window state (rate windows, first-message memory, cooldowns), for restarts. Import
 * replaces the engine's state only if the whole input is valid. */
int rules_engine_state_export(const rules_engine *e, xw_buf *out);
int rules_engine_state_import(rules_engine *e, const uint8_t *p, size_t n, xw_errbuf *eb);
size_t rules_engine_state_entries(const rules_engine *e);
/* Regex matches that hit the match limit since the engine started. */
uint64_t rules_engine_regex_limit_hits(const rules_engine *e);
/* Tests computed in full since the engine started: not answered inline (window compares,
 * absent or unknown fields, number compares, lists already looked up, ...) nor from the
 * per-event memo. The work an event costs, for profiling and tests. */
uint64_t rules_engine_tests_computed(const rules_engine *e);

#endif
