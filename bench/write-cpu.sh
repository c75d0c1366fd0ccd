#!/usr/bin/env bash
# write-cpu.sh: where dnsmeshd's CPU goes per acknowledged HTTP write. A fresh node (one
# frontend, one shard, limits off, pinned to CPU 0) takes `dnsmesh-bench writes` at a fixed rate
# from CPU 1 over --conns connections (default 16); each thread's CPU time (/proc/PID/task/*/stat,
# utime + stime) is read before and after every run and printed per write, by thread, with the
# writer's ack latency (p50, p99) and the node's minor page faults per write. With --perf FILE
# the last run is also recorded with `perf record -g` (root) for `perf report -i FILE --comm
# <thread>`.
# Loopback only; the node is stopped by the PID this script got.
#
# With --batch K the writer sends K records per request (the batch publish, POST /v1/records)
# and the figures are per record.
#
#   bench/write-cpu.sh [--build DIR] [--rate W] [--duration S] [--runs R] [--conns N]
#                      [--batch K] [--perf FILE]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB_NAME=write-cpu
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
BUILD=build
RATE=2000
DURATION=10
RUNS=3
CONNS=16
BATCH=1
PERF_OUT=""
while [[ $# -gt 0 ]]; do
    case "$1" in
    --build | --rate | --duration | --runs | --conns | --batch | --perf)
        [[ $# -ge 2 ]] || die "$1 needs a value" ;;&
    --build) BUILD=$2; shift 2 ;;
    --rate) int_arg "$1" "$2" 1 50000; RATE=$((10#$2)); shift 2 ;;
    --duration) int_arg "$1" "$2" 1 120; DURATION=$((10#$2)); shift 2 ;;
    --runs) int_arg "$1" "$2" 1 20; RUNS=$((10#$2)); shift 2 ;;
    --conns) int_arg "$1" "$2" 1 64; CONNS=$((10#$2)); shift 2 ;;
    --batch) int_arg "$1" "$2" 1 64; BATCH=$((10#$2)); shift 2 ;;
    --perf) PERF_OUT=$2; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
NODE="$BUILD/src/node/dnsmeshd"
BENCH="$BUILD/dnsmesh-bench"
[[ -x $NODE && -x $BENCH ]] || die "build dnsmeshd and dnsmesh-bench under $BUILD first"
[[ -z $PERF_OUT ]] || command -v perf >/dev/null || die "--perf needs perf (linux-perf)"
[[ "$(nproc)" -ge 2 ]] || die "needs 2 CPUs (node on 0, writer on 1)"

WORK="$(mktemp -d /tmp/dnsmesh-wcpu.XXXXXX)"
trap lib_stop_all EXIT
trap 'exit 130' INT TERM

lib_write_node "$NODE" "$WORK"

echo "# write-cpu: $(date -u +%FT%TZ) on $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# command: bench/write-cpu.sh --build $BUILD --rate $RATE --duration $DURATION --runs $RUNS --conns $CONNS --batch $BATCH${PERF_OUT:+ --perf $PERF_OUT}"
echo "# $("$NODE" --version 2>/dev/null | head -1); node on CPU 0 (1 frontend, 1 shard), writer on CPU 1"

snap() { # thread-name_tid ticks, sorted
    local t
    for t in /proc/"$NPID"/task/*; do
        echo "$(cat "$t/comm" | tr ' ' _)_$(basename "$t") $(awk '{print $14 + $15}' "$t/stat")"
    done | sort
}
hz=$(getconf CLK_TCK)
for r in $(seq "$RUNS"); do
    snap >"$WORK/s0"
    f0=$(awk '{print $10}' "/proc/$NPID/stat")
    ppid=""
    if [[ -n $PERF_OUT && $r -eq $RUNS ]]; then
        perf record -g -p "$NPID" -o "$PERF_OUT" -- sleep "$((DURATION > 2 ? DURATION - 2 : 1))" \
            >/dev/null 2>&1 &
        ppid=$!
    fi
    taskset -c 1 "$BENCH" writes --port "$HPORT" --rate "$RATE" --duration "$DURATION" --conns "$CONNS" \
        --batch "$BATCH" --quiet --json --seed "$r" >"$WORK/w.json" 2>"$WORK/w.err" || true
    [[ -z $ppid ]] || wait "$ppid" || true
    snap >"$WORK/s1"
    f1=$(awk '{print $10}' "/proc/$NPID/stat")
    read -r sent ok p50 p99 < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["sent"] * r["batch"], r["records_ok"], r["p50_ms"], r["p99_ms"])' "$WORK/w.json")
    ((ok > 0)) || die "run $r: no write acknowledged ($(head -c 300 "$WORK/w.err"))"
    join "$WORK/s0" "$WORK/s1" | awk -v n="$ok" -v r="$r" -v hz="$hz" -v s="$sent" '
        { d = $3 - $2; if (d > 0) { sub(/_[0-9]+$/, "", $1); t[$1] += d; all += d } }
        END {
            for (k in t) printf "run %d  %-14s %7.1f us/write\n", r, k, t[k] * 1e6 / hz / n
            printf "run %d  %-14s %7.1f us/write  (%d of %d writes acknowledged)\n", r, "TOTAL", all * 1e6 / hz / n, n, s
        }' | sort -k3,3
    echo "run $r  ack latency p50 $p50 ms, p99 $p99 ms; node minor page faults $(((f1 - f0) * 100 / ok)) per 100 writes"
done
