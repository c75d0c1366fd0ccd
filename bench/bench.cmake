# dnsmesh-bench: main.c plus every bench/bench_*.c (each registers one subcommand).
file(GLOB _bench_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/bench_*.c)
dmp_executable(dnsmesh-bench ${CMAKE_CURRENT_LIST_DIR}/main.c ${_bench_sources})
target_link_libraries(dnsmesh-bench PRIVATE dmp PkgConfig::JANSSON Threads::Threads m)
