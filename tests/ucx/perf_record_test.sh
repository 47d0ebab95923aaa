#!/usr/bin/env bash
# The veshm transport's shared DMA performance record when another user has
# taken its name in /tmp first:
#   perf_record_test.sh MODULE
# In a private mount namespace (fresh /tmp, fresh home directory, no
# XDG_RUNTIME_DIR), a file of that name owned by another user (nobody) holds
# absurd figures. Two processes that open a veshm interface must then share a
# record in the home directory (~/.veshm-ucx-perf-v1-<uid>-<boot>), report the
# same figures, and not the squatter's. Exits 77 (CTest: skipped) where the
# namespace cannot be made (not root).
set -euo pipefail
module=${1:?usage: perf_record_test.sh MODULE}
if [ "$(id -u)" != 0 ] || ! unshare --mount --propagation private true 2>/dev/null; then
  echo "perf_record_test: needs root for a private mount namespace: skipped"
  exit 77
fi
if [ "${PERF_RECORD_INSIDE:-}" != 1 ]; then
  PERF_RECORD_INSIDE=1 exec unshare --mount --propagation private bash "$0" "$@"
fi

home=$(getent passwd "$(id -u)" | cut -d: -f6)
mount -t tmpfs tmpfs /tmp
mount -t tmpfs -o mode=0700 tmpfs "$home"
unset XDG_RUNTIME_DIR
boot=$(cut -d- -f1 /proc/sys/kernel/random/boot_id)
name=veshm-ucx-perf-v1-$(id -u)-$boot
echo "1.000e-12 1.000e-12 1.000e+15" >"/tmp/$name"
chown 65534:65534 "/tmp/$name"
chmod 600 "/tmp/$name"

# Latency and bandwidth of the veshm interface as UCX sees them.
figures() {
  LD_PRELOAD=$module ucx_info -d -t veshm | grep -E '^ *# *(bandwidth|latency):' | tr -s ' '
}
first=$(figures)
second=$(figures)
echo "first process:"
echo "$first"
[ -n "$first" ] || { echo "FAIL: ucx_info lists no veshm interface"; exit 1; }
[ "$first" = "$second" ] || { echo "FAIL: second process reports other figures:"; echo "$second"; exit 1; }
record=$home/.$name
[ -f "$record" ] && [ ! -L "$record" ] || { echo "FAIL: no record $record"; exit 1; }
[ "$(stat -c %u "$record")" = "$(id -u)" ] || { echo "FAIL: $record not owned by the user"; exit 1; }
read -r lat ovh bw <"$record"
[ "$lat" != 1.000e-12 ] || { echo "FAIL: the squatter's figures were taken"; exit 1; }
echo "record $record: $lat $ovh $bw"
[ "$(cat "/tmp/$name")" = "1.000e-12 1.000e-12 1.000e+15" ] || { echo "FAIL: the squatter's file changed"; exit 1; }
echo "PASS"
