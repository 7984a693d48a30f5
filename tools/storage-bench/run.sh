#!/bin/sh
# run.sh: make bench's storage figures. For each driver, a blank sparse
# image on the same QEMU device model is measured by the vmkernel
# (storage.bench=MB) and by a Linux guest (Debian's kernel,
# tools/storage-bench/blkbench.c) doing the same I/O: sequential
# write/read in 1 MiB transfers, 4 KiB random reads at queue depth 1 and
# 32. Each side gets a fresh image (so both writes allocate the host file's
# blocks). Prints both and the vmkernel/Linux ratio (above 1: the vmkernel
# is faster). QEMU TCG, 1 vCPU, both sides.
#
# The build machine is shared, so one pair of runs can be off by tens of
# percent: STORAGE_BENCH_RUNS=N (default 3) measures every driver N times,
# round-robin, printing each pair and then, per driver, the median of each
# figure and the median of the ratios (ratios of pairs run back to back).
# STORAGE_BENCH_DRIVERS="nvme ahci" measures only those drivers.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=$top/build/storage-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mb=192
mkdir -p "$cache"

# The Linux guest: Debian's kernel and busybox, downloaded once (apt-get download).
linux_guest() {
	if ! [ -f "$cache/vmlinuz" ] || ! [ -x "$cache/bb/bin/busybox" ]; then
		(cd "$cache" && apt-get download busybox-static linux-image-amd64 >/dev/null 2>&1) || return 1
		kpkg=$(dpkg-deb -f "$cache"/linux-image-amd64_*.deb Depends | sed 's/ (.*//')
		(cd "$cache" && apt-get download "$kpkg" >/dev/null 2>&1) || return 1
		rm -rf "$cache/k" "$cache/bb"
		dpkg-deb -x "$cache/$kpkg"_*.deb "$cache/k" && dpkg-deb -x "$cache"/busybox-static_*.deb "$cache/bb" ||
			return 1
		cp "$cache"/k/boot/vmlinuz-* "$cache/vmlinuz"
		rm -f "$cache/initrd.gz"
	fi
	# The initramfs again whenever the benchmark program or its /init changed.
	[ -f "$cache/initrd.gz" ] && [ "$cache/initrd.gz" -nt "$top/tools/storage-bench/blkbench.c" ] &&
		[ "$cache/initrd.gz" -nt "$top/tools/storage-bench/mkinitrd.sh" ] && return 0
	gcc -static -O2 -Wall -Wextra -o "$cache/blkbench" "$top/tools/storage-bench/blkbench.c" || return 1
	sh "$top/tools/storage-bench/mkinitrd.sh" "$cache/initrd.gz" "$cache/k" "$cache/bb/bin/busybox" \
		"$cache/blkbench"
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
	*) return 1 ;;
	esac
}

field() {	# field NAME LINE: the number after NAME
	echo "$2" | sed -n "s/.* $1 \([0-9.]*\).*/\1/p"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'
}

median() {	# median of the numbers on stdin, one per line
	sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

fresh_image() {
	rm -f "$work/bench.img"
	truncate -s $((mb + 16))M "$work/bench.img"
}

# pair DRIVER: one vmkernel run and one Linux run; prints the line, records the figures.
pair() {
	devices "$1" || { echo "  $1: unknown driver (STORAGE_BENCH_DRIVERS)"; return; }
	fresh_image
	# shellcheck disable=SC2086
	timeout -k 5 300 qemu-system-x86_64 -machine $machine -accel tcg -cpu max -smp 1 -m 256 \
		-display none -serial "file:$work/ours.log" -monitor none -no-reboot -boot d \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$work/bench.iso" $dev >/dev/null 2>&1
	ours=$(tr -d '\r' < "$work/ours.log" | grep "storage-bench: $1 " | head -1)
	fresh_image
	# shellcheck disable=SC2086
	timeout -k 5 300 qemu-system-x86_64 -machine $machine -accel tcg -cpu max -smp 1 -m 512 \
		-display none -serial "file:$work/linux.log" -monitor none -no-reboot \
		-kernel "$cache/vmlinuz" -initrd "$cache/initrd.gz" \
		-append "console=ttyS0 quiet bench.dev=$linuxdev bench.mb=$mb" $dev >/dev/null 2>&1
	linux=$(tr -d '\r' < "$work/linux.log" | grep "linux-bench: seqwrite" | head -1)
	if [ -z "$ours" ] || [ -z "$linux" ]; then
		printf '  %-12s no figures (vmkernel: %s; Linux: %s)\n' "$1" "${ours:-none}" "${linux:-none}"
		return
	fi
	line="  $(printf '%-12s' "$1")"
	for f in seqwrite seqread randread-qd1 randread-qd32; do
		a=$(field "$f" "$ours") b=$(field "$f" "$linux") r=$(ratio "$a" "$b")
		echo "$a $b $r" >> "$work/fig.$1.$f"
		line="$line $(printf '%-24s' "$a/$b=$r")"
	done
	echo "$line"
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
drivers=${STORAGE_BENCH_DRIVERS:-ahci nvme virtio_blk virtio_scsi pvscsi megasas ata_piix}
runs=${STORAGE_BENCH_RUNS:-3}
round=0
while [ $round -lt "$runs" ]; do
	for drv in $drivers; do
		pair "$drv"
	done
	round=$((round + 1))
done
[ "$runs" -gt 1 ] || exit 0
echo "  median of $runs runs (each ratio: the median of the pairs' ratios):"
for drv in $drivers; do
	[ -f "$work/fig.$drv.seqwrite" ] || continue
	line="  $(printf '%-12s' "$drv")"
	for f in seqwrite seqread randread-qd1 randread-qd32; do
		a=$(cut -d' ' -f1 "$work/fig.$drv.$f" | median)
		b=$(cut -d' ' -f2 "$work/fig.$drv.$f" | median)
		r=$(cut -d' ' -f3 "$work/fig.$drv.$f" | grep -v -- - | median)
		line="$line $(printf '%-24s' "$a/$b=$r")"
	done
	echo "$line"
done
