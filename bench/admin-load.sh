#!/usr/bin/env bash
# admin-load.sh: `dnsmesh-admin load` of one input into fresh stores, two builds interleaved
# (BEFORE, AFTER), RUNS times each; per run: wall seconds, user + system CPU seconds, records/s
# wall and per CPU-second, peak RSS (/usr/bin/time), the load average before and after, the
# loader's table-file summary and its phases (wall/CPU seconds each, where it prints them).
# Every store is removed after its run. Run it under `flock /work/bench.lock` on the shared
# box; make the input with bench/gen_records.py.
#
#   bench/admin-load.sh --before BIN --after BIN --input FILE [--runs R] [--dir DIR]
set -euo pipefail

BEFORE=""
AFTER=""
INPUT=""
RUNS=3
DIR=${TMPDIR:-/tmp}
while [[ $# -gt 0 ]]; do
    case "$1" in
    --before | --after | --input | --runs | --dir)
        [[ $# -ge 2 ]] || { echo "admin-load.sh: $1 needs a value" >&2; exit 2; } ;;&
    --before) BEFORE=$2; shift 2 ;;
    --after) AFTER=$2; shift 2 ;;
    --input) INPUT=$2; shift 2 ;;
    --runs) [[ $2 =~ ^[0-9]+$ && $2 -ge 1 && $2 -le 20 ]] || { echo "admin-load.sh: --runs 1..20" >&2; exit 2; }; RUNS=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "admin-load.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ -x $BEFORE && -x $AFTER && -f $INPUT ]] || { echo "admin-load.sh: --before, --after (programs) and --input (file) are needed" >&2; exit 2; }
STORE=$(mktemp -d "$DIR/admin-load.XXXXXX")
OUT=$(mktemp)
trap 'rm -rf "$STORE" "$OUT"' EXIT
for r in $(seq 1 "$RUNS"); do
    for which in before after; do
        bin=$BEFORE
        [[ $which == after ]] && bin=$AFTER
        rm -rf "$STORE/db"
        sync
        la0=$(cut -d' ' -f1-3 /proc/loadavg)
        t=$({ /usr/bin/time -f "TIME %e %U %S %M" "$bin" --db "$STORE/db" load "$INPUT" >"$OUT"; } 2>&1 | grep '^TIME')
        read -r _ e u s m <<<"$t"
        n=$(grep -o '^loaded [0-9]*' "$OUT" | cut -d' ' -f2)
        cpu=$(echo "$u + $s" | bc)
        echo "$which run=$r records=$n wall_s=$e cpu_s=$cpu (user $u, sys $s)" \
            "rec_per_s_wall=$(echo "$n / $e" | bc) rec_per_cpu_s=$(echo "$n / $cpu" | bc)" \
            "maxrss_kb=$m loadavg=[$la0] -> [$(cut -d' ' -f1-3 /proc/loadavg)]" \
            "$(grep 'table files' "$OUT" | sed 's/^ *//; s/;.*//')"
        # the loader's own phases (wall/CPU seconds), where it prints them
        grep 'phases' "$OUT" | sed 's/^ */  /' || true
    done
done
