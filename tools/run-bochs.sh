#!/bin/sh
# run-bochs.sh ISO SERIAL_LOG [CPUS] [MEM_MB] [TIMEOUT_S]
# Boot ISO in Bochs (the VT-x test machine), serial output to SERIAL_LOG and
# the Bochs log beside it (.bochs). The kernel ends a test run with Bochs's
# magic breakpoint; the debugger script then quits.
set -eu
iso=$1 serial=$2 cpus=${3:-1} mem=${4:-256} tmo=${5:-120}
here=$(cd "$(dirname "$0")" && pwd)
rc=$(mktemp)
conf=$here/bochsrc
# BOCHS_EXTRA: more configuration lines (e.g. a disk), appended to a copy.
if [ -n "${BOCHS_EXTRA:-}" ]; then
	conf=$(mktemp)
	cat "$here/bochsrc" > "$conf"
	printf '%s\n' "$BOCHS_EXTRA" >> "$conf"
fi
trap 'rm -f "$rc"; [ "$conf" = "$here/bochsrc" ] || rm -f "$conf"' EXIT
printf 'c\nquit\n' > "$rc"
: > "$serial"
IPS=${BOCHS_IPS:-10000000} ISO=$iso SERIALOUT=$serial BXLOG=$serial.bochs NCPUS=$cpus MEMMB=$mem \
	timeout -k 5 "$tmo" bochs -q -f "$conf" -rc "$rc" </dev/null >"$serial.stdout" 2>&1
