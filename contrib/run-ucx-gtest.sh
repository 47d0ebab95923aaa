#!/usr/bin/env bash
# Runs UCX's own unit tests (the gtest suite of the UCX source, test/gtest/uct)
# against the veshm transport:
#
#   contrib/run-ucx-gtest.sh [--build-dir DIR] [--module PATH] [--filter PATTERN]
#                            [--test-timeout SECONDS] [--timeout SECONDS]
#                            [--cache DIR] [--jobs N] [--ucx-libs system|build]
#                            [--build-only] [--list]
#
# * Source: the UCX source package of the installed UCX that the build already
#   fetches (contrib/ucx-headers.sh; ~/.cache/veshm/ucx-<version>, or
#   VESHM_UCX_SOURCE). It is copied, never changed in place.
# * Patch: contrib/ucx-gtest/veshm-gtest.patch adds veshm to gtest's transport
#   and memory-domain lists (nothing else).
# * Build: autogen + configure like Debian's libucx0 + make (-j2, VESHM_JOBS),
#   cached in <cache>/ucx-gtest-<version>/ (default ~/.cache/veshm): a second
#   run compiles nothing. Only the gtest sources the uct tests need are built
#   (common/, uct/ without ib/cuda/rocm), which is about a third of the suite.
#   Packages it needs (autoconf, automake, libtool, g++) come from apt-get.
# * Run: every test matching PATTERN (default *veshm*) in its own gtest
#   process, libuct_veshm.so preloaded (default: DIR/ucx_tl_veshm/, DIR
#   defaults to build/ of this repository), each under --test-timeout
#   (default 300 s), all under --timeout (default 3600 s; tests not started by
#   then count as failed). Logs: <cache>/ucx-gtest-<version>/logs/.
# * Output: one line per test, then "N passed, M failed, K skipped" as the
#   last line. Exit status 0 when nothing failed, 1 otherwise, 2 when the
#   suite could not be built or the module is missing.
# --ucx-libs: run with Debian's UCX libraries (system, the default,
# VESHM_UCX_GTEST_LIBS) or the source-built ones (build); see "run" below.
# --build-only builds (or checks the cache) and stops; --list lists the tests
# that would run.
set -euo pipefail

prog=run-ucx-gtest.sh
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${VESHM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/veshm}
build_dir=${VESHM_BUILD_DIR:-$root/build}
module=${VESHM_UCX_MODULE:-}
filter='*veshm*'
test_timeout=300
total_timeout=3600
jobs=${VESHM_JOBS:-2}
build_only=0
list_only=0
ucx_libs_choice=${VESHM_UCX_GTEST_LIBS:-system}
while [ $# -gt 0 ]; do
  case "$1" in
  --build-dir) build_dir=$2; shift 2 ;;
  --module) module=$2; shift 2 ;;
  --filter) filter=$2; shift 2 ;;
  --test-timeout) test_timeout=$2; shift 2 ;;
  --timeout) total_timeout=$2; shift 2 ;;
  --cache) cache=$2; shift 2 ;;
  --jobs) jobs=$2; shift 2 ;;
  --build-only) build_only=1; shift ;;
  --list) list_only=1; shift ;;
  --ucx-libs) ucx_libs_choice=$2; shift 2 ;;
  -h | --help) sed -n '2,/^set -e/{/^set -e/!p}' "$0"; exit 0 ;;
  *) echo "$prog: unknown argument $1" >&2; exit 2 ;;
  esac
done

die() { echo "$prog: $*" >&2; exit 2; }
say() { echo "$prog: $*" >&2; }

