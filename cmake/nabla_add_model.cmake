# nabla_add_model: a model exported ahead of time by nabla, built as a static library of
# plain C at build time (docs/aot.md). Included by nablaConfig.cmake (find_package) and by
# nabla's top-level CMakeLists.txt (the build tree, add_subdirectory).
#
#   nabla_add_model(<target>
#                   GENERATOR <gen.c> | GENERATOR_COMMAND <executable or target>
#                   [PREFIX <p>] [WEIGHTS <file.safetensors>] [CBLAS] [EXCLUDE_FROM_ALL]
#                   [ARGS <arg>...] [DEPENDS <file or target>...])
#
# GENERATOR is the user's C program that builds the graph, compiles it with
# nb_compile_options.exportable and calls nb_program_export; nabla_add_model builds it as
# the executable <target>_generator linked to nabla::nabla. At build time it runs as
#
#   <generator> --prefix <p> --dir <dir> [--weights <file>] [<ARGS>...]
#
# and must write <dir>/<p>.c and <dir>/<p>.h (nb_export_options .prefix and .dir), exit
# with 0 on success and with another status and a message on stderr on failure. <dir> is
# ${CMAKE_CURRENT_BINARY_DIR}/<target>. The command reruns when the generator, the weights
# file or a DEPENDS item changes.
#
# <target> is then a static library of <dir>/<p>.c with <dir> as its PUBLIC include
# directory (#include "<p>.h"), linked to libm, compiled with -ffp-contract=off and
# -fno-builtin-<f> for the libm functions whose results are not correctly rounded (gcc
# and clang; gcc also without its basic-block vectorizer), so that it computes the bits
# nabla's JIT computes (docs/aot.md). CBLAS
# defines <P>_USE_CBLAS (matmul through cblas_sgemm/dgemm with the JIT's blocking) and
# links OpenBLAS, found as the package finds it (the target nabla::openblas).
#
# PREFIX defaults to <target>; it must be a C identifier starting with a letter, and not
# nb or one starting with nb_ or nbm_ (the exported file's own names).
#
# Cross-compiling: the generator is a host program (it links nabla, which runs on the
# host only). Under CMAKE_CROSSCOMPILING a GENERATOR would be built for the target, so
# give GENERATOR_COMMAND instead: a host executable (an absolute path, or an IMPORTED
# executable target, e.g. from a host build's export) run the same way. The exported
# library is compiled with the cross compiler. A cross build that cannot find the host's
# nabla package may include this file alone: it needs nothing else from the package.
#
# EXCLUDE_FROM_ALL keeps the generator and the library out of the default build (they
# are built when a target that is built links the library).

# Makes sure the target nabla::openblas exists (OpenBLAS's library, and the directory
# of cblas.h as its include directory). Sets <found_var> to TRUE or FALSE.
function(nabla_find_openblas found_var)
  if(NOT TARGET nabla::openblas)
    find_library(NABLA_OPENBLAS_LIB openblas)
    if(NOT NABLA_OPENBLAS_LIB)
      set(${found_var} FALSE PARENT_SCOPE)
      return()
    endif()
    add_library(nabla::openblas UNKNOWN IMPORTED GLOBAL)
    set_target_properties(nabla::openblas PROPERTIES IMPORTED_LOCATION ${NABLA_OPENBLAS_LIB})
  endif()
  get_target_property(inc nabla::openblas INTERFACE_INCLUDE_DIRECTORIES)
  if(NOT inc)
    find_path(NABLA_CBLAS_INCLUDE cblas.h PATH_SUFFIXES openblas-pthread openblas)
    if(NABLA_CBLAS_INCLUDE)
      set_target_properties(nabla::openblas PROPERTIES
        INTERFACE_INCLUDE_DIRECTORIES ${NABLA_CBLAS_INCLUDE})
    endif()
  endif()
  set(${found_var} TRUE PARENT_SCOPE)
endfunction()

