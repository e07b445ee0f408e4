#!/usr/bin/env bash
# Fails when git tracks a compiled executable (ELF, PE or Mach-O): built
# programs belong in bin/ (ignored), never in the history every clone
# downloads. Run by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
found=0
while IFS= read -r -d '' f; do
	[ -f "$f" ] || continue
	magic="$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')"
	if [[ "$magic" == 4d5a* ]]; then
		# MZ alone could be text: a PE file has "PE\0\0" where 0x3c points.
		off=$(od -An -tu4 -j 60 -N 4 "$f" 2>/dev/null | tr -d ' ' || true)
		if [ -n "$off" ] && [ "$(od -An -tx1 -j "$off" -N 4 "$f" 2>/dev/null | tr -d ' \n')" = 50450000 ]; then
			magic=pe
		fi
	fi
	case "$magic" in
	7f454c46 | pe | feedface | feedfacf | cefaedfe | cffaedfe | cafebabe)
		echo "tracked executable: $f (remove it with: git rm --cached '$f')"
		found=1
		;;
	esac
done < <(git ls-files -z)
if [ "$found" -ne 0 ]; then exit 1; fi
echo "tracked executables: none"
