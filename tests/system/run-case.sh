#!/bin/sh
# run-case.sh NAME EMULATOR CPUS MEM_MB BOOT FIRMWARE PROFILE
# Boot the test image one way, then judge the serial log: every CPU came
# up, the memory size and the VT-x verdict are right for this machine, the
# in-kernel tests all ran and passed, nothing panicked. Prints one line,
# "PASS NAME" or "FAIL NAME: why", followed by the log's tail on failure.
set -u
name=$1 emu=$2 cpus=$3 mem=$4 boot=$5 fw=$6 profile=${7:-normal}
top=$(cd "$(dirname "$0")/../.." && pwd)
# Disks and datastores: judged by their own script.
case $profile in disks-* | multihost) exec sh "$top/tests/system/storage.sh" "$@" ;; esac
out=$top/build/system
mkdir -p "$out"
log=$out/$name.serial
iso=$top/build/vmkernel-test.iso
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tmo=${SYSTEM_TIMEOUT:-180}
: > "$log"

# VM sets: guests (tests/guests/NAME.{elf,vmx}) booted together, several per host CPU.
vms_uni="cpuid msr cr portio exceptions vmcall insns long64 hostile_vmx mbinfo mmio
	broken_state.vmx broken_control.vmx bad_config.vmx bad_image.vmx"
vms_smp="cpuid interrupts memtouch hostile_msr_port triplefault badaccess spinner smp2
	memtouch_reserved.vmx chatty spinlock spinlock_nople.vmx"
# The emulated PC platform (local APIC, PIC, PIT, RTC, ACPI, PCI, fw_cfg): guests that
# check each device as an OS relies on it (tests/guests/README.md). Two sets, so that
# each guest's clock measurements get a host CPU often enough.
vms_platform="lapic lapic_noapicv.vmx pic_pit"
vms_platform_io="rtc acpi pci fwcfg"
# The resource manager on one host CPU: CPU-bound guests with shares 1:2:4 (low, normal,
# high), one limited by sched.cpu.max and one with a reservation (sched.cpu.min); two that
# admission control refuses (a reservation that does not fit beside it, an affinity
# naming no CPU of the host). make bench runs the set with shares_waker.vmx added.
vms_shares="shares shares_normal.vmx shares_high.vmx shares_limited.vmx shares_reserved.vmx
	bad_cpu_min.vmx bad_cpu_affinity.vmx"
# vCPU migration on two host CPUs: three equal CPU-bound guests (shares.elf with check=N,
# which also keeps x87 and MSR state it verifies after every chunk). Without migration one
# would get a whole CPU and two half of one; the harness wants a third of the total each.
vms_migrate="shares.elf shares_move1.vmx shares_move2.vmx shares_move3.vmx"
# The resource manager's memory half on two host CPUs: two VMs with one page-sharing salt
# that fill pages with zeros and one pattern, wait for the scanner, then write into shared
# pages (tests/guests/pshare.c), and a VM stopped at its sched.mem.max.
vms_pshare="pshare pshare_b.vmx pshare_max.vmx"
# Hypervisor swapping: a VM with four times its sched.mem.max in pages and a swap file on
# datastore swapds (build/guests/swapds.vmfs), and one without a datastore directory that
# stays hard-capped (tests/guests/swap.c); and the in-kernel test guest_swap_world, which
# swaps a VM of its own from its world (vmm/mem/guest_swap_ktest.c).
vms_swap="swap swap_nods.vmx"
# virtio devices on the test datastore (build/guests/vtest.vmfs): a driver, a VM refused
# the disk the first holds, and a hostile driver.
vms_virtio="virtio_blk bad_disk_taken.vmx hostile_virtio.vmx"
# virtio-net on the host's switches (port groups from tests/guests/net.conf): a sender and
# an echo VM on "VM Network", a VM on VLAN 20 that must hear nothing, a hostile driver;
# VMware Workstation's keys: a custom network (port group VMnet3) and a host-only one
# this host has no port group for.
vms_net="virtio_net net_echo.vmx net_isolated.vmx net_hostile.vmx net_workstation.vmx
	bad_net_hostonly.vmx"
# Linux guests (tests/linux/NAME.vmx; Debian's kernel and the test initramfs from
# tools/mklinux.sh), some beside hostile test guests.
linux_smp="linux/linux-smp linux/linux-reboot hostile_vmx hostile_msr_port triplefault badaccess"
linux_legacy="linux/linux-acpioff linux/linux-nolapic linux/linux-reset linux/linux-softapic"
# Linux with a virtio-blk disk on a datastore on an IDE disk (disk_datastore below): a
# filesystem written, rebooted, verified; then read back on the host (linux_disk_checks).
linux_disk="linux/linux-disk"
# Ballooning: a Linux VM limited below its memsize with a virtio-balloon (balloon_checks).
linux_balloon="linux/linux-balloon"
# Memory overcommit: three 160 MiB Linux VMs on a host with at most 240 MiB for VMs, each holding
# 24 MiB of data no page of which repeats; their swap files on an IDE disk.
linux_over="linux/linux-over-a linux/linux-over-b linux/linux-over-c"
# Two Linux VMs on vSwitch0 with Debian's virtio_net: ping both ways, 3.2 MiB over TCP.
linux_net="linux/linux-net-a linux/linux-net-b"
# Hostile guests (docs/security.md) beside well-behaved ones: tests/system/hostile.sh.
. "$top/tests/system/hostile.sh"
tests=all
guests=
datastore=
netconf=
case $profile in
normal) extra= ;;
crash) extra="crashtest=fault" ;;
badopts) extra='loglevel=loud frobnicate=1 =oops' ;;
vms-uni) extra= tests=vm_expectations guests=$vms_uni ;;
vms-smp) extra=vmstat=1 tests=vm_expectations guests=$vms_smp ;;
vms-platform) extra= tests=vm_expectations guests=$vms_platform ;;
vms-platform-io) extra= tests=vm_expectations guests=$vms_platform_io ;;
vms-shares) extra= tests=vm_expectations guests=$vms_shares ;;
vms-migrate) extra= tests=vm_expectations guests=$vms_migrate ;;
vms-pshare) extra="pshare.rate=16384 vmstat=5" tests=vm_expectations guests=$vms_pshare ;;
vms-virtio) extra= tests=vm_expectations guests=$vms_virtio datastore=1 ;;
vms-swap) extra=vmstat=5 tests=guest_swap_world,vm_expectations guests=$vms_swap datastore=swapds
	tmo=${SYSTEM_TIMEOUT_SWAP:-900} ;;
