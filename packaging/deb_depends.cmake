# CPACK_PROJECT_CONFIG_FILE, read by cpack for each generator. For the .deb:
# Depends from what the three ELF files link (libsnakecage.so, the CLI, the
# zygote), by dpkg-shlibdeps on just those. CPack's own
# CPACK_DEBIAN_PACKAGE_SHLIBDEPS runs `file` once per installed file (about
# 5,000 with the guest's standard library): 100 s of a 110 s package build.
if(CPACK_GENERATOR STREQUAL "DEB")
  find_program(SNAKECAGE_SHLIBDEPS dpkg-shlibdeps)
  if(NOT SNAKECAGE_SHLIBDEPS)
    message(FATAL_ERROR "the .deb's dependencies need dpkg-shlibdeps (Debian package dpkg-dev)")
  endif()
  # dpkg-shlibdeps wants a debian/control to exist in its working directory.
  set(_work "${CPACK_PACKAGE_DIRECTORY}/_snakecage_shlibdeps")
  file(MAKE_DIRECTORY "${_work}/debian")
  file(TOUCH "${_work}/debian/control")
  execute_process(
    COMMAND "${CMAKE_COMMAND}" -E env LC_ALL=C "${SNAKECAGE_SHLIBDEPS}" --ignore-missing-info
            "-l${CPACK_SNAKECAGE_BUILD_LIBDIR}" -O ${CPACK_SNAKECAGE_ELF_FILES}
    WORKING_DIRECTORY "${_work}"
    OUTPUT_VARIABLE _out ERROR_VARIABLE _err RESULT_VARIABLE _rc
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  file(REMOVE_RECURSE "${_work}")
  if(NOT _rc EQUAL 0 OR NOT _out MATCHES "^shlibs:Depends=")
    message(FATAL_ERROR "dpkg-shlibdeps on ${CPACK_SNAKECAGE_ELF_FILES} failed: ${_err}")
  endif()
  string(REGEX REPLACE "^shlibs:Depends=" "" _depends "${_out}")
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "${CPACK_SNAKECAGE_HEADER_DEPENDS}, ${_depends}")
endif()
