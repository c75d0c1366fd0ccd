# test_name_index: the name index (src/index) over a real store (store_harness.c): what the walk
# writes equals what the DNS path builds from dmp_store_get, and a write's invalidation is never
# lost to the walk, whichever runs first (also under ThreadSanitizer, scripts/test.sh).
dmp_unit_test(test_name_index SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_name_index.c
              ${CMAKE_CURRENT_LIST_DIR}/store_harness.c LIBS dmp_index dmp_store dmp_dns Threads::Threads)