vms-net) extra= tests=vm_expectations guests=$vms_net netconf=tests/guests/net.conf ;;
linux-smp) extra= tests=vm_expectations guests=$linux_smp ;;
linux-legacy) extra= tests=vm_expectations guests=$linux_legacy ;;
linux-disk) extra= tests=vm_expectations guests=$linux_disk datastore=disk ;;
linux-net) extra= tests=vm_expectations guests=$linux_net ;;
linux-balloon) extra="vmstat=5 mem.sample=ad" tests=vm_expectations guests=$linux_balloon ;;
linux-overcommit) extra="vmstat=10" tests=vm_expectations guests=$linux_over datastore=swapdisk ;;
vms-hostile*) hostile_profile "$profile" ;;
*) echo "FAIL $name: unknown profile '$profile'"; exit 1 ;;
esac
mods= linux=
for g in $guests; do
	case $g in
	linux/*) mods="$mods $top/tests/$g.vmx" linux=1 ;;
	*.vmx) mods="$mods $top/tests/guests/$g" ;;	# a config for another guest's image
	*.elf) mods="$mods $top/build/guests/$g" ;;	# an image for configs of other names
	*) mods="$mods $top/build/guests/$g.elf $top/tests/guests/$g.vmx" ;;
	esac
done
# Linux runs: each kernel and initramfs file the set's VMs name, once (GRUB
# reading a module from the CD is slow in Bochs); Bochs as a 100 MHz machine
# (a 10 MHz one cannot keep a kernel's timer ticks), and time.
if [ -n "$linux" ]; then
	for f in vmlinuz vmlinux.gz initrd.gz; do
		for g in $guests; do
			case $g in
			linux/*) grep -qi "^guest\.[a-z]* *= *\"$f\"" "$top/tests/$g.vmx" || continue ;;
			*) continue ;;
			esac
			mods="$mods $top/build/linux/$f"
			break
		done
	done
	export BOCHS_IPS=100000000
	tmo=${SYSTEM_TIMEOUT_LINUX:-2400}
fi
# Boots that run every in-kernel test carry the VMFS volume the filesystem test mounts.
[ "$tests" = all ] && mods="$mods $top/build/vmfs.img"
# VMs with disks: the datastore as a boot module (a fresh copy of the image each run).
if [ "$datastore" = 1 ]; then
	cp "$top/build/guests/vtest.vmfs" "$work/vtest.vmfs"
	mods="$mods $work/vtest.vmfs"
fi
if [ "$datastore" = swapds ]; then
	cp "$top/build/guests/swapds.vmfs" "$work/swapds.vmfs"
	mods="$mods $work/swapds.vmfs"
fi
# ... or on a disk Bochs attaches to its IDE controller (as a server's local disk): a GPT
# with datastore "vtest" holding linux/disk.vmdk (8 MiB, thin). The image is kept after
# the run ($out/$name.disk.img) and read back on the host by linux_disk_checks.
disk_datastore() {
	[ "$emu" = bochs ] || { echo "FAIL $name: a disk-backed datastore needs bochs"; exit 1; }
	v=$top/build/vmkfstools
	"$v" -C vmfs6 -S vtest --image-size 61m --max-hosts 2 "$work/vol.img" >/dev/null &&
		"$v" "$work/vol.img" mkdir /linux &&
		"$v" -c 8m -d thin "$work/vol.img" /linux/disk.vmdk >/dev/null &&
		rm -f "$out/$name.disk.img" &&
		"$top/build/mkdisk" create "$out/$name.disk.img" 63m "vtest:vmfs:61m:$work/vol.img" \
			>/dev/null || { echo "FAIL $name: cannot make the datastore disk"; exit 1; }
	# 63 MiB = 128 cylinders x 16 heads x 63 sectors, as Bochs wants for a flat image
	export BOCHS_EXTRA="ata0-slave: type=disk, path=$out/$name.disk.img, mode=flat, cylinders=128, heads=16, spt=63"
}
[ "$datastore" = disk ] && disk_datastore
# linux-overcommit: a 630 MiB IDE disk (1280 cylinders) whose datastore "vtest" has room
# for three 128 MiB swap files in /over (thin files; VMFS wants their size free at start).
swap_datastore() {
	[ "$emu" = bochs ] || { echo "FAIL $name: a disk-backed datastore needs bochs"; exit 1; }
	rm -f "$work/swap.disk.img"
	MAX_HOSTS=2 MKDIRS=/over sh "$top/tools/mkdatastore.sh" "$work/swap.disk.img" 630m vtest \
		>/dev/null || { echo "FAIL $name: cannot make the swap datastore disk"; exit 1; }
	export BOCHS_EXTRA="ata0-slave: type=disk, path=$work/swap.disk.img, mode=flat, cylinders=1280, heads=16, spt=63"
}
[ "$datastore" = swapdisk ] && swap_datastore
# The host's switches and port groups, as a boot module named net.conf.
[ -n "$netconf" ] && mods="$mods $top/$netconf"
if [ -n "$extra" ] || [ -n "$guests" ]; then
	iso=$work/case.iso
	# shellcheck disable=SC2086
	sh "$top/tools/mkiso.sh" "$iso" "$top/build/vmkernel.elf" \
		"console=com1,screen test=$tests $extra" 0 $mods
fi

qemu_run() {
	set -- -machine pc -accel tcg -cpu max -smp "$cpus" -m "$mem" -display none \
		-serial "file:$log" -monitor none -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=4
	if [ "$fw" = uefi ]; then
		cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/vars.fd"
		set -- "$@" -machine q35 \
			-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
			-drive if=pflash,format=raw,file="$work/vars.fd"
	fi
	case $boot in
	cdrom) set -- "$@" -cdrom "$iso" ;;
	usb) set -- "$@" -device qemu-xhci,id=xhci \
		-drive if=none,id=stick,format=raw,readonly=on,file="$iso" \
		-device usb-storage,bus=xhci.0,drive=stick,bootindex=1 ;;
	pxe)
		cp -r "$top/build/pxe" "$work/tftp"
		mkdir -p "$work/tftp/boot/modules"
		cp "$top/build/vmfs.img" "$work/tftp/boot/modules/"
		sh "$top/tools/grubcfg.sh" "console=com1,screen test=all" 0 /boot/vmkernel.elf \
			vmfs.img > "$work/tftp/boot/grub/grub.cfg"
		set -- "$@" -boot n -netdev user,id=n0,tftp="$work/tftp",bootfile=boot/grub/i386-pc/core.0 \
			-device e1000,netdev=n0 ;;
	esac
	timeout -k 5 "$tmo" qemu-system-x86_64 "$@" >"$work/qemu.out" 2>&1
	status=$?
	cat "$work/qemu.out" >> "$log.emulator"
}

fail() {
	echo "FAIL $name: $*"
	tail -25 "$log" | sed 's/^/    | /'
	exit 1
}

# vms-shares: the chunks each share guest counted in equal windows of its own TSC
# (tests/guests/shares.c) must stand 1:2:4 within 2%. The SFQ bound for this set is one
# 10 ms slice per world: 0.75% of the ~1.3 s the low guest runs in its 20 s window and
# 0.4% of the normal one's, so an exact scheduler stands well inside 2%.
shares_checks() {
	chunks() {
		sed -n "s/.*\[$1\] shares: window [0-9]* ticks, \([0-9]*\) chunks.*/\1/p" "$log" | head -1
	}
	lo=$(chunks shares_low) mid=$(chunks shares_normal) hi=$(chunks shares_high)
	[ -n "$lo" ] && [ -n "$mid" ] && [ -n "$hi" ] && [ "$lo" -gt 0 ] ||
		fail "the share guests did not all report their chunks"
	awk -v lo="$lo" -v mid="$mid" -v hi="$hi" 'BEGIN {
		r2 = mid / lo; r4 = hi / lo
		printf "shares 1:2:4 measured 1:%.3f:%.3f\n", r2, r4
		exit !(r2 >= 2 * 0.98 && r2 <= 2 * 1.02 && r4 >= 4 * 0.98 && r4 <= 4 * 1.02)
	}' > "$work/shares" || fail "CPU shares off by more than 2%: $(cat "$work/shares")"
	grep -q "vm: bad_cpu_min: not started: its CPU reservation does not fit: vCPU 0 needs 7 MHz .* VMs may reserve 9 MHz of each 10 MHz CPU; reserved now (MHz): CPU 0 3" "$log" ||
		fail "the CPU reservation that does not fit was not refused with the numbers"
	grep -q "vm: bad_cpu_affinity: not started: sched.cpu.affinity leaves it no CPU that runs VMs" "$log" ||
		fail "the affinity without a host CPU was not refused"
}

