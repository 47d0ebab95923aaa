#!/usr/bin/env bash
# MPICH's RMA conformance suite (test/mpi/rma of the MPICH sources) built with
# Open MPI's mpicc and run in veshm mode and in Debian's default mode
# (contrib/mpi/veshm-mpi-env.sh), each test with the process count of its
# testlist line (capped), under a time limit. Prints one table row per run
# with both modes' results, the runs that fail in veshm mode only, and as its
# last line "N passed, M failed" for veshm mode (M counts timeouts too).
#
#   MPICH_SRC=/path/to/mpich contrib/run-mpich-rma.sh [REGEX]
#
# MPICH_SRC: an MPICH checkout or extracted release (its test/mpi/rma and
# test/mpi/util are used where they are; nothing is copied into this
# repository). REGEX (grep -E) selects runs by name, e.g. '^fetch_and_op'.
# Optional:
#   VESHM_BUILD_DIR       the veshm build tree (default: build/ of this checkout)
#   MPICH_RMA_OUT         where the programs, logs and table go
#                         (default $VESHM_BUILD_DIR/mpich-rma)
#   MPICH_RMA_MODES       modes to run, in order (default "veshm default")
#   MPICH_RMA_TIMEOUT     seconds per run (default 60)
#   MPICH_RMA_NP_MAX      process count cap (default 4)
# Exit status: 77 when MPICH_SRC is not set or has no test/mpi/rma (CTest's
# skip code), 2 when a program does not build; else with both modes 1 when a
# run fails in veshm mode only and 0 when none does; with veshm mode alone,
# 1 when any run fails.
set -euo pipefail

if [ -z "${MPICH_SRC:-}" ] || [ ! -f "$MPICH_SRC/test/mpi/rma/testlist.in" ]; then
  echo "run-mpich-rma: MPICH_SRC must name MPICH sources (with test/mpi/rma/testlist.in); skipped" >&2
  exit 77
fi
filter=${1:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=${VESHM_BUILD_DIR:-$root/build}
out=${MPICH_RMA_OUT:-$build/mpich-rma}
modes=${MPICH_RMA_MODES:-veshm default}
limit=${MPICH_RMA_TIMEOUT:-60}
np_max=${MPICH_RMA_NP_MAX:-4}
tdir=$MPICH_SRC/test/mpi
export VESHM_BUILD_DIR=$build
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
mkdir -p "$out/bin" "$out/obj" "$out/logs"

# --- Build -----------------------------------------------------------------
# MPICH's configure writes mpitestconf.h; these are the facts the rma tests
# and mtest read, true for any Linux with an MPI-3 library.
cat >"$out/obj/mpitestconf.h" <<'EOF'
#define HAVE_STDLIB_H 1
#define HAVE_STRING_H 1
#define HAVE_UNISTD_H 1
#define HAVE_STDARG_H 1
#define HAVE_SYS_TIME_H 1
#define HAVE_SYS_RESOURCE_H 1
#define HAVE_GETRUSAGE 1
#define HAVE_MPI_WIN_CREATE 1
#define HAVE_MPI_INIT_THREAD 1
#define HAVE_MPI_IO 1
#define HAVE_LONG_DOUBLE 1
#define HAVE_LONG_LONG 1
#define HAVE_INT64_T 1
#define HAVE_MPI_INTEGER16 1
#define POINTERINT_t int64_t
#define USE_STRICT_MPI 1
#define HAVE_PTHREAD_H 1
#define THREAD_PACKAGE_NAME THREAD_PACKAGE_POSIX
EOF
# MPICH's autogen gives an empty mtest_mpix.h outside MPICH (no MPIX names).
: >"$out/obj/mtest_mpix.h"
cflags=(-O1 -w -I"$out/obj" -I"$tdir/include" -I"$tdir/rma")
for src in mtest mtest_common mtest_single; do
  if [ ! -f "$out/obj/$src.o" ] || [ "$tdir/util/$src.c" -nt "$out/obj/$src.o" ]; then
    mpicc "${cflags[@]}" -c "$tdir/util/$src.c" -o "$out/obj/$src.o"
  fi
done

# Per program (linked with mtest, single-threaded as MPICH's Makefile_single.mtest):
# sources and preprocessor flags from rma/Makefile.am (automake:
# "<prog>_SOURCES", "<prog>_CPPFLAGS", otherwise <prog>.c).
awk '{ while (/\\$/) { sub(/\\$/, ""); line = line $0; if ((getline) <= 0) break } line = line $0; print line; line = "" }' \
  "$tdir/rma/Makefile.am" >"$out/obj/Makefile.am.joined"
prog_var() { # program, variable suffix
  # shellcheck disable=SC2016 # $(...) here is automake's, removed literally
  sed -n "s/^$1_$2[[:space:]]*=[[:space:]]*//p" "$out/obj/Makefile.am.joined" | sed 's/\$(AM_CPPFLAGS)//; s/\$(LDADD)//'
}

# Runs: "name np args..." from the testlist; the display name has the args.
mapfile -t runs < <(grep -v '^[[:space:]]*#' "$tdir/rma/testlist.in" | grep -v '^[[:space:]]*$')
# Display name of a run: the program and its arguments.
run_name_of() { # line
  local name np rest w args=()
  read -r name np rest <<<"$1"
  for w in $rest; do
    case $w in arg=*) args+=("${w#arg=}") ;; esac
  done
  printf '%s' "$name${args[*]:+ ${args[*]}}"
}
# Only the programs of the selected runs are built.
declare -A need=()
for line in "${runs[@]}"; do
  if [ -z "$filter" ] || run_name_of "$line" | grep -Eq -- "$filter"; then
    read -r name _ <<<"$line"
    need[$name]=1
  fi
