dmp_fuzz_target(fuzz_node_tsig_rec SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_node_tsig_rec.c
                LIBS dmp_node CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/node_tsig_rec)
