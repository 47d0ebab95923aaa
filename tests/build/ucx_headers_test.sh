#!/usr/bin/env bash
# Tests of contrib/ucx-headers.sh, the UCX transport's header step:
#   ucx_headers_test.sh CASE HEADERS_SCRIPT UCX_SRC_DIR
# UCX_SRC_DIR is the src/ directory of the source tree the build uses; a .dsc
# and the orig tarball are taken from beside that tree when they are there.
# Cases:
#   deb_src        deb-src entries derived from fake apt sources (APT_CONFIG)
#   offline        a local source (tree, .dsc, directory, tarball) with the
#                  network unreachable (unshare -n); a tampered file refused
#   wrong_version  sources of another UCX version refused: exit 2 and the
#                  documented message
#   apt            the apt path into a fresh cache; skipped when apt cannot
#                  reach the archive
#   local_archive  the apt path from a local archive copy (APT_CONFIG, a
#                  file: source) with the network unreachable: taken when the
#                  source is trusted, refused when unsigned or when a file
#                  does not match the archive's index
# Exit 0: passed; 77: skipped (CTest SKIP_RETURN_CODE); 1: failed.
set -uo pipefail
case=$1
headers=$2
tree=$(cd "$3/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
skip() { echo "SKIPPED: $*"; exit 77; }
# run NAME CMD...: runs CMD, keeps its exit status in $rc, stdout in
# $tmp/NAME.out and stderr in $tmp/NAME.err.
run() {
  local name=$1
  shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  rc=$?
}
expect_rc() { # NAME RC
  if [ "$rc" != "$2" ]; then
    fail "$1: exit status $rc, expected $2"
    sed 's/^/  stderr: /' "$tmp/$1.err" >&2
  fi
}
expect_in() { # NAME STREAM(out|err) TEXT
  grep -qF -- "$3" "$tmp/$1.$2" || {
    fail "$1: '$3' not in std$2"
    sed "s/^/  std$2: /" "$tmp/$1.$2" >&2
  }
}
# A successful run's output: the installed version, a usable source tree.
expect_headers() { # NAME
  expect_rc "$1" 0
  expect_in "$1" out "UCX_VERSION=$installed"
  local src
  src=$(sed -n 's/^UCX_SRC=//p' "$tmp/$1.out")
  [ -f "$src/uct/base/uct_iface.h" ] || fail "$1: UCX_SRC=$src has no uct/base/uct_iface.h"
  local cfg
  cfg=$(sed -n 's/^UCX_CONFIG=//p' "$tmp/$1.out")
  grep -q '^#define' "$cfg/config.h" 2>/dev/null || fail "$1: UCX_CONFIG=$cfg has no config.h"
}
finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$case: $failures check(s) failed" >&2
    exit 1
  fi
  echo "$case: passed"
  exit 0
}

installed=$(ucx_info -v | sed -n 's/^# Version \([0-9.]*\).*/\1/p' | head -n1)
[ -n "$installed" ] || {
  echo "cannot read the installed UCX version (ucx_info -v)" >&2
  exit 1
}
# A version that is not the installed one.
other=1.99.0
[ "$installed" != "$other" ] || other=1.98.0

# Runs a command with the network unreachable.
offline=(unshare -n)

case "$case" in
deb_src)
  mkdir -p "$tmp/etc/sources.list.d"
  cat >"$tmp/etc/sources.list" <<'EOF'
# a comment
deb [signed-by=/usr/share/keyrings/local.gpg arch=amd64] http://archive.example/debian bookworm main contrib
deb http://archive.example/debian bookworm main contrib # same twice, after the options went
#deb http://archive.example/old oldstable main
deb-src http://archive.example/src bookworm main
EOF
  cat >"$tmp/etc/sources.list.d/site.sources" <<'EOF'
Types: deb
URIs: http://archive.example/debian
Suites: bookworm bookworm-updates
Components: main non-free-firmware
Signed-By: /usr/share/keyrings/local.gpg

