#!/usr/bin/env bash
# Mutation check: do the tests catch the breakages they are there for?
#
#   contrib/mutate.sh              every mutation of contrib/mutations.txt
#   contrib/mutate.sh NAME...      only those
#   contrib/mutate.sh --list       the mutations, one line each
#
# Each mutation (contrib/mutations.txt: file, exact text to find, its
# replacement, the ctest regex of the tests that must catch it) is applied,
# one at a time, to a scratch copy of this tree (VESHM_MUTATE_DIR, default
# build-mutate/: src/ is the copy, build/ its build tree, logs/ one log per
# mutation). The copy is built incrementally, the named tests run, and the
# text is put back before the next one. Per mutation it prints
#   NAME: caught by TEST...      (a pass: at least one named test failed)
#   NAME: SURVIVED               (a failure: all named tests passed)
#   NAME: FAILED (why)           (a failure: anchor not found or not unique,
#                                 no test matches, does not build)
# and last, exactly: "N passed, M failed". Exit status 0 iff M is 0.
# "tests: @configure" instead of a regex: configuring the mutated tree with
# -DVESHM_REQUIRE_ALL=ON must fail with that option's error (a missing
# dependency must fail CI; another configure error does not count).
#
# Before the mutations, every named test must pass on the unmutated copy:
# a test that fails anyway would "catch" anything. The scratch tree is kept
# between runs (only changed files are copied), so a second run rebuilds
# only what the mutations touch; the first one builds everything (no
# benchmarks, no -Werror: a mutation need not be warning-free).
#
# Environment: VESHM_MUTATE_DIR (scratch, default build-mutate/ in the
# repository), VESHM_JOBS (compile jobs and tests at a time, default 2),
# VESHM_TEST_TIMEOUT (seconds per test, default 300), VESHM_MUTATIONS (the
# list, default contrib/mutations.txt). Run it before resolving an issue that
# adds a guarantee, with a mutation for that guarantee added to the list.
set -uo pipefail
shopt -u patsub_replacement 2>/dev/null || true # "&" in a replacement stays "&"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${VESHM_MUTATE_DIR:-$root/build-mutate}
jobs=${VESHM_JOBS:-2}
timeout=${VESHM_TEST_TIMEOUT:-300}
list=${VESHM_MUTATIONS:-$root/contrib/mutations.txt}
src=$dir/src
build=$dir/build
logs=$dir/logs
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# ---- the list ----
names=() files=() finds=() replaces=() tests=()
add_entry() {
  [ -n "${e_name:-}" ] || return 0
  if [ -z "${e_file:-}" ] || [ -z "${e_find:-}" ] || [ -z "${e_tests:-}" ]; then
    echo "mutate.sh: $list: mutation '$e_name' needs file, find and tests" >&2
    exit 2
  fi
  local n
  for n in "${names[@]}"; do
    [ "$n" != "$e_name" ] || { echo "mutate.sh: $list: '$e_name' twice" >&2; exit 2; }
  done
  names+=("$e_name") files+=("$e_file") finds+=("${e_find//\\n/$'\n'}")
  replaces+=("${e_replace//\\n/$'\n'}") tests+=("$e_tests")
  e_name='' e_file='' e_find='' e_replace='' e_tests=''
}
e_name='' e_file='' e_find='' e_replace='' e_tests=''
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
  '#'*) ;;
  '') add_entry ;;
  name:*) add_entry; e_name=${line#name:}; e_name=${e_name# } ;;
  why:*) ;;
  file:*) e_file=${line#file:}; e_file=${e_file# } ;;
  find:*) e_find=${line#find:}; e_find=${e_find# } ;;
  replace:*) e_replace=${line#replace:}; e_replace=${e_replace# } ;;
  tests:*) e_tests=${line#tests:}; e_tests=${e_tests# } ;;
  *) echo "mutate.sh: $list: cannot read: $line" >&2; exit 2 ;;
  esac
done <"$list"
add_entry

if [ "${1:-}" = --list ]; then
  for i in "${!names[@]}"; do printf '%-28s %-40s %s\n' "${names[$i]}" "${files[$i]}" "${tests[$i]}"; done
  exit 0
