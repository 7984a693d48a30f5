#!/bin/sh
# run-bochs.sh ISO SERIAL_LOG [CPUS] [MEM_MB] [TIMEOUT_S]
# Boot ISO in Bochs (the VT-x test machine), serial output to SERIAL_LOG and
# the Bochs log beside it (.bochs). The kernel ends a test run with Bochs's
# magic breakpoint; the debugger script then quits.
set -eu
iso=$1 serial=$2 cpus=${3:-1} mem=${4:-256} tmo=${5:-120}
here=$(cd "$(dirname "$0")" && pwd)
rc=$(mktemp)
trap 'rm -f "$rc"' EXIT
printf 'c\nquit\n' > "$rc"
: > "$serial"
IPS=${BOCHS_IPS:-10000000} ISO=$iso SERIALOUT=$serial BXLOG=$serial.bochs NCPUS=$cpus MEMMB=$mem \
	timeout -k 5 "$tmo" bochs -q -f "$here/bochsrc" -rc "$rc" </dev/null >"$serial.stdout" 2>&1
