#!/usr/bin/env bash
# concurrent-runs.sh N USERS [BIN]: N Okta connectors on one simulated
# tenant of USERS users (bench-serve, limits off), their first full runs
# started at once through one service, as connectors that share a schedule
# slot start (the default is daily at 02:00). Prints the service's CPU per
# user over the N runs and its peak resident memory (VmHWM), to compare with
# one run alone (N=1): what several runs at once cost the host (README,
# Performance). Linux only (/proc).
#   scripts/concurrent-runs.sh 8 25000
set -euo pipefail
n=$1 users=$2 bin=${3:-bin/neurons-connector}
. "$(dirname "$0")/bench-lib.sh"
work=$(mktemp -d)
spid=
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; exec 9>&-; wait; rm -rf "'"$work"'"' EXIT
start_simulator "$bin" "$users" "$work"
export NC_DATA_DIR=$work/data NC_LISTEN=127.0.0.1:0
for i in $(seq "$n"); do
	"$bin" connector add okta --name "B$i" --url "$okta" --token-env BENCH_TOKEN \
		--user-status STAGED,PROVISIONED,ACTIVE,RECOVERY,PASSWORD_EXPIRED,LOCKED_OUT,SUSPENDED,DEPROVISIONED >/dev/null 2>&1
done
"$bin" serve >"$work/serve.log" 2>&1 &
spid=$!
while [ ! -S "$NC_DATA_DIR/daemon.sock" ]; do sleep 0.1; done
cpu() { awk '{print $14 + $15}' "/proc/$spid/stat"; } # user + system, in clock ticks
before=$(cpu)
start=$(date +%s.%N)
pids=
for i in $(seq "$n"); do
	"$bin" run "B$i" >/dev/null 2>"$work/run$i.log" &
	pids="$pids $!"
done
# shellcheck disable=SC2086 # one pid per word
wait $pids
end=$(date +%s.%N)
after=$(cpu)
hz=$(getconf CLK_TCK)
awk -v n="$n" -v u="$users" -v t0="$before" -v t1="$after" -v hz="$hz" -v w0="$start" -v w1="$end" \
	-v hwm="$(awk '/VmHWM/ {print $2}' "/proc/$spid/status")" 'BEGIN {
	printf "%d runs of %d users at once: %.1f s, %.1f µs of CPU per user, %.0f MB peak resident\n",
		n, u, w1 - w0, (t1 - t0) / hz * 1e6 / (n * u), hwm / 1024 }'
