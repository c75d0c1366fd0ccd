# DNS UPDATE with TSIG through the real tools (nsupdate, knsupdate, dig) and crafted messages.
# (dnsmesh-admin is defined later, under tools/: its file is resolved at generate time.)
if(TARGET dnsmeshd AND EXISTS ${PROJECT_SOURCE_DIR}/tools/dnsmesh-admin/CMakeLists.txt)
  add_test(NAME node_update_nsupdate
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/update_nsupdate.sh $<TARGET_FILE:dnsmeshd>
                   $<TARGET_FILE:dnsmesh-admin>)
  set_tests_properties(node_update_nsupdate PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
if(TARGET dnsmeshd AND EXISTS ${PROJECT_SOURCE_DIR}/tools/dnsmesh-admin/CMakeLists.txt)
  add_executable(test_update_integ ${CMAKE_CURRENT_LIST_DIR}/itest.c
                                   ${CMAKE_CURRENT_LIST_DIR}/test_update_integ.c)
  target_link_libraries(test_update_integ PRIVATE dmp_client PkgConfig::CMOCKA PkgConfig::LDNS dmp_dns
                                                  dmp_wire)
  add_test(NAME node_update_integration
           COMMAND test_update_integ $<TARGET_FILE:dnsmeshd> $<TARGET_FILE:dnsmesh-admin>)
  set_tests_properties(node_update_integration PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
  add_dependencies(test_update_integ dnsmeshd)
endif()
if(TARGET dnsmeshd)
  add_executable(test_tsig_reg_integ ${CMAKE_CURRENT_LIST_DIR}/itest.c
                                     ${CMAKE_CURRENT_LIST_DIR}/test_tsig_reg_integ.c)
  target_link_libraries(test_tsig_reg_integ PRIVATE dmp_client PkgConfig::CMOCKA PkgConfig::JANSSON dmp_dns
                                                    dmp_crypto)
  add_test(NAME node_tsig_registration COMMAND test_tsig_reg_integ $<TARGET_FILE:dnsmeshd>)
  set_tests_properties(node_tsig_registration PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
  add_dependencies(test_tsig_reg_integ dnsmeshd)
endif()
