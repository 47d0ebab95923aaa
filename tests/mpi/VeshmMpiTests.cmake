# add_veshm_mpi_test(NAME <name> MODE veshm|ucx|default NP <n>
#                    [PREFIX <checker> args...] [ENV VAR=value...]
#                    COMMAND <launcher> <program> [args...])
# Registers <name>, which runs
#   [checker args...] contrib/mpi/veshm-mpirun <mode> <launcher> --oversubscribe -np <n> <program> args
# i.e. mpirun/oshrun in the environment of contrib/mpi/veshm-mpi-env.sh <mode>,
# as root if need be. In veshm mode the programs also require window and heap
# memory to be VE memory (VESHM_TEST_MEMORY=ve).
function(add_veshm_mpi_test)
  cmake_parse_arguments(T "" "NAME;MODE;NP;TIMEOUT" "COMMAND;ENV;PREFIX" ${ARGN})
  list(POP_FRONT T_COMMAND launcher)
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_test(NAME ${T_NAME}
           COMMAND ${T_PREFIX} ${PROJECT_SOURCE_DIR}/contrib/mpi/veshm-mpirun ${T_MODE} ${launcher}
                   --oversubscribe -np ${T_NP} ${T_COMMAND})
  set(env "OMPI_ALLOW_RUN_AS_ROOT=1" "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
          "VESHM_BUILD_DIR=${PROJECT_BINARY_DIR}")
  if(T_MODE STREQUAL "veshm")
    list(APPEND env "VESHM_TEST_MEMORY=ve" "VESHM_UCX_MODULE=$<TARGET_FILE:${VESHM_UCX_MODULE_TARGET}>")
  endif()
  # Last, so that a test's own ENV overrides the defaults above.
  list(APPEND env ${T_ENV})
  # With more ranks than cores a test needs the machine to itself.
  # mpirun's warning that a variable named for forwarding is missing: the
  # environment script listed one it did not set.
  set_tests_properties(${T_NAME} PROPERTIES ENVIRONMENT "${env}" TIMEOUT ${T_TIMEOUT}
                       PROCESSORS ${T_NP} LABELS "mpi;${T_MODE}"
                       FAIL_REGULAR_EXPRESSION "environment variable was not found")
endfunction()

# Modes the tests run in: always UCX's own transports; veshm once the
# transport's module (libuct_veshm.so, target uct_veshm, built in
# ucx_tl_veshm/) is part of the build. VESHM_UCX_MODULE_TARGET names its target.
set(VESHM_MPI_MODES ucx)
unset(VESHM_UCX_MODULE_TARGET)
if(TARGET uct_veshm)
  set(VESHM_UCX_MODULE_TARGET uct_veshm)
  list(APPEND VESHM_MPI_MODES veshm)
endif()
