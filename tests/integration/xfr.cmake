# Zone transfers: Knot as a secondary of dnsmeshd (AXFR, NOTIFY, delete, expiry, REFUSED).
if(TARGET dnsmeshd)
  add_test(NAME xfr_knot COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/xfr_knot.sh $<TARGET_FILE:dnsmeshd>)
  set_tests_properties(xfr_knot PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
# The same with NSD as the secondary.
if(TARGET dnsmeshd)
  add_test(NAME xfr_nsd COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/xfr_nsd.sh $<TARGET_FILE:dnsmeshd>)
  set_tests_properties(xfr_nsd PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
# TSIG-keyed transfers (DMP_XFR_ALLOW addr=key): Knot with the key, kdig with wrong/no key.
if(TARGET dnsmeshd AND EXISTS ${PROJECT_SOURCE_DIR}/tools/dnsmesh-admin/CMakeLists.txt)
  add_test(NAME xfr_tsig COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/xfr_tsig.sh $<TARGET_FILE:dnsmeshd>
                                      $<TARGET_FILE:dnsmesh-admin>)
  set_tests_properties(xfr_tsig PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
