#!/usr/bin/env bash
# Builds dnsmeshd and starts it on 127.0.0.1 (DNS :5353 UDP+TCP, HTTP :8053) with an embedded
# RocksDB store under ./var/dmp.db. Any DMP_* variable already set in the environment wins, and
# extra arguments are passed to dnsmeshd (see `dnsmeshd --help`). Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target dnsmeshd
mkdir -p var
export DMP_DB_PATH=${DMP_DB_PATH:-$PWD/var/dmp.db}
export DMP_DNS_HOST=${DMP_DNS_HOST:-127.0.0.1}
export DMP_HTTP_HOST=${DMP_HTTP_HOST:-127.0.0.1}
echo "dnsmeshd: store $DMP_DB_PATH; publish with POST http://$DMP_HTTP_HOST:${DMP_HTTP_PORT:-8053}/v1/records/<name>"
exec build/src/node/dnsmeshd "$@"
