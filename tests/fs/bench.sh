#!/bin/sh
# VMFS figures for `make bench` (reported, never pass/fail). One line each.
#   BUILD=dir (default build); BENCH_MB=n (default 256) for the throughput runs
#
# Throughput is measured against raw I/O doing the same work in the same run:
# the same request sizes (8 MiB) to the very device ranges the file occupies,
# in five rounds that take turns on who goes first (medians reported). The
# image is written with zeros first, as a provisioned LUN would be, so that
# neither side pays for the host filesystem allocating the image's blocks.
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

img=$work/vol.img
dd if=/dev/zero of="$img" bs=8M count=$(( (mb * 2 + 256) / 8 )) oflag=direct status=none
"$tool" -C vmfs6 -S bench --max-hosts 8 --lease-timeout 2 "$img" > /dev/null || exit 1
"$host" bench-seq "$img" seq $mb 8 | sed "s/^/vmfs sequential ($mb MiB in 8 MiB requests, fsync) /"

# metadata: create (write 1 byte, [fsync], close) + delete pairs, one host and
# four at once in their own directories, for a fixed time. The four mount
# first and start together; their total is all their pairs over the time
# from the first start to the last finish (not a sum of rates, which would
# count hosts that ran alone as if they had run side by side). With fsync
# every pair waits for a device flush: raw I/O doing the least a durable
# create needs (one 4 KiB write and a flush to a file on the same
# filesystem) is measured alongside, by one writer and by four started
# together, which is what the disk gives four. Each run also counts device
# requests per pair (writes, reads, flushes, the heartbeat's included):
# figures that do not move with the machine's load.
four() {	# four FN ARGS...: FN I ARGS for I = 1..4 at once, started together; out in $work/mI
	rm -f "$work"/go*
	for i in 1 2 3 4; do BENCH_GO=$work/go "$@" $i > "$work/m$i" & done
	t=0	# a run that failed to start has printed why; start without it
	while [ "$(ls "$work"/go.* 2> /dev/null | wc -l)" -lt 4 ] && [ $t -lt 3000 ]; do
		sleep 0.01; t=$((t + 1))
	done
	: > "$work/go"
	wait
}
meta_host() { "$host" bench-meta "$img" "m4$2$3" "$1" $2; }	# SECS [nosync] I
flush_writer() { "$host" bench-flush "$work/flush$1.raw" 2; }	# I
meta() {	# meta SECS [nosync]: "ONE FOUR IO1 IO4" (pairs/s; I/O per pair as W/R/F)
	set -- $("$host" bench-meta "$img" m1${2:-} "$1" ${2:-}) "$1" "${2:-}"
	one=$1 io1="$2/$3/$4"
	shift 7
	four meta_host "$1" "$2"
	cat "$work"/m1 "$work"/m2 "$work"/m3 "$work"/m4 |
		awk -v one="$one" -v io1="$io1" '
			NR == 1 || $5 < t0 { t0 = $5 } NR == 1 || $6 > t1 { t1 = $6 }
			{ w += $2; r += $3; f += $4; n += $7 }
			END { printf "%s %.1f %s %.2f/%.2f/%.2f\n", one, n / (t1 - t0), io1,
				w / NR, r / NR, f / NR }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rawf=$("$host" bench-flush "$work/flush.raw" 2 | cut -d' ' -f1)
four flush_writer
raw4=$(cat "$work"/m1 "$work"/m2 "$work"/m3 "$work"/m4 | awk 'NR == 1 || $2 < t0 { t0 = $2 }
	NR == 1 || $3 > t1 { t1 = $3 } { n += $4 } END { printf "%.1f", n / (t1 - t0) }')
set -- $(meta 2)
g4=$(ratio "$2" "$1") graw=$(ratio "$raw4" "$rawf")
echo "vmfs create+delete pairs with fsync, 1 host: $1 pairs/s vs raw write+flush $rawf/s" \
	"(ratio $(ratio "$1" "$rawf")); 4 hosts at once: $2 in total (${g4}x one host)" \
	"vs 4 raw writers $raw4/s in total (${graw}x one), so four hosts gain" \
	"$(ratio "$g4" "$graw") of what the disk gives four writers;" \
	"device writes/reads/flushes per pair: $3 on 1 host, $4 on each of 4"
set -- $(meta 2 nosync)
echo "vmfs create+delete pairs without fsync, 1 host: $1 pairs/s; 4 hosts at once: $2 in total" \
	"($(ratio "$2" "$1")x one host); device writes/reads/flushes per pair: $3 on 1 host, $4 on each of 4"

# The same on a model of a LUN on an array: the image in memory, every
# request taking BENCH_LUN_US (default 200) microseconds however many are in
# flight. An image file on this machine's disk is not such a device (four
# raw writers above do not get four times one writer's flushes); on the
# model a host's time is its own requests, so what four hosts lose against
# four times one is what VMFS makes them do for each other (lock-record
# writes, reads of what another host holds).
lun=${BENCH_LUN_US:-200}
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	shm=$(mktemp -d /dev/shm/vmfsbench.XXXXXX)
	trap 'rm -rf "$work" "$shm"' EXIT
	"$tool" -C vmfs6 -S lun --max-hosts 8 --lease-timeout 2 --image-size 512M --buffered-io \
		"$shm/lun.img" > /dev/null || exit 1
	img=$shm/lun.img
	export BENCH_DEV_DELAY_US=$lun
	set -- $(meta 2)
	echo "vmfs create+delete pairs with fsync on a LUN model ($lun us per request, any number" \
		"in flight), 1 host: $1 pairs/s; 4 hosts at once: $2 in total ($(ratio "$2" "$1")x" \
		"one host); device writes/reads/flushes per pair: $3 on 1 host, $4 on each of 4"
	unset BENCH_DEV_DELAY_US
	img=$work/vol.img
	rm -rf "$shm"
else
	echo "vmfs create+delete on a LUN model: not measured (no writable /dev/shm)"
fi

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
