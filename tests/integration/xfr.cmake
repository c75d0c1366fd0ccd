# Zone transfers: Knot as a secondary of dnsmeshd (AXFR, NOTIFY, delete, expiry, REFUSED).
if(TARGET dnsmeshd)
  add_test(NAME xfr_knot COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/xfr_knot.sh $<TARGET_FILE:dnsmeshd>)
  set_tests_properties(xfr_knot PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