# --- tools -------------------------------------------------------------------
need=()
for t in autoconf:autoconf automake:automake libtoolize:libtool g++:g++ make:make \
  patch:patch timeout:coreutils; do
  command -v "${t%%:*}" >/dev/null || need+=("${t#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "missing ${need[*]}; install them (apt-get install ${need[*]})"
    SUDO=sudo
  fi
  say "installing ${need[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null || die "apt-get install ${need[*]} failed"
fi

# --- source ------------------------------------------------------------------
hdr_out=$(bash "$root/contrib/ucx-headers.sh" --cache "$cache") ||
  die "no UCX source (contrib/ucx-headers.sh failed)"
eval "$(grep -E '^UCX_(SRC|VERSION)=' <<<"$hdr_out")"
if [ -z "${UCX_SRC:-}" ] || [ ! -d "$UCX_SRC/../test/gtest" ]; then
  die "UCX source at ${UCX_SRC:-?} has no test/gtest"
fi
pristine=$(cd "$UCX_SRC/.." && pwd)
work=$cache/ucx-gtest-$UCX_VERSION
src=$work/src
obj=$work/build
logs=$work/logs
patch_file=$root/contrib/ucx-gtest/veshm-gtest.patch
mkdir -p "$work"

if [ ! -f "$work/.copied" ]; then
  say "copying $pristine to $src"
  rm -rf "$src" "$obj"
  cp -a "$pristine" "$src"
  touch "$work/.copied"
fi

# The patch in the repository may change: the one applied is kept beside the
# tree, taken back out and the new one applied; a file whose content ends up
# the same gets its old time stamp back, so make recompiles only the test
# files whose text changed (uct_test.h is included by every uct test).
applied=$work/applied.patch
if ! cmp -s "$patch_file" "$applied" 2>/dev/null; then
  # No applied patch yet on a fresh copy: cat's failure must not end the
  # script (pipefail).
  files=$({ cat "$patch_file"; cat "$applied" 2>/dev/null || true; } | sed -n 's|^+++ [^/]*/\([^[:space:]]*\).*|\1|p' | sort -u)
  rm -rf "$work/before"
  for f in $files; do
    if [ -f "$src/$f" ]; then mkdir -p "$work/before/$(dirname "$f")" && cp -p "$src/$f" "$work/before/$f"; fi
  done
  if [ -f "$applied" ]; then
    (cd "$src" && patch -p1 -R -s <"$applied") || die "cannot take back $applied"
    rm -f "$applied"
  fi
  (cd "$src" && patch -p1 -s --no-backup-if-mismatch <"$patch_file") || die "cannot apply $patch_file"
  cp "$patch_file" "$applied"
  for f in $files; do
    if cmp -s "$src/$f" "$work/before/$f" 2>/dev/null; then touch -r "$work/before/$f" "$src/$f"; fi
  done
  rm -rf "$work/before"
fi

# --- configure ---------------------------------------------------------------
# ABI: libuct_veshm.so is compiled against Debian's libucx0 headers and the
# config.h of `ucx_info -b` (contrib/ucx-headers.sh). The gtest binary and the
# source-built libraries it runs with must agree with that on every
# configuration macro that changes a structure or an inline function the
# module and the tests share (ENABLE_MT, ENABLE_ASSERT, ENABLE_PARAMS_CHECK,
# ENABLE_DEBUG_DATA, ENABLE_STATS, UCS_MAX_LOG_LEVEL, ...). So the tree is
# configured with Debian's own options (debian/rules: --enable-mt
# --disable-logging --disable-backtrace-detail --enable-cma), minus what only
# adds other transports (verbs, rdmacm, examples, Java), and the script
# compares the ENABLE_*/UCS_* macros of the two config.h files and refuses to
# run when they differ (see check_config below).
configure_opts=(--enable-mt --disable-logging --disable-backtrace-detail --enable-cma
  --without-verbs --without-rdmacm --without-java --without-go --without-cuda
  --without-rocm --without-knem --without-xpmem --without-ugni --without-fuse3
  --disable-doxygen-doc --disable-examples --enable-gtest)
opts_stamp="$UCX_VERSION ${configure_opts[*]}"
if [ ! -f "$src/configure" ]; then
  say "autogen (log: $work/autogen.log)"
  (cd "$src" && ./autogen.sh) >"$work/autogen.log" 2>&1 || die "autogen failed, see $work/autogen.log"
fi
if [ "$(cat "$obj/.configured" 2>/dev/null)" != "$opts_stamp" ]; then
  say "configure (log: $work/configure.log)"
  rm -rf "$obj"
  mkdir -p "$obj"
  (cd "$obj" && "$src/configure" "${configure_opts[@]}") >"$work/configure.log" 2>&1 ||
    die "configure failed, see $work/configure.log"
  echo "$opts_stamp" >"$obj/.configured"
fi

check_config() {
  local deb mine
  deb=$(ucx_info -b | awk '$1 == "#define" && $2 ~ /^(ENABLE_|UCS_)/ { print $2, $3 }' | sort)
  mine=$(awk '$1 == "#define" && $2 ~ /^(ENABLE_|UCS_)/ { print $2, $3 }' "$obj/config.h" | sort)
  if [ "$deb" != "$mine" ]; then
    diff <(echo "$deb") <(echo "$mine") >&2 || true
    die "the source build's config.h differs from the installed UCX's (ucx_info -b) above"
  fi
}
check_config

# --- build -------------------------------------------------------------------
t0=$(date +%s)
# Only what the uct tests link (the top-level make would build the whole
# gtest, two thirds of it UCP/UCS tests that never touch a transport).
say "building the UCX libraries and gtest with -j$jobs (log: $work/make.log)"
: >"$work/make.log"
for d in src/ucm src/ucs src/uct src/ucp src/tools/perf/lib src/tools/info \
  test/gtest/ucs/test_module test/gtest/ucm/test_dlopen test/gtest/common/googletest; do
  make -C "$obj/$d" -j"$jobs" >>"$work/make.log" 2>&1 || die "make in $d failed, see $work/make.log"
done
# The gtest objects of common/ and uct/ (no ib/cuda/rocm), handed to the
# generated Makefile's own link rule in place of its full object list.
gobjs=$(make -C "$obj/test/gtest" -pn gtest 2>/dev/null |
  sed -n 's/^am_gtest_OBJECTS = //p' | head -1 | tr ' ' '\n' |
  grep -E '^(common|uct)/' | grep -vE '^uct/(ib|cuda|rocm)/' | tr '\n' ' ')
[ -n "$gobjs" ] || die "cannot find gtest's object list in $obj/test/gtest/Makefile"
make -C "$obj/test/gtest" -j"$jobs" gtest am_gtest_OBJECTS="$gobjs" >>"$work/make.log" 2>&1 ||
  die "make of gtest failed, see $work/make.log"
gtest=$obj/test/gtest/gtest
[ -x "$gtest" ] || die "no $gtest after make"
t1=$(date +%s)
say "build ready in $((t1 - t0)) s (cached in $work)"
[ "$build_only" -eq 0 ] || exit 0

# --- run ---------------------------------------------------------------------
if [ -z "$module" ]; then module=$build_dir/ucx_tl_veshm/libuct_veshm.so; fi
[ -f "$module" ] || die "no $module (build the project first: bash contrib/build.sh)"
module=$(cd "$(dirname "$module")" && pwd)/$(basename "$module")

# Which libucs/libuct/libucm/libucp the run uses, through LD_LIBRARY_PATH
# (it comes before gtest's RUNPATH; the preloaded module finds its own
# dependencies through it too, so module, gtest and UCX always share one set):
# system: Debian's libucx0, the UCX the module is built for and runs with
#   everywhere else; gtest, compiled against the same version configured the
#   same way (check_config), uses it like the libraries it was linked with.
# build: the source-built libraries gtest was linked with.
case $ucx_libs_choice in
system) ucx_libs=$(dirname "$(ldd "$(command -v ucx_info)" | awk '$1 == "libuct.so.0" { print $3; exit }')") ;;
build) ucx_libs=$obj/src/ucs/.libs:$obj/src/uct/.libs:$obj/src/ucm/.libs:$obj/src/ucp/.libs ;;
*) die "--ucx-libs takes system or build, not $ucx_libs_choice" ;;
esac
[ -e "${ucx_libs%%:*}/libucs.so.0" ] || die "no libucs.so.0 in ${ucx_libs%%:*}"
run_env=(
  LD_PRELOAD="$module${LD_PRELOAD:+:$LD_PRELOAD}"
  LD_LIBRARY_PATH="$ucx_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  # gtest's own defaults (test/gtest/Makefile.am), except that a crash
  # prints a backtrace and exits instead of freezing for a debugger.
  UCX_HANDLE_ERRORS=bt UCX_LOG_LEVEL=warn UCX_LOG_PRINT_ENABLE=y
  GTEST_COLOR=no
)

