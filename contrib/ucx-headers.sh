#!/usr/bin/env bash
# Provides the internal UCX headers a UCT transport is compiled against, for
# exactly the UCX that is installed:
#
#   contrib/ucx-headers.sh [--cache DIR] [--config-dir DIR]
#
# * Finds the installed version (dpkg: libucx0; `ucx_info -v` must agree).
# * Fetches Debian's source package of that version (.dsc, orig and debian
#   tarballs from deb.debian.org, or $VESHM_UCX_MIRROR), checks every tarball
#   against the SHA-256 sums listed in the .dsc, and unpacks it with
#   dpkg-source (Debian's patches applied). All of it is cached under
#   DIR/ucx-<version> (default $VESHM_CACHE_DIR, else ~/.cache/veshm): a
#   second run downloads nothing.
# * Writes config.h from `ucx_info -b` into --config-dir (default: the cache).
# * Prints two lines for the build: UCX_SRC=<source tree>/src and
#   UCX_CONFIG=<dir holding config.h>, and UCX_VERSION=<x.y.z>.
# Exit status 2 when headers and installed library disagree on the version,
# 1 for any other failure; the reason goes to stderr.
set -euo pipefail

cache=${VESHM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/veshm}
config_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
  --cache) cache=$2; shift 2 ;;
  --config-dir) config_dir=$2; shift 2 ;;
  -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
  *) echo "ucx-headers.sh: unknown argument $1" >&2; exit 1 ;;
  esac
done
mirror=${VESHM_UCX_MIRROR:-http://deb.debian.org/debian}

die() { echo "ucx-headers.sh: $*" >&2; exit 1; }

command -v ucx_info >/dev/null || die "ucx_info not found (install ucx-utils)"
deb_version=$(dpkg-query -W -f='${Version}' libucx0 2>/dev/null) ||
  die "libucx0 is not installed (install libucx-dev)"
upstream=${deb_version#*:}
upstream=${upstream%-*}
lib_version=$(ucx_info -v | sed -n 's/^# Version \([0-9.]*\).*/\1/p' | head -n1)
[ -n "$lib_version" ] || die "cannot read the version from 'ucx_info -v'"
if [ "$lib_version" != "$upstream" ]; then
  echo "ucx-headers.sh: version mismatch: libucx0 package $deb_version, running library (ucx_info -v) $lib_version" >&2
  exit 2
fi

dsc_name="ucx_${deb_version#*:}.dsc"
dir="$cache/ucx-${deb_version#*:}"
src="$dir/source"
mkdir -p "$dir"

fetch() { # url file
  if command -v curl >/dev/null; then
    curl -fsSL --retry 3 -o "$2.part" "$1"
  elif command -v wget >/dev/null; then
    wget -q -O "$2.part" "$1"
  else
    die "neither curl nor wget is installed"
  fi
  mv "$2.part" "$2"
}

if [ ! -f "$src/.veshm-complete" ]; then
  exec 9>"$dir/.lock"
  flock 9
fi
if [ ! -f "$src/.veshm-complete" ]; then
  pool="$mirror/pool/main/u/ucx"
  [ -f "$dir/$dsc_name" ] || { echo "ucx-headers.sh: fetching $pool/$dsc_name" >&2; fetch "$pool/$dsc_name" "$dir/$dsc_name"; }
  # The Checksums-Sha256 field lists "<sha256> <size> <file>" per tarball.
  files=$(awk '/^Checksums-Sha256:/ { on = 1; next } /^[^ ]/ { on = 0 } on && NF == 3 { print $1 " " $3 }' "$dir/$dsc_name")
  [ -n "$files" ] || die "$dsc_name lists no SHA-256 checksums"
  while read -r sum file; do
    if [ ! -f "$dir/$file" ] || ! echo "$sum  $dir/$file" | sha256sum -c --quiet - >/dev/null 2>&1; then
      echo "ucx-headers.sh: fetching $pool/$file" >&2
      fetch "$pool/$file" "$dir/$file"
    fi
    echo "$sum  $dir/$file" | sha256sum -c --quiet - >/dev/null 2>&1 ||
      die "SHA-256 of $file does not match $dsc_name"
  done <<<"$files"
  command -v dpkg-source >/dev/null || die "dpkg-source not found (install dpkg-dev)"
  rm -rf "$src"
  (cd "$dir" && dpkg-source --no-check -x "$dsc_name" source >/dev/null 2>&1) ||
    die "dpkg-source could not unpack $dsc_name"
  touch "$src/.veshm-complete"
fi

# The version the headers are from, as UCX's own build states it.
hdr_version=$(sed -n 's/^define(\[ucx_ver_\(major\|minor\|patch\)\], *\([0-9]*\)).*/\2/p' "$src/configure.ac" | paste -sd.)
if [ "$hdr_version" != "$lib_version" ]; then
  echo "ucx-headers.sh: version mismatch: headers in $src are UCX $hdr_version, the installed library is $lib_version" >&2
  exit 2
fi
[ -f "$src/src/uct/base/uct_iface.h" ] || die "$src has no src/uct/base/uct_iface.h"

[ -n "$config_dir" ] || config_dir="$dir/config"
mkdir -p "$config_dir"
ucx_info -b >"$config_dir/config.h.new"
grep -q '^#define' "$config_dir/config.h.new" || die "'ucx_info -b' printed no #defines"
if cmp -s "$config_dir/config.h.new" "$config_dir/config.h"; then
  rm -f "$config_dir/config.h.new"
else
  mv "$config_dir/config.h.new" "$config_dir/config.h"
fi

echo "UCX_SRC=$src/src"
echo "UCX_CONFIG=$config_dir"
echo "UCX_VERSION=$lib_version"
