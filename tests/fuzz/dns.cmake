dmp_fuzz_target(fuzz_dns_query SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_dns_query.c
                LIBS dmp_dns PkgConfig::LDNS CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/dns_query)
