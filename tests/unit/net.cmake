dmp_unit_test(test_net SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_net.c LIBS dmp_net)
dmp_unit_test(test_net_tcp_conn SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_net_tcp_conn.c LIBS dmp_net)
