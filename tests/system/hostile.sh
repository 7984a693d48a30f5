# Sourced by run-case.sh: the VM sets of hostile guests (tests/guests/hostile_*)
# and what their serial logs must show beyond every VM ending as its
# test.expect says. Each set runs beside well-behaved VMs that must finish.

# hostile_profile PROFILE: set extra, tests and guests for a vms-hostile* profile.
hostile_profile() {
	tests=vm_expectations extra=
	case $1 in
	vms-hostile)
		extra=vmstat=1
		guests="cpuid hostile_debug hostile_dbloop.vmx hostile_acloop.vmx hostile_strio
			hostile_strio_pt.vmx hostile_strio_above.vmx hostile_strio_hole.vmx
			hostile_strio_mmio.vmx hostile_leak hostile_leak_paint.vmx" ;;
	vms-hostile-smp)
		# Two host CPUs: hypercall and MMIO attacks, two of them with two vCPUs.
		guests="cpuid hostile_hcall hostile_hcall_race.vmx hostile_mmio hostile_mmio_pastend.vmx
			hostile_mmio_ptmmio.vmx hostile_mmio_idtmmio.vmx hostile_mmio_race.vmx" ;;
	vms-hostile-fuzz)
		# The random-exit fuzzer beside a well-behaved VM on one host CPU: a
		# million exits take Bochs minutes, more on a loaded machine, and
		# some seeds cost far more emulated time than others (a guest timer
		# storm at the shortest period the vLAPIC and PIT allow makes every
		# exit dearer), so the VMs get 1500 emulated seconds, not 600.
		extra="vmstat=30 vmtest.wait=1500"
		tmo=${SYSTEM_TIMEOUT_FUZZ:-1800}
		guests="cpuid hostile_fuzz" ;;
	vms-hostile-mem)
		# On a 128 MiB host: a reserved VM that touches all its RAM, a greedy one
		# that would run the host dry, and two whose memory cannot be held.
		guests="hostile_memhog hostile_memhog_over.vmx bad_memsize.vmx bad_mem_min.vmx" ;;
	vms-hostile-flood)
		# Three console floods and a timer-driven neighbour, all on one host CPU.
		guests="hostile_flood hostile_flood1.vmx hostile_flood2.vmx hostile_flood3.vmx" ;;
	*) echo "FAIL $name: unknown profile '$1'"; exit 1 ;;
	esac
}

# hostile_checks PROFILE: after the common VM checks passed.
hostile_checks() {
	case $1 in
	vms-hostile)
		# Each round of the #DB and #AC loops is a VM exit: at least a thousand of them.
		for vm in hostile_dbloop hostile_acloop; do
			grep -q "vm: $vm: vCPU 0: [0-9]* exits, exception or NMI [0-9]\{4,\}" "$log" ||
				fail "$vm: its loop did not go through a thousand VM exits"
		done
		;;
	vms-hostile-mem)
		grep -q "vm: bad_memsize: not started: memsize 65536 MiB .* can never be held by this host: VMs may hold [0-9]* MiB" "$log" ||
			fail "the VM whose memsize the host cannot hold was not refused with the numbers"
		grep -q "vm: bad_mem_min: not started: its reservation of [0-9]* MiB (sched.mem.min 72 MiB" "$log" ||
			fail "the VM whose reservation does not fit was not refused with the numbers"
		grep -q "vm: hostile_memhog_over: ended (stopped:killed): vCPU 0: touching guest-physical .*: guest RAM exhausted: [0-9]* MiB free on the host, [0-9]* MiB kept for the vmkernel" "$log" ||
			fail "the greedy VM was not stopped at the vmkernel's reserve"
		grep -q "vm: hostile_memhog_over: CPU: shares 2000, .*; vCPUs on CPUs 0[^0-9,]" "$log" ||
			fail "the greedy VM's sched.cpu.shares and sched.cpu.affinity were not applied"
		# The memory scheduler saw both; the reserved VM (sched.mem.min = memsize) is never
		# given a swap target, whatever the state the greedy one drives the host into.
		grep -q "memsched: hostile_memhog: sched.mem.shares 400, sched.mem.min 40 MiB" "$log" &&
			grep -q "memsched: hostile_memhog_over: sched.mem.shares 960, sched.mem.min 0 MiB" "$log" ||
			fail "the memory scheduler did not report both VMs"
		grep -q "swap target [0-9]* pages for VM hostile_memhog " "$log" &&
			fail "the fully reserved VM was given a swap target"
		;;
	vms-hostile-smp)
		for want in "hostile_mmio_pastend: ended (stopped:unsupported): .*the access runs past the end of the device's registers" \
			"hostile_mmio_ptmmio: ended (stopped:unsupported): .*the guest's page tables are in the registers of ioapic" \
			"hostile_mmio_idtmmio: ended (stopped:unsupported): .*event delivery (IDT, GDT, TSS or stack) touched the registers of ioapic" \
			"hostile_mmio_race: ended (stopped:unsupported): .*instruction at RIP does not match the access"; do
			grep -q "vm: $want" "$log" || fail "no line 'vm: $want'"
		done
		;;
	vms-hostile-fuzz)
		grep -q "\[hostile_fuzz\] hostile_fuzz: seed [0-9]* (replay with" "$log" ||
			fail "the fuzzer's seed is not in the log"
		exits=$(sed -n 's/.*vm: hostile_fuzz: vCPU 0: \([0-9]*\) exits.*/\1/p' "$log")
		[ "${exits:-0}" -ge 1000000 ] || fail "the fuzzer made ${exits:-no} exits, not a million"
		;;
	vms-hostile-flood)
		for vm in hostile_flood1 hostile_flood2 hostile_flood3; do
			grep -q "\[$vm\] ([0-9]* lines of output dropped" "$log" ||
				fail "$vm: the log does not say how much of its flood was dropped"
		done
		;;
	esac
}
