dmp_unit_test(test_dns_update SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_dns_update.c
              LIBS dmp_dns PkgConfig::LDNS)
