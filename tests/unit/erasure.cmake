# test_erasure_codes (zfec k-of-n, RS) and test_erasure_pipeline (chunks, sender/receiver),
# sharing erasure_harness.c.
set(_unit_dir ${CMAKE_CURRENT_LIST_DIR})
foreach(part codes pipeline)
  dmp_unit_test(test_erasure_${part} SOURCES ${_unit_dir}/test_erasure_${part}.c
                ${_unit_dir}/erasure_harness.c LIBS dmp_erasure)
endforeach()