list=$(env "${run_env[@]}" "$gtest" --gtest_list_tests --gtest_filter="$filter" 2>"$work/list.err") ||
  { cat "$work/list.err" >&2; die "gtest --gtest_list_tests failed"; }
tests=$(awk '/^[^ ]/ { suite = $1; next } /^  / { print suite $1 }' <<<"$list")
if [ "$list_only" -eq 1 ]; then
  printf '%s\n' "$tests"
  exit 0
fi
[ -n "$tests" ] || die "no test matches $filter (is veshm in UCX's resource list? ucx_info -d with the module preloaded)"

rm -rf "$logs"
mkdir -p "$logs"
passed=0 failed=0 skipped=0
deadline=$(($(date +%s) + total_timeout))
results=$logs/results.txt
: >"$results"
report() { # STATE NAME DETAIL
  printf '%-4s %s%s\n' "$1" "$2" "${3:+  ($3)}" | tee -a "$results"
}
while read -r name; do
  log=$logs/${name//\//_}.log
  left=$((deadline - $(date +%s)))
  if [ "$left" -le 0 ]; then
    failed=$((failed + 1))
    report FAIL "$name" "not run: the overall timeout of ${total_timeout}s is over"
    continue
  fi
  limit=$((left < test_timeout ? left : test_timeout))
  start=$(date +%s)
  rc=0
  # gtest's watchdog (-t) aborts a hanging test with a backtrace first;
  # timeout(1) is the backstop for a process that no longer reacts.
  # (The braces keep bash's own "Segmentation fault" job report out of the
  # output; the test's log has UCX's backtrace.)
  { env "${run_env[@]}" timeout -k 10 $((limit + 30)) "$gtest" -t "$limit" \
    --gtest_filter="$name" >"$log" 2>&1; } 2>/dev/null || rc=$?
  secs=$(($(date +%s) - start))
  if [ "$rc" -eq 0 ] && grep -q '^\[       OK \]' "$log"; then
    if grep -q '^\[ *SKIP \]' "$log"; then
      skipped=$((skipped + 1))
      report SKIP "$name" "$(sed -n 's/^\[ *SKIP \] *//; T; s/^(\(.*\))$/\1/; p' "$log" | head -1)"
    else
      passed=$((passed + 1))
      report PASS "$name" "${secs}s"
    fi
  else
    failed=$((failed + 1))
    case $rc in
    0) why="no OK line" ;;
    124 | 137) why="timed out after ${secs}s" ;;
    *) why="exit status $rc" ;;
    esac
    # What went wrong first: a signal (UCX's handler names it), else the
    # first failed expectation with its explanation (up to the next gtest
    # line), else a UCX error or the watchdog.
    first=$(awk '
      /Caught signal/ { sub(/^.*Caught signal/, "Caught signal"); print; exit }
      grab && (/^\[/ || /: Failure$/) { print msg; exit }
      /: Failure$/ { n = split($1, p, "/"); msg = p[n]; grab = 1; next }
      grab { gsub(/^ +/, ""); msg = msg " " $0; if (length(msg) > 300) { print msg; exit } next }
      /\[ *ERROR|error|watchdog|Assertion/ && !other { other = $0 }
      END { if (grab) print msg; else if (other != "") print other }' "$log" | head -1 | cut -c1-300)
    report FAIL "$name" "$why${first:+; $first}; log: $log"
  fi
done <<<"$tests"

echo "$passed passed, $failed failed, $skipped skipped" | tee -a "$results"
[ "$failed" -eq 0 ]
