#!/bin/sh
# storage.sh NAME EMULATOR CPUS MEM_MB BOOT FIRMWARE PROFILE
# Storage system tests (run-case.sh hands the disks-* and multihost
# profiles here). Each profile gives the machine disks holding VMFS
# datastores made by tools/mkdatastore.sh, boots the vmkernel with the
# storage tests, and judges the serial log: every controller bound, every
# disk listed with its name and identifier, every datastore mounted and
# verified by the in-kernel test (write, flush, read back), and faults
# named without stopping the host. Prints "PASS NAME" or "FAIL NAME: why".
set -u
name=$1 emu=$2 cpus=$3 mem=$4 fw=$6 profile=$7
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/system
mkdir -p "$out"
log=$out/$name.serial
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tmo=${SYSTEM_TIMEOUT:-180}
: > "$log"

fail() {
	echo "FAIL $name: $*"
	tail -25 "$log" | sed 's/^/    | /'
	exit 1
}

want() {	# want PATTERN WHAT: the log must match the extended regular expression
	grep -Eq "$1" "$log" || fail "$2"
}

ds() {		# ds FILE LABEL [BLOCK_SIZE] [EXTRA_MB]: a 40 MiB disk with datastore LABEL
	sh "$top/tools/mkdatastore.sh" "$work/$1" 40m "$2" "${3:-512}" "${4:-}" ||
		fail "cannot make disk image $1"
}

drive() {	# drive ID FILE [OPTIONS]: a raw -drive for a -device to use
	printf -- '-drive if=none,id=%s,file=%s,format=raw,cache=writeback%s ' "$1" "$work/$2" "${3:+,$3}"
}

machine=pc
tests=pci_enumeration,storage_datastores
args=
labels=
case $profile in
disks-a)
	# q35: AHCI (the chipset's), 2 disks, one with a WWN (naa. identifier);
	# NVMe with two namespaces (LUNs 0 and 1, eui. names); virtio-blk (MSI-X queues).
	machine=q35
	ds a0.img ds-ahci0 512 4
	ds a1.img ds-ahci1
	ds n1.img ds-nvme1
	ds n2.img ds-nvme2
	ds v0.img ds-vblk
	args="$(drive a0 a0.img) -device ide-hd,drive=a0,bus=ide.0,wwn=0x5000c500a1b2c3d4
	      $(drive a1 a1.img) -device ide-hd,drive=a1,bus=ide.1,serial=AHCI-SECOND
	      -device nvme,id=nvme0,serial=NVME0001
	      $(drive n1 n1.img) -device nvme-ns,bus=nvme0,drive=n1,nsid=1,eui64=0x0011223344556677
	      $(drive n2 n2.img) -device nvme-ns,bus=nvme0,drive=n2,nsid=2,eui64=0x0011223344556688
	      $(drive v0 v0.img) -device virtio-blk-pci,drive=v0,serial=VBLK0001"
	labels="ds-ahci0 ds-ahci1 ds-nvme1 ds-nvme2 ds-vblk"
	;;
*) fail "unknown storage profile '$profile'" ;;
esac

iso=$work/case.iso
sh "$top/tools/mkiso.sh" "$iso" "$top/build/vmkernel.elf" "console=com1,screen test=$tests" 0 ||
	fail "cannot make the boot image"

qemu_run() {
	set -- -machine "$machine" -accel tcg -cpu max -smp "$cpus" -m "$mem" -display none \
		-serial "file:$log" -monitor none -no-reboot -boot d \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$iso"
	if [ "$fw" = uefi ]; then
		cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/vars.fd"
		set -- "$@" -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
			-drive if=pflash,format=raw,file="$work/vars.fd"
	fi
	# shellcheck disable=SC2086
	timeout -k 5 "$tmo" qemu-system-x86_64 "$@" $args >"$log.emulator" 2>&1
}

case $emu in
qemu) qemu_run; status=$? ;;
*) fail "unknown emulator $emu" ;;
esac
[ "$status" -eq 124 ] && fail "timed out after ${tmo}s"
grep -q "PANIC" "$log" && fail "the kernel panicked"

case $profile in
disks-a)
	want "pci: 0000:00:1f.2 8086:2922 SATA AHCI -> ahci" "the AHCI controller was not bound"
	want "scsi: vmhba[0-9]+:C0:T0:L0: disk 'ATA QEMU HARDDISK' naa.5000c500a1b2c3d4, 40 MiB" \
		"the AHCI disk with a WWN is not listed as naa.5000c500a1b2c3d4"
	want "scsi: vmhba[0-9]+:C0:T1:L0: disk 'ATA QEMU HARDDISK' t10.ATA_____QEMU_HARDDISK___AHCI-SECOND" \
		"the second AHCI disk is not listed with its t10. identifier"
	want "naa.5000c500a1b2c3d4: partition 2 'scratch' Linux" \
		"the Linux partition next to the datastore was not listed"
	want "pci: 0000:00:0[0-9a-f].0 1b36:0010 NVMe -> nvme" "the NVMe controller was not bound"
	want "nvme: .*2 namespace\(s\), [0-9]+ I/O queue\(s\) by MSI-X" \
		"NVMe did not come up with 2 namespaces and MSI-X queues"
	want "scsi: vmhba[0-9]+:C0:T0:L0: disk 'NVMe QEMU NVMe Ctrl' eui.0011223344556677" \
		"NVMe namespace 1 is not LUN 0 named eui.0011223344556677"
	want "scsi: vmhba[0-9]+:C0:T0:L1: disk 'NVMe QEMU NVMe Ctrl' eui.0011223344556688" \
		"NVMe namespace 2 is not LUN 1 named eui.0011223344556688"
	want "pci: 0000:00:0[0-9a-f].0 1af4:1001 SCSI -> virtio_blk" "virtio-blk was not bound"
	want "virtio_blk: .*queue\(s\) by MSI-X" "virtio-blk did not use MSI-X"
	want "scsi: vmhba[0-9]+:C0:T0:L0: disk 'VirtIO Block Device' t10.VirtIO__Block_Device____VBLK0001" \
		"the virtio-blk disk is not listed with its serial number"
	;;
esac
for l in $labels; do
	want "datastore: mounted /vmfs/volumes/$l from " "datastore $l was not mounted"
	want "datastore: /vmfs/volumes/$l: wrote, flushed, read back and verified" \
		"datastore $l was not verified by the in-kernel test"
done
n=$(echo $labels | wc -w)
want "ktest: [0-9]+ passed, 0 failed" "in-kernel tests failed: $(grep -o 'ktest: [0-9]* passed.*' "$log")"
[ "$status" -eq 1 ] || fail "QEMU exit status $status, expected 1 (tests passed)"
echo "PASS $name ($n datastores)"
