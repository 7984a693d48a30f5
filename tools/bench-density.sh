#!/bin/sh
# bench-density.sh: how many identical Linux VMs reach /init per GiB of host
# memory, without and with memory reclamation (make bench; a figure, not
# pass/fail).
#
# One Bochs host (BENCH_DENSITY_MEM MiB, default 224, one CPU, an IDE disk
# with a VMFS datastore "dens") is offered K identical Linux VMs
# (BENCH_DENSITY_VMS, default 5; Debian's kernel and the test initramfs,
# BENCH_DENSITY_MEMSIZE MiB each, default 96, one vCPU, the software local
# APIC so that page sharing works under Bochs), all started together. Twice:
#  1. without reclamation: page sharing off for every VM, no balloon, no
#     swap file: a VM whose first touch finds no host page is stopped;
#  2. with reclamation: one sched.mem.pshare.salt for all, a balloon each and
#     a swap file each on the datastore (vmx.directory).
# Each VM's /init runs its light default checks and then vmk.memtest=1 (1 MiB
# held, and the balloon driver loaded where the VM has the device), stays up
# BENCH_DENSITY_HOLD seconds of its time and powers off. A VM counts when its
# console showed "vmk-init: start" and it was still running when the first VM
# powered off (from then on memory a VM gave back could let a later one
# through): refused VMs and VMs stopped for lack of memory do not count. The
# denominator is the host's own "memory for VMs" figure from its log.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
elf=$top/build/vmkernel.elf
lin=$top/build/linux
v=$top/build/vmkfstools
k=${BENCH_DENSITY_VMS:-5}
hostmem=${BENCH_DENSITY_MEM:-224}
memsize=${BENCH_DENSITY_MEMSIZE:-96}
hold=${BENCH_DENSITY_HOLD:-120}
tmo=${BENCH_DENSITY_TIMEOUT:-1800}
ips=${BENCH_LINUX_IPS:-100000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -f "$lin/vmlinuz" ] || [ ! -f "$lin/initrd.gz" ]; then
	echo "density: no Linux guest (sh tools/mklinux.sh build/linux); not measured"
	exit 0
fi
if [ ! -x "$v" ] || [ ! -x "$top/build/mkdisk" ]; then
	echo "density: build/vmkfstools or build/mkdisk missing; not measured"
	exit 0
fi

# An IDE disk with datastore "dens" and a directory for the swap files, made afresh per
# run: K swap files of memsize (thin, but VMFS wants their size free at start) and about
# 96 MiB for VMFS's own metadata, in steps of 63 MiB = 128 cylinders x 16 heads x 63
# sectors (Bochs wants that geometry for a flat image); 630 MiB for the defaults.
steps=$(((k * memsize + 96 + 62) / 63))
dmib=$((steps * 63))
disk() {
	rm -f "$work/disk.img"
	MAX_HOSTS=2 MKDIRS=/swap sh "$top/tools/mkdatastore.sh" "$work/disk.img" "${dmib}m" dens \
		>/dev/null
}

# run NAME RECLAIM: boot the host with K VMs; RECLAIM is 0 or 1.
run() {
	mods=
	i=1
	while [ "$i" -le "$k" ]; do
		f=$work/$1$i.vmx
		cat > "$f" <<EOF
displayName = "$1$i"
memsize = "$memsize"
numvcpus = "1"
guest.type = "linux"
guest.kernel = "vmlinuz"
guest.initrd = "initrd.gz"
guest.cmdline = "console=ttyS0 loglevel=4 vmk.memtest=1 vmk.memtest_hold=$hold"
monitor.apicv = "FALSE"
test.expect = "poweroff"
EOF
		if [ "$2" = 1 ]; then
			cat >> "$f" <<EOF
sched.mem.pshare.salt = "density"
balloon0.present = "TRUE"
vmx.directory = "/vmfs/volumes/dens/swap"
EOF
		else
			echo 'sched.mem.pshare.enable = "FALSE"' >> "$f"
		fi
		mods="$mods $f"
		i=$((i + 1))
	done
	disk || { echo "density: cannot make the datastore disk"; return 1; }
	# shellcheck disable=SC2086
	sh "$top/tools/mkiso.sh" "$work/$1.iso" "$elf" \
		"console=com1 test=vm_expectations vmstat=20" 0 $mods "$lin/vmlinuz" "$lin/initrd.gz"
	BOCHS_EXTRA="ata0-slave: type=disk, path=$work/disk.img, mode=flat, cylinders=$((steps * 128)), heads=16, spt=63" \
		BOCHS_IPS=$ips sh "$top/tools/run-bochs.sh" "$work/$1.iso" "$work/$1.serial" 1 \
		"$hostmem" "$tmo" || true
}

