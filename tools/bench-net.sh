#!/bin/sh
# bench-net.sh (make bench): VM-to-VM networking in Bochs against a Linux guest
# talking to itself over loopback in the same run.
#
# Two Linux VMs on vSwitch0's "VM Network" (2 host CPUs: one each). The "measure" VM
# (tests/linux/init, net_bench) first pings 127.0.0.1 and sends the 3.2 MiB test file
# to itself over TCP with busybox nc; then it pings the other VM and sends it the same
# file through virtio-net and the vSwitch. Loopback is the baseline because it runs
# the same guest stack, the same busybox programs and the same copies on the same
# (emulated) CPU, with no device: what the VM-to-VM figure adds is the hypervisor's
# path (notifications, the I/O worlds, the switch, interrupts) plus the peer's stack.
#
# Guest time: ping's figures come from the guest's clock; the transfer is timed with
# the guest's TSC, which under Bochs counts emulated instructions (with Bochs at
# 100 MHz, 1e8 ticks are one emulated second). The receiver's size and MD5 must match
# the file's, or the figure is not printed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
elf=$top/build/vmkernel.elf
lin=$top/build/linux
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
s=$work/net.serial

for v in a b; do
	case $v in
	a) ip=10.0.0.1 peer=10.0.0.2 role=measure ;;
	b) ip=10.0.0.2 peer=10.0.0.1 role=sink ;;
	esac
	cat > "$work/netbench-$v.vmx" <<VMX
displayName = "netbench-$v"
memsize = "192"
guest.type = "linux"
guest.kernel = "vmlinuz"
guest.initrd = "initrd.gz"
guest.cmdline = "console=ttyS0 loglevel=5 vmk.netbench=$ip/24,peer=$peer,$role"
ethernet0.present = "TRUE"
ethernet0.virtualDev = "virtio-net"
ethernet0.networkName = "VM Network"
test.expect = "poweroff"
VMX
done
# BENCH_NET_SERIAL=LOG: print the figures of an earlier run's log instead of running one.
if [ -n "${BENCH_NET_SERIAL:-}" ]; then
	cp "$BENCH_NET_SERIAL" "$s"
else
	sh "$top/tools/mkiso.sh" "$work/net.iso" "$elf" "console=com1 test=vm_expectations" 0 \
		"$work/netbench-a.vmx" "$work/netbench-b.vmx" "$lin/vmlinuz" "$lin/initrd.gz"
	BOCHS_IPS=100000000 sh "$top/tools/run-bochs.sh" "$work/net.iso" "$s" 2 512 \
		"${BENCH_NET_TIMEOUT:-3000}" || true
	cp "$s" "$top/build/bench-net.serial"	# kept for a look at what the VMs said
fi

# A value from the measure VM's "vmk-init: netbench ..." lines.
a() { sed -n "s/.*\[netbench-a\] vmk-init: netbench $1.*/\1/p" "$s" | head -1; }
data=$(sed -n 's/.*\[netbench-a\] vmk-init: netbench data \([0-9]* [0-9a-f]*\).*/\1/p' "$s" | head -1)
lo_rx=$(a 'loopback tcp [0-9]* ticks received \([0-9]* [0-9a-f]*\)')
lo_ticks=$(a 'loopback tcp \([0-9]*\) ticks')
vm_rx=$(sed -n 's/.*\[netbench-b\] vmk-init: netbench vm tcp-received \([0-9]* [0-9a-f]*\).*/\1/p' \
	"$s" | head -1)
vm_ticks=$(a 'vm tcp \([0-9]*\) ticks')
lo_ping=$(a 'loopback ping min\/avg\/max \([0-9.]* [0-9.]* [0-9.]*\) ms')
vm_ping=$(a 'vm ping min\/avg\/max \([0-9.]* [0-9.]* [0-9.]*\) ms')
pings=$(sed -n 's/^NB_PINGS=\([0-9]*\).*/\1/p' "$top/tests/linux/init")
mhz=$(a 'tsc-mhz \([0-9.]*\)')

echo "VM-to-VM network in Bochs (2 Linux VMs on vSwitch0, virtio-net, 2 host CPUs; guest time):"
sed -n 's/.*vm: \(netbench-[ab]\): started: .*\(vCPU 0 on CPU [0-9]*\).*/  (\1: \2)/p' "$s"
if [ -z "$data" ]; then
	echo "  the measuring VM did not report (build/bench-net.serial; its last lines:)"
	tail -5 "$s" | sed 's/^/  | /'
	exit 0
fi
set -- $data
bytes=$1
# A transfer counts only when what arrived is what was sent.
tcp_line() {	# what ticks received
	if [ -z "$2" ] || [ "$3" != "$data" ]; then
		echo "  TCP $1: no figure (sent $data, received '${3:-nothing}', ticks '${2:-none}')"
		return
	fi
	awk -v w="$1" -v b="$bytes" -v t="$2" -v mhz="$mhz" 'BEGIN {
		printf "  TCP %s: %d bytes in %d TSC ticks: %.1f bytes per 1000 ticks", w, b, t, b * 1000 / t
		if (mhz + 0 > 0)
			printf " (%.2f MB/s at the guest'"'"'s %.0f MHz TSC)", b / (t / (mhz * 1e6)) / 1e6, mhz
		printf "\n"
	}'
}
tcp_line "over loopback, in one VM" "$lo_ticks" "$lo_rx"
tcp_line "VM to VM" "$vm_ticks" "$vm_rx"
if [ -n "$lo_ticks" ] && [ -n "$vm_ticks" ] && [ "$lo_rx" = "$data" ] && [ "$vm_rx" = "$data" ]; then
	awk -v l="$lo_ticks" -v v="$vm_ticks" 'BEGIN {
		printf "  TCP throughput VM to VM / loopback: %.3f\n", l / v }'
fi
if [ -n "$lo_ping" ] && [ -n "$vm_ping" ]; then
	echo "$lo_ping $vm_ping" | awk -v n="$pings" '{
		printf "  ping round trip, %d echo requests each, min/avg/max ms of guest time: loopback %s/%s/%s, VM to VM %s/%s/%s\n", n, $1, $2, $3, $4, $5, $6
		if ($1 > 0 && $2 > 0)
			printf "  ping round trip VM to VM / loopback: min %.2f, avg %.2f\n", $4 / $1, $5 / $2
	}'
else
	echo "  ping: no figure (loopback '${lo_ping:-none}', VM to VM '${vm_ping:-none}')"
fi
# The device's own counters, logged when each VM ends: notification exits and interrupts
# per frame over the VM's whole network life (the transfer is nearly all of it).
for v in a b; do
	fr=$(sed -n "s/.*virtio-net: netbench-$v: ethernet0: port on [^:]*: tx \([0-9]*\) frames [0-9]* bytes, rx \([0-9]*\) frames.*/\1 \2/p" "$s" | head -1)
	ev=$(sed -n "s/.*netbench-$v: virtio-net 'ethernet0': \([0-9]*\) notifications, [0-9]* requests, \([0-9]*\) interrupts.*/\1 \2/p" "$s" | head -1)
	[ -n "$fr" ] && [ -n "$ev" ] || { echo "  netbench-$v: no device counters in the log"; continue; }
	echo "$fr $ev" | awk -v v="$v" '{
		f = $1 + $2
		printf "  netbench-%s virtio-net: %d frames (tx %d, rx %d), %d notification exits, %d interrupts: %.3f exits and %.3f interrupts per frame\n", v, f, $1, $2, $3, $4, f ? $3 / f : 0, f ? $4 / f : 0
	}'
done
