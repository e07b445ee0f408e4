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
#   USERS=20000 scripts/instr-compare.sh 2 /tmp/old/neurons-connector bin/neurons-connector
# USERS (default 20000) sets the tenant's size; a run takes about a minute.
# SINK=csv runs into the CSV drop instead of the Neurons stand-in.
set -euo pipefail
rounds=$1
shift
users=${USERS:-20000}
command -v valgrind >/dev/null || { echo "instr-compare.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
work=$(mktemp -d)
trap 'exec 9>&-; wait; rm -rf "$work"' EXIT
mkfifo "$work/in"
"$1" bench-serve --users "$users" --okta-limit-scale 0 <"$work/in" >"$work/urls.json" &
exec 9>"$work/in"
while [ ! -s "$work/urls.json" ]; do sleep 0.2; done
url() { sed -E "s/.*\"$1\":\"([^\"]*)\".*/\1/" "$work/urls.json"; }
okta=$(url Okta)
sink=$(url Sink)
export NC_SINK=${SINK:-neurons} NC_NEURONS_URL=$sink NC_NEURONS_TOKEN_URL=$sink/connect/token \
	NC_NEURONS_CLIENT_ID=sink-client NC_NEURONS_CLIENT_SECRET=sink-secret NC_LOG_LEVEL=warn \
	BENCH_TOKEN=bench-okta-token NC_SECRET_KEY=
for _ in $(seq "$rounds"); do
	for bin in "$@"; do
		data=$(mktemp -d -p "$work")
		NC_DATA_DIR=$data "$bin" connector add okta --name Bench --url "$okta" --token-env BENCH_TOKEN \
			--user-status STAGED,PROVISIONED,ACTIVE,RECOVERY,PASSWORD_EXPIRED,LOCKED_OUT,SUSPENDED,DEPROVISIONED >/dev/null
		NC_DATA_DIR=$data GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=cachegrind --cache-sim=no \
			--cachegrind-out-file=/dev/null "$bin" run Bench >/dev/null 2>"$data.log"
		sed -nE 's/.*I +refs: +([0-9,]+).*/\1/p' "$data.log" | tr -d , |
			awk -v bin="$bin" -v n="$users" '{printf "%-50s %8.0f instructions per user\n", bin, $1/n}'
		rm -rf "$data" "$data.log"
	done
done
