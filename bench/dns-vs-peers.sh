#!/usr/bin/env bash
# dns-vs-peers.sh: dnsmeshd against NSD and Knot on the same records, same load generator, in
# one run, with our generator (every answer checked) and with dnsperf (Debian, a client we did not
# write) at fixed offered loads, drawing CPU per query and p50/p99 latency against offered load as
# SVG (gnuplot); plus dnsmeshd's query throughput under a 2,000 writes/s HTTP load and its RSS
# with 1,000,000 records. Loopback only; every server is started here on its own port and temp dir
# and stopped by the PID this script got when it started it. While one server is measured the
# others are frozen with SIGSTOP (and thawed with SIGCONT) so they cannot take CPU from it.
#
#   bench/dns-vs-peers.sh [--build DIR] [--records N] [--runs R] [--duration S] [--no-writes]
#                         [--write-rate W] [--write-conns N] [--write-batch K]
#                         [--write-names K] [--only LIST]
#                         [--rss] [--rss-records N] [--keep] [--rates LIST] [--no-dnsperf]
#                         [--one-pass] [--out DIR]
#
# See bench/README.md for what it prints and the figures measured on the build box.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB_NAME=dns-vs-peers
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
BUILD="build"
RECORDS=100000
RUNS=5
DURATION=5
WRITES=1
WRITE_RATE=2000
# writer connections: with 16, ~8 ms of write latency under query saturation already made the
# writer late (the node allows 64 per address here, DMP_HTTP_MAX_PER_IP)
WRITE_CONNS=64
# records per HTTP request of the writer: 1 = POST /v1/records/{name} per record; K > 1 = the
# batch publish POST /v1/records with K records (a DMP message's chunks and manifest are ~5-12)
WRITE_BATCH=1
# queried: the writes re-publish the served records (names being queried, so each write
# invalidates a cached answer; the answers stay right for the checking generator); new: fresh
# chunk names nobody queries (dnsmesh-bench writes)
WRITE_NAMES=queried
ONLY="dnsmeshd,nsd,knot"
RSS=0
RSS_RECORDS=1000000
KEEP=0
TCP=0
RATES="10000,20000,50000,0"
DNSPERF=1
ONE_PASS=0
OUT=""
PERF_OUT=""
PLOT=""
SERVER_CPU=0
GEN_CPU=1

