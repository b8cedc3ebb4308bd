/*
 * rules/ internals shared between the module's files (and its tests). Not a public API.
 *
 * The pipeline of a load: load.c turns YAML into a tree of nodes with positions; items.c
 * turns the trees of all files into item definitions (rules, lists, macros) with overrides
 * applied; lexer.c and parse.c turn condition text into an AST; compile.c resolves macros,
 * lists and fields, checks types and emits the compiled tree that eval.c walks.
 */
#ifndef XW_RULES_INT_H
#define XW_RULES_INT_H

#include <stdint.h>
#include <stddef.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/arena.h"
#include "common/clock.h"
#include "rules/rules.h"

#include <stdarg.h>
void rules_diags_vadd(rules_diags *d, rules_diag_level lvl, const char *file, int line, int col,
                      const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

/* rules_field_type, inline for the per-event paths (a call per test showed in profiles). */
static inline rules_type rules_ftype(rules_field f)
{
    static const unsigned char types[] = {
#define RULES_F_TYPE(id, name, type) RULES_T_##type,
        RULES_FIELDS(RULES_F_TYPE)
#undef RULES_F_TYPE
    };
    return (rules_type)types[f];
}

/* --- arena: common/arena.h ---------------------------------------------------------------- */
/* The names compile.c and parse.c still use for it (another change holds those files now);
 * they go when those two say xw_arena_* themselves. */
typedef xw_arena rules_arena;
static inline void rules_arena_init(xw_arena *a) { xw_arena_init(a, 0, XW_ARENA_UNBOUNDED); }
static inline void *rules_arena_alloc(xw_arena *a, size_t n) { return xw_arena_alloc(a, n); }
static inline char *rules_arena_strndup(xw_arena *a, const char *s, size_t n)
{
    return xw_arena_strndup(a, s, n);
}
static inline void rules_arena_free(xw_arena *a) { xw_arena_release(a); }

/* --- hashing and a string -> int map (open addressing) ------------------------------------ */
#define RULES_BLOOM_BITS (1u << 20)
#define RULES_BLOOM_BIT(h) ((uint32_t)((h) >> 40) & (RULES_BLOOM_BITS - 1))
#define RULES_BLOOM_BIT2(h) ((uint32_t)((h) >> 20) & (RULES_BLOOM_BITS - 1)) /* two bits per value */
uint64_t rules_hash64(const void *p, size_t n, uint64_t seed);

typedef struct {
    const char *s; /* not owned */
    uint32_t len;
    int32_t val;
    uint64_t h;
} rules_map_slot;

typedef struct {
    rules_map_slot *slots;
    size_t cap, n; /* cap is a power of two */
} rules_map;

void rules_map_init(rules_map *m);
void rules_map_free(rules_map *m);
/* Returns the value or -1. */
int32_t rules_map_get(const rules_map *m, const char *s, size_t len);
int32_t rules_map_get_h(const rules_map *m, const char *s, size_t len, uint64_t h);
/* Inserts (s must outlive the map) unless present; returns the stored value or -2 on OOM. */
int32_t rules_map_put(rules_map *m, const char *s, size_t len, int32_t val);

/* --- YAML node tree (load.c) --------------------------------------------------------------- */
typedef enum { RN_SCALAR, RN_SEQ, RN_MAP } rules_node_type;

typedef struct rules_node {
    rules_node_type t;
    int line, col; /* 1-based */
    int style;     /* yaml_scalar_style_t for scalars */
    int quoted;    /* scalar was quoted (a string, never a number or bool) */
    char *s;       /* scalar text (NUL-terminated) */
    size_t len;
    struct rules_node **kids; /* maps: key, value, key, value ... */
    size_t n;
    const char *file; /* owned by the source list */
    const char *src;  /* raw file text, for positions inside block scalars */
    size_t srclen;
} rules_node;

/* Parses one YAML document. Errors go to d with positions; returns NULL on error. */
rules_node *rules_yaml_load(const char *file, const char *data, size_t len, const rules_limits *lim,
                            rules_diags *d);
void rules_node_free(rules_node *n);
/* Maps a byte offset inside a scalar's text to a line and column in its file. */
void rules_node_pos(const rules_node *n, size_t off, int *line, int *col);

/* --- items (items.c) ----------------------------------------------------------------------- */
#define RULES_MAX_FRAGS 16

typedef struct {
    const rules_node *name; /* `name` scalar */
    const rules_node *fields, *comps, *values;
    const rules_node *values_extra[RULES_MAX_FRAGS]; /* appended values */
    size_t nextra;
} rules_exception_def;

typedef struct {
    const rules_node *where; /* the item's first key, for diagnostics */
    char *name;
    /* a condition is the concatenation of fragments (override: append adds one) */
    const rules_node *cond[RULES_MAX_FRAGS];
    size_t ncond;
    /* rules only */
    const rules_node *desc, *priority, *enabled, *mode, *stop, *cooldown, *cooldown_key;
    const rules_node *on[RULES_MAX_FRAGS];
    size_t non;
    const rules_node *actions[RULES_MAX_FRAGS];
    size_t nactions;
    const rules_node *tags[RULES_MAX_FRAGS];
    size_t ntags;
    rules_exception_def *exc;
    size_t nexc;
    /* lists only */
    const rules_node *items[RULES_MAX_FRAGS];
    size_t nitems;
    int used;
} rules_item;

typedef struct {
    rules_item *rules, *lists, *macros;
    size_t nrules, nlists, nmacros;
    int match_first;
    rules_node **trees;
    size_t ntrees;
} rules_defs;

/* Reads every tree into defs (applying overrides). Errors go to d. */
int rules_defs_build(rules_defs *defs, rules_node **trees, size_t ntrees, const rules_limits *lim,
                     rules_diags *d);
void rules_defs_free(rules_defs *defs);

/* --- lexer and AST (lexer.c, parse.c) ------------------------------------------------------ */
typedef enum {
    TK_EOF = 0,
    TK_IDENT,
    TK_STRING,
    TK_NUMBER,
    TK_DURATION,
    TK_LPAREN,
    TK_RPAREN,
    TK_COMMA,
    TK_EQ,
    TK_NE,
    TK_LT,
    TK_LE,
    TK_GT,
    TK_GE,
    TK_ERROR,
} rules_tok_kind;

typedef struct {
    rules_tok_kind k;
    size_t off, len; /* in the expression text */
    char *str;       /* TK_STRING: unescaped text (owned by the lexer's arena) */
    size_t slen;
    int64_t num; /* TK_NUMBER; TK_DURATION in ns */
    const char *err;
    int too_large; /* TK_ERROR: a number or duration out of range */
} rules_tok;

/* The range of durations (nanoseconds in 64 bits) and numbers, for messages. */
#define RULES_DUR_MAX_TEXT "106751d (about 292 years; 9223372036 seconds)"
#define RULES_NUM_MAX_TEXT "9223372036854775807"

typedef struct {
    const char *text;
    size_t len, pos;
    xw_arena *arena;
} rules_lexer;

void rules_lexer_init(rules_lexer *lx, const char *text, size_t len, xw_arena *arena);
rules_tok rules_lex_next(rules_lexer *lx);

typedef enum {
    OP_NONE = 0,
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_CONTAINS,
    OP_ICONTAINS,
    OP_STARTSWITH,
    OP_ENDSWITH,
    OP_GLOB,
    OP_IGLOB,
    OP_REGEX,
    OP_IN,
    OP_INTERSECTS,
    OP_EXISTS,
} rules_op;

const char *rules_op_name(rules_op op);

typedef enum { AV_STR, AV_NUM, AV_DUR, AV_BOOL, AV_IDENT, AV_LIST } rules_aval_kind;

typedef struct rules_aval {
    rules_aval_kind k;
    size_t off;
    const char *s; /* STR, IDENT */
    size_t len;
    int64_t num;
    struct rules_aval *items; /* LIST */
    size_t nitems;
} rules_aval;

typedef enum { AO_FIELD, AO_LOWER, AO_LEN, AO_RATE, AO_FIRST } rules_aop_kind;

struct rules_anode;
typedef struct rules_aop {
    rules_aop_kind k;
    size_t off;
    const char *name; /* AO_FIELD: the identifier */
    size_t len;
    struct rules_aop *arg;     /* functions */
    int64_t window_ns;         /* AO_RATE */
    struct rules_anode *guard; /* AO_RATE: count only events for which this holds */
    const char *gtext;         /* the guard's text, for the slot's name */
    size_t glen;
} rules_aop;

typedef enum { AN_AND, AN_OR, AN_NOT, AN_CONST, AN_MACRO, AN_PRED } rules_anode_kind;

typedef struct rules_anode {
    rules_anode_kind k;
    size_t off;
    struct rules_anode *a, *b;
    int cval;         /* AN_CONST */
    const char *name; /* AN_MACRO */
    size_t len;
    rules_aop *lhs; /* AN_PRED */
    rules_op op;
    rules_aval *rhs;
    uint32_t leaf1[4]; /* compile.c: 1 + the leaf compiled from this test, per context, or 0 */
} rules_anode;

/* Parses text into an AST in `arena`. On error returns NULL with the offset in *err_off and a
 * sentence in eb. */
rules_anode *rules_parse_expr(const char *text, size_t len, xw_arena *arena, int max_depth, size_t *err_off,
                              xw_errbuf *eb);

/* --- compiled program ---------------------------------------------------------------------- */
typedef enum { CN_AND, CN_OR, CN_NOT, CN_CONST, CN_LEAF } rules_cnode_kind;

typedef enum { CV_FIELD, CV_LOWER, CV_LEN, CV_LENLOWER, CV_RATE, CV_FIRST } rules_cval_kind;

typedef struct {
    rules_cval_kind k;
    rules_field f; /* field (rate/first: key field) */
    uint32_t slot; /* window slot for rate/first */
} rules_coperand;

typedef struct rules_cnode {
    rules_cnode_kind k;
    int cval;
    struct rules_cnode *a, *b; /* CN_NOT: a */
    struct rules_cnode **kids; /* CN_AND, CN_OR: flattened, so `a and b and c` is one node */
    uint32_t nkids;
    /* leaf */
    uint32_t leaf; /* memo index (identical leaves share it) */
    rules_coperand lhs;
    rules_op op;
    rules_type rtype; /* type of the literal */
    const char *s;    /* string literal (lowered for i-ops) */
    size_t slen;
    int64_t num;
    const char **strs; /* string list literal for contains/startswith/endswith/glob */
    size_t *lens;
    size_t nstrs;
    uint32_t listbit; /* IN / INTERSECTS: bit in the dictionary masks */
    pcre2_code *re;
    uint32_t regroup1; /* REGEX: 1 + index of its group in set->regroups, or 0 */
    uint8_t fast;      /* RULES_FAST_*: how much of the test is answered inline (eval.c) */
} rules_cnode;

/* Tests, or parts of them, that eval.c answers inline, without the memo (compile.c sets them;
 * 0 for window compares, which are inline anyway). */
enum {
    RULES_FAST_NONE = 0,
    RULES_FAST_NUM,     /* an integer, duration or boolean field compared with a number (or alone) */
    RULES_FAST_LISTLEN, /* len() of a list field (not content.words) compared with a number */
    RULES_FAST_STREQ,   /* a text field = or != a text */
    RULES_FAST_EXISTS,  /* FIELD exists */
    RULES_FAST_DICT,    /* in / intersects on a field or lower(field): one bit once looked up */
    RULES_FAST_REGROUP, /* a regex in a joined group: false when the group found nothing */
    RULES_FAST_OTHER,   /* none of those, but on a field: absent and unknown answered inline */
};

/* The first test of a rule (its gate), laid out for the rule loop (engine_int.h): the
 * common kinds are decided without touching the test itself, from one array per event
 * kind, in rule order. */
enum { RULES_GATE_NONE, RULES_GATE_WINDOW, RULES_GATE_FIELD };
typedef struct {
    int64_t num;
    const struct rules_cnode *n; /* the test, or NULL (RULES_GATE_NONE) */
    uint32_t idx;                /* RULES_GATE_WINDOW: the slot; otherwise the leaf (memo) */
    uint32_t aux;                /* RULES_FAST_DICT: the list's bit; RULES_FAST_REGROUP: the group */
    uint8_t how;                 /* RULES_GATE_* */
    uint8_t fast;                /* n->fast */
    uint8_t op;
    uint8_t field;  /* RULES_GATE_FIELD: the field whose state decides (content.words: text) */
    uint8_t lf, lw; /* RULES_FAST_DICT: the field and lower() (which looked-up values) */
} rules_gate;

/* Text work the rules of an event kind need (content.words, lower(content.text) or an
 * i-operator on it), done by eval.c while the window table is fetched from memory. */
enum { RULES_EAGER_WORDS = 1, RULES_EAGER_LOWER_TEXT = 2 };

/* Sets each leaf's RULES_FAST_* class (REGROUP is set by the regex grouping before) and
 * builds set->gate_by_kind and set->eager. -1 on OOM. */
int rules_inline_prepare(rules_set *s, rules_cnode **leaves, size_t nleaves);

/* The regexes tested on one text field, joined into one pattern `(?:p1)|(?:p2)|...`: when
 * it finds nothing (the common case: most messages are clean), every member is false
 * without running it. A match, or a limit hit, runs the members one by one. */
typedef struct {
    pcre2_code *re;
    rules_field f;
    int lower;
} rules_regroup;

typedef struct {
    int kind;    /* 0 rate, 1 first_message, 2 cooldown */
    uint64_t id; /* hash of the canonical name: state survives a reload when unchanged */
    rules_field key;
    int64_t window_ns;
    uint32_t kinds;            /* event kinds counted */
    struct rules_cnode *guard; /* rate: only events for which it is true count (NULL: all) */
} rules_slot;

typedef struct {
    const char *text; /* compiled template: literal text with {{field}} */
    size_t len;
} rules_tmpl;

typedef struct {
    rules_action_kind kind;
    int target; /* rules_field, or -1 for none */
    int purge_recent;
    int super_admin;
    const char *keys[4];
    rules_tmpl vals[4];
    int is_num[4];
    size_t nparams;
} rules_caction;

typedef struct {
    const char *id;
    const char *desc;
    const char *priority;
    uint32_t kinds;
    int enabled, simulate, stop;
    int64_t cooldown_ns;
    uint64_t cooldown_id;
    int cooldown_key; /* rules_field, or -1: sender.inbox_id, else group.id */
    int needs;        /* max rules_action_needs over its actions */
    rules_cnode *cond;
    const rules_cnode *gate; /* a leaf the condition needs to be true (first of a top `and`) */
    rules_caction *actions;
    size_t nactions;
    const char **tags;
    size_t ntags;
    const char *file;
    int line, col;
} rules_crule;

struct rules_set {
    xw_arena arena;
    xw_arena code; /* rules and condition nodes only: what every event walks stays together */
    rules_crule *rules;
    size_t nrules;
    int match_first;
    uint32_t *by_kind[RULES_KIND__COUNT];        /* rule indexes per event kind, in order */
    rules_gate *gate_by_kind[RULES_KIND__COUNT]; /* the gate of each */
    uint8_t eager[RULES_KIND__COUNT];            /* RULES_EAGER_*: text work done up front */
    size_t nby_kind[RULES_KIND__COUNT];
    rules_slot *slots;
    size_t nslots;
    uint32_t nleaves;
    /* dictionary: string -> row of `mask_words` uint64 bits, one bit per list used with in */
    rules_map dict;
    uint64_t *masks;
    size_t mask_words, nbits;
    /* one bit per hash of each dictionary string: most values are in no list, and this
     * 128 KiB filter answers that from the cache instead of a miss in the dictionary */
    uint64_t *bloom;
    pcre2_code **regexes;
    size_t nregexes;
    pcre2_match_context *mctx;
    rules_regroup *regroups;
    size_t nregroups;
    int field_used_in[RULES_F__COUNT]; /* field is looked up in the dictionary */
    rules_limits lim;
};

/* compile.c */
int rules_compile(rules_set *set, rules_defs *defs, rules_diags *d);
/* actions.c: compile one rule's actions, and plan them for an event */
int rules_actions_compile(rules_set *set, rules_crule *r, const rules_item *it, rules_diags *d);

/* --- events (event.c) ----------------------------------------------------------------------- */
enum { RV_ABSENT = 0, RV_UNKNOWN, RV_SET };

typedef struct {
    const char *s;
    size_t len;
} rules_str;

typedef struct {
    uint8_t state;
    const char *s;
    size_t len;
    int64_t i;
    rules_str *items;
    size_t nitems, cap;
} rules_fval;

struct rules_event {
    rules_kind kind;
    int64_t ts_ns;
    rules_fval f[RULES_F__COUNT];
    xw_arena arena;
};

/* --- content.words (words.c, tables in unicode_tab.c) -------------------------------------- */
enum { RULES_UC_WORD = 0, RULES_UC_SEP = 1, RULES_UC_EXTEND = 2 };
typedef struct {
    uint32_t lo, hi; /* code points lo..hi */
    uint8_t cls;     /* RULES_UC_SEP or RULES_UC_EXTEND; what no range covers is RULES_UC_WORD */
} rules_uc_range;
typedef struct {
    uint32_t lo; /* lo, lo + stride, ... (n code points) lower to themselves + delta */
    uint16_t n;
    uint8_t stride; /* 1 or 2 */
    int32_t delta;
} rules_uc_lower_run;
extern const rules_uc_range rules_uc_classes[];
extern const size_t rules_uc_nclasses;
extern const rules_uc_lower_run rules_uc_lower_runs[];
extern const size_t rules_uc_nlower_runs;

/* One UTF-8 sequence at s (n > 0 bytes, s[0] >= 0x80): its length and code point, or 0 when
 * it is not valid (overlong, a surrogate, past U+10FFFF, cut short). */
size_t rules_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/* The word class of a code point >= 0x80, and its simple lowercase mapping. */
int rules_uc_class(uint32_t cp);
uint32_t rules_uc_lower(uint32_t cp);
/* Splits text into lowered words (docs/rules.md, content.words): out needs 2 * len + 2 bytes,
 * items len / 2 + 1 entries; each word is NUL-terminated in out. Returns the number of words. */
size_t rules_words_split(const char *text, size_t len, char *out, rules_str *items);
/* An item to compare with content.words, lowered into out (2 * len + 2 bytes): 1 when it is
 * one word as a text would give it, 0 when it can never match one (empty, or it holds spaces,
 * punctuation or symbols; out then holds it lowered whole). */
int rules_word_item(const char *s, size_t len, char *out, size_t *outlen);

/* --- window state (window.c) --------------------------------------------------------------- */
typedef struct rules_wstore rules_wstore;

#define RULES_WIN_BUCKETS 17   /* the window is 16 buckets wide, plus the current one */
#define RULES_WIN_MAX_KEY 4096 /* longer keys are cut (two keys equal in 4 KiB share state) */

/* The table hash of (slot, key); rules_wstore_hash_mix takes rules_hash64(key, len, 0) (len
 * cut at RULES_WIN_MAX_KEY) so a caller can hash a key once for several slots. */
uint64_t rules_wstore_hash(uint64_t slot, const char *key, size_t klen);
uint64_t rules_wstore_hash_mix(uint64_t slot, uint64_t keyhash);
/* Stage 0 prefetches the bucket of h, stage 1 the first entry in it (after stage 0 landed). */
void rules_wstore_prefetch(const rules_wstore *w, uint64_t h, int stage);

rules_wstore *rules_wstore_new(size_t cap);
void rules_wstore_free(rules_wstore *w);
size_t rules_wstore_count(const rules_wstore *w);
/* Counts an event at ts for (slot, key) (unless !add) and returns the count in the window;
 * -1 on OOM. */
int64_t rules_wstore_rate(rules_wstore *w, const rules_slot *slot, const char *key, size_t klen, uint64_t h,
                          int64_t ts, int add);
/* Returns 1 if (slot, key) was never seen before (and remembers it), 0 if seen, -1 on OOM. */
int rules_wstore_first(rules_wstore *w, uint64_t slot_id, const char *key, size_t klen, uint64_t h);
/* Cooldown: returns 1 if (id, key) is cooling down at ts. */
int rules_wstore_cooling(rules_wstore *w, uint64_t id, const char *key, size_t klen, int64_t ts);
int rules_wstore_cool_until(rules_wstore *w, uint64_t id, const char *key, size_t klen, int64_t until);
int rules_wstore_export(const rules_wstore *w, xw_buf *out);
/* Parses into a new store (cap as given); NULL with eb on error. */
rules_wstore *rules_wstore_import(const uint8_t *p, size_t n, size_t cap, xw_errbuf *eb);

/* --- templates and names ------------------------------------------------------------------- */
/* Renders {{field}} / {{rule}} into the arena; unknown fields render as "<unknown>". */
const char *rules_tmpl_render(xw_arena *a, const rules_tmpl *t, const rules_event *ev, const char *rule);
/* Checks a template's {{...}} names at load; returns the offset of a bad one or -1. */
long rules_tmpl_check(const char *s, size_t len, char *bad, size_t badsz);
void rules_idem_key(const char *rule, const char *action, const char *target, const char *msgid,
                    char out[33]);

#endif
