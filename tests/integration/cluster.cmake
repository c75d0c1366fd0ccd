# Manifest gossip end to end with dnsmesh-admin signing and publishing the manifest.
if(TARGET dnsmeshd AND EXISTS ${PROJECT_SOURCE_DIR}/tools/dnsmesh-admin/CMakeLists.txt)
  add_test(NAME cluster_gossip COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/cluster_gossip.sh
                                           $<TARGET_FILE:dnsmeshd> $<TARGET_FILE:dnsmesh-admin>)
  set_tests_properties(cluster_gossip PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60)
endif()
