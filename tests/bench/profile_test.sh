#!/usr/bin/env bash
# contrib/bench/profile.sh on a known load: bench_copy_split, whose parent
# copies with memcpy and whose forked helper copies through
# process_vm_readv. The profile must put the parent's time in user-space
# copying and the helper's in the kernel's copy and page pinning, and hand
# the command's exit status back. 77 (skipped) where perf cannot sample.
#   profile_test.sh PROFILE_SH BENCH_COPY_SPLIT
set -uo pipefail
profile=$1 bench=$2
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$(bash "$profile" --min 1 -- "$bench" $((2 << 20)) 2>&1)
rc=$?
[ $rc -ne 77 ] || { echo "$out"; exit 77; }
echo "$out"
[ $rc -eq 0 ] || fail "exit status $rc for a command that succeeded"

# Columns of a process row: 3 share, 4 copying (user), 5 copying (kernel),
# 6 reaching the peer's pages, 7 other kernel, 8 operation, 9 polling, 10 other.
rows=$(grep -E '^\| bench_copy_spli [0-9]+ \|' <<<"$out" | tr -d '%')
[ "$(wc -l <<<"$rows")" -ge 2 ] || fail "not two bench_copy_split processes in the table"
# Shares of the time a process spent on named work (columns 4-9), not of
# all its samples: a helper whose CPU another process takes (ctest -j2 runs
# tests side by side) finishes fewer chunks and spends the rest waiting for
# the next job in its own loop ("other", 40-67% here with a spinner beside it).
work='{ w = $4 + $5 + $6 + $7 + $8 + $9 }'
user=$(awk -F'|' "$work"' w > 0 && $4 / w >= 0.6 { print $2 }' <<<"$rows" | head -1)
kernel=$(awk -F'|' "$work"' w > 0 && ($5 + $6) / w >= 0.6 && $5 >= 5 && $6 >= 2 { print $2 }' \
  <<<"$rows" | head -1)
[ -n "$user" ] || fail "no process with 60% or more of its work copying in user space"
[ -n "$kernel" ] || fail "no process with 60% or more of its work in the kernel's copy and page pinning"
[ "$user" != "$kernel" ] || fail "the same process both ways"
grep -qE '^ +[0-9.]+%  .*(memmove|memcpy)' <<<"$out" || fail "no memcpy among the top symbols"

bash "$profile" -- false >/dev/null 2>&1
rc=$?
[ $rc -eq 1 ] || fail "exit status $rc for a command that failed with 1"
echo "profile_test: ok"