# vms-migrate: each guest's chunks (guest TSC, so CPU time) within 3% of a third of the
# total, and every vCPU moved at least once (its end line counts migrations).
migrate_checks() {
	chunks() {
		sed -n "s/.*\[$1\] shares: window [0-9]* ticks, \([0-9]*\) chunks.*/\1/p" "$log" | head -1
	}
	a=$(chunks shares_move1) b=$(chunks shares_move2) c=$(chunks shares_move3)
	[ -n "$a" ] && [ -n "$b" ] && [ -n "$c" ] ||
		fail "the migrating share guests did not all report their chunks"
	awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN {
		t = a + b + c
		printf "thirds measured %.4f %.4f %.4f of %d chunks\n", a / t, b / t, c / t, t
		exit !(t > 0 && a / t >= 0.97 / 3 && a / t <= 1.03 / 3 && b / t >= 0.97 / 3 &&
		       b / t <= 1.03 / 3 && c / t >= 0.97 / 3 && c / t <= 1.03 / 3)
	}' > "$work/thirds" || fail "equal shares on two CPUs off by more than 3%: $(cat "$work/thirds")"
	for vm in shares_move1 shares_move2 shares_move3; do
		grep -q "vm: $vm: vCPU 0: ran .* [1-9][0-9]* migrations (.*), [0-9]* co-stops" "$log" ||
			fail "$vm's vCPU never changed CPU (or its end line lacks the count)"
		grep -q "\[$vm\] shares: x87 and LSTAR state checked after [1-9][0-9]* chunks, 0 times lost" "$log" ||
			fail "$vm did not keep its x87 and MSR state across moves"
	done
	echo "    $(cat "$work/thirds")"
}

