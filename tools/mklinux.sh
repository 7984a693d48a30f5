#!/bin/sh
# mklinux.sh OUTDIR: the Linux test guest from Debian's packages.
#   OUTDIR/vmlinuz      Debian's distribution kernel (linux-image-amd64's
#                       dependency), unmodified
#   OUTDIR/vmlinux.gz   the same kernel decompressed from the bzImage's payload
#                       (an ELF vmlinux), for runs that skip the decompressor
#   OUTDIR/initrd.gz    busybox-static, tests/linux/init and tests/linux/rdtsc
#                       in an initramfs
#   OUTDIR/workload.md5 the checksum /init's workload must print
# The .deb files are cached in OUTDIR/debs; nothing is installed on the host.
set -eu
out=$(mkdir -p "$1" && cd "$1" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out/debs"
cd "$out/debs"
resolve() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -1
}
kpkg=$(ls linux-image-*.deb 2>/dev/null | sed 's/_.*//' | head -1)
[ -n "$kpkg" ] || kpkg=$(resolve)
if [ -z "$kpkg" ] && [ "$(id -u)" -eq 0 ]; then
	apt-get update >/dev/null 2>&1 || true
	kpkg=$(resolve)
fi
if [ -z "$kpkg" ]; then
	echo "mklinux: cannot resolve Debian's linux-image-amd64; run: sudo apt-get update" >&2
	exit 1
fi
for p in "$kpkg" busybox-static; do
	ls ./"$p"_*.deb >/dev/null 2>&1 || apt-get download "$p" >/dev/null 2>&1 || {
		echo "mklinux: apt-get download $p failed (is apt-get update needed?)" >&2
		exit 1
	}
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x ./"$kpkg"_*.deb "$work/k"
dpkg-deb -x ./busybox-static_*.deb "$work/bb"
cp "$work"/k/boot/vmlinuz-* "$out/vmlinuz.tmp"
# The payload (setup header fields payload_offset at 0x248 and payload_length
# at 0x24c, from the protected-mode part's start) is the xz-compressed vmlinux.
hdr() { od -An -tu4 -j "$1" -N 4 "$out/vmlinuz.tmp" | tr -d ' '; }
sects=$(od -An -tu1 -j 497 -N 1 "$out/vmlinuz.tmp" | tr -d ' ')
[ "$sects" -ne 0 ] || sects=4
start=$(( (sects + 1) * 512 + $(hdr 584) ))
dd if="$out/vmlinuz.tmp" bs=4096 iflag=skip_bytes skip="$start" \
	2>/dev/null | xz -dc --single-stream | gzip -1n > "$out/vmlinux.gz.tmp"
mkdir -p "$work/root/bin" "$work/root/proc" "$work/root/sys" "$work/root/dev" "$work/root/tmp"
cp "$work/bb/bin/busybox" "$work/root/bin/busybox"
cp "$top/tests/linux/init" "$work/root/init"
# The virtio block, network, entropy and balloon drivers, ext4 (which mounts the ext2 busybox's
# mke2fs makes) and what they need: modules in Debian's kernel, for /init to load.
mkdir -p "$work/root/lib/modules" "$work/root/mnt"
for m in drivers/virtio/virtio drivers/virtio/virtio_ring drivers/virtio/virtio_pci_legacy_dev \
	drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci drivers/block/virtio_blk \
	drivers/char/hw_random/virtio-rng lib/crc16 fs/mbcache fs/jbd2/jbd2 \
	crypto/crc32c_generic fs/ext4/ext4 net/core/failover drivers/net/net_failover \
	drivers/net/virtio_net drivers/virtio/virtio_balloon; do
	ko=$(ls "$work"/k/lib/modules/*/kernel/$m.ko* 2>/dev/null | head -1)
	[ -n "$ko" ] || { echo "mklinux: the kernel package has no $m module" >&2; exit 1; }
	case $ko in
	*.xz) xz -dc "$ko" > "$work/root/lib/modules/$(basename "$m").ko" ;;
	*) cp "$ko" "$work/root/lib/modules/$(basename "$m").ko" ;;
	esac
done
# rdtsc: /init's boot-time marker (a static program with no C library).
${HOSTCC:-gcc} -static -nostdlib -O2 -fno-stack-protector -fno-pie -no-pie -Wall -Wextra \
	-Werror -o "$work/root/bin/rdtsc" "$top/tests/linux/rdtsc.c"
chmod 755 "$work/root/init" "$work/root/bin/busybox"
(cd "$work/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9n) > "$out/initrd.gz.tmp"
seq 1 30000 | md5sum | awk '{print $1}' > "$out/workload.md5"
echo "$kpkg" > "$out/kernel-package"
if [ "$(gzip -dc "$out/vmlinux.gz.tmp" | head -c 4 | od -An -c | tr -d ' ')" != '177ELF' ]; then
	echo "mklinux: the kernel's payload did not decompress to an ELF vmlinux" >&2
	exit 1
fi
mv "$out/vmlinux.gz.tmp" "$out/vmlinux.gz"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
mv "$out/initrd.gz.tmp" "$out/initrd.gz"
