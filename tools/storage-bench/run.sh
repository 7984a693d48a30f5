#!/bin/sh
# run.sh: make bench's storage figures. For each driver, the same blank
# 64 MiB image on the same QEMU device model is measured twice in this
# run: by the vmkernel (storage.bench=48) and by a Linux guest (Debian's
# kernel, tools/storage-bench/blkbench.c) doing the same I/O: sequential
# write/read in 1 MiB transfers, 4 KiB random reads at queue depth 1 and
# 32. Prints both and the vmkernel/Linux ratio (above 1: the vmkernel is
# faster). QEMU TCG, 1 vCPU, both sides.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=$top/build/storage-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mb=48
mkdir -p "$cache"

# The Linux guest: Debian's kernel and busybox, downloaded once (apt-get download).
linux_guest() {
	[ -f "$cache/initrd.gz" ] && [ -f "$cache/vmlinuz" ] && return 0
	(cd "$cache" && apt-get download busybox-static linux-image-amd64 >/dev/null 2>&1) || return 1
	kpkg=$(dpkg-deb -f "$cache"/linux-image-amd64_*.deb Depends | sed 's/ (.*//')
	(cd "$cache" && apt-get download "$kpkg" >/dev/null 2>&1) || return 1
	rm -rf "$cache/k" "$cache/bb"
	dpkg-deb -x "$cache/$kpkg"_*.deb "$cache/k" && dpkg-deb -x "$cache"/busybox-static_*.deb "$cache/bb" ||
		return 1
	gcc -static -O2 -Wall -Wextra -o "$cache/blkbench" "$top/tools/storage-bench/blkbench.c" || return 1
	sh "$top/tools/storage-bench/mkinitrd.sh" "$cache/initrd.gz" "$cache/k" "$cache/bb/bin/busybox" \
		"$cache/blkbench" || return 1
	cp "$cache"/k/boot/vmlinuz-* "$cache/vmlinuz"
}

# devices DRIVER: machine, QEMU device options for the bench image, and Linux's name for it.
devices() {
	img=$work/bench.img
	case $1 in
	ahci) machine=q35 linuxdev=/dev/sda
		dev="-drive if=none,id=b,file=$img,format=raw -device ide-hd,drive=b,bus=ide.0" ;;
	nvme) machine=pc linuxdev=/dev/nvme0n1
		dev="-drive if=none,id=b,file=$img,format=raw -device nvme,drive=b,serial=BENCH" ;;
	virtio_blk) machine=pc linuxdev=/dev/vda
		dev="-drive if=none,id=b,file=$img,format=raw -device virtio-blk-pci,drive=b" ;;
	virtio_scsi) machine=pc linuxdev=/dev/sda
		dev="-drive if=none,id=b,file=$img,format=raw -device virtio-scsi-pci,id=h -device scsi-hd,bus=h.0,drive=b" ;;
	pvscsi) machine=pc linuxdev=/dev/sda
		dev="-drive if=none,id=b,file=$img,format=raw -device pvscsi,id=h -device scsi-hd,bus=h.0,drive=b" ;;
	megasas) machine=pc linuxdev=/dev/sda
		dev="-drive if=none,id=b,file=$img,format=raw -device megasas-gen2,id=h -device scsi-hd,bus=h.0,drive=b" ;;
	ata_piix) machine=pc linuxdev=/dev/sda
		dev="-drive if=ide,index=0,file=$img,format=raw" ;;
	esac
}

field() {	# field NAME LINE: the number after NAME
	echo "$2" | sed -n "s/.* $1 \([0-9.]*\).*/\1/p"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'
}

if ! linux_guest; then
	echo "storage: skipped: Debian's kernel or busybox-static could not be downloaded with apt-get"
	exit 0
fi
sh "$top/tools/mkiso.sh" "$work/bench.iso" "$top/build/vmkernel.elf" "console=com1 storage.bench=$mb" 0 ||
	exit 1
printf 'storage (QEMU TCG, 1 vCPU, %d MiB region; vmkernel / Linux %s, ratio > 1: vmkernel faster):\n' \
	"$mb" "$(basename "$(ls "$cache"/k/lib/modules)")"
printf '  %-12s %-22s %-22s %-24s %-24s\n' driver "seq write MB/s" "seq read MB/s" \
	"4K rand read QD1 IOPS" "4K rand read QD32 IOPS"
for drv in ahci nvme virtio_blk virtio_scsi pvscsi megasas ata_piix; do
	devices "$drv"
	rm -f "$work/bench.img"
	truncate -s 64M "$work/bench.img"
	# shellcheck disable=SC2086
	timeout -k 5 300 qemu-system-x86_64 -machine $machine -accel tcg -cpu max -smp 1 -m 256 \
		-display none -serial "file:$work/ours.log" -monitor none -no-reboot -boot d \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$work/bench.iso" $dev >/dev/null 2>&1
	ours=$(tr -d '\r' < "$work/ours.log" | grep "storage-bench: $drv " | head -1)
	# shellcheck disable=SC2086
	timeout -k 5 300 qemu-system-x86_64 -machine $machine -accel tcg -cpu max -smp 1 -m 512 \
		-display none -serial "file:$work/linux.log" -monitor none -no-reboot \
		-kernel "$cache/vmlinuz" -initrd "$cache/initrd.gz" \
		-append "console=ttyS0 quiet bench.dev=$linuxdev bench.mb=$mb" $dev >/dev/null 2>&1
	linux=$(tr -d '\r' < "$work/linux.log" | grep "linux-bench: seqwrite" | head -1)
	if [ -z "$ours" ] || [ -z "$linux" ]; then
		printf '  %-12s no figures (vmkernel: %s; Linux: %s)\n' "$drv" "${ours:-none}" "${linux:-none}"
		continue
	fi
	line="  $(printf '%-12s' "$drv")"
	for f in seqwrite seqread randread-qd1 randread-qd32; do
		a=$(field "$f" "$ours") b=$(field "$f" "$linux")
		line="$line $(printf '%-24s' "$a/$b=$(ratio "$a" "$b")")"
	done
	echo "$line"
done
