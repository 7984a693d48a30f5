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

ds() {		# ds FILE LABEL [BLOCK_SIZE] [EXTRA_MB] [SIZE] [LEASE_S]: a disk with datastore LABEL
	LEASE_S=${6:-} sh "$top/tools/mkdatastore.sh" "$work/$1" "${5:-40m}" "$2" "${3:-512}" "${4:-}" ||
		fail "cannot make disk image $1"
}

blkdebug() {	# blkdebug ID FILE CONF [OPTIONS]: a drive whose errors CONF injects
	printf -- '-drive if=none,id=%s,format=raw,file.driver=blkdebug,file.config=%s,file.image.filename=%s%s ' \
		"$1" "$work/$3" "$work/$2" "${4:+,$4}"
}

drive() {	# drive ID FILE [OPTIONS]: a raw -drive for a -device to use
	printf -- '-drive if=none,id=%s,file=%s,format=raw,cache=writeback%s ' "$1" "$work/$2" "${3:+,$3}"
}

# ---- multihost: three hosts on one LUN, one killed mid-write ----
multihost() {
	lease=10
	ds shared.img ds-shared 512 "" 64m $lease
	for h in hosta hostb hostc; do
		# Each host its own image: the hostname differs (the identity differs anyway).
		sh "$top/tools/mkiso.sh" "$work/$h.iso" "$top/build/vmkernel.elf" \
			"console=com1 hostname=$h storage.multihost=ds-shared:hostc" 0 ||
			fail "cannot make the boot image"
		: > "$out/$name.$h.serial"
		# sh records its pid and becomes QEMU (exec), so the kill below hits QEMU itself.
		timeout -k 5 "$tmo" sh -c 'echo $$ > "$0"; exec "$@"' "$work/$h.pid" \
			qemu-system-x86_64 -machine pc -accel tcg -cpu max -smp 1 -m 192 \
			-display none -serial "file:$out/$name.$h.serial" -monitor none -no-reboot -boot d \
			-device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$work/$h.iso" \
			-drive if=none,id=lun,file="$work/shared.img",format=raw,file.locking=off \
			-device virtio-blk-pci,drive=lun,serial=SHARED-LUN,share-rw=on \
			> "$out/$name.$h.emulator" 2>&1 &
		eval "pid_$h=\$!"
	done
	# Kill hostc's emulator once it has acknowledged a few operations: it is writing.
	i=0
	while ! grep -q "multihost: ack hostc 4 " "$out/$name.hostc.serial" && [ $i -lt $((tmo * 10)) ]; do
		kill -0 "$pid_hostc" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	kill -9 "$(cat "$work/hostc.pid")" 2>/dev/null
	wait "$pid_hostc" 2>/dev/null
	grep -q "multihost: ack hostc 4 " "$out/$name.hostc.serial" ||
		{ cat "$out/$name.hostc.serial" > "$log"; fail "hostc never acknowledged 4 operations"; }
	wait "$pid_hosta"; st_a=$?
	wait "$pid_hostb"; st_b=$?
	cat "$out/$name.hosta.serial" "$out/$name.hostb.serial" "$out/$name.hostc.serial" > "$log"
	[ "$st_a" -eq 124 ] || [ "$st_b" -eq 124 ] && fail "a surviving host timed out"
	for h in hosta hostb; do
		grep -q "multihost: $h took over /shared/hostc.lock" "$log" ||
			fail "$h never broke the dead host's lock"
		grep -q "multihost: $h done" "$log" || fail "$h did not finish"
	done
	[ "$st_a" -eq 1 ] && [ "$st_b" -eq 1 ] || fail "survivors' exit status $st_a/$st_b, expected 1/1"
	for h in hosta hostb hostc; do
		grep -q "datastore: mounted /vmfs/volumes/ds-shared .*heartbeat slot" \
			"$out/$name.$h.serial" || fail "$h did not mount the shared datastore"
	done
	slots=$(sed -n 's/.*mounted \/vmfs\/volumes\/ds-shared .*heartbeat slot \([0-9]*\) of.*/\1/p' "$log" |
		sort -u | wc -l)
	[ "$slots" -eq 3 ] || fail "the three hosts did not get three heartbeat slots"
	# From Linux: the volume is consistent and every acknowledged operation is there.
	"$top/build/mkdisk" extract "$work/shared.img" 1 "$work/vol.img" >/dev/null ||
		fail "cannot extract the VMFS partition"
	"$top/build/vmkfstools" "$work/vol.img" fsck > "$work/fsck.out" 2>&1 ||
		{ sed 's/^/    | /' "$work/fsck.out"; fail "vmkfstools fsck found problems"; }
	acks=0
	tr -d '\r' < "$log" |
		sed -n 's/.*multihost: ack \([a-z]*\) \([0-9]*\) \([0-9]*\)$/\1 \2 \3/p' > "$work/acks"
	while read -r h n bytes; do
		"$top/build/vmkfstools" "$work/vol.img" cat "/shared/$h-$n.dat" > "$work/f" 2>/dev/null ||
			fail "acknowledged /shared/$h-$n.dat is missing"
		[ "$(wc -c < "$work/f")" -eq "$bytes" ] || fail "/shared/$h-$n.dat has the wrong size"
		[ "$(sort -u "$work/f")" = "$(printf '%-31s' "$h-$n" | tr ' ' .)" ] ||
			fail "/shared/$h-$n.dat has the wrong contents"
		acks=$((acks + 1))
	done < "$work/acks"
	[ "$acks" -ge 28 ] || fail "only $acks acknowledged operations (expected 2 x 12 + at least 4)"
	echo "PASS $name (3 hosts, hostc killed after $(grep -c 'ack hostc' "$log") operations, $acks verified from Linux)"
	exit 0
}
[ "$profile" = multihost ] && multihost

