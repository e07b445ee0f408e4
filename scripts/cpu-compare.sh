#!/usr/bin/env bash
# cpu-compare.sh ROUNDS BIN... : the CPU per user of each build's first full
# run of an Okta tenant, the builds alternating, ROUNDS times each, against
# one simulator process (bench-serve of the first BIN). CPU is the run
# process's user + system time from the OS over the users read, as `bench`
# prints it; alternating is what makes two builds comparable on a machine
# whose speed drifts from one minute to the next (README, Performance).
#   scripts/cpu-compare.sh 5 /tmp/old/neurons-connector bin/neurons-connector
# USERS (default 100000) sets the tenant's size.
set -euo pipefail
rounds=$1
shift
users=${USERS:-100000}
work=$(mktemp -d)
trap 'exec 9>&-; wait; rm -rf "$work"' EXIT
mkfifo "$work/in"
"$1" bench-serve --users "$users" --okta-limit-scale 0 <"$work/in" >"$work/urls.json" &
exec 9>"$work/in"
while [ ! -s "$work/urls.json" ]; do sleep 0.2; done
url() { sed -E "s/.*\"$1\":\"([^\"]*)\".*/\1/" "$work/urls.json"; }
okta=$(url Okta)
sink=$(url Sink)
export NC_SINK=neurons NC_NEURONS_URL=$sink NC_NEURONS_TOKEN_URL=$sink/connect/token \
	NC_NEURONS_CLIENT_ID=sink-client NC_NEURONS_CLIENT_SECRET=sink-secret NC_LOG_LEVEL=warn \
	BENCH_TOKEN=bench-okta-token NC_SECRET_KEY=
for _ in $(seq "$rounds"); do
	for bin in "$@"; do
		data=$(mktemp -d -p "$work")
		NC_DATA_DIR=$data "$bin" connector add okta --name Bench --url "$okta" --token-env BENCH_TOKEN \
			--user-status STAGED,PROVISIONED,ACTIVE,RECOVERY,PASSWORD_EXPIRED,LOCKED_OUT,SUSPENDED,DEPROVISIONED >/dev/null
		NC_DATA_DIR=$data /usr/bin/time -o "$data.time" -f "%U %S" "$bin" run Bench >/dev/null 2>&1
		awk -v bin="$bin" -v n="$users" '{printf "%-50s %6.1f µs per user\n", bin, ($1+$2)*1e6/n}' "$data.time"
		rm -rf "$data" "$data.time"
	done
done
