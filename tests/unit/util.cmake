dmp_unit_test(test_util SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_util.c LIBS dmp_util)
