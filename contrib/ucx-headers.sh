#!/usr/bin/env bash
# Provides the internal UCX headers a UCT transport is compiled against, for
# exactly the UCX that is installed:
#
#   contrib/ucx-headers.sh [--cache DIR] [--config-dir DIR] [--source PATH]
#                          [--expect-version X.Y.Z]
#   contrib/ucx-headers.sh --print-deb-src
#   contrib/ucx-headers.sh --download VERSION DIR
#
# * Finds the installed version (dpkg: libucx0; `ucx_info -v` must agree).
# * Takes the UCX source of that version from one of:
#   - --source PATH, else $VESHM_UCX_SOURCE (no network at all): an unpacked
#     UCX source tree, a ucx_<version>.dsc with the files it lists beside it,
#     a directory holding such a .dsc (what `apt-get source --download-only`
#     leaves), or a tarball of the source (ucx_<version>.orig.tar.*);
#   - else the cache, DIR/ucx-<version> (default $VESHM_CACHE_DIR, else
#     ~/.cache/veshm), filled once by `apt-get source --download-only`
#     through this machine's own apt configuration: deb-src entries derived
#     from its apt sources (same URIs, suites, components, signed-by) in a
#     private, temporary apt state, so neither the system's sources nor its
#     package lists change. apt authenticates the files against the signed
#     archive index; this script checks them again against the SHA-256 sums
#     of the .dsc before `dpkg-source -x` unpacks them.
#   A source of another UCX version is refused (exit status 2).
# * Writes config.h from `ucx_info -b` into --config-dir (default: the cache).
# * Prints UCX_SRC=<source tree>/src, UCX_CONFIG=<dir holding config.h> and
#   UCX_VERSION=<x.y.z> for the build.
# --expect-version: the version the build was configured with; exit status 2
# if the installed UCX is another one by now. --print-deb-src prints the
# deb-src entries derived from the apt sources and exits. --download fetches
# the source package ucx=VERSION (a Debian version, e.g. 1.13.1-1) into DIR
# the same way, for carrying it to a machine without network (VESHM_UCX_SOURCE);
# it needs no UCX installed.
# Exit status 2 when headers and installed library disagree on the version,
# 1 for any other failure; the reason goes to stderr.
set -euo pipefail

prog=ucx-headers.sh
cache=${VESHM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/veshm}
config_dir=""
source_arg=${VESHM_UCX_SOURCE:-}
expect=""
print_deb_src=0
download=""
while [ $# -gt 0 ]; do
  case "$1" in
  --cache) cache=$2; shift 2 ;;
  --config-dir) config_dir=$2; shift 2 ;;
  --source) source_arg=$2; shift 2 ;;
  --expect-version) expect=$2; shift 2 ;;
  --print-deb-src) print_deb_src=1; shift ;;
  --download) download=${2#ucx=}; download_dir=${3:?usage: --download VERSION DIR}; shift 3 ;;
  -h | --help) sed -n '2,35p' "$0"; exit 0 ;;
  *) echo "$prog: unknown argument $1" >&2; exit 1 ;;
  esac
done

die() { echo "$prog: $*" >&2; exit 1; }
mismatch() { echo "$prog: UCX version mismatch: $*" >&2; exit 2; }

tmp=""
cleanup() { if [ -n "$tmp" ]; then rm -rf "$tmp"; fi; }
trap cleanup EXIT

