dmp_unit_test(test_wire SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wire.c LIBS dmp_wire)
dmp_unit_test(test_wire_vectors SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wire_vectors.c
              LIBS dmp_wire)
