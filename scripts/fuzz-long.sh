#!/usr/bin/env bash
# Long fuzz run: every libFuzzer target (or the ones named) for a given time each, with a kept
# corpus that is minimised (libFuzzer -merge=1) after each run, and crash artifacts saved.
#   scripts/fuzz-long.sh [-t SECONDS] [-r RUNS] [-d UNTIL] [-o DIR] [target ...]
#     -t  seconds per target (default 600): the run stops then at the latest
#     -r  executions per target (libFuzzer -runs): the run stops after that many (with -t too,
#         whichever comes first); default: no count limit
#     -d  no run starts after UNTIL (any `date -d` time, e.g. 06:55) and a run is cut to end by
#         it: for a machine shared with others
#     -o  where corpora, crashes and the results table live (default build-fuzz/long; not
#         committed: copy a minimised corpus into tests/fuzz/corpus/<name>/ only when small)
#   Targets are fuzz_* binaries in build-fuzz (FUZZ_BUILD overrides it: a separate build dir lets
#   a long run go on while scripts/test.sh rebuilds build-fuzz as Debug), built here with clang,
#   -DDMP_FUZZ=ON. The fuzzers run under nice (NICE, default 15), one at a time.
# Prints a Markdown table (target, seconds, executions, exec/s, corpus units, crashes, total
# executions over every run kept in DIR) and appends it to DIR/results.md for docs/testing.md;
# DIR/execs.tsv keeps one line per run (target, seconds, executions, crashes). Exit 1 when a
# target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=600
runs=-1
until_s=
out=$root/build-fuzz/long
while getopts "t:r:d:o:" o; do
  case $o in
  t) secs=$OPTARG ;;
  r) runs=$OPTARG ;;
  d) until_s=$(date -d "$OPTARG" +%s) ;;
  o) out=$OPTARG ;;
  *) sed -n '2,18p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

bdir=${FUZZ_BUILD:-build-fuzz}
cmake -S . -B "$bdir" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DDMP_FUZZ=ON \
  -DDMP_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if (($#)); then
  cmake --build "$bdir" -j"${JOBS:-2}" --target "$@"
  targets=("$@")
else
  cmake --build "$bdir" -j"${JOBS:-2}"
  targets=()
  for b in "$bdir"/fuzz_*; do [[ -x $b ]] && targets+=("$(basename "$b")"); done
fi
mkdir -p "$out"
table=$out/table.$$
{
  echo "| target | seconds | executions | exec/s | corpus units (minimised) | crashes | executions, all runs |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
} >"$table"
crashed=0
for t in "${targets[@]}"; do
  name=${t#fuzz_}
  corpus=$out/corpus/$name
  crashes=$out/crashes/$name
  mkdir -p "$corpus" "$crashes"
  [[ -d tests/fuzz/corpus/$name ]] && cp -rn tests/fuzz/corpus/"$name"/. "$corpus"/ 2>/dev/null || true
  log=$out/$name.log
  t0=$(date +%s)
  tsecs=$secs
  if [[ -n $until_s ]]; then
    if ((t0 >= until_s - 10)); then
      echo "-- $t: not started (past -d)" >&2
      continue
    fi
    ((until_s - t0 < tsecs)) && tsecs=$((until_s - t0))
  fi
  echo "-- $t: ${tsecs}s, runs $runs" >&2
  rc=0
  nice -n "${NICE:-15}" "$bdir/$t" -max_total_time="$tsecs" -runs="$runs" -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1 || rc=$?
  took=$(($(date +%s) - t0))
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
  rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -1)
  # minimise: keep only inputs that add coverage
  min=$out/corpus/$name.min
  rm -rf "$min"
  mkdir -p "$min"
  "$bdir/$t" -merge=1 -rss_limit_mb=2048 -timeout=10 "$min" "$corpus" >"$log.merge" 2>&1 &&
    { rm -rf "$corpus"; mv "$min" "$corpus"; } || rm -rf "$min"
  units=$(find "$corpus" -type f | wc -l)
  ncrash=$(find "$crashes" -type f | wc -l)
  if ((rc != 0)); then
    crashed=1
    echo "$t exited $rc; log: $log" >&2
    tail -30 "$log" >&2
  fi
  printf '%s\t%s\t%s\t%s\n' "$t" "$took" "${execs:-0}" "$ncrash" >>"$out/execs.tsv"
  total=$(awk -F'\t' -v t="$t" '$1 == t { s += $3 } END { print s + 0 }' "$out/execs.tsv")
  echo "| $t | $took | ${execs:-?} | ${rate:-?} | $units | $ncrash | $total |" >>"$table"
done
{
  echo
  echo "### $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  cat "$table"
} >>"$out/results.md"
cat "$table"
rm -f "$table"
exit $crashed
