#!/usr/bin/env bash
# cpu-compare.sh ROUNDS BIN... : the CPU per user of each build's first full
# run of an Okta tenant, the builds alternating, ROUNDS times each, against
# one simulator process (bench-serve of the first BIN). CPU is the run
# process's user + system time from the OS over the users read, as `bench`
# prints it; alternating is what makes two builds comparable on a machine
# whose speed drifts from one minute to the next (README, Performance).
#   scripts/cpu-compare.sh 5 /tmp/old/neurons-connector bin/neurons-connector
# USERS (default 100000) sets the tenant's size; SINK=csv runs into the CSV
# drop instead of the Neurons stand-in; PLAIN=1 has the simulator answer
# uncompressed (no inflating in the run measured).
set -euo pipefail
rounds=$1
shift
users=${USERS:-100000}
. "$(dirname "$0")/bench-lib.sh"
measure() {
	NC_DATA_DIR=$1 /usr/bin/time -o "$1.time" -f "%U %S" "$2" run Bench >/dev/null 2>&1
	awk -v bin="$2" -v n="$users" '{printf "%-50s %6.1f µs per user\n", bin, ($1+$2)*1e6/n}' "$1.time"
	rm -f "$1.time"
}
compare_runs measure "$rounds" "$users" "$@" | summarize
