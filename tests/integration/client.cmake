# Integration test of the dnsmesh CLI: real dnsmeshd processes on loopback, two users.
if(TARGET dnsmeshd)  # dnsmesh (tools/) is added later; generator expressions resolve it
  add_executable(client_sign_cluster ${CMAKE_CURRENT_LIST_DIR}/client_sign_cluster.c)
  target_link_libraries(client_sign_cluster PRIVATE dmp_wire dmp_crypto dmp_util)
  add_test(NAME client_e2e COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/client_e2e.sh
                                   $<TARGET_FILE:dnsmeshd> $<TARGET_FILE:dnsmesh>
                                   $<TARGET_FILE:client_sign_cluster>)
  set_tests_properties(client_e2e PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
endif()