machine=pc
tests=pci_enumeration,storage_datastores,storage_provisioning
extra=
args=
labels=
bochs_extra=
pull_after=
pull_drive=
case $profile in
disks-a)
	# q35: AHCI (the chipset's), 2 disks, one with a WWN (naa. identifier);
	# NVMe with two namespaces (LUNs 0 and 1, eui. names); virtio-blk (MSI-X queues).
	# A scratch partition beside some datastores is for UNMAP and WRITE SAME.
	machine=q35
	ds a0.img ds-ahci0 512 4
	ds a1.img ds-ahci1
	ds n1.img ds-nvme1 512 4
	ds n2.img ds-nvme2
	ds v0.img ds-vblk 512 4
	args="$(drive a0 a0.img) -device ide-hd,drive=a0,bus=ide.0,wwn=0x5000c500a1b2c3d4
	      $(drive a1 a1.img) -device ide-hd,drive=a1,bus=ide.1,serial=AHCI-SECOND
	      -device nvme,id=nvme0,serial=NVME0001
	      $(drive n1 n1.img) -device nvme-ns,bus=nvme0,drive=n1,nsid=1,eui64=0x0011223344556677
	      $(drive n2 n2.img) -device nvme-ns,bus=nvme0,drive=n2,nsid=2,eui64=0x0011223344556688
	      $(drive v0 v0.img) -device virtio-blk-pci,drive=v0,serial=VBLK0001"
	labels="ds-ahci0 ds-ahci1 ds-nvme1 ds-nvme2 ds-vblk"
	;;
disks-b)
	# pc: virtio-scsi (two LUNs of one target, and a 4Kn disk), PVSCSI, MegaRAID
	# SAS 2108 and the PIIX IDE disk beside the CD-ROM; scratch partitions for
	# UNMAP and WRITE SAME.
	ds s0.img ds-vscsi0 512 4
	ds s1.img ds-vscsi1
	ds s4k.img ds-4kn 4096 4
	ds p0.img ds-pvscsi 512 4
	ds m0.img ds-mega 512 4
	ds i0.img ds-ide 512 4
	args="-device virtio-scsi-pci,id=vs0
	      $(drive s0 s0.img) -device scsi-hd,bus=vs0.0,drive=s0,scsi-id=0,lun=0,serial=VS-L0
	      $(drive s1 s1.img) -device scsi-hd,bus=vs0.0,drive=s1,scsi-id=0,lun=3,serial=VS-L3
	      $(drive s4k s4k.img) -device scsi-hd,bus=vs0.0,drive=s4k,scsi-id=5,serial=VS-4KN,logical_block_size=4096,physical_block_size=4096
	      -device pvscsi,id=pv0
	      $(drive p0 p0.img) -device scsi-hd,bus=pv0.0,drive=p0,scsi-id=1,wwn=0x5000c50000001111
	      -device megasas-gen2,id=mg0
	      $(drive m0 m0.img) -device scsi-hd,bus=mg0.0,drive=m0,scsi-id=2,serial=MEGA0001
	      -drive if=ide,index=0,file=$work/i0.img,format=raw"
	labels="ds-vscsi0 ds-vscsi1 ds-4kn ds-pvscsi ds-mega ds-ide"
	;;
