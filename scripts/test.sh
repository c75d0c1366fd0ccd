#!/usr/bin/env bash
# Builds dnsmesh-c and runs every test: the suite with -Werror, the suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer, the unit tests that run threads under
# ThreadSanitizer, the clang-format check, and each libFuzzer target briefly from its committed
# seed corpus.
#   scripts/test.sh            everything
#   scripts/test.sh --quick    the -Werror suite only
# Env: DMP_FUZZ_SECONDS (per target, default 10), JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/install-deps.sh

jobs=${JOBS:-$(nproc)}
quick=0
[[ "${1:-}" == "--quick" ]] && quick=1

step() { printf '\n==== %s ====\n' "$*"; }

step "format check"
mapfile -t cfiles < <(git ls-files '*.c' '*.h' 2>/dev/null || find src tests bench tools -name '*.[ch]')
if ((${#cfiles[@]})); then
  clang-format --dry-run -Werror "${cfiles[@]}"
fi

step "build (-Werror) and test"
cmake -S . -B build -DDMP_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
passed=0
# ctest prints "N% tests passed, F tests failed out of T"; add up what ran
count() { sed -nE 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2 \1/p' "$1" | tail -1; }
# run_ctest DIR [VAR=value ...] [-- ctest arguments ...]
run_ctest() {
  local dir=$1 log
  log=$(mktemp)
  shift
  local envs=() args=()
  while (($#)) && [[ "$1" != "--" ]]; do envs+=("$1"); shift; done
  (($#)) && shift && args=("$@")
  (cd "$dir" && env "${envs[@]}" ctest --output-on-failure -j"$jobs" "${args[@]}") 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  read -r total failed < <(count "$log")
  passed=$((passed + total - failed))
  rm -f "$log"
  return "$rc"
}
run_ctest build
if ((quick)); then
  echo "total: $passed passed, 0 failed"
  exit 0
fi

step "build under ASan+UBSan and test"
cmake -S . -B build-asan -DDMP_WERROR=ON -DDMP_SANITIZE=ON -DDMP_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
run_ctest build-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# ThreadSanitizer (jemalloc left out, as under ASan): the unit tests that start threads. The
# store's crash tests fork after RocksDB's threads start, which TSan cannot follow; they skip
# themselves in this build (they run in the two builds above). tests/tsan.supp says why
# RocksDB's own (uninstrumented) synchronisation is suppressed.
tsan_tests=(test_net test_store test_node test_node_core test_cache)
step "build under ThreadSanitizer and run ${tsan_tests[*]}"
cmake -S . -B build-tsan -DDMP_WERROR=ON -DDMP_TSAN=ON -DDMP_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-tsan -j"$jobs" --target "${tsan_tests[@]}"
run_ctest build-tsan \
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/tsan.supp" \
  -- -R "^($(IFS='|'; echo "${tsan_tests[*]}"))\$"

step "fuzz targets (${DMP_FUZZ_SECONDS:-10}s each)"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DDMP_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz -j"$jobs"
nfuzz=0
for bin in build-fuzz/fuzz_*; do
  [[ -x "$bin" ]] || continue
  name=$(basename "$bin")
  corpus="$root/tests/fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  [[ -d "$corpus" ]] && cp -r "$corpus"/. "$work"/
  echo "-- $name"
  "$bin" -max_total_time="${DMP_FUZZ_SECONDS:-10}" -rss_limit_mb=2048 -print_final_stats=1 "$work" \
    >"$work.log" 2>&1 || { tail -50 "$work.log"; echo "$name FAILED"; exit 1; }
  grep -E 'stat::number_of_executed_units' "$work.log" || true
  rm -rf "$work" "$work.log"
  nfuzz=$((nfuzz + 1))
done
echo "fuzz: $nfuzz targets ran clean"
echo "total: $((passed + nfuzz)) passed, 0 failed"
