#!/bin/sh
# grubcfg.sh "CMDLINE" TIMEOUT KERNEL_PATH [MODULE_NAME...]: the GRUB menu shared by the
# ISO/USB image and PXE. Each module (a VM config or guest image) is loaded from
# /boot/modules/NAME and handed to the kernel under NAME.
set -eu
cmdline=$1 timeout=$2 kernel=$3
shift 3
mods=
for m in "$@"; do
	mods="$mods    module2 /boot/modules/$m $m
"
done
cat <<CFG
set timeout=$timeout
set default=0
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
# UEFI: keep the firmware's graphics mode (GOP) and hand it to the kernel.
# BIOS: stay in VGA text mode; the kernel asks for a framebuffer only as an option.
if [ "\${grub_platform}" = "efi" ]; then
    insmod efi_gop
    insmod efi_uga
    set gfxpayload=keep
else
    set gfxpayload=text
fi
export gfxpayload
menuentry "vmkernel" {
    multiboot2 $kernel $cmdline
$mods    boot
}
menuentry "vmkernel (debug logging)" {
    multiboot2 $kernel $cmdline loglevel=4
$mods    boot
}
menuentry "vmkernel (serial console on COM2)" {
    multiboot2 $kernel console=com2,screen
$mods    boot
}
menuentry "vmkernel (one CPU)" {
    multiboot2 $kernel $cmdline maxcpus=1
$mods    boot
}
CFG
