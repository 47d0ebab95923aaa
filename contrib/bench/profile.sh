#!/usr/bin/env bash
# Where the cores' time goes while a command runs: perf samples every CPU
# (the ranks of an MPI job are separate processes, the helping rank is not
# the one that posts), then each busy process's samples are sorted into
# what they were doing. This is the evidence for a size that cannot get
# faster: a helper in the kernel's page pinning, an origin in its own copy.
#   contrib/bench/profile.sh [--data FILE] [--top N] [--min PERCENT] -- COMMAND [ARG...]
# e.g. a 256 KiB MPI_Get with flush, veshm mode, OSU built by osu/run.sh:
#   contrib/bench/profile.sh -- contrib/mpi/veshm-mpirun veshm mpirun -np 2 \
#     --bind-to core ~/.cache/veshm/osu-build/*/mpi/mpi/one-sided/osu_get_latency \
#     -w allocate -s flush -m 262144:262144 -i 100000
# --data: keep perf's samples there (default: a temporary file, removed).
# --top:  symbols listed per process (default 6).
# --min:  processes below this share of all samples are left out (default 5).
# Needs perf (Debian: linux-perf; installed here when run as root) and
# permission to sample every CPU (root, or kernel.perf_event_paranoid <= 0).
# Exit status: the command's; 77 when perf cannot sample here.
set -euo pipefail
data="" top=6 min=5
while [ $# -gt 0 ]; do
  case "$1" in
  --data) data=$2; shift ;;
  --top) top=$2; shift ;;
  --min) min=$2; shift ;;
  --) shift; break ;;
  *) break ;;
  esac
  shift
done
[ $# -gt 0 ] || { echo "usage: $0 [--data FILE] [--top N] [--min PERCENT] -- COMMAND [ARG...]" >&2; exit 2; }

if ! command -v perf >/dev/null || ! perf version >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "profile: installing linux-perf" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends linux-perf >/dev/null ||
      { echo "profile: apt-get install linux-perf failed" >&2; exit 77; }
  else
    echo "profile: perf is not installed (Debian: apt-get install linux-perf)" >&2
    exit 77
  fi
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -n "$data" ] || data=$tmp/perf.data
if ! perf record -q -a -F 4999 -o "$tmp/probe.data" -- true >/dev/null 2>"$tmp/probe.err"; then
  echo "profile: perf cannot sample every CPU here: $(head -1 "$tmp/probe.err")" >&2
  exit 77
fi

t0=$(date +%s.%N)
status=0
perf record -q -a -F 4999 -o "$data" -- "$@" || status=$?
t1=$(date +%s.%N)

# One line per sample: command, pid, address, symbol, "(dso)".
perf script -i "$data" -F comm,pid,ip,sym,dso 2>/dev/null >"$tmp/samples" || true
awk -v top="$top" -v min="$min" -v cpus="$(nproc)" -v secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" '
  # Which kind of work a sample was doing; first match wins.
  function kind(kernel, sym) {
    if (kernel) {
      # Where interrupts come back on: a timer sample (no hardware counters
      # on a VM) that fell while they were off lands here, whatever ran.
      if (sym ~ /irq_enable|irqrestore|irq_restore/) return "skid_k"
      if (sym ~ /copy_(to|from)_iter|copy_page_(to|from)_iter|copy_user|rep_movs|copy_mc/) return "copy_k"
      if (sym ~ /gup|get_user_pages|pin_user|unpin_user|follow_page|try_grab|pte_offset|pte_map|vm_normal_page|folio|page_state|mm_access|find_get_task|task_pid|find_vma|mt_find|process_vm/) return "pin_k"
      return "other_k"
    }
    if (sym ~ /memmove|memcpy|memset/) return "copy_u"
    if (sym ~ /[Rr]educe|ompi_op_|op_base|acc_apply|_apply|in mca_op_/) return "op_u"
    if (sym ~ /progress|poll|pending|_wait|flush|yield/) return "poll_u"
    return "other_u"
  }
  {
    # The symbol lies between the address and the last field, "(dso)".
    comm = $1; pid = $2
    if (pid == 0 || comm == "swapper") { idle++; total++; next }
    dso = $NF; sym = ""
    for (i = 4; i < NF; ++i) sym = sym (sym == "" ? "" : " ") $i
    # Without a symbol (a static function of a stripped library): the library.
    if (sym == "" || sym == "[unknown]") {
      lib = dso; gsub(/^\(|\)$/, "", lib); sub(/.*\//, "", lib)
      sym = "[unknown, in " lib "]"
    }
    kernel = dso ~ /kernel/
    k = kind(kernel, sym)
    key = comm " " pid
    all[key]++; total++
    if (k == "skid_k") skid[key]++; else n[key]++
    part[key, k]++
    s = sym (kernel ? " [k]" : "")
    symn[key, s]++
    if (!((key, s) in seen)) { seen[key, s] = 1; syms[key] = syms[key] "\034" s }
  }
  END {
    if (total == 0) { print "profile: no samples"; exit }
    for (key in all) skids += skid[key]
    printf "%d samples on %d CPUs over %.1f s; idle %.1f%% of them\n", total, cpus, secs, 100 * idle / total
    printf "%.1f%% fell where interrupts come back on (the work that held them off is unknown): left out of the shares of work\n\n", 100 * skids / total
    split("copy_u copy_k pin_k other_k op_u poll_u other_u", kinds, " ")
    print "| process | share of all samples | copying (user) | copying (kernel) | reaching the peer'"'"'s pages (kernel) | other kernel | applying an operation | polling, progress | other |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for (key in all) order[++m] = key
    # Largest first.
    for (i = 1; i <= m; ++i) for (j = i + 1; j <= m; ++j) if (all[order[j]] > all[order[i]]) { t = order[i]; order[i] = order[j]; order[j] = t }
    for (i = 1; i <= m; ++i) {
      key = order[i]
      if (100 * all[key] / total < min) continue
      line = sprintf("| %s | %.1f%% |", key, 100 * all[key] / total)
      for (j = 1; j <= 7; ++j) line = line sprintf(" %.1f%% |", n[key] ? 100 * part[key, kinds[j]] / n[key] : 0)
      print line
    }
    for (i = 1; i <= m; ++i) {
      key = order[i]
      if (100 * all[key] / total < min) continue
      printf "\n%s, top symbols (share of its samples):\n", key
      c = split(substr(syms[key], 2), list, "\034")
      for (a = 1; a <= c; ++a) for (b = a + 1; b <= c; ++b) if (symn[key, list[b]] > symn[key, list[a]]) { t = list[a]; list[a] = list[b]; list[b] = t }
      for (a = 1; a <= c && a <= top; ++a) printf "  %5.1f%%  %s\n", 100 * symn[key, list[a]] / all[key], list[a]
    }
  }' "$tmp/samples"
exit $status
