# xmtp/api: gRPC client for XMTP nodes over libcurl HTTP/2 (library xmtpapi).
LIBS += xmtpapi
xmtpapi_SRCS := xmtp/api.c
XMTPAPI_PKGS := libcurl
