#!/usr/bin/env bash
# one-pass-ab.sh: the one-pass workload of dns-vs-peers.sh --one-pass (dnsperf making exactly one
# pass over every name of a store, shuffled, unlimited rate, 200 in flight) against two dnsmeshd
# binaries on the same bulk-loaded store, interleaved run by run, each node restarted before its
# run (empty answer cache) with its threads on one core. For A/B comparisons of the miss path
# without reloading 1M records over HTTP per binary; dns-vs-peers.sh gives the peers' figures.
#
#   bench/one-pass-ab.sh STORE NAMES BIN_A BIN_B [RUNS]
#     STORE: a store from `dnsmesh-admin load` (not open elsewhere; the nodes open it in turn)
#     NAMES: its names, one per line (bench/gen_records.py names.txt)
# Loopback only; every node is started here and stopped by its PID.
set -euo pipefail
[[ $# -ge 4 ]] || { echo "usage: $0 STORE NAMES BIN_A BIN_B [RUNS]" >&2; exit 2; }
STORE=$1 NAMES=$2 A=$3 B=$4 RUNS=${5:-3}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
# shellcheck source=bench/store-node.sh
source "$(dirname "$0")/store-node.sh"
((RUNS >= 1 && RUNS <= 10)) || { echo "RUNS: 1..10" >&2; exit 2; }
for t in python3 taskset dig dnsperf; do command -v "$t" >/dev/null || { echo "$t is missing" >&2; exit 1; }; done
W=$(mktemp -d /tmp/one-pass-ab.XXXXXX)
pid=
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
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
probe=$(head -1 "$NAMES")
for r in $(seq 1 "$RUNS"); do
    for label in A B; do
        bin=$A; [[ $label == B ]] && bin=$B
        d="$W/run"; rm -rf "$d"; mkdir -p "$d"
        cat "$STORE"/*.sst >/dev/null
        store_node_start "$bin" "$STORE" "$d" "$probe"
        k0=$(cpu_ticks "$pid")
        taskset -c "$GEN_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$W/q.txt" -n 1 -t 0.5 -c 8 -q 200 \
            >"$d/dnsperf" 2>&1 || true
        k1=$(cpu_ticks "$pid")
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
        kill -TERM "$pid"; wait "$pid" || true; pid=
        python3 - "$d/dnsperf" "$label" "$r" "$k0" "$k1" "$(getconf CLK_TCK)" "$rss" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import re, sys
f, label, r, k0, k1, hz, rss, la = sys.argv[1:9]
d = open(f).read()
done = int(re.search(r"Queries completed:\s+(\d+)", d).group(1))
lost = int(re.search(r"Queries lost:\s+(\d+)", d).group(1))
qps = float(re.search(r"Queries per second:\s+([\d.]+)", d).group(1))
rc = re.search(r"Response codes:\s+(.*)", d).group(1)
cpu = (int(k1) - int(k0)) / int(hz)
print("%s run %s answered %8d lost %6d qps %8.0f cpu/answer %6.2f us rss %5.0f MiB load %s  (%s)"
      % (label, r, done, lost, qps, 1e6 * cpu / done if done else 0, int(rss) / 1024, la, rc))
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
if "A" in med and "B" in med and med["B"][2] and med["B"][3]:
    print("A / B: qps %.2f, cpu/answer %.2f, rss %.2f" % (med["A"][2] / med["B"][2], med["A"][3] / med["B"][3], med["A"][4] / med["B"][4]))
PY
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
