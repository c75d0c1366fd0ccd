dmp_fuzz_target(fuzz_wire_identity SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_wire_identity.c LIBS dmp_wire
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/wire_identity)
dmp_fuzz_target(fuzz_wire_prekey SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_wire_prekey.c LIBS dmp_wire
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/wire_prekey)
dmp_fuzz_target(fuzz_wire_manifest SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_wire_manifest.c LIBS dmp_wire
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/wire_manifest)
dmp_fuzz_target(fuzz_wire_cluster SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_wire_cluster.c LIBS dmp_wire
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/wire_cluster)
dmp_fuzz_target(fuzz_wire_bootstrap SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_wire_bootstrap.c LIBS dmp_wire
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/wire_bootstrap)
dmp_fuzz_target(fuzz_wire_rotation SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_wire_rotation.c LIBS dmp_wire
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/wire_rotation)
dmp_fuzz_target(fuzz_wire_revocation SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_wire_revocation.c LIBS dmp_wire
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/wire_revocation)
dmp_fuzz_target(fuzz_wire_claim SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_wire_claim.c LIBS dmp_wire
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/wire_claim)
dmp_fuzz_target(fuzz_wire_heartbeat SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_wire_heartbeat.c LIBS dmp_wire
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/wire_heartbeat)
dmp_fuzz_target(fuzz_wire_chunk SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_wire_chunk.c LIBS dmp_wire
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/wire_chunk)
dmp_fuzz_target(fuzz_wire_txt_split SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_wire_txt_split.c LIBS dmp_wire
                CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/wire_txt_split)
# Signed-record targets: Ed25519 replaced by a fast stand-in (see fuzz_wire_harness.h).
foreach(t identity prekey manifest cluster bootstrap rotation revocation claim heartbeat)
  if(TARGET fuzz_wire_${t})
    target_link_options(fuzz_wire_${t} PRIVATE -Wl,--wrap=dmp_crypto_sign
                        -Wl,--wrap=dmp_crypto_verify)
    target_link_libraries(fuzz_wire_${t} PRIVATE PkgConfig::SODIUM)
  endif()
endforeach()
