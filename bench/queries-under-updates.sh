#!/usr/bin/env bash
# queries-under-updates.sh: the query throughput of dnsmeshd and of Knot DNS at saturation, alone
# and while TSIG-signed RFC 2136 UPDATEs arrive at a fixed rate, in the same run: the drop each
# server takes from the same writes over the same protocol. Both serve the same N records
# (bench/gen_records.py: Knot from its zone file, dnsmeshd from a store bulk-loaded with
# `dnsmesh-admin load`), each on CPU 0 (one UDP worker / one frontend and one shard, limiters and
# RRL off); the query generator (`dnsmesh-bench dns`, every answer checked) and the UPDATE
# generator (`dnsmesh-bench update --rate`, each UPDATE adding a new TXT name) share CPU 1. Each
# pair is a baseline run, then a run under updates; the other server is frozen (SIGSTOP).
# dnsmeshd acknowledges an UPDATE after the group-commit WAL fsync that holds it; Knot after its
# zone update and journal commit (journal-content: changes, LMDB), as in update-vs-knot.sh.
#
#   bench/queries-under-updates.sh [--build DIR] [--records N] [--runs R] [--duration S]
#                                  [--rate U] [--conc C] [--workers W] [--out FILE]
# --rate: UPDATEs/s offered (default 2000); --conc: UPDATE threads (default 128: enough in
# flight for the rate at ~60 ms of latency); --workers: dnsmeshd's DMP_UPDATE_WORKERS (default
# 32, the node's). Loopback only; every run is bounded by --duration; only PIDs started here are
# signalled.
set -euo pipefail
LIB_NAME=queries-under-updates
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$root/build RECORDS=100000 RUNS=3 DURATION=5 RATE=2000 CONC=128 WORKERS=32 OUT=""
while [[ $# -gt 0 ]]; do
    case $1 in
    --build) [[ $# -ge 2 ]] || die "--build needs a value"; BUILD=$2; shift 2 ;;
    --records) [[ $# -ge 2 ]] || die "--records needs a value"; int_arg "$1" "$2" 1000 1000000; RECORDS=$((10#$2)); shift 2 ;;
    --runs) [[ $# -ge 2 ]] || die "--runs needs a value"; int_arg "$1" "$2" 1 10; RUNS=$((10#$2)); shift 2 ;;
    --duration) [[ $# -ge 2 ]] || die "--duration needs a value"; int_arg "$1" "$2" 1 60; DURATION=$((10#$2)); shift 2 ;;
    --rate) [[ $# -ge 2 ]] || die "--rate needs a value"; int_arg "$1" "$2" 1 50000; RATE=$((10#$2)); shift 2 ;;
    --conc) [[ $# -ge 2 ]] || die "--conc needs a value"; int_arg "$1" "$2" 1 256; CONC=$((10#$2)); shift 2 ;;
    --workers) [[ $# -ge 2 ]] || die "--workers needs a value"; int_arg "$1" "$2" 1 64; WORKERS=$((10#$2)); shift 2 ;;
    --out) [[ $# -ge 2 ]] || die "--out needs a value"; OUT=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (--help)" ;;
    esac
done
BENCH="$BUILD/dnsmesh-bench"
NODE="$BUILD/src/node/dnsmeshd"
ADMIN="$BUILD/tools/dnsmesh-admin/dnsmesh-admin"
for b in "$BENCH" "$NODE" "$ADMIN"; do [[ -x $b ]] || die "missing $b (build first)"; done
for t in knotd dig python3 taskset ss; do command -v "$t" >/dev/null || die "$t is missing (scripts/install-deps.sh --bench)"; done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dmp-qunderupd-XXXXXX")
declare -A PID PORT
trap lib_stop_all EXIT
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }

python3 "$root/bench/gen_records.py" --count "$RECORDS" --ttl 86400 --out-dir "$WORK/recs" >/dev/null
RECS=$WORK/recs/records.jsonl
QUERIES=$WORK/queries.txt
"$BENCH" dns --records "$RECS" --write-queries "$QUERIES" --queries $((RECORDS * 2)) 2>/dev/null ||
    die "could not write the query file"
SECRET=$(head -c 32 /dev/urandom | base64 -w0)
KEY="hmac-sha256:bench.mesh.test:$SECRET"

# dnsmeshd: the records bulk-loaded, the key, UPDATE on
mkdir -p "$WORK/node"
"$ADMIN" --db "$WORK/node/db" load "$RECS" --format jsonl >"$WORK/node/load.log" 2>&1 ||
    die "dnsmesh-admin load failed: $(tail -3 "$WORK/node/load.log")"
"$ADMIN" tsig add bench.mesh.test --scope mesh.test --secret-b64 "$SECRET" --db "$WORK/node/db" >/dev/null
PORT[node]=$(free_port 25353)
env DMP_DNS_UPDATE_ENABLED=1 DMP_SERVED_ZONE=mesh.test DMP_DNS_APEX_NS=ns1.mesh.test \
    DMP_DNS_APEX_SOA_RNAME=hostmaster.mesh.test DMP_DB_PATH="$WORK/node/db" \
    DMP_DNS_HOST=127.0.0.1 DMP_DNS_PORT="${PORT[node]}" DMP_HTTP_HOST=127.0.0.1 DMP_HTTP_PORT=0 \
    DMP_PORTS_FILE="$WORK/node/ports" DMP_DNS_RATE=0 DMP_DNS_BURST=0 DMP_RRL_RATE=0 \
    DMP_FRONTENDS=1 DMP_SHARDS=1 DMP_UPDATE_WORKERS="$WORKERS" \
    taskset -c 0 "$NODE" >"$WORK/node/log" 2>&1 &
PID[node]=$!
PIDS+=("${PID[node]}")

# Knot: the same records as a zone, an update ACL for the same key, changes journaled
mkdir -p "$WORK/knot"
PORT[knot]=$(free_port 35353)
{
    knot_server_conf "$WORK/knot" "${PORT[knot]}" warning
    knot_update_conf "$WORK/knot" "$SECRET" "$WORK/recs/mesh.test.zone"
} >"$WORK/knot/knot.conf"
taskset -c 0 knotd -c "$WORK/knot/knot.conf" >"$WORK/knot/stdout.log" 2>&1 &
PID[knot]=$!
PIDS+=("${PID[knot]}")

probe=$(head -1 "$WORK/recs/names.txt" | cut -d' ' -f1)
for s in node knot; do
    ok=0
    for _ in $(seq 1 600); do
        if [[ -n $(dig +short +tries=1 +time=1 -p "${PORT[$s]}" @127.0.0.1 "$probe" TXT 2>/dev/null) ]]; then
            ok=1
            break
        fi
        sleep 0.1
    done
    [[ $ok -eq 1 ]] || die "$s does not answer $probe (logs in $WORK)"
done
# the node's name index walks the store in the background at start: let it end, as Knot's zone
# load is not measured either
for _ in $(seq 1 100); do [[ -s $WORK/node/ports ]] && break; sleep 0.05; done
http=$(sed -E 's/.*http=([0-9.]+:[0-9]+).*/\1/' "$WORK/node/ports")
for _ in $(seq 1 600); do
    curl -s "http://$http/metrics" | grep -q '^dmp_name_index_ready 1' && break
    sleep 0.1
done

freeze_other() { # SERVER: freeze the other one, thaw this one
    local o
    for o in node knot; do
        if [[ $o == "$1" ]]; then kill -CONT "${PID[$o]}"; else kill -STOP "${PID[$o]}"; fi
    done
}
run_dns() { # SERVER OUTFILE SECONDS
    local c0 c1
    c0=$(cpu_ticks "${PID[$1]}")
    taskset -c 1 "$BENCH" dns --port "${PORT[$1]}" --names "$QUERIES" --records "$RECS" \
        --duration "$3" --cpu 1 --sockets 4 --batch 32 --window 512 --json --quiet \
        --show-wrong 0 >"$2" || true
    c1=$(cpu_ticks "${PID[$1]}")
    echo "$(((c1 - c0) * 1000 / CLK_TCK))" >"$2.cpu_ms"
}

{
    echo "# queries-under-updates: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# command: bench/queries-under-updates.sh --build $BUILD --records $RECORDS --runs $RUNS --duration $DURATION --rate $RATE --conc $CONC --workers $WORKERS"
    echo "# knotd: $(knotd --version 2>&1 | head -1); dnsmeshd: $("$NODE" --version 2>&1 | head -1) (DMP_UPDATE_WORKERS=$WORKERS)"
    echo "# $RECORDS records (gen_records.py), queries: existing names, TC, empty non-terminals, NXDOMAIN (dnsmesh-bench dns --write-queries); UPDATEs: $RATE/s, $CONC threads, each adding a new TXT name"
} | tee "$WORK/results.txt"
for s in node knot; do
    freeze_other "$s"
    run_dns "$s" "$WORK/warm-$s.json" 1
done
for ((r = 1; r <= RUNS; r++)); do
    for s in node knot; do
        freeze_other "$s"
        run_dns "$s" "$WORK/base-$s-$r.json" "$DURATION"
        taskset -c 1 "$BENCH" update --port "${PORT[$s]}" --zone mesh.test --key "$KEY" \
            --rate "$RATE" --conc "$CONC" --duration $((DURATION + 2)) --json \
            >"$WORK/upd-$s-$r.json" 2>"$WORK/upd-$s-$r.err" &
        upid=$!
        sleep 1
        run_dns "$s" "$WORK/load-$s-$r.json" "$DURATION"
        wait "$upid" || true
    done
done
for s in node knot; do kill -CONT "${PID[$s]}"; done
python3 - "$WORK" "$RUNS" "$RATE" "$DURATION" <<'PY' | tee -a "$WORK/results.txt"
import json, statistics, sys
work, runs, rate, dur = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
def get(p):
    try:
        return json.load(open(p))
    except Exception:
        return None
def cpu(p):
    try:
        return int(open(p + ".cpu_ms").read()) / 1000.0
    except Exception:
        return float("nan")
for s, name in (("node", "dnsmeshd"), ("knot", "Knot")):
    drops = []
    for r in range(1, runs + 1):
        b, l, u = (get("%s/%s-%s-%d.json" % (work, k, s, r)) for k in ("base", "load", "upd"))
        if not b or not l or not u:
            print("%s pair %d: missing output" % (name, r))
            continue
        d = 100.0 * (1 - l["qps"] / b["qps"]) if b["qps"] else float("nan")
        drops.append(d)
        print("%-8s pair %d: baseline %7.0f q/s (%.2f s CPU), under updates %7.0f q/s (%.2f s CPU), "
              "drop %5.1f%%; wrong %d / %d; updates %.0f/s acked (%d late, %d other rcode, %d timeouts), "
              "p50 %.1f ms p99 %.1f ms"
              % (name, r, b["qps"], cpu("%s/base-%s-%d.json" % (work, s, r)), l["qps"],
                 cpu("%s/load-%s-%d.json" % (work, s, r)), d, b.get("wrong", 0), l.get("wrong", 0),
                 u["updates_per_s"], u.get("late", 0), u["refused_or_other"], u["timeouts"],
                 u["p50_us"] / 1000, u["p99_us"] / 1000))
    if drops:
        print("%-8s median drop %.1f%% over %d pairs (%s)"
              % (name, statistics.median(drops), len(drops), ", ".join("%.1f" % d for d in drops)))
PY
if [[ -n $OUT ]]; then
    mkdir -p "$(dirname "$OUT")"
    cp "$WORK/results.txt" "$OUT"
fi
