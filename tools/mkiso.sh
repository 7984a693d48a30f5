#!/bin/sh
# mkiso.sh OUT.iso KERNEL.elf "CMDLINE" TIMEOUT [MODULE_FILE...]
# A hybrid GRUB image: boots from CD or USB stick (dd it to the device) on
# BIOS and UEFI machines. Extra menu entries pick another serial port or
# more logging without editing anything.
set -eu
out=$1 kernel=$2 cmdline=$3 timeout=$4
shift 4
src=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$src" "$work"' EXIT
mkdir -p "$src/boot/grub"
cp "$kernel" "$src/boot/vmkernel.elf"
mkdir -p "$src/boot/modules"
names=
for m in "$@"; do
	cp "$m" "$src/boot/modules/"
	names="$names $(basename "$m")"
done
# shellcheck disable=SC2086
sh "$(dirname "$0")/grubcfg.sh" "$cmdline" "$timeout" /boot/vmkernel.elf $names \
	> "$src/boot/grub/grub.cfg"
if ! grub-mkrescue -o "$work/image.iso" "$src" >"$work/log" 2>&1; then
	cat "$work/log" >&2
	echo "mkiso: grub-mkrescue failed for $out (its output is above)" >&2
	exit 1
fi
mv "$work/image.iso" "$out"
