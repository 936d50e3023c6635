# What `cmake --install` puts under the prefix (docs/install.md): nabla.h (with
# nabla_data.h) and nabla_version.h, the library (with libnabla_tcc.a, nabla's copy of
# libtcc, when the library is static), the CMake package (nabla::nabla) and nabla.pc.
include(CMakePackageConfigHelpers)

install(FILES ${PROJECT_SOURCE_DIR}/include/nabla.h ${PROJECT_SOURCE_DIR}/include/nabla_data.h
  ${PROJECT_SOURCE_DIR}/include/nabla_onnx.h
  ${NABLA_GENERATED}/include/nabla_version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS nabla EXPORT nablaTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# A static libnabla.a calls into libtcc and libtcc into it (rt_tcc_mprotect, the renamed
# stdio variables): consumers link the modified archive after it. A shared libnabla.so
# holds libtcc inside.
if(BUILD_SHARED_LIBS)
  set(NABLA_PC_LIBS_PRIVATE "")
else()
  install(FILES ${TCC_LIB_NOWX} DESTINATION ${CMAKE_INSTALL_LIBDIR})
  set(NABLA_PC_LIBS_PRIVATE "-lnabla_tcc")
endif()
string(APPEND NABLA_PC_LIBS_PRIVATE " -lopenblas")
foreach(lib ${CMAKE_DL_LIBS} ${CMAKE_THREAD_LIBS_INIT} m)
  if(lib MATCHES "^-")
    string(APPEND NABLA_PC_LIBS_PRIVATE " ${lib}")
  else()
    string(APPEND NABLA_PC_LIBS_PRIVATE " -l${lib}")
  endif()
endforeach()

set(NABLA_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/nabla)
install(EXPORT nablaTargets NAMESPACE nabla:: DESTINATION ${NABLA_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/nablaConfig.cmake.in
  ${PROJECT_BINARY_DIR}/nablaConfig.cmake INSTALL_DESTINATION ${NABLA_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/nablaConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/nablaConfig.cmake ${PROJECT_BINARY_DIR}/nablaConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/nabla_add_model.cmake DESTINATION ${NABLA_CMAKE_DIR})

# nabla.pc finds the prefix from its own place (pkg-config's pcfiledir), so that
# `cmake --install --prefix P` gives a nabla.pc that is right under P.
file(RELATIVE_PATH NABLA_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" NABLA_PC_TO_PREFIX "${NABLA_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/nabla.pc.in ${PROJECT_BINARY_DIR}/nabla.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/nabla.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The nabla command (docs/cli.md), when it is built.
if(TARGET nabla_cli)
  install(TARGETS nabla_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