# linux-disk: the datastore came from the IDE disk, the VM used both devices, and the
# disk left behind holds what the guest wrote, read by the host's own tools: vmkfstools
# lists and copies out the VMDK, qemu-img reads it as a VMDK (the same bytes as its flat
# extent), e2fsck finds the guest's ext2 clean and debugfs reads the file back.
linux_disk_checks() {
	grep -q "datastore: mounted /vmfs/volumes/vtest from .*:1: VMFS" "$log" ||
		fail "the datastore on the IDE disk was not mounted"
	grep -q "linux-disk: scsi0:0: /vmfs/volumes/vtest/linux/disk.vmdk, 8 MiB, thin" "$log" ||
		fail "the disk was not opened at its path relative to vmx.directory"
	grep -q "virtio-rng: linux-disk: rng0: entropy from RD\(SEED\|RAND\)" "$log" ||
		fail "the entropy device did not name a hardware source"
	grep -q "virtio-rng: linux-disk: rng0: [1-9][0-9]* bytes handed over" "$log" ||
		fail "the entropy device handed over no bytes"
	command -v qemu-img >/dev/null ||
		fail "qemu-img is not installed (Debian qemu-utils; tools/deps.sh test installs it)"
	[ -x /sbin/e2fsck ] && [ -x /sbin/debugfs ] ||
		fail "e2fsck or debugfs is not installed (Debian e2fsprogs; tools/deps.sh test installs it)"
	v=$top/build/vmkfstools img=$out/$name.disk.img x=$work/x
	mkdir -p "$x"
	"$top/build/mkdisk" extract "$img" 1 "$x/vol.img" >/dev/null ||
		fail "cannot extract the VMFS partition from $img"
	"$v" "$x/vol.img" fsck >"$x/fsck" 2>&1 || fail "vmkfstools fsck: $(tail -1 "$x/fsck")"
	"$v" "$x/vol.img" ls /linux 2>&1 | grep -q "disk.vmdk" ||
		fail "vmkfstools does not list /linux/disk.vmdk"
	"$v" "$x/vol.img" cp-out /linux/disk.vmdk "$x/disk.vmdk" &&
		"$v" "$x/vol.img" cp-out /linux/disk-flat.vmdk "$x/disk-flat.vmdk" ||
		fail "vmkfstools cp-out of the disk failed"
	qemu-img info "$x/disk.vmdk" >"$x/info" 2>&1 || fail "qemu-img info: $(tail -1 "$x/info")"
	grep -q "file format: vmdk" "$x/info" && grep -q "virtual size: 8 MiB" "$x/info" ||
		fail "qemu-img does not see an 8 MiB VMDK: $(tr '\n' ' ' < "$x/info")"
	qemu-img compare -q -f vmdk -F raw "$x/disk.vmdk" "$x/disk-flat.vmdk" ||
		fail "qemu-img reads the VMDK differently from its flat extent"
	qemu-img convert -f vmdk -O raw "$x/disk.vmdk" "$x/disk.raw" || fail "qemu-img convert failed"
	/sbin/e2fsck -fn "$x/disk.raw" >"$x/e2fsck" 2>&1 ||
		fail "the guest's filesystem is not clean: $(tail -3 "$x/e2fsck" | tr '\n' ' ')"
	sum=$(/sbin/debugfs -R "cat /data" "$x/disk.raw" 2>/dev/null | md5sum | awk '{print $1}')
	[ "$sum" = "$(seq 1 100000 | md5sum | awk '{print $1}')" ] ||
		fail "the file the guest wrote reads back on the host with MD5 $sum"
}

