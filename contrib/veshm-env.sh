# shellcheck shell=bash
# Environment that loads the veshm UCX transport into UCX programs.
#
#   . contrib/veshm-env.sh            # then: ucx_info -d, ucx_perftest -x veshm, ...
#
# Debian's UCX only loads the transport modules it was built with, so the
# module is preloaded (LD_PRELOAD): its constructor registers the "veshm"
# component, memory domain and transport with UCX before UCX looks for them.
#
# Inputs (optional):
#   VESHM_UCX_MODULE  path of libuct_veshm.so (default: searched as below)
#   VESHM_BUILD_DIR   build tree holding ucx_tl_veshm/libuct_veshm.so
#                     (default: build-ucx/ or build/ next to this script's
#                     repository, then the installed module in the UCX module
#                     directory: /usr/lib/<multiarch>/ucx or /usr/local/lib/ucx)
# Sets:
#   LD_PRELOAD        the module in front of what was there
#   VESHM_UCX_MODULE  the module found
# Useful UCX variables (not set here; see README "UCX"):
#   UCX_VESHM_NODE    VE node this process's veshm traffic and memory use
#                     (default auto: VE_NODE_NUMBER, else the node of a VE
#                     process the application has, else 0)
#   UCX_TLS=veshm,sm,self and UCX_ALLOC_PRIO=md:veshm,... for UCP programs
_veshm_env_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_veshm_env_found=""
for _m in "${VESHM_UCX_MODULE:-}" \
  "${VESHM_BUILD_DIR:+$VESHM_BUILD_DIR/ucx_tl_veshm/libuct_veshm.so}" \
  "$_veshm_env_dir/../build-ucx/ucx_tl_veshm/libuct_veshm.so" \
  "$_veshm_env_dir/../build/ucx_tl_veshm/libuct_veshm.so" \
  "$_veshm_env_dir/../../lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)/ucx/libuct_veshm.so" \
  "$_veshm_env_dir/../../lib/ucx/libuct_veshm.so" \
  /usr/lib/x86_64-linux-gnu/ucx/libuct_veshm.so /usr/local/lib/ucx/libuct_veshm.so \
  /usr/local/lib/x86_64-linux-gnu/ucx/libuct_veshm.so; do
  if [ -n "$_m" ] && [ -f "$_m" ]; then
    _veshm_env_found=$(cd "$(dirname "$_m")" && pwd)/$(basename "$_m")
    break
  fi
done
if [ -z "$_veshm_env_found" ]; then
  echo "veshm-env.sh: libuct_veshm.so not found (build it, or set VESHM_BUILD_DIR or VESHM_UCX_MODULE)" >&2
  unset _veshm_env_dir _veshm_env_found _m
  # shellcheck disable=SC2317 # exit only when run instead of sourced
  return 1 2>/dev/null || exit 1
fi
export VESHM_UCX_MODULE=$_veshm_env_found
case ":${LD_PRELOAD:-}:" in
*":$VESHM_UCX_MODULE:"*) ;;
*) export LD_PRELOAD="$VESHM_UCX_MODULE${LD_PRELOAD:+:$LD_PRELOAD}" ;;
esac
unset _veshm_env_dir _veshm_env_found _m
