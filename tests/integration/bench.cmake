# dnsmesh-bench as a load-testing tool: each mode (dns with checked answers over UDP, TCP and
# io_uring, steps, query files, dmp over HTTP and over UPDATE) briefly against a real dnsmeshd
# on loopback. bench/ and tools/ are added after this file, so their targets are referred to by
# generator expression only.
if(DMP_BENCH AND NOT DMP_FUZZ AND TARGET dnsmeshd)
  set(_bench_admin "")
  if(EXISTS ${PROJECT_SOURCE_DIR}/tools/dnsmesh-admin/CMakeLists.txt)
    set(_bench_admin $<TARGET_FILE:dnsmesh-admin>)
  endif()
  add_test(NAME bench_tool COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/bench_tool.py
                                   $<TARGET_FILE:dnsmeshd> $<TARGET_FILE:dnsmesh-bench>
                                   ${PROJECT_SOURCE_DIR} ${_bench_admin})
  set_tests_properties(bench_tool PROPERTIES TIMEOUT 240)
endif()