# vms-swap: the swap file was made, used and deleted; the VM's end line counts swap-outs
# and swap-ins that agree with what is still swapped; the VM without one was hard-capped
# (docs/resource-manager.md, Hypervisor swapping).
swap_checks() {
	grep -q "vmm: swap: swap file /vmfs/volumes/swapds/swap/swap.vswp, 30 MiB (memsize 32 MiB - sched.mem.min 2 MiB), thin" "$log" ||
		fail "the swap file was not created"
	grep -q "vmm: swap: swap file .*; victims by a \(clock with EPT accessed bits\|plain clock\)" "$log" ||
		fail "the swap file's line does not say how victims are chosen"
	grep -q "vm: swap: sched.mem.max 8 MiB is a limit: past it the VM's pages go to its swap file" "$log" ||
		fail "sched.mem.max was not reported as a limit"
	line=$(grep "vmstat: swap: at its end: memory: memsize 32 MiB; backed" "$log" | head -1)
	[ -n "$line" ] || fail "no memory line at the end of the swap VM"
	swapped=$(echo "$line" | sed -n 's/.*; swapped \([0-9]*\) KiB, \([0-9]*\) swap-outs, \([0-9]*\) swap-ins.*/\1/p')
	outs=$(echo "$line" | sed -n 's/.*; swapped \([0-9]*\) KiB, \([0-9]*\) swap-outs, \([0-9]*\) swap-ins.*/\2/p')
	ins=$(echo "$line" | sed -n 's/.*; swapped \([0-9]*\) KiB, \([0-9]*\) swap-outs, \([0-9]*\) swap-ins.*/\3/p')
	backed=$(echo "$line" | sed -n 's/.*; backed \([0-9]*\) KiB.*/\1/p')
	[ -n "$swapped" ] && [ -n "$outs" ] && [ -n "$ins" ] || fail "no swap figures in: $line"
	echo "swap: $outs swap-outs, $ins swap-ins, $swapped KiB swapped, $backed KiB backed at the end"
	# 24 MiB written into 8 MiB: at least 16 MiB out; every page read back twice.
	[ "$swapped" -gt 0 ] && [ "$outs" -ge 4096 ] && [ "$ins" -ge 4096 ] ||
		fail "too little swapping: $line"
	[ $(( (outs - ins) * 4 )) -eq "$swapped" ] ||
		fail "swap-outs - swap-ins ($outs - $ins) pages is not the $swapped KiB swapped"
	[ "$backed" -le 8192 ] || fail "the VM holds $backed KiB, more than its sched.mem.max"
	grep -q "guest_swap_world: [1-9][0-9]* pages of the running VM 'swap' swapped out from this world" "$log" ||
		fail "the in-kernel test did not swap the running VM from its world"
	grep -q "vmm: swap: swap file /vmfs/volumes/swapds/swap/swap.vswp deleted" "$log" ||
		fail "the swap file was not deleted at the VM's end"
	grep -q "vmm: swap_nods: no swap file: it has no datastore directory .*; sched.mem.max stays a hard cap for this VM" "$log" ||
		fail "the VM without a datastore directory did not say it has no swap file"
	grep -q "swap_nods: ended (stopped:killed): vCPU 0: touching guest-physical .*sched.mem.max reached: 4 MiB of its memsize 16 MiB backed (it has no swap file)" "$log" ||
		fail "the VM without a swap file was not stopped at its sched.mem.max"
}

# vms-pshare: what each sharing VM's end line says it shared, what the host table held, and
# the VM stopped at its limit (docs/resource-manager.md, Memory).
pshare_checks() {
	for vm in pshare_a pshare_b; do
		line=$(grep "vmstat: $vm: at its end: memory: memsize 16 MiB; backed" "$log" | head -1)
		[ -n "$line" ] || fail "no memory line at the end of $vm"
		shared=$(echo "$line" | sed -n 's/.*, shared \([0-9]*\) KiB (\([0-9]*\) KiB zero pages).*/\1/p')
		zero=$(echo "$line" | sed -n 's/.*, shared \([0-9]*\) KiB (\([0-9]*\) KiB zero pages).*/\2/p')
		copied=$(echo "$line" | sed -n 's/.*writes to shared pages: \([0-9]*\) copied.*/\1/p')
		overhead=$(echo "$line" | sed -n 's/.*; overhead \([0-9]*\) KiB.*/\1/p')
		# 4 MiB of the 512 zero and 512 pattern pages, less the few the guest wrote.
		[ -n "$shared" ] && [ "$shared" -ge 3900 ] && [ "$zero" -ge 1900 ] ||
			fail "$vm shared too little: $line"
		[ -n "$copied" ] && [ "$copied" -ge 2 ] || fail "$vm: no copy-on-write break counted: $line"
		[ -n "$overhead" ] && [ "$overhead" -ge 64 ] || fail "$vm: no overhead counted: $line"
	done
	grep -q "vmstat: page sharing: [0-9]* guest pages share [0-9]* frames ([0-9]* zero pages in [0-9]* frames): [0-9]* KiB saved" "$log" ||
		fail "no host page-sharing figures"
	grep -q "pshare: page sharing: scanning 16384 pages/s" "$log" || fail "the scanner did not start"
	grep -q "memsched: pshare_a: sched.mem.shares 320, " "$log" ||
		fail "the memory scheduler did not take pshare_a's sched.mem.shares"
	grep -q "pshare_max: ended (stopped:killed): vCPU 0: touching guest-physical .*sched.mem.max reached: 4 MiB of its memsize 16 MiB" "$log" ||
		fail "the VM past its sched.mem.max was not stopped with the reason"
	grep -q "vmm: pshare_max: page sharing off for this VM: Bochs misreports an EPT violation during virtual-interrupt delivery" "$log" ||
		fail "the VM with APIC virtualization under Bochs was not kept out of page sharing"
}

