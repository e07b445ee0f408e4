# bench-lib.sh, sourced by cpu-compare.sh and instr-compare.sh.
#   compare_runs MEASURE ROUNDS USERS BIN...
# starts one simulator process (bench-serve of the first BIN, Okta limits
# off; PLAIN=1 has Okta's answers uncompressed, as from a fake that ignores
# Accept-Encoding; its Okta org lists about half the reports before their
# managers, as a real org's unordered listing does, and MANAGERS_FIRST=1
# every manager first, as the simulator did before) for USERS users,
# points the connector's settings at it and at its fake Neurons sink (NC_SINK
# from SINK, default neurons), and then, ROUNDS
# times, for each BIN in turn: adds the benchmark's Okta connector (every
# status selected) to a fresh data directory and calls MEASURE DATA_DIR
# BIN, which runs `run Bench` its way and prints one line.
compare_runs() {
	local measure=$1 rounds=$2 users=$3
	shift 3
	local work
	work=$(mktemp -d)
	# Closing the pipe stops the simulator.
	trap 'exec 9>&-; wait; rm -rf "'"$work"'"' EXIT
	start_simulator "$1" "$users" "$work"
	for _ in $(seq "$rounds"); do
		for bin in "$@"; do
			local data
			data=$(mktemp -d -p "$work")
			add_connector "$data" "$bin"
			"$measure" "$data" "$bin"
			rm -rf "$data"
		done
	done
}

start_simulator() {
	local bin=$1 users=$2 work=$3
	mkfifo "$work/in"
	"$bin" bench-serve --users "$users" --okta-limit-scale 0 ${PLAIN:+--plain} ${MANAGERS_FIRST:+--managers-first} <"$work/in" >"$work/urls.json" &
	exec 9>"$work/in"
	while [ ! -s "$work/urls.json" ]; do sleep 0.2; done
	okta=$(sed -E 's/.*"Okta":"([^"]*)".*/\1/' "$work/urls.json")
	local sink
	sink=$(sed -E 's/.*"Sink":"([^"]*)".*/\1/' "$work/urls.json")
	export NC_SINK=${SINK:-neurons} NC_NEURONS_URL=$sink NC_NEURONS_TOKEN_URL=$sink/connect/token \
		NC_NEURONS_CLIENT_ID=sink-client NC_NEURONS_CLIENT_SECRET=sink-secret NC_LOG_LEVEL=warn \
		BENCH_TOKEN=bench-okta-token NC_SECRET_KEY=
}

add_connector() {
	NC_DATA_DIR=$1 "$2" connector add okta --name Bench --url "$okta" --token-env BENCH_TOKEN \
		--user-status STAGED,PROVISIONED,ACTIVE,RECOVERY,PASSWORD_EXPIRED,LOCKED_OUT,SUSPENDED,DEPROVISIONED >/dev/null
}

# summarize passes a series' lines ("BIN VALUE unit…", one per build per
# round, the builds in turn) through as they come, then prints each build's
# median and, for each build after the first, the first build's figure over
# its own round by round, and the median of those ratios: the figure the
# README quotes, which the machine's drift moves least.
summarize() {
	awk '
	function median(a, n,    i, j, t) {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
	}
	{
		print; fflush()
		if (!($1 in idx)) {
			idx[$1] = ++builds; name[builds] = $1; u = ""
			for (f = 3; f <= NF; f++) u = u (f > 3 ? " " : "") $f
			unit[builds] = u
		}
		b = idx[$1]; val[b, ++n[b]] = $2
	}
	END {
		if (builds == 0) exit
		for (b = 1; b <= builds; b++) {
			for (r = 1; r <= n[b]; r++) v[r] = val[b, r]
			printf "median of %d: %-38s %s %s\n", n[b], name[b], median(v, n[b]), unit[b]
		}
		for (b = 2; b <= builds; b++) {
			m = n[b] < n[1] ? n[b] : n[1]; list = ""
			for (r = 1; r <= m; r++) { q[r] = val[1, r] / val[b, r]; list = list (r > 1 ? ", " : "") sprintf("%.3f", q[r]) }
			printf "%s / %s: %s; median %.3f\n", name[1], name[b], list, median(q, m)
		}
	}'
}
