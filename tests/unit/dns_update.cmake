# TSIG and UPDATE, sharing the captured requests (dns_update_harness.c).
set(_unit_dir ${CMAKE_CURRENT_LIST_DIR})
foreach(name test_dns_tsig test_dns_update)
  dmp_unit_test(${name} SOURCES ${_unit_dir}/${name}.c
                ${_unit_dir}/dns_update_harness.c LIBS dmp_dns PkgConfig::LDNS)
endforeach()
