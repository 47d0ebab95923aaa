# add_veshm_mpi_test(NAME <name> MODE veshm|ucx|default NP <n> COMMAND <launcher> <prog> [args])
# Registers <name> that runs `<launcher> --oversubscribe -np <n> <prog> args` in the
# environment of contrib/mpi/veshm-mpi-env.sh <mode>, as root if need be.
# veshm runs also require window and heap memory to be VE memory
# (VESHM_TEST_MEMORY=ve, checked by the programs).
function(add_veshm_mpi_test)
  cmake_parse_arguments(T "" "NAME;MODE;NP;TIMEOUT" "COMMAND;ENV" ${ARGN})
  list(POP_FRONT T_COMMAND launcher)
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_test(NAME ${T_NAME}
           COMMAND ${PROJECT_SOURCE_DIR}/contrib/mpi/veshm-mpirun ${T_MODE} ${launcher}
                   --oversubscribe -np ${T_NP} ${T_COMMAND})
  set(env "OMPI_ALLOW_RUN_AS_ROOT=1" "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
          "VESHM_BUILD_DIR=${PROJECT_BINARY_DIR}" ${T_ENV})
  if(T_MODE STREQUAL "veshm")
    list(APPEND env "VESHM_TEST_MEMORY=ve")
  endif()
  # With more ranks than cores a test needs the machine to itself.
  set_tests_properties(${T_NAME} PROPERTIES ENVIRONMENT "${env}" TIMEOUT ${T_TIMEOUT}
                       PROCESSORS ${T_NP} LABELS "mpi;${T_MODE}")
endfunction()

# Modes the tests run in: always UCX's own transports; veshm once the
# transport is part of the build.
set(VESHM_MPI_MODES ucx)
if(TARGET uct_veshm)
  list(APPEND VESHM_MPI_MODES veshm)
endif()