# count NAME: "MIB REACHED STARTED KILLED LATE ENDED" from the run's log. REACHED: VMs
# that showed /init's start and were still running at the first power-off (or at the
# log's end); KILLED: VMs stopped before then; LATE: /init starts after it; ENDED: 1 if
# the test run ended by itself (not by the timeout).
count() {
	awk -v name="$1" '
		/vm: memory for VMs: / && !mib { m = $0; sub(/.*memory for VMs: /, "", m); sub(/ .*/, "", m); mib = m }
		/vm: [0-9]* of [0-9]* VM\(s\) started/ { s = $0; sub(/.*vm: /, "", s); sub(/ .*/, "", s); started = s }
		/vmtest: [0-9]* VMs, / { ended = 1 }
		cut { if ($0 ~ ("\\[" name "[0-9]*\\] vmk-init: start")) late++; next }
		$0 ~ ("\\[" name "[0-9]*\\] vmk-init: start") {
			v = $0; sub(/.*\[/, "", v); sub(/\].*/, "", v); up[v] = 1
		}
		$0 ~ ("vm: " name "[0-9]*: ended \\(stopped") {
			v = $0; sub(/.*vm: /, "", v); sub(/:.*/, "", v); dead[v] = 1; killed++
		}
		$0 ~ ("vm: " name "[0-9]*: ended \\(poweroff\\)") { cut = 1 }
		END {
			n = 0
			for (v in up) if (!dead[v]) n++
			printf "%d %d %d %d %d %d\n", mib, n, started, killed, late, ended
		}' "$work/$1.serial"
}

t0=$(date +%s)
run dnorec 0
run drec 1
t1=$(date +%s)
# shellcheck disable=SC2046
set -- $(count dnorec)
mib1=$1 a=$2 st1=$3 kill1=$4 late1=$5 end1=$6
# shellcheck disable=SC2046
set -- $(count drec)
mib2=$1 b=$2 st2=$3 kill2=$4 late2=$5 end2=$6
if [ "$mib1" = 0 ] || [ "$mib2" = 0 ]; then
	echo "density: a host did not report its memory for VMs (see $work/dnorec.serial, $work/drec.serial)"
	trap - EXIT
	exit 0
fi
# A count equal to K is only a lower bound: the host might have taken more.
awk -v k="$k" -v ms="$memsize" -v m1="$mib1" -v m2="$mib2" -v a="$a" -v b="$b" 'BEGIN {
	printf "density, identical Linux VMs reaching /init (Bochs, %d MiB for VMs, %d offered, %d MiB memsize each): ", m1, k, ms
	printf "without reclamation %s%d (%.1f per GiB), ", a < k ? "" : "at least ", a, a * 1024 / m1
	printf "with sharing+balloon+swap %s%d (%.1f per GiB)", b < k ? "" : "at least ", b, b * 1024 / m2
	if (a > 0 && a < k) printf ", ratio %s%.2f\n", b < k ? "" : "at least ", b / a
	else if (a > 0) printf ", ratio unknown (both bounded by the offer)\n"
	else printf ", ratio undefined\n"
}'
printf '  without: %s of %s VMs started, %s stopped before the first power-off, %s reached /init after it%s\n' \
	"$st1" "$k" "$kill1" "$late1" "$([ "$end1" = 1 ] || echo '; the run did not end by itself (timed out, or the host stopped)')"
printf '  with: %s of %s VMs started, %s stopped before the first power-off, %s reached /init after it%s\n' \
	"$st2" "$k" "$kill2" "$late2" "$([ "$end2" = 1 ] || echo '; the run did not end by itself (timed out, or the host stopped)')"
[ "$mib1" = "$mib2" ] || echo "  (the with-reclamation host had $mib2 MiB for VMs)"
[ "$a" -lt "$k" ] || echo "  all $k offered VMs fit without reclamation: the figures are bounded by the offer"
[ "$b" -lt "$k" ] || echo "  all $k offered VMs reached /init with reclamation: that figure is bounded by the offer"
echo "  ($((t1 - t0)) s of wall time for both runs)"
