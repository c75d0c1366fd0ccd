#!/usr/bin/env bash
# negcache-flood.sh: how much of a hot set of names stays in dnsmeshd's answer cache while a
# flood of random names that do not exist (NXDOMAIN) goes through it (issue 11). Starts a node
# on loopback (one frontend, one shard, limits and RRL off, a small answer cache), loads HOT
# records, warms the cache with one pass over them, then dnsperf sends ROUNDS passes over the
# hot names, each hot query followed by FLOOD queries for names never asked before. The hot set's
# hit ratio = (cache hits during the flood) / (hot queries), from the node's /metrics.
#
#   bench/negcache-flood.sh [--build DIR] [--hot N] [--flood K] [--rounds R] [--cache-mb M]
#                           [--rate Q]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ARGS="$*"
BUILD=build HOT=1500 FLOOD=9 ROUNDS=3 CACHE_MB=1 RATE=20000
while [[ $# -gt 0 ]]; do
    case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --hot) HOT="$2"; shift 2 ;;
    --flood) FLOOD="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --cache-mb) CACHE_MB="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "negcache-flood: unknown option $1" >&2; exit 2 ;;
    esac
done
for v in HOT FLOOD ROUNDS CACHE_MB RATE; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "negcache-flood: --${v,,} needs an integer" >&2; exit 2; }
done
((HOT >= 10 && HOT <= 100000 && FLOOD <= 100 && ROUNDS >= 1 && ROUNDS <= 20 && RATE >= 100)) ||
    { echo "negcache-flood: hot 10..100000, flood <= 100, rounds 1..20, rate >= 100" >&2; exit 2; }
command -v dnsperf >/dev/null || { echo "negcache-flood: dnsperf not found" >&2; exit 2; }
DNSMESHD="$BUILD/src/node/dnsmeshd"
[[ -x "$DNSMESHD" ]] || DNSMESHD="$BUILD/dnsmeshd"
BENCH="$BUILD/dnsmesh-bench"
WORK="$(mktemp -d /tmp/dnsmesh-ncf.XXXXXX)"
NODE_PID=""
cleanup() {
    [[ -n "$NODE_PID" ]] && { kill "$NODE_PID" 2>/dev/null || true; wait "$NODE_PID" 2>/dev/null || true; }
    rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
HPORT=$(free_port)
env DMP_DNS_HOST=127.0.0.1 DMP_DNS_PORT="$PORT" DMP_HTTP_HOST=127.0.0.1 DMP_HTTP_PORT="$HPORT" \
    DMP_DB_PATH="$WORK/db" DMP_PORTS_FILE="$WORK/ports" DMP_DNS_RATE=0 DMP_DNS_BURST=0 \
    DMP_HTTP_RATE=0 DMP_HTTP_BURST=0 DMP_RRL_RATE=0 DMP_FRONTENDS=1 DMP_SHARDS=1 \
    DMP_CACHE_MB="$CACHE_MB" DMP_SERVED_ZONE=mesh.test DMP_DNS_APEX_NS=ns1.mesh.test \
    DMP_DNS_APEX_SOA_RNAME=hostmaster.mesh.test DMP_LOG_LEVEL=warning \
    "$DNSMESHD" >>"$WORK/node.log" 2>&1 &
NODE_PID=$!
for ((i = 0; i < 600; i++)); do
    [[ -s "$WORK/ports" ]] && break
    kill -0 "$NODE_PID" 2>/dev/null || break
    sleep 0.1
done
[[ -s "$WORK/ports" ]] || { tail "$WORK/node.log" >&2; echo "negcache-flood: node did not start" >&2; exit 1; }
python3 "$HERE/gen_records.py" --count "$HOT" --out-dir "$WORK/recs" --formats names,jsonl >/dev/null
"$BENCH" load --port "$HPORT" --file "$WORK/recs/records.jsonl" --conns 16 --quiet >/dev/null || true
python3 - "$WORK/recs/names.txt" "$WORK" "$FLOOD" "$ROUNDS" <<'PY'
import random, sys
names = [l.strip() for l in open(sys.argv[1]) if l.strip()]
work, flood, rounds = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(11)
open(work + "/warm.txt", "w").write("".join(n + " TXT\n" for n in names))
q, k = [], 0
for _ in range(rounds):
    hot = names[:]
    rnd.shuffle(hot)
    for n in hot:
        q.append(n + " TXT")
        for _ in range(flood):
            q.append("nx-%x-%d.mesh.test TXT" % (rnd.getrandbits(48), k))
            k += 1
open(work + "/flood.txt", "w").write("\n".join(q) + "\n")
PY
metrics() { curl -s "http://127.0.0.1:$HPORT/metrics" | grep '^dmp_cache_lookups_total'; }
dnsperf -s 127.0.0.1 -p "$PORT" -d "$WORK/warm.txt" -n 1 -Q "$RATE" -c 4 >/dev/null 2>&1 || true
metrics >"$WORK/m0"
dnsperf -s 127.0.0.1 -p "$PORT" -d "$WORK/flood.txt" -n 1 -Q "$RATE" -c 4 >"$WORK/dnsperf.txt" 2>&1 || true
metrics >"$WORK/m1"
python3 - "$WORK/m0" "$WORK/m1" "$WORK/dnsperf.txt" "$HOT" "$FLOOD" "$ROUNDS" "$CACHE_MB" "$BUILD" "$0 $ARGS" <<'PY'
import re, sys
def load(p):
    return {m.group(1): int(m.group(2)) for m in re.finditer(r'result="(\w+)"\} (\d+)', open(p).read())}
m0, m1 = load(sys.argv[1]), load(sys.argv[2])
d = {k: m1.get(k, 0) - m0.get(k, 0) for k in m1}
hot, flood, rounds = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
hq = hot * rounds
dp = open(sys.argv[3]).read()
done = re.search(r"Queries completed:\s+(\d+)", dp)
lost = re.search(r"Queries lost:\s+(\d+)", dp)
print("negcache-flood: build %s, %d hot names x %d rounds, %d new names per hot query, cache %s MiB: "
      "hot-set hit ratio %.3f (hits %d of %d hot queries; negative hits %d, misses %d; dnsperf "
      "completed %s lost %s)" % (sys.argv[8], hot, rounds, flood, sys.argv[7],
                                 d.get("hit", 0) / hq, d.get("hit", 0), hq, d.get("negative_hit", 0),
                                 d.get("miss", 0), done.group(1) if done else "?",
                                 lost.group(1) if lost else "?"))
PY
