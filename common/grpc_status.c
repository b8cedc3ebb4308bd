/*
 * Names of the gRPC status codes, from the table in grpc_status.h.
 */
#include "common/grpc_status.h"

const char *xw_grpc_code_name(int code)
{
    switch (code) {
#define XW_GRPC_NAME(name, number)                                                                           \
    case number:                                                                                             \
        return #name;
        XW_GRPC_STATUSES(XW_GRPC_NAME)
#undef XW_GRPC_NAME
    }
    return "UNKNOWN_CODE";
}
