#!/bin/sh
# mklinux.sh OUTDIR: the Linux test guest from Debian's packages.
#   OUTDIR/vmlinuz      Debian's distribution kernel (linux-image-amd64's
#                       dependency), unmodified
#   OUTDIR/initrd.gz    busybox-static and tests/linux/init in an initramfs
#   OUTDIR/workload.md5 the checksum /init's workload must print
# The .deb files are cached in OUTDIR/debs; nothing is installed on the host.
set -eu
out=$(mkdir -p "$1" && cd "$1" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out/debs"
cd "$out/debs"
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -1)
if [ -z "$kpkg" ]; then
	echo "mklinux: cannot resolve linux-image-amd64 (run apt-get update)" >&2
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
mkdir -p "$work/root/bin" "$work/root/proc" "$work/root/sys" "$work/root/dev" "$work/root/tmp"
cp "$work/bb/bin/busybox" "$work/root/bin/busybox"
cp "$top/tests/linux/init" "$work/root/init"
chmod 755 "$work/root/init" "$work/root/bin/busybox"
(cd "$work/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9n) > "$out/initrd.gz.tmp"
seq 1 30000 | md5sum | awk '{print $1}' > "$out/workload.md5"
echo "$kpkg" > "$out/kernel-package"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
mv "$out/initrd.gz.tmp" "$out/initrd.gz"