# a disabled one
Types: deb
URIs: http://archive.example/disabled
Suites: bookworm
Components: main
Enabled: no

Types: deb deb-src
URIs: http://archive.example/security
Suites: bookworm-security
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBFake
 -----END PGP PUBLIC KEY BLOCK-----
EOF
  echo 'deb http://archive.example/ignored bookworm main' >"$tmp/etc/sources.list.d/other.list.disabled"
  cat >"$tmp/apt.conf" <<EOF
Dir::Etc::SourceList "$tmp/etc/sources.list";
Dir::Etc::SourceParts "$tmp/etc/sources.list.d";
EOF
  run derive env APT_CONFIG="$tmp/apt.conf" bash "$headers" --print-deb-src
  expect_rc derive 0
  expect_in derive out "deb-src [signed-by=/usr/share/keyrings/local.gpg arch=amd64] http://archive.example/debian bookworm main contrib"
  expect_in derive out "deb-src http://archive.example/src bookworm main"
  [ "$(grep -c '^deb-src http://archive.example/debian bookworm main contrib$' "$tmp/derive.out")" = 1 ] ||
    fail "derive: the one-line entry given twice is not listed once"
  grep -q 'old\|ignored\|disabled' "$tmp/derive.out" && fail "derive: a commented, disabled or ignored source was taken"
  [ "$(grep -c '^Types: deb-src$' "$tmp/derive.out")" = 2 ] || fail "derive: expected two deb822 entries of Types deb-src"
  grep -q '^Types: deb$\|^Types: deb deb-src' "$tmp/derive.out" && fail "derive: a binary Types line survived"
  expect_in derive out "URIs: http://archive.example/debian"
  expect_in derive out "Suites: bookworm bookworm-updates"
  expect_in derive out "Components: main non-free-firmware"
  expect_in derive out "Signed-By: /usr/share/keyrings/local.gpg"
  expect_in derive out " -----BEGIN PGP PUBLIC KEY BLOCK-----"
  expect_in derive out " mQINBFake"
  ;;

offline)
  unshare -n true 2>/dev/null || skip "unshare -n is not available here (needs root or user namespaces)"
  [ -f "$tree/configure.ac" ] || {
    echo "$tree is not a UCX source tree" >&2
    exit 1
  }
  run tree "${offline[@]}" bash "$headers" --cache "$tmp/cache" --config-dir "$tmp/cfg" --source "$tree"
  expect_headers tree
  # The environment variable alone does it too.
  run env_tree "${offline[@]}" env VESHM_UCX_SOURCE="$tree" bash "$headers" --cache "$tmp/cache" --config-dir "$tmp/cfg"
  expect_headers env_tree
  files=$(dirname "$tree")
  dsc=$(find "$files" -maxdepth 1 -name 'ucx_*.dsc' | head -n1)
  orig=$(find "$files" -maxdepth 1 -name 'ucx_*.orig.tar.*' | head -n1)
  if [ -n "$dsc" ]; then
    mkdir "$tmp/copied"
    cp "$files"/ucx_* "$tmp/copied/"
    run dsc "${offline[@]}" bash "$headers" --cache "$tmp/cache" --config-dir "$tmp/cfg" --source "$tmp/copied/$(basename "$dsc")"
    expect_headers dsc
    run dir "${offline[@]}" bash "$headers" --cache "$tmp/cache2" --config-dir "$tmp/cfg" --source "$tmp/copied"
    expect_headers dir
    # A file that does not match the .dsc is refused, nothing unpacked.
    for f in "$tmp"/copied/ucx_*.tar.*; do echo tampered >>"$f"; done
    run tampered "${offline[@]}" bash "$headers" --cache "$tmp/cache3" --config-dir "$tmp/cfg" --source "$tmp/copied"
    expect_rc tampered 1
    expect_in tampered err "does not match"
    [ ! -e "$tmp/cache3/$(basename "$dsc" .dsc)/source" ] || fail "tampered: a source tree was unpacked"
  else
    echo "no .dsc beside $tree: the .dsc and directory forms are not tested"
  fi
  if [ -n "$orig" ]; then
    run tarball "${offline[@]}" bash "$headers" --cache "$tmp/cache" --config-dir "$tmp/cfg" --source "$orig"
    expect_headers tarball
  else
    echo "no orig tarball beside $tree: the tarball form is not tested"
  fi
  ;;