usage() {
    cat <<EOF
usage: $0 [options]

Runs \`dnsmesh-bench dns\` against dnsmeshd, NSD and Knot serving the same generated DMP
records (servers pinned to CPU $SERVER_CPU with one worker each, the generator to CPU $GEN_CPU),
interleaving the servers run by run, and prints median QPS, p50/p99 latency and the ratios
dnsmeshd/NSD and dnsmeshd/Knot. Then (dnsmeshd only) query QPS while records are written over
HTTP at --write-rate per second (by default re-publishing the served records), the drop in %,
and how many writes went out late.

  --build DIR        build directory holding dnsmesh-bench and dnsmeshd (default build)
  --records N        records to serve (default 100000, 1000..2000000)
  --runs R           measured runs per server (default 5, 1..50)
  --duration S       seconds per run (default 5, 1..60)
  --only LIST        comma list of dnsmeshd,nsd,knot (default all three)
  --no-writes        skip the queries-under-writes benchmark
  --perf FILE        \`perf record -g\` dnsmeshd during the first run under writes (root; then
                     \`perf report -i FILE --sort comm,sym\`)
  --tcp              also compare the servers over TCP (4 pipelining connections)
  --write-rate W     writes/s for that benchmark (default 2000, 1..50000)
  --write-conns N    the writer's connections (default 64, 1..64: the node's per-address cap)
  --write-batch K    records per write request (default 1: POST /v1/records/{name} per
                     record; 2..64: the batch publish POST /v1/records, K records a request,
                     as a client publishing a whole message would); --write-rate stays records/s
  --write-names K    queried (default): the writes re-publish the served records, so they
                     touch names being queried and invalidate their cached answers; new:
                     fresh chunk names (\`dnsmesh-bench writes\`) that no query asks for
  --rss              instead of the above: load --rss-records records into a fresh dnsmeshd
                     and compare its VmRSS with the goal 2 x raw bytes + 64 MiB
  --rss-records N    records for --rss (default 1000000, 1000..5000000)
  --rates LIST       offered loads (queries/s) for the fixed-rate comparison, 0 = as fast as
                     the client can (default 10000,20000,50000,0); each is run with dnsperf
                     (server CPU per answer) and with our generator (p50/p99, checked answers)
  --no-dnsperf       skip the fixed-rate comparison
  --one-pass         instead of the comparisons above: dnsperf makes exactly one pass over every
                     record name in a shuffled order (no warm-up, no missing names, unlimited
                     rate), as DMP traffic fetches each chunk about once, so almost every
                     dnsmeshd answer is a cache miss (dnsmeshd is restarted before each run: its
                     answer cache starts empty); prints answered q/s, server CPU per answer and
                     memory (RSS of the largest process, PSS of the process tree) per server,
                     medians of --runs interleaved runs. Use with --records 1000000.
  --out DIR          save the outputs there: results.tsv, the SVG curves, the build flags
                     (default: none; the README's figures used bench/results/dns-vs-peers-DATE)
  --plot DIR         only redraw DIR's SVG curves from its results.tsv (a saved run)
  --keep             keep the temp directory (zone files, configs, logs, JSON results)

Every server runs with its limiters off: dnsmeshd DMP_DNS_RATE=0 DMP_DNS_BURST=0
DMP_RRL_RATE=0, NSD rrl-ratelimit: 0, Knot without mod-rrl. The queries are one file in
dnsperf's format (\`dnsmesh-bench dns --write-queries\`: existing names, names whose answer
needs TCP, empty non-terminals and missing names), used by both clients.
EOF
}

ARGS="$*"
while [[ $# -gt 0 ]]; do
    case "$1" in
    --build) [[ $# -ge 2 ]] || die "--build needs a value"; BUILD="$2"; shift 2 ;;
    --records) [[ $# -ge 2 ]] || die "--records needs a value"; int_arg "$1" "$2" 1000 2000000; RECORDS=$((10#$2)); shift 2 ;;
    --runs) [[ $# -ge 2 ]] || die "--runs needs a value"; int_arg "$1" "$2" 1 50; RUNS=$((10#$2)); shift 2 ;;
    --duration) [[ $# -ge 2 ]] || die "--duration needs a value"; int_arg "$1" "$2" 1 60; DURATION=$((10#$2)); shift 2 ;;
    --write-rate) [[ $# -ge 2 ]] || die "--write-rate needs a value"; int_arg "$1" "$2" 1 50000; WRITE_RATE=$((10#$2)); shift 2 ;;
    --write-conns) [[ $# -ge 2 ]] || die "--write-conns needs a value"; int_arg "$1" "$2" 1 64; WRITE_CONNS=$((10#$2)); shift 2 ;;
    --write-batch) [[ $# -ge 2 ]] || die "--write-batch needs a value"; int_arg "$1" "$2" 1 64; WRITE_BATCH=$((10#$2)); shift 2 ;;
    --write-names) [[ $# -ge 2 && ( $2 == queried || $2 == new ) ]] || die "--write-names: queried or new"; WRITE_NAMES=$2; shift 2 ;;
    --only) [[ $# -ge 2 ]] || die "--only needs a value"; ONLY="$2"; shift 2 ;;
    --no-writes) WRITES=0; shift ;;
    --rss) RSS=1; shift ;;
    --rss-records) [[ $# -ge 2 ]] || die "--rss-records needs a value"; int_arg "$1" "$2" 1000 5000000; RSS_RECORDS=$((10#$2)); shift 2 ;;
    --keep) KEEP=1; shift ;;
    --tcp) TCP=1; shift ;;
    --rates) [[ $# -ge 2 ]] || die "--rates needs a value"; [[ "$2" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--rates: comma list of integers"; RATES="$2"; shift 2 ;;
    --no-dnsperf) DNSPERF=0; shift ;;
    --one-pass) ONE_PASS=1; shift ;;
    --out) [[ $# -ge 2 ]] || die "--out needs a value"; OUT="$2"; shift 2 ;;
    --perf) [[ $# -ge 2 ]] || die "--perf needs a value"; PERF_OUT="$2"; shift 2 ;;
    --plot) [[ $# -ge 2 ]] || die "--plot needs a value"; PLOT="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
# plot_curves DIR SERVER...: DIR/cpu-per-query.svg and DIR/latency.svg from DIR/results.tsv,
# one line (one colour) per server against the fixed offered loads.
plot_curves() {
    local dir=$1 s i=1 cpu="" lat=""
    shift
    for s in "$@"; do
        awk -v s="$s" -F'\t' '$1 == s && $2 > 0 {print $2 / 1000, $3, $8, $9}' "$dir/results.tsv" >"$dir/curve-$s.dat"
        cpu+="'$dir/curve-$s.dat' using 1:2 with linespoints lc $i lw 2 title '$s',"
        lat+="'$dir/curve-$s.dat' using 1:3 with linespoints lc $i lw 2 dt 1 title '$s p50', '$dir/curve-$s.dat' using 1:4 with linespoints lc $i lw 2 dt 2 title '$s p99',"
        i=$((i + 1))
    done
    gnuplot <<EOF
set terminal svg size 720,440 dynamic enhanced font 'sans,12' background rgb 'white'
set grid
set key outside right top
set xlabel 'offered load (thousand queries/s)'
set output '$dir/cpu-per-query.svg'
set title 'server CPU per answered query (dnsperf; each server on one core)'
set ylabel 'microseconds of CPU per answer'
set yrange [0:*]
plot ${cpu%,}
set output '$dir/latency.svg'
set title 'latency p50 (solid) and p99 (dashed), dnsmesh-bench dns, answers checked'
set ylabel 'microseconds (log scale)'
set logscale y
set yrange [*:*]
plot ${lat%,}
EOF
    rm -f "$dir"/curve-*.dat
}

if [[ -n "$PLOT" ]]; then
    [[ -s "$PLOT/results.tsv" ]] || die "no $PLOT/results.tsv"
    command -v gnuplot >/dev/null || die "gnuplot is missing (scripts/install-deps.sh --bench)"
    plot_curves "$PLOT" $(awk -F'\t' 'NR > 1 && !seen[$1]++ {print $1}' "$PLOT/results.tsv")
    echo "redrew $PLOT/cpu-per-query.svg and $PLOT/latency.svg"
    exit 0
fi

IFS=',' read -r -a SERVERS <<<"$ONLY"
for s in "${SERVERS[@]}"; do
    case "$s" in dnsmeshd | nsd | knot) ;; *) die "--only: unknown server '$s' (dnsmeshd, nsd, knot)" ;; esac
done
[[ "$(nproc)" -ge 2 ]] || die "needs at least 2 CPUs (server on $SERVER_CPU, generator on $GEN_CPU)"

BENCH="$BUILD/dnsmesh-bench"
[[ -x "$BENCH" ]] || die "$BENCH not found: build it (cmake --build $BUILD --target dnsmesh-bench)"
DNSMESHD=""
for c in "$BUILD/dnsmeshd" "$BUILD/src/node/dnsmeshd" "$BUILD/bin/dnsmeshd"; do
    if [[ -x "$c" ]]; then DNSMESHD="$c"; break; fi
done
for t in python3 taskset dig ss curl; do command -v "$t" >/dev/null || die "$t is missing"; done
if [[ $DNSPERF -eq 1 ]]; then
    command -v dnsperf >/dev/null || die "dnsperf is missing (scripts/install-deps.sh --bench), or give --no-dnsperf"
    command -v gnuplot >/dev/null || echo "dns-vs-peers: gnuplot is missing (scripts/install-deps.sh --bench): no SVG curves" >&2
fi
if [[ -n "$OUT" ]]; then mkdir -p "$OUT" || die "cannot create $OUT"; fi

WORK="$(mktemp -d /tmp/dnsmesh-bench.XXXXXX)"
trap lib_stop_all EXIT
trap 'exit 130' INT TERM

# wait_dns PORT NAME LABEL: until the server answers NAME (at most 120 s).
wait_dns() {
    local i
    for ((i = 0; i < 240; i++)); do
        if [[ -n "$(dig +short +time=1 +tries=1 -p "$1" @127.0.0.1 TXT "$2" 2>/dev/null | head -c 20)" ]]; then
            return 0
        fi
        sleep 0.5
    done
    echo "dns-vs-peers: $3 did not answer $2 on port $1 within 120 s" >&2
    return 1
}

# --- servers ------------------------------------------------------------------------------
declare -A PORT PID

start_nsd() {
    local d="$WORK/nsd"
    mkdir -p "$d"
    cp "$WORK/recs/mesh.test.zone" "$d/"
    PORT[nsd]=$(free_port 25353)
    cat >"$d/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@${PORT[nsd]}
  server-count: 1
  reuseport: yes
  username: ""
  chroot: ""
  zonesdir: "$d"
  database: ""
  pidfile: "$d/nsd.pid"
  xfrdfile: "$d/xfrd.state"
  zonelistfile: "$d/zone.list"
  logfile: "$d/nsd.log"
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
  minimal-responses: yes
  hide-version: yes
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: "mesh.test"
  zonefile: "mesh.test.zone"
EOF
    taskset -c "$SERVER_CPU" nsd -d -c "$d/nsd.conf" >"$d/stdout.log" 2>&1 &
    PID[nsd]=$!
    PIDS+=("${PID[nsd]}")
}

start_knot() {
    local d="$WORK/knot"
    mkdir -p "$d"
    cp "$WORK/recs/mesh.test.zone" "$d/"
    PORT[knot]=$(free_port 35353)
    # RRL is a module (mod-rrl) that is not loaded: no rate limiting.
    {
        knot_server_conf "$d" "${PORT[knot]}"
        knot_zone_conf "$d" "$d/mesh.test.zone"
    } >"$d/knot.conf"
    taskset -c "$SERVER_CPU" knotd -c "$d/knot.conf" >"$d/stdout.log" 2>&1 &
    PID[knot]=$!
    PIDS+=("${PID[knot]}")
}

# start_dnsmeshd DIR: one frontend, one shard, limits off, whole process on SERVER_CPU.
start_dnsmeshd() {
    local d=$1
    mkdir -p "$d"
    PORT[dnsmeshd]=$(free_port 15353)
    PORT[dnsmeshd_http]=$(free_port 18053)
    env DMP_DNS_HOST=127.0.0.1 DMP_DNS_PORT="${PORT[dnsmeshd]}" \
        DMP_HTTP_HOST=127.0.0.1 DMP_HTTP_PORT="${PORT[dnsmeshd_http]}" \
        DMP_DB_PATH="$d/db" DMP_PORTS_FILE="$d/ports" \
        DMP_DNS_RATE=0 DMP_DNS_BURST=0 DMP_RRL_RATE=0 DMP_HTTP_RATE=0 DMP_HTTP_BURST=0 \
        DMP_HTTP_MAX_PER_IP=64 \
        DMP_FRONTENDS=1 DMP_SHARDS=1 DMP_SERVED_ZONE=mesh.test \
        DMP_DNS_APEX_NS=ns1.mesh.test DMP_DNS_APEX_SOA_RNAME=hostmaster.mesh.test \
        DMP_LOG_LEVEL=warning \
        taskset -c "$SERVER_CPU" "$DNSMESHD" >"$d/stdout.log" 2>&1 &
    PID[dnsmeshd]=$!
    PIDS+=("${PID[dnsmeshd]}")
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -s "$d/ports" ]] && break
        kill -0 "${PID[dnsmeshd]}" 2>/dev/null || break
        sleep 0.1
    done
    if ! kill -0 "${PID[dnsmeshd]}" 2>/dev/null; then
        echo "dns-vs-peers: dnsmeshd exited at start; its log:" >&2
        tail -20 "$d/stdout.log" >&2
        return 1
    fi
}

# load_dnsmeshd JSONL: POST every record (16 connections); what did not get a 2xx (a busy shared
# box has given a few 408s and timeouts) is posted again, up to 3 passes; fails unless every
# record got a 2xx in the end.
load_dnsmeshd() {
    local in="$1" pass out
    for pass in 1 2 3; do
        out="$WORK/load-$(basename "$1")-$pass.json"
        taskset -c "$GEN_CPU" "$BENCH" load --port "${PORT[dnsmeshd_http]}" --file "$in" --conns 16 \
            --duration 1800 --failed "$out.failed" --json --quiet >"$out" || true
        python3 - "$out" "$pass" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
st = " ".join("%s=%d" % kv for kv in sorted(r.get("status", {}).items()) if not kv[0].startswith("2"))
print("  load pass %s: %d records in %.1f s (%.0f/s), 2xx %d, 4xx %d, 5xx %d, errors %d, timeouts %d%s"
      % (sys.argv[2], r["answered"], r["duration_s"], r["rate"], r["ok"], r["4xx"], r["5xx"],
         r["errors"], r["timeouts"], ("; not 2xx: " + st) if st else ""))
EOF
        [[ -s "$out.failed" ]] || return 0
        in="$out.failed"
    done
    echo "  $(wc -l <"$in") records still without a 2xx after 3 passes" >&2
    return 1
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --- RSS mode -----------------------------------------------------------------------------
if [[ $RSS -eq 1 ]]; then
    [[ -n "$DNSMESHD" ]] || die "dnsmeshd not found under $BUILD: cannot measure RSS"
    echo "== RSS of dnsmeshd with $RSS_RECORDS records"
    summary="$(python3 "$HERE/gen_records.py" --count "$RSS_RECORDS" --out-dir "$WORK/recs" --formats jsonl)"
    raw=$(awk '{for (i = 1; i < NF; i++) if ($i == "raw_bytes") print $(i + 1)}' <<<"$summary")
    echo "  generated: $summary"
    start_dnsmeshd "$WORK/node"
    rss0=$(rss_kib "${PID[dnsmeshd]}")
    load_dnsmeshd "$WORK/recs/records.jsonl" || echo "  WARNING: not every record was accepted"
    sleep 2
    rss1=$(rss_kib "${PID[dnsmeshd]}")
    python3 - "$raw" "$rss0" "$rss1" <<'EOF'
import sys
raw, rss0, rss1 = int(sys.argv[1]), int(sys.argv[2]) * 1024, int(sys.argv[3]) * 1024
goal = 2 * raw + 64 * 2**20
mib = lambda b: b / 2**20
print("  raw bytes (names + values) %.1f MiB" % mib(raw))
print("  VmRSS empty %.1f MiB, loaded %.1f MiB" % (mib(rss0), mib(rss1)))
print("  goal 2 x raw + 64 MiB = %.1f MiB; RSS / goal = %.2f; RSS / raw = %.2f  -> %s"
      % (mib(goal), rss1 / goal, rss1 / raw, "MET" if rss1 <= goal else "NOT MET"))
EOF
    du -sh "$WORK/node/db" 2>/dev/null | awk '{print "  on-disk store " $1}'
    exit 0
fi

# --- main comparison ----------------------------------------------------------------------
echo "== $(date -u +%FT%TZ) $(nproc) CPUs; servers on CPU $SERVER_CPU, generator on CPU $GEN_CPU"
summary="$(python3 "$HERE/gen_records.py" --count "$RECORDS" --out-dir "$WORK/recs")"
echo "  records: $summary"
echo "  command: $0 $ARGS"
echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs; the box may be shared)"
NAMES="$WORK/recs/names.txt"
PROBE="$(head -1 "$NAMES")"
RECS="$WORK/recs/records.jsonl"
QUERIES="$WORK/queries.txt"
# one query file for both clients: existing names, names whose answer needs TCP, empty
# non-terminals and missing names (--mix default of dnsmesh-bench dns)
"$BENCH" dns --records "$RECS" --write-queries "$QUERIES" --queries $((RECORDS * 2)) 2>/dev/null ||
    die "could not write the query file"
echo "  queries: $(wc -l <"$QUERIES") lines ($(grep -c '^nx-' "$QUERIES") for missing names)"
{
    echo "== builds"
    if command -v nsd >/dev/null; then nsd -v 2>&1 | sed -n '1p;/Configure line/p' | sed 's/^/  nsd -v: /'; fi
    if command -v knotd >/dev/null; then
        echo "  knotd -V: $(knotd -V 2>&1 | head -1)"
        echo "  knot package: $(dpkg-query -W -f='${Version}' knot 2>/dev/null || echo '?'); knotd links: $(ldd "$(command -v knotd)" | awk '{print $1}' | grep -v -e linux-vdso -e ld-linux | tr '\n' ' ')"
    fi
    if command -v dnsperf >/dev/null; then echo "  dnsperf: $(dnsperf -h 2>&1 | grep -m1 '^Version')"; fi
    echo "  dnsmeshd: $DNSMESHD, commit $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$HERE" diff --quiet -- . ':!results' 2>/dev/null || echo ' (with local changes)')"
} | tee ${OUT:+"$OUT/builds.txt"}

ACTIVE=()
for s in "${SERVERS[@]}"; do
    case "$s" in
    nsd)
        command -v nsd >/dev/null || { echo "  skipping NSD: nsd not installed"; continue; }
        start_nsd
        wait_dns "${PORT[nsd]}" "$PROBE" NSD && ACTIVE+=(nsd) ;;
    knot)
        command -v knotd >/dev/null || { echo "  skipping Knot: knotd not installed"; continue; }
        start_knot
        wait_dns "${PORT[knot]}" "$PROBE" Knot && ACTIVE+=(knot) ;;
    dnsmeshd)
        if [[ -z "$DNSMESHD" ]]; then
            echo "  skipping dnsmeshd: no dnsmeshd binary under $BUILD (build it: cmake --build $BUILD --target dnsmeshd)"
            continue
        fi
        if start_dnsmeshd "$WORK/node" && load_dnsmeshd "$WORK/recs/records.jsonl" &&
            wait_dns "${PORT[dnsmeshd]}" "$PROBE" dnsmeshd; then
            echo "  dnsmeshd VmRSS with $RECORDS records: $(($(rss_kib "${PID[dnsmeshd]}") / 1024)) MiB"
            ACTIVE+=(dnsmeshd)
        else
            echo "  dnsmeshd did not come up with the records; skipping it (log: $WORK/node/stdout.log)"
        fi ;;
    esac
done
[[ ${#ACTIVE[@]} -gt 0 ]] || die "no server to measure"
for s in "${ACTIVE[@]}"; do echo "  $s: pid ${PID[$s]}, 127.0.0.1:${PORT[$s]}"; done

# cpu_ticks PID: user + system clock ticks used so far by PID's process tree (all threads).
cpu_ticks() {
    local t=0 p v
    for p in $(tree_pids "$1"); do
        v=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null || echo 0)
        t=$((t + ${v:-0}))
    done
    echo "$t"
}
CLK_TCK=$(getconf CLK_TCK)

# thread_snap PID: one line per thread: name, context switches (voluntary + not), CPU ticks.
thread_snap() {
    local t
    for t in /proc/"$1"/task/*; do
        printf '%s %s %s\n' "$(tr ' ' _ <"$t/comm")_$(basename "$t")" \
            "$(awk '/^(non)?voluntary_ctxt_switches/ {s += $2} END {print s + 0}' "$t/status")" \
            "$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "$t/stat")"
    done 2>/dev/null | sort
}

# only_run SERVER: freeze (SIGSTOP) the process trees of the other servers and thaw SERVER's,
# so an idle server that still burns CPU cannot steal CPU 0 from the one being measured.
only_run() {
    local o
    for o in "${ACTIVE[@]}"; do
        if [[ "$o" != "$1" ]]; then kill -STOP $(tree_pids "${PID[$o]}") 2>/dev/null || true; fi
    done
    kill -CONT $(tree_pids "${PID[$1]}") 2>/dev/null || true
}
thaw_all() {
    local o
    for o in "${ACTIVE[@]}"; do kill -CONT $(tree_pids "${PID[$o]}") 2>/dev/null || true; done
}

# run_dns SERVER OUTFILE SECONDS [EXTRA]: one generator run; OUTFILE.cpu_ms gets the server's
# CPU time.
run_dns() {
    local c0 c1
    only_run "$1"
    c0=$(cpu_ticks "${PID[$1]}")
    taskset -c "$GEN_CPU" "$BENCH" dns --port "${PORT[$1]}" --names "$QUERIES" --records "$RECS" \
        --duration "$3" --cpu "$GEN_CPU" --sockets 4 --batch 32 --window 512 --json --quiet \
        --show-wrong 0 ${4:-} >"$2" || true
    c1=$(cpu_ticks "${PID[$1]}")
    echo "$(((c1 - c0) * 1000 / CLK_TCK))" >"$2.cpu_ms"
}

# compare PREFIX EXTRA: interleaved runs of every active server, then the medians.
compare() {
local pre=$1 extra=${2:-}
for s in "${ACTIVE[@]}"; do run_dns "$s" "$WORK/warm-$pre$s.json" 1 "$extra"; done
for ((r = 1; r <= RUNS; r++)); do
    for s in "${ACTIVE[@]}"; do
        run_dns "$s" "$WORK/run-$pre$s-$r.json" "$DURATION" "$extra"
        python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); c=int(open(sys.argv[1]+".cpu_ms").read())/1000; print("  run %s %-9s qps %8.0f  p50 %7.1f us  p99 %7.1f us  lost %.3f%%  wrong %d  server CPU %.2f s = %.0f answers/CPU-s" % (sys.argv[2], sys.argv[3], r["qps"], r["p50_us"], r["p99_us"], r["lost_pct"], r["wrong"], c, r["answered"] / c if c > 0 else 0))' \
            "$WORK/run-$pre$s-$r.json" "$r" "$s" 2>/dev/null || echo "  run $r $s: no result"
    done
done

python3 - "$WORK" "$RUNS" "$pre" "${ACTIVE[@]}" <<'EOF'
import json, statistics, sys
work, runs, pre, servers = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
med = {}
print("== summary (medians over %d runs)" % runs)
print("  %-9s %10s %10s %10s %10s %8s %8s %14s" % ("server", "qps", "p50_us", "p99_us", "p99.9_us", "lost%", "wrong", "answers/CPU-s"))
for s in servers:
    rs = []
    for r in range(1, runs + 1):
        try:
            x = json.load(open("%s/run-%s%s-%d.json" % (work, pre, s, r)))
            c = int(open("%s/run-%s%s-%d.json.cpu_ms" % (work, pre, s, r)).read()) / 1000.0
            x["per_cpu"] = x["answered"] / c if c > 0 else 0.0
            rs.append(x)
        except Exception:
            pass
    if not rs:
        print("  %-9s no results" % s)
        continue
    m = {k: statistics.median(x[k] for x in rs) for k in ("qps", "p50_us", "p99_us", "p999_us", "lost_pct", "per_cpu")}
    med[s] = m
    wrong = sum(x.get("wrong", 0) for x in rs)
    print("  %-9s %10.0f %10.1f %10.1f %10.1f %8.3f %8d %14.0f" % (s, m["qps"], m["p50_us"], m["p99_us"], m["p999_us"], m["lost_pct"], wrong, m["per_cpu"]))
for peer, name in (("nsd", "NSD"), ("knot", "Knot")):
    if "dnsmeshd" in med and peer in med and med[peer]["qps"] > 0:
        print("  dnsmeshd/%s QPS ratio %.2f%s; answers per server CPU-second ratio %.2f"
              % (name, med["dnsmeshd"]["qps"] / med[peer]["qps"],
                 " (goal >= 1.2)" if peer == "nsd" else "",
                 med["dnsmeshd"]["per_cpu"] / med[peer]["per_cpu"] if med[peer]["per_cpu"] else 0))
EOF
}

# --- one pass over every name (--one-pass): bench/dns-vs-peers-onepass.sh, which exits ------
if [[ $ONE_PASS -eq 1 ]]; then
    # shellcheck source=bench/dns-vs-peers-onepass.sh
    DVP_MAIN=1 source "$HERE/dns-vs-peers-onepass.sh"
fi

echo "== UDP queries: $RUNS runs x $DURATION s per server, interleaved (1 s warm-up each first)"
compare ""
if [[ $TCP -eq 1 ]]; then
    echo "== TCP queries: $RUNS runs x $DURATION s per server, interleaved (1 s warm-up each first)"
    compare tcp- --tcp
fi
thaw_all

# --- fixed offered loads: dnsperf and our generator ------------------------------------------
# cache_snap FILE: dnsmeshd's answer-cache counters (hit, negative_hit, miss) from /metrics.
cache_snap() {
    curl -s --max-time 5 "http://127.0.0.1:${PORT[dnsmeshd_http]}/metrics" |
        awk '/^dmp_cache_lookups_total/ {split($1, a, "\""); print a[2], $2}' >"$1" 2>/dev/null || true
}
# run_dnsperf SERVER TAG RATE: dnsperf for DURATION s at RATE q/s (0 = unlimited) on GEN_CPU;
# TAG.dnsperf its output, TAG.time its wall/user/sys seconds, TAG.cpu_ms the server's CPU.
run_dnsperf() {
    local s=$1 tag=$2 rate=$3 c0 c1 q=()
    ((rate > 0)) && q=(-Q "$rate")
    only_run "$s"
    [[ "$s" == dnsmeshd ]] && cache_snap "$tag.cache0"
    c0=$(cpu_ticks "${PID[$s]}")
    {
        TIMEFORMAT='%R %U %S'
        time taskset -c "$GEN_CPU" dnsperf -s 127.0.0.1 -p "${PORT[$s]}" -d "$QUERIES" \
            -l "$DURATION" -c 8 -q 500 -e "${q[@]}" >"$tag.dnsperf" 2>&1
    } 2>"$tag.time" || true
    c1=$(cpu_ticks "${PID[$s]}")
    [[ "$s" == dnsmeshd ]] && cache_snap "$tag.cache1"
    echo "$(((c1 - c0) * 1000 / CLK_TCK))" >"$tag.cpu_ms"
}
# run_ours SERVER TAG RATE: our generator at RATE (0 = as the window allows), answers checked.
run_ours() {
    local extra=""
    (($3 > 0)) && extra="--rate $3"
    run_dns "$1" "$2.json" "$DURATION" "$extra"
}

if [[ $DNSPERF -eq 1 ]]; then
    IFS=',' read -r -a RLIST <<<"$RATES"
    echo "== fixed offered loads ($RATES q/s; 0 = as fast as the client can): $RUNS runs x $DURATION s per server and rate, interleaved"
    echo "   dnsperf -c 8 -q 500 -e [-Q rate] on CPU $GEN_CPU gives the server CPU per answer; dnsmesh-bench dns at the same rate gives p50/p99 and checks every answer"
    for rate in "${RLIST[@]}"; do
        for ((r = 1; r <= RUNS; r++)); do
            for s in "${ACTIVE[@]}"; do
                run_dnsperf "$s" "$WORK/perf-$rate-$s-$r" "$rate"
                run_ours "$s" "$WORK/ours-$rate-$s-$r" "$rate"
            done
        done
        python3 - "$WORK" "$RUNS" "$rate" "${ACTIVE[@]}" <<'EOF'
import json, re, statistics, sys
work, runs, rate, servers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
for s in servers:
    for r in range(1, runs + 1):
        t = "%s/perf-%d-%s-%d" % (work, rate, s, r)
        try:
            d = open(t + ".dnsperf").read()
            done = int(re.search(r"Queries completed:\s+(\d+)", d).group(1))
            lost = int(re.search(r"Queries lost:\s+(\d+)", d).group(1))
            qps = float(re.search(r"Queries per second:\s+([\d.]+)", d).group(1))
            lat = float(re.search(r"Average Latency \(s\):\s+([\d.]+)", d).group(1)) * 1e6
            wall, usr, sy = map(float, open(t + ".time").read().split()[-3:])
            cpu = int(open(t + ".cpu_ms").read()) / 1000.0
            o = json.load(open("%s/ours-%d-%s-%d.json" % (work, rate, s, r)))
        except Exception as e:
            print("  %-9s rate %6d run %d: no result (%s)" % (s, rate, r, e))
            continue
        hit = ""
        try:
            c0 = dict(l.split() for l in open(t + ".cache0"))
            c1 = dict(l.split() for l in open(t + ".cache1"))
            d_ = {k: float(c1[k]) - float(c0.get(k, 0)) for k in c1}
            tot = sum(d_.values())
            if tot > 0:
                hit = "  cache hits %.1f%%" % (100.0 * (d_.get("hit", 0) + d_.get("negative_hit", 0)) / tot)
        except Exception:
            pass
        print("  %-9s rate %6s run %d: dnsperf %7.0f q/s answered, lost %d, avg %6.0f us, dnsperf CPU %3.0f%%; server %5.2f us CPU/answer | ours %7.0f q/s, p50 %7.1f us, p99 %8.1f us, wrong %d, lost %d%s"
              % (s, rate or "max", r, qps, lost, lat, 100.0 * (usr + sy) / wall if wall else 0,
                 1e6 * cpu / done if done else 0, o["qps"], o["p50_us"], o["p99_us"], o["wrong"], o["lost"], hit))
EOF
    done
    thaw_all
    python3 - "$WORK" "$RUNS" "$RATES" "${OUT:-}" "${ACTIVE[@]}" <<'EOF'
import json, os, re, statistics, sys
work, runs, rates, out, servers = sys.argv[1], int(sys.argv[2]), [int(x) for x in sys.argv[3].split(",")], sys.argv[4], sys.argv[5:]
rows = []
p99s = {}  # (rate, server) -> {run: p99_us}
med = lambda v: statistics.median(v) if v else float("nan")
for rate in rates:
    for s in servers:
        cpu_us, dqps, dcpu, dlat, oq, p50, p99, wrong, lost, hits = [], [], [], [], [], [], [], 0, 0, []
        for r in range(1, runs + 1):
            t = "%s/perf-%d-%s-%d" % (work, rate, s, r)
            try:
                d = open(t + ".dnsperf").read()
                done = int(re.search(r"Queries completed:\s+(\d+)", d).group(1))
                wall, usr, sy = map(float, open(t + ".time").read().split()[-3:])
                cpu = int(open(t + ".cpu_ms").read()) / 1000.0
                if done:
                    cpu_us.append(1e6 * cpu / done)
                dqps.append(float(re.search(r"Queries per second:\s+([\d.]+)", d).group(1)))
                dlat.append(float(re.search(r"Average Latency \(s\):\s+([\d.]+)", d).group(1)) * 1e6)
                dcpu.append(100.0 * (usr + sy) / wall if wall else 0)
                c0 = dict(l.split() for l in open(t + ".cache0")) if os.path.exists(t + ".cache0") else {}
                c1 = dict(l.split() for l in open(t + ".cache1")) if os.path.exists(t + ".cache1") else {}
                dd = {k: float(c1[k]) - float(c0.get(k, 0)) for k in c1}
                if sum(dd.values()) > 0:
                    hits.append(100.0 * (dd.get("hit", 0) + dd.get("negative_hit", 0)) / sum(dd.values()))
            except Exception:
                pass
            try:
                o = json.load(open("%s/ours-%d-%s-%d.json" % (work, rate, s, r)))
                oq.append(o["qps"]); p50.append(o["p50_us"]); p99.append(o["p99_us"])
                p99s.setdefault((rate, s), {})[r] = o["p99_us"]
                wrong += o["wrong"]; lost += o["lost"]
            except Exception:
                pass
        rows.append((s, rate, med(cpu_us), med(dqps), med(dcpu), med(dlat), med(oq), med(p50), med(p99), wrong, lost, med(hits) if hits else -1))
print("== fixed offered loads: medians of %d runs (CPU/answer and avg latency from dnsperf; p50/p99 from dnsmesh-bench dns, every answer checked)" % runs)
print("  %-9s %8s %12s %12s %10s %12s %11s %10s %10s %7s %7s %8s" % ("server", "offered", "CPU/answer", "dnsperf q/s", "dnsperf%", "dnsperf avg", "ours q/s", "p50_us", "p99_us", "wrong", "lost", "cache%"))
for (s, rate, c, dq, dc, dl, oq, a, b, w, l, h) in rows:
    flag = " <- dnsperf at %.0f%% of its core: the client was the limit" % dc if dc >= 90 else ""
    if rate and dq < 0.97 * rate:
        flag += " (answered below the offered rate)"
    print("  %-9s %8s %9.2f us %12.0f %9.0f%% %9.0f us %11.0f %10.1f %10.1f %7d %7d %8s%s"
          % (s, rate or "max", c, dq, dc, dl, oq, a, b, w, l, ("%.1f%%" % h) if h >= 0 else "-", flag))
for rate in rates:
    by = {s: r for r in rows if r[1] == rate for s in [r[0]]}
    if "dnsmeshd" in by:
        for peer in ("nsd", "knot"):
            if peer in by and by[peer][2] > 0:
                # p99s swing run to run on a shared box: also each round's pair (the two runs
                # were back to back) and the ranges
                pairs = [(p99s[(rate, "dnsmeshd")].get(r), p99s[(rate, peer)].get(r)) for r in range(1, runs + 1)]
                pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
                rng = lambda v: "%.0f-%.0f" % (min(v), max(v)) if v else "-"
                print("  at %s q/s: dnsmeshd / %s CPU per answer %.2f, p99 %.2f (dnsmeshd's p99 the lower in %d of %d rounds; ranges %s and %s us)"
                      % (rate or "max", peer, by["dnsmeshd"][2] / by[peer][2],
                         by["dnsmeshd"][8] / by[peer][8] if by[peer][8] > 0 else float("nan"),
                         sum(1 for a, b in pairs if a <= b), len(pairs),
                         rng([a for a, _ in pairs]), rng([b for _, b in pairs])))
if out:
    with open(os.path.join(out, "results.tsv"), "w") as f:
        f.write("server\toffered\tcpu_us_per_answer\tdnsperf_qps\tdnsperf_cpu_pct\tdnsperf_avg_us\tours_qps\tp50_us\tp99_us\twrong\tlost\tcache_hit_pct\n")
        for row in rows:
            f.write("\t".join(str(x) for x in row) + "\n")
EOF
    if [[ -n "$OUT" ]] && command -v gnuplot >/dev/null; then
        plot_curves "$OUT" "${ACTIVE[@]}"
        echo "  curves: $OUT/cpu-per-query.svg, $OUT/latency.svg"
    fi
fi

# --- queries under writes (dnsmeshd) ------------------------------------------------------
if [[ $WRITES -eq 1 && " ${ACTIVE[*]} " == *" dnsmeshd "* ]]; then
    echo "== dnsmeshd queries under $WRITE_RATE writes/s ($WRITE_NAMES names, $WRITE_CONNS connections, $WRITE_BATCH record(s) per request): $RUNS pairs (baseline, then with writes)"
    only_run dnsmeshd
    c0=$(cpu_ticks "${PID[dnsmeshd]}")
    taskset -c "$GEN_CPU" "$BENCH" writes --port "${PORT[dnsmeshd_http]}" --rate "$WRITE_RATE" \
        --batch "$WRITE_BATCH" --duration "$DURATION" --conns "$WRITE_CONNS" --seed 0 --json --quiet \
        >"$WORK/writes-alone.json" || true
    c1=$(cpu_ticks "${PID[dnsmeshd]}")
    python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); c=float(sys.argv[2]); n=w.get("records_ok", w["ok"]); print("  writes alone: %.0f records/s for %.1f s, 2xx %d/%d requests, dnsmeshd CPU %.2f s = %.0f us per record" % (n / w["duration_s"], w["duration_s"], w["ok"], w["answered"], c, 1e6 * c / max(1, n)))' \
        "$WORK/writes-alone.json" "$(((c1 - c0) * 1000 / CLK_TCK))e-3" || true
    for ((r = 1; r <= RUNS; r++)); do
        thread_snap "${PID[dnsmeshd]}" >"$WORK/threads-base-$r.0"
        run_dns dnsmeshd "$WORK/base-$r.json" "$DURATION"
        thread_snap "${PID[dnsmeshd]}" >"$WORK/threads-base-$r.1"
        if [[ $WRITE_NAMES == queried ]]; then
            taskset -c "$GEN_CPU" "$BENCH" load --port "${PORT[dnsmeshd_http]}" --file "$RECS" \
                --rate "$WRITE_RATE" --batch "$WRITE_BATCH" --duration $((DURATION + 2)) \
                --conns "$WRITE_CONNS" --json \
                --quiet >"$WORK/writes-$r.json" &
        else
            taskset -c "$GEN_CPU" "$BENCH" writes --port "${PORT[dnsmeshd_http]}" --rate "$WRITE_RATE" \
                --batch "$WRITE_BATCH" --duration $((DURATION + 2)) --conns "$WRITE_CONNS" --seed "$r" \
                --json --quiet >"$WORK/writes-$r.json" &
        fi
        wpid=$!
        sleep 1
        ppid=""
        if [[ -n $PERF_OUT && $r -eq 1 ]]; then
            perf record -g -p "${PID[dnsmeshd]}" -o "$PERF_OUT" -- sleep "$DURATION" >/dev/null 2>&1 &
            ppid=$!
        fi
        thread_snap "${PID[dnsmeshd]}" >"$WORK/threads-load-$r.0"
        run_dns dnsmeshd "$WORK/load-$r.json" "$DURATION"
        thread_snap "${PID[dnsmeshd]}" >"$WORK/threads-load-$r.1"
        wait "$wpid" || true
        [[ -z $ppid ]] || wait "$ppid" || true
    done
    thaw_all
    python3 - "$WORK" "$RUNS" "$WRITE_RATE" "$CLK_TCK" "$DURATION" "$WRITE_BATCH" <<'EOF'
import json, statistics, sys
work, runs, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
duration = float(sys.argv[5])
batch = int(sys.argv[6])  # the writer's "rate" counts requests of `batch` records
def get(p):
    try:
        return json.load(open(p))
    except Exception:
        return None
base = [get("%s/base-%d.json" % (work, r)) for r in range(1, runs + 1)]
load = [get("%s/load-%d.json" % (work, r)) for r in range(1, runs + 1)]
wr = [get("%s/writes-%d.json" % (work, r)) for r in range(1, runs + 1)]
# each pair on its own line: a pair whose writer fell short of its rate ran with the generator's
# CPU (shared with the writer) short, and its drop is then not the node's
pair_drops = []
for r, (b0, l0, w0) in enumerate(zip(base, load, wr), 1):
    if not (b0 and l0):
        continue
    d = 100.0 * (b0["qps"] - l0["qps"]) / b0["qps"] if b0["qps"] else 0.0
    pair_drops.append(d)
    short = w0 is not None and w0["rate"] * batch < 0.95 * rate
    print("  pair %d: baseline %.0f q/s, under writes %.0f q/s, drop %.1f%%, writer %s/s%s"
          % (r, b0["qps"], l0["qps"], d, "%.0f" % (w0["rate"] * batch) if w0 else "?",
             "  (writer short of its rate: this pair's drop is suspect)" if short else ""))
base = [b["qps"] for b in base if b]
load = [l for l in load if l]
wr = [w for w in wr if w]
if not base or not load:
    print("  no results")
    sys.exit(0)
b, l = statistics.median(base), statistics.median(x["qps"] for x in load)
print("  baseline qps %.0f (median), under writes %.0f (median), drop %.1f%% (goal <= 5%%)"
      % (b, l, 100.0 * (b - l) / b if b else 0))
if pair_drops:
    print("  drop per pair: median %.1f%% (%s)" % (statistics.median(pair_drops),
                                                ", ".join("%.1f" % d for d in pair_drops)))
print("  under writes: p50 %.1f us, p99 %.1f us" % (statistics.median(x["p50_us"] for x in load),
                                                     statistics.median(x["p99_us"] for x in load)))
def cpu_s(prefix):
    out = []
    for r in range(1, runs + 1):
        try:
            out.append(int(open("%s/%s-%d.json.cpu_ms" % (work, prefix, r)).read()) / 1000.0)
        except Exception:
            pass
    return statistics.median(out) if out else 0.0
print("  dnsmeshd CPU per run (median): baseline %.2f s, under writes %.2f s" % (cpu_s("base"), cpu_s("load")))
# The drop measures the writes' cost only if the node used its whole core in the baseline:
# a generator slowed by something else on its core (the box is shared) leaves the node idle
# part of the time, and the writes then fill that idle time instead of taking queries' time.
if cpu_s("base") < 0.9 * duration:
    print("  WARNING: in the baseline the node used %.0f%% of its core (median), so it was not "
          "saturated and this drop does not measure the writes' cost; rerun on a quiet box"
          % (100.0 * cpu_s("base") / duration))
if wr:
    print("  writes achieved %.0f/s of %.0f (median), 2xx %d / %d answered, errors %d, timeouts %d, "
          "p50 %.2f ms, p99 %.2f ms" % (statistics.median(w["rate"] * batch for w in wr), rate,
          sum(w["ok"] for w in wr), sum(w["answered"] for w in wr), sum(w["errors"] for w in wr),
          sum(w["timeouts"] for w in wr), statistics.median(w["p50_ms"] for w in wr),
          statistics.median(w["p99_ms"] for w in wr)))
    # a write is late when it went out more than 10 ms after its slot (every connection busy)
    print("  writes sent late (> 10 ms after their slot): %d of %d sent (%s per run)"
          % (sum(w["behind"] for w in wr), sum(w["sent"] for w in wr),
             ", ".join(str(w["behind"]) for w in wr)))
# per thread: context switches and CPU per second of the run, medians over the runs
def threads(prefix):
    per = {}
    for r in range(1, runs + 1):
        try:
            a = {l.split()[0]: l.split()[1:] for l in open("%s/threads-%s-%d.0" % (work, prefix, r))}
            b = {l.split()[0]: l.split()[1:] for l in open("%s/threads-%s-%d.1" % (work, prefix, r))}
            secs = json.load(open("%s/%s-%d.json" % (work, prefix, r)))["duration_s"]
        except Exception:
            continue
        run = {}
        for k in b:
            if k in a:
                name = k.rsplit("_", 1)[0]
                cs, cpu = run.get(name, (0, 0))
                run[name] = (cs + int(b[k][0]) - int(a[k][0]), cpu + int(b[k][1]) - int(a[k][1]))
        for name, (cs, cpu) in run.items():
            per.setdefault(name, []).append((cs / secs, 1000.0 * cpu / clk / secs))
    return {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for k, v in per.items()}
clk = float(sys.argv[4])
tb, tl = threads("base"), threads("load")
for name in sorted(set(tb) | set(tl)):
    b0, l0 = tb.get(name, (0, 0)), tl.get(name, (0, 0))
    if max(b0[0], l0[0]) < 10 and max(b0[1], l0[1]) < 5:
        continue
    print("  thread %-14s switches/s %7.0f -> %7.0f under writes, CPU ms/s %5.0f -> %5.0f"
          % (name, b0[0], l0[0], b0[1], l0[1]))
EOF
    echo "  dnsmeshd VmRSS now: $(($(rss_kib "${PID[dnsmeshd]}") / 1024)) MiB"
fi
