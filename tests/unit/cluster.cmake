dmp_unit_test(test_cluster SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cluster.c LIBS dmp_cluster)
dmp_unit_test(test_cluster_sync SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cluster_sync.c
              LIBS dmp_cluster)
dmp_unit_test(test_cluster_engine SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cluster_engine.c
              LIBS dmp_cluster)
dmp_unit_test(test_cluster_digest_cost SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cluster_digest_cost.c
              LIBS dmp_cluster)
