#!/usr/bin/env bash
# rrl-vs-knot.sh: response rate limiting under a one-name flood, dnsmeshd beside Knot (mod-rrl)
# at the same limits, in one run. A legitimate client at a fixed rate from 127.0.1.1 and a
# flood of one question from 127.0.0.1 (another /24) run together through `dnsmesh-bench rrl`,
# which verifies every reply; runs alternate between the two servers (the idle one frozen with
# SIGSTOP). Loopback only; both servers are started here on free ports in a temp directory and
# stopped by the PIDs this script got when it started them.
#
#   bench/rrl-vs-knot.sh [--build DIR] [--runs R] [--duration S] [--legit-rate Q]
#                        [--flood-rate Q] [--records N] [--keep]
#
# See bench/README.md ("rrl-vs-knot.sh") for what it prints and the figures measured here.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB_NAME=rrl-vs-knot
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
BUILD="build"
RUNS=3
DURATION=10
LEGIT_RATE=5000
FLOOD_RATE=50000
RECORDS=20000
KEEP=0
RANDOM_SUB=0
NICE=-10
RT=0
SERVER_CPU=0
GEN_CPU=1
# dnsmeshd's RRL defaults (src/node/config_knobs.c), given to Knot's mod-rrl as they are:
RRL_RATE=200 # identical responses per second per source prefix (Knot: rate-limit)
RRL_SLIP=2   # every 2nd limited response goes out truncated (Knot: slip)
RRL_V4=24    # IPv4 prefix (Knot 3.2: fixed /24)
RRL_V6=56    # IPv6 prefix (Knot 3.2: fixed /56)

