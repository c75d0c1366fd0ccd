# Integration tests for dnsmeshd: real processes on ephemeral loopback ports, temporary stores.
if(TARGET dnsmeshd)
  add_executable(test_node_integ ${CMAKE_CURRENT_LIST_DIR}/itest.c
                                 ${CMAKE_CURRENT_LIST_DIR}/test_node_integ.c)
  target_link_libraries(test_node_integ PRIVATE PkgConfig::CMOCKA PkgConfig::LDNS dmp_dns
                                                Threads::Threads)
  add_test(NAME node_integration COMMAND test_node_integ $<TARGET_FILE:dnsmeshd>)
  set_tests_properties(node_integration PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
  add_dependencies(test_node_integ dnsmeshd)

  # The README's flow with the real tools: publish with curl, read with dig (UDP and TCP).
  add_test(NAME node_dig_curl COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/node_dig_curl.sh
                                           $<TARGET_FILE:dnsmeshd>)
  set_tests_properties(node_dig_curl PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60)
endif()