wrong_version)
  # A tree, a tarball and a .dsc of another UCX version.
  mkdir -p "$tmp/ucx-$other/src/uct/base"
  : >"$tmp/ucx-$other/src/uct/base/uct_iface.h"
  IFS=. read -r major minor patch <<<"$other"
  printf 'define([ucx_ver_major], %s)\ndefine([ucx_ver_minor], %s)\ndefine([ucx_ver_patch], %s)\n' \
    "$major" "$minor" "$patch" >"$tmp/ucx-$other/configure.ac"
  tar -C "$tmp" -czf "$tmp/ucx_$other.orig.tar.gz" "ucx-$other"
  cat >"$tmp/ucx_$other-1.dsc" <<EOF
Format: 3.0 (quilt)
Source: ucx
Version: $other-1
Checksums-Sha256:
 $(sha256sum "$tmp/ucx_$other.orig.tar.gz" | cut -d' ' -f1) $(stat -c %s "$tmp/ucx_$other.orig.tar.gz") ucx_$other.orig.tar.gz
EOF
  runner=(bash)
  if unshare -n true 2>/dev/null; then runner=(unshare -n bash); fi
  for kind in tree tarball dsc env; do
    case $kind in
    tree) args=(--source "$tmp/ucx-$other") ;;
    tarball) args=(--source "$tmp/ucx_$other.orig.tar.gz") ;;
    dsc) args=(--source "$tmp/ucx_$other-1.dsc") ;;
    env) args=() ;;
    esac
    run "$kind" env VESHM_UCX_SOURCE="$tmp/ucx-$other" "${runner[@]}" "$headers" --cache "$tmp/cache" \
      --config-dir "$tmp/cfg" "${args[@]}"
    expect_rc "$kind" 2
    # The documented message (README, UCX): what is wrong and what to do.
    expect_in "$kind" err "UCX version mismatch: VESHM_UCX_SOURCE="
    expect_in "$kind" err "is UCX $other"
    expect_in "$kind" err "the installed libuct is $installed"
    expect_in "$kind" err "Point VESHM_UCX_SOURCE (environment or CMake cache variable) at the UCX $installed source"
    expect_in "$kind" err "apt-get source --download-only ucx="
    [ ! -s "$tmp/$kind.out" ] || fail "$kind: printed headers for the build although refused"
  done
  # The build's later check: configured against another version than installed.
  run expect bash "$headers" --cache "$tmp/cache" --config-dir "$tmp/cfg" --source "$tree" --expect-version "$other"
  expect_rc expect 2
  expect_in expect err "this build was configured against UCX $other, the installed UCX is now $installed"
  expect_in expect err "Re-run cmake"
  ;;

