/*
 * The project's error codes, written once as an X-macro table.
 *
 * Each code has a class that tells a caller what to do about it without knowing the code:
 * retriable (try again later: network, busy, full), permanent (this input will never work:
 * malformed, unauthorised; quarantine it and move on) or fatal (our own state is wrong or
 * memory is gone: stop). Stages act on the class (docs/style.md #3).
 *
 * Detail never lives in a global: functions that can say more take an xw_errbuf and write
 * a sentence that tells the reader what to do (xw_errf()).
 *
 * The table is grouped by module. Add codes inside your module's block only, keeping
 * the blank line between blocks, so parallel changes to different blocks merge cleanly.
 */
#ifndef XW_COMMON_ERR_H
#define XW_COMMON_ERR_H

#include <stdarg.h>
#include <stddef.h>

typedef enum {
    XW_CLASS_NONE = 0, /* success */
    XW_CLASS_RETRIABLE,
    XW_CLASS_PERMANENT,
    XW_CLASS_FATAL,
} xw_errclass;

/* X(NAME, CLASS, "what it means") */
#define XW_ERRORS(X)                                                                                         \
    X(XW_OK, NONE, "success")                                                                                \
    /* --- general --- */                                                                                    \
    X(XW_ENOMEM, FATAL, "out of memory")                                                                     \
    X(XW_EINVAL, PERMANENT, "invalid argument")                                                              \
    X(XW_ETOOBIG, PERMANENT, "value exceeds its maximum size")                                               \
    X(XW_ETRUNCATED, PERMANENT, "input ends before the value it announces")                                  \
    X(XW_EMALFORMED, PERMANENT, "malformed input")                                                           \
    X(XW_ETRAILING, PERMANENT, "unexpected bytes after the end of the value")                                \
    X(XW_ENOTFOUND, PERMANENT, "not found")                                                                  \
    X(XW_EEXISTS, PERMANENT, "already exists")                                                               \
    X(XW_EUNSUPPORTED, PERMANENT, "not supported")                                                           \
    X(XW_ELIMIT, PERMANENT, "a configured limit was reached")                                                \
    X(XW_EDENIED, PERMANENT, "not authorised")                                                               \
    X(XW_ESTATE, PERMANENT, "operation not valid in the current state")                                      \
    X(XW_ECONFIG, FATAL, "invalid configuration")                                                            \
    X(XW_ECORRUPT, FATAL, "stored state is corrupt")                                                         \
    X(XW_EINTERNAL, FATAL, "internal error (a bug)")                                                         \
    /* --- io, time, concurrency --- */                                                                      \
    X(XW_EIO, RETRIABLE, "input/output error")                                                               \
    X(XW_ETIMEOUT, RETRIABLE, "timed out")                                                                   \
    X(XW_EAGAIN, RETRIABLE, "resource temporarily unavailable; try again")                                   \
    X(XW_EBUSY, RETRIABLE, "busy")                                                                           \
    X(XW_EFULL, RETRIABLE, "queue is full")                                                                  \
    X(XW_EEMPTY, RETRIABLE, "queue is empty")                                                                \
    X(XW_ECLOSED, PERMANENT, "closed")                                                                       \
    X(XW_ENETWORK, RETRIABLE, "network error")                                                               \
    X(XW_EUNAVAILABLE, RETRIABLE, "service unavailable")                                                     \
    X(XW_EPROTOCOL, PERMANENT, "protocol violation by the peer")                                             \
    X(XW_EDB, RETRIABLE, "database error")                                                                   \
    /* --- crypto --- */                                                                                     \
    X(XW_ECRYPTO, PERMANENT, "cryptographic operation failed")                                               \
    X(XW_EBADSIG, PERMANENT, "signature does not verify")                                                    \
    X(XW_EDECRYPT, PERMANENT, "decryption failed (wrong key or tampered data)")                              \
    X(XW_EBADKEY, PERMANENT, "invalid key")                                                                  \
    /* --- mls --- */                                                                                        \
    X(XW_EMLS_EPOCH, PERMANENT, "message is for an epoch this member does not have")                         \
    X(XW_EMLS_GENERATION, PERMANENT, "ratchet generation too old, too far ahead or reused")                  \
    X(XW_EMLS_WIREFORMAT, PERMANENT, "wire format not allowed by the group's policy")                        \
    X(XW_EMLS_TREE, PERMANENT, "invalid ratchet tree")                                                       \
    X(XW_EMLS_PROPOSAL, PERMANENT, "invalid proposal or proposal list")                                      \
    X(XW_EMLS_COMMIT, PERMANENT, "invalid commit")                                                           \
    X(XW_EMLS_KEYPACKAGE, PERMANENT, "invalid key package")                                                  \
    X(XW_EMLS_WELCOME, PERMANENT, "invalid welcome or group info")                                           \
    X(XW_EMLS_SENDER, PERMANENT, "invalid or unknown sender")                                                \
    X(XW_EMLS_TAG, PERMANENT, "membership or confirmation tag does not verify")                              \
                                                                                                             \
    /* --- xmtp --- */                                                                                       \
    X(XW_EXMTP_INBOX, PERMANENT, "inbox id does not match")                                                  \
    X(XW_EXMTP_ASSOCIATION, PERMANENT, "association not allowed")                                            \
    X(XW_EXMTP_REPLAY, PERMANENT, "signature was already used")                                              \
    X(XW_EXMTP_CONTENT, PERMANENT, "invalid content")                                                        \
    X(XW_EXMTP_NOT_CREATED, PERMANENT, "inbox does not exist yet; its first update must create it")          \
    X(XW_EXMTP_ALREADY_CREATED, PERMANENT, "inbox already exists; it cannot be created again")               \
    X(XW_EXMTP_SIGNER, PERMANENT, "signature was made by someone not allowed to sign this action")           \
    X(XW_EXMTP_SIG_KIND, PERMANENT, "signature kind not allowed for this member kind")                       \
    X(XW_EXMTP_SCW, PERMANENT, "smart-contract wallet signatures need chain access (not supported)")         \
    X(XW_EXMTP_PASSKEY, PERMANENT, "passkey identities are not supported")                                   \
    X(XW_EXMTP_LEGACY, PERMANENT, "legacy delegated (XMTP V2) signatures are not supported")                 \
    X(XW_EXMTP_CHAIN_ID, PERMANENT, "signature is from another chain than the member was added on")          \
    X(XW_EXMTP_SEQUENCE, PERMANENT, "identity update out of sequence order")                                 \
                                                                                                             \
    /* --- rules --- */                                                                                      \
    X(XW_ERULES_SYNTAX, PERMANENT, "rule file syntax error")                                                 \
    X(XW_ERULES_COMPILE, PERMANENT, "rule does not compile")                                                 \
                                                                                                             \
    /* --- pipeline --- */                                                                                   \
    X(XW_EKAFKA, RETRIABLE, "kafka error")                                                                   \
    X(XW_EDELIVERY, PERMANENT, "event delivery failed permanently")                                          \
                                                                                                             \
    /* --- node / api --- */                                                                                 \
    X(XW_EGRPC, PERMANENT, "gRPC call failed")

