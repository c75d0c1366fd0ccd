dmp_unit_test(test_store SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_store.c LIBS dmp_store)
dmp_unit_test(test_store_bucket SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_store_bucket.c LIBS dmp_store)
dmp_unit_test(test_store_ingest SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_store_ingest.c LIBS dmp_store)
