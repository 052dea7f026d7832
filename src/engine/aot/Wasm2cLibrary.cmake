# Wasm2cLibrary.cmake: ahead-of-time compilation of a WebAssembly module with
# wasm2c into a static library.
#
#   snakecage_add_wasm2c_library(
#     NAME <target>              # the library target to create
#     WASM <file.wasm>           # absolute, or relative to the current source dir
#     MODULE_NAME <name>         # wasm2c -n: symbols are Z_<name>_instantiate, ...
#     [PARTS <n>]                # translation units (default 16)
#     [JOBS <n>]                 # parallel compiles (default 2)
#     [DEPENDS <files/targets>]  # what produces WASM, if it is generated
#     [PROFILE_GENERATE]         # -fprofile-instr-generate (consumers link the
#                                #  profile runtime automatically)
#     [PROFILE_USE <profdata>]   # -fprofile-instr-use=<profdata> (llvm-profdata-19 merge)
#     [ATOMIC_GLOBALS <names>])  # exported globals another thread may write
#                                #  (read with relaxed atomic loads)
#
# <target> is an IMPORTED static library: link it and include "<name>.h".
# It brings snakecage_wasm_runtime (src/engine/runtime) along.
#
# The work is done by build_wasm2c_library.py, which caches the generated C and
# the compiled library outside the build tree, in SNAKECAGE_CACHE_DIR (default
# $HOME/.cache/snakecage), under a hash of every input: a second build
# directory on the same machine reuses them. The parts are compiled at -O2 with
# the C compiler CMake uses (clang-19 for this project), without the project's
# warning flags. The custom commands of all wasm2c libraries share one Ninja job
# pool of size 1, so two modules never compile at once with JOBS each.
#
# Requires the target snakecage_wasm_runtime to exist where the function is
# called (src/engine/runtime/CMakeLists.txt defines it).

include_guard(GLOBAL)

find_package(Python3 REQUIRED COMPONENTS Interpreter)
# Python3_EXECUTABLE is a directory-scoped variable; the function and tests
# are used from other directories.
set(SNAKECAGE_PYTHON3 "${Python3_EXECUTABLE}" CACHE INTERNAL "python3 for build scripts")
find_program(SNAKECAGE_WASM2C wasm2c REQUIRED)

# The same default as scripts/common.sh: $SNAKECAGE_CACHE_DIR, else
# ~/.cache/snakecage, so the build's caches and the scripts' agree.
if(DEFINED ENV{SNAKECAGE_CACHE_DIR} AND NOT "$ENV{SNAKECAGE_CACHE_DIR}" STREQUAL "")
  set(_snakecage_default_cache "$ENV{SNAKECAGE_CACHE_DIR}")
elseif(DEFINED ENV{HOME} AND NOT "$ENV{HOME}" STREQUAL "")
  set(_snakecage_default_cache "$ENV{HOME}/.cache/snakecage")
else()
  set(_snakecage_default_cache "${CMAKE_BINARY_DIR}/snakecage-cache")
endif()
set(SNAKECAGE_CACHE_DIR "${_snakecage_default_cache}" CACHE PATH
  "Where compiled wasm2c modules are cached across build directories")

set_property(GLOBAL APPEND PROPERTY JOB_POOLS snakecage_wasm2c=1)

