# The MPI scripts of contrib/mpi, installed so that an installation runs MPI
# and OpenSHMEM over veshm without the source tree:
#   share/veshm/veshm-mpi-env.sh   the environment (source it)
#   libexec/veo/veshm-rank         the per-rank launcher mpirun starts ranks with
#   bin/veshm-mpirun               one command in that environment
# In the source tree the scripts sit side by side. Each installed copy gets the
# relative paths between the install directories instead, in the one line of
# the script that holds them, so the installation works wherever its prefix is
# (moved, or unpacked from the .deb). Included from the top-level
# CMakeLists.txt after ucx_tl_veshm/ (for VESHM_UCX_MODULE_DIR).

set(veshm_mpi_src ${PROJECT_SOURCE_DIR}/contrib/mpi)
set(veshm_mpi_out ${PROJECT_BINARY_DIR}/installed-mpi-scripts)
set(veshm_env_dir ${CMAKE_INSTALL_FULL_DATADIR}/veshm)
set(veshm_rank_dir ${CMAKE_INSTALL_FULL_LIBEXECDIR}/veo)

file(RELATIVE_PATH veshm_env_to_rank ${veshm_env_dir} ${veshm_rank_dir}/veshm-rank)
file(RELATIVE_PATH veshm_bin_to_env ${CMAKE_INSTALL_FULL_BINDIR} ${veshm_env_dir}/veshm-mpi-env.sh)
set(veshm_env_to_route "")
if(TARGET veshm_osc_route)
  file(RELATIVE_PATH veshm_env_to_route ${veshm_env_dir} ${veshm_rank_dir}/libveshm_osc_route.so)
endif()
set(veshm_env_to_module "")
if(TARGET uct_veshm)
  file(RELATIVE_PATH veshm_env_to_module ${veshm_env_dir}
       ${CMAKE_INSTALL_PREFIX}/${VESHM_UCX_MODULE_DIR}/libuct_veshm.so)
endif()

# Copies contrib/mpi/<name> to the install staging directory with each line
# "<from>" replaced by "<to>" (pairs in ARGN); a line that is not found is an
# error, so the scripts and this file cannot drift apart silently.
function(veshm_stage_mpi_script name)
  set(file ${veshm_mpi_src}/${name})
  set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
  file(READ ${file} text)
  while(ARGN)
    list(POP_FRONT ARGN from to)
    string(FIND "${text}" "\n${from}\n" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "contrib/mpi/${name} has no line '${from}' to rewrite for installation")
    endif()
    string(REPLACE "\n${from}\n" "\n${to}\n" text "${text}")
  endwhile()
  file(WRITE ${veshm_mpi_out}/${name} "${text}")
endfunction()

veshm_stage_mpi_script(veshm-mpi-env.sh
  "_veshm_rank_rel=veshm-rank" "_veshm_rank_rel=${veshm_env_to_rank}"
  "_veshm_module_rel=" "_veshm_module_rel=${veshm_env_to_module}"
  "_veshm_route_rel=" "_veshm_route_rel=${veshm_env_to_route}")
veshm_stage_mpi_script(veshm-mpirun "env_rel=veshm-mpi-env.sh" "env_rel=${veshm_bin_to_env}")
veshm_stage_mpi_script(veshm-rank)

install(PROGRAMS ${veshm_mpi_out}/veshm-mpi-env.sh DESTINATION ${CMAKE_INSTALL_DATADIR}/veshm)
install(PROGRAMS ${veshm_mpi_out}/veshm-rank DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/veo)
install(PROGRAMS ${veshm_mpi_out}/veshm-mpirun DESTINATION ${CMAKE_INSTALL_BINDIR})