# linux-balloon: the scheduler asked for memsize - limit, the guest inflated it (the host
# freed pages), vmstat saw it, the driver's unload deflated it; the guest's own figures are
# in its test.console lines.
balloon_checks() {
	vm=linux-balloon
	grep -q "memsched: $vm: sched.mem.shares 2560, sched.mem.min 0 MiB, sched.mem.max 192 MiB, balloon at most 166 MiB" "$log" ||
		fail "the memory scheduler's first line for $vm is missing or wrong"
	grep -q "memsched: $vm: target [0-9]* KiB of memsize 262144 KiB; .*balloon target 65536 KiB; state" "$log" ||
		fail "no balloon target of memsize - limit (65536 KiB) for $vm"
	grep -q "vmstat: $vm: memory: .*; ballooned [1-9][0-9]* KiB (target 65536 KiB)" "$log" ||
		fail "no vmstat memory line of $vm with pages ballooned"
	grep -q "memsched: active memory: sampling EPT accessed flags" "$log" &&
		grep -q "memsched: $vm: active memory sampled from EPT accessed flags" "$log" &&
		grep -q "vmstat: $vm: memory: .*; active [1-9][0-9]* KiB (sampled)" "$log" ||
		fail "$vm's active memory was not sampled (mem.sample=ad) and shown"
	line=$(grep "virtio-balloon: $vm: balloon0: [0-9]* pages inflated" "$log" | head -1)
	inflated=$(echo "$line" | sed -n 's/.*: \([0-9]*\) pages inflated, \([0-9]*\) deflated.*/\1/p')
	deflated=$(echo "$line" | sed -n 's/.*: \([0-9]*\) pages inflated, \([0-9]*\) deflated.*/\2/p')
	freed=$(echo "$line" | sed -n 's/.*host pages freed \([0-9]*\),.*/\1/p')
	[ -n "$inflated" ] && [ "$inflated" -ge 12288 ] || fail "$vm inflated too little: $line"
	[ "$deflated" = "$inflated" ] || fail "$vm: the driver's unload did not deflate all: $line"
	[ -n "$freed" ] && [ "$freed" -gt 0 ] || fail "$vm: no host page was freed: $line"
	grep -q "vmstat: $vm: at its end: memory: .*; ballooned 0 KiB" "$log" ||
		fail "$vm's end line does not show the deflated balloon"
	grep -q "virtio-balloon.*needs a reset" "$log" && fail "the balloon needed a reset"
	grep -q "memsched: swap target" "$log" && fail "a swap target was set (the balloon should suffice)"
	return 0
}

# linux-overcommit: the VMs' memsize is at least twice the memory the host has for VMs;
# every VM verified its 24 MiB twice (test.console); page sharing, the balloon and
# swapping each took their part; the swap files came and went.
overcommit_checks() {
	cap=$(sed -n 's/.*vm: memory for VMs: \([0-9]*\) MiB (.*/\1/p' "$log" | head -1)
	[ -n "$cap" ] && [ $((3 * 160)) -ge $((2 * cap)) ] ||
		fail "the host has ${cap:-?} MiB for VMs: 480 MiB of memsize is not 2x overcommit"
	echo "overcommit: 480 MiB of memsize on $cap MiB for VMs"
	grep -q "vmstat: page sharing: [0-9]* guest pages share [0-9]* frames .*: [1-9][0-9]* KiB saved" "$log" ||
		fail "page sharing saved nothing"
	grep -q "vmstat: linux-over-[abc]: memory: .*; ballooned [1-9][0-9]* KiB" "$log" ||
		fail "no VM had pages in its balloon"
	grep -q "vmstat: linux-over-[abc]: .*memory: .*; swapped [1-9][0-9]* KiB, [1-9][0-9]* swap-outs" "$log" ||
		fail "no VM had pages swapped out"
	grep -q "memsched: memory state \(soft\|hard\|low\)" "$log" ||
		fail "the memory scheduler never left the high state"
	for x in a b c; do
		grep -q "linux-over-$x: swap file /vmfs/volumes/vtest/over/linux-over-$x.vswp, 160 MiB" "$log" &&
			grep -q "linux-over-$x: swap file /vmfs/volumes/vtest/over/linux-over-$x.vswp deleted" "$log" ||
			fail "linux-over-$x's swap file was not made and deleted"
	done
	grep "vmstat: linux-over-[abc]: at its end: memory" "$log" | sed 's/^[^v]*//'
	return 0
}

# The disk refused with its holder named; each hostile malformation named in the log.
virtio_checks() {
	grep -q "datastore: mounted /vmfs/volumes/vtest from vtest.vmfs" "$log" ||
		fail "the datastore module was not mounted"
	grep -q "bad_disk_taken: scsi0:0: disk '/vmfs/volumes/vtest/virtio_blk/disk.vmdk' cannot be opened: .* is in use by VM 'virtio_blk' on this host" "$log" ||
		fail "the second VM naming the same disk was not refused with the holder named"
	for why in "descriptor chain longer than its table (a loop)" \
		"more buffers in one request than the device takes" \
		"buffer outside guest RAM (or in MMIO, or wrapping)" \
		"buffer lengths add up past 4 GiB" "size 12, .*not a power of two" \
		"ring misaligned or outside guest RAM" "queue 0 notified before DRIVER_OK" \
		"head descriptor index outside the ring" "available index ran more than a ring ahead" \
		"bad indirect descriptor" "device-readable buffer after a device-writable one" \
		"without room for its header"; do
		grep -q "virtio: hostile_virtio: virtio-blk 'scsi0:0': .*$why.*; the device needs a reset" "$log" ||
			fail "hostile virtio case not named in the log: '$why'"
	done
	[ "$(grep -c "hostile_virtio: virtio-blk .*needs a reset" "$log")" -ge 13 ] ||
		fail "fewer than 13 hostile virtio cases reported"
	grep -q "virtio_blk: scsi0:0: closed /vmfs/volumes/vtest/virtio_blk/disk.vmdk" "$log" ||
		fail "the disk was not closed when its VM ended"
}

