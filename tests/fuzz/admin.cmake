# dnsmesh-admin load's parsers (tools/dnsmesh-admin/load.c, load_zone.c and load_rec.c, built into the target).
dmp_fuzz_target(fuzz_admin_load SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_admin_load.c
                ${PROJECT_SOURCE_DIR}/tools/dnsmesh-admin/load.c
                ${PROJECT_SOURCE_DIR}/tools/dnsmesh-admin/load_zone.c
                ${PROJECT_SOURCE_DIR}/tools/dnsmesh-admin/load_rec.c LIBS dmp_node PkgConfig::JANSSON
                PkgConfig::SQLITE CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/admin_load)
target_include_directories(fuzz_admin_load PRIVATE ${PROJECT_SOURCE_DIR}/tools/dnsmesh-admin)
