#!/bin/sh
# mkiso.sh OUT.iso KERNEL.elf "CMDLINE" TIMEOUT
# A hybrid GRUB image: boots from CD or USB stick (dd it to the device) on
# BIOS and UEFI machines. Extra menu entries pick another serial port or
# more logging without editing anything.
set -eu
out=$1 kernel=$2 cmdline=$3 timeout=$4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/boot/grub"
cp "$kernel" "$dir/boot/vmkernel.elf"
sh "$(dirname "$0")/grubcfg.sh" "$cmdline" "$timeout" /boot/vmkernel.elf > "$dir/boot/grub/grub.cfg"
grub-mkrescue -o "$out.tmp" "$dir" >"$dir/log" 2>&1 || { cat "$dir/log" >&2; exit 1; }
mv "$out.tmp" "$out"
