# gtest_discover_tests() cannot give its tests a property whose value is a
# list (more than one label, more than one environment variable): PROPERTIES
# is flattened on the way, so "LABELS a;b" becomes label a and a property
# named b (CMake issue 17812). veshm_discover_tests() discovers a suite's
# tests and sets those list properties once CTest knows the tests, from a file
# CTest reads after the discovered ones.
#   veshm_discover_tests(<target> [LABELS <label>...] [ENVIRONMENT <VAR=value>...]
#                        [PROPERTIES <name> <value>...] [DISCOVERY_TIMEOUT <seconds>])
function(veshm_discover_tests target)
  cmake_parse_arguments(arg "" "DISCOVERY_TIMEOUT" "LABELS;ENVIRONMENT;PROPERTIES" ${ARGN})
  set(discovery "")
  if(arg_DISCOVERY_TIMEOUT)
    set(discovery DISCOVERY_TIMEOUT ${arg_DISCOVERY_TIMEOUT})
  endif()
  gtest_discover_tests(${target} TEST_LIST ${target}_TESTS ${discovery}
                       PROPERTIES ${arg_PROPERTIES})
  set(lists "")
  foreach(property LABELS ENVIRONMENT)
    if(arg_${property})
      list(JOIN arg_${property} ";" value)
      string(APPEND lists " ${property} \"${value}\"")
    endif()
  endforeach()
  set(file ${CMAKE_CURRENT_BINARY_DIR}/${target}_lists.cmake)
  file(WRITE ${file} "if(DEFINED ${target}_TESTS)\n"
                     "  set_tests_properties(\${${target}_TESTS} PROPERTIES${lists})\n"
                     "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${file})
endfunction()
