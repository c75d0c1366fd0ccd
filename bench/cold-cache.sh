#!/usr/bin/env bash
# cold-cache.sh: dnsmeshd started on a cold page cache (after a reboot, or once the kernel has
# reclaimed the store's pages), without and with the prefetch pass at start
# (DMP_STORE_PREFETCH_MB=0 against auto). For every pair and arm: the store's table files are
# written back and dropped from the page cache (posix_fadvise DONTNEED; nothing else's), the node
# is started on the store (bench/store-node.sh: one frontend, one shard, limiters off, its
# threads on core $SERVER_CPU, returns once one name is answered), and `dnsmesh-bench dns` at
# once offers RATE q/s of random names of the store (no answer cache can help: each name is
# fresh) for DURATION s from core $GEN_CPU: answered q/s, p50, p99, and how much of the table
# files the page cache held at the end (fincore).
#
#   bench/cold-cache.sh STORE NAMES BIN [PAIRS] [RATE] [DURATION]
#     STORE: a store from `dnsmesh-admin load` (not open elsewhere); NAMES: its names, one per
#     line; BIN: dnsmeshd; PAIRS (default 3), RATE (default 10000), DURATION (default 5)
# Loopback only; each node is started here and stopped by its PID.
set -euo pipefail
[[ $# -ge 3 ]] || { echo "usage: $0 STORE NAMES BIN [PAIRS] [RATE] [DURATION]" >&2; exit 2; }
STORE=$1 NAMES=$2 BIN=$3 PAIRS=${4:-3} RATE=${5:-10000} DURATION=${6:-5}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/store-node.sh
source "$HERE/store-node.sh"
BENCH=${BENCH:-$(dirname "$BIN")/../../dnsmesh-bench}
[[ -x $BENCH ]] || BENCH=$(command -v dnsmesh-bench || true)
[[ -x $BENCH ]] || { echo "dnsmesh-bench not found (BENCH=...)" >&2; exit 1; }
((PAIRS >= 1 && PAIRS <= 10)) || { echo "PAIRS: 1..10" >&2; exit 2; }
((RATE >= 100 && RATE <= 200000 && DURATION >= 1 && DURATION <= 60)) || {
    echo "RATE 100..200000, DURATION 1..60" >&2; exit 2; }
for t in python3 taskset dig fincore shuf; do command -v "$t" >/dev/null || { echo "$t is missing" >&2; exit 1; }; done
W=$(mktemp -d /tmp/cold-cache.XXXXXX)
pid=
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
    rm -rf "$W"
}
trap cleanup EXIT
probe=$(head -1 "$NAMES")
shuf -n 200000 --random-source=<(yes) "$NAMES" | sed 's/$/ TXT/' >"$W/q.txt"

drop() { # write back and drop the store's table files from the page cache
    sync
    python3 - "$STORE" <<'PY'
import glob, os, sys
for p in glob.glob(sys.argv[1] + "/*.sst"):
    fd = os.open(p, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
PY
}
resident() { fincore -b -n -o RES,SIZE "$STORE"/*.sst | awk '{r += $1; s += $2} END {printf "%.1f", 100 * r / s}'; }

echo "# cold-cache $(date -u +%FT%TZ): $STORE ($(du -sm "$STORE" | cut -f1) MiB), $RATE q/s of random names for $DURATION s right after the start, node on CPU $SERVER_CPU, generator on CPU $GEN_CPU; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# command: bench/cold-cache.sh $*"
for ((r = 1; r <= PAIRS; r++)); do
    for pf in 0 auto; do
        drop
        before=$(resident)
        export DMP_STORE_PREFETCH_MB=$pf
        rm -f "$W/ports" # store_node_start waits for a fresh one
        t0=$(date +%s.%N)
        store_node_start "$BIN" "$STORE" "$W" "$probe"
        up=$(python3 -c "import time; print('%.2f' % (time.time() - $t0))")
        taskset -c "$GEN_CPU" "$BENCH" dns --server 127.0.0.1 --port "$port" --names "$W/q.txt" \
            --duration "$DURATION" --rate "$RATE" --cpu "$GEN_CPU" --json --quiet >"$W/r.json" || true
        after=$(resident)
        python3 - "$W/r.json" "$r" "$pf" "$before" "$after" "$up" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("pair %s prefetch %-4s answered %6.0f q/s  p50 %9.1f us  p99 %9.1f us  lost %d  page cache %s%% -> %s%%  first answer %s s"
      % (sys.argv[2], sys.argv[3], r["qps"], r["p50_us"], r["p99_us"], r["lost"], sys.argv[4], sys.argv[5], sys.argv[6]))
PY
        grep -h "prefetch" "$W/out" | sed 's/^/    node: /' || true
        kill -TERM "$pid"
        wait "$pid" || true
        pid=
    done
done