done

build_one() {
  local p=$1 srcs flags s objs=() newest
  srcs=$(prog_var "$p" SOURCES)
  [ -n "$srcs" ] || srcs="$p.c"
  flags=$(prog_var "$p" CPPFLAGS)
  local bin=$out/bin/$p
  newest=1
  for s in $srcs; do
    case $s in *.c) objs+=("$tdir/rma/$s") ;; esac
    [ "$tdir/rma/$s" -nt "$bin" ] && newest=0
  done
  [ -x "$bin" ] && [ "$newest" = 1 ] && return 0
  # shellcheck disable=SC2086 # flags are words from Makefile.am
  mpicc "${cflags[@]}" $flags -o "$bin" "${objs[@]}" "$out/obj/mtest.o" "$out/obj/mtest_common.o" "$out/obj/mtest_single.o" -lm -lpthread \
    >"$out/obj/$p.build.log" 2>&1 || {
    echo "run-mpich-rma: $p does not build (see $out/obj/$p.build.log)" >&2
    return 1
  }
}
failed_builds=0
jobs_running=0
for p in "${!need[@]}"; do
  build_one "$p" &
  jobs_running=$((jobs_running + 1))
  if [ "$jobs_running" -ge 2 ]; then
    wait -n || failed_builds=$((failed_builds + 1))
    jobs_running=$((jobs_running - 1))
  fi
done
while [ "$jobs_running" -gt 0 ]; do
  wait -n || failed_builds=$((failed_builds + 1))
  jobs_running=$((jobs_running - 1))
done
[ "$failed_builds" = 0 ] || exit 2

# --- Run -------------------------------------------------------------------
# One run: pass (exit 0 and MPICH's " No Errors"), fail, or timeout. Both modes
# run one test after the other so that they see the same machine load.
run_one() { # mode, log, np, program, args...
  local mode=$1 log=$2 np=$3
  shift 3
  local rc=0
  timeout -k 10 "$limit" "$root/contrib/mpi/veshm-mpirun" "$mode" mpirun --oversubscribe -np "$np" "$@" \
    >"$log" 2>&1 </dev/null || rc=$?
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo timeout
  elif [ "$rc" = 0 ] && grep -q '^ No Errors' "$log"; then
    echo pass
  else
    echo fail
  fi
}

read -r -a mode_list <<<"$modes"
declare -A passed=() failed=() timedout=()
only_veshm=()
table=$out/table.txt
{
  printf '%-62s %3s' run np
  for m in "${mode_list[@]}"; do printf ' %-8s' "$m"; done
  printf '\n'
} | tee "$table"
declare -A seen=()
for line in "${runs[@]}"; do
  read -r name np rest <<<"$line"
  args=()
  for w in $rest; do
    case $w in arg=*) args+=("${w#arg=}") ;; esac
  done
  run_name=$(run_name_of "$line")
  [ -z "$filter" ] || printf '%s' "$run_name" | grep -Eq -- "$filter" || continue
  [ "$np" -le "$np_max" ] || np=$np_max
  # The same run twice (a capped np) gets its own log name.
  key=$(printf "%s" "$run_name np$np" | tr -c 'A-Za-z0-9_=.-' '_')
  seen[$key]=$((${seen[$key]:-0} + 1))
  [ "${seen[$key]}" = 1 ] || key=${key}_${seen[$key]}
  declare -A res=()
  row=$(printf '%-62s %3s' "$run_name" "$np")
  for m in "${mode_list[@]}"; do
    mkdir -p "$out/logs/$m"
    r=$(run_one "$m" "$out/logs/$m/$key.log" "$np" "$out/bin/$name" "${args[@]}")
    res[$m]=$r
    case $r in
    pass) passed[$m]=$((${passed[$m]:-0} + 1)) ;;
    fail) failed[$m]=$((${failed[$m]:-0} + 1)) ;;
    timeout) timedout[$m]=$((${timedout[$m]:-0} + 1)) ;;
    esac
    row+=$(printf ' %-8s' "$r")
  done
  echo "$row" | tee -a "$table"
  if [ "${res[veshm]:-pass}" != pass ] && [ "${res[default]:-fail}" = pass ]; then
    only_veshm+=("$run_name (np $np): ${res[veshm]}, log $out/logs/veshm/$key.log")
  fi
  unset res
done

{
  echo
  for m in "${mode_list[@]}"; do
    echo "$m: ${passed[$m]:-0} passed, ${failed[$m]:-0} failed, ${timedout[$m]:-0} timed out"
  done
  if [ -n "${mode_list[1]:-}" ]; then
    echo "failing in veshm mode only: ${#only_veshm[@]}"
    for r in "${only_veshm[@]}"; do echo "  $r"; done
  fi
} | tee -a "$table"
if [[ " $modes " == *" veshm "* ]]; then
  vp=${passed[veshm]:-0}
  vf=$((${failed[veshm]:-0} + ${timedout[veshm]:-0}))
  echo "$vp passed, $vf failed" | tee -a "$table"
  if [ -n "${mode_list[1]:-}" ]; then
    [ "${#only_veshm[@]}" = 0 ]
  else
    [ "$vf" = 0 ]
  fi
fi
