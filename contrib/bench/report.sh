#!/usr/bin/env bash
# Runs every benchmark in contrib/bench and writes a Markdown report with the
# tables and PNG plots (bandwidth and latency against message size, each next
# to its reference).
#   contrib/bench/report.sh [--quick] [--out DIR]
# The OSU micro-benchmarks (contrib/bench/osu) run when OSU_SRC names their
# source tree, and are skipped with a message otherwise.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/bench-report
quick=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=(--quick) ;;
    --out) out=$2; shift ;;
    *) echo "usage: $0 [--quick] [--out DIR]" >&2; exit 2 ;;
  esac
  shift
done
export VESHM_BUILD_DIR=${VESHM_BUILD_DIR:-$root/build}

bash "$root/contrib/install-deps.sh"
if ! command -v gnuplot >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null
fi
cmake -S "$root" -B "$VESHM_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$VESHM_BUILD_DIR" -j2 >/dev/null

mkdir -p "$out"
csv=$out/results.csv
: > "$csv"
md=$out/report.md
{
  echo "# veshm benchmark report"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
  echo
  echo "Every figure is measured next to its reference in the same run; ratios > 1 mean faster (bandwidth) or slower (latency) than the reference."
} > "$md"

for run in "$root"/contrib/bench/*/run.sh; do
  name=$(basename "$(dirname "$run")")
  echo "report: running $name" >&2
  log=$out/$name.txt
  extra=()
  # The OSU benchmarks (OSU_SRC, else skipped with a message) plot each of
  # their benchmarks themselves, with the ratio.
  [ "$name" = osu ] && extra=(--out "$out/osu")
  if ! bash "$run" "${quick[@]}" "${extra[@]}" --csv "$csv" > "$log" 2>&1; then
    { echo; echo "## $name"; echo; echo "**failed** (see $name.txt)"; } >> "$md"
    continue
  fi
  { echo; echo "## $name"; echo; echo '```'; cat "$log"; echo '```'; } >> "$md"
  if [ "$name" = osu ]; then
    for png in "$out"/osu/*.png; do
      [ -f "$png" ] && { echo; echo "![osu $(basename "$png" .png)](osu/$(basename "$png"))"; } >> "$md"
    done
    continue
  fi
  for kind in bandwidth latency; do
    series=$(awk -F, -v b="$name" -v k="$kind" '$1==b && $7==k {print $2}' "$csv" | awk '!seen[$0]++')
    [ -n "$series" ] || continue
    # Only series measured at several sizes make a curve.
    multi=$(awk -F, -v b="$name" -v k="$kind" '$1==b && $7==k {n[$2]++} END {for (s in n) if (n[s] > 1) print s}' "$csv")
    [ -n "$multi" ] || continue
    png=$name-$kind.png
    unit=$(awk -F, -v b="$name" -v k="$kind" '$1==b && $7==k {print $6; exit}' "$csv")
    data=$out/.$name-$kind.dat
    : > "$data"
    plot=""
    i=0
    while IFS= read -r s; do
      grep -qxF "$s" <<< "$multi" || continue
      awk -F, -v b="$name" -v k="$kind" -v s="$s" '$1==b && $7==k && $2==s {print $3, $4}' "$csv" >> "$data"
      printf '\n\n' >> "$data"
      plot+="${plot:+, }'$data' index $i using 1:2 with linespoints title '${s//\'/}'"
      i=$((i + 1))
    done <<< "$series"
    awk -F, -v b="$name" -v k="$kind" '$1==b && $7==k {r[$3]+=$5; n[$3]++} END {for (x in r) print x, r[x]/n[x]}' "$csv" | sort -n >> "$data"
    plot+=", '$data' index $i using 1:2 with lines dashtype 2 lw 2 lc rgb 'black' title 'reference (mean of its measurements)'"
    gnuplot <<GP
set terminal pngcairo size 1000,650 noenhanced
set output '$out/$png'
set logscale x 2
set logscale y
set format x '%.0b%BB'
set xlabel 'message size (bytes)'
set ylabel '$kind ($unit)'
set key below
set grid
set title '$name: $kind'
plot $plot
GP
    { echo; echo "![$name $kind]($png)"; } >> "$md"
  done
done
echo "report: wrote $md" >&2
