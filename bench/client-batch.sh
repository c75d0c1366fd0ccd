#!/usr/bin/env bash
# client-batch.sh: what the client's batch publish saves. `dnsmesh send` of the largest message
# (24,724 bytes: 255 chunks + manifest) through one dnsmeshd, the client's default (batches of up
# to 64 records, POST /v1/records) against one record a request (DMP_HTTP_BATCH=1, as the
# reference's client sends them), interleaved. Per send: the node's CPU (its threads' time on
# CPU from /proc/PID/task/*/schedstat), the client's own network time (DNSMESH_SEND_DEBUG), the
# whole command's wall time and the HTTP requests it made; then the medians and their ratios.
# Node on CPU 0, client on CPU 1, limiters off; bob receives after every send so his mailbox
# never fills.
#
#   bench/client-batch.sh BUILD_DIR [ROUNDS]      (ROUNDS default 7, 1..50)
# Loopback only; the node is started here and stopped by its PID.
set -uo pipefail
[[ $# -ge 1 && $1 != -h && $1 != --help ]] || { sed -n '2,12p' "$0"; exit 2; }
B=$(cd "$1" && pwd) || exit 2
ROUNDS=${2:-7}
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 && $ROUNDS -le 50 ]] || { echo "ROUNDS: 1..50" >&2; exit 2; }
T=$(mktemp -d /tmp/dnsmesh-cb.XXXXXX)
taskset -c 0 "$B/src/node/dnsmeshd" --db-path="$T/db" --dns-host=127.0.0.1 --dns-port=0 \
  --http-host=127.0.0.1 --http-port=0 --ports-file="$T/ports" --http-burst=100000 \
  --http-rate=100000 --dns-rate=0 --log-level=warning >"$T/node.log" 2>&1 &
NODE=$!
trap 'kill $NODE 2>/dev/null; wait $NODE 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do [[ -s $T/ports ]] && break; sleep 0.05; done
[[ -s $T/ports ]] || { echo "dnsmeshd did not start: $(cat "$T/node.log")" >&2; exit 1; }
DNS=$(sed 's/.*dns=\([^ ]*\).*/\1/' "$T/ports")
HTTP=$(sed 's/.*http=\([^ ]*\).*/\1/' "$T/ports")
export DNSMESH_NO_DEFAULT_PROVIDER=1
as() {
  local u=$1
  shift
  DMP_CONFIG_HOME=$T/$u DMP_PASSPHRASE=$u-pass taskset -c 1 "$B/tools/dnsmesh/dnsmesh" "$@"
}
for u in alice bob; do
  as $u init $u --domain mesh.test --endpoint "http://$HTTP" --dns-resolvers "$DNS" \
    --no-probe-local-dns >/dev/null 2>&1 || { echo "init $u failed" >&2; exit 1; }
  as $u identity publish >/dev/null || { echo "publish $u failed" >&2; exit 1; }
done
as alice identity fetch bob --add >/dev/null || { echo "fetch bob failed" >&2; exit 1; }
head -c 20000 /dev/urandom | base64 -w0 | head -c 24724 >"$T/mmax"
cpu_ns() { cat /proc/$NODE/task/*/schedstat | awk '{s += $1} END {print s}'; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo "== $(date -u +%FT%TZ) node pid $NODE, $ROUNDS rounds, load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  for mode in 64 1; do
    c0=$(cpu_ns)
    t0=$(date +%s%N)
    line=$(DMP_HTTP_BATCH=$mode DNSMESH_SEND_DEBUG=1 as alice send bob "@$T/mmax" 2>&1 >/dev/null |
      grep msg_id=) || { echo "send failed (batch $mode)" >&2; exit 1; }
    t1=$(date +%s%N)
    c1=$(cpu_ns)
    as bob recv >/dev/null 2>&1 || { echo "recv failed" >&2; exit 1; }
    req=$(sed -n 's/.*http_requests=\([0-9]*\).*/\1/p' <<<"$line")
    net=$(sed -n 's/.*network=\([0-9.]*\)ms.*/\1/p' <<<"$line")
    cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.1f", (b - a) / 1e6}')
    printf 'round %d batch %-2s node_cpu_ms %6s wall_ms %6d network_ms %7s http_requests %s\n' \
      "$r" "$mode" "$cpu" $(((t1 - t0) / 1000000)) "$net" "$req" | tee -a "$T/rows"
  done
done
echo "== medians (batches of 64 / one record a request)"
for f in node_cpu_ms wall_ms network_ms http_requests; do
  a=$(awk -v f=$f '$4 == "64" {for (i = 1; i < NF; i++) if ($i == f) print $(i + 1)}' "$T/rows" | median)
  b=$(awk -v f=$f '$4 == "1" {for (i = 1; i < NF; i++) if ($i == f) print $(i + 1)}' "$T/rows" | median)
  awk -v f=$f -v a="$a" -v b="$b" 'BEGIN {printf "  %-14s %9s %9s  ratio %.2f\n", f, a, b, b ? a / b : 0}'
done
