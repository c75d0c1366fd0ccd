#!/usr/bin/env bash
# written-pass.sh: the name index's honest case (docs/store.md "The name index"): names written
# over HTTP after the node started, then one pass over every one of them. For each binary and
# run: a copy of the bulk-loaded STORE, the node started on it (store-node.sh: one frontend and
# one shard on core $SERVER_CPU, limiters off; waits for the index's walk), the NEW records
# posted over HTTP (dnsmesh-bench load --batch 16, on core $GEN_CPU), then one pass over their
# names, shuffled, every answer checked by dnsmesh-bench dns against NEW (rcode, count, TXT
# bytes). Prints per run the node's CPU per answer over the pass, the answers right / wrong /
# lost, and the node's name-index counters; then medians per binary. Interleaved A B A B ...
#
#   bench/written-pass.sh STORE NEW_RECORDS BIN_A BIN_B [RUNS] [BENCH]
#     STORE: a store from `dnsmesh-admin load` (copied per run, left as it is)
#     NEW_RECORDS: records.jsonl of names NOT in STORE (gen_records.py --seed 2 ...)
#     BENCH: dnsmesh-bench (default build/dnsmesh-bench)
# Loopback only; every node is started here and stopped by its PID.
set -euo pipefail
[[ $# -ge 4 ]] || { echo "usage: $0 STORE NEW_RECORDS BIN_A BIN_B [RUNS] [BENCH]" >&2; exit 2; }
STORE=$1 NEW=$2 A=$3 B=$4 RUNS=${5:-3} BENCH=${6:-build/dnsmesh-bench}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
((RUNS >= 1 && RUNS <= 10)) || { echo "RUNS: 1..10" >&2; exit 2; }
# shellcheck source=bench/store-node.sh
source "$(dirname "$0")/store-node.sh"
W=$(mktemp -d /tmp/written-pass.XXXXXX)
pid=
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
    rm -rf "$W"
}
trap cleanup EXIT
python3 - "$NEW" "$W/names.txt" <<'PY'
import json, random, sys
names = sorted({json.loads(l)["name"] for l in open(sys.argv[1]) if l.strip()})
random.Random(11).shuffle(names)
open(sys.argv[2], "w").write("".join(n + "\n" for n in names))
PY
n=$(wc -l <"$W/names.txt")
echo "# written-pass $(date -u +%FT%TZ): $(wc -l <"$NEW") records ($n names) posted after the start onto a copy of $STORE, then one verified pass over them; node on core $SERVER_CPU, generator on core $GEN_CPU; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# A = $A, B = $B"
# the HTTP write limiter off, as for the queries (every record must be acknowledged)
export DMP_HTTP_RATE=0 DMP_HTTP_BURST=0
cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
for r in $(seq 1 "$RUNS"); do
    for label in A B; do
        bin=$A; [[ $label == B ]] && bin=$B
        d="$W/run"; rm -rf "$d" "$W/store"; mkdir -p "$d"
        cp -a "$STORE" "$W/store"
        # the probe is one of the new names: answered NXDOMAIN until posted, so wait on the SOA
        store_node_start "$bin" "$W/store" "$d" "mesh.test" 2>"$d/walk"
        http=$(sed -E 's/.*http=([0-9.]+:[0-9]+).*/\1/' "$d/ports")
        taskset -c "$GEN_CPU" "$BENCH" load --port "${http##*:}" --file "$NEW" --conns 16 --batch 16 \
            --quiet >"$d/load" 2>&1 || { echo "load failed:" >&2; cat "$d/load" >&2; exit 1; }
        sleep 1
        k0=$(cpu_ticks "$pid")
        taskset -c "$GEN_CPU" "$BENCH" dns --target "127.0.0.1:$port" --records "$NEW" \
            --names "$W/names.txt" --max-queries "$n" --duration 120 2>&1 | grep -v "answered/s" >"$d/pass"
        k1=$(cpu_ticks "$pid")
        m=$(curl -s "http://$http/metrics" | grep -E '^dmp_name_index_(reads_total|written_names)' | tr '\n' ' ' || true)
        kill -TERM "$pid"; wait "$pid" || true; pid=
        python3 - "$d/pass" "$label" "$r" "$k0" "$k1" "$(getconf CLK_TCK)" "$(cut -d' ' -f1 /proc/loadavg)" "$m" "$d/load" <<'PY'
import re, sys
f, label, r, k0, k1, hz, la, m, lf = sys.argv[1:10]
d = open(f).read()
right = int(re.search(r"checked: right (\d+)", d).group(1))
wrong = int(re.search(r"wrong (\d+)", d).group(1))
ans = int(re.search(r"answered (\d+)", d).group(1))
lost = int(re.search(r"lost (\d+)", d).group(1))
qps = float(re.search(r"qps (\d+)", d).group(1))
acked = re.search(r"(\d+) records? acknowledged|acknowledged (\d+)", open(lf).read())
cpu = (int(k1) - int(k0)) / int(hz)
hit = re.search(r'result="hit"} (\d+)', m)
fb = re.search(r'result="fallback"} (\d+)', m)
wn = re.search(r"written_names (\d+)", m)
print("%s run %s answered %7d right %7d wrong %d lost %d qps %7.0f cpu/answer %6.2f us  index hit %s fallback %s written_names %s  load %s"
      % (label, r, ans, right, wrong, lost, qps, 1e6 * cpu / ans if ans else 0,
         hit.group(1) if hit else "-", fb.group(1) if fb else "-", wn.group(1) if wn else "-", la))
PY
        grep -E "acknowledged|status" "$d/load" | head -2 | sed 's/^/#   load: /'
    done
done >"$W/runs.txt" # not piped: the loop must run in this shell, whose trap stops $pid
cat "$W/runs.txt"
python3 - "$W/runs.txt" <<'PY'
import re, statistics, sys
rows = {}
for l in open(sys.argv[1]):
    m = re.match(r"(\w) run \d+ answered +(\d+) right +(\d+) wrong (\d+) lost (\d+) qps +([\d.]+) cpu/answer +([\d.]+)", l)
    if m:
        rows.setdefault(m.group(1), []).append([float(x) for x in m.groups()[1:]])
med = {k: [statistics.median(c) for c in zip(*v)] for k, v in rows.items()}
for k in sorted(med):
    print("%s median answered %7.0f right %7.0f wrong %.0f lost %.0f qps %7.0f cpu/answer %6.2f us" % (k, *med[k]))
if "A" in med and "B" in med:
    print("B / A: cpu/answer %.2f, qps %.2f" % (med["B"][5] / med["A"][5], med["B"][4] / med["A"][4]))
PY
