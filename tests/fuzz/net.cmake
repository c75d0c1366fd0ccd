dmp_fuzz_target(fuzz_net_frame SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_net_frame.c LIBS dmp_net
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/net_frame)
dmp_fuzz_target(fuzz_net_tcp_conn SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_net_tcp_conn.c
                LIBS dmp_net CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/net_tcp_conn)
