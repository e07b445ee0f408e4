#!/usr/bin/env bash
# instr-compare.sh ROUNDS BIN... : the instructions per user of each build's
# first full run of an Okta tenant, counted by valgrind (cachegrind), the
# builds alternating, against one simulator process (bench-serve of the
# first BIN), as scripts/cpu-compare.sh measures CPU time. A count does not
# move with the machine's speed, which on the shared 2 cores moves CPU
# figures by a third within minutes: use it to tell whether a change does
# less work, and CPU series for what the work costs (README, Performance).
# Needs valgrind. The run is held to one thread (GOMAXPROCS=1, no
# asynchronous preemption: valgrind serialises threads, and Go's idle
# spinning would otherwise be counted), and valgrind's CPU lacks SHA-NI, so
# SHA-256 runs as AVX2 code and weighs some four times what it does natively.
# Go reads the clock with RDTSCP where the CPU has it, an instruction
# valgrind 3.19 does not know (SIGILL in runtime.cputicks): it is turned off.
#   USERS=20000 scripts/instr-compare.sh 2 /tmp/old/neurons-connector bin/neurons-connector
# USERS (default 20000) sets the tenant's size; a run takes about a minute.
# SINK=csv runs into the CSV drop instead of the Neurons stand-in.
set -euo pipefail
rounds=$1
shift
users=${USERS:-20000}
command -v valgrind >/dev/null || { echo "instr-compare.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
. "$(dirname "$0")/bench-lib.sh"
measure() {
	NC_DATA_DIR=$1 GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off valgrind --tool=cachegrind --cache-sim=no \
		--cachegrind-out-file=/dev/null "$2" run Bench >/dev/null 2>"$1.log"
	sed -nE 's/.*I +refs: +([0-9,]+).*/\1/p' "$1.log" | tr -d , |
		awk -v bin="$2" -v n="$users" '{printf "%-50s %8.0f instructions per user\n", bin, $1/n}'
	rm -f "$1.log"
}
compare_runs measure "$rounds" "$users" "$@" | summarize
