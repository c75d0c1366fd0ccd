dmp_fuzz_target(fuzz_dns_update SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_dns_update.c
                LIBS dmp_dns PkgConfig::LDNS CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/dns_update)
dmp_fuzz_target(fuzz_dns_tsig SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_dns_tsig.c
                LIBS dmp_dns PkgConfig::LDNS CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/dns_tsig)