apt)
  command -v apt-get >/dev/null || skip "apt-get is not installed"
  lists=$(find /var/lib/apt/lists -printf '%p %s %T@\n' 2>/dev/null | sort | md5sum)
  etc=$(find /etc/apt -type f -exec md5sum {} + 2>/dev/null | sort | md5sum)
  run fetch env -u VESHM_UCX_SOURCE bash "$headers" --cache "$tmp/cache" --config-dir "$tmp/cfg"
  if [ "$rc" = 1 ] && grep -q 'apt could not fetch' "$tmp/fetch.err" &&
    grep -qiE 'resolv|connect|unreachable|timed out|Failed to fetch' "$tmp/fetch.err"; then
    sed 's/^/  /' "$tmp/fetch.err"
    skip "apt cannot reach the archive from here"
  fi
  expect_headers fetch
  expect_in fetch err "through apt"
  cached=$(find "$tmp/cache" -mindepth 1 -maxdepth 1 -name 'ucx-*' -type d | head -n1)
  [ -n "$(find "$cached" -maxdepth 1 -name 'ucx_*.dsc')" ] || fail "fetch: no .dsc in the cache $cached"
  [ -n "$(find "$cached" -maxdepth 1 -name 'ucx_*.orig.tar.*')" ] || fail "fetch: no orig tarball in the cache $cached"
  [ -f "$cached/source/.veshm-complete" ] || fail "fetch: no complete source tree in the cache $cached"
  [ "$(find /var/lib/apt/lists -printf '%p %s %T@\n' 2>/dev/null | sort | md5sum)" = "$lists" ] ||
    fail "fetch: the system's package lists (/var/lib/apt/lists) changed"
  [ "$(find /etc/apt -type f -exec md5sum {} + 2>/dev/null | sort | md5sum)" = "$etc" ] ||
    fail "fetch: the system's apt configuration (/etc/apt) changed"
  # The second run takes the cache: it works with the network unreachable.
  if unshare -n true 2>/dev/null; then
    run again unshare -n env -u VESHM_UCX_SOURCE bash "$headers" --cache "$tmp/cache" --config-dir "$tmp/cfg"
    expect_headers again
    grep -q 'through apt' "$tmp/again.err" && fail "again: fetched a second time"
  fi
  ;;
local_archive)
  files=$(dirname "$tree")
  dsc=$(find "$files" -maxdepth 1 -name 'ucx_*.dsc' | head -n1)
  [ -n "$dsc" ] || skip "no .dsc beside $tree to make an archive of"
  command -v dpkg-scansources >/dev/null || skip "dpkg-scansources is not installed (dpkg-dev)"
  unshare -n true 2>/dev/null || skip "unshare -n is not available here (needs root or user namespaces)"
  # apt's sandbox user reads the archive and writes nothing here.
  chmod 755 "$tmp"
  mkdir -p "$tmp/repo" "$tmp/etc/parts"
  cp "$files"/ucx_* "$tmp/repo/"
  (cd "$tmp/repo" && dpkg-scansources . /dev/null >Sources 2>/dev/null) || {
    echo "dpkg-scansources failed" >&2
    exit 1
  }
  cat >"$tmp/apt.conf" <<EOF
Dir::Etc::SourceList "$tmp/etc/sources.list";
Dir::Etc::SourceParts "$tmp/etc/parts";
EOF
  export APT_CONFIG=$tmp/apt.conf LC_ALL=C
  # Trusted by the machine's configuration (a flat archive has no signature).
  echo "deb [trusted=yes] file:$tmp/repo ./" >"$tmp/etc/sources.list"
  run trusted unshare -n bash "$headers" --cache "$tmp/cache" --config-dir "$tmp/cfg"
  expect_headers trusted
  expect_in trusted err "through apt"
  # Unsigned and not trusted: refused.
  echo "deb file:$tmp/repo ./" >"$tmp/etc/sources.list"
  run unsigned unshare -n bash "$headers" --cache "$tmp/cache2" --config-dir "$tmp/cfg"
  expect_rc unsigned 1
  expect_in unsigned err "apt could not fetch"
  expect_in unsigned err "Release"
  [ -z "$(find "$tmp/cache2" -name source)" ] || fail "unsigned: a source tree was unpacked"
  # A file changed after the archive's index was made: refused.
  echo "deb [trusted=yes] file:$tmp/repo ./" >"$tmp/etc/sources.list"
  for f in "$tmp"/repo/ucx_*.debian.tar.*; do echo tampered >>"$f"; done
  run tampered unshare -n bash "$headers" --cache "$tmp/cache3" --config-dir "$tmp/cfg"
  expect_rc tampered 1
  expect_in tampered err "Hash Sum mismatch"
  [ -z "$(find "$tmp/cache3" -name 'ucx_*')" ] || fail "tampered: files were put into the cache"
  ;;
*)
  echo "unknown case $case" >&2
  exit 1
  ;;
esac
finish
