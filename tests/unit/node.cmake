dmp_unit_test(test_node SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_node.c LIBS dmp_node)
dmp_unit_test(test_node_rrl SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_node_rrl.c LIBS dmp_node)
# test_node_core_<part>: the node core's write path and the core on threads, sharing
# node_core_harness.c (temporary store, injectable clock).
set(_unit_dir ${CMAKE_CURRENT_LIST_DIR})
foreach(part apply shards feread)
  dmp_unit_test(test_node_core_${part} SOURCES ${_unit_dir}/test_node_core_${part}.c
                ${_unit_dir}/node_core_harness.c LIBS dmp_node)
endforeach()
dmp_unit_test(test_node_auth SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_node_auth.c LIBS dmp_node)
dmp_unit_test(test_node_heartbeat SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_node_heartbeat.c LIBS dmp_node)
