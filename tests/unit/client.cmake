dmp_unit_test(test_client SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_client.c LIBS dmp_client)
dmp_unit_test(test_client_config SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_client_config.c LIBS dmp_client)
dmp_unit_test(test_client_net SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_client_net.c LIBS dmp_client PkgConfig::MHD PkgConfig::LDNS)
dmp_unit_test(test_client_batch SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_client_batch.c LIBS dmp_client PkgConfig::MHD)
