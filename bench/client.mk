# bench/client.mk: the C client's catch-up of a 10,000-message backlog from the dev node
# against libxmtp 1.9.1's group.sync() on the same backlog (tests/interop/bench_client_catchup.mjs).
BENCHES += bench_client_catchup
bench_client_catchup_SRCS := bench/bench_client_catchup.c
bench_client_catchup_LIBS := xmtpclient
