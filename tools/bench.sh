#!/bin/sh
# make bench: figures, not pass/fail. Each line says what it measures.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
iso=$top/build/vmkernel-test.iso
elf=$top/build/vmkernel.elf
runs=${BENCH_RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Wall time from starting QEMU (BIOS, TCG, 2 CPUs, 256 MiB) to the "ready:" line.
boot_once() {
	log=$work/serial.$1
	: > "$log"
	start=$(date +%s%N)
	timeout -k 5 120 qemu-system-x86_64 -machine pc -accel tcg -cpu max -smp 2 -m 256 \
		-cdrom "$iso" -display none -serial "file:$log" -monitor none -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=4 >/dev/null 2>&1 &
	pid=$!
	while ! grep -q 'vmkernel: ready:' "$log" 2>/dev/null; do
		if ! kill -0 $pid 2>/dev/null; then
			echo "bench: QEMU ended before the ready line" >&2
			return 1
		fi
		sleep 0.01
	done
	end=$(date +%s%N)
	kill $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	echo $(((end - start) / 1000000))
}

: > "$work/times"
i=0
while [ $i -lt "$runs" ]; do
	boot_once $i >> "$work/times"
	i=$((i + 1))
done
median=$(sort -n "$work/times" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
all=$(sort -n "$work/times" | tr '\n' ' ')
kready=$(sed -n 's/^\[ *\([0-9.]*\)\] vmkernel: ready:.*/\1/p' "$work/serial.0" | head -1)
printf 'boot to ready, QEMU BIOS (TCG, 2 CPUs, 256 MiB), wall seconds, median of %d: %d.%03d  (runs, ms: %s)\n' \
	"$runs" $((median / 1000)) $((median % 1000)) "$all"
printf '  of which in the vmkernel (its own clock, from TSC calibration to ready): %s s\n' "$kready"
# VM-exit round trips, measured inside a guest in Bochs: its RDTSC counts
# emulated instructions, so each figure is the hypervisor's path length for
# that exit (a deterministic count, not a real-hardware time). The guest runs
# twice: with the CPU's APIC virtualization, and with it off (software APIC).
for vm in bench bench_noapicv; do
	vmiso=$work/$vm.iso
	sh "$top/tools/mkiso.sh" "$vmiso" "$elf" "console=com1 test=vm_expectations" 0 \
		"$top/build/guests/bench.elf" "$top/tests/guests/$vm.vmx"
	sh "$top/tools/run-bochs.sh" "$vmiso" "$work/$vm.serial" 2 256 300 || true
done
if grep -q '\[bench\] bench: cpuid' "$work/bench.serial"; then
	echo "VM-exit round trip in Bochs (emulated instructions per operation, guest RDTSC, 2 vCPUs):"
	echo "  (with APIC virtualization where Bochs offers it / software APIC; ratio = software / virtualized)"
	for op in $(sed -n 's/.*\[bench\] bench: \([a-z_]*\) [0-9]* cycles.*/\1/p' "$work/bench.serial"); do
		a=$(sed -n "s/.*\[bench\] bench: $op \([0-9]*\) cycles.*/\1/p" "$work/bench.serial" | head -1)
		b=$(sed -n "s/.*\[bench_noapicv\] bench: $op \([0-9]*\) cycles.*/\1/p" "$work/bench_noapicv.serial" | head -1)
		if [ -n "$b" ] && [ "$a" -gt 0 ]; then
			printf '  %s: %s / %s  (%s)\n' "$op" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')"
		else
			printf '  %s: %s / (no figure)\n' "$op" "$a"
		fi
	done
	sed -n 's/.*\[bench\] bench: \([a-z_]* skipped.*\)/  \1/p' "$work/bench.serial"
	sed -n 's/.*\[bench\] bench: \([0-9]* iterations.*\)/  (\1)/p' "$work/bench.serial"
else
	echo "VM-exit round trip: the bench guest did not report (see its log: $work/bench.serial)"
fi

# The CPU scheduler (docs/resource-manager.md): the vms-shares set of the system tests on one
# Bochs CPU, plus an interrupt-driven guest. Share error: the largest deviation of the low,
# normal and high guests' counts from 1:2:4. Wake-up latency: how late past a 5 ms timer the
# halted guest's handler ran beside five CPU-bound guests (guest TSC = emulated instructions),
# and the scheduler's own figure for the same vCPU, from its wake-up to running.
g=$top/tests/guests
sh "$top/tools/mkiso.sh" "$work/shares.iso" "$elf" "console=com1 test=vm_expectations" 0 \
	"$top/build/guests/shares.elf" "$g/shares.vmx" "$g/shares_normal.vmx" "$g/shares_high.vmx" \
	"$g/shares_limited.vmx" "$g/shares_reserved.vmx" "$g/shares_waker.vmx"
sh "$top/tools/run-bochs.sh" "$work/shares.iso" "$work/shares.serial" 1 256 300 || true
chunks() {
	sed -n "s/.*\[$1\] shares: window [0-9]* ticks, \([0-9]*\) chunks.*/\1/p" "$work/shares.serial" | head -1
}
lo=$(chunks shares_low) mid=$(chunks shares_normal) hi=$(chunks shares_high)
if [ -n "$lo" ] && [ -n "$mid" ] && [ -n "$hi" ]; then
	awk -v lo="$lo" -v mid="$mid" -v hi="$hi" 'BEGIN {
		e2 = (mid / lo / 2 - 1) * 100; e4 = (hi / lo / 4 - 1) * 100
		e = e2 < 0 ? -e2 : e2; f = e4 < 0 ? -e4 : e4
		printf "CPU shares 1:2:4 on one Bochs CPU (with a limited, a reserved and a waking VM beside): measured 1:%.3f:%.3f, share error %.2f%%\n", mid / lo, hi / lo, (e > f ? e : f)
	}'
	sed -n 's/.*\[shares_limited\] shares: window .* \([0-9]*\) permille.*/  limited to 100 permille: ran \1 permille/p' "$work/shares.serial"
	sed -n 's/.*\[shares_reserved\] shares: window .* \([0-9]*\) permille.*/  reserving 300 permille: ran \1 permille/p' "$work/shares.serial"
	sed -n 's/.*\[shares_waker\] shares: \(wake-up after .*\)/  guest-measured \1 (TSC ticks = emulated instructions)/p' "$work/shares.serial"
	sed -n 's/.*vm: shares_waker: vCPU 0: .*; \([0-9]* wake-ups, from wake-up to running .*\); [0-9]* migrations.*/  scheduler: \1/p' "$work/shares.serial"
else
	echo "CPU shares: the share guests did not report (see $work/shares.serial)"
fi

# vCPU migration (docs/resource-manager.md, Several CPUs): the vms-migrate set, three equal
# CPU-bound guests on two Bochs CPUs. Each one's part of the total chunks (1/3 is exact
# fairness), its migrations, and what a move costs in TSC ticks (= emulated instructions)
# on the CPU it leaves and on the CPU it arrives on.
sh "$top/tools/mkiso.sh" "$work/migrate.iso" "$elf" "console=com1 test=vm_expectations" 0 \
	"$top/build/guests/shares.elf" "$g/shares_move1.vmx" "$g/shares_move2.vmx" "$g/shares_move3.vmx"
sh "$top/tools/run-bochs.sh" "$work/migrate.iso" "$work/migrate.serial" 2 256 300 || true
mchunks() {
	sed -n "s/.*\[$1\] shares: window [0-9]* ticks, \([0-9]*\) chunks.*/\1/p" "$work/migrate.serial" | head -1
}
a=$(mchunks shares_move1) b=$(mchunks shares_move2) c=$(mchunks shares_move3)
if [ -n "$a" ] && [ -n "$b" ] && [ -n "$c" ]; then
	awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN {
		t = a + b + c
		printf "Three equal CPU-bound VMs on two Bochs CPUs: parts of the total %.4f %.4f %.4f (1/3 = 0.3333)\n", a / t, b / t, c / t
	}'
	sed -n 's/.*vm: \(shares_move[0-9]\): vCPU 0: ran \([0-9]*\) ms.*; \([0-9]* migrations (.*)\), \([0-9]* co-stops\)/  \1: ran \2 ms, \3/p' "$work/migrate.serial"
else
	echo "vCPU migration: the guests did not report (see $work/migrate.serial)"
fi

# Spinning vCPUs (docs/resource-manager.md): two vCPUs of one VM hand a ticket lock back and
# forth 300 times on one Bochs CPU, with PAUSE-loop exiting and without (the same guest, the
# key off); each alone in its own run. Guest TSC ticks = emulated instructions.
for v in spinlock spinlock_nople; do
	sh "$top/tools/mkiso.sh" "$work/$v.iso" "$elf" "console=com1 test=vm_expectations" 0 \
		"$top/build/guests/spinlock.elf" "$g/$v.vmx"
	sh "$top/tools/run-bochs.sh" "$work/$v.iso" "$work/$v.serial" 1 256 300 || true
done
handoff() {
	sed -n 's/.*\[[a-z_]*\] spinlock: 300 lock hand-offs in \([0-9]*\) guest TSC.*/\1/p' \
		"$work/$1.serial" | head -1
}
ple=$(handoff spinlock) nople=$(handoff spinlock_nople)
if [ -n "$ple" ] && [ -n "$nople" ]; then
	awk -v a="$ple" -v b="$nople" 'BEGIN {
		printf "Spinlock, 2 vCPUs on one Bochs CPU, 300 hand-offs: %d guest TSC ticks with PAUSE-loop exiting, %d without: %.2fx faster\n", a, b, b / a
	}'
	grep -h "vm: spinlock[_a-z]*: vCPU [01]: [0-9]* exits" "$work/spinlock.serial" \
		"$work/spinlock_nople.serial" | sed 's/.*vm: /  /'
