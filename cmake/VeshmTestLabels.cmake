# gtest_discover_tests() cannot give its tests more than one label: the
# PROPERTIES list is flattened on the way, so "LABELS a;b" becomes label a and
# a property named b (CMake issue 17812). veshm_discover_tests() discovers a
# suite's tests and sets its labels once CTest knows them, from a file CTest
# reads after the discovered tests.
#   veshm_discover_tests(<target> LABELS <label>... [PROPERTIES <name> <value>...])
function(veshm_discover_tests target)
  cmake_parse_arguments(arg "" "" "LABELS;PROPERTIES" ${ARGN})
  gtest_discover_tests(${target} TEST_LIST ${target}_TESTS PROPERTIES ${arg_PROPERTIES})
  list(JOIN arg_LABELS ";" labels)
  set(file ${CMAKE_CURRENT_BINARY_DIR}/${target}_labels.cmake)
  file(WRITE ${file} "if(DEFINED ${target}_TESTS)\n"
                     "  set_tests_properties(\${${target}_TESTS} PROPERTIES LABELS \"${labels}\")\n"
                     "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${file})
endfunction()
