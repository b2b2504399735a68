#!/bin/bash
# The kpatch-style way to find what holds a livepatch transition (kpatch's "stalled processes"
# loop): one `cat` of patch_state per thread, and for each blocker its stat (pid, comm, state) and
# stack.
#
#   kpatch-loop.sh ROOT LIMIT
#
# ROOT is a tree on disk (or "" for the host). Stops after LIMIT threads (0: only the glob is
# expanded, which the benchmark subtracts before scaling a sample up to the whole tree).
# Prints the blockers it saw, then "threads=N blockers=M" on the last line.
root=$1
limit=$2
target=
for patch in "$root"/sys/kernel/livepatch/*; do
	if [ "$(cat "$patch/transition")" = 1 ]; then
		target=$(cat "$patch/enabled")
	fi
done

n=0
blockers=0
for dir in "$root"/proc/[0-9]*/task/[0-9]*; do
	[ "$n" -ge "$limit" ] && break
	n=$((n + 1))
	state=$(cat "$dir/patch_state")
	if [ -n "$target" ] && [ "$state" != "$target" ] && [ "$state" != "-1" ]; then
		blockers=$((blockers + 1))
		echo "$(cat "$dir/stat")"
		cat "$dir/stack"
	fi
done
echo "threads=$n blockers=$blockers"
