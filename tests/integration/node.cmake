# Integration tests for dnsmeshd: real processes on ephemeral loopback ports, temporary stores.
if(TARGET dnsmeshd)
  # test_node_integ_<part> (ctest node_integration_<part>), sharing integ_node.c: answers and
  # expiry on one node (dns), the HTTP API's refusals (http), tests with their own node (own),
  # the batch publish POST /v1/records (batch).
  foreach(_part dns http own batch)
    add_executable(test_node_integ_${_part} ${CMAKE_CURRENT_LIST_DIR}/itest.c
                   ${CMAKE_CURRENT_LIST_DIR}/integ_node.c
                   ${CMAKE_CURRENT_LIST_DIR}/test_node_integ_${_part}.c)
    target_link_libraries(test_node_integ_${_part} PRIVATE PkgConfig::CMOCKA PkgConfig::LDNS PkgConfig::JANSSON
                          dmp_dns dmp_client Threads::Threads)
    add_test(NAME node_integration_${_part} COMMAND test_node_integ_${_part}
                                                     $<TARGET_FILE:dnsmeshd>)
    set_tests_properties(node_integration_${_part} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
    add_dependencies(test_node_integ_${_part} dnsmeshd)
  endforeach()

  # The README's flow with the real tools: publish with curl, read with dig (UDP and TCP).
  add_test(NAME node_dig_curl COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/node_dig_curl.sh
                                           $<TARGET_FILE:dnsmeshd>)
  set_tests_properties(node_dig_curl PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60)

  # Default caps: the largest manifest passes; a write that would make a name's answer larger
  # than one DNS message gets 413 and dig +tcp still answers with every earlier value.
  add_test(NAME node_answer_size COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/node_answer_size.sh
                                              $<TARGET_FILE:dnsmeshd>)
  set_tests_properties(node_answer_size PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60)
endif()

# Durability: every acknowledged write is covered by a WAL sync that started after it was sent
# (syncshim.so logs fsync/fdatasync from inside dnsmeshd). DMP_SYNCSHIM_NOOP=1 must make it fail.
if(TARGET dnsmeshd)
  add_library(dmp_syncshim SHARED ${CMAKE_CURRENT_LIST_DIR}/syncshim.c)
  target_link_libraries(dmp_syncshim PRIVATE ${CMAKE_DL_LIBS})
  add_test(NAME node_durability COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/durability.py
                                        $<TARGET_FILE:dnsmeshd> $<TARGET_FILE:dmp_syncshim>)
  set_tests_properties(node_durability PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
  add_dependencies(dnsmeshd dmp_syncshim)
endif()

# Response rate limiting, DNS Cookies (dig +cookie), NSID and keepalive against a real node.
if(TARGET dnsmeshd)
  # both query paths: frontends answering cached names (and rate limiting them), and shards only
  add_test(NAME node_rrl_cookies COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/node_rrl.py
                                         $<TARGET_FILE:dnsmeshd> 1)
  set_tests_properties(node_rrl_cookies PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
  add_test(NAME node_rrl_cookies_shard_path COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/node_rrl.py
                                                    $<TARGET_FILE:dnsmeshd> 0)
  set_tests_properties(node_rrl_cookies_shard_path PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()

# Service behaviour: sd_notify readiness/reload/stopping, SIGHUP reload, --check-config, DMP_USER.
if(TARGET dnsmeshd)
  add_test(NAME node_service COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/node_service.py
                                     $<TARGET_FILE:dnsmeshd>)
  set_tests_properties(node_service PROPERTIES TIMEOUT 120)
endif()

# The Debian package: build, dpkg -i, systemd-analyze verify, run the installed node, dig, purge.
# Root only (skips otherwise); serial, since it installs into the machine.
if(TARGET dnsmeshd AND NOT DMP_SANITIZE)
  add_test(NAME node_package COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/package_test.sh
                                     ${CMAKE_BINARY_DIR})
  set_tests_properties(node_package PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 RUN_SERIAL TRUE)
endif()

# Slow headers, short bodies and huge chunks cannot block the HTTP API (or DNS).
if(TARGET dnsmeshd)
  add_test(NAME node_http_slow COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/node_http_slow.py
                                       $<TARGET_FILE:dnsmeshd>)
  set_tests_properties(node_http_slow PROPERTIES TIMEOUT 120)
endif()

# Multi-tenant tokens and self-service registration over HTTP (real processes).
if(TARGET dnsmeshd)
  add_executable(test_node_auth_integ ${CMAKE_CURRENT_LIST_DIR}/itest.c
                                      ${CMAKE_CURRENT_LIST_DIR}/test_node_auth_integ.c)
  target_link_libraries(test_node_auth_integ PRIVATE dmp_client PkgConfig::CMOCKA PkgConfig::JANSSON dmp_crypto
                                                     dmp_util)
  add_test(NAME node_auth_integration COMMAND test_node_auth_integ $<TARGET_FILE:dnsmeshd>)
  set_tests_properties(node_auth_integration PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
  add_dependencies(test_node_auth_integ dnsmeshd)
endif()

# The cluster: 3 nodes converging over /v1/sync, restart, deletes, expiry, a lying peer.
if(TARGET dnsmeshd)
  add_executable(test_cluster_integ ${CMAKE_CURRENT_LIST_DIR}/itest.c
                                    ${CMAKE_CURRENT_LIST_DIR}/test_cluster_integ.c)
  target_link_libraries(test_cluster_integ PRIVATE dmp_client PkgConfig::CMOCKA PkgConfig::LDNS dmp_dns)
  add_test(NAME cluster_integration COMMAND test_cluster_integ $<TARGET_FILE:dnsmeshd>)
  set_tests_properties(cluster_integration PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
  add_dependencies(test_cluster_integ dnsmeshd)
endif()

# SIGTERM while a write waits on a stalled WAL sync: 503 at the drain deadline, clean exit.
if(TARGET dnsmeshd)
  add_test(NAME node_shutdown_stall COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/node_shutdown.py
                                            $<TARGET_FILE:dnsmeshd> $<TARGET_FILE:dmp_syncshim>)
  set_tests_properties(node_shutdown_stall PROPERTIES TIMEOUT 120)
endif()

# A full disk (small tmpfs, root only): 507 while full, reads go on, /health degraded, every
# acknowledged write readable, writes resume when space returns, error logs rate-limited. Once
# with an 8 MiB free-space reserve (writes refused up front), once without (RocksDB's WAL meets
# the full disk; the guarded WAL sync must keep the node alive).
if(TARGET dnsmeshd AND NOT DMP_SANITIZE)
  add_test(NAME node_full_disk COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/node_full_disk.py
                                       $<TARGET_FILE:dnsmeshd> 8)
  add_test(NAME node_full_disk_noreserve
           COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/node_full_disk.py $<TARGET_FILE:dnsmeshd> 0)
  set_tests_properties(node_full_disk node_full_disk_noreserve PROPERTIES SKIP_RETURN_CODE 77
                       TIMEOUT 400 RUN_SERIAL TRUE)
endif()

# A failed WAL sync: 503 "applied but not confirmed durable" (the value is visible), /health.
if(TARGET dnsmeshd)
  add_test(NAME node_sync_fail COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/node_sync_fail.py
                                       $<TARGET_FILE:dnsmeshd> $<TARGET_FILE:dmp_syncshim>)
  set_tests_properties(node_sync_fail PROPERTIES TIMEOUT 120)
endif()

# Heartbeat discovery: two nodes harvest each other over loopback DNS (dig, landing page).
if(TARGET dnsmeshd)
  add_test(NAME node_heartbeat COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/node_heartbeat.py
                                       $<TARGET_FILE:dnsmeshd>)
  set_tests_properties(node_heartbeat PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()

# The name index's rebuild: a node started empty, writes that take names out of its file, the
# background walk into a new table, and answers from it (docs/store.md "The name index").
if(TARGET dnsmeshd)
  add_test(NAME node_name_index COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/node_name_index.py
                                        $<TARGET_FILE:dnsmeshd>)
  set_tests_properties(node_name_index PROPERTIES TIMEOUT 120)
endif()
