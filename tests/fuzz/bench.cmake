# dnsmesh-bench's answer check: it parses every reply of the server under test.
dmp_fuzz_target(fuzz_bench_answer
                SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_bench_answer.c
                        ${PROJECT_SOURCE_DIR}/bench/bench_dns_expect.c
                        ${PROJECT_SOURCE_DIR}/bench/bench_dns_names.c
                        ${PROJECT_SOURCE_DIR}/bench/bench_dns_util.c
                LIBS dmp_util PkgConfig::JANSSON
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/bench_answer)
target_include_directories(fuzz_bench_answer PRIVATE ${PROJECT_SOURCE_DIR}/bench)
