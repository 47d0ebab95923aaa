#!/usr/bin/env bash
# An MPI job on two simulated hosts, the way a user runs one on two machines:
#   two_hosts_namespaces.sh veshm|ucx SOURCE_DIR PROGRAM DMA_COUNTER
# Each host is a set of new network, UTS, IPC and mount namespaces (held by a
# sleeping process; its own hostname, loopback, /dev/shm and SysV IPC) and the
# two are joined by a veth pair whose addresses exist only inside them.
# mpirun runs on the first host in the environment of
# contrib/mpi/veshm-mpi-env.sh and reaches the second through an ssh stand-in
# that enters its namespaces with a clean environment. PROGRAM
# (tests/multihost/all_pairs.c) runs 2 ranks per host, each putting a block
# of a size particular to the target into every other rank's window and
# checking what it received. Passes when:
# * every rank's data is right;
# * per pair, VE DMA (DMA_COUNTER preloaded into every rank) carried exactly
#   the puts between ranks of the same host: veshm inside a host, never
#   across (those go over the network transport).
# Mode ucx is the control: the same job with veshm-mpi-env.sh's ucx mode (no
# veshm), the counter preloaded into the ranks directly; the per-pair check
# must then fail for the pairs on one host.
# Everything it creates ends with it (the namespaces with their holders, the
# veth pair with its namespaces). Exits 77 (skipped) where namespaces or veth
# cannot be made.
set -euo pipefail
mode=${1:?usage: two_hosts_namespaces.sh veshm|ucx SOURCE_DIR PROGRAM DMA_COUNTER}
src=${2:?} program=${3:?} counter=${4:?}
skip() {
  echo "two_hosts_namespaces: SKIPPED: $*"
  exit 77
}
fail() {
  echo "two_hosts_namespaces: FAIL: $*"
  exit 1
}
say() {
  echo "two_hosts_namespaces: $*"
}

[ "$(id -u)" -eq 0 ] || skip "namespaces and veth need root"
for tool in unshare nsenter ip mpirun; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done

tmp=$(mktemp -d /tmp/veshm-two-hosts-ns.XXXXXX)
chmod 755 "$tmp"
holders=()
veth=vsh$$
cleanup() {
  for pid in "${holders[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  # Gone with the namespaces already; only if moving it in failed.
  ip link del "${veth}a" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# A host: the namespaces of a process that names the host, gives it a
# /dev/shm of its own and a /sys of its network namespace (UCX finds its
# network devices in /sys/class/net), reports ready and sleeps. Its pid is
# the handle.
start_host() {
  local name=$1
  unshare --net --uts --ipc --mount --propagation private bash -c \
    'hostname "$1" && mount -t tmpfs -o mode=1777 tmpfs /dev/shm && mount -t sysfs sysfs /sys &&
     ip link set lo up && touch "$2" && exec sleep 1000000' _ "$name" "$tmp/$name.ready" &
  holders+=($!)
  for _ in $(seq 100); do
    [ -e "$tmp/$name.ready" ] && return 0
    kill -0 "$!" 2>/dev/null || break
    sleep 0.05
  done
  skip "cannot create the namespaces of host $name"
}
start_host hosta
start_host hostb
pid_a=${holders[0]} pid_b=${holders[1]}

ip link add "${veth}a" type veth peer name "${veth}b" 2>/dev/null || skip "cannot create a veth pair"
if ! ip link set "${veth}a" netns "$pid_a" || ! ip link set "${veth}b" netns "$pid_b"; then
  fail "cannot move the veth ends into the namespaces"
fi
addr_a=10.251.$(($$ % 250)).1 addr_b=10.251.$(($$ % 250)).2
nsenter -t "$pid_a" -n ip addr add "$addr_a/24" dev "${veth}a"
nsenter -t "$pid_b" -n ip addr add "$addr_b/24" dev "${veth}b"
nsenter -t "$pid_a" -n ip link set "${veth}a" up
nsenter -t "$pid_b" -n ip link set "${veth}b" up
say "hosta ($addr_a, holder $pid_a) and hostb ($addr_b, holder $pid_b) joined by ${veth}a/${veth}b"

# ssh as mpirun uses it: "[options] HOST COMMAND", run on HOST with a clean
# environment.
cat >"$tmp/ssh" <<EOF
#!/usr/bin/env bash
while [[ \${1:-} == -* ]]; do shift; done
case \$1 in
$addr_a) pid=$pid_a ;;
$addr_b) pid=$pid_b ;;
*) echo "ssh stand-in: unknown host \$1" >&2; exit 255 ;;
esac
shift
echo "\$pid: \$*" >>"$tmp/ssh.log"
exec nsenter -t "\$pid" -n -u -i -m env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root bash -c "\$*"
EOF
chmod 755 "$tmp/ssh"

