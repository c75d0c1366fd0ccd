#!/usr/bin/env bash
# Acknowledged HTTP writes/s into stores of different sizes: dnsmeshd (threads on one core) takes
# `dnsmesh-bench load --conns 64` posts of new records (each acknowledged after its fsync, with
# the per-name cap checks reading the store first), for --duration seconds, into each store
# given. The stores are written to: pass scratch copies. Prints one line per store and run.
#
# usage: bench/write-scale.sh --file new-records.jsonl [--duration 20] [--runs 2] STORE...
#   DNSMESHD, DNSMESH_BENCH: binaries (default build/src/node/dnsmeshd, build/dnsmesh-bench);
#   SERVER_CPU (0), GEN_CPU (1). Loopback only, bounded by --duration.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
FILE=
DURATION=20
RUNS=2
stores=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --file) FILE=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    -*) echo "usage: $0 --file F [--duration S] [--runs R] STORE..." >&2; exit 2 ;;
    *) stores+=("$1"); shift ;;
    esac
done
[[ -n $FILE && ${#stores[@]} -gt 0 ]] || { echo "usage: $0 --file F [--duration S] [--runs R] STORE..." >&2; exit 2; }
(( DURATION >= 1 && DURATION <= 600 && RUNS >= 1 && RUNS <= 10 )) || { echo "bad --duration/--runs" >&2; exit 2; }
DNSMESHD=${DNSMESHD:-$root/build/src/node/dnsmeshd}
BENCH=${DNSMESH_BENCH:-$root/build/dnsmesh-bench}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
pid=
tmp=$(mktemp -d /tmp/dmp-write-scale-XXXXXX)
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
echo "# write-scale $(date -u +%FT%TZ) on $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# dnsmeshd $DNSMESHD on core $SERVER_CPU; dnsmesh-bench load --conns 64 on core $GEN_CPU; $DURATION s per run"
off=0
for r in $(seq 1 "$RUNS"); do
    for s in "${stores[@]}"; do
        # each run posts records no earlier run posted (a refresh would be cheaper)
        tail -n +"$((off + 1))" "$FILE" >"$tmp/in.jsonl"
        rm -f "$tmp/ports"
        env DMP_DB_PATH="$s" DMP_DNS_HOST=127.0.0.1 DMP_HTTP_HOST=127.0.0.1 DMP_DNS_PORT=0 \
            DMP_HTTP_PORT=0 DMP_PORTS_FILE="$tmp/ports" DMP_HTTP_RATE=0 DMP_HTTP_BURST=0 \
            DMP_HTTP_MAX_PER_IP=128 DMP_HTTP_MAX_CONCURRENCY=256 \
            DMP_FRONTENDS=1 DMP_SHARDS=1 DMP_LOG_LEVEL=warning \
            taskset -c "$SERVER_CPU" "$DNSMESHD" >"$tmp/out" 2>&1 &
        pid=$!
        for _ in $(seq 1 1500); do [[ -s $tmp/ports ]] && break; sleep 0.02; done
        http=$(sed -E 's/.*http=127\.0\.0\.1:([0-9]+).*/\1/' "$tmp/ports")
        count=$(du -sh "$s" | cut -f1)
        "$BENCH" load --port "$http" --file "$tmp/in.jsonl" --conns 64 --duration "$DURATION" \
            --cpu "$GEN_CPU" >"$tmp/bench" 2>&1 || true
        kill -TERM "$pid"; wait "$pid" || true; pid=
        answered=$(grep -oE 'answered [0-9]+' "$tmp/bench" | head -1 | cut -d' ' -f2)
        off=$((off + ${answered:-0}))
        echo "run $r store $s ($count): $(grep -E 'rate|2xx|p50' "$tmp/bench" | tr -s ' \n' ' ')load $(cut -d' ' -f1 /proc/loadavg)"
    done
done
