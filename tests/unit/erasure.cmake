dmp_unit_test(test_erasure SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_erasure.c LIBS dmp_erasure)
