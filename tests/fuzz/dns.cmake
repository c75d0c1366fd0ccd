dmp_fuzz_target(fuzz_dns_query SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_dns_query.c
                LIBS dmp_dns PkgConfig::LDNS CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/dns_query)
dmp_fuzz_target(fuzz_dns_xfr SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_dns_xfr.c LIBS dmp_dns
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/dns_xfr)
