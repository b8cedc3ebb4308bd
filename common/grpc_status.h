/*
 * gRPC status codes (grpc/doc/statuscodes.md), written once for the node's server and the
 * API client: numbers fixed by the gRPC protocol, nothing else of it. X(NAME, number).
 */
#ifndef XW_COMMON_GRPC_STATUS_H
#define XW_COMMON_GRPC_STATUS_H

#define XW_GRPC_STATUSES(X)                                                                                  \
    X(OK, 0)                                                                                                 \
    X(CANCELLED, 1)                                                                                          \
    X(UNKNOWN, 2)                                                                                            \
    X(INVALID_ARGUMENT, 3)                                                                                   \
    X(DEADLINE_EXCEEDED, 4)                                                                                  \
    X(NOT_FOUND, 5)                                                                                          \
    X(ALREADY_EXISTS, 6)                                                                                     \
    X(PERMISSION_DENIED, 7)                                                                                  \
    X(RESOURCE_EXHAUSTED, 8)                                                                                 \
    X(FAILED_PRECONDITION, 9)                                                                                \
    X(ABORTED, 10)                                                                                           \
    X(OUT_OF_RANGE, 11)                                                                                      \
    X(UNIMPLEMENTED, 12)                                                                                     \
    X(INTERNAL, 13)                                                                                          \
    X(UNAVAILABLE, 14)                                                                                       \
    X(DATA_LOSS, 15)                                                                                         \
    X(UNAUTHENTICATED, 16)

typedef enum {
#define XW_GRPC_ENUM(name, number) XW_GRPC_##name = number,
    XW_GRPC_STATUSES(XW_GRPC_ENUM)
#undef XW_GRPC_ENUM
} xw_grpc_code;

/* The code's name ("NOT_FOUND"), or "UNKNOWN_CODE" for a number gRPC does not define. */
const char *xw_grpc_code_name(int code);

#endif
