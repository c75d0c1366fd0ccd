#!/usr/bin/env bash
# one-pass-verify.sh: one pass over every name of a bulk-loaded store (shuffled, as one-pass-ab.sh
# orders them), every answer checked by `dnsmesh-bench dns` against the published records (rcode,
# answer count, TXT bytes; TC answers retried over TCP). The node is started as one-pass-ab.sh
# starts it (store-node.sh: loopback, one frontend and one shard on core $SERVER_CPU, limiters
# off; waits for its name index's walk) and stopped by its PID; the generator runs on $GEN_CPU.
#
#   bench/one-pass-verify.sh STORE NAMES RECORDS BIN [BENCH]
#     STORE: a store from `dnsmesh-admin load` (not open elsewhere); NAMES: its names.txt;
#     RECORDS: the records.jsonl it was loaded from; BIN: dnsmeshd; BENCH: dnsmesh-bench
#     (default build/dnsmesh-bench)
set -euo pipefail
[[ $# -ge 4 ]] || { echo "usage: $0 STORE NAMES RECORDS BIN [BENCH]" >&2; exit 2; }
STORE=$1 NAMES=$2 RECORDS=$3 BIN=$4 BENCH=${5:-build/dnsmesh-bench}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
# shellcheck source=bench/store-node.sh
source "$(dirname "$0")/store-node.sh"
W=$(mktemp -d /tmp/one-pass-verify.XXXXXX)
pid=
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
    rm -rf "$W"
}
trap cleanup EXIT
python3 - "$NAMES" "$W/names.txt" <<'PY'
import random, sys
names = [l.strip() for l in open(sys.argv[1]) if l.strip()]
random.Random(11).shuffle(names)
open(sys.argv[2], "w").write("".join(n + "\n" for n in names))
PY
n=$(wc -l <"$W/names.txt")
store_node_start "$BIN" "$STORE" "$W" "$(head -1 "$NAMES")"
echo "# one-pass-verify $(date -u +%FT%TZ): $BIN on $STORE (core $SERVER_CPU), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $BENCH dns --target 127.0.0.1:$port --records $RECORDS --names (NAMES shuffled) --max-queries $n --duration 120 (on core $GEN_CPU)"
taskset -c "$GEN_CPU" "$BENCH" dns --target "127.0.0.1:$port" --records "$RECORDS" \
    --names "$W/names.txt" --max-queries "$n" --duration 120 2>&1 | grep -v "answered/s"