fi
selected=()
if [ $# -eq 0 ]; then
  selected=("${!names[@]}")
else
  for want in "$@"; do
    found=''
    for i in "${!names[@]}"; do [ "${names[$i]}" = "$want" ] && found=$i; done
    [ -n "$found" ] || { echo "mutate.sh: no mutation named '$want' (--list)" >&2; exit 2; }
    selected+=("$found")
  done
fi

# ---- the scratch copy: tracked and untracked (not ignored) files ----
start=$SECONDS
mkdir -p "$src" "$logs"
mapfile -t tree < <(git -C "$root" ls-files -co --exclude-standard)
[ ${#tree[@]} -gt 0 ] || { echo "mutate.sh: $root is no git checkout" >&2; exit 2; }
copied=0
declare -A in_tree=()
for f in "${tree[@]}"; do
  in_tree[$f]=1
  [ -f "$root/$f" ] || continue
  if ! cmp -s "$root/$f" "$src/$f"; then
    mkdir -p "$(dirname "$src/$f")"
    # A new modification time: make rebuilds what depends on it.
    cp --preserve=mode "$root/$f" "$src/$f"
    copied=$((copied + 1))
  fi
done
# Files gone from the tree go from the copy too (a suite folder, a test).
while IFS= read -r -d '' f; do
  f=${f#"$src"/}
  [ -n "${in_tree[$f]:-}" ] || rm -f "$src/$f"
done < <(find "$src" -type f -print0)
echo "mutate.sh: scratch copy $src ($copied files updated)"

configure() {
  cmake -S "$src" -B "$build" -DVESHM_BUILD_BENCH=OFF -DVESHM_REQUIRE_ALL=ON
}
compile() {
  cmake --build "$build" -j "$jobs"
}
if ! { configure && compile; } >"$logs/build.log" 2>&1; then
  tail -30 "$logs/build.log"
  echo "mutate.sh: the unmutated copy does not build (see $logs/build.log)" >&2
  exit 1
fi

# The named tests must pass without any mutation.
# (A regex that matches no test fails its mutation below.)
# One run of the union of the tests named, by name: CMake's regular
# expressions allow only 9 groups, fewer than the list's regexes have.
named() { (cd "$build" && ctest -N -R "$1" | sed -n 's/^ *Test *#[0-9]*: *//p'); }
matches() { named "$1" | grep -c .; }
declare -A baseline=()
for i in "${selected[@]}"; do
  [ "${tests[$i]}" = @configure ] && continue
  while IFS= read -r t; do
    [ -z "$t" ] || baseline[$t]=1
  done < <(named "${tests[$i]}")
done
if [ ${#baseline[@]} -gt 0 ]; then
  all=''
  for t in "${!baseline[@]}"; do
    all=${all:+$all|}^$(printf '%s' "$t" | sed 's/[][\\.*^$+?(){}|]/\\&/g')\$
  done
  echo "mutate.sh: the named tests on the unmutated copy"
  if ! (cd "$build" && ctest --no-tests=error -j "$jobs" --timeout "$timeout" -R "$all") \
    >"$logs/baseline.log" 2>&1; then
    grep -E '^\s*[0-9]+ - |tests passed' "$logs/baseline.log"
    echo "mutate.sh: named tests fail without any mutation (see $logs/baseline.log)" >&2
    exit 1
  fi
fi

# ---- one mutation at a time ----
current='' saved=''
restore() {
  if [ -n "$current" ]; then
    printf '%s' "$saved" >"$src/$current"
    current=''
  fi
}
trap 'restore' EXIT
trap 'restore; exit 130' INT TERM

passed=0 failed=0 results=()
report() { # text pass|fail
  results+=("$1")
  echo "$1"
  if [ "$2" = pass ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}
for i in "${selected[@]}"; do
  name=${names[$i]} file=${files[$i]} find=${finds[$i]} repl=${replaces[$i]} regex=${tests[$i]}
  log=$logs/$name.log
  t0=$SECONDS
  if [ ! -f "$src/$file" ]; then
    report "$name: FAILED (no file $file)" fail
    continue
  fi
  content=$(cat "$src/$file"; printf x)
  content=${content%x}
  count=0 rest=$content
  while [[ $rest == *"$find"* ]] && [ $count -lt 2 ]; do
    count=$((count + 1))
    rest=${rest#*"$find"}
  done
  if [ $count -ne 1 ]; then
    [ $count -eq 0 ] && why="anchor not found in $file" || why="anchor found more than once in $file"
    report "$name: FAILED ($why)" fail
    continue
  fi
  current=$file saved=$content
  printf '%s' "${content/"$find"/"$repl"}" >"$src/$file"
  if [ "$regex" = @configure ]; then
    if configure >"$log" 2>&1; then
      report "$name: SURVIVED (the mutated tree configures with VESHM_REQUIRE_ALL=ON)" fail
    elif grep -q 'VESHM_REQUIRE_ALL is ON' "$log"; then
      report "$name: caught by configure ($(grep -m1 -A1 'CMake Error' "$log" | tail -1 | sed 's/^ *//'))" pass
    else
      report "$name: FAILED (configure failed, but not for a missing part: see $log)" fail
    fi
    restore
    configure >>"$log" 2>&1 || { echo "mutate.sh: cannot configure the restored copy" >&2; exit 1; }
    continue
  fi
  if [ "$(matches "$regex")" -eq 0 ]; then
    report "$name: FAILED (no test matches $regex)" fail
    restore
    continue
  fi
  if ! compile >"$log" 2>&1; then
    report "$name: FAILED (does not build, see $log)" fail
    restore
    continue
  fi
  (cd "$build" && ctest --no-tests=error -j "$jobs" --timeout "$timeout" -R "$regex" --output-on-failure) >>"$log" 2>&1
  rc=$?
  restore
  failed_tests=$(sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (.*)$/\1/p' "$log" | tr '\n' ' ')
  if [ $rc -eq 0 ]; then
    report "$name: SURVIVED ($regex passed; $((SECONDS - t0)) s)" fail
  elif [ -z "$failed_tests" ]; then
    report "$name: FAILED (ctest failed without a failed test, see $log)" fail
  else
    report "$name: caught by ${failed_tests% } ($((SECONDS - t0)) s)" pass
  fi
done
# Leave the copy built as it is in the tree.
compile >>"$logs/build.log" 2>&1 || true

echo "--- mutate.sh: ${#selected[@]} mutations in $((SECONDS - start)) s; logs in $logs"
printf '%s\n' "${results[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