disks-faults)
	# Faults, each named while the rest carries on: sectors that fail to read
	# (QEMU blkdebug) under a volume's header; a volume with a damaged header; a
	# disk that disappears after its volume was mounted (every I/O then answers
	# MEDIUM NOT PRESENT); controllers with nothing attached; one healthy disk.
	ds ok.img ds-ok
	ds bad.img ds-badsect
	ds cor.img ds-corrupt
	ds gone.img ds-gone 512 "" 40m 8
	# The VMFS partition starts at block 2048; its header is there.
	printf 'garbage instead of a volume header' |
		dd of="$work/cor.img" bs=512 seek=2048 conv=notrunc 2>/dev/null
	printf '[inject-error]\nevent = "read_aio"\nerrno = "5"\nsector = "2048"\n' > "$work/bad.conf"
	args="$(drive ok ok.img) -device virtio-blk-pci,drive=ok,serial=OK
	      $(blkdebug bad bad.img bad.conf) -device virtio-blk-pci,drive=bad,serial=BADSECT
	      $(drive cor cor.img) -device virtio-blk-pci,drive=cor,serial=CORRUPT
	      -device virtio-scsi-pci,id=vs0
	      $(drive gone gone.img) -device scsi-hd,bus=vs0.0,drive=gone,scsi-id=4,serial=GONE
	      -device virtio-scsi-pci,id=vs1
	      -device nvme,serial=EMPTY"
	# Once ds-gone is mounted, its disk is pulled (QEMU monitor: drive_del).
	pull_after="datastore: mounted /vmfs/volumes/ds-gone " pull_drive=gone
	labels="ds-ok"
	tests=storage_datastores
	extra="storage.expect_fail=ds-gone"
	;;
disks-ide)
	# Bochs (the VT-x test machine): a disk on the PIIX IDE beside the CD-ROM.
	ds b0.img ds-bochs 512 "" 63m
	bochs_extra="ata0-slave: type=disk, path=$work/b0.img, mode=flat, cylinders=128, heads=16, spt=63"
	labels="ds-bochs"
	;;
*) fail "unknown storage profile '$profile'" ;;
esac

iso=$work/case.iso
sh "$top/tools/mkiso.sh" "$iso" "$top/build/vmkernel.elf" "console=com1,screen test=$tests $extra" 0 ||
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
	if [ -z "$pull_after" ]; then
		# shellcheck disable=SC2086
		timeout -k 5 "$tmo" qemu-system-x86_64 "$@" $args >"$log.emulator" 2>&1
		return
	fi
	# A disk is pulled mid-run through the monitor on a pair of FIFOs.
	mkfifo "$work/mon.in" "$work/mon.out"
	set -- "$@" -monitor "pipe:$work/mon"
	# shellcheck disable=SC2086
	timeout -k 5 "$tmo" qemu-system-x86_64 "$@" $args >"$log.emulator" 2>&1 &
	qpid=$!
	# Opened read-write, so neither open waits for a QEMU that may already have died.
	exec 7<>"$work/mon.in" 8<>"$work/mon.out"
	cat <&8 > "$work/mon.log" &
	catpid=$!
	i=0
	while ! grep -q "$pull_after" "$log" && [ $i -lt $((tmo * 10)) ] && kill -0 $qpid 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q "$pull_after" "$log" && echo "drive_del $pull_drive" >&7
	wait $qpid
	st=$?
	kill $catpid 2>/dev/null
	return $st
}

case $emu in
qemu)
	qemu_run; status=$?; exec 7>&- 8<&- 2>/dev/null
	# QEMU itself dying of a signal (SIGSEGV, SIGABRT) is an emulator bug, not
	# a result of the test: say so, keep its logs, and run the case once more.
	if [ "$status" -gt 128 ] && [ "$status" -ne 137 ]; then
		echo "note $name: QEMU itself died of signal $((status - 128)): $(tail -1 "$log.emulator"); running the case once more"
		cp "$log" "$log.crashed"; cp "$log.emulator" "$log.emulator.crashed"
		rm -f "$work/mon.in" "$work/mon.out"
		qemu_run; status=$?; exec 7>&- 8<&- 2>/dev/null
	fi
	# The kernel ends every storage run through the debug-exit port (status 1 or 3);
	# anything else (0: a triple fault or reset under -no-reboot) ended it early.
	case $status in
	1 | 3 | 124) ;;
	*) fail "QEMU ended with status $status before the tests finished: $(tail -3 "$log.emulator" | tr '\n' ' ')" ;;
	esac ;;
bochs) BOCHS_EXTRA=$bochs_extra sh "$top/tools/run-bochs.sh" "$iso" "$log" "$cpus" "$mem" "$tmo"
	status=$?
	[ "$status" -eq 124 ] || status=1 ;;	# Bochs's own status says nothing; the log does
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
	# UNMAP -> TRIM (AHCI), Dataset Management (NVMe), DISCARD (virtio-blk); WRITE SAME
	# -> Write Zeroes / WRITE_ZEROES: each checked on the disk's scratch partition.
	want "provisioning: naa.5000c500a1b2c3d4: no WRITE SAME \(VPD 0xb0\), UNMAP of 16 blocks done" \
		"UNMAP (TRIM) on the AHCI disk was not done and checked"
	want "provisioning: eui.0011223344556677: WRITE SAME zeroed 32 blocks, UNMAP of 16 blocks done" \
		"WRITE SAME (Write Zeroes) and UNMAP (deallocate) on NVMe were not done and checked"
	want "provisioning: t10.VirtIO__Block_Device____VBLK0001: WRITE SAME zeroed 32 blocks, UNMAP of 16 blocks done" \
		"WRITE SAME (WRITE_ZEROES) and UNMAP (DISCARD) on virtio-blk were not done and checked"
	;;
