dmp_unit_test(test_cache SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cache.c LIBS dmp_cache Threads::Threads)
