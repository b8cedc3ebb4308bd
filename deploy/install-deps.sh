#!/usr/bin/env bash
# Installs every Debian package xmtp-worker needs to build, test, fuzz and run its interop
# tests. Only missing packages are installed; `apt-get update` runs at most once, and only
# when something is missing. Silent when everything is present.
set -euo pipefail

PKGS=(
  build-essential pkg-config make gcc clang clang-format cppcheck libclang-rt-14-dev
  libssl-dev libsodium-dev libsecp256k1-dev libsqlite3-dev sqlite3
  libprotobuf-c-dev protobuf-c-compiler
  libcurl4-openssl-dev libnghttp2-dev librdkafka-dev liblz4-dev kcat
  libyaml-dev libjansson-dev libpcre2-dev libmicrohttpd-dev libcmocka-dev
  procps psmisc coreutils
  nghttp2-proxy openssl
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# Node.js and npm: any installed build will do (the machine image ships one from outside
# Debian, which includes npm); otherwise Debian's.
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages: ${missing[*]}" >&2
  echo "install-deps: run 'sudo deploy/install-deps.sh' (or install them with apt-get) and retry" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done" >&2
