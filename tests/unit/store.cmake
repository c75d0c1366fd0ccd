# test_store_<part>: reads and writes, the indexes, concurrency and crash safety, the read path
# at scale and the write path's economies, sharing store_harness.c (a store in a fresh temporary
# directory per test).
foreach(_part rw index crash read write setup)
  dmp_unit_test(test_store_${_part} SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_store_${_part}.c
                ${CMAKE_CURRENT_LIST_DIR}/store_harness.c LIBS dmp_store)
endforeach()
dmp_unit_test(test_store_bucket SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_store_bucket.c LIBS dmp_store)
dmp_unit_test(test_store_ingest SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_store_ingest.c LIBS dmp_store)
