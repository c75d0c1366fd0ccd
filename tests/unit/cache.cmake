dmp_unit_test(test_cache SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cache.c LIBS dmp_cache Threads::Threads)
dmp_unit_test(test_cache_door SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cache_door.c LIBS dmp_cache)
