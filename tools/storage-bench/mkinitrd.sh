#!/bin/sh
# mkinitrd.sh OUT.cpio.gz KERNEL_DIR BUSYBOX BLKBENCH
# The Linux guest of make bench's storage figures: a busybox initramfs with
# the storage modules of the Debian kernel unpacked in KERNEL_DIR (and
# their dependencies, read from each module's .modinfo), blkbench, and an
# /init that loads them, waits for bench.dev= and runs blkbench on it.
set -eu
out=$1 kdir=$2 busybox=$3 blkbench=$4
ver=$(ls "$kdir/lib/modules")
mods=$kdir/lib/modules/$ver/kernel
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/mods"
cp "$busybox" "$root/bin/busybox"
cp "$blkbench" "$root/blkbench"

find_mod() {
	find "$mods" -name "$(echo "$1" | tr - _).ko" -o -name "$(echo "$1" | tr _ -).ko" | head -1
}
deps_of() {
	objcopy -O binary --only-section=.modinfo "$1" /dev/stdout 2>/dev/null | tr '\0' '\n' |
		sed -n 's/^depends=//p' | tr , ' '
}
: > "$root/mods/order"
visit() {
	f=$(find_mod "$1")
	[ -n "$f" ] || return 0
	b=$(basename "$f")
	grep -qx "$b" "$root/mods/order" && return 0
	for d in $(deps_of "$f"); do
		visit "$d"
	done
	f=$(find_mod "$1")
	b=$(basename "$f")
	grep -qx "$b" "$root/mods/order" || { cp "$f" "$root/mods/"; echo "$b" >> "$root/mods/order"; }
}
for m in virtio_pci virtio_blk virtio_scsi nvme ahci ata_piix vmw_pvscsi megaraid_sas sd_mod; do
	visit "$m"
done

cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /mods/order); do insmod "/mods/$m" 2>/dev/null; done
dev=$(sed -n 's/.*bench.dev=\([^ ]*\).*/\1/p' /proc/cmdline)
mb=$(sed -n 's/.*bench.mb=\([0-9]*\).*/\1/p' /proc/cmdline)
i=0
while [ ! -b "$dev" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if [ -b "$dev" ]; then /blkbench "$dev" "$mb"; else echo "linux-bench: failed: no $dev"; fi
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null) | gzip -1 > "$out"
