# The sources of core/, listed once: core/CMakeLists.txt builds them, and the
# fuzzers (tests/fuzz) compile the ones they fuzz with their own flags.
set(_core ${PROJECT_SOURCE_DIR}/core)

# System helpers and the wire protocols: the library, the VE process helper,
# veshm-info and the tests that speak the protocols share them.
set(VEO_WIRE_SOURCES
    ${_core}/sys/config.cpp
    ${_core}/sys/log.cpp
    ${_core}/sys/numa_placement.cpp
    ${_core}/sys/unix_socket.cpp
    ${_core}/wire/info_query.cpp
    ${_core}/wire/veshm_protocol.cpp
    ${_core}/wire/veshm_rendezvous.cpp)

# libveo: the VEO C API (lib/api) over the VH side of a VE process
# (VEO_INTERNAL_SOURCES, which the unit tests link too).
set(VEO_API_SOURCES
    ${_core}/lib/api/arch_info_api.cpp
    ${_core}/lib/api/dma_api.cpp
    ${_core}/lib/api/emu_api.cpp
    ${_core}/lib/api/exec_api.cpp
    ${_core}/lib/api/hmem_api.cpp
    ${_core}/lib/api/mem_api.cpp
    ${_core}/lib/api/proc_api.cpp
    ${_core}/lib/api/veshm_api.cpp
    ${_core}/lib/api/vhshm_api.cpp)
set(VEO_INTERNAL_SOURCES
    ${_core}/lib/api/api_guard.cpp
    ${_core}/lib/dma/dma_engine.cpp
    ${_core}/lib/dma/dmaatb.cpp
    ${_core}/lib/exec/call_args.cpp
    ${_core}/lib/exec/context.cpp
    ${_core}/lib/exec/exec_state.cpp
    ${_core}/lib/memory/vemva_allocator.cpp
    ${_core}/lib/proc/control_channel.cpp
    ${_core}/lib/proc/hooks.cpp
    ${_core}/lib/proc/proc.cpp
    ${_core}/lib/veshm/veshm_areas.cpp
    ${_core}/lib/veshm/veshm_attacher.cpp)

# The VE process (veorun) without its main(): the control dispatcher, the
# event loop and the VESHM and VE code services.
set(VEORUN_SERVICE_SOURCES
    ${_core}/veorun/control_dispatch.cpp
    ${_core}/veorun/event_loop.cpp
    ${_core}/veorun/fault_injection.cpp
    ${_core}/veorun/veshm/attachment_mapping.cpp
    ${_core}/veorun/veshm/owner_service.cpp)
set(VEORUN_EXEC_SOURCES ${_core}/veorun/exec/exec_service.cpp)
set(VEORUN_MAIN_SOURCE ${_core}/veorun/main.cpp)
unset(_core)
