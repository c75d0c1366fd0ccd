dmp_fuzz_target(fuzz_erasure_chunk_txt SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_erasure_chunk_txt.c
                LIBS dmp_erasure CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/erasure_chunk_txt)
dmp_fuzz_target(fuzz_erasure_rs SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_erasure_rs.c
                LIBS dmp_erasure CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/erasure_rs)
dmp_fuzz_target(fuzz_erasure_shares SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_erasure_shares.c
                LIBS dmp_erasure CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/erasure_shares)
