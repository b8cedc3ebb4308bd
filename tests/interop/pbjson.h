/*
 * Test helper: protobuf-c messages <-> proto3 JSON, driven by the message descriptors,
 * following the conventions of ts-proto's toJSON/fromJSON (the codecs in @xmtp/proto):
 * lowerCamelCase field names, bytes as standard base64, 64-bit integers as decimal
 * strings, enums by name, maps as objects, implicit-presence fields omitted when they
 * hold their default, explicit-presence (oneof) members present whenever set.
 *
 * Names differ from XMTP's where proto/README.md says so (base_policy is "base" there);
 * the helper maps them back so the JSON uses XMTP's names.
 */
#ifndef XW_TESTS_PBJSON_H
#define XW_TESTS_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* New reference to the JSON form of m; NULL on out-of-memory. */
json_t *pbjson_from_msg(const ProtobufCMessage *m);

/* Builds a `d` message from its JSON form (allocated with xw_calloc, as xw_pb_decode's are;
 * free with xw_pb_free). Returns 0, or -1 with a reason in err. */
int pbjson_to_msg(const ProtobufCMessageDescriptor *d, json_t *j, ProtobufCMessage **out, char *err,
                  size_t errlen);

#endif
