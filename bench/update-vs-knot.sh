#!/usr/bin/env bash
# update-vs-knot.sh: TSIG-signed (hmac-sha256) RFC 2136 UPDATE throughput and latency of
# dnsmeshd and Knot DNS in the same run, with the same load generator (`dnsmesh-bench update`:
# --conc clients, one UPDATE in flight each, every UPDATE adds one new TXT record) and one
# closed-loop query thread measuring queries/s during the update load. dnsmeshd acknowledges
# an UPDATE once its WAL sync is done (group commit); Knot once the change is in its zone and
# its journal (journal-content: changes; LMDB commit). Servers are started here on loopback
# ports in a temp dir, pinned to CPU 0, the generator to CPU 1; while one server is measured the
# other is frozen (SIGSTOP). Only PIDs started here are signalled.
#
#   bench/update-vs-knot.sh [--build DIR] [--runs R] [--duration S] [--conc C] [--workers W]
#                           [--out FILE]
# --workers: dnsmeshd's DMP_UPDATE_WORKERS (UPDATEs in flight at once; default 8 here, as its
# saved results were measured; the node's own default is 32).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB_NAME=update-vs-knot
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
BUILD=build
RUNS=3
DURATION=5
CONC=16
WORKERS=8
OUT=""
while [[ $# -gt 0 ]]; do
    case "$1" in
    --build | --runs | --duration | --conc | --workers | --out)
        [[ $# -ge 2 ]] || die "$1 needs a value" ;;&
    --build) BUILD=$2; shift 2 ;;
    --runs) int_arg "$1" "$2" 1 20; RUNS=$((10#$2)); shift 2 ;;
    --duration) int_arg "$1" "$2" 1 60; DURATION=$((10#$2)); shift 2 ;;
    --conc) int_arg "$1" "$2" 1 256; CONC=$((10#$2)); shift 2 ;;
    --workers) int_arg "$1" "$2" 1 64; WORKERS=$((10#$2)); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
BENCH="$BUILD/dnsmesh-bench"
NODE="$BUILD/src/node/dnsmeshd"
ADMIN="$BUILD/tools/dnsmesh-admin/dnsmesh-admin"
for b in "$BENCH" "$NODE" "$ADMIN"; do [[ -x $b ]] || die "missing $b (build first)"; done
command -v knotd >/dev/null || die "knotd not installed (scripts/install-deps.sh --bench)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dmp-updbench-XXXXXX")
declare -A PID PORT
trap lib_stop_all EXIT

wait_soa() { # PORT
    for _ in $(seq 1 120); do
        dig +time=1 +tries=1 -p "$1" @127.0.0.1 mesh.test SOA 2>/dev/null | grep -q 'status: NOERROR' && return 0
        sleep 0.25
    done
    echo "update-vs-knot: no server on port $1" >&2
    return 1
}

SECRET=$(head -c 32 /dev/urandom | base64 -w0)
KEY="hmac-sha256:bench.mesh.test:$SECRET"

# dnsmeshd: one frontend, one name-owning shard (the UPDATE workers block on the WAL sync)
mkdir -p "$WORK/node"
"$ADMIN" tsig add bench.mesh.test --scope mesh.test --secret-b64 "$SECRET" --db "$WORK/node/db" >/dev/null
PORT[node]=$(free_port 25353)
env DMP_DNS_UPDATE_ENABLED=1 DMP_SERVED_ZONE=mesh.test DMP_DNS_APEX_NS=ns1.mesh.test \
    DMP_DNS_APEX_SOA_RNAME=hostmaster.mesh.test DMP_DB_PATH="$WORK/node/db" \
    DMP_DNS_HOST=127.0.0.1 DMP_DNS_PORT="${PORT[node]}" DMP_HTTP_HOST=127.0.0.1 DMP_HTTP_PORT=0 \
    DMP_DNS_RATE=0 DMP_DNS_BURST=0 DMP_RRL_RATE=0 DMP_FRONTENDS=1 DMP_SHARDS=1 \
    DMP_UPDATE_WORKERS="$WORKERS" \
    taskset -c 0 "$NODE" >"$WORK/node/log" 2>&1 &
PID[node]=$!
PIDS+=("${PID[node]}")

# Knot: the same zone, an update ACL for the same key, changes journaled
mkdir -p "$WORK/knot"
PORT[knot]=$(free_port 35353)
cat >"$WORK/knot/mesh.test.zone" <<ZONE
\$ORIGIN mesh.test.
\$TTL 60
@ IN SOA ns1.mesh.test. hostmaster.mesh.test. 1 3600 600 604800 60
@ IN NS ns1.mesh.test.
ns1 IN A 127.0.0.1
ZONE
{
    knot_server_conf "$WORK/knot" "${PORT[knot]}" warning
    knot_update_conf "$WORK/knot" "$SECRET" "$WORK/knot/mesh.test.zone"
} >"$WORK/knot/knot.conf"
taskset -c 0 knotd -c "$WORK/knot/knot.conf" >"$WORK/knot/stdout.log" 2>&1 &
PID[knot]=$!
PIDS+=("${PID[knot]}")
wait_soa "${PORT[node]}"
wait_soa "${PORT[knot]}"

run() { # server -> one JSON line
    local s=$1 other
    other=$([[ $s == node ]] && echo knot || echo node)
    kill -STOP "${PID[$other]}"
    taskset -c 1 "$BENCH" update --port "${PORT[$s]}" --zone mesh.test --key "$KEY" \
        --duration "$DURATION" --conc "$CONC" --query-threads 1 --qname mesh.test --json
    kill -CONT "${PID[$other]}"
}

{
    echo "# update-vs-knot: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# command: bench/update-vs-knot.sh --build $BUILD --runs $RUNS --duration $DURATION --conc $CONC --workers $WORKERS"
    echo "# knotd: $(knotd --version 2>&1 | head -1); dnsmeshd: $("$NODE" --version)"
} | tee "$WORK/results.txt"
for ((r = 1; r <= RUNS; r++)); do
    for s in node knot; do
        line=$(run "$s")
        echo "$s run $r: $line" | tee -a "$WORK/results.txt"
    done
done
python3 - "$WORK/results.txt" <<'PY' | tee -a "$WORK/results.txt"
import json, statistics, sys
rows = {"node": [], "knot": []}
for l in open(sys.argv[1]):
    if " run " in l and ": {" in l:
        s = l.split()[0]
        rows[s].append(json.loads(l.split(": ", 1)[1]))
def med(s, k):
    return statistics.median(r[k] for r in rows[s])
for s, name in (("node", "dnsmeshd"), ("knot", "Knot")):
    print(f"{name:9s} median {med(s,'updates_per_s'):9.1f} acked updates/s  p50 {med(s,'p50_us')/1000:7.2f} ms"
          f"  p99 {med(s,'p99_us')/1000:7.2f} ms  queries during updates {med(s,'queries_per_s'):9.1f}/s"
          f"  (non-NOERROR {sum(r['refused_or_other'] for r in rows[s])}, timeouts {sum(r['timeouts'] for r in rows[s])})")
k = med("knot", "updates_per_s")
print(f"ratio dnsmeshd/Knot acked updates/s: {med('node','updates_per_s')/k:.2f}" if k else "Knot acked nothing")
PY
if [[ -n $OUT ]]; then
    mkdir -p "$(dirname "$OUT")"
    cp "$WORK/results.txt" "$OUT"
fi