net_checks() {
	grep -q "net: vswitch vSwitch0: port group 'VLAN 20', VLAN 20," "$log" ||
		fail "the port groups of net.conf were not created"
	grep -q "net_sender: ethernet0: virtio-net, MAC 00:50:56:00:00:0a (static), port group 'VM Network' on vSwitch0, VLAN 0" "$log" ||
		fail "the sender's NIC was not listed at VM start"
	grep -q "net_hostile: ethernet1: virtio-net, MAC 00:0c:29:..:..:.. (generated)" "$log" ||
		fail "the generated address was not listed"
	grep -q "vm 'net_sender' ethernet0 asked for promiscuous mode; port group 'VM Network' rejects it" "$log" ||
		fail "the refused promiscuous mode was not logged"
	for why in tx-header-short tx-buffer-writable tx-gso-not-negotiated tx-csum-bad \
		tx-oversize rx-buffers-too-small ctrl-malformed ctrl-unknown-command \
		ctrl-mac-table-malformed; do
		grep -q "virtio-net: net_hostile: ethernet0: dropped ($why)" "$log" ||
			fail "hostile virtio-net case not named in the log: '$why'"
	done
	for why in "queue 0 (receive): buffer 0 is device-readable" \
		"queue 1 (transmit): descriptor chain longer than its table" \
		"queue 2 (control): command 0 has no room for its ack byte"; do
		grep -qF "net_hostile: virtio-net 'ethernet0': $why" "$log" ||
			fail "hostile virtio-net ring case not named in the log: '$why'"
	done
	grep -q "vm 'net_hostile' ethernet0 sent a frame from 00:50:56:00:00:0b, not its own address" "$log" ||
		fail "the forged transmit was not named"
	grep -q "net_sender: ethernet0: port on vSwitch0 'VM Network': tx [1-9][0-9]* frames" "$log" ||
		fail "the sender's port counters were not logged at its end"
	grep "net_isolated: ethernet0: port on vSwitch0 'VLAN 20':" "$log" | grep -q "rx 0 frames" &&
		grep -q "net_isolated: ethernet0: port on vSwitch0 'VLAN 20': tx [1-9]" "$log" ||
		fail "the VM on VLAN 20 received frames, or its counters were not logged"
	grep -q "net_workstation: ethernet0: virtio-net, MAC 00:0c:29:3a:00:0d (generatedAddress), port group 'VMnet3' on vSwitch0, VLAN 40" "$log" ||
		fail "Workstation's generatedAddress and custom vnet were not applied"
	grep -qF "net_workstation: ethernet0: from the .vmx: connectionType \"custom\": port group 'VMnet3'" "$log" ||
		fail "the connection type's mapping was not logged"
	grep -q "net_workstation: ethernet0: port on vSwitch0 'VMnet3':.* rx 0 frames" "$log" ||
		fail "the VM on VMnet3 (VLAN 40) received frames, or its counters were not logged"
	grep -q "bad_net_hostonly: ethernet0: port group 'VMnet1' does not exist on this host (net.conf); this VM does not start" "$log" &&
		grep -qF "bad_net_hostonly: ethernet0: from the .vmx: connectionType \"hostonly\": no host-only adapter here" "$log" ||
		fail "the host-only NIC without a VMnet1 port group was not refused with the reason"
}

rm -f "$log.emulator"
case $emu in
qemu)
	qemu_run
	# QEMU itself dying of a signal (SIGSEGV, SIGABRT) is an emulator bug, not
	# a result of the test: say so, keep its log, and run the case once more.
	if [ "$status" -gt 128 ] && [ "$status" -ne 137 ]; then
		echo "note $name: QEMU itself died of signal $((status - 128)) (see $log.emulator); running the case once more"
		cp "$log" "$log.crashed" 2>/dev/null
		qemu_run
	fi ;;
bochs) sh "$top/tools/run-bochs.sh" "$iso" "$log" "$cpus" "$mem" "$tmo"; status=$? ;;
*) fail "unknown emulator $emu" ;;
esac

[ "$status" -eq 124 ] && fail "timed out after ${tmo}s"

check_crash() {
	[ "$status" -eq 3 ] || fail "QEMU exit status $status, expected 3 (debug-exit with 1 = failure)"
	for want in "#PF page fault (vector 14) on CPU 1" "faulting address 00000000dead0000" \
		"RIP 0008:" "CR2 00000000dead0000" "backtrace:" "crash_fault+" \
		"PANIC: on CPU 1: unhandled #PF" "stopped 1 of 1 other CPUs" "system halted"; do
		grep -qF "$want" "$log" || fail "crash report lacks '$want'"
	done
	grep -q "ktest: [0-9]* passed" "$log" && fail "tests ran after the crash"
	echo "PASS $name"
	exit 0
}
[ "$profile" = crash ] && check_crash
if [ "$profile" = badopts ]; then
	grep -q "kernel command line: .*=oops.*empty key.*rest of the line is ignored" "$log" ||
		fail "malformed command line not reported"
	grep -q "loglevel= needs a number" "$log" || fail "bad loglevel value not reported"
	grep -q "unknown kernel option 'frobnicate' ignored" "$log" || fail "unknown option not reported"
fi
grep -q "PANIC" "$log" && fail "the kernel panicked"
if [ "$emu" = qemu ] && [ "$status" -ne 1 ]; then
	fail "QEMU exit status $status, expected 1 (debug-exit with 0 = tests passed)"
fi
grep -q "smp: $cpus of $cpus CPUs online" "$log" || fail "expected $cpus of $cpus CPUs online"
ram=$(sed -n 's/.*memory: \([0-9]*\) MiB RAM.*/\1/p' "$log" | head -1)
[ -n "$ram" ] || fail "no memory report"
# The firmware keeps a little for itself; at least 90% must be reported.
[ "$ram" -le "$mem" ] && [ $((ram * 10)) -ge $((mem * 9)) ] ||
	fail "memory reported $ram MiB for a $mem MiB machine"
# The screen console must come up too: a framebuffer from GRUB (UEFI GOP,
# VBE) or VGA text. A person at the server's monitor relies on it.
grep -q "console: screen, serial" "$log" || fail "screen console not active"
if [ "$fw" = uefi ]; then
	grep -q "booting on .*(UEFI)" "$log" || fail "did not report a UEFI boot"
