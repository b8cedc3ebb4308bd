# xmtp/api: gRPC client for XMTP nodes over libcurl HTTP/2 (library xmtpapi).
LIBS += xmtpapi
xmtpapi_SRCS := xmtp/api.c xmtp/api_frame.c
xmtpapi_DEPS := common
xmtpapi_PKGS := libcurl

FUZZERS += fuzz_xmtp_api_frame
fuzz_xmtp_api_frame_SRCS := tests/fuzz/fuzz_xmtp_api_frame.c
fuzz_xmtp_api_frame_LIBS := xmtpapi