disks-b)
	want "pci: .* 1af4:1004 SCSI -> virtio_scsi" "virtio-scsi was not bound"
	want "scsi: vmhba[0-9]+:C0:T0:L0: disk 'QEMU QEMU HARDDISK' t10.QEMU_QEMU_HARDDISK_VS-L0" \
		"virtio-scsi LUN 0 not listed"
	want "scsi: vmhba[0-9]+:C0:T0:L3: disk 'QEMU QEMU HARDDISK' t10.QEMU_QEMU_HARDDISK_VS-L3" \
		"virtio-scsi LUN 3 (found by REPORT LUNS) not listed"
	want "scsi: vmhba[0-9]+:C0:T5:L0: disk .*\(10240 x 4096 B\)" \
		"the 4Kn disk is not listed with 4096-byte blocks"
	want "datastore: .*VS-4KN:1: 4Kn disk: 512-byte sectors are emulated" "the 4Kn warning is missing"
	want "pci: .* 15ad:07c0 SCSI -> pvscsi" "PVSCSI was not bound"
	want "scsi: vmhba[0-9]+:C0:T1:L0: disk 'QEMU QEMU HARDDISK' naa.5000c50000001111" \
		"the PVSCSI disk is not listed as naa.5000c50000001111"
	want "pci: .* 1000:0079 RAID -> megasas" "MegaRAID was not bound"
	want "scsi: vmhba[0-9]+:C0:T2:L0: disk 'QEMU QEMU HARDDISK' t10.QEMU_QEMU_HARDDISK_MEGA0001" \
		"the MegaRAID disk is not listed"
	want "pci: 0000:00:01.1 8086:7010 IDE -> ata_piix" "the PIIX IDE controller was not bound"
	want "ata_piix: .* secondary master: ATAPI device" "the CD-ROM was not recognised as ATAPI"
	want "scsi: vmhba[0-9]+:C0:T0:L0: disk 'ATA QEMU HARDDISK' t10.ATA_____QEMU_HARDDISK___QM00001" \
		"the IDE disk is not listed"
	want "provisioning: t10.ATA_____QEMU_HARDDISK___QM00001: no WRITE SAME \(VPD 0xb0\), UNMAP of 16 blocks done" \
		"UNMAP (TRIM) on the IDE disk was not done and checked"
	# SCSI disks get UNMAP and WRITE SAME as they are; the test must run on each.
	for id in t10.QEMU_QEMU_HARDDISK_VS-L0 t10.QEMU_QEMU_HARDDISK_VS-4KN naa.5000c50000001111 \
		t10.QEMU_QEMU_HARDDISK_MEGA0001; do
		want "provisioning: $id: .*kept their data" "UNMAP/WRITE SAME were not checked on $id"
	done
	;;
disks-faults)
	want "READ\(16\) of [0-9]+ blocks at LBA 2048 failed: CHECK CONDITION: MEDIUM ERROR" \
		"the failing sector was not named"
	want "datastore: t10.VirtIO__Block_Device____BADSECT:1 \('ds-badsect'\): not mounted: " \
		"the volume on failing sectors was not named as not mounted"
	want "datastore: t10.VirtIO__Block_Device____CORRUPT:1 \('ds-corrupt'\): not mounted: no VMFS" \
		"the corrupt volume was not named as not mounted"
	want "datastore: mounted /vmfs/volumes/ds-gone " "the disk that goes away was not mounted first"
	want "MEDIUM NOT PRESENT" "the vanished disk's errors were not named"
	want "datastore: /vmfs/volumes/ds-gone: .*\(expected: its device fails\)" \
		"the vanished disk's datastore did not fail in the in-kernel test"
	want "nvme: .* 0 namespace\(s\)" "the NVMe controller without namespaces was not reported"
	grep -Eq "datastore: mounted /vmfs/volumes/(ds-badsect|ds-corrupt) " "$log" &&
		fail "a broken volume was mounted"
	;;
disks-ide)
	want "ata_piix: .* primary master: ATAPI device" "the Bochs CD-ROM was not recognised as ATAPI"
	want "ata_piix: .* primary slave: '.*' serial " "the Bochs IDE disk was not found"
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
