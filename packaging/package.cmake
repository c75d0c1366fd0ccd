# Debian package (cpack -G DEB in the build directory): dnsmeshd, and dnsmesh / dnsmesh-admin when
# they are built; man pages generated from --help with help2man; /etc/default/dnsmeshd generated
# from the knob table (dnsmeshd --env-template); the systemd unit; maintainer scripts that create
# the dnsmesh system user. Included from the top CMakeLists.txt after every target is defined.
include(GNUInstallDirs)
set(_pkg ${PROJECT_SOURCE_DIR}/packaging)
set(_gen ${CMAKE_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${_gen})
find_program(HELP2MAN help2man)

install(TARGETS dnsmeshd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
foreach(t dnsmesh dnsmesh-admin)
  if(TARGET ${t})
    install(TARGETS ${t} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

add_custom_command(OUTPUT ${_gen}/dnsmeshd.default
  COMMAND $<TARGET_FILE:dnsmeshd> --env-template > ${_gen}/dnsmeshd.default
  DEPENDS dnsmeshd VERBATIM)
set(_pkg_outputs ${_gen}/dnsmeshd.default)
# man pages: section 8 for the daemon, 1 for the user tools
if(HELP2MAN)
  set(_man_dnsmeshd "8|authoritative DNS server and HTTP API of the DNS Mesh Protocol")
  set(_man_dnsmesh "1|DNS Mesh Protocol client")
  set(_man_dnsmesh-admin "1|DNS Mesh Protocol operator tool")
  foreach(t dnsmeshd dnsmesh dnsmesh-admin)
    if(TARGET ${t})
      string(REPLACE "|" ";" _m "${_man_${t}}")
      list(GET _m 0 _sec)
      list(GET _m 1 _name)
      add_custom_command(OUTPUT ${_gen}/${t}.${_sec}.gz
        COMMAND ${HELP2MAN} --no-info --section=${_sec} --name=${_name}
                --version-string=${PROJECT_VERSION} --output=${_gen}/${t}.${_sec}
                $<TARGET_FILE:${t}>
        COMMAND gzip -9nf ${_gen}/${t}.${_sec}
        DEPENDS ${t} VERBATIM)
      list(APPEND _pkg_outputs ${_gen}/${t}.${_sec}.gz)
      install(FILES ${_gen}/${t}.${_sec}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${_sec})
    endif()
  endforeach()
endif()
add_custom_target(package_files ALL DEPENDS ${_pkg_outputs})

install(FILES ${_gen}/dnsmeshd.default DESTINATION /etc/default RENAME dnsmeshd)
install(FILES ${_pkg}/dnsmeshd.service DESTINATION /lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dnsmesh)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "dnsmesh-c maintainers <dnsmesh@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "DNS Mesh Protocol node: authoritative DNS and HTTP API")
set(CPACK_PACKAGE_DESCRIPTION "dnsmeshd serves DMP records (signed, end-to-end encrypted \
messages in DNS TXT records) over DNS (UDP and TCP, with response rate limiting and DNS \
Cookies) and an HTTP API, from a RocksDB store. Runs as a sandboxed systemd service.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_pkg}/postinst ${_pkg}/prerm ${_pkg}/postrm ${_pkg}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
include(CPack)
