#!/usr/bin/env bash
# cluster-backfill.sh: a full backfill of N records to an EMPTY dnsmeshd from a serving one, with
# real processes on loopback, and the serving node's answered DNS qps during the backfill
# against its idle qps in the same run.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/cluster-backfill.sh [--build DIR] [--records N] [--runs R] [--duration S]
                                 [--interval S] [--timeout S] [--cache DIR] [--interleave]
                                 [--pull-rate N] [--b-nice N] [--b-env VAR=VALUE] [--warmup S]
                                 [--keep]

Starts node A (dnsmeshd, pinned to CPU 0) on a store holding N records written straight into
it before start (dnsmesh-bench populate), measures its answered DNS qps idle (R runs of S
seconds, dnsmesh-bench dns on CPU 1, every answer checked: NOERROR with a non-empty answer),
then starts node B (empty store, CPU 1 at nice --b-nice, DMP_SYNC_PEERS = A,
DMP_SYNC_INTERVAL = --interval, DMP_SYNC_PULL_RATE = --pull-rate) and measures A's qps in
back-to-back runs while B backfills, until B holds N records; then R idle runs again with B
stopped. A's CPU time per run is read from /proc, and per thread over the whole backfill (its
HTTP thread, which serves /v1/sync/*, against its DNS threads). Reports the time to converge
(B's start until B's /stats shows N), the bytes B's anti-entropy exchanged (its /metrics),
and the ratio of A's median qps during the backfill to its median idle qps (before and after;
goal >= 0.8).
With --interleave, every backfill run is followed by one with B frozen (SIGSTOP), an idle
figure taken between the backfill's own runs (B's frozen time is not counted in the time to
converge). A peer request in flight across a freeze times out (5 s) and fails its round, so
this only suits backfills whose rounds are short (small N).

  --build DIR     build directory with dnsmeshd and dnsmesh-bench (default: build)
  --records N     records on A (default 1000000)
  --runs R        idle runs before and after (default 3)
  --duration S    seconds per qps run (default 5)
  --interval S    B's DMP_SYNC_INTERVAL (default 1)
  --timeout S     give up on the backfill after S seconds (default 1800)
  --cache DIR     keep the populated store in DIR and reuse it when it holds N records
  --interleave    alternate backfill runs with runs while B is frozen (small N only)
  --pull-rate N   B's DMP_SYNC_PULL_RATE (records/s; default: dnsmeshd's default, 1000; 0 =
                  unpaced)
  --b-nice N      B's nice value (default 19). B shares CPU 1 with the load generator, which a
                  second machine would not: at 19, B takes CPU 1 mostly when the generator
                  leaves it (same session, so the same autogroup: nice applies between them).
                  0 = the layout of the runs before 2026-12-02b
  --warmup S      seconds of DNS load before the idle runs (default 15)
  --b-env VAR=VALUE  more environment for B (repeatable)
  --keep          keep the work directory
Loopback only; every process is started by this script and stopped by its PID.
EOF
}

BUILD=build RECORDS=1000000 RUNS=3 DURATION=5 INTERVAL=1 TIMEOUT=1800 CACHE="" KEEP=0 FREEZE=0 B_NICE=19 PULL_RATE=default WARMUP=15
B_ENV=()
while [[ $# -gt 0 ]]; do
    case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --records) RECORDS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --interval) INTERVAL=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --cache) CACHE=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --b-nice) B_NICE=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --pull-rate) B_ENV+=("DMP_SYNC_PULL_RATE=$2"); PULL_RATE=$2; shift 2 ;;
    --b-env) B_ENV+=("$2"); shift 2 ;;
    --interleave) FREEZE=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
die() { echo "cluster-backfill: $*" >&2; exit 1; }
[[ "$RECORDS" =~ ^[0-9]+$ && $RECORDS -ge 1 && $RECORDS -le 20000000 ]] || die "bad --records"
[[ "$RUNS" =~ ^[0-9]+$ && $RUNS -ge 1 && $RUNS -le 20 ]] || die "bad --runs"
[[ "$DURATION" =~ ^[0-9]+$ && $DURATION -ge 1 && $DURATION -le 60 ]] || die "bad --duration"
[[ "$TIMEOUT" =~ ^[0-9]+$ && $TIMEOUT -ge 10 && $TIMEOUT -le 7200 ]] || die "bad --timeout"
[[ "$WARMUP" =~ ^[0-9]+$ && $WARMUP -ge 1 && $WARMUP -le 600 ]] || die "bad --warmup"
[[ "$B_NICE" =~ ^[0-9]+$ && $B_NICE -le 19 ]] || die "bad --b-nice"
[[ "$PULL_RATE" == default || "$PULL_RATE" =~ ^[0-9]+$ ]] || die "bad --pull-rate"
DNSMESHD="$BUILD/src/node/dnsmeshd"
BENCH="$BUILD/dnsmesh-bench"
[[ -x "$DNSMESHD" && -x "$BENCH" ]] || die "build $DNSMESHD and $BENCH first"
for t in python3 taskset curl; do command -v "$t" >/dev/null || die "$t is missing"; done
SERVER_CPU=0 GEN_CPU=1
[[ $(nproc) -ge 2 ]] || SERVER_CPU=0 GEN_CPU=0
ZONE=mesh.test PATTERN="rec-{i}.x4f1c2a9e7d3b.$ZONE" TOKEN=backfill-token

WORK="$(mktemp -d /tmp/dnsmesh-backfill.XXXXXX)"
PIDS=()
stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    kill -CONT "$pid" 2>/dev/null || true # it may be frozen
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    if [[ $KEEP -eq 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# clone SRC DST: SST files hard-linked (immutable), the rest copied; no LOCK, no info logs.
clone() {
    mkdir -p "$2"
    local f b
    for f in "$1"/*; do
        b=$(basename "$f")
        case "$b" in
        LOCK | LOG*) ;;
        *.sst) ln "$f" "$2/$b" 2>/dev/null || cp "$f" "$2/$b" ;;
        *) cp "$f" "$2/$b" ;;
        esac
    done
}

echo "cluster-backfill: $(date -u +%FT%TZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "records $RECORDS, runs $RUNS x ${DURATION}s, B's sync interval ${INTERVAL}s," \
    "pull rate $PULL_RATE, nice $B_NICE${B_ENV[*]:+, env ${B_ENV[*]}}"

# --- A's store: N records written before start ---------------------------------------------
BASE="${CACHE:-$WORK/cache}/base"
if [[ -n "$CACHE" && -f "$BASE.records" && "$(cat "$BASE.records")" == "$RECORDS" ]]; then
    echo "store: reusing $BASE"
else
    rm -rf "$BASE" "$BASE.records"
    mkdir -p "$(dirname "$BASE")"
    t0=$(date +%s.%N)
    "$BENCH" populate --store "$BASE" --records "$RECORDS" --zone "$ZONE" --ttl 86400 2>/dev/null
    echo "store: $RECORDS records written in $(python3 -c "print('%.1f' % ($(date +%s.%N) - $t0))") s"
    echo "$RECORDS" >"$BASE.records"
fi
clone "$BASE" "$WORK/a"

# start_node NAME CPU NICE [VAR=VALUE...]: starts dnsmeshd, waits for its ports file.
declare -A PID DNS HTTP
start_node() {
    local name=$1 cpu=$2 nice=$3 i
    shift 3
    env DMP_DNS_HOST=127.0.0.1 DMP_DNS_PORT=0 DMP_HTTP_HOST=127.0.0.1 DMP_HTTP_PORT=0 \
        DMP_DB_PATH="$WORK/$name" DMP_PORTS_FILE="$WORK/$name.ports" \
        DMP_DNS_RATE=0 DMP_DNS_BURST=0 DMP_HTTP_RATE=0 DMP_HTTP_BURST=0 DMP_RRL_RATE=0 \
        DMP_FRONTENDS=1 DMP_SHARDS=1 DMP_SERVED_ZONE=$ZONE DMP_LOG_LEVEL=warning \
        DMP_SYNC_PEER_TOKEN=$TOKEN "$@" \
        taskset -c "$cpu" nice -n "$nice" "$DNSMESHD" >"$WORK/$name.log" 2>&1 &
    PID[$name]=$!
    PIDS+=("${PID[$name]}")
    for ((i = 0; i < 1200; i++)); do # replaying a large WAL can take a while: at most 120 s
        [[ -s "$WORK/$name.ports" ]] && break
        kill -0 "${PID[$name]}" 2>/dev/null || break
        sleep 0.1
    done
    if [[ ! -s "$WORK/$name.ports" ]]; then
        tail -20 "$WORK/$name.log" >&2
        die "node $name did not start"
    fi
    DNS[$name]=$(sed -E 's/.*dns=127\.0\.0\.1:([0-9]+).*/\1/' "$WORK/$name.ports")
    HTTP[$name]=$(sed -E 's/.*http=127\.0\.0\.1:([0-9]+).*/\1/' "$WORK/$name.ports")
}
# records_of NODE: its /stats record count (curl and sed: the poller runs twice a second)
records_of() {
    local n
    n=$(curl -s -m 5 "http://127.0.0.1:${HTTP[$1]}/stats" | sed -n 's/.*"records": *\([0-9][0-9]*\).*/\1/p')
    echo "${n:-0}"
}
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# thread_ticks PID: "comm ticks" per thread (the comm may hold spaces: it is between parens)
thread_ticks() {
    local t
    for t in /proc/"$1"/task/*/stat; do
        sed -E 's/^[0-9]+ \((.*)\) (.*)$/\1|\2/' "$t" 2>/dev/null |
            awk -F'|' '{ split($2, f, " "); gsub(/ /, "_", $1); print $1, f[12] + f[13] }'
    done
}
# run_dns OUT: one qps run against A (generator on CPU 1); A's CPU time of the run in OUT.cpu_ms.
run_dns() {
    local c0 c1
    c0=$(cpu_ticks "${PID[a]}")
    taskset -c "$GEN_CPU" "$BENCH" dns --port "${DNS[a]}" --pattern "$PATTERN" --count "$RECORDS" \
        --duration "${2:-$DURATION}" --sockets 4 --batch 32 --window 512 --json --quiet >"$1" || true
    c1=$(cpu_ticks "${PID[a]}")
    echo $(((c1 - c0) * 1000 / CLK_TCK)) >"$1.cpu_ms"
}
show_run() {
    python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = int(open(sys.argv[1] + ".cpu_ms").read()) / 1000.0
bad = r["answered"] - r["rcodes"].get("NOERROR", 0) + r.get("nodata", 0)
print("  %-24s qps %8.0f  answered %8d  lost %.3f%%  wrong %d  A CPU %.2f s = %.0f answers/CPU-s"
      % (sys.argv[2], r["qps"], r["answered"], r["lost_pct"], bad, c, r["answered"] / c if c > 0 else 0))
PY
}

start_node a "$SERVER_CPU" 0
have=$(records_of a)
echo "node A: dns port ${DNS[a]}, http port ${HTTP[a]}, $have records"
[[ "$have" == "$RECORDS" ]] || die "node A holds $have records, expected $RECORDS"
run_dns "$WORK/warm.json" "$WARMUP" # A's answer cache and block cache fill before idle runs
for ((r = 1; r <= RUNS; r++)); do
    run_dns "$WORK/idle-before-$r.json"
    show_run "$WORK/idle-before-$r.json" "idle $r"
done

# --- B: empty, A as its peer -----------------------------------------------------------
# Back-to-back runs while B backfills; with --interleave each is followed by one with B frozen
# (SIGSTOP), an idle figure between the backfill's own runs.
start_node b "$GEN_CPU" "$B_NICE" "${B_ENV[@]}" DMP_SYNC_PEERS="http://127.0.0.1:${HTTP[a]}" DMP_SYNC_INTERVAL="$INTERVAL"
thread_ticks "${PID[a]}" >"$WORK/a-threads-0"
T0=$(date +%s.%N)
echo "node B started (dns ${DNS[b]}, http ${HTTP[b]}): backfill from A"
# a poller records B's record count twice a second (bounded by the timeout)
(
    end=$(($(date +%s) + TIMEOUT))
    while [[ $(date +%s) -lt $end ]]; do
        n=$(records_of b)
        echo "$(date +%s.%N) $n"
        [[ "$n" == "$RECORDS" ]] && break
        sleep 0.5
    done
) >"$WORK/progress" &
POLLER=$!
PIDS+=("$POLLER")
taskset -pc "$GEN_CPU" "$POLLER" >/dev/null # off A's CPU (its children inherit this)
PAUSED=0 # seconds B spent frozen
count_now() { tail -1 "$WORK/progress" 2>/dev/null | cut -d' ' -f2; }
converged() { [[ "$(count_now)" == "$RECORDS" ]] || ! kill -0 "$POLLER" 2>/dev/null; }
k=0
while ! converged; do
    k=$((k + 1))
    run_dns "$WORK/during-$k.json"
    if converged; then
        show_run "$WORK/during-$k.json" "backfill $k (ended)"
        rm -f "$WORK/during-$k.json" # straddles the end of the backfill: not counted
        break
    fi
    show_run "$WORK/during-$k.json" "backfill $k ($(count_now))"
    [[ $FREEZE -eq 1 ]] || continue
    p0=$(date +%s.%N)
    kill -STOP "${PID[b]}"
    run_dns "$WORK/frozen-$k.json"
    kill -CONT "${PID[b]}"
    PAUSED=$(python3 -c "print($PAUSED + $(date +%s.%N) - $p0)")
    show_run "$WORK/frozen-$k.json" "B frozen $k"
done
wait "$POLLER" 2>/dev/null || true
DONE=$(awk -v want="$RECORDS" '$2 == want { print $1; exit }' "$WORK/progress")
[[ -n "$DONE" ]] || die "B did not converge within ${TIMEOUT}s (last: $(tail -1 "$WORK/progress"))"
CONV=$(python3 -c "print('%.1f' % ($DONE - $T0 - $PAUSED))")
thread_ticks "${PID[a]}" >"$WORK/a-threads-1"
# A's CPU per thread kind over the backfill: its HTTP thread (libmicrohttpd's, serving
# /v1/sync/*) against its DNS threads (frontends dmp-fe*, shards dmp-sh*)
python3 - "$WORK" "$CLK_TCK" <<'PY'
import sys
work, tck = sys.argv[1], int(sys.argv[2])
def load(p):
    d = {}
    for line in open(p):
        comm, t = line.rsplit(" ", 1)
        d[comm] = d.get(comm, 0) + int(t)
    return d
a, b = load(work + "/a-threads-0"), load(work + "/a-threads-1")
kind = lambda c: "HTTP (serving /v1/sync/*)" if c.startswith("MHD") else "DNS (dmp-fe*, dmp-sh*)" if c.startswith("dmp-") else "other"
tot = {}
for c in b:
    tot[kind(c)] = tot.get(kind(c), 0) + b[c] - a.get(c, 0)
print("A's CPU during the backfill: " + ", ".join("%s %.1f s" % (k, v / tck) for k, v in sorted(tot.items())))
PY
curl -s -m 10 "http://127.0.0.1:${HTTP[b]}/metrics" | grep '^dmp_cluster_' >"$WORK/b.metrics" || true
B_CPU=$(python3 -c "print('%.1f' % ($(cpu_ticks "${PID[b]}") / $CLK_TCK))")
A_CPU=$(python3 -c "print('%.1f' % ($(cpu_ticks "${PID[a]}") / $CLK_TCK))")
echo "CPU time so far: A $A_CPU s (serving DNS runs and B), B $B_CPU s"
stop_pid "${PID[b]}"
echo "node B converged: $RECORDS records in $CONV s (not counting $(printf %.1f "$PAUSED") s frozen); B stopped"
for ((r = 1; r <= RUNS; r++)); do
    run_dns "$WORK/idle-after-$r.json"
    show_run "$WORK/idle-after-$r.json" "idle after $r"
done

python3 - "$WORK" "$CONV" "$RECORDS" <<'PY'
import glob, json, statistics, sys
work, conv, n = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
def load(pat):
    out = []
    for p in sorted(glob.glob(work + "/" + pat), key=lambda p: int(p.rsplit("-", 1)[1].split(".")[0])):
        r = json.load(open(p))
        r["cpu_s"] = int(open(p + ".cpu_ms").read()) / 1000.0
        out.append(r)
    return out
idle = load("idle-before-*.json") + load("idle-after-*.json")
during, frozen = load("during-*.json"), load("frozen-*.json")
bad = sum(r["answered"] - r["rcodes"].get("NOERROR", 0) + r.get("nodata", 0) for r in idle + during + frozen)
m = {}
for line in open(work + "/b.metrics"):
    k, v = line.rsplit(" ", 1)
    m[k] = float(v)
g = lambda k: m.get(k, 0)
rounds = sum(g('dmp_cluster_rounds_total{protocol="%s"}' % p) for p in ("merkle", "digest", "none"))
print("summary:")
print("  backfill: %d records in %.1f s (%.0f records/s); B's anti-entropy: %.1f MB in, %.2f MB out, "
      "%d rounds (%d merkle), %d applied, %d failed rounds"
      % (n, conv, n / conv, g('dmp_cluster_bytes_total{dir="in"}') / 1e6, g('dmp_cluster_bytes_total{dir="out"}') / 1e6,
         rounds, g('dmp_cluster_rounds_total{protocol="merkle"}'), g('dmp_cluster_records_total{result="applied"}'),
         g("dmp_cluster_round_failures_total")))
def med(rs, f):
    return statistics.median(f(r) for r in rs) if rs else 0
def line(name, rs):
    print("  A %-26s median qps %8.0f, %6.0f answers/CPU-s (%d runs: %s)" % (name, med(rs, lambda r: r["qps"]),
          med(rs, lambda r: r["answered"] / r["cpu_s"] if r["cpu_s"] else 0), len(rs), ", ".join("%.0f" % r["qps"] for r in rs)))
line("idle (before and after):", idle)
if frozen:
    line("B frozen (interleaved):", frozen)
line("during the backfill:", during)
if during:
    print("  ratio during / idle before and after:  %.2f (goal >= 0.8)" % (med(during, lambda r: r["qps"]) / med(idle, lambda r: r["qps"])))
    if frozen:
        print("  ratio during / B frozen (interleaved): %.2f" % (med(during, lambda r: r["qps"]) / med(frozen, lambda r: r["qps"])))
else:
    print("  no complete qps run fitted inside the backfill")
print("  wrong answers (not NOERROR, or empty): %d" % bad)
PY
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