function(nabla_add_model target)
  cmake_parse_arguments(PARSE_ARGV 1 NAM "CBLAS;EXCLUDE_FROM_ALL"
    "GENERATOR;GENERATOR_COMMAND;PREFIX;WEIGHTS" "ARGS;DEPENDS")
  if(NAM_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "nabla_add_model(${target}): unknown arguments: ${NAM_UNPARSED_ARGUMENTS}")
  endif()
  if(NAM_GENERATOR AND NAM_GENERATOR_COMMAND)
    message(FATAL_ERROR "nabla_add_model(${target}): GENERATOR and GENERATOR_COMMAND exclude each other")
  endif()
  if(NOT NAM_GENERATOR AND NOT NAM_GENERATOR_COMMAND)
    message(FATAL_ERROR "nabla_add_model(${target}): GENERATOR <file.c> (or GENERATOR_COMMAND) is required")
  endif()
  if(NAM_GENERATOR AND CMAKE_CROSSCOMPILING)
    message(FATAL_ERROR "nabla_add_model(${target}): cross-compiling, GENERATOR ${NAM_GENERATOR} "
      "would be built for the target; give GENERATOR_COMMAND, a generator built for the host")
  endif()
  if(NOT DEFINED NAM_PREFIX)
    set(NAM_PREFIX ${target})
  endif()
  string(LENGTH "${NAM_PREFIX}" len)
  if(NOT NAM_PREFIX MATCHES "^[A-Za-z][A-Za-z0-9_]*$" OR len GREATER 64)
    message(FATAL_ERROR "nabla_add_model(${target}): PREFIX '${NAM_PREFIX}' is not a C identifier "
      "of at most 64 bytes starting with a letter (give PREFIX when the target's name is not one)")
  endif()
  if(NAM_PREFIX MATCHES "^(nb|nb_.*|nbm_.*)$")
    message(FATAL_ERROR "nabla_add_model(${target}): PREFIX '${NAM_PREFIX}' is reserved: the "
      "exported file's own names start with nb_ and nbm_")
  endif()
  string(TOUPPER "${NAM_PREFIX}" upper)

  set(exclude "")
  if(NAM_EXCLUDE_FROM_ALL)
    set(exclude EXCLUDE_FROM_ALL)
  endif()
  if(NAM_GENERATOR)
    get_filename_component(gen_src "${NAM_GENERATOR}" ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    if(NOT EXISTS "${gen_src}")
      message(FATAL_ERROR "nabla_add_model(${target}): GENERATOR ${gen_src} does not exist")
    endif()
    add_executable(${target}_generator ${exclude} "${gen_src}")
    target_link_libraries(${target}_generator PRIVATE nabla::nabla)
    set(gen ${target}_generator)
    set(gen_depends ${target}_generator)
  else()
    set(gen "${NAM_GENERATOR_COMMAND}")
    # A target or a file: the export reruns when it is rebuilt or changes.
    if(TARGET "${NAM_GENERATOR_COMMAND}" OR IS_ABSOLUTE "${NAM_GENERATOR_COMMAND}")
      set(gen_depends "${NAM_GENERATOR_COMMAND}")
    else()
      set(gen_depends "")
    endif()
  endif()

  set(dir ${CMAKE_CURRENT_BINARY_DIR}/${target})
  set(cmd ${gen} --prefix ${NAM_PREFIX} --dir ${dir})
  set(depends ${gen_depends} ${NAM_DEPENDS})
  if(DEFINED NAM_WEIGHTS)
    get_filename_component(weights "${NAM_WEIGHTS}" ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    list(APPEND cmd --weights ${weights})
    list(APPEND depends ${weights})
  endif()
  list(APPEND cmd ${NAM_ARGS})
  file(MAKE_DIRECTORY ${dir})
  add_custom_command(OUTPUT ${dir}/${NAM_PREFIX}.c ${dir}/${NAM_PREFIX}.h
    COMMAND ${cmd}
    DEPENDS ${depends}
    COMMENT "nabla_add_model ${target}: exporting ${NAM_PREFIX}.c and ${NAM_PREFIX}.h"
    VERBATIM)

  add_library(${target} STATIC ${exclude} ${dir}/${NAM_PREFIX}.c ${dir}/${NAM_PREFIX}.h)
  target_include_directories(${target} PUBLIC ${dir})
  # The libm functions generated code may call whose glibc results are not correctly
  # rounded: gcc would fold calls on constants with its own (exact) arithmetic, which
  # gives other bits than the library call nabla's JIT makes (codegen/cg_libm.def). Set
  # here, not at file scope: a function sees its caller's variables, and an
  # add_subdirectory caller does not see nabla's. tests/export/libm_list.sh checks that
  # the list is cg_libm.def's.
  set(not_exact expf exp logf log log1pf log1p expm1f expm1 sinf sin cosf cos tanhf tanh erff
    erf powf pow tanf tan asinf asin acosf acos atanf atan sinhf sinh coshf cosh asinhf asinh
    acoshf acosh atanhf atanh)
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -ffp-contract=off)
    foreach(fn ${not_exact})
      target_compile_options(${target} PRIVATE -fno-builtin-${fn})
    endforeach()
  endif()
  # gcc 12's basic-block vectorizer folds the conversions (double)(float)x of a short
  # loop into x, so a value cast to f32 and back is not rounded (nabla's cc backend turns
  # it off for the same reason; tests/test_export.c's random graphs found it here).
  if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -fno-tree-slp-vectorize)
  endif()
  if(NOT WIN32)
    target_link_libraries(${target} PUBLIC m)
  endif()
  if(NAM_CBLAS)
    nabla_find_openblas(found)
    if(NOT found)
      message(FATAL_ERROR "nabla_add_model(${target}): CBLAS needs OpenBLAS (libopenblas-dev)")
    endif()
    target_compile_definitions(${target} PRIVATE ${upper}_USE_CBLAS)
    target_link_libraries(${target} PUBLIC nabla::openblas)
  endif()
endfunction()
