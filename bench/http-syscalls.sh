#!/usr/bin/env bash
# http-syscalls.sh: the system calls of dnsmeshd's HTTP thread (dmp-http) per acknowledged write.
# A fresh node started as bench/write-cpu.sh starts it (one frontend, one shard, limits off,
# pinned to CPU 0) takes `dnsmesh-bench writes --rate W --conns N` from CPU 1; for 3 s of it the
# thread's system calls are counted with `perf stat` on the syscall tracepoints (counting in
# the kernel: the thread runs at its own pace, unlike under strace, whose stops make it batch
# more work per pass) and printed per sendmsg (one per answer). recvfrom_eagain counts the reads
# that found nothing. Needs perf and tracefs (root). With --strace, `strace -c` instead (the
# recipe of bench/results/writes-http-syscalls-2026-12-03.txt).
#
#   bench/http-syscalls.sh [--build DIR] [--rate W] [--conns N] [--strace]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB_NAME=http-syscalls
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
BUILD=build
RATE=2000
CONNS=64
STRACE=0
while [[ $# -gt 0 ]]; do
    case "$1" in
    --build | --rate | --conns)
        [[ $# -ge 2 ]] || die "$1 needs a value" ;;&
    --build) BUILD=$2; shift 2 ;;
    --rate) int_arg "$1" "$2" 1 50000; RATE=$((10#$2)); shift 2 ;;
    --conns) int_arg "$1" "$2" 1 64; CONNS=$((10#$2)); shift 2 ;;
    --strace) STRACE=1; shift ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
NODE="$BUILD/src/node/dnsmeshd"
BENCH="$BUILD/dnsmesh-bench"
[[ -x $NODE && -x $BENCH ]] || die "build dnsmeshd and dnsmesh-bench under $BUILD first"
if [[ $STRACE -eq 1 ]]; then
    command -v strace >/dev/null || die "--strace needs strace"
else
    command -v perf >/dev/null || die "needs perf (linux-perf)"
fi
[[ "$(nproc)" -ge 2 ]] || die "needs 2 CPUs (node on 0, writer on 1)"

WORK="$(mktemp -d /tmp/dnsmesh-hsys.XXXXXX)"
trap lib_stop_all EXIT
trap 'exit 130' INT TERM

lib_write_node "$NODE" "$WORK"
TID=""
for t in /proc/"$NPID"/task/*; do
    [[ "$(cat "$t/comm")" == dmp-http ]] && TID=$(basename "$t")
done
[[ -n $TID ]] || die "no dmp-http thread"

echo "# http-syscalls: $(date -u +%FT%TZ) on $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# command: bench/http-syscalls.sh --build $BUILD --rate $RATE --conns $CONNS$([[ $STRACE -eq 1 ]] && echo ' --strace')"
taskset -c 1 "$BENCH" writes --port "$HPORT" --rate "$RATE" --duration 5 --conns "$CONNS" --quiet \
    --json --seed 1 >"$WORK/w.json" 2>"$WORK/w.err" &
BPID=$!
PIDS+=("$BPID")
sleep 1
if [[ $STRACE -eq 1 ]]; then
    timeout -s INT 3 strace -c -p "$TID" 2>"$WORK/st.txt" || true
    grep -v '^strace: Process' "$WORK/st.txt"
else
    ev=(-e raw_syscalls:sys_enter)
    for s in sendmsg recvfrom epoll_ctl epoll_wait write read setsockopt futex; do
        ev+=(-e "syscalls:sys_enter_$s")
    done
    perf stat -x, -t "$TID" "${ev[@]}" -e syscalls:sys_exit_recvfrom --filter 'ret == -11' \
        -- sleep 3 2>"$WORK/st.txt" >/dev/null || true
    awk -F, '$1 ~ /^[0-9]+$/ {
            k = $3; sub(/^(raw_)?syscalls:sys_/, "", k); sub(/^enter_/, "", k)
            if (k == "enter") k = "all"
            if (k == "exit_recvfrom") k = "recvfrom_eagain"
            c[k] = $1
        }
        END {
            w = c["sendmsg"]
            if (w == 0) { print "no sendmsg counted"; exit }
            for (k in c) printf "%-16s %8d  %6.3f per answer\n", k, c[k], c[k] / w
        }' "$WORK/st.txt" | sort -k3,3nr
fi
wait "$BPID" || true
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("# writes: sent %d, acknowledged %d, p50 %.1f ms, p99 %.1f ms" % (r["sent"], r["ok"], r["p50_ms"], r["p99_ms"]))' "$WORK/w.json"
