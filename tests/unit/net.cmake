# test_net_<part>: the rings, the UDP frontends and the TCP frontend, sharing net_harness.c
# (a trivial handler, a server under the group's backend, loopback clients).
set(_unit_dir ${CMAKE_CURRENT_LIST_DIR})
foreach(_part rings udp tcp)
  dmp_unit_test(test_net_${_part} SOURCES ${_unit_dir}/test_net_${_part}.c
                ${_unit_dir}/net_harness.c LIBS dmp_net)
endforeach()
dmp_unit_test(test_net_tcp_conn SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_net_tcp_conn.c LIBS dmp_net)
