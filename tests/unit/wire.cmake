# test_wire_<part>: one executable per record family, sharing wire_harness.c.
set(_unit_dir ${CMAKE_CURRENT_LIST_DIR})
foreach(part message identity cluster names)
  dmp_unit_test(test_wire_${part} SOURCES ${_unit_dir}/test_wire_${part}.c
                ${_unit_dir}/wire_harness.c LIBS dmp_wire)
endforeach()
dmp_unit_test(test_wire_vectors SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wire_vectors.c
              LIBS dmp_wire)
