# How programs outside this build find libveo once it is installed:
#   pkg-config:  cc app.c $(pkg-config --cflags --libs veo)
#   CMake:       find_package(veo) + target_link_libraries(app PRIVATE veo::veo)
# and the examples, which use it the same way from inside the build.
# Included once from the top-level CMakeLists.txt after core/.

include(CMakePackageConfigHelpers)

# Inside this build, veo::veo names the same library as an installed package.
add_library(veo::veo ALIAS veo)

# pkg-config: the prefix is taken relative to the .pc file itself.
set(VEO_PKGCONFIG_DIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
file(RELATIVE_PATH VEO_PC_PREFIX_FROM_PCDIR "/prefix/${VEO_PKGCONFIG_DIR}" "/prefix")
string(REGEX REPLACE "/$" "" VEO_PC_PREFIX_FROM_PCDIR "${VEO_PC_PREFIX_FROM_PCDIR}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/veo.pc.in ${PROJECT_BINARY_DIR}/veo.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/veo.pc DESTINATION ${VEO_PKGCONFIG_DIR})

# CMake package: veoConfig.cmake, its version file and the exported target.
set(VEO_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/veo")
set(VEORUN_INSTALL_REL "${CMAKE_INSTALL_LIBEXECDIR}/veo/veorun")
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/veoConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/veoConfig.cmake
                              INSTALL_DESTINATION ${VEO_CMAKE_DIR}
                              PATH_VARS VEORUN_INSTALL_REL)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/veoConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/veoConfig.cmake ${PROJECT_BINARY_DIR}/veoConfigVersion.cmake
        DESTINATION ${VEO_CMAKE_DIR})
install(EXPORT veoTargets NAMESPACE veo:: DESTINATION ${VEO_CMAKE_DIR})

# README and example sources go with the documentation; the programs are built here.
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/contrib/examples/hello_ve_memory.c
              ${PROJECT_SOURCE_DIR}/contrib/examples/veshm_demo.c
              ${PROJECT_SOURCE_DIR}/contrib/examples/vh_shm_dma.c
              ${PROJECT_SOURCE_DIR}/contrib/examples/ve_call.c
              ${PROJECT_SOURCE_DIR}/contrib/examples/ve_call_kernel.c
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
add_subdirectory(${PROJECT_SOURCE_DIR}/contrib/examples ${PROJECT_BINARY_DIR}/contrib/examples)
