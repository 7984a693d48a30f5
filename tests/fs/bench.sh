#!/bin/sh
# VMFS figures for `make bench` (reported, never pass/fail). One line each.
#   BUILD=dir (default build); BENCH_MB=n (default 256) for the throughput runs
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$top/build}
mb=${BENCH_MB:-256}
tool=$build/vmkfstools
host=$build/vmfs_host
work=$(mktemp -d "${TMPDIR:-/var/tmp}/vmfsbench.XXXXXX")
trap 'rm -rf "$work"' EXIT
srcs=$(ls "$top"/fs/*.c)

gcc -std=gnu11 -O2 -Wall -Wextra -Werror -I"$top/include" "$top"/tools/vmkfstools/*.c $srcs -o "$tool" || exit 1
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -I"$top/include" -I"$top/tools/vmkfstools" \
	"$top/tests/fs/vmfs_host.c" "$top/tools/vmkfstools/host.c" $srcs -o "$host" || exit 1

now() { date +%s.%N; }
rate() { awk -v b="$1" -v t0="$2" -v t1="$3" 'BEGIN { printf "%.1f", b / 1048576 / (t1 - t0) }'; }

img=$work/vol.img
"$tool" -C vmfs6 -S bench --image-size $((mb * 2 + 512))m --max-hosts 8 --lease-timeout 2 \
	"$img" > /dev/null || exit 1
head -c $((mb * 1048576)) /dev/urandom > "$work/in.bin"
bytes=$((mb * 1048576))

# raw I/O on the same image file (direct I/O, 1 MiB requests, like the tool)
t0=$(now); dd if="$work/in.bin" of="$img" bs=1M seek=$((mb + 256)) conv=notrunc,fdatasync \
	oflag=direct status=none; t1=$(now)
raw_w=$(rate $bytes "$t0" "$t1")
t0=$(now); dd if="$img" of=/dev/null bs=1M skip=$((mb + 256)) count=$mb iflag=direct \
	status=none; t1=$(now)
raw_r=$(rate $bytes "$t0" "$t1")
"$tool" -C vmfs6 -S bench --image-size $((mb * 2 + 512))m --max-hosts 8 --lease-timeout 2 \
	"$img" > /dev/null || exit 1
t0=$(now); "$tool" "$img" cp-in "$work/in.bin" /seq.bin; t1=$(now)
fs_w=$(rate $bytes "$t0" "$t1")
t0=$(now); "$tool" "$img" cp-out /seq.bin "$work/out.bin"; t1=$(now)
fs_r=$(rate $bytes "$t0" "$t1")
echo "vmfs sequential write ($mb MiB, 1 MiB writes + fsync): $fs_w MB/s vs raw $raw_w MB/s (ratio $(awk -v a="$fs_w" -v b="$raw_w" 'BEGIN{printf "%.2f", a/b}'))"
echo "vmfs sequential read ($mb MiB): $fs_r MB/s vs raw $raw_r MB/s (ratio $(awk -v a="$fs_r" -v b="$raw_r" 'BEGIN{printf "%.2f", a/b}'))"

# metadata: create (write 1 byte, fsync, close) + delete pairs
m1=$("$host" bench-meta "$img" meta0 200)
echo "vmfs metadata ops, 1 host: $m1 create+delete pairs/s"
for i in 1 2 3 4; do "$host" bench-meta "$img" meta$i 100 > "$work/m$i" & done
wait
m4=$(cat "$work"/m1 "$work"/m2 "$work"/m3 "$work"/m4 | awk '{ s += $1 } END { printf "%.1f", s }')
echo "vmfs metadata ops, 4 hosts at once: $m4 create+delete pairs/s in total"

lk=$("$host" bench-lock "$img" locker 200)
echo "vmfs file lock acquire (uncontended, Disk Paxos arbitration, no ATS): $lk us"

# death to recovery: a host dies holding a lock; how long until another has it
rm -f "$work/ready"
"$host" hold "$img" victim /victim.dat "$work/ready" > /dev/null 2>&1 &
vp=$!
while [ ! -e "$work/ready" ]; do sleep 0.02; done
kill -9 "$vp"
wait "$vp" 2> /dev/null
t0=$(now)
"$host" put "$img" rescuer /victim.dat "recovered" > /dev/null
t1=$(now)
echo "vmfs host death to recovery (lease 2 s: lock broken, journal replayed): $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s"
