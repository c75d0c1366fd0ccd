dmp_fuzz_target(fuzz_cache SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_cache.c LIBS dmp_cache
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/cache)