function(snakecage_add_wasm2c_library)
  # Paths relative to this file, valid wherever the function is called.
  set(_SNAKECAGE_AOT_DIR "${CMAKE_CURRENT_FUNCTION_LIST_DIR}")
  get_filename_component(_SNAKECAGE_SRC_ROOT "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../.." ABSOLUTE)
  cmake_parse_arguments(PARSE_ARGV 0 W2C "PROFILE_GENERATE"
    "NAME;WASM;MODULE_NAME;PARTS;JOBS;PROFILE_USE" "DEPENDS;ATOMIC_GLOBALS")
  foreach(required NAME WASM MODULE_NAME)
    if(NOT W2C_${required})
      message(FATAL_ERROR "snakecage_add_wasm2c_library: ${required} is required")
    endif()
  endforeach()
  if(W2C_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "snakecage_add_wasm2c_library(${W2C_NAME}): unknown arguments: ${W2C_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT W2C_PARTS)
    set(W2C_PARTS 16)
  endif()
  if(NOT W2C_JOBS)
    set(W2C_JOBS 2)
  endif()
  if(W2C_PROFILE_GENERATE AND W2C_PROFILE_USE)
    message(FATAL_ERROR "snakecage_add_wasm2c_library(${W2C_NAME}): PROFILE_GENERATE and PROFILE_USE exclude each other")
  endif()
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "snakecage_add_wasm2c_library(${W2C_NAME}): needs clang (configure with CC=clang-19), got ${CMAKE_C_COMPILER_ID}")
  endif()
  if(NOT TARGET snakecage_wasm_runtime)
    message(FATAL_ERROR "snakecage_add_wasm2c_library(${W2C_NAME}): target snakecage_wasm_runtime is not defined")
  endif()
  get_filename_component(wasm "${W2C_WASM}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")

  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/${W2C_NAME}")
  set(lib "${out_dir}/lib${W2C_NAME}.a")
  set(header "${out_dir}/include/${W2C_MODULE_NAME}.h")
  file(MAKE_DIRECTORY "${out_dir}/include")

  # Flags of the generated C. Our warning flags are not applied; -w silences
  # the generated code's unused helpers.
  set(cflags -O2 -g0 -fPIC -w -std=gnu11 -DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1)
  set(flag_args "")
  foreach(f IN LISTS cflags)
    list(APPEND flag_args "--cflag=${f}")
  endforeach()
  set(profile_args "")
  set(profile_depends "")
  set(atomic_args "")
  foreach(g IN LISTS W2C_ATOMIC_GLOBALS)
    list(APPEND atomic_args "--atomic-global=${g}")
  endforeach()
  if(W2C_PROFILE_GENERATE)
    list(APPEND profile_args --profile-generate)
  endif()
  if(W2C_PROFILE_USE)
    get_filename_component(profdata "${W2C_PROFILE_USE}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND profile_args "--profile-use=${profdata}")
    list(APPEND profile_depends "${profdata}")
  endif()

  set(key_files
    "${_SNAKECAGE_SRC_ROOT}/engine/runtime/linear_memory_layout.h")
  find_file(_snakecage_wasm_rt_h wasm-rt.h REQUIRED)
  list(APPEND key_files "${_snakecage_wasm_rt_h}")
  set(key_args "")
  foreach(f IN LISTS key_files)
    list(APPEND key_args "--key-file=${f}")
  endforeach()

  set(ar "${CMAKE_AR}")
  if(NOT ar)
    set(ar ar)
  endif()

  add_custom_command(
    OUTPUT "${lib}" "${header}"
    COMMAND "${SNAKECAGE_PYTHON3}" "${_SNAKECAGE_AOT_DIR}/build_wasm2c_library.py"
      "--wasm=${wasm}"
      "--module-name=${W2C_MODULE_NAME}"
      "--lib-name=${W2C_NAME}"
      "--out-dir=${out_dir}"
      "--parts=${W2C_PARTS}"
      # Functions of up to this many bytes of C (about 50 lines; 5,300 of
      # CPython's 9,300 unmetered, 4,850 metered, where the metering code is
      # not counted) are defined in the shared header so that every part can
      # inline them: see split_wasm2c_output.py. 1,200 gave metered 1.47x of
      # native python3.11 on bench/, 3,000 gives 1.42x (1.39-1.42x once
      # metered functions were measured without their metering, within the
      # spread between builds), for about the same compile time.
      "--inline-max-bytes=3000"
      "--jobs=${W2C_JOBS}"
      "--wasm2c=${SNAKECAGE_WASM2C}"
      "--cc=${CMAKE_C_COMPILER}"
      "--ar=${ar}"
      "--splitter=${_SNAKECAGE_AOT_DIR}/split_wasm2c_output.py"
      "--include-dir=${_SNAKECAGE_SRC_ROOT}"
      "--cache-dir=${SNAKECAGE_CACHE_DIR}"
      ${key_args} ${flag_args} ${profile_args} ${atomic_args}
    DEPENDS
      "${wasm}"
      "${_SNAKECAGE_AOT_DIR}/build_wasm2c_library.py"
      "${_SNAKECAGE_AOT_DIR}/split_wasm2c_output.py"
      ${key_files} ${profile_depends} ${W2C_DEPENDS}
    COMMENT "wasm2c: ${W2C_MODULE_NAME} (${W2C_PARTS} parts) -> lib${W2C_NAME}.a"
    JOB_POOL snakecage_wasm2c
    VERBATIM)
  add_custom_target(${W2C_NAME}_wasm2c DEPENDS "${lib}" "${header}")

  add_library(${W2C_NAME} STATIC IMPORTED GLOBAL)
  set_target_properties(${W2C_NAME} PROPERTIES
    IMPORTED_LOCATION "${lib}"
    INTERFACE_INCLUDE_DIRECTORIES "${out_dir}/include")
  target_link_libraries(${W2C_NAME} INTERFACE snakecage_wasm_runtime)
  if(W2C_PROFILE_GENERATE)
    target_link_options(${W2C_NAME} INTERFACE -fprofile-instr-generate)
  endif()
  add_dependencies(${W2C_NAME} ${W2C_NAME}_wasm2c)
endfunction()
