#!/bin/sh
# mkpxe.sh DIR KERNEL.elf "CMDLINE": a TFTP root for network boot.
#   BIOS PXE clients boot  boot/grub/i386-pc/core.0
#   UEFI PXE clients boot  boot/grub/x86_64-efi/core.efi
# GRUB then reads boot/grub/grub.cfg and the kernel over TFTP.
set -eu
dir=$1 kernel=$2 cmdline=$3
mkdir -p "$dir/boot/grub"
grub-mknetdir --net-directory="$dir" --subdir=boot/grub \
	-d /usr/lib/grub/i386-pc >/dev/null 2>&1
grub-mknetdir --net-directory="$dir" --subdir=boot/grub \
	-d /usr/lib/grub/x86_64-efi >/dev/null 2>&1
cp "$kernel" "$dir/boot/vmkernel.elf"
sh "$(dirname "$0")/grubcfg.sh" "$cmdline" 3 /boot/vmkernel.elf > "$dir/boot/grub/grub.cfg"
echo "PXE tree in $dir: BIOS bootfile boot/grub/i386-pc/core.0, UEFI bootfile boot/grub/x86_64-efi/core.efi"
