#!/usr/bin/env bash
# Builds dnsmesh-c and runs every test: the suite with -Werror, the suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer, the unit tests that run threads under
# ThreadSanitizer, the clang-format check, and each libFuzzer target briefly from its committed
# seed corpus.
#   scripts/test.sh            everything
#   scripts/test.sh --quick    the -Werror suite only
# Skipped tests are listed apart from passed ones; a skip in a group the CI machine must run
# (io_uring, integration) fails the run unless DMP_ALLOW_SKIPS=1.
# Env: DMP_FUZZ_SECONDS (per target, default 10), JOBS (default nproc), DMP_ALLOW_SKIPS.
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
skipped=0
# Groups that must run on the CI machine: a skip there fails the run (DMP_ALLOW_SKIPS=1 turns
# that into a warning on machines without io_uring or dig). "ctest:<name>" = that ctest test
# must not exit 77; "output:<group>:<test>:<text>" = that text in the test's output means the
# group skipped (cmocka skips inside an executable that passes).
required=(
  "output:io_uring:test_net_udp:io_uring backend unavailable"
  "output:io_uring:test_net_tcp:io_uring backend unavailable"
  "ctest:node_integration_dns"
  "ctest:node_integration_http"
  "ctest:node_integration_own"
  "ctest:node_dig_curl"
  "ctest:node_update_nsupdate"
  "ctest:xfr_knot"
  "ctest:xfr_nsd"
  "ctest:xfr_tsig"
  "ctest:client_e2e"
)
run_ctest() {
  local dir=$1 junit
  junit=$(mktemp --suffix=.xml)
  shift
  local envs=() args=()
  while (($#)) && [[ "$1" != "--" ]]; do envs+=("$1"); shift; done
  (($#)) && shift && args=("$@")
  local rc=0
  (cd "$dir" && env "${envs[@]}" ctest --output-on-failure -j"$jobs" --output-junit "$junit" \
    --test-output-size-passed 1000000 --test-output-size-failed 1000000 "${args[@]}") || rc=$?
  local sum src=0
  sum=$(python3 scripts/ctest-summary.py "$junit" "${required[@]}") || src=$?
  printf '%s\n' "$sum" | grep -v '^counts ' || true
  read -r _ p f s < <(printf '%s\n' "$sum" | grep '^counts ')
  passed=$((passed + p))
  skipped=$((skipped + s))
  rm -f "$junit"
  if ((src == 3)) && [[ "${DMP_ALLOW_SKIPS:-0}" != 1 ]]; then
    echo "a required test group skipped (set DMP_ALLOW_SKIPS=1 on a machine that cannot run it)"
    return 1
  fi
  return "$rc"
}
run_ctest build
if ((quick)); then
  echo "total: $passed passed, 0 failed, $skipped skipped"
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
tsan_tests=(test_net_rings test_net_udp test_net_tcp test_store_rw test_store_index test_store_read
  test_store_crash test_store_ingest test_node test_node_core_apply test_node_core_shards
  test_node_core_feread test_cache test_node_rrl test_store_write test_store_setup test_name_index)
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
echo "total: $((passed + nfuzz)) passed, 0 failed, $skipped skipped"
