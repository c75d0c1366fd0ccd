#!/usr/bin/env bash
# dnsmeshd's miss path as the store grows: the same node answering uniformly random queries
# (dnsperf, 10 % NXDOMAIN) against stores of several sizes, bulk-loaded with
# `dnsmesh-admin load`, its threads pinned to one core. Prints, per store size and run: load
# time, cold start to the first answer, answered qps, node CPU per answered query, RSS; then
# the medians and the ratio to the smallest store. Runs are interleaved (size A, B, A, B, ...).
#
# usage: bench/store-scale.sh [--counts 100000,10000000] [--runs 3] [--duration 15]
#                             [--data DIR] [--keep]
#   DNSMESHD, DNSMESH_ADMIN: binaries (default build/src/node/dnsmeshd,
#   build/tools/dnsmesh-admin/dnsmesh-admin); SERVER_CPU (0) and GEN_CPU (1): cores.
#   DNSMESHD_PEER: a second dnsmeshd (e.g. main's) run on the same stores, interleaved with the
#   first in every round (A size1, B size1, A size2, B size2, ...); medians and ratios per binary.
# Data (records, stores, query files) go to --data (default /tmp/dmp-store-scale); the stores
# are deleted at the end unless --keep. Loopback only; every run is bounded by --duration.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
COUNTS=100000,10000000
RUNS=3
DURATION=15
DATA=/tmp/dmp-store-scale
KEEP=0
while [[ $# -gt 0 ]]; do
    case $1 in
    --counts) COUNTS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "usage: $0 [--counts N,M] [--runs R] [--duration S] [--data DIR] [--keep]" >&2; exit 2 ;;
    esac
done
DNSMESHD=${DNSMESHD:-$root/build/src/node/dnsmeshd}
ADMIN=${DNSMESH_ADMIN:-$root/build/tools/dnsmesh-admin/dnsmesh-admin}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
# shellcheck source=bench/store-node.sh
source "$here/store-node.sh"
for t in python3 taskset dig dnsperf; do command -v "$t" >/dev/null || { echo "$t is missing" >&2; exit 1; }; done
[[ -x $DNSMESHD && -x $ADMIN ]] || { echo "build dnsmeshd and dnsmesh-admin first" >&2; exit 1; }
bins=("$DNSMESHD")
if [[ -n ${DNSMESHD_PEER:-} ]]; then
    [[ -x $DNSMESHD_PEER ]] || { echo "DNSMESHD_PEER is not executable" >&2; exit 1; }
    bins+=("$DNSMESHD_PEER")
fi
(( DURATION >= 1 && DURATION <= 120 && RUNS >= 1 && RUNS <= 10 )) || { echo "bad --duration/--runs" >&2; exit 2; }
mkdir -p "$DATA"
IFS=, read -r -a counts <<<"$COUNTS"
pid=
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
    if [[ $KEEP == 0 ]]; then for c in "${counts[@]}"; do rm -rf "$DATA/s$c"; done; fi
}
trap cleanup EXIT

echo "# store-scale $(date -u +%FT%TZ) on $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# A = $DNSMESHD (tree $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'))${DNSMESHD_PEER:+, B = $DNSMESHD_PEER}; threads on core $SERVER_CPU; dnsperf on core $GEN_CPU"
echo "# dnsperf -l $DURATION -c 4 -q 500 over 1M uniformly random names + 100k absent ones; store files read into the page cache before each run"

prepare() { # count
    local c=$1 g="$DATA/g$1"
    if [[ ! -s $g/records.jsonl ]]; then
        python3 "$here/gen_records.py" --count "$c" --ttl 86400 --out-dir "$g" --formats names,jsonl >/dev/null
    fi
    if [[ ! -s $DATA/q$c.txt ]]; then # 1M uniform random names (with replacement) + 10 % absent ones
        python3 - "$g/names.txt" "$DATA/q$c.txt" <<'EOF'
import random, sys
names = open(sys.argv[1]).read().split()
r = random.Random(1)
q = [r.choice(names) for _ in range(1_000_000)]
q += ["nx-%d-%08x.mesh.test" % (i, r.getrandbits(32)) for i in range(100_000)]
r.shuffle(q)
open(sys.argv[2], "w").write("".join(n + " TXT\n" for n in q))
EOF
    fi
    if [[ ! -s $DATA/s$c/CURRENT ]]; then
        rm -rf "$DATA/s$c"
        echo "# load $c records: $ADMIN --db $DATA/s$c load $g/records.jsonl"
        "$ADMIN" --db "$DATA/s$c" load "$g/records.jsonl" 2>"$DATA/load$c.err" | sed 's/^/#   /'
        echo "#   ($(du -sh "$DATA/s$c" | cut -f1) on disk; load average $(cut -d' ' -f1 /proc/loadavg))"
    fi
}

cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }

run_one() { # count run binary label
    local c=$1 d="$DATA/run" probe bin=$3 label=$4
    rm -rf "$d"; mkdir -p "$d"
    probe=$(head -1 "$DATA/g$c/names.txt")
    # the store's files in the page cache (this shared box's cache gets dropped): the figure is
    # the node's, not the virtio disk's
    cat "$DATA/s$c"/*.sst >/dev/null
    local t0 t1
    t0=$(date +%s.%N)
    local port
    store_node_start "$bin" "$DATA/s$c" "$d" "$probe"
    t1=$t_first # serving from then on (the name index's walk, waited for, runs after)
    local ticks0 ticks1
    ticks0=$(cpu_ticks "$pid")
    taskset -c "$GEN_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$DATA/q$c.txt" -l "$DURATION" \
        -c 4 -q 500 -t 2 >"$d/dnsperf" 2>&1 || true
    ticks1=$(cpu_ticks "$pid")
    local rss hwm
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    kill -TERM "$pid"; wait "$pid" || true; pid=
    local done qps
    done=$(awk '/Queries completed:/ {print $3}' "$d/dnsperf")
    qps=$(awk '/Queries per second:/ {print $4}' "$d/dnsperf")
    local hz
    hz=$(getconf CLK_TCK)
    python3 -c "
c,r,t0,t1,k0,k1,hz,done,qps,rss,hwm,la=$c,$2,$t0,$t1,$ticks0,$ticks1,$hz,${done:-0},${qps:-0},$rss,$hwm,$(cut -d' ' -f1 /proc/loadavg)
us=(k1-k0)/hz*1e6/done if done else 0
print('$label run %d records %9d  start %5.2f s  answered %8d  qps %8.0f  cpu/answer %6.1f us  rss %5.0f MiB  hwm %5.0f MiB  load %.1f'
      % (r,c,t1-t0,done,qps,us,rss/1024,hwm/1024,la))"
    grep -E "Queries lost|Response codes" "$d/dnsperf" | sed 's/^/#     /'
}

for c in "${counts[@]}"; do prepare "$c"; done
results=()
for r in $(seq 1 "$RUNS"); do
    for c in "${counts[@]}"; do
        for b in "${!bins[@]}"; do
            label=A
            [[ $b == 1 ]] && label=B
            line=$(run_one "$c" "$r" "${bins[$b]}" "$label")
            echo "$line"
            results+=("$line")
        done
    done
done
printf '%s\n' "${results[@]}" | python3 -c '
import sys, re, statistics
rows = {}
for l in sys.stdin:
    m = re.search(r"^(\w) run +\d+ records +(\d+) +start +([\d.]+) s .*qps +(\d+) +cpu/answer +([\d.]+) us +rss +(\d+) MiB +hwm +(\d+)", l)
    if m:
        rows.setdefault((m.group(1), int(m.group(2))), []).append([float(x) for x in m.groups()[2:]])
print("# medians: binary, records, cold start s, answered qps, cpu us/answer, rss MiB, hwm MiB, qps and cpu/answer against the smallest store")
for b in sorted({k[0] for k in rows}):
    base = None
    for c in sorted(k[1] for k in rows if k[0] == b):
        med = [statistics.median(col) for col in zip(*rows[(b, c)])]
        base = base or med
        print("%s median records %9d  start %5.2f s  qps %8.0f  cpu/answer %6.1f us  rss %5.0f MiB  hwm %5.0f MiB  qps ratio %.2f  cpu ratio %.2f" % (b, c, *med, med[1] / base[1], base[2] / med[2]))
'
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
