#!/usr/bin/env bash
# frontend-path.sh: CPU per answered query of dnsmeshd at a fixed offered load, with the
# frontend read path on and off (DMP_DNS_FRONTEND_CACHE=1 / 0), measured with tools we did not
# write: dnsperf offers the load, `perf stat` counts the node's CPU time, context switches and
# io_uring_enter calls while it runs. Loopback only; the node is started here (one frontend, one
# shard, limits off, pinned to --server-cpu) and stopped by the PID this script got.
#
#   bench/frontend-path.sh [--build DIR] [--records N] [--rate Q] [--duration S] [--runs R]
#                          [--modes LIST] [--knob VAR] [--no-warm | --warm N] [--rrl RATE] [--rt]
#                          [--record]
#                          [--out DIR]
#
# Prints one line per run and the medians per mode; with --out it also saves every dnsperf and
# perf output there (bench/results/ keeps the ones quoted in bench/README.md).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ARGS="$*"
BUILD="build"
RECORDS=100000
RATE=20000
DURATION=10
RUNS=3
MODES="0,1"
KNOB=DMP_DNS_FRONTEND_CACHE
WARM=1
OUT=""
RT=0
RECORD=0
RRL=0
SERVER_CPU=0
GEN_CPU=1

usage() {
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    cat <<EOF

  --build DIR     build directory holding dnsmeshd and dnsmesh-bench (default build)
  --records N     records to serve (default 100000); queries: every name once per pass in a
                  fixed shuffled order, plus 10 % names that do not exist (NXDOMAIN)
  --rate Q        offered queries/s (dnsperf -Q; default 20000); 0 = as fast as dnsperf can
  --duration S    seconds per measured run (default 10)
  --runs R        runs per mode, interleaved (default 3)
  --modes LIST    comma list of the --knob's values (default 0,1)
  --knob VAR      the node variable the modes set (default DMP_DNS_FRONTEND_CACHE; e.g.
                  DMP_DNS_FRONTEND_READS for cache misses answered on the frontend or the shard)
  --no-warm       no warm-up pass: the measured run starts on an empty answer cache, so the
                  first touch of every name is a miss (at 10,000 q/s x 10 s about one pass)
  --warm N        N warm-up passes (default 1; 0 = --no-warm): 2 for a node whose cache admits a
                  name on its second miss (DMP_CACHE_DOORKEEPER=1)
  --rrl RATE      DMP_RRL_RATE for the node (default 0: RRL off, as in the peer comparisons;
                  the node's own default is 200)
  --rt            run the node and dnsperf SCHED_FIFO (chrt -f 10): on a box shared with other
                  work this keeps its load out of the latency figures (CPU/answer barely moves)
  --record        also \`perf record -g\` the node during the last run of each mode and save the
                  top of \`perf report\` (needs --out)
  --out DIR       save raw outputs there
EOF
}

die() {
    echo "frontend-path: $*" >&2
    exit 2
}

while [[ $# -gt 0 ]]; do
    case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --records) RECORDS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --modes) MODES="$2"; shift 2 ;;
    --knob) KNOB="$2"; shift 2 ;;
    --no-warm) WARM=0; shift ;;
    --warm) WARM="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --rrl) RRL="$2"; shift 2 ;;
    --rt) RT=1; shift ;;
    --record) RECORD=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
[[ "$KNOB" =~ ^DMP_[A-Z_]+$ ]] || die "--knob needs a DMP_ variable name"
[[ "$WARM" =~ ^[0-5]$ ]] || die "--warm needs 0..5 passes"
for v in RECORDS RATE DURATION RUNS RRL; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "--${v,,} needs an integer"
done
((DURATION >= 1 && DURATION <= 120 && RUNS >= 1 && RUNS <= 20)) || die "duration 1..120, runs 1..20"
command -v dnsperf >/dev/null || die "dnsperf not found (apt-get install dnsperf)"
command -v perf >/dev/null || die "perf not found (apt-get install linux-perf)"
DNSMESHD="$BUILD/src/node/dnsmeshd"
[[ -x "$DNSMESHD" ]] || DNSMESHD="$BUILD/dnsmeshd"
BENCH="$BUILD/dnsmesh-bench"
[[ -x "$DNSMESHD" && -x "$BENCH" ]] || die "build dnsmeshd and dnsmesh-bench under $BUILD first"

WORK="$(mktemp -d /tmp/dnsmesh-fp.XXXXXX)"
NODE_PID=""
cleanup() {
    if [[ -n "$NODE_PID" ]]; then
        kill "$NODE_PID" 2>/dev/null || true
        wait "$NODE_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
[[ -n "$OUT" ]] && mkdir -p "$OUT"
((RECORD == 0)) || [[ -n "$OUT" ]] || die "--record needs --out"
PRIO=()
((RT == 0)) || PRIO=(chrt -f 10)
QRATE=()
((RATE == 0)) || QRATE=(-Q "$RATE")

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_node() { # mode
    PORT=$(free_port)
    HPORT=$(free_port)
    rm -f "$WORK/ports"
    env DMP_DNS_HOST=127.0.0.1 DMP_DNS_PORT="$PORT" DMP_HTTP_HOST=127.0.0.1 DMP_HTTP_PORT="$HPORT" \
        DMP_DB_PATH="$WORK/db" DMP_PORTS_FILE="$WORK/ports" \
        DMP_DNS_RATE=0 DMP_DNS_BURST=0 DMP_HTTP_RATE=0 DMP_HTTP_BURST=0 DMP_RRL_RATE="$RRL" \
        DMP_HTTP_MAX_PER_IP=64 \
        DMP_FRONTENDS=1 DMP_SHARDS=1 DMP_SERVED_ZONE=mesh.test \
        DMP_DNS_APEX_NS=ns1.mesh.test DMP_DNS_APEX_SOA_RNAME=hostmaster.mesh.test \
        DMP_LOG_LEVEL=warning "$KNOB=$1" \
        "${PRIO[@]}" taskset -c "$SERVER_CPU" "$DNSMESHD" >>"$WORK/node.log" 2>&1 &
    NODE_PID=$!
    local i
    for ((i = 0; i < 600; i++)); do # opening a store replays its WAL: allow 60 s
        [[ -s "$WORK/ports" ]] && return 0
        kill -0 "$NODE_PID" 2>/dev/null || break
        sleep 0.1
    done
    tail -20 "$WORK/node.log" >&2
    die "dnsmeshd did not start"
}

# sched_snap FILE: per thread, ns on CPU and ns waiting on a run queue (/proc/.../schedstat)
sched_snap() {
    local t
    for t in /proc/"$NODE_PID"/task/*; do
        echo "$(cat "$t/comm") $(cat "$t/schedstat")"
    done | grep '^dmp-' | sort >"$1" || true
}

stop_node() {
    kill "$NODE_PID"
    wait "$NODE_PID" 2>/dev/null || true
    NODE_PID=""
}

python3 "$HERE/gen_records.py" --count "$RECORDS" --out-dir "$WORK/recs" --formats names,jsonl >/dev/null
python3 - "$WORK/recs/names.txt" "$WORK/queries.txt" <<'EOF'
import random, sys
names = [l.strip() for l in open(sys.argv[1]) if l.strip()]
rnd = random.Random(7)
q = [n + " TXT" for n in names]
q += ["nx-%07d.mesh.test TXT" % i for i in range(len(names) // 10)]
rnd.shuffle(q)
open(sys.argv[2], "w").write("\n".join(q) + "\n")
EOF

echo "frontend-path: $RECORDS records, $(wc -l <"$WORK/queries.txt") query names," \
    "$( ((RATE)) && echo "$RATE q/s offered" || echo "unlimited rate")," \
    "${DURATION} s x $RUNS runs per mode ($KNOB=$MODES), $( ((WARM)) && echo "$WARM warm-up pass(es)" || echo "no warm-up (empty cache)"), RRL rate $RRL, node on CPU $SERVER_CPU, dnsperf on CPU $GEN_CPU$( ((RT)) && echo ", both SCHED_FIFO")"
echo "command: $0 $ARGS"
start_node 0
taskset -c "$GEN_CPU" "$BENCH" load --port "$HPORT" --file "$WORK/recs/records.jsonl" --conns 32 \
    --json --quiet >"$WORK/load.json" || true
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("  loaded %d records (%d ok) in %.1f s" % (r["sent"], r["ok"], r["duration_s"])); sys.exit(0 if r["ok"] == r["sent"] else 1)' "$WORK/load.json" ||
    die "the load was not fully acknowledged (see above): the figures would not be of $RECORDS records"
stop_node

declare -A RES
IFS=, read -r -a modes <<<"$MODES"
for ((run = 1; run <= RUNS; run++)); do
    for m in "${modes[@]}"; do
        start_node "$m"
        # warm the answer cache: WARM passes over every query name
        for ((w = 0; w < WARM; w++)); do
            taskset -c "$GEN_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$WORK/queries.txt" -n 1 \
                -Q 50000 -c 8 >"$WORK/warm.txt" 2>&1 || true
        done
        tag="mode${m}-run${run}"
        sched_snap "$WORK/$tag.sched0"
        perf stat -x, -e task-clock,context-switches,syscalls:sys_enter_io_uring_enter \
            -p "$NODE_PID" -o "$WORK/$tag.perf" -- sleep "$((DURATION + 1))" &
        ppid=$!
        sleep 0.5
        rpid=""
        if ((RECORD && run == RUNS)); then
            perf record -g -o "$WORK/$tag.data" -p "$NODE_PID" -- sleep "$DURATION" >/dev/null 2>&1 &
            rpid=$!
        fi
        "${PRIO[@]}" taskset -c "$GEN_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$WORK/queries.txt" \
            -l "$DURATION" "${QRATE[@]}" -c 8 >"$WORK/$tag.dnsperf" 2>&1 || true
        wait "$ppid" || true
        sched_snap "$WORK/$tag.sched1"
        if [[ -n "$rpid" ]]; then
            wait "$rpid" || true
            perf report -i "$WORK/$tag.data" --stdio --no-children -g none --sort comm,dso,symbol \
                --percent-limit 0.5 2>/dev/null | grep -v '^$' | head -80 >"$OUT/$tag.perf-report.txt" || true
        fi
        stop_node
        line=$(python3 - "$WORK/$tag.perf" "$WORK/$tag.dnsperf" "$DURATION" "$WORK/$tag.sched0" "$WORK/$tag.sched1" <<'EOF'
import re, sys
perf = {}
for l in open(sys.argv[1]):
    f = l.strip().split(",")
    if len(f) > 3 and f[0] and f[0][0].isdigit():
        perf[f[2]] = float(f[0])
d = open(sys.argv[2]).read()
done = int(re.search(r"Queries completed:\s+(\d+)", d).group(1))
lost = int(re.search(r"Queries lost:\s+(\d+)", d).group(1))
lat = re.search(r"Average Latency \(s\):\s+([\d.]+)", d)
# perf counts over DURATION+1 s; dnsperf over DURATION: scale the node's counts to the answered
# queries by the same window (idle CPU outside the window is small and counted, conservatively)
q = max(done, 1)
cpu_us = perf.get("task-clock", 0) * 1000 / q
cs = perf.get("context-switches", 0) / q
ue = perf.get("syscalls:sys_enter_io_uring_enter", 0) / q
def sched(p):
    r = {}
    for l in open(p):
        f = l.split()
        if len(f) >= 3:
            r[f[0]] = (int(f[1]), int(f[2]))
    return r
s0, s1 = sched(sys.argv[4]), sched(sys.argv[5])
wait_ns = sum(s1[k][1] - s0[k][1] for k in s1 if k in s0)
print("%d %d %.2f %.3f %.3f %.1f %.1f" % (done, lost, cpu_us, cs, ue, float(lat.group(1)) * 1e6 if lat else -1, wait_ns / 1e3 / q))
EOF
)
        read -r done lost cpu cs ue lat rq <<<"$line"
        printf '  %s=%s run %d: answered %d lost %d  CPU/answer %s us  ctx-switches/answer %s  io_uring_enter/answer %s  avg latency %s us  run-queue wait/answer %s us\n' \
            "$KNOB" "$m" "$run" "$done" "$lost" "$cpu" "$cs" "$ue" "$lat" "$rq"
        RES[$m]+="$cpu $cs $ue $lat $done $rq;"
        if [[ -n "$OUT" ]]; then
            cp "$WORK/$tag.perf" "$WORK/$tag.dnsperf" "$OUT/"
        fi
    done
done
echo "medians:"
for m in "${modes[@]}"; do
    python3 - "$KNOB=$m" "${RES[$m]}" <<'EOF'
import statistics, sys
rows = [list(map(float, r.split())) for r in sys.argv[2].split(";") if r.strip()]
med = [statistics.median(c) for c in zip(*rows)]
print("  %s: CPU/answer %.2f us, ctx-switches/answer %.3f, io_uring_enter/answer %.3f, avg latency %.0f us, run-queue wait/answer %.1f us, answered %d (median of %d)"
      % (sys.argv[1], med[0], med[1], med[2], med[3], med[5], med[4], len(rows)))
EOF
done
