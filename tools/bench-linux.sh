#!/bin/sh
# bench-linux.sh: the Linux boot under the hypervisor against the same
# kernel and initramfs booted natively, both in Bochs with the same
# instructions-per-second setting (make bench; figures, not pass/fail).
#
# Bochs's TSC counts emulated instructions, so each figure is a path
# length. /init prints the TSC first thing ("vmk-init: tsc N"):
#  - under the hypervisor the VM's TSC starts at 0 when the VM starts
#    (after its kernel was loaded), so N is VM start -> /init;
#  - natively, build/bench/linuxboot.elf (GRUB loads it with the kernel
#    and initrd as modules) places them with the hypervisor's own
#    boot-protocol code and prints the TSC as it jumps into the kernel,
#    so N minus that is kernel entry -> /init.
# Both enter the kernel's 64-bit entry with the same zero page, and both
# machines have the same RAM for Linux (256 MiB) and one CPU.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
elf=$top/build/vmkernel.elf
lin=$top/build/linux
ips=${BENCH_LINUX_IPS:-100000000}
mem=256
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmdline="console=ttyS0 loglevel=4 vmk.quick=1"

# Under the hypervisor: one Linux VM on a 1-CPU host.
cat > "$work/linux-bench.vmx" <<EOF
displayName = "linux-bench"
memsize = "$mem"
numvcpus = "1"
guest.type = "linux"
guest.kernel = "vmlinuz"
guest.initrd = "initrd.gz"
guest.cmdline = "$cmdline"
test.expect = "poweroff"
test.console = "vmk-init: tsc"
EOF
sh "$top/tools/mkiso.sh" "$work/hv.iso" "$elf" "console=com1 test=vm_expectations" 0 \
	"$work/linux-bench.vmx" "$lin/vmlinuz" "$lin/initrd.gz"
BOCHS_IPS=$ips sh "$top/tools/run-bochs.sh" "$work/hv.iso" "$work/hv.serial" 1 1024 2400 || true

# Natively: GRUB -> linuxboot.elf -> the same kernel and initrd.
mkdir -p "$work/native/boot/grub"
cp "$top/build/bench/linuxboot.elf" "$lin/vmlinuz" "$lin/initrd.gz" "$work/native/boot/"
cat > "$work/native/boot/grub/grub.cfg" <<EOF
set timeout=0
set default=0
serial --unit=0 --speed=115200
terminal_output serial
menuentry "Linux, natively" {
	multiboot /boot/linuxboot.elf $cmdline
	module /boot/vmlinuz vmlinuz
	module /boot/initrd.gz initrd.gz
}
EOF
grub-mkrescue -o "$work/native.iso" "$work/native" >"$work/grub.log" 2>&1 ||
	{ cat "$work/grub.log" >&2; echo "bench-linux: grub-mkrescue failed" >&2; exit 1; }
# Bochs's CPU has MSRs Linux probes and Bochs does not model: natively they
# must read as zero rather than stop the emulator (the hypervisor answers them itself).
BOCHS_IPS=$ips BOCHS_EXTRA="cpu: ignore_bad_msrs=1" \
	sh "$top/tools/run-bochs.sh" "$work/native.iso" "$work/native.serial" 1 "$mem" 2400 || true

tsc_at_init() {
	sed -n 's/.*vmk-init: tsc \([0-9][0-9]*\).*/\1/p' "$1" | head -1
}
hv=$(tsc_at_init "$work/hv.serial")
nat_init=$(tsc_at_init "$work/native.serial")
nat_entry=$(sed -n 's/^linuxboot: entering Linux at [0-9a-fx]*, tsc \([0-9][0-9]*\).*/\1/p' \
	"$work/native.serial" | head -1)
kver=$(cat "$lin/kernel-package" 2>/dev/null || echo "Debian's kernel")
echo "Linux boot in Bochs ($kver bzImage + test initramfs, 1 CPU, $mem MiB for Linux, ips=$ips):"
if [ -z "$hv" ] || [ -z "$nat_init" ] || [ -z "$nat_entry" ]; then
	echo "  a run did not reach /init: hypervisor tsc '${hv:-none}', native entry" \
		"'${nat_entry:-none}' and /init '${nat_init:-none}'"
	for f in hv native; do
		echo "  --- $f, last lines:"
		tail -5 "$work/$f.serial" | sed 's/^/  | /'
	done
	exit 0
fi
nat=$((nat_init - nat_entry))
awk -v hv="$hv" -v nat="$nat" -v ips="$ips" 'BEGIN {
	printf "  natively, kernel entry to /init:         %13.0f instructions (%.2f emulated s)\n", nat, nat / ips
	printf "  under the hypervisor, VM start to /init: %13.0f instructions (%.2f emulated s)\n", hv, hv / ips
	printf "  ratio hypervisor/native: %.3f (goal: at most 1.05)\n", hv / nat
}'

# Exits by reason over the VM's life (start to power off), per second of its time.
t0=$(sed -n 's/^\[ *\([0-9.]*\)\] vm: linux-bench: Linux .*/\1/p' "$work/hv.serial" | head -1)
t1=$(sed -n 's/^\[ *\([0-9.]*\)\] vm: linux-bench: ended .*/\1/p' "$work/hv.serial" | head -1)
stats=$(sed -n 's/.*vm: linux-bench: vCPU 0: \([0-9]* exits, .*\)/\1/p' "$work/hv.serial" | head -1)
if [ -n "$t0" ] && [ -n "$t1" ] && [ -n "$stats" ]; then
	echo "$stats" | awk -v t0="$t0" -v t1="$t1" '{
		s = t1 - t0
		printf "  VM exits per second of guest time, VM start to power off (%.2f s):\n", s
		n = split($0, part, ", ")
		for (i = 1; i <= n; i++) {
			p = part[i]
			sub(/;.*/, "", p)
			gsub(/[ \t\r]+$/, "", p)
			if (p ~ /^[0-9]+ exits$/) {
				split(p, w, " ")
				printf "    all: %.0f/s (%.0f)\n", w[1] / s, w[1]
				continue
			}
			c = p
			sub(/.* /, "", c)
			r = p
			sub(/ [0-9]+$/, "", r)
			printf "    %s: %.0f/s (%.0f)\n", r, c / s, c
		}
	}'
else
	echo "  exit counts: not found in the log"
fi
