# test_crypto_<part>, sharing crypto_harness.c.
set(_unit_dir ${CMAKE_CURRENT_LIST_DIR})
foreach(part identity primitives message envelope)
  dmp_unit_test(test_crypto_${part} SOURCES ${_unit_dir}/test_crypto_${part}.c
                ${_unit_dir}/crypto_harness.c LIBS dmp_crypto)
endforeach()
