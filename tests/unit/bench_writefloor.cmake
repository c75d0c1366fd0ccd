# test_bench_writefloor: the pure logic of `dnsmesh-bench writefloor` (request framing, /proc
# parsing, medians), compiled from bench/ on its own.
dmp_unit_test(test_bench_writefloor SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_bench_writefloor.c
              ${PROJECT_SOURCE_DIR}/bench/bench_writefloor_http.c)
target_include_directories(test_bench_writefloor PRIVATE ${PROJECT_SOURCE_DIR}/bench)
