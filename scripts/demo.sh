#!/usr/bin/env bash
# A walk through the connector and mapping commands in a throw-away data
# directory (`make tour`). It needs no network and no credentials: the
# "tokens" below are made up and nothing is contacted. The sync itself is
# shown by `make demo` (`neurons-connector demo`, on built-in simulators).
set -euo pipefail
bin=${1:-bin/neurons-connector}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
export NC_DATA_DIR=$data/data
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
nc() { say "neurons-connector $*"; "$bin" "$@"; }

export OKTA_TOKEN=00demo-okta-token-not-real
nc connector add okta --name "Okta prod" --url https://acme.okta.com \
	--token-env OKTA_TOKEN --user-status active,suspended
say 'echo -n demo-onelogin-secret | neurons-connector connector add onelogin ... --client-secret-stdin'
printf 'demo-onelogin-secret' | "$bin" connector add onelogin --name OneLogin --domain acme.onelogin.com \
	--client-id 0123abcd --client-secret-stdin --repeats weekly --start-time 03:30 --time-zone Europe/Berlin
nc connector list
nc connector show "Okta prod"
nc connector edit "okta prod" --user-status active,locked_out --rate-share 30
nc status
nc connector list --json
say "neurons-connector connector add okta --name X --url http://acme.okta.com --token-env OKTA_TOKEN   # bad input"
set +e
"$bin" connector add okta --name X --url http://acme.okta.com --token-env OKTA_TOKEN
echo "exit code $?"
set -e
nc mapping export okta -o "$data/okta.csv"
say "sed -i 's/profile.email,,/profile.email,lower,/' okta.csv && neurons-connector mapping check okta.csv"
sed -i 's/^User.Email,profile.email,,/User.Email,profile.email,lower,/' "$data/okta.csv"
"$bin" mapping check "$data/okta.csv"
say "printf 'User.Fistname,profile.firstName,,\\n' >> okta.csv && neurons-connector mapping check okta.csv   # a typo"
printf 'User.Fistname,profile.firstName,,\n' >>"$data/okta.csv"
set +e
"$bin" mapping check "$data/okta.csv"
echo "exit code $?"
set -e
say "grep -c \"\$OKTA_TOKEN\" \$NC_DATA_DIR/neurons-connector.db   # the token is sealed"
grep -c "$OKTA_TOKEN" "$NC_DATA_DIR/neurons-connector.db" || true
say "ls -l \$NC_DATA_DIR"
ls -l "$NC_DATA_DIR"
