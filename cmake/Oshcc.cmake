# veshm_oshcc_flags(): compile and link flags of Open MPI's oshcc wrapper, for
# OpenSHMEM programs built by CMake (tests/shmem, contrib/bench/shmem). Sets
# OSHCC_FOUND, OSHCC_CFLAGS and OSHCC_LDFLAGS (lists) in the caller's scope;
# OSHCC_FOUND is false without oshcc or when --showme fails.
function(veshm_oshcc_flags)
  set(OSHCC_FOUND FALSE PARENT_SCOPE)
  find_program(OSHCC_EXECUTABLE oshcc)
  if(NOT OSHCC_EXECUTABLE)
    return()
  endif()
  execute_process(COMMAND ${OSHCC_EXECUTABLE} --showme:compile OUTPUT_VARIABLE cflags
                  OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc1)
  execute_process(COMMAND ${OSHCC_EXECUTABLE} --showme:link OUTPUT_VARIABLE ldflags
                  OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc2)
  if(NOT rc1 EQUAL 0 OR NOT rc2 EQUAL 0)
    return()
  endif()
  separate_arguments(cflags UNIX_COMMAND "${cflags}")
  separate_arguments(ldflags UNIX_COMMAND "${ldflags}")
  set(OSHCC_FOUND TRUE PARENT_SCOPE)
  set(OSHCC_CFLAGS ${cflags} PARENT_SCOPE)
  set(OSHCC_LDFLAGS ${ldflags} PARENT_SCOPE)
endfunction()
