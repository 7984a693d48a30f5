#!/bin/sh
# run.sh ISO: boot the hypervisor in an emulator with its serial console on
# this terminal. Picks QEMU with KVM when this host's KVM can give a guest
# VT-x (an Intel CPU with nested virtualization on), otherwise Bochs, which
# emulates VT-x. RUN_EMULATOR=qemu-kvm|qemu-tcg|bochs overrides the choice;
# RUN_CPUS and RUN_MEM_MB size the machine; RUN_TIMEOUT ends the run after
# that many seconds (default: run until Ctrl-C).
set -eu
iso=$1
cpus=${RUN_CPUS:-2}
mem=${RUN_MEM_MB:-1024}
tmo=${RUN_TIMEOUT:-0}

kvm_with_vmx() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || { why="no usable /dev/kvm"; return 1; }
	grep -q '^flags.* vmx' /proc/cpuinfo || { why="the host CPU has no VT-x (not an Intel CPU, or VT-x hidden)"; return 1; }
	nested=$(cat /sys/module/kvm_intel/parameters/nested 2>/dev/null || echo N)
	case $nested in
	Y|y|1) return 0 ;;
	*) why="kvm_intel nested virtualization is off (modprobe kvm_intel nested=1)"; return 1 ;;
	esac
}

emu=${RUN_EMULATOR:-}
if [ -z "$emu" ]; then
	if kvm_with_vmx; then
		emu=qemu-kvm
		echo "run: QEMU with KVM (this host's KVM offers nested VT-x)"
	else
		emu=bochs
		echo "run: Bochs, which emulates VT-x: QEMU/KVM cannot give a guest VT-x here: $why"
	fi
else
	echo "run: $emu (RUN_EMULATOR)"
fi
echo "run: $cpus CPUs, $mem MiB; serial console below. Ctrl-C ends the run."

limit() {
	if [ "$tmo" -gt 0 ]; then timeout -k 5 "$tmo" "$@"; else "$@"; fi
}

case $emu in
qemu-kvm|qemu-tcg)
	accel=kvm cpu=host
	[ "$emu" = qemu-tcg ] && accel=tcg cpu=max
	limit qemu-system-x86_64 -machine pc -accel "$accel" -cpu "$cpu" -smp "$cpus" -m "$mem" \
		-cdrom "$iso" -display none -serial mon:stdio -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=4 || true
	;;
bochs)
	log=$(mktemp)
	trap 'rm -f "$log" "$log.bochs" "$log.stdout"; kill $pid 2>/dev/null || true' EXIT INT TERM
	t=$tmo
	[ "$t" -gt 0 ] || t=2147483
	# A 100 MHz machine: a Linux guest's timer ticks need it (see tests/system/run-case.sh).
	BOCHS_IPS=${BOCHS_IPS:-100000000} sh "$(dirname "$0")/run-bochs.sh" "$iso" "$log" "$cpus" "$mem" "$t" &
	pid=$!
	tail -f "$log" --pid=$pid
	;;
*)
	echo "run: unknown RUN_EMULATOR '$emu' (qemu-kvm, qemu-tcg, bochs)" >&2
	exit 2
	;;
esac
