# Sourced by run-case.sh: the VM sets of hostile guests (tests/guests/hostile_*)
# and what their serial logs must show beyond every VM ending as its
# test.expect says. Each set runs beside well-behaved VMs that must finish.

# hostile_profile PROFILE: set extra, tests and guests for a vms-hostile* profile.
hostile_profile() {
	tests=vm_expectations
	case $1 in
	vms-hostile)
		extra=vmstat=1
		guests="cpuid hostile_debug hostile_dbloop.vmx hostile_acloop.vmx hostile_strio
			hostile_strio_pt.vmx hostile_strio_above.vmx hostile_strio_hole.vmx
			hostile_strio_mmio.vmx" ;;
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
	esac
}
