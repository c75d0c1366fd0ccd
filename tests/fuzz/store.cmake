dmp_fuzz_target(fuzz_store_record SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_store_record.c
                LIBS dmp_store CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/store_record)
