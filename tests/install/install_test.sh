#!/usr/bin/env bash
# Checks an installation of the build tree from the outside.
#   install_test.sh prefix|deb BUILD_DIR SOURCE_DIR C_COMPILER CMAKE
# prefix: cmake --install into a temporary prefix; build hello_ve_memory.c
#         with pkg-config and with find_package(veo); run both; move the
#         prefix elsewhere and run again (the library must find its veorun
#         helper relative to itself, not in the build tree), then an MPI
#         one-sided program through the moved installation's MPI scripts.
# deb:    cpack -G DEB; check the package's files; unpack it into a
#         temporary root and build and run the example and the MPI program
#         against that.
set -euo pipefail
mode=$1 build=$2 src=$3 cc=$4 cmake=$5
unset VEORUN_BIN
cpack="$(dirname "$cmake")/cpack"
tmp=$(mktemp -d /tmp/veo-install-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
example=$src/contrib/examples/hello_ve_memory.c

fail() {
  echo "install_test: FAILED: $*" >&2
  exit 1
}

# Runs program with the library of prefix and checks that the VE process it
# started is the veorun helper installed under that prefix.
run_against() {
  local prefix=$1 libdir=$2 program=$3 out
  out=$(LD_LIBRARY_PATH="$libdir" "$program") || fail "$program exited with $?: $out"
  echo "$out" | sed 's/^/  | /'
  grep -q "hello VE memory: OK" <<<"$out" || fail "$program did not report OK"
  local helper
  helper=$(sed -n 's/.*, helper \(.*\)$/\1/p' <<<"$out")
  case "$helper" in
  "$prefix"/*/veo/veorun) ;;
  *) fail "the VE process runs '$helper', not the helper installed under $prefix" ;;
  esac
  local libs
  libs=$(LD_LIBRARY_PATH="$libdir" ldd "$program")
  grep -q "$libdir/libveo.so.1" <<<"$libs" || fail "$program is not linked with $libdir/libveo.so.1"
}

# Builds the example against prefix with pkg-config and with find_package.
build_and_run() {
  local prefix=$1 libdir pcdir
  pcdir=$(dirname "$(find "$prefix" -name veo.pc | head -1)")
  [ -f "$pcdir/veo.pc" ] || fail "no veo.pc under $prefix"
  libdir=$(PKG_CONFIG_LIBDIR=$pcdir pkg-config --variable=libdir veo)
  libdir=$(cd "$libdir" && pwd)
  echo "install_test: pkg-config --cflags --libs veo: $(PKG_CONFIG_LIBDIR=$pcdir pkg-config --cflags --libs veo)"
  # shellcheck disable=SC2046
  "$cc" -Wall -Wextra -Werror -o "$tmp/hello-pkgconfig" "$example" \
    $(PKG_CONFIG_LIBDIR=$pcdir pkg-config --cflags --libs veo)
  run_against "$prefix" "$libdir" "$tmp/hello-pkgconfig"

  echo "install_test: find_package(veo) with CMAKE_PREFIX_PATH=$prefix"
  rm -rf "$tmp/outside"
  "$cmake" -S "$src/contrib/examples/outside" -B "$tmp/outside" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" >"$tmp/outside.log" 2>&1 || { cat "$tmp/outside.log"; fail "configure"; }
  "$cmake" --build "$tmp/outside" >>"$tmp/outside.log" 2>&1 || { cat "$tmp/outside.log"; fail "build"; }
  run_against "$prefix" "$libdir" "$tmp/outside/hello_ve_memory"
}

# When the build has the UCX transport: the module is installed in UCX's
# module directory next to libveo, and the installed veshm-env.sh finds it, so
# that ucx_info lists the veshm transport.
check_ucx_module() {
  local prefix=$1 libdir module env out
  [ -f "$build/ucx_tl_veshm/libuct_veshm.so" ] || return 0
  module=$(find "$prefix" -path '*/ucx/libuct_veshm.so' | head -1)
  [ -n "$module" ] || fail "libuct_veshm.so is not installed in a ucx/ module directory"
  env=$(find "$prefix" -name veshm-env.sh | head -1)
  [ -n "$env" ] || fail "veshm-env.sh is not installed"
  libdir=$(dirname "$(find "$prefix" -name libveo.so.1 | head -1)")
  out=$(env -u VESHM_BUILD_DIR -u VESHM_UCX_MODULE -u LD_PRELOAD LD_LIBRARY_PATH="$libdir" \
    bash -c '. "$1" && echo "module $VESHM_UCX_MODULE" && ucx_info -d' _ "$env") ||
    fail "ucx_info with the installed veshm-env.sh failed: $out"
  grep -qx "module $(realpath "$module")" <<<"$out" || fail "veshm-env.sh did not pick the installed module: $(head -1 <<<"$out")"
  grep -q 'Transport: veshm' <<<"$out" || fail "ucx_info -d does not list the veshm transport"
  echo "install_test: ucx_info -d lists veshm with $module"
}

# When the build has the UCX transport and Open MPI is installed: the
# installed MPI scripts run an MPI one-sided program over veshm with nothing of
# the source or build tree in their environment. Checks that the program's
# data is right (it exits non-zero otherwise), that the installed module and
# per-rank launcher were the ones used, and that every rank reached the other
# ranks' windows through the installed module's VESHM attachments (the
# routing library's report, VESHM_OSC_DIRECT_STATS).
check_mpi() {
  local prefix=$1 launcher env_script rank module out n
  [ -f "$build/ucx_tl_veshm/libuct_veshm.so" ] || return 0
  if ! command -v mpicc >/dev/null || ! command -v mpirun >/dev/null; then
    echo "install_test: no Open MPI: MPI over the installation not checked"
    return 0
  fi
  launcher=$(find "$prefix" -path '*/bin/veshm-mpirun' | head -1)
  env_script=$(find "$prefix" -path '*/share/veshm/veshm-mpi-env.sh' | head -1)
  rank=$(find "$prefix" -path '*/libexec/veo/veshm-rank' | head -1)
  [ -n "$launcher" ] || fail "bin/veshm-mpirun is not installed"
  [ -n "$env_script" ] || fail "share/veshm/veshm-mpi-env.sh is not installed"
  [ -n "$rank" ] || fail "libexec/veo/veshm-rank is not installed"
  mpicc -Wall -Wextra -Werror -o "$tmp/hello_rma" "$src/contrib/examples/hello_rma.c"
  echo "install_test: $launcher veshm mpirun -np 4 hello_rma"
  out=$(cd "$tmp" && env -u VESHM_BUILD_DIR -u VESHM_UCX_MODULE -u LD_PRELOAD \
    -u OMPI_MCA_orte_fork_agent OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    VESHM_OSC_DIRECT_STATS=1 "$launcher" veshm bash -c \
    'echo "module $VESHM_UCX_MODULE"; echo "agent $OMPI_MCA_orte_fork_agent"
     exec mpirun --oversubscribe -np 4 "$1"' _ "$tmp/hello_rma" 2>&1) ||
    fail "hello_rma over the installed veshm-mpirun failed: $out"
  echo "$out" | sed 's/^/  | /'
  module=$(find "$prefix" -path '*/ucx/libuct_veshm.so' | head -1)
  grep -qx "module $(realpath "$module")" <<<"$out" || fail "veshm-mpi-env.sh did not pick the installed module"
  grep -qx "agent $(realpath "$rank")" <<<"$out" || fail "the ranks were not started by the installed veshm-rank"
  n=$(grep -c '^rank [0-3] of 4: my window holds' <<<"$out" || true)
  [ "$n" -eq 4 ] || fail "$n of 4 ranks reported"
  # On one host hello_rma's put and get take the routing library's same-host
  # path: copies through the host views of the other ranks' VE memory that the
  # installed module attached (VESHM). Each rank reports at MPI_Win_free how
  # many ranks it reached so and how many operations went that way.
  n=$(awk '/^osc_route: rank [0-3] window: 4 of 4 ranks reached directly, [1-9][0-9]* operations direct/ { n++ } END { print n + 0 }' <<<"$out")
  [ "$n" -ge 4 ] || fail "only $n of 4 ranks reached all windows through veshm's views: veshm did not carry them"
  echo "install_test: MPI one-sided over veshm from the installation: 4 ranks, data right, through veshm's views in each"
}

case "$mode" in
prefix)
  echo "install_test: cmake --install $build --prefix $tmp/prefix"
  "$cmake" --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "install"; }
  for f in include/ve_offload.h include/veo_veshm.h include/veo_vedma.h include/veo_hmem.h \
    include/veo_veshm_defs.h include/veo_emu.h include/veo_vhveshm.h include/veo_vhshm_defs.h \
    include/veo_get_arch_info.h libexec/veo/veorun libexec/veo/veshm-rank \
    share/veshm/veshm-mpi-env.sh bin/veshm-mpirun; do
    [ -e "$tmp/prefix/$f" ] || fail "$f is not installed"
  done
  so=$(find "$tmp/prefix" -name libveo.so.1 | head -1)
  [ -n "$so" ] || fail "libveo.so.1 is not installed"
  soname=$(objdump -p "$so" | awk '/SONAME/ {print $2}')
  [ "$soname" = libveo.so.1 ] || fail "SONAME is '$soname'"
  if grep -q "$build" <<<"$(objdump -p "$so" | grep -E "RPATH|RUNPATH")"; then
    fail "the installed library has a run path into the build tree"
  fi
  build_and_run "$tmp/prefix"
  check_ucx_module "$tmp/prefix"
  echo "install_test: moving the installation to $tmp/moved"
  mv "$tmp/prefix" "$tmp/moved"
  build_and_run "$tmp/moved"
  check_mpi "$tmp/moved"
  ;;
