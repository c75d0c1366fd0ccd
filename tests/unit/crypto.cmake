dmp_unit_test(test_crypto SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_crypto.c LIBS dmp_crypto)