typedef enum {
#define XW_ERR_ENUM(name, cls, msg) name,
    XW_ERRORS(XW_ERR_ENUM)
#undef XW_ERR_ENUM
        XW_ERR__COUNT
} xw_err;

/* A sentence for the code; never NULL (unknown codes get "unknown error"). */
const char *xw_strerror(int err);
/* The code's name, e.g. "XW_ETRUNCATED"; never NULL. */
const char *xw_errname(int err);
xw_errclass xw_errclass_of(int err);
const char *xw_errclass_name(xw_errclass cls);

static inline int xw_err_is_retriable(int err) { return xw_errclass_of(err) == XW_CLASS_RETRIABLE; }
static inline int xw_err_is_fatal(int err) { return xw_errclass_of(err) == XW_CLASS_FATAL; }

/*
 * Caller-owned detail buffer. Functions that take one write a sentence into it on failure
 * (and leave it alone on success). NULL is accepted everywhere and means "no detail wanted".
 */
#define XW_ERRBUF_SIZE 256
typedef struct {
    char msg[XW_ERRBUF_SIZE];
} xw_errbuf;

/* Writes the formatted detail into eb (if not NULL) and returns err, so that
 * `return xw_errf(eb, XW_ETRUNCATED, "key package ends at byte %zu", off);` reads well. */
int xw_errf(xw_errbuf *eb, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int xw_verrf(xw_errbuf *eb, int err, const char *fmt, va_list ap);
/* Prefixes existing detail: "while X: <old detail>". Returns err. */
int xw_errctx(xw_errbuf *eb, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
