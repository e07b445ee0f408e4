#!/usr/bin/env bash
# profile-runs.sh DIR BIN... : a CPU profile of each build's first full run
# of an Okta tenant, one after the other against one simulator (bench-serve
# of the first BIN), written to DIR/<name of BIN's folder or file>.pprof; split
# one with scripts/profile-parts.py BIN DIR/NAME.pprof. Prints each run's
# user and system seconds and peak resident kilobytes, from the OS.
#   scripts/profile-runs.sh /tmp/prof bin/neurons-connector /tmp/old/neurons-connector
# USERS (default 100000) sets the tenant's size; ROUNDS (default 1) repeats,
# each round's profile replacing the last.
set -euo pipefail
dir=$1
shift
users=${USERS:-100000}
mkdir -p "$dir"
. "$(dirname "$0")/bench-lib.sh"
measure() {
	local name
	name=$(basename "$(dirname "$2")")-$(basename "$2")
	NC_DATA_DIR=$1 NC_CPU_PROFILE="$dir/$name.pprof" /usr/bin/time -o "$1.time" -f "%U %S %M" "$2" run Bench >/dev/null 2>&1
	awk -v bin="$2" -v out="$dir/$name.pprof" '{printf "%-40s user %.2f s, system %.2f s, peak %d KB: %s\n", bin, $1, $2, $3, out}' "$1.time"
	rm -f "$1.time"
}
compare_runs measure "${ROUNDS:-1}" "$users" "$@"
