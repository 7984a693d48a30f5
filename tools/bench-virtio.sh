#!/bin/sh
# bench-virtio.sh (make bench): virtio-blk figures in Bochs. The virtio_blk test guest
# in its bench mode (tests/guests/virtio_bench.vmx) on the thin disk of the test
# datastore, booted with vdisk.bench=4: the vmkernel first does the same sequential I/O
# on the same VMDK through vdisk.h (vmm/vdev/vdisk_bench.c). Under Bochs the TSC counts
# emulated instructions, so the round trips are path lengths and the MB/s are in
# emulated time: figures to compare with each other, not hardware speeds.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
s=$work/virtio_bench.serial
cp "$top/build/guests/vtest.vmfs" "$work/vtest.vmfs"
sh "$top/tools/mkiso.sh" "$work/vb.iso" "$top/build/vmkernel.elf" \
	"console=com1 test=vm_expectations vdisk.bench=4" 0 \
	"$top/build/guests/virtio_blk.elf" "$top/tests/guests/virtio_bench.vmx" "$work/vtest.vmfs"
sh "$top/tools/run-bochs.sh" "$work/vb.iso" "$s" 2 256 900 || true
if ! grep -q '\[virtio_bench\] virtio_blk: bench: read_4k_rtt' "$s"; then
	echo "virtio-blk in Bochs: the bench guest did not report (its log: tools/bench-virtio.sh)"
	exit 0
fi
g() { sed -n "s/.*\[virtio_bench\] virtio_blk: $1.*/\1/p" "$s" | head -1; }
echo "virtio-blk in Bochs (2 CPUs; guest RDTSC = emulated instructions):"
printf '  notify exit round trip (idle queue, fewest of 16): %s TSC ticks\n' \
	"$(g 'notify round trip \([0-9]*\) TSC')"
printf '  4 KiB read round trip, guest view (notify, I/O world, disk read, MSI-X, HLT wake-up): fewest %s, median %s TSC ticks\n' \
	"$(g 'bench: read_4k_rtt fewest \([0-9]*\) ')" "$(g 'bench: read_4k_rtt fewest [0-9]* median \([0-9]*\) ')"
host=$(sed -n 's/.*vdisk-bench: virtio_bench: scsi0:0: seq_write \([0-9]*\) bytes in \([0-9]*\) ns, seq_read [0-9]* bytes in \([0-9]*\) ns.*/\1 \2 \3/p' "$s" | head -1)
raw=$(sed -n 's/.*vdisk-bench: virtio_bench: scsi0:0: raw_write \([0-9]*\) bytes in \([0-9]*\) ns, raw_read [0-9]* bytes in \([0-9]*\) ns.*/\1 \2 \3/p' "$s" | head -1)
echo "  sequential I/O, 64 KiB requests one at a time, MB/s of emulated time: the guest through"
echo "  virtio-blk / the vmkernel on the same VMDK / the datastore's raw device (the same bytes"
echo "  at its end, read and written back), and the guest's share of each:"
for op in write read; do
	gl=$(sed -n "s/.*\[virtio_bench\] virtio_blk: bench: seq_$op \([0-9]*\) bytes in \([0-9]*\) TSC ticks at \([0-9]*\) Hz.*/\1 \2 \3/p" "$s" | head -1)
	echo "$op ${gl:-x x x} ${host:-x x x} ${raw:-x x x}" | awk '
	function rate(b, ns) { return (ns + 0 > 0) ? b / (ns / 1e9) / 1e6 : 0 }
	{
		op = $1; gb = $2; gt = $3; hz = $4
		hb = $5; hns = (op == "write") ? $6 : $7
		rb = $8; rns = (op == "write") ? $9 : $10
		if (gt + 0 == 0 || hz + 0 == 0) { printf "    %s: no figure from the guest\n", op; exit }
		g = gb / (gt / hz) / 1e6; h = rate(hb, hns); r = rate(rb, rns)
		printf "    %s, %d MiB: %.2f / %.2f / %.2f MB/s; guest/VMDK %s, guest/raw %s\n", op,
			gb / 1048576, g, h, r, h ? sprintf("%.2f", g / h) : "-", r ? sprintf("%.2f", g / r) : "-"
	}'
done