# On hosta: the user's recipe (README "Many hosts"), with the DMA counter
# forwarded to the ranks through the same list: veshm-rank preloads it
# (VESHM_RANK_PRELOAD), or, without veshm-rank in mode ucx, LD_PRELOAD does.
forward=VESHM_RANK_PRELOAD
[ "$mode" = veshm ] || forward="LD_PRELOAD=$counter"
set +e
out=$(nsenter -t "$pid_a" -n -u -i -m env VESHM_RANK_PRELOAD="$counter" \
  OMPI_MCA_mca_base_env_list="$forward" bash -c '
  . "$1/contrib/mpi/veshm-mpi-env.sh" "$6" || exit 1
  echo "env: UCX_TLS=$UCX_TLS OMPI_MCA_mca_base_env_list=$OMPI_MCA_mca_base_env_list"
  exec timeout 90 mpirun --oversubscribe --host "$2:2,$3:2" -np 4 --mca plm_rsh_agent "$4" "$5"
  ' _ "$src" "$addr_a" "$addr_b" "$tmp/ssh" "$program" "$mode" 2>&1)
rc=$?
set -e
echo "$out"
[ $rc -eq 0 ] || fail "the job failed with status $rc"
[ -s "$tmp/ssh.log" ] || fail "hostb was not reached through the ssh stand-in"

# rank -> pid and host; pid -> DMA bytes.
declare -A pid_of host_of bytes_of
while read -r _ _ r _ p _ h _ d; do
  [ "$d" = ok ] || fail "rank $r reports bad data"
  pid_of[$r]=$p host_of[$r]=$h
done < <(grep '^all_pairs: rank ' <<<"$out")
[ ${#pid_of[@]} -eq 4 ] || fail "${#pid_of[@]} of 4 ranks reported"
# The counter's line: "dma_count: pid P posts N bytes B put U get G"; U, the
# bytes written into other processes' areas, is what the puts moved.
while read -r _ _ p _ _ _ _ _ b _; do
  bytes_of[$p]=$b
done < <(grep -E '^dma_count: pid [0-9]+ posts [0-9]+ bytes [0-9]+ put [0-9]+ get [0-9]+$' <<<"$out")

# Bit 16+t of an origin's DMA bytes: its put to target t was VE DMA.
hosts=$(printf '%s\n' "${host_of[@]}" | sort -u | tr '\n' ' ')
[ "$hosts" = "hosta hostb " ] || fail "ranks ran on '$hosts', not on hosta and hostb"
bad=0
for o in 0 1 2 3; do
  b=${bytes_of[${pid_of[$o]}]:-}
  [ -n "$b" ] || fail "no DMA count from rank $o"
  for t in 0 1 2 3; do
    [ "$t" -ne "$o" ] || continue
    dma=$(((b >> (16 + t)) & 1))
    if [ "${host_of[$o]}" = "${host_of[$t]}" ]; then
      want=1 how="veshm (same host)"
    else
      want=0 how="not veshm (other host: the network)"
    fi
    got="not veshm"
    [ "$dma" -eq 0 ] || got="veshm (VE DMA)"
    say "rank $o (${host_of[$o]}) -> rank $t (${host_of[$t]}): $got, expected $how"
    [ "$dma" -eq "$want" ] || bad=1
  done
done
[ $bad -eq 0 ] || fail "a pair used the wrong transport"
say "OK"
