# test_dns_<part>: the responder's answers, its error answers and query parsing, sharing the fake
# zone and query builder in dns_harness.c.
set(_unit_dir ${CMAKE_CURRENT_LIST_DIR})
foreach(part answer errors parse)
  dmp_unit_test(test_dns_${part} SOURCES ${_unit_dir}/test_dns_${part}.c
                ${_unit_dir}/dns_harness.c LIBS dmp_dns PkgConfig::LDNS)
endforeach()
dmp_unit_test(test_dns_edns SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_dns_edns.c
              LIBS dmp_dns PkgConfig::LDNS)
dmp_unit_test(test_dns_xfr SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_dns_xfr.c LIBS dmp_dns PkgConfig::LDNS)
