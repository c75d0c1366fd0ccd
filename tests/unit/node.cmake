dmp_unit_test(test_node SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_node.c LIBS dmp_node)
