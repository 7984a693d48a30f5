#!/bin/sh
# The whole test suite: the layering check, host unit tests, the filesystem's end-to-end and
# fuzz checks, then every booted system test (tests/system/cases) in
# parallel, two emulators at a time. Ends with the line "N passed, M failed"
# and a non-zero status if anything failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=${CHECK_JOBS:-$(nproc 2>/dev/null || echo 2)}
res=$(mktemp -d)
trap 'rm -rf "$res"' EXIT

echo "== layering (tools/check-layers.sh)"
if sh "$top/tools/check-layers.sh" > "$res/layers"; then lp=1 lf=0; else lp=0 lf=1; fi
grep -v '^layers: [0-9]* files' "$res/layers"
tail -1 "$res/layers"

echo "== unit tests"
sh "$top/tests/run-unit.sh" "$@" | tee "$res/unit"
up=$(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed/\1/p' "$res/unit")
uf=$(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed/\2/p' "$res/unit")

echo "== filesystem (vmkfstools, qemu-img, fuzzing)"
sh "$top/tests/fs/run.sh" | tee "$res/fs"
fp=$(sed -n 's/^fs: \([0-9]*\) passed, \([0-9]*\) failed/\1/p' "$res/fs")
ff=$(sed -n 's/^fs: \([0-9]*\) passed, \([0-9]*\) failed/\2/p' "$res/fs")
[ -n "$fp" ] || { fp=0; ff=1; echo "fs: the filesystem checks did not report"; }

echo "== system tests ($jobs at a time)"
grep -v '^#' "$top/tests/system/cases" | grep -v '^ *$' |
	xargs -P "$jobs" -L 1 sh "$top/tests/system/run-case.sh" > "$res/system" 2>&1
cat "$res/system"
sp=$(grep -c '^PASS' "$res/system")
sf=$(grep -c '^FAIL' "$res/system")
cases=$(grep -v '^#' "$top/tests/system/cases" | grep -vc '^ *$')
if [ $((sp + sf)) -ne "$cases" ]; then
	echo "system: $cases cases but $((sp + sf)) results"
	sf=$((cases - sp))
fi
echo "system: $sp passed, $sf failed (serial logs in build/system/)"
echo "$((lp + up + fp + sp)) passed, $((lf + uf + ff + sf)) failed"
[ $((lf + uf + ff + sf)) -eq 0 ]
