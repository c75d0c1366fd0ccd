#!/usr/bin/env bash
# one-pass-ab.sh: the one-pass workload of dns-vs-peers.sh --one-pass (dnsperf making exactly one
# pass over every name of a store, shuffled, unlimited rate, 200 in flight) against two dnsmeshd
# binaries on the same bulk-loaded store, interleaved run by run, each node restarted before its
# run (empty answer cache) with its threads on one core. For A/B comparisons of the miss path
# without reloading 1M records over HTTP per binary. With KNOT_ZONE set, Knot (knotd, configured
# as dns-vs-peers.sh configures it: one UDP worker, no RRL) serves the same records as a zone on
# the same core and makes a third arm K of every run, in the same table, with A/K and B/K ratios.
# Each run's line has the process's CPU per answer, RSS after the pass and its minor page faults
# over the pass (minflt).
#
#   [KNOT_ZONE=ZONEFILE] bench/one-pass-ab.sh STORE NAMES BIN_A BIN_B [RUNS]
#     STORE: a store from `dnsmesh-admin load` (not open elsewhere; the nodes open it in turn)
#     NAMES: its names, one per line (bench/gen_records.py names.txt)
#     KNOT_ZONE: the same records as a zone file for mesh.test (gen_records.py mesh.test.zone);
#       Knot is started once (its zone load takes tens of seconds at 1M records and is not
#       measured: its CPU is counted over each pass only) and stopped at the end; it keeps no
#       answer cache, so restarting it per run would change nothing but the time taken.
# Loopback only; every node and Knot are started here and stopped by their PIDs.
set -euo pipefail
[[ $# -ge 4 ]] || { echo "usage: $0 STORE NAMES BIN_A BIN_B [RUNS]" >&2; exit 2; }
STORE=$1 NAMES=$2 A=$3 B=$4 RUNS=${5:-3}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
# shellcheck source=bench/store-node.sh
source "$(dirname "$0")/store-node.sh"
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
KNOT_ZONE=${KNOT_ZONE:-}
((RUNS >= 1 && RUNS <= 10)) || { echo "RUNS: 1..10" >&2; exit 2; }
for t in python3 taskset dig dnsperf; do command -v "$t" >/dev/null || { echo "$t is missing" >&2; exit 1; }; done
W=$(mktemp -d /tmp/one-pass-ab.XXXXXX)
pid=
kpid=
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
    if [[ -n $kpid ]]; then stop_pid "$kpid"; fi
    rm -rf "$W"
}
trap cleanup EXIT
python3 - "$NAMES" "$W/q.txt" <<'PY'
import random, sys
names = [l.strip() for l in open(sys.argv[1]) if l.strip()]
random.Random(11).shuffle(names)
open(sys.argv[2], "w").write("".join(n + " TXT\n" for n in names))
PY
echo "# one-pass-ab $(date -u +%FT%TZ): $(wc -l <"$W/q.txt") names of $STORE, dnsperf -n 1 -t 0.5 -c 8 -q 200 on CPU $GEN_CPU, node on CPU $SERVER_CPU (DMP_FRONTENDS=1 DMP_SHARDS=1, limiters off); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# A = $A, B = $B"
cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
minflt() { awk '{sub(/^.*\) /, ""); print $8}' "/proc/$1/stat"; }
probe=$(head -1 "$NAMES")
labels="A B"
if [[ -n $KNOT_ZONE ]]; then
    command -v knotd >/dev/null || { echo "KNOT_ZONE set but knotd is missing" >&2; exit 1; }
    [[ -s $KNOT_ZONE ]] || { echo "KNOT_ZONE: no such zone file: $KNOT_ZONE" >&2; exit 1; }
    kd="$W/knot"
    mkdir -p "$kd"
    kport=$(free_port 35353)
    {
        knot_server_conf "$kd" "$kport" warning
        knot_zone_conf "$kd" "$KNOT_ZONE"
    } >"$kd/knot.conf"
    taskset -c "$SERVER_CPU" knotd -c "$kd/knot.conf" >"$kd/stdout.log" 2>&1 &
    kpid=$!
    for _ in $(seq 1 240); do
        dig +short +tries=1 +time=1 -p "$kport" @127.0.0.1 "$probe" TXT | grep -q . && break
        kill -0 "$kpid" 2>/dev/null || { echo "knotd exited; its log:" >&2; tail "$kd/knot.log" >&2; exit 1; }
        sleep 0.5
    done
    echo "# K = $(knotd -V 2>&1 | head -1) on $KNOT_ZONE (port $kport, one UDP worker, started once, on CPU $SERVER_CPU)"
    labels="A B K"
fi
for r in $(seq 1 "$RUNS"); do
    for label in $labels; do
        d="$W/run"; rm -rf "$d"; mkdir -p "$d"
        if [[ $label == K ]]; then
            p=$kpid qport=$kport
        else
            bin=$A; [[ $label == B ]] && bin=$B
            cat "$STORE"/*.sst >/dev/null
            store_node_start "$bin" "$STORE" "$d" "$probe"
            p=$pid qport=$port
        fi
        k0=$(cpu_ticks "$p") f0=$(minflt "$p")
        taskset -c "$GEN_CPU" dnsperf -s 127.0.0.1 -p "$qport" -d "$W/q.txt" -n 1 -t 0.5 -c 8 -q 200 \
            >"$d/dnsperf" 2>&1 || true
        k1=$(cpu_ticks "$p") f1=$(minflt "$p")
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status")
        if [[ $label != K ]]; then kill -TERM "$pid"; wait "$pid" || true; pid=; fi
        python3 - "$d/dnsperf" "$label" "$r" "$k0" "$k1" "$(getconf CLK_TCK)" "$rss" "$(cut -d' ' -f1 /proc/loadavg)" "$((f1 - f0))" <<'PY'
import re, sys
f, label, r, k0, k1, hz, rss, la, flt = sys.argv[1:10]
d = open(f).read()
done = int(re.search(r"Queries completed:\s+(\d+)", d).group(1))
lost = int(re.search(r"Queries lost:\s+(\d+)", d).group(1))
qps = float(re.search(r"Queries per second:\s+([\d.]+)", d).group(1))
rc = re.search(r"Response codes:\s+(.*)", d).group(1)
cpu = (int(k1) - int(k0)) / int(hz)
print("%s run %s answered %8d lost %6d qps %8.0f cpu/answer %6.2f us rss %5.0f MiB load %s minflt %s  (%s)"
      % (label, r, done, lost, qps, 1e6 * cpu / done if done else 0, int(rss) / 1024, la, flt, rc))
PY
    done
done | tee "$W/runs.txt"
python3 - "$W/runs.txt" <<'PY'
import re, statistics, sys
rows = {}
for l in open(sys.argv[1]):
    m = re.match(r"(\w) run \d+ answered +(\d+) lost +(\d+) qps +([\d.]+) cpu/answer +([\d.]+) us rss +(\d+)", l)
    if m:
        rows.setdefault(m.group(1), []).append([float(x) for x in m.groups()[1:]])
med = {k: [statistics.median(c) for c in zip(*v)] for k, v in rows.items()}
for k in sorted(med):
    print("%s median answered %8.0f lost %6.0f qps %8.0f cpu/answer %6.2f us rss %5.0f MiB" % (k, *med[k]))
for x, y in (("A", "B"), ("A", "K"), ("B", "K")):
    if x in med and y in med and med[y][2] and med[y][3]:
        print("%s / %s: qps %.2f, cpu/answer %.2f, rss %.2f"
              % (x, y, med[x][2] / med[y][2], med[x][3] / med[y][3], med[x][4] / med[y][4]))
PY
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
