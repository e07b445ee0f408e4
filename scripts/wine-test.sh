#!/usr/bin/env bash
# wine-test.sh [PACKAGE...]: runs the Windows test binaries of the given
# packages (default: every package with tests) under Wine, each from its
# package's folder as go test runs it, and prints each failing test with the
# lines that say why, leaving out what Wine alone causes (README, Tests):
# its refusal to delete a test's temporary folder ("unlinkat ... Invalid
# function"), and its ACLs, which private.Restrict cannot narrow ("lets
# S-1-1-0 read or change it"). A test whose only complaints are those is
# counted apart. A test's t.Log lines show among the reasons too (go test
# prints them alike when it fails). CI runs none of this; it is for a
# change to Windows code.
#   scripts/wine-test.sh ./control ./providers/httpclient
# Needs wine64 and the MinGW-w64 C compiler (Debian: apt-get install wine64
# gcc-mingw-w64-x86-64). Go 1.24+ loads bcryptprimitives.dll, which Wine 8
# lacks: the script builds a stand-in (ProcessPrng over RtlGenRandom) into
# a Wine prefix of its own, WINEPREFIX (default /tmp/nc-wineprefix).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wine64 >/dev/null || [ -x /usr/lib/wine/wine64 ] || { echo "wine64 not found: apt-get install wine64" >&2; exit 2; }
command -v x86_64-w64-mingw32-gcc >/dev/null || { echo "x86_64-w64-mingw32-gcc not found: apt-get install gcc-mingw-w64-x86-64" >&2; exit 2; }
wine=$(command -v wine64 || echo /usr/lib/wine/wine64)
export WINEPREFIX=${WINEPREFIX:-/tmp/nc-wineprefix} WINEDEBUG=-all
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dll="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
if [ ! -f "$dll" ]; then
	"$wine" cmd /c exit >/dev/null 2>&1 || true # creates the prefix
	cat >"$work/prng.c" <<'C'
#include <windows.h>
#include <ntsecapi.h>
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!RtlGenRandom(data, n)) return FALSE;
		data += n; len -= n;
	}
	return TRUE;
}
C
	x86_64-w64-mingw32-gcc -shared -o "$dll" "$work/prng.c" -ladvapi32
fi
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || mapfile -t pkgs < <(go list -f '{{if or .TestGoFiles .XTestGoFiles}}./{{.ImportPath}}{{end}}' ./... | sed 's#^\./neurons-connector#.#')
status=0
for p in "${pkgs[@]}"; do
	dir=$(go list -f '{{.Dir}}' "$p")
	exe="$work/$(basename "$dir").test.exe"
	GOOS=windows GOARCH=amd64 go test -c -o "$exe" "$p"
	(cd "$dir" && timeout 900 "$wine" "$exe" -test.v -test.timeout 850s >"$work/log" 2>&1) || true
	python3 - "$p" "$work/log" <<'PY' || status=1
import re, sys
pkg, log = sys.argv[1], sys.argv[2]
wine_only = ("RemoveAll cleanup", "lets S-1-1-0 read or change it")
cur, lines, passed, quirks, failed = None, {}, 0, 0, []
for l in open(log, errors="replace"):
    m = re.match(r"\s*=== (RUN|CONT|NAME)\s+(\S+)", l)
    if m:
        cur = m.group(2); lines.setdefault(cur, []); continue
    m = re.match(r"\s*--- (FAIL|PASS|SKIP): (\S+)", l)
    if not m:
        if cur and ".go:" in l: lines[cur].append(l.rstrip())
        continue
    if "/" in m.group(2): continue  # subtests count with their test
    if m.group(1) != "FAIL": passed += 1; continue
    name = m.group(2)
    mine = [x for k, v in lines.items() if k == name or k.startswith(name + "/") for x in v]
    why = [x for x in mine if not any(q in x for q in wine_only)]
    if why: failed.append((m.group(2), why))
    else: quirks += 1
print(f"{pkg}: {passed} passed, {quirks} failed only on what Wine lacks, {len(failed)} failed")
for name, why in failed:
    print(f"  {name}")
    for x in why[:4]: print("    " + x.strip()[:240])
sys.exit(1 if failed else 0)
PY
done
exit $status
