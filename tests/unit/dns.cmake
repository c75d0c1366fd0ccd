dmp_unit_test(test_dns SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_dns.c LIBS dmp_dns PkgConfig::LDNS)
dmp_unit_test(test_dns_edns SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_dns_edns.c
              LIBS dmp_dns PkgConfig::LDNS)
dmp_unit_test(test_dns_xfr SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_dns_xfr.c LIBS dmp_dns PkgConfig::LDNS)
