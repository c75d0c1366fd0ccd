dmp_fuzz_target(fuzz_cluster_json SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_cluster_json.c
                LIBS dmp_cluster CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/cluster_json)
dmp_fuzz_target(fuzz_cluster_merkle SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_cluster_merkle.c
                LIBS dmp_cluster CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/cluster_merkle)
