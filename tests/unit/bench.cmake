# The pure parts of dnsmesh-bench's benchmarks (built whether or not DMP_BENCH is on).
dmp_unit_test(test_bench_missfloor SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_bench_missfloor.c
              ${PROJECT_SOURCE_DIR}/bench/bench_missfloor_pick.c)
target_include_directories(test_bench_missfloor PRIVATE ${PROJECT_SOURCE_DIR}/bench)
