dmp_fuzz_target(fuzz_node_body SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_node_body.c LIBS dmp_node
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/node_body)
dmp_fuzz_target(fuzz_node_path SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_node_path.c LIBS dmp_node
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/node_path)
dmp_fuzz_target(fuzz_node_config SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_node_config.c
                LIBS dmp_node CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/node_config)
dmp_fuzz_target(fuzz_node_reg SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_node_reg.c LIBS dmp_node
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/node_reg)
dmp_fuzz_target(fuzz_node_hb_seeds SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_node_hb_seeds.c
                LIBS dmp_node CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/node_hb_seeds)
# the CPU count asked once (see fuzz_node_config.c)
if(TARGET fuzz_node_config)
  target_link_options(fuzz_node_config PRIVATE -Wl,--wrap=sysconf)
endif()
