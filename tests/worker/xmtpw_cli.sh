#!/usr/bin/env bash
# xmtpw as an operator uses it: the command table (help, unknown commands), `config check`
# on good and bad files (every message with its location), the environment over the file,
# secrets never printed, the sample deploy/worker.yaml, and docs/worker.md's key table
# against `xmtpw config keys`; the client commands' usage and the errors that need no node. Runs the sanitizer build. Ends with "xmtpw-cli: P passed, F failed".
set -u
B=${BUILD:-build}
X=${XMTPW:-$B/tests/xmtpw-san}
work=$(mktemp -d /tmp/xmtpw-cli.XXXXXX)
pass=0
fail=0
trap 'rm -rf "$work"' EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
check() {
  local what=$1
  shift
  if "$@"; then pass=$((pass + 1)); echo "ok:   $what"; else fail=$((fail + 1)); echo "FAIL: $what"; fi
}
# same: the file's content equals the text given
same() { diff -u <(printf '%s' "$2") "$1" >&2; }
# no environment of the caller leaks in: every run names what it sets
x() { env -i PATH="$PATH" ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" "$@"; }
KEY=0x0101010101010101010101010101010101010101010101010101010101010101
ADDR=0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1

# --- the command table ---
x "$X" >"$work/o" 2>"$work/e"; rc=$?
check "no command: exit 2, usage on stderr" bash -c "[ $rc -eq 2 ] && grep -q '^usage: xmtpw COMMAND' '$work/e' && [ ! -s '$work/o' ]"
x "$X" --help >"$work/o" 2>"$work/e"; rc=$?
check "--help: exit 0, the commands on stdout" bash -c "[ $rc -eq 0 ] && grep -q '^  config  ' '$work/o'"
x "$X" help config >"$work/o" 2>&1; rc=$?
check "help config: the config usage" bash -c "[ $rc -eq 0 ] && grep -q '^usage: xmtpw config check' '$work/o'"
x "$X" confg 2>"$work/e"; rc=$?
check "unknown command: exit 2 with a did-you-mean" same "$work/e" \
  "xmtpw: unknown command 'confg' (did you mean 'config'?); \`xmtpw --help\` lists the commands
"
check "  and exit status 2" test "$rc" -eq 2
x "$X" frobnicate 2>"$work/e"; rc=$?
check "unknown command without a near one" bash -c "[ $rc -eq 2 ] && grep -qx \"xmtpw: unknown command 'frobnicate'; \\\`xmtpw --help\\\` lists the commands\" '$work/e'"
x "$X" --version 2>"$work/e"; rc=$?
check "unknown option: exit 2" bash -c "[ $rc -eq 2 ] && grep -q \"unknown option '--version'\" '$work/e'"
x "$X" config >/dev/null 2>"$work/e"; rc=$?
check "config alone: exit 2, asks which" bash -c "[ $rc -eq 2 ] && grep -q 'which one: check, show or keys?' '$work/e'"
x "$X" config chek 2>"$work/e"; rc=$?
check "config chek: did you mean check" bash -c "[ $rc -eq 2 ] && grep -q \"unknown subcommand 'chek'; did you mean 'check'?\" '$work/e'"
for sub in check show keys; do
  x "$X" config $sub --help >"$work/o" 2>&1; rc=$?
  check "config $sub --help: exit 0, usage" bash -c "[ $rc -eq 0 ] && grep -q '^usage: xmtpw config' '$work/o'"
done
x "$X" config check --bogus 2>"$work/e"; rc=$?
check "config check --bogus: exit 2" bash -c "[ $rc -eq 2 ] && grep -q \"unknown option '--bogus'\" '$work/e'"
x "$X" config check --config 2>"$work/e"; rc=$?
check "--config without a file: exit 2" bash -c "[ $rc -eq 2 ] && grep -q -- '--config needs a file name' '$work/e'"

# --- the client's commands without a node (tests/interop/xmtpw_libxmtp.mjs runs them with one) ---
x "$X" --help >"$work/o" 2>&1
check "--help lists the client commands" bash -c "for c in init info sync groups messages send stream; do grep -q \"^  \$c \" '$work/o' || exit 1; done"
for c in init info sync groups messages send stream; do
  x "$X" $c --help >"$work/o" 2>"$work/e"; rc=$?
  check "$c --help: exit 0, its usage" bash -c "[ $rc -eq 0 ] && grep -q '^usage: xmtpw $c' '$work/o' && [ ! -s '$work/e' ]"
done
x "$X" messages --db-dir "$work/none" >"$work/o" 2>"$work/e"; rc=$?
check "messages without GROUP: exit 2, says so, with the usage" bash -c "[ $rc -eq 2 ] && grep -qx 'xmtpw messages: missing argument' '$work/e' && grep -q '^usage: xmtpw messages GROUP' '$work/e'"
x "$X" send abcd >"$work/o" 2>"$work/e"; rc=$?
check "send without TEXT: exit 2" bash -c "[ $rc -eq 2 ] && grep -qx 'xmtpw send: missing arguments' '$work/e'"
x "$X" info --bogus 2>"$work/e"; rc=$?
check "info --bogus: exit 2" bash -c "[ $rc -eq 2 ] && grep -qx \"xmtpw info: unknown option '--bogus'\" '$work/e'"
x "$X" groups extra 2>"$work/e"; rc=$?
check "groups extra: exit 2" bash -c "[ $rc -eq 2 ] && grep -qx \"xmtpw groups: unexpected argument 'extra'\" '$work/e'"
x "$X" messages abcd --limit 10x --db-dir "$work/none" 2>"$work/e"; rc=$?
check "--limit 10x: exit 2, says why" bash -c "[ $rc -eq 2 ] && grep -qx \"xmtpw messages: --limit: '10x' is not a whole number (decimal digits only, from 1 to 1000000)\" '$work/e'"
x "$X" info --db-dir "$work/none" >"$work/o" 2>"$work/e"; rc=$?
check "info before init: no sink needed, says to run init" same "$work/e" \
  "xmtpw info: no installation in $work/none: run \`xmtpw init\` first (or give --db-dir DIR)
"
check "  exit 1, nothing made" bash -c "[ $rc -eq 1 ] && [ ! -e '$work/none' ]"
x XMTP_DB_DIRECTORY="$work/none2" "$X" groups 2>"$work/e"; rc=$?
check "XMTP_DB_DIRECTORY is the state directory" bash -c "[ $rc -eq 1 ] && grep -q 'no installation in $work/none2:' '$work/e'"
x XMTP_ENV=prod "$X" info 2>"$work/e"; rc=$?
check "a bad XMTP_ENV: exit 1 with the configuration's message" bash -c "[ $rc -eq 1 ] && grep -q '^environment XMTP_ENV: error: xmtp.env: unknown value \"prod\"; did you mean production?' '$work/e'"
x "$X" stream 2>"$work/e"; rc=$?
check "stream: not available yet, exit 1" bash -c "[ $rc -eq 1 ] && grep -q '^xmtpw stream: not available yet' '$work/e'"

# --- a bad file: every problem, each with its place ---
cat >"$work/bad.yaml" <<'YAML'
xmtp:
  env: prod
  wallet_key: 0x1234
sink:
  kafka:
    broker: localhost:9092
    topic: events
pipeline:
  shards: 0
  queues:
    store: lots
log:
  level: loud
shards: 2
YAML
x XMTPW_SINK_KAFKA_BROKER=k:9092 "$X" config check --config "$work/bad.yaml" >"$work/o" 2>"$work/e"; rc=$?
check "bad file: exit 1" test "$rc" -eq 1
check "bad file: every error, in order, with file:line:col" same "$work/e" \
"$work/bad.yaml:2:8: error: xmtp.env: unknown value \"prod\"; did you mean production? (use local, dev or production)
$work/bad.yaml:6:5: error: unknown key sink.kafka.broker; did you mean sink.kafka.brokers?
$work/bad.yaml:9:11: error: pipeline.shards: \"0\" is below the minimum 1
$work/bad.yaml:11:12: error: pipeline.queues.store: \"lots\" is not a whole number
$work/bad.yaml:13:10: error: log.level: unknown value \"loud\"; use trace, debug, info, warn, error or off
$work/bad.yaml:14:1: error: unknown key shards; did you mean pipeline.shards (it belongs in section pipeline)?
environment XMTPW_SINK_KAFKA_BROKER: error: unknown setting; did you mean XMTPW_SINK_KAFKA_BROKERS?
$work/bad.yaml:3:15: error: xmtp.wallet_key: a wallet key is 64 hex digits, optionally prefixed with 0x
$work/bad.yaml:5:3: error: sink.kafka.brokers is required for the Kafka sink (XMTPW_SINK_KAFKA_BROKERS)
"
check "bad file: the summary on stdout" same "$work/o" "failed: $work/bad.yaml; 9 errors, 0 warnings
"
x "$X" config check --config "$work/missing.yaml" >"$work/o" 2>"$work/e"; rc=$?
check "missing file: exit 1, says so" bash -c "[ $rc -eq 1 ] && grep -qx '$work/missing.yaml: error: cannot open the configuration file: No such file or directory' '$work/e'"

# --- a good file, the environment over it ---
mkdir -p "$work/store"
cat >"$work/good.yaml" <<YAML
xmtp:
  env: local
  db_directory: $work/store
sink:
  jsonl:
    path: $work/events.jsonl
pipeline:
  shards: 3
YAML
x "$X" config check --config "$work/good.yaml" >"$work/o" 2>"$work/e"; rc=$?
check "good file: exit 0, nothing on stderr" bash -c "[ $rc -eq 0 ] && [ ! -s '$work/e' ]"
check "good file: ok on stdout" same "$work/o" "ok: $work/good.yaml; 0 warnings
"
x XMTPW_PIPELINE_SHARDS=7 XMTPW_LOG_FORMAT= "$X" config show --config "$work/good.yaml" >"$work/o" 2>"$work/e"; rc=$?
check "show: exit 0" test "$rc" -eq 0
check "show: the environment wins, and says so" grep -qx '  shards: 7  # environment XMTPW_PIPELINE_SHARDS' "$work/o"
check "show: an empty variable is unset" grep -qx '  format: json  # default' "$work/o"
check "show: the node URL derived from xmtp.env" grep -qx '  node_url: "http://localhost:5556"  # derived from xmtp.env' "$work/o"
check "show: file values with their place" grep -qx "  env: local  # $work/good.yaml:2:8" "$work/o"
x XMTPW_CONFIG="$work/good.yaml" "$X" config show >"$work/o2" 2>&1; rc=$?
check "XMTPW_CONFIG names the file when --config does not" bash -c "[ $rc -eq 0 ] && grep -qx '  shards: 3  # $work/good.yaml:8:11' '$work/o2'"
x XMTPW_SINK_JSONL_PATH=- XMTP_DB_DIRECTORY="$work/store" "$X" config check >"$work/o" 2>&1; rc=$?
check "no file: defaults and environment alone" bash -c "[ $rc -eq 0 ] && grep -qx 'ok: defaults and environment; 0 warnings' '$work/o'"

# --- secrets never printed ---
x XMTP_WALLET_KEY=$KEY XMTPW_SINK_KAFKA_PROPERTIES_SASL_PASSWORD=hunter2-secret XMTPW_SINK_TYPE=kafka \
  XMTPW_SINK_KAFKA_BROKERS=k:9092 XMTPW_SINK_KAFKA_TOPIC=t XMTPW_SINK_JSONL_PATH= \
  "$X" config show --config "$work/good.yaml" >"$work/o" 2>"$work/e"; rc=$?
check "kafka chosen while the file sets jsonl: exit 1, says so" bash -c "[ $rc -eq 1 ] && grep -qx \
  \"$work/good.yaml:6:11: error: sink.jsonl.path is set but sink.type is kafka (environment XMTPW_SINK_TYPE); remove one\" '$work/e'"
check "  and prints no secret" bash -c "! grep -q -e '0101010101010101' -e hunter2 '$work/o' '$work/e'"
x XMTP_WALLET_KEY=$KEY XMTPW_SINK_KAFKA_PROPERTIES_SASL_PASSWORD=hunter2-secret \
  XMTPW_SINK_KAFKA_BROKERS=k:9092 XMTPW_SINK_KAFKA_TOPIC=t XMTP_DB_DIRECTORY="$work/store" \
  "$X" config show >"$work/o" 2>"$work/e"; rc=$?
check "show with secrets: exit 0" test "$rc" -eq 0
check "the wallet key is redacted, its address shown" grep -qx "  wallet_key: \"<redacted>\"  # environment XMTP_WALLET_KEY; address $ADDR" "$work/o"
check "the Kafka password is redacted" grep -qx '      "sasl.password": "<redacted>"  # environment XMTPW_SINK_KAFKA_PROPERTIES_SASL_PASSWORD' "$work/o"
check "no secret anywhere in the output" bash -c "! grep -q -e '0101010101010101' -e hunter2 '$work/o' '$work/e'"
x XMTP_WALLET_KEY=0xnot-a-key-secret XMTP_DB_ENCRYPTION_KEY=store-secret XMTPW_SINK_JSONL_PATH=- \
  "$X" config check >"$work/o" 2>"$work/e"; rc=$?
check "a store key is refused: not supported yet" bash -c "[ $rc -eq 1 ] && grep -q 'environment XMTP_DB_ENCRYPTION_KEY: error: xmtp.db_encryption_key: not supported yet: the store is not encrypted' '$work/e'"
check "  and neither bad secret is printed" bash -c "! grep -q -e not-a-key-secret -e store-secret '$work/o' '$work/e'"

# --- files the configuration names ---
printf '%s\n' $KEY >"$work/key"
chmod 644 "$work/key"
x XMTPW_XMTP_WALLET_KEY_FILE="$work/key" "$X" config check --config "$work/good.yaml" >"$work/o" 2>"$work/e"; rc=$?
check "a key file others can read is refused, with the fix" same "$work/e" \
"environment XMTPW_XMTP_WALLET_KEY_FILE: error: xmtp.wallet_key_file: $work/key can be read or written by others (mode 0644); chmod 600 it
"
chmod 600 "$work/key"
x XMTPW_XMTP_WALLET_KEY_FILE="$work/key" "$X" config check --config "$work/good.yaml" >"$work/o" 2>"$work/e"; rc=$?
check "at 0600 it is accepted" bash -c "[ $rc -eq 0 ] && [ ! -s '$work/e' ]"
printf -- '- rule: r\n  on: [message]\n  condition: sender.is_admn\n  actions: [tag: x]\n' >"$work/r.yaml"
x XMTPW_RULES_FILES="deploy/rules/flood.yaml,$work/r.yaml" "$X" config check --config "$work/good.yaml" >"$work/o" 2>"$work/e"; rc=$?
check "a rule file's error keeps its own file:line:col" bash -c "[ $rc -eq 1 ] && grep -q '^$work/r.yaml:3:14: error: unknown field' '$work/e'"

# --- the sample configuration ---
x "$X" config show --config deploy/worker.yaml >"$work/o" 2>"$work/e"; rc=$?
check "deploy/worker.yaml loads" bash -c "[ $rc -eq 0 ] && [ ! -s '$work/e' ] && grep -qx '  env: production  # deploy/worker.yaml:16:8' '$work/o'"
x XMTPW_XMTP_WALLET_KEY_FILE="$work/key" XMTP_DB_DIRECTORY="$work/store" \
  XMTPW_RULES_FILES=deploy/rules/flood.yaml,deploy/rules/banned-words.yaml,deploy/rules/first-message.yaml \
  "$X" config check --config deploy/worker.yaml >"$work/o" 2>"$work/e"; rc=$?
check "deploy/worker.yaml passes config check with this machine's paths" bash -c "[ $rc -eq 0 ] && [ ! -s '$work/e' ]"

# --- docs/worker.md holds the rows of `config keys`, no more, no fewer ---
x "$X" config keys >"$work/keys" 2>&1; rc=$?
sed -n '/^<!-- rows of `xmtpw config keys`/,/^<!-- end of the keys -->/p' docs/worker.md | sed '1d;$d' >"$work/doc-keys"
check "config keys: exit 0, 27 keys" bash -c "[ $rc -eq 0 ] && [ \$(grep -c '^| \`' '$work/keys') -eq 27 ]"
check "docs/worker.md's key table is the output of config keys" diff -u "$work/keys" "$work/doc-keys"

echo "xmtpw-cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
