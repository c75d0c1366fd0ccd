dmp_unit_test(test_node_tsig SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_node_tsig.c LIBS dmp_node)
