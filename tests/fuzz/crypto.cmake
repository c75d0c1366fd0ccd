dmp_fuzz_target(fuzz_crypto_message SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_crypto_message.c
                LIBS dmp_crypto CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/crypto_message)
dmp_fuzz_target(fuzz_crypto_envelope SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_crypto_envelope.c
                LIBS dmp_crypto CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/crypto_envelope)
