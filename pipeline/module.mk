# pipeline/: bounded queues, stage runner, events, SQLite outbox, sinks (Kafka, JSON lines),
# the exporter (the xw-export program is in tools/). Tests: tests/unit/test_pipeline_*.c, the
# end-to-end proofs in tests/pipeline/, tools in tests/tools/.
LIBS += pipeline
pipeline_SRCS := pipeline/queue.c pipeline/stage.c pipeline/event.c pipeline/outbox.c pipeline/sink.c \
	pipeline/sink_jsonl.c pipeline/sink_kafka.c pipeline/lease.c pipeline/exporter.c
pipeline_DEPS := common
pipeline_PKGS := sqlite3 rdkafka jansson liblz4

# test tools (release build: the heavy end-to-end proofs use them)
PROGS += kafka-mock outbox-fill export-verify
kafka-mock_SRCS := tests/tools/kafka_mock.c
kafka-mock_LIBS := common
kafka-mock_PKGS := rdkafka
outbox-fill_SRCS := tests/tools/outbox_fill.c
outbox-fill_LIBS := pipeline
export-verify_SRCS := tests/tools/export_verify.c
export-verify_LIBS := pipeline

# unit tests (ASan + UBSan)
TESTBINS += test_pipeline_queue test_pipeline_outbox test_pipeline_export
test_pipeline_queue_SRCS := tests/unit/test_pipeline_queue.c
test_pipeline_queue_LIBS := pipeline
test_pipeline_queue_PKGS := cmocka
test_pipeline_outbox_SRCS := tests/unit/test_pipeline_outbox.c tests/unit/pipeline_test_helpers.c
test_pipeline_outbox_LIBS := pipeline
test_pipeline_outbox_PKGS := cmocka
test_pipeline_export_SRCS := tests/unit/test_pipeline_export.c tests/unit/pipeline_test_helpers.c
test_pipeline_export_LIBS := pipeline
test_pipeline_export_PKGS := cmocka
TESTS += test_pipeline_queue test_pipeline_outbox test_pipeline_export
test_pipeline_queue_TIMEOUT := 120
test_pipeline_outbox_TIMEOUT := 180
test_pipeline_export_TIMEOUT := 180

# concurrency stress: under ASan in `make test`, under ThreadSanitizer in `make tsan`
TESTBINS += stress_pipeline_queue
stress_pipeline_queue_SRCS := tests/unit/stress_pipeline_queue.c
stress_pipeline_queue_LIBS := pipeline
TESTS += stress_pipeline_queue
stress_pipeline_queue_TIMEOUT := 120
TSAN_TESTS += stress_pipeline_queue
stress_pipeline_queue_TSAN_SRCS := tests/unit/stress_pipeline_queue.c pipeline/queue.c pipeline/stage.c \
	common/alloc.c common/err.c common/log.c common/clock.c

# fuzzing the event decoder (JSON-lines files and Kafka payloads are untrusted input)
FUZZERS += fuzz_pl_event
fuzz_pl_event_SRCS := tests/fuzz/fuzz_pl_event.c
fuzz_pl_event_LIBS := pipeline

# end-to-end proofs against librdkafka's mock cluster, checked with kcat (release builds
# of xw-export, kafka-mock, outbox-fill and export-verify, to fit the time budget)
PL_E2E_NEEDS := $(BUILD)/xw-export $(BUILD)/kafka-mock $(BUILD)/outbox-fill $(BUILD)/export-verify
PL_PROOF_EVENTS ?= 1000000
PL_KILL_EVENTS ?= 1000000
TESTS += pipeline_export_proof pipeline_export_kill pipeline_export_faults
pipeline_export_proof_CMD := tests/pipeline/export_e2e.sh proof $(PL_PROOF_EVENTS)
pipeline_export_proof_NEEDS := $(PL_E2E_NEEDS)
pipeline_export_proof_TIMEOUT := 240
pipeline_export_kill_CMD := tests/pipeline/export_e2e.sh kill $(PL_KILL_EVENTS)
pipeline_export_kill_NEEDS := $(PL_E2E_NEEDS)
pipeline_export_kill_TIMEOUT := 240
pipeline_export_faults_CMD := tests/pipeline/export_e2e.sh faults 200000
pipeline_export_faults_NEEDS := $(PL_E2E_NEEDS)
pipeline_export_faults_TIMEOUT := 180

BENCHES += bench_export
bench_export_SRCS := bench/bench_export.c bench/bench_util.c tools/process_setup.c
bench_export_LIBS := pipeline

# tools_exporter_process_setup (tools/process_setup.c, the programs' side of the exporter's
# malloc tuning) on the real C library (release build: sanitizers replace malloc)
PROGS += process-setup-check
process-setup-check_SRCS := tests/tools/process_setup_check.c tools/process_setup.c
process-setup-check_LIBS := common
TESTS += pipeline_process_setup
pipeline_process_setup_CMD := $(BUILD)/process-setup-check
pipeline_process_setup_NEEDS := $(BUILD)/process-setup-check
pipeline_process_setup_TIMEOUT := 30

TESTS += xw_export_cli
xw_export_cli_CMD := tests/pipeline/xw_export_cli.sh
xw_export_cli_NEEDS := $(PL_E2E_NEEDS)
xw_export_cli_TIMEOUT := 120

# differential fuzzing of the encoder's embedded-JSON fast path against jansson
FUZZERS += fuzz_pl_json
fuzz_pl_json_SRCS := tests/fuzz/fuzz_pl_json.c
fuzz_pl_json_LIBS := pipeline
