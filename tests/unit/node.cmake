dmp_unit_test(test_node SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_node.c LIBS dmp_node)
dmp_unit_test(test_node_rrl SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_node_rrl.c LIBS dmp_node)
dmp_unit_test(test_node_core SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_node_core.c LIBS dmp_node)
dmp_unit_test(test_node_auth SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_node_auth.c LIBS dmp_node)
