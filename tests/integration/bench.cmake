# dnsmesh-bench as a load-testing tool: each mode (dns with checked answers, steps, query files,
# dmp) briefly against a real dnsmeshd on loopback. bench/ is included after this file, so the
# target is referred to by generator expression only.
if(DMP_BENCH AND NOT DMP_FUZZ AND TARGET dnsmeshd)
  add_test(NAME bench_tool COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/bench_tool.py
                                   $<TARGET_FILE:dnsmeshd> $<TARGET_FILE:dnsmesh-bench>
                                   ${PROJECT_SOURCE_DIR})
  set_tests_properties(bench_tool PROPERTIES TIMEOUT 240)
endif()
