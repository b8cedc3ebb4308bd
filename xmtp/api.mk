# xmtp/api: gRPC client for XMTP nodes over libcurl HTTP/2 (library xmtpapi).
LIBS += xmtpapi
xmtpapi_SRCS := xmtp/api.c xmtp/grpc_frame.c
XMTPAPI_PKGS := libcurl

FUZZERS += fuzz_xmtp_grpc_frame
fuzz_xmtp_grpc_frame_SRCS := tests/fuzz/fuzz_xmtp_grpc_frame.c
fuzz_xmtp_grpc_frame_LIBS := xmtpapi common
fuzz_xmtp_grpc_frame_PKGS := libcurl