usage() {
    cat <<EOF
usage: $0 [options]

Serves the same generated DMP records from dnsmeshd (its RRL defaults: rate $RRL_RATE/s, slip
$RRL_SLIP, /$RRL_V4 and /$RRL_V6) and from Knot with mod-rrl at the same rate-limit and slip
(Knot 3.2's prefixes are fixed at /24 and /56), each on one core with one worker, and runs
\`dnsmesh-bench rrl\` against each in turn: a legitimate client at --legit-rate queries/s from
127.0.1.1 and a one-name flood at --flood-rate from 127.0.0.1. Prints every run, then the
medians, the ratios dnsmeshd/Knot and the two goals (legitimate answered in full >= 99 %,
reflected bytes per flood query <= Knot's).

  --build DIR        build directory with dnsmesh-bench and src/node/dnsmeshd (default build)
  --runs R           measured runs per server, interleaved (default 3, 1..20)
  --duration S       seconds per run (default 10, 1..60)
  --legit-rate Q     legitimate queries/s (default 5000, 100..20000)
  --flood-rate Q     flood queries/s (default 50000, 1000..500000)
  --records N        records to serve (default 20000, 1000..200000)
  --nice N           run both servers and the generator at this nice value (default -10, -20..0:
                     on a box shared with other jobs a server that waits for the CPU overflows
                     its socket buffer, which is not what this measures; 0 = as started)
  --rt               run both servers and the generator SCHED_FIFO (chrt -f 10) instead: on this
                     VM even nice -10 leaves a server preempted long enough to overflow a default
                     212,992-byte socket buffer (Knot's)
  --random-subdomain flood <12 random hex digits>.mesh.test instead, a name that does not exist
                     and differs in every query (NXDOMAIN: one RRL bucket for the zone)
  --keep             keep the temp directory (zone, configs, logs, JSON of every run)
EOF
}

ARGS="$*"
while [[ $# -gt 0 ]]; do
    case "$1" in
    --build) [[ $# -ge 2 ]] || die "--build needs a value"; BUILD="$2"; shift 2 ;;
    --runs) [[ $# -ge 2 ]] || die "--runs needs a value"; int_arg "$1" "$2" 1 20; RUNS=$((10#$2)); shift 2 ;;
    --duration) [[ $# -ge 2 ]] || die "--duration needs a value"; int_arg "$1" "$2" 1 60; DURATION=$((10#$2)); shift 2 ;;
    --legit-rate) [[ $# -ge 2 ]] || die "--legit-rate needs a value"; int_arg "$1" "$2" 100 20000; LEGIT_RATE=$((10#$2)); shift 2 ;;
    --flood-rate) [[ $# -ge 2 ]] || die "--flood-rate needs a value"; int_arg "$1" "$2" 1000 500000; FLOOD_RATE=$((10#$2)); shift 2 ;;
    --records) [[ $# -ge 2 ]] || die "--records needs a value"; int_arg "$1" "$2" 1000 200000; RECORDS=$((10#$2)); shift 2 ;;
    --keep) KEEP=1; shift ;;
    --rt) RT=1; shift ;;
    --random-subdomain) RANDOM_SUB=1; shift ;;
    --nice) [[ $# -ge 2 ]] || die "--nice needs a value"; [[ "$2" =~ ^-?[0-9]+$ ]] && (($2 >= -20 && $2 <= 0)) || die "--nice must be in -20..0"; NICE=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
PRIO=(nice -n "$NICE")
((RT == 0)) || PRIO=(chrt -f 10)
[[ "$(nproc)" -ge 2 ]] || die "needs at least 2 CPUs (servers on $SERVER_CPU, generator on $GEN_CPU)"
BENCH="$BUILD/dnsmesh-bench"
NODE="$BUILD/src/node/dnsmeshd"
[[ -x "$BENCH" ]] || die "$BENCH not found: cmake --build $BUILD --target dnsmesh-bench"
[[ -x "$NODE" ]] || die "$NODE not found: cmake --build $BUILD --target dnsmeshd"
for t in python3 taskset dig ss knotd; do command -v "$t" >/dev/null || die "$t is missing"; done

WORK="$(mktemp -d /tmp/rrl-vs-knot.XXXXXX)"
declare -A PORT PID
trap lib_stop_all EXIT
trap 'exit 130' INT TERM

wait_dns() { # PORT NAME LABEL: until the server answers NAME (at most 60 s)
    local i
    for ((i = 0; i < 120; i++)); do
        if [[ -n "$(dig +short +time=1 +tries=1 -p "$1" @127.0.0.1 TXT "$2" 2>/dev/null | head -c 20)" ]]; then
            return 0
        fi
        sleep 0.5
    done
    die "$3 did not answer $2 on port $1 within 60 s"
}
cpu_ticks() { # PID: user + system ticks of the process (all threads)
    awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null || echo 0
}
CLK_TCK=$(getconf CLK_TCK)
# thread_ticks PID: "comm/tid ticks" for every thread of PID (user + system)
thread_ticks() {
    local t
    for t in /proc/"$1"/task/*; do
        echo "$(cat "$t/comm" 2>/dev/null)/${t##*/} $(awk '{sub(/^.*\) /, ""); print $12 + $13}' "$t/stat" 2>/dev/null)"
    done | sort
}
# udp_drops PORT: datagrams the kernel dropped at 127.0.0.1:PORT's UDP sockets (receive buffer
# full: the server did not read fast enough), from the drops column of /proc/net/udp
udp_drops() {
    awk -v p="$(printf ':%04X' "$1")" 'NR > 1 && substr($2, length($2) - 4) == p {d += $NF} END {print d + 0}' /proc/net/udp
}

echo "# rrl-vs-knot: $(date -u +%FT%TZ), $(nproc) CPUs (shared with other jobs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# command: bench/rrl-vs-knot.sh ${ARGS:-(defaults)}"
echo "# $(knotd -V 2>&1 | head -1); $("$NODE" --version 2>&1 | head -1)"
echo "# limits, both servers: $RRL_RATE identical responses/s per /$RRL_V4 (IPv4) or /$RRL_V6 (IPv6), slip $RRL_SLIP"
echo "# servers pinned to CPU $SERVER_CPU (one UDP worker each; dnsmeshd 1 frontend + 1 shard), dnsmesh-bench rrl to CPU $GEN_CPU; all run with: ${PRIO[*]}"

# --- records, the expect file and the flooded name ----------------------------------------
python3 "$HERE/gen_records.py" --count "$RECORDS" --out-dir "$WORK/recs" --formats zone,jsonl >"$WORK/gen.txt"
# expect: every name whose TXT answer fits a 1232-byte UDP reply (header, question, answers with
# compressed owners, OPT), and 1 % names that do not exist (NXDOMAIN: far below the limit, which
# counts NXDOMAINs per zone). flood: the name with the largest such answer, as an attacker picks.
python3 - "$WORK/recs/records.jsonl" "$WORK/expect.txt" "$LEGIT_RATE" "$RRL_RATE" >"$WORK/flood.txt" <<'EOF'
import json, sys
def fnv(b):
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h
names = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    names.setdefault(r["name"], []).append(r["value"].encode())
legit_rate, rrl_rate = int(sys.argv[3]), int(sys.argv[4])
rows, best = [], None
for n, vals in names.items():
    size = 12 + len(n) + 2 + 4 + 11
    for v in vals:
        size += 12 + len(v) + max(1, (len(v) + 254) // 255)
    if size > 1232:
        continue
    rows.append("%s 0 %d %d %016x" % (n, len(vals), sum(len(v) for v in vals),
                                      sum(fnv(v) for v in vals) & 0xFFFFFFFFFFFFFFFF))
    if best is None or size > best[1]:
        best = (n, size)
# a name asked more often than the limit would be limited for the legitimate client too
if legit_rate / len(rows) >= rrl_rate / 4:
    sys.exit("too few names (%d) for %d queries/s" % (len(rows), legit_rate))
nx = max(1, len(rows) // 100)
if legit_rate * nx / (len(rows) + nx) >= rrl_rate / 2:
    sys.exit("NXDOMAIN share too close to the limit")
for i in range(nx):
    rows.append("nx-%06d.mesh.test 3 0 0 %016x" % (i, 0))
open(sys.argv[2], "w").write("\n".join(rows) + "\n")
print(best[0], best[1], len(rows) - nx, nx)
EOF
read -r FLOOD_NAME FLOOD_SIZE NPOS NNX <"$WORK/flood.txt"
echo "# records: $(cat "$WORK/gen.txt"); legitimate names: $NPOS answered + $NNX NXDOMAIN;"
if ((RANDOM_SUB)); then
    FLOOD_ARGS=(--flood-random-under mesh.test)
    echo "#   flood: random-subdomain, <12 hex digits>.mesh.test (NXDOMAIN)"
else
    FLOOD_ARGS=(--flood-name "$FLOOD_NAME")
    echo "#   flooded name: $FLOOD_NAME (TXT answer $FLOOD_SIZE bytes)"
fi
echo "# legitimate $LEGIT_RATE q/s from 127.0.1.1, flood $FLOOD_RATE q/s from 127.0.0.1, ${DURATION} s per run, $RUNS runs each, interleaved"

# --- Knot: the zone file, mod-rrl as in Knot's documentation -------------------------------
mkdir -p "$WORK/knot"
cp "$WORK/recs/mesh.test.zone" "$WORK/knot/"
PORT[knot]=$(free_port 36353)
{
    knot_server_conf "$WORK/knot" "${PORT[knot]}"
    cat <<EOF
mod-rrl:
  - id: default
    rate-limit: $RRL_RATE
    slip: $RRL_SLIP
template:
  - id: default
    storage: "$WORK/knot"
    global-module: mod-rrl/default
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: mesh.test
    file: "$WORK/knot/mesh.test.zone"
EOF
} >"$WORK/knot/knot.conf"
"${PRIO[@]}" taskset -c "$SERVER_CPU" knotd -c "$WORK/knot/knot.conf" >"$WORK/knot/stdout.log" 2>&1 &
PID[knot]=$!
PIDS+=("${PID[knot]}")

# --- dnsmeshd: RRL at its defaults (nothing set), records loaded over HTTP -------------------
mkdir -p "$WORK/node"
PORT[dnsmeshd]=$(free_port 16353)
env DMP_DNS_HOST=127.0.0.1 DMP_DNS_PORT="${PORT[dnsmeshd]}" DMP_HTTP_HOST=127.0.0.1 \
    DMP_HTTP_PORT=0 DMP_PORTS_FILE="$WORK/node/ports" DMP_DB_PATH="$WORK/node/db" \
    DMP_HTTP_RATE=0 DMP_HTTP_BURST=0 DMP_FRONTENDS=1 DMP_SHARDS=1 DMP_SERVED_ZONE=mesh.test \
    DMP_DNS_APEX_NS=ns1.mesh.test DMP_DNS_APEX_SOA_RNAME=hostmaster.mesh.test \
    DMP_LOG_LEVEL=warning \
    "${PRIO[@]}" taskset -c "$SERVER_CPU" "$NODE" >"$WORK/node/stdout.log" 2>&1 &
PID[dnsmeshd]=$!
PIDS+=("${PID[dnsmeshd]}")
for ((i = 0; i < 100; i++)); do
    [[ -s "$WORK/node/ports" ]] && break
    kill -0 "${PID[dnsmeshd]}" 2>/dev/null || break
    sleep 0.1
done
[[ -s "$WORK/node/ports" ]] || { tail -20 "$WORK/node/stdout.log" >&2; die "dnsmeshd did not start"; }
HTTP_PORT=$(sed -n 's/.*http=[^ ]*:\([0-9]*\).*/\1/p' "$WORK/node/ports")
taskset -c "$GEN_CPU" "$BENCH" load --port "$HTTP_PORT" --file "$WORK/recs/records.jsonl" \
    --conns 8 --duration 600 --json --quiet >"$WORK/load.json" || true
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["ok"] == r["sent"] > 0 else "dnsmeshd took %d of %d records" % (r["ok"], r["sent"]))' "$WORK/load.json"
wait_dns "${PORT[dnsmeshd]}" "$FLOOD_NAME" dnsmeshd
wait_dns "${PORT[knot]}" "$FLOOD_NAME" Knot
echo "# dnsmeshd 127.0.0.1:${PORT[dnsmeshd]} (pid ${PID[dnsmeshd]}), Knot 127.0.0.1:${PORT[knot]} (pid ${PID[knot]})"

rcvbuf() { ss -Huamn "sport = :$1" | grep -o 'rb[0-9]*' | head -1 | tr -d rb; }
echo "# UDP receive buffers (bytes, as the kernel reports them): dnsmeshd $(rcvbuf "${PORT[dnsmeshd]}"), Knot $(rcvbuf "${PORT[knot]}")"
SERVERS=(dnsmeshd knot)
run() { # SERVER OUT SECONDS: one run with the other server frozen; OUT.cpu_ms gets its CPU
    local s=$1 o c0 c1 d0
    for o in "${SERVERS[@]}"; do [[ $o == "$s" ]] || kill -STOP "${PID[$o]}"; done
    sleep 1 # the other server's run came between: both tables have refilled (ours to 1 s worth, Knot's to 4 s)
    c0=$(cpu_ticks "${PID[$s]}")
    d0=$(udp_drops "${PORT[$s]}")
    thread_ticks "${PID[$s]}" >"$2.t0"
    "${PRIO[@]}" taskset -c "$GEN_CPU" "$BENCH" rrl --port "${PORT[$s]}" --expect "$WORK/expect.txt" \
        "${FLOOD_ARGS[@]}" --legit-rate "$LEGIT_RATE" --flood-rate "$FLOOD_RATE" \
        --duration "$3" --cpu "$GEN_CPU" --json >"$2" || true
    c1=$(cpu_ticks "${PID[$s]}")
    echo "$(((c1 - c0) * 1000 / CLK_TCK))" >"$2.cpu_ms"
    echo "$(($(udp_drops "${PORT[$s]}") - d0))" >"$2.sockdrops"
    # CPU per thread name (ms), busiest first: which of the server's threads did the work
    thread_ticks "${PID[$s]}" | join "$2.t0" - |
        awk -v hz="$CLK_TCK" '{sub(/\/.*/, "", $1); d[$1] += $3 - $2} END {for (k in d) if (d[k] > 0) printf "%s %d\n", k, d[k] * 1000 / hz}' |
        sort -k2,2nr | awk '{printf "%s%s=%.2fs", (NR > 1 ? " " : ""), $1, $2 / 1000}' >"$2.threads"
    for o in "${SERVERS[@]}"; do kill -CONT "${PID[$o]}"; done
}

# one short warm-up each (answer caches, page cache), not counted
for s in "${SERVERS[@]}"; do run "$s" "$WORK/warm-$s.json" 2; done
sleep 4
for ((r = 1; r <= RUNS; r++)); do
    for s in "${SERVERS[@]}"; do
        run "$s" "$WORK/run-$s-$r.json" "$DURATION"
        python3 - "$WORK/run-$s-$r.json" "$s" "$r" <<'EOF' || echo "run $r $s: no result"
import json, sys
j = json.load(open(sys.argv[1])); c = int(open(sys.argv[1] + ".cpu_ms").read()) / 1000
d = int(open(sys.argv[1] + ".sockdrops").read())
th = open(sys.argv[1] + ".threads").read().strip()
l, f = j["legit"], j["flood"]
print("run %s %-8s legit %d sent, %.3f %% in full (trunc %d, wrong %d, lost %d), p50 %.0f us p99 %.0f us | "
      "flood %d sent (%.0f/s): full %d, slipped %d, dropped %d, wrong %d, %.2f B/query | "
      "server CPU %.2f s (%s), server socket drops %d, bench rx overflow %d/%d"
      % (sys.argv[3], sys.argv[2], l["sent"], l["full_pct"], l["truncated"], l["wrong"], l["lost"],
         l["p50_us"], l["p99_us"], f["sent"], f["rate"], f["full"], f["slipped"], f["dropped"],
         f["wrong"], f["bytes_per_query"], c, th, d, l["rx_overflow"], f["rx_overflow"]))
EOF
    done
    sleep 4
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$WORK" "$RUNS" <<'EOF'
import json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
rows = {}
for s in ("dnsmeshd", "knot"):
    rs = []
    for r in range(1, runs + 1):
        try:
            j = json.load(open("%s/run-%s-%d.json" % (work, s, r)))
            j["cpu"] = int(open("%s/run-%s-%d.json.cpu_ms" % (work, s, r)).read()) / 1000
            j["sockdrops"] = int(open("%s/run-%s-%d.json.sockdrops" % (work, s, r)).read())
            rs.append(j)
        except Exception:
            pass
    rows[s] = rs
if not rows["dnsmeshd"] or not rows["knot"]:
    sys.exit("missing results")
def per_read(j):
    # flood queries the server read: those sent, less the kernel's drops at its socket that
    # were not legitimate queries (a legitimate query is never rate limited, so every one
    # lost was dropped at the socket)
    flood_lost = max(0, j["sockdrops"] - j["legit"]["lost"])
    read = j["flood"]["sent"] - flood_lost
    return j["flood"]["bytes"] / read if read > 0 else 0.0
def med(s, f):
    return statistics.median(f(j) for j in rows[s])
metrics = [
    ("legit answered in full %", lambda j: j["legit"]["full_pct"], "%.3f"),
    ("legit truncated", lambda j: j["legit"]["truncated"], "%.0f"),
    ("legit lost", lambda j: j["legit"]["lost"], "%.0f"),
    ("legit p50 us", lambda j: j["legit"]["p50_us"], "%.0f"),
    ("legit p99 us", lambda j: j["legit"]["p99_us"], "%.0f"),
    ("flood queries sent", lambda j: j["flood"]["sent"], "%.0f"),
    ("flood answered in full", lambda j: j["flood"]["full"], "%.0f"),
    ("flood slipped (TC=1)", lambda j: j["flood"]["slipped"], "%.0f"),
    ("flood dropped", lambda j: j["flood"]["dropped"], "%.0f"),
    ("flood wrong", lambda j: j["flood"]["wrong"], "%.0f"),
    ("reflected bytes", lambda j: j["flood"]["bytes"], "%.0f"),
    ("reflected bytes / flood query", lambda j: j["flood"]["bytes_per_query"], "%.2f"),
    ("  ... / flood query it read", per_read, "%.2f"),
    ("server CPU s", lambda j: j["cpu"], "%.2f"),
    ("server socket drops (kernel)", lambda j: j["sockdrops"], "%.0f"),
]
print("== medians over %d interleaved runs each" % runs)
print("  %-30s %12s %12s %10s" % ("", "dnsmeshd", "knot", "ours/knot"))
for name, f, fmt in metrics:
    a, b = med("dnsmeshd", f), med("knot", f)
    ratio = ("%.3f" % (a / b)) if b else "-"
    print("  %-30s %12s %12s %10s" % (name, fmt % a, fmt % b, ratio))
full = med("dnsmeshd", lambda j: j["legit"]["full_pct"])
bq, bk = (med(s, lambda j: j["flood"]["bytes_per_query"]) for s in ("dnsmeshd", "knot"))
print("goal: legitimate answered in full >= 99 %%: %.3f %% -> %s" % (full, "MET" if full >= 99 else "NOT MET"))
print("goal: reflected bytes per flood query <= Knot's: %.2f vs %.2f (%.3fx) -> %s"
      % (bq, bk, bq / bk if bk else 0, "MET" if bq <= bk else "NOT MET"))
print("goal (Knot, same run): legitimate answered in full: %.3f %%"
      % med("knot", lambda j: j["legit"]["full_pct"]))
dk = med("knot", lambda j: j["sockdrops"])
if dk or med("dnsmeshd", lambda j: j["sockdrops"]):
    rq, rk = med("dnsmeshd", per_read), med("knot", per_read)
    print("note: a server dropped queries at its socket (Knot median %.0f per run), which lowers"
          " its bytes per query sent; per flood query it read: %.2f vs %.2f (%.3fx)"
          % (dk, rq, rk, rq / rk if rk else 0))
EOF
