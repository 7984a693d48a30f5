#!/bin/sh
# run-qemu.sh [DIR]: run every test guest in DIR (default build/guests)
# directly under QEMU TCG, with no hypervisor underneath, and print one line
# per guest. Checks that need vmkernel report themselves as skipped there.
# QEMU exits with (v << 1) | 1 when the guest writes v to port 0xf4.
# Exits non-zero if any guest did not behave as expected under QEMU.
set -u
dir=${1:-build/guests}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bad=0

# The machine each guest's .vmx describes, as far as QEMU's options can say it.
machine_opts() {
	case $1 in
	lapic | fwcfg) echo "-smp 2" ;;
	acpi) echo "-machine q35 -smp 2" ;;	# q35: an MCFG and ECAM to check
	pci) echo "-machine q35" ;;
	esac
}

run() {
	# shellcheck disable=SC2046
	timeout "$2" qemu-system-x86_64 -accel tcg -cpu max -m 64 $(machine_opts "$3") -kernel "$1" \
		-display none -serial "file:$work/log" -monitor none -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=4 >"$work/qemu.out" 2>&1
}

printf '%-18s %-8s %-32s %s\n' guest status summary verdict
for elf in "$dir"/*.elf; do
	name=$(basename "$elf" .elf)
	img=$elf
	# QEMU's multiboot loader refuses ELF64; hand it the same image as ELF32.
	if [ "$name" = long64 ]; then
		img=$work/long64.elf32
		objcopy -I elf64-x86-64 -O elf32-i386 "$elf" "$img" || bad=1
	fi
	: > "$work/log"
	case $name in
	spinner) run "$img" 5 "$name" ;;
	*) run "$img" 30 "$name" ;;
	esac
	st=$?
	summary=$(grep -a "^$name: [0-9]* passed" "$work/log" | tail -1 | cut -d' ' -f2-)
	fails=$(grep -ac ': FAIL' "$work/log")
	case $name in
	triplefault) want=0 ;;	# -no-reboot: QEMU quits on the reset
	acpi) want=0 ;;		# powers off through PM1a control
	spinner) want=124 ;;	# still spinning when the timeout hits
	*) want=1 ;;		# wrote 0 to port 0xf4
	esac
	case $name in
	triplefault) mark="about to load an empty IDT" ;;
	spinner) mark="spinning with interrupts off" ;;
	*) mark="^$name: [0-9]* passed, 0 failed" ;;
	esac
	verdict=ok
	if [ "$st" != "$want" ] || [ "$fails" != 0 ] || ! grep -aq "$mark" "$work/log"; then
		verdict="UNEXPECTED (want status $want)"
		bad=1
		sed 's/^/    | /' "$work/log" | tail -30
		cat "$work/qemu.out"
	fi
	printf '%-18s %-8s %-32s %s\n' "$name" "$st" "${summary:--}" "$verdict"
done
exit $bad
