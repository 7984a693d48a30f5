#!/bin/sh
# bench-pshare.sh: memory reclaimed by transparent page sharing for N
# identical Linux VMs (make bench; a figure, not pass/fail).
#
# N VMs (BENCH_PSHARE_VMS, default 3) boot Debian's kernel and the test
# initramfs in Bochs on one host CPU, all with one sched.mem.pshare.salt
# and the software local APIC (under Bochs, VMs with APIC virtualization
# are not shared: docs/resource-manager.md). Each runs /init's checks and
# workload, then powers off. vmstat prints every VM's memory and the
# host's page-sharing line every BENCH_PSHARE_VMSTAT seconds; the figure
# is taken from the last round before the first VM ended (all N still up):
# KiB saved by sharing (guest pages mapping shared frames less the frames)
# against the KiB all N had backed, and how many pages were zero pages.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
elf=$top/build/vmkernel.elf
lin=$top/build/linux
n=${BENCH_PSHARE_VMS:-3}
period=${BENCH_PSHARE_VMSTAT:-10}
ips=${BENCH_LINUX_IPS:-100000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -f "$lin/vmlinuz" ] || [ ! -f "$lin/initrd.gz" ]; then
	echo "page sharing: no Linux guest (sh tools/mklinux.sh build/linux); not measured"
	exit 0
fi
mods=
i=1
while [ "$i" -le "$n" ]; do
	cat > "$work/twin$i.vmx" <<EOF
displayName = "twin$i"
memsize = "256"
numvcpus = "1"
guest.type = "linux"
guest.kernel = "vmlinuz"
guest.initrd = "initrd.gz"
guest.cmdline = "console=ttyS0 loglevel=4"
monitor.apicv = "FALSE"
sched.mem.pshare.salt = "bench twins"
test.expect = "poweroff"
EOF
	mods="$mods $work/twin$i.vmx"
	i=$((i + 1))
done
# shellcheck disable=SC2086
sh "$top/tools/mkiso.sh" "$work/pshare.iso" "$elf" \
	"console=com1 test=vm_expectations vmstat=$period" 0 $mods "$lin/vmlinuz" "$lin/initrd.gz"
BOCHS_IPS=$ips sh "$top/tools/run-bochs.sh" "$work/pshare.iso" "$work/pshare.serial" 1 1024 3600 ||
	true

# The vmstat rounds before the first VM's end.
first_end=$(grep -n "vm: twin[0-9]*: ended" "$work/pshare.serial" | head -1 | cut -d: -f1)
if [ -z "$first_end" ]; then
	echo "page sharing: no VM ended (see the log: $work/pshare.serial)"
	trap - EXIT
	exit 0
fi
head -n "$first_end" "$work/pshare.serial" | awk -v n="$n" '
	/vmstat: twin[0-9]*: memory: / {
		name = $0; sub(/.*vmstat: /, "", name); sub(/:.*/, "", name)
		b = $0; sub(/.*; backed /, "", b); sub(/ KiB.*/, "", b)
		backed[name] = b
	}
	/vmstat: page sharing: / {
		s = $0; sub(/.*frames\): /, "", s); sub(/ KiB saved.*/, "", s)
		z = $0; sub(/.*frames \(/, "", z); sub(/ zero pages.*/, "", z)
		t = 0; k = 0
		for (v in backed) { t += backed[v]; k++ }
		if (k == n && t > 0) { saved = s; total = t; zero = z }
	}
	END {
		if (!total) { print "page sharing: no vmstat round with all " n " VMs up"; exit }
		printf "page sharing, %d identical Linux VMs (256 MiB each, one salt, Bochs): ", n
		printf "%d KiB of %d KiB backed saved (%.1f%%), %d zero pages among the shared\n",
			saved, total, 100 * saved / total, zero
	}'
