/*
 * Events: what the worker exports about a group, and their JSON encoding (docs/events.md).
 *
 * An event is a plain value. The encoder turns it into one compact JSON object (schema 1)
 * that is written to the outbox in the same transaction as the state it describes, and is
 * exported byte for byte; the decoder reads such an object back (JSON-lines files, tools,
 * tests) and checks every field, so a consumer in C gets the same guarantees as the
 * document promises.
 *
 * Event ids identify an event for consumer-side deduplication: delivery is at least once,
 * and a redelivered event carries the same id and the same bytes.
 */
#ifndef XW_PIPELINE_EVENT_H
#define XW_PIPELINE_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

/* X(NAME, "wire name") */
#define PL_EVENT_KINDS(X)                                                                                    \
    X(MESSAGE, "message")                                                                                    \
    X(REACTION, "reaction")                                                                                  \
    X(REPLY, "reply")                                                                                        \
    X(DELETION, "deletion")                                                                                  \
    X(MEMBER_ADDED, "member_added")                                                                          \
    X(MEMBER_REMOVED, "member_removed")                                                                      \
    X(LEAVE_REQUEST, "leave_request")                                                                        \
    X(GROUP_UPDATED, "group_updated")                                                                        \
    X(GROUP_JOINED, "group_joined")                                                                          \
    X(ACTION, "action")                                                                                      \
    X(ERROR, "error")

typedef enum {
#define PL_EVENT_KIND_ENUM(name, wire) PL_EVENT_##name,
    PL_EVENT_KINDS(PL_EVENT_KIND_ENUM)
#undef PL_EVENT_KIND_ENUM
        PL_EVENT__KIND_COUNT
} pl_event_kind;

#define PL_EVENT_SCHEMA 1
#define PL_EVENT_ID_MAX 64        /* characters of an event id: [A-Za-z0-9._:-] */
#define PL_EVENT_GROUP_MAX 256    /* characters of a group id */
#define PL_EVENT_FIELD_MAX 256    /* inbox ids, installation ids, content types */
#define PL_EVENT_MAX_BYTES 900000 /* one encoded event; below Kafka's 1 MB message limit */

typedef struct {
    const char *id;                     /* required */
    pl_event_kind kind;                 /* required */
    const char *group_id;               /* required; the Kafka key */
    const char *sender_inbox_id;        /* NULL if none (e.g. an error event) */
    const char *sender_installation_id; /* NULL if unknown */
    int64_t sent_at_ns;                 /* node timestamp; 0 if unknown */
    int64_t observed_at_ns;             /* when the worker processed it; 0 if unknown */
    const char *content_type;           /* e.g. "xmtp.org/text:1.0"; NULL if none */
    const char *content_json;           /* any JSON value as text; NULL means null */
    const char *decisions_json;         /* a JSON array as text; NULL means [] */
} pl_event;

/* "message", ...; NULL for an unknown kind. */
const char *pl_event_kind_name(pl_event_kind kind);
/* Parses a wire name; XW_EINVAL if unknown. */
int pl_event_kind_parse(const char *name, pl_event_kind *out);

/* Appends the JSON encoding of ev to out (nothing is appended on failure). Checks every
 * field: XW_EINVAL with a sentence naming the field on bad input, XW_ETOOBIG past
 * PL_EVENT_MAX_BYTES or the buffer's own maximum. */
int pl_event_encode(const pl_event *ev, xw_buf *out, xw_errbuf *eb);

/* Decodes one encoded event (untrusted input; at most PL_EVENT_MAX_BYTES). On success ev's
 * strings are owned by ev: release them with pl_event_clear(). On failure ev is zeroed. */
int pl_event_decode(const char *json, size_t len, pl_event *ev, xw_errbuf *eb);
/* Frees the strings of a decoded event and zeroes it. */
void pl_event_clear(pl_event *ev);

/* Checks an event id: 1..PL_EVENT_ID_MAX of [A-Za-z0-9._:-]. */
int pl_event_id_valid(const char *id);
/* Writes a fresh random id (32 lowercase hex characters, 128 random bits) into out. */
int pl_event_id_random(char out[33], xw_errbuf *eb);

#endif