else
	echo "Spinlock: the guest did not report (see $work/spinlock.serial, $work/spinlock_nople.serial)"
fi

# virtio-blk: a request's round trip and sequential throughput against the datastore path.
sh "$top/tools/bench-virtio.sh"

# Linux: its boot under the hypervisor against the same kernel booted natively, exits by reason.
sh "$top/tools/bench-linux.sh"

# The network: VM-to-VM TCP and ping against loopback inside one VM (docs/networking.md).
sh "$top/tools/bench-net.sh"

# Page sharing: memory reclaimed for N identical Linux VMs (docs/resource-manager.md, Memory).
sh "$top/tools/bench-pshare.sh"

# Density: identical Linux VMs reaching /init per GiB, without and with reclamation
# (docs/resource-manager.md, Density).
sh "$top/tools/bench-density.sh"

# The filesystem: throughput against raw I/O, metadata rates, locks, recovery.
echo "VMFS (host tool on an image file; tests/fs/bench.sh):"
BENCH_MB=${BENCH_MB:-64} sh "$top/tests/fs/bench.sh" 2>&1 | sed 's/^/  /'

# Storage: each driver against a Linux guest on the same device model (tools/storage-bench/run.sh).
sh "$top/tools/storage-bench/run.sh"

size=$(stat -c %s "$elf")
set -- $(size "$elf" | awk 'NR == 2 { print $1, $2, $3 }')
printf 'kernel image: %d bytes ELF (text %d, data %d, bss %d bytes)\n' "$size" "$1" "$2" "$3"
printf 'boot image: %d bytes ISO (GRUB for BIOS and UEFI included)\n' "$(stat -c %s "$iso")"