else
	grep -q "booting on .*(BIOS)" "$log" || fail "did not report a BIOS boot"
fi
if [ "$emu" = bochs ]; then
	grep -q "vmx: VT-x on $cpus/$cpus CPUs: .*EPT (.*VPID.*unrestricted guest.*preemption timer" "$log" ||
		fail "VT-x summary missing or lacks EPT/VPID/unrestricted guest/preemption timer"
else
	grep -q "vmx: no VT-x" "$log" || fail "QEMU TCG must report no VT-x"
	grep -q "booting on QEMU TCG" "$log" || fail "platform not identified as QEMU TCG"
fi
if [ -n "$guests" ]; then
	n=$(echo $guests | tr ' ' '\n' | grep -vc '\.elf$')
	# bad_*.vmx are VMs that must not start, with a clear reason.
	bad=$(echo $guests | tr ' ' '\n' | grep -c '^bad_')
	good=$((n - bad))
	grep -q "vm: $good of $n VM(s) started" "$log" || fail "expected $good of $n VMs to start"
	n=$good
	if echo "$guests" | grep -q bad_config.vmx; then
		grep -q 'bad_config.vmx:3: key "numvcpus": "0" is not a number from 1 to 64; this VM does not start' "$log" ||
			fail "the malformed config was not reported with file, line and key"
	fi
	if echo "$guests" | grep -q bad_image.vmx; then
		grep -q "vm: bad_image: guest image bad_config.vmx: .*multiboot header" "$log" ||
			fail "the bad guest image was not reported"
	fi
	grep "vmtest: .*FAIL" "$log" | sed 's/^/    | /'
	grep -q "vmtest: $n VMs, $n passed, 0 failed" "$log" ||
		fail "VMs did not all end as expected: $(grep -o 'vmtest: [0-9]* VMs.*' "$log")"
	nt=$(echo "$tests" | tr ',' '\n' | grep -c .)
	grep -q "ktest: $nt passed, 0 failed" "$log" ||
		fail "the in-kernel tests ($tests) did not all pass: $(grep -o 'ktest: [0-9]* passed.*' "$log")"
	if [ "$profile" = vms-uni ]; then
		grep -q "broken_state vCPU 0: the VMCS breaks this VM-entry rule: guest CS" "$log" ||
			fail "the failed entry of broken_state was not explained"
		grep -q "broken_control vCPU 0: VM entry with invalid control field" "$log" ||
			fail "the failed VMLAUNCH of broken_control was not reported"
		grep "VMCS check before the first entry" "$log" | grep -v "broken_" | grep -q . &&
			fail "a correct VMCS failed the entry check"
	fi
	if [ "$profile" = vms-smp ]; then
		grep -q "memtouch_reserved: 64 MiB reserved: 0 x 1 GiB, 31 x 2 MiB, 416 x 4 KiB" "$log" ||
			fail "the reserved VM was not backed with 2 MiB EPT pages"
		grep "vm: memtouch_reserved: vCPU 0:" "$log" | grep -q "EPT violation" &&
			fail "the reserved VM took EPT violations"
		grep -q "\[chatty\] ([0-9]* lines of output dropped: too fast)" "$log" ||
			fail "the chatty guest's flood was not rate-limited"
		[ "$(grep -c '\[chatty\] chatty: a line' "$log")" -le 600 ] ||
			fail "too many of the chatty guest's lines reached the log"
		grep -q "vmstat: spinner vCPU 0: [0-9]* exits" "$log" ||
			fail "no exit counters printed for the running spinner (vmstat=1)"
		# PAUSE-loop exiting where the CPU offers it: the spinning vCPU of the
		# lock test yields (PAUSE exits); with the key off it never exits on PAUSE.
		if grep -q "vmx: VT-x on .*PAUSE-loop exiting" "$log"; then
			grep "vm: spinlock: vCPU [01]: [0-9]* exits" "$log" | grep -q "PAUSE [1-9]" ||
				fail "the spinlock guest's waiting vCPUs never took a PAUSE-loop exit"
		fi
		grep "vm: spinlock_nople: vCPU [01]: [0-9]* exits" "$log" | grep -q "PAUSE [1-9]" &&
			fail "spinlock_nople took PAUSE exits with monitor.pauseLoopExiting = FALSE"
	fi
	case $profile in vms-hostile*) hostile_checks "$profile" ;; esac
	[ "$profile" = vms-shares ] && shares_checks
	[ "$profile" = vms-migrate ] && migrate_checks
	[ "$profile" = vms-pshare ] && pshare_checks
	[ "$profile" = vms-swap ] && swap_checks
	[ "$profile" = vms-virtio ] && virtio_checks
	[ "$profile" = linux-disk ] && linux_disk_checks
	[ "$profile" = vms-net ] && net_checks
	[ "$profile" = linux-balloon ] && balloon_checks
	[ "$profile" = linux-overcommit ] && overcommit_checks
	echo "PASS $name"
	exit 0
fi
want=$(find "$top/vmkernel" "$top/vmm" "$top/drivers" "$top/fs" -name '*.c' -exec cat {} + |
	grep -c '^KTEST(')
grep -q "ktest: $want passed, 0 failed" "$log" ||
	fail "in-kernel tests: expected '$want passed, 0 failed', got '$(grep -o 'ktest: [0-9]* passed, [0-9]* failed' "$log")'"
echo "PASS $name"