# The deb-src twins of this machine's apt sources, written into DIR as
# veshm.list (one-line format) and veshm.sources (deb822). Every field but
# Types is kept as it is (URIs, suites, components, signed-by, options).
derive_deb_src() { # DIR
  local sl="" sp=""
  eval "$(apt-config shell sl Dir::Etc::SourceList/f sp Dir::Etc::SourceParts/d)"
  local lists=() deb822=() f
  [ -n "$sl" ] && [ -f "$sl" ] && lists+=("$sl")
  if [ -n "$sp" ] && [ -d "$sp" ]; then
    for f in "$sp"/*.list; do [ -f "$f" ] && lists+=("$f"); done
    for f in "$sp"/*.sources; do [ -f "$f" ] && deb822+=("$f"); done
  fi
  : >"$1/veshm.list"
  : >"$1/veshm.sources"
  if [ ${#lists[@]} -gt 0 ]; then
    awk '{ sub(/#.*/, "") } $1 == "deb" || $1 == "deb-src" { $1 = "deb-src"; if (!seen[$0]++) print }' \
      "${lists[@]}" >"$1/veshm.list"
  fi
  if [ ${#deb822[@]} -gt 0 ]; then
    awk '
      function flush(i) {
        if (n > 0 && binary && enabled) { for (i = 1; i <= n; i++) print line[i]; print "" }
        n = 0; binary = 0; enabled = 1
      }
      BEGIN { enabled = 1 }
      FNR == 1 { flush() }
      /^[ \t]*$/ { flush(); next }
      /^#/ { next }
      tolower($0) ~ /^types:/ {
        t = $0; sub(/^[^:]*:/, "", t)
        if (t ~ /(^|[ \t])deb(-src)?([ \t]|$)/) binary = 1
        $0 = "Types: deb-src"
      }
      tolower($0) ~ /^enabled:/ {
        v = tolower($0); sub(/^[^:]*:[ \t]*/, "", v); sub(/[ \t]+$/, "", v)
        if (v == "no" || v == "false") enabled = 0
      }
      { line[++n] = $0 }
      END { flush() }' "${deb822[@]}" >"$1/veshm.sources"
  fi
  [ -s "$1/veshm.list" ] || [ -s "$1/veshm.sources" ] ||
    die "no apt sources found (${sl:-no sources.list}, ${sp:-no sources.list.d}): cannot fetch the UCX source through apt; set VESHM_UCX_SOURCE (see README, UCX)"
}

# Checks every file a .dsc lists (SHA-256) in DIR; fails closed.
verify_dsc() { # DSC DIR
  local files sum file
  files=$(awk '/^Checksums-Sha256:/ { on = 1; next } /^[^ ]/ { on = 0 } on && NF == 3 { print $1 " " $3 }' "$1")
  [ -n "$files" ] || die "$1 lists no SHA-256 checksums"
  while read -r sum file; do
    [ -f "$2/$file" ] || die "$file, listed in $1, is missing (expected in $2)"
    echo "$sum  $2/$file" | sha256sum -c --quiet - >/dev/null 2>&1 ||
      die "SHA-256 of $2/$file does not match $1: refusing it"
  done <<<"$files"
}
dsc_files() { # DSC
  awk '/^Checksums-Sha256:/ { on = 1; next } /^[^ ]/ { on = 0 } on && NF == 3 { print $3 }' "$1"
}
# Unpacks DSC (in DIR, checked) into DIR/source with Debian's patches applied.
unpack_dsc() { # DIR DSC-NAME
  command -v dpkg-source >/dev/null || die "dpkg-source not found (install dpkg-dev)"
  rm -rf "$1/source"
  (cd "$1" && dpkg-source --no-check -x "$2" source >/dev/null 2>&1) ||
    die "dpkg-source could not unpack $1/$2"
  touch "$1/source/.veshm-complete"
}
lock() { # DIR
  mkdir -p "$1"
  exec 9>"$1/.lock"
  flock 9
}

# Downloads the source package of the installed UCX into DIR through apt.
apt_fetch() { # DIR
  command -v apt-get >/dev/null || die "apt-get not found: set VESHM_UCX_SOURCE (see README, UCX)"
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/veshm-apt.XXXXXX")
  chmod 755 "$tmp"
  mkdir -p "$tmp/sources.list.d" "$tmp/state/lists/partial" "$tmp/cache/archives/partial" "$tmp/download"
  : >"$tmp/sources.list"
  derive_deb_src "$tmp/sources.list.d"
  # Run as root, apt downloads as its sandbox user, who must write here.
  local sandbox=""
  eval "$(apt-config shell sandbox APT::Sandbox::User)"
  if [ "$(id -u)" = 0 ] && [ -n "$sandbox" ] && id "$sandbox" >/dev/null 2>&1; then
    chown "$sandbox" "$tmp/download"
  fi
  # The system's apt configuration, but sources, lists and cache of our own,
  # authentication required, and none of the system's hooks run after an
  # update (they would refresh system state from our private lists).
  cat >"$tmp/apt.conf" <<EOF
Dir::Etc::SourceList "$tmp/sources.list";
Dir::Etc::SourceParts "$tmp/sources.list.d";
Dir::State "$tmp/state";
Dir::Cache "$tmp/cache";
APT::Get::AllowUnauthenticated "false";
Acquire::AllowInsecureRepositories "false";
Acquire::AllowDowngradeToInsecureRepositories "false";
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
EOF
  local apt=(apt-get -q -c "$tmp/apt.conf")
  echo "$prog: fetching the source package $src_pkg $src_version through apt (deb-src entries derived from this machine's apt sources, private state in $tmp)" >&2
  # Some sources may offer no deb-src: apt-get source below is the judge.
  "${apt[@]}" update >"$tmp/update.log" 2>&1 || true
  if ! (cd "$tmp/download" && "${apt[@]}" source --download-only --only-source "$src_pkg=$src_version") \
    >"$tmp/source.log" 2>&1; then
    {
      echo "$prog: apt could not fetch the source package $src_pkg $src_version. apt said:"
      grep -hE '^(E:|W:|Err:)|^  ' "$tmp/update.log" "$tmp/source.log" | awk '!seen[$0]++' | sed 's/^/  /' | head -n 24 || true
      echo "The deb-src entries used (from this machine's apt sources; see: contrib/ucx-headers.sh --print-deb-src):"
      cat "$tmp/sources.list.d/veshm.list" "$tmp/sources.list.d/veshm.sources" | sed 's/^/  /' | head -n 30 || true
      echo "Without access to the archive: on a machine that has it (and deb-src entries), run"
      echo "  apt-get source --download-only $src_pkg=$src_version"
      echo "(or, with this repository there: contrib/ucx-headers.sh --download $src_version DIR),"
      echo "copy the files (ucx_*.dsc and the tarballs) here and set"
      echo "VESHM_UCX_SOURCE=<the .dsc or its directory> (environment or CMake cache variable)."
    } >&2
    exit 1
  fi
  local dsc=$tmp/download/${src_pkg}_${src_version#*:}.dsc
  [ -f "$dsc" ] || die "apt-get source brought no $(basename "$dsc")"
  verify_dsc "$dsc" "$tmp/download"
  { dsc_files "$dsc"; basename "$dsc"; } | while read -r f; do
    cp "$tmp/download/$f" "$1/$f.part"
    mv "$1/$f.part" "$1/$f"
  done
  rm -rf "$tmp"
  tmp=""
}

if [ -n "$download" ]; then
  src_pkg=ucx
  src_version=$download
  mkdir -p "$download_dir"
  apt_fetch "$download_dir"
  echo "$prog: $download_dir holds the source package $src_pkg $src_version: carry it over and set VESHM_UCX_SOURCE=<that directory>" >&2
  exit 0
fi

if [ "$print_deb_src" = 1 ]; then
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/veshm-apt.XXXXXX")
  derive_deb_src "$tmp"
  cat "$tmp/veshm.list" "$tmp/veshm.sources"
  exit 0
fi

command -v ucx_info >/dev/null || die "ucx_info not found (install ucx-utils)"
deb_version=$(dpkg-query -W -f='${Version}' libucx0 2>/dev/null) ||
  die "libucx0 is not installed (install libucx-dev)"
src_pkg=$(dpkg-query -W -f='${source:Package}' libucx0)
src_version=$(dpkg-query -W -f='${source:Version}' libucx0)
upstream_of() { local v=${1#*:}; echo "${v%-*}"; }
upstream=$(upstream_of "$deb_version")
lib_version=$(ucx_info -v | sed -n 's/^# Version \([0-9.]*\).*/\1/p' | head -n1)
[ -n "$lib_version" ] || die "cannot read the version from 'ucx_info -v'"
if [ "$lib_version" != "$upstream" ]; then
  mismatch "the libucx0 package is $deb_version but the library ucx_info runs with (ucx_info -v) is $lib_version." \
    "Make them one: reinstall the package (apt-get install --reinstall libucx0 libucx-dev ucx-utils), or remove the other UCX from LD_LIBRARY_PATH/ld.so.conf."
fi
if [ -n "$expect" ] && [ "$expect" != "$lib_version" ]; then
  mismatch "this build was configured against UCX $expect, the installed UCX is now $lib_version." \
    "Re-run cmake on the build directory (cmake <build dir>) so that the transport is rebuilt against the $lib_version headers."
fi

# What to do when a source of another version turns up, for the messages.
advice="Point VESHM_UCX_SOURCE (environment or CMake cache variable) at the UCX $lib_version source \
(on a machine that reaches the archive, with the same Debian release: apt-get source --download-only $src_pkg=$src_version, \
then copy the .dsc and the files it lists), or empty it (unset VESHM_UCX_SOURCE; cmake -DVESHM_UCX_SOURCE= <build dir>) to fetch that source through apt; \
or install the UCX that source is of (libucx0, libucx-dev, ucx-utils) and rebuild. \
The transport is built against UCX 1.13.1 (Debian 12); see README, UCX."

# The UCX version a source tree is of, as UCX's own build states it.
tree_version() { # configure.ac
  sed -n 's/^define(\[ucx_ver_\(major\|minor\|patch\)\], *\([0-9]*\)).*/\2/p' "$1" | paste -sd.
}

origin=""
if [ -n "$source_arg" ]; then
  [ -e "$source_arg" ] || die "VESHM_UCX_SOURCE=$source_arg does not exist"
  s=$(realpath "$source_arg")
  if [ -d "$s" ] && [ ! -f "$s/configure.ac" ]; then
    # A directory of downloaded files: the .dsc of the installed version,
    # else the only .dsc, else the only orig tarball.
    shopt -s nullglob
    dscs=("$s"/"${src_pkg}"_*.dsc)
    tars=("$s"/"${src_pkg}"_*.orig.tar.*)
    shopt -u nullglob
    if [ -f "$s/${src_pkg}_${src_version#*:}.dsc" ]; then
      s=$s/${src_pkg}_${src_version#*:}.dsc
    elif [ ${#dscs[@]} -eq 1 ]; then
      s=${dscs[0]}
    elif [ ${#dscs[@]} -eq 0 ] && [ ${#tars[@]} -eq 1 ]; then
      s=${tars[0]}
    else
      die "VESHM_UCX_SOURCE=$source_arg is neither a UCX source tree (no configure.ac) nor a directory with one ${src_pkg}_<version>.dsc or orig tarball"
    fi
  fi
  case "$s" in
  *.dsc)
    origin="VESHM_UCX_SOURCE=$s"
    dsc_version=$(sed -n 's/^Version: *//p' "$s" | head -n1)
    [ -n "$dsc_version" ] || die "$s has no Version field: not a .dsc"
    [ "$(upstream_of "$dsc_version")" = "$lib_version" ] ||
      mismatch "$origin is UCX $(upstream_of "$dsc_version") (source package $dsc_version), the installed libuct is $lib_version (libucx0 $deb_version). $advice"
    if [ "${dsc_version#*:}" != "${src_version#*:}" ]; then
      echo "$prog: warning: $s is Debian revision $dsc_version, the installed package is $src_version (same UCX $lib_version)" >&2
    fi
    verify_dsc "$s" "$(dirname "$s")"
    dir="$cache/ucx-${dsc_version#*:}"
    name=$(basename "$s")
    lock "$dir"
    if [ ! -f "$dir/source/.veshm-complete" ] || ! cmp -s "$s" "$dir/$name"; then
      if [ ! "$(dirname "$s")" -ef "$dir" ]; then
        dsc_files "$s" | while read -r f; do cp "$(dirname "$s")/$f" "$dir/$f"; done
        cp "$s" "$dir/$name"
      fi
      verify_dsc "$dir/$name" "$dir"
      unpack_dsc "$dir" "$name"
    fi
    src=$dir/source
    ;;
  *.tar | *.tar.* | *.tgz)
    origin="VESHM_UCX_SOURCE=$s"
    member=$(tar -tf "$s" 2>/dev/null | awk '/^([^\/]+\/)?configure\.ac$/ && m == "" { m = $0 } END { if (m == "") exit 1; print m }') ||
      die "$s holds no configure.ac at its top: not a UCX source tarball"
    strip=0
    [ "${member%/*}" = "$member" ] || strip=1
    tar_version=$(tree_version <(tar -xOf "$s" "$member"))
    [ "$tar_version" = "$lib_version" ] ||
      mismatch "$origin is UCX ${tar_version:-(unknown)}, the installed libuct is $lib_version (libucx0 $deb_version). $advice"
    sum=$(sha256sum "$s" | cut -c1-16)
    dir="$cache/ucx-$lib_version-tar-$sum"
    lock "$dir"
    if [ ! -f "$dir/source/.veshm-complete" ]; then
      rm -rf "$dir/source" "$dir/source.part"
      mkdir -p "$dir/source.part"
      tar -xf "$s" -C "$dir/source.part" --strip-components=$strip || die "cannot unpack $s"
      touch "$dir/source.part/.veshm-complete"
      mv "$dir/source.part" "$dir/source"
    fi
    src=$dir/source
    ;;
  *)
    [ -d "$s" ] || die "VESHM_UCX_SOURCE=$source_arg is not a source tree, a .dsc or a tarball"
    origin="VESHM_UCX_SOURCE=$s"
    dir="$cache/ucx-${src_version#*:}"
    src=$s
    ;;
  esac
else
  dir="$cache/ucx-${src_version#*:}"
  src=$dir/source
  origin="the cached source in $src"
  dsc_name="${src_pkg}_${src_version#*:}.dsc"
  if [ ! -f "$src/.veshm-complete" ]; then
    lock "$dir"
    if [ ! -f "$src/.veshm-complete" ]; then
      if [ ! -f "$dir/$dsc_name" ] || ! (verify_dsc "$dir/$dsc_name" "$dir") 2>/dev/null; then
        apt_fetch "$dir"
      fi
      verify_dsc "$dir/$dsc_name" "$dir"
      unpack_dsc "$dir" "$dsc_name"
    fi
  fi
fi

[ -f "$src/configure.ac" ] || die "$src has no configure.ac: not a UCX source tree"
hdr_version=$(tree_version "$src/configure.ac")
if [ "$hdr_version" != "$lib_version" ]; then
  if [ -n "$source_arg" ]; then
    mismatch "$origin is UCX ${hdr_version:-(unknown)}, the installed libuct is $lib_version (libucx0 $deb_version). $advice"
  fi
  mismatch "$origin is UCX ${hdr_version:-(unknown)}, the installed libuct is $lib_version: remove $dir and run again to fetch the matching source."
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