deb)
  echo "install_test: cpack -G DEB"
  (cd "$tmp" && "$cpack" --config "$build/CPackConfig.cmake" -G DEB -B "$tmp/pkg") \
    >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log"; fail "cpack"; }
  deb=$(ls "$tmp"/pkg/*.deb)
  echo "install_test: $(basename "$deb")"
  dpkg-deb --info "$deb" | sed 's/^/  | /'
  dpkg-deb --contents "$deb" >"$tmp/contents"
  for f in ./usr/include/ve_offload.h ./usr/include/veo_veshm.h ./usr/include/veo_vhveshm.h \
    ./usr/libexec/veo/veorun ./usr/libexec/veo/veshm-rank ./usr/share/veshm/veshm-mpi-env.sh \
    ./usr/bin/veshm-mpirun \
    /libveo.so.1 /pkgconfig/veo.pc /cmake/veo/veoConfig.cmake /cmake/veo/veoTargets.cmake; do
    grep -q -- "$f" "$tmp/contents" || fail "$f is not in the package"
  done
  grep -q libhwloc <<<"$(dpkg-deb --field "$deb" Depends)" || fail "the package does not depend on libhwloc"
  dpkg-deb -x "$deb" "$tmp/root"
  build_and_run "$tmp/root/usr"
  check_ucx_module "$tmp/root/usr"
  check_mpi "$tmp/root/usr"
  ;;
*) fail "unknown mode $mode" ;;
esac
echo "install_test: $mode: OK"
