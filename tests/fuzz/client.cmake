dmp_fuzz_target(fuzz_client_config SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_client_config.c
                LIBS dmp_client CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/client_config)
dmp_fuzz_target(fuzz_client_dns_answer SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_client_dns_answer.c
                LIBS dmp_client CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/client_dns_answer)
