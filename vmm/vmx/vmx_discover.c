/*
 * VT-x discovery on every CPU.
 *
 * At INIT_SUBSYS, after the APs are up, each online CPU reads CPUID and its
 * VMX capability MSRs, locks IA32_FEATURE_CONTROL with VMXON enabled if the
 * firmware left it unlocked (as every VT-x OS does), decodes the values with
 * vmx_caps_decode() and publishes the result in its own struct pcpu: `vmx`
 * points to the decoded struct vmx_caps, `vmx_ok` says whether it may run
 * virtual machines. VMXON is not executed here.
 *
 * CPU 0's capabilities are the host's reference: the VMM builds one VMCS
 * layout and one set of control values for every CPU, so a CPU whose
 * features differ from CPU 0's (an asymmetric or misconfigured host) gets
 * vmx_ok = false in a second pass and is named in a warning. The boot CPU
 * then prints one summary line.
 *
 * Each CPU writes only its own pcpu fields. The struct vmx_caps blocks are
 * allocated on the boot CPU beforehand, so the probe (which runs with
 * interrupts disabled) neither allocates nor sleeps. host_ref is written once
 * during boot and only read afterwards.
 */
#define pr_fmt(fmt) "vmx: " fmt

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vmkernel/config.h>
#include <vmkernel/cpu.h>
#include <vmkernel/init.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/percpu.h>
#include <vmkernel/smp.h>
#include <vmm/vmx_caps.h>

#define VMX_WARN_CPUS_MAX	8	/* CPUs named individually in a warning */

static struct vmx_caps *probe_slots[CONFIG_MAX_CPUS];	/* written before the probe */
static const struct vmx_caps *host_ref;			/* CPU 0's caps if usable */

/* RDMSR that records the first VMX MSR that faults instead of taking a #GP. */
static bool probe_rdmsr(struct vmx_msrs *m, uint32_t msr, uint64_t *v)
{
	if (rdmsr_safe(msr, v))
		return true;
	*v = 0;
	if (!m->unreadable_msr)
		m->unreadable_msr = msr;
	return false;
}

static void probe_feature_control(struct vmx_msrs *m)
{
	uint64_t new_fc;

	m->feature_control_readable = rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &m->feature_control);
	if (!m->feature_control_readable)
		return;
	if (vmx_feature_control_plan(m->feature_control, &new_fc) != 1)
		return;
	wrmsr(MSR_IA32_FEATURE_CONTROL, new_fc);
	m->feature_control_readable = rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &m->feature_control);
}

static void probe_msrs(struct vmx_msrs *m)
{
	memset(m, 0, sizeof(*m));
	m->cpuid_vmx = cpuid(1, 0).ecx & CPUID1_ECX_VMX;
	if (!m->cpuid_vmx)
		return;
	probe_feature_control(m);
	probe_rdmsr(m, MSR_IA32_VMX_BASIC, &m->basic);
	probe_rdmsr(m, MSR_IA32_VMX_PINBASED_CTLS, &m->pinbased);
	probe_rdmsr(m, MSR_IA32_VMX_PROCBASED_CTLS, &m->procbased);
	probe_rdmsr(m, MSR_IA32_VMX_EXIT_CTLS, &m->exit);
	probe_rdmsr(m, MSR_IA32_VMX_ENTRY_CTLS, &m->entry);
	probe_rdmsr(m, MSR_IA32_VMX_MISC, &m->misc);
	probe_rdmsr(m, MSR_IA32_VMX_CR0_FIXED0, &m->cr0_fixed0);
	probe_rdmsr(m, MSR_IA32_VMX_CR0_FIXED1, &m->cr0_fixed1);
	probe_rdmsr(m, MSR_IA32_VMX_CR4_FIXED0, &m->cr4_fixed0);
	probe_rdmsr(m, MSR_IA32_VMX_CR4_FIXED1, &m->cr4_fixed1);
	if (vmx_msrs_want(m) & VMX_WANT_TRUE_CTLS) {
		probe_rdmsr(m, MSR_IA32_VMX_TRUE_PINBASED_CTLS, &m->true_pinbased);
		probe_rdmsr(m, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, &m->true_procbased);
		probe_rdmsr(m, MSR_IA32_VMX_TRUE_EXIT_CTLS, &m->true_exit);
		probe_rdmsr(m, MSR_IA32_VMX_TRUE_ENTRY_CTLS, &m->true_entry);
	}
	if (vmx_msrs_want(m) & VMX_WANT_PROCBASED2)
		m->has_procbased2 = probe_rdmsr(m, MSR_IA32_VMX_PROCBASED_CTLS2, &m->procbased2);
	if (vmx_msrs_want(m) & VMX_WANT_EPT_VPID_CAP)
		m->has_ept_vpid_cap = probe_rdmsr(m, MSR_IA32_VMX_EPT_VPID_CAP, &m->ept_vpid_cap);
	if (vmx_msrs_want(m) & VMX_WANT_VMFUNC)
		probe_rdmsr(m, MSR_IA32_VMX_VMFUNC, &m->vmfunc);
}

/* smp_call_all() callback: runs on each CPU with interrupts disabled. */
static void vmx_probe_cpu(void *arg)
{
	struct pcpu *p = this_cpu();
	struct vmx_caps *c;
	struct vmx_msrs m;

	(void)arg;
	if (p->id >= CONFIG_MAX_CPUS || !probe_slots[p->id])
		return;
	c = probe_slots[p->id];
	probe_msrs(&m);
	vmx_caps_decode(&m, c);
	if (c->status == VMX_OK && c->fc_needs_lock) {
		/* Our write to IA32_FEATURE_CONTROL did not stick: VMXON would fault. */
		c->status = VMX_DISABLED_BY_FIRMWARE;
		snprintf(c->reason, sizeof(c->reason), "IA32_FEATURE_CONTROL (0x3a) ignored the "
			 "write that locks it with VMXON enabled: check the BIOS VT-x setting");
	}
	p->vmx = c;
	p->vmx_ok = c->status == VMX_OK;
}

/* Second pass: a CPU may run VMs only if it matches CPU 0 (arg, NULL if unusable). */
static void vmx_check_cpu(void *arg)
{
	const struct vmx_caps *ref = arg;
	struct pcpu *p = this_cpu();
	const struct vmx_caps *c = p->vmx;

	p->vmx_ok = ref && c && c->status == VMX_OK && vmx_caps_equal_features(c, ref);
}

static void warn_cpu(unsigned int cpu, const struct vmx_caps *ref)
{
	const struct vmx_caps *c = pcpu_array[cpu].vmx;
	char diff[256];

	if (!c) {
		pr_warn("CPU %u: the VT-x probe did not run\n", cpu);
	} else if (c->status != VMX_OK) {
		pr_warn("CPU %u: %s\n", cpu, c->reason);
	} else {
		vmx_caps_diff(c, ref, diff, sizeof(diff));
		pr_warn("CPU %u: VT-x features differ from CPU 0 (%s)\n", cpu, diff);
	}
}

static void report_mixed(unsigned int online, unsigned int ok, const struct vmx_caps *ref)
{
	unsigned int named = 0;

	pr_warn("VT-x is not the same on every CPU: %u of %u CPUs differ from CPU 0 and will "
		"not run virtual machines\n", online - ok, online);
	for (unsigned int i = 0; i < pcpu_count; i++) {
		if (!pcpu_array[i].online || pcpu_array[i].vmx_ok)
			continue;
		if (named++ < VMX_WARN_CPUS_MAX)
			warn_cpu(i, ref);
	}
	if (named > VMX_WARN_CPUS_MAX)
		pr_warn("... and %u more CPUs without usable VT-x\n", named - VMX_WARN_CPUS_MAX);
}

static void vmx_report(const struct vmx_caps *cpu0, const struct vmx_caps *ref)
{
	unsigned int online = 0, ok = 0;
	char summary[256];

	if (!ref) {
		pr_warn("no VT-x: %s; virtual machines cannot run on this host\n",
			cpu0 ? cpu0->reason : "the VT-x probe did not run on CPU 0");
		return;
	}
	for (unsigned int i = 0; i < pcpu_count; i++) {
		if (!pcpu_array[i].online)
			continue;
		online++;
		ok += pcpu_array[i].vmx_ok;
	}
	vmx_caps_summary(ref, summary, sizeof(summary));
	if (ok != online)
		report_mixed(online, ok, ref);
	pr_info("VT-x on %u/%u CPUs: %s\n", ok, online, summary);
}

static int vmx_alloc_slots(void)
{
	for (unsigned int i = 0; i < pcpu_count && i < CONFIG_MAX_CPUS; i++) {
		if (!pcpu_array[i].online || probe_slots[i])
			continue;
		probe_slots[i] = kzalloc(sizeof(struct vmx_caps));
		if (!probe_slots[i])
			return -ENOMEM;
	}
	return 0;
}

static int vmx_discover_init(void)
{
	const struct vmx_caps *cpu0, *ref;
	int rc;

	rc = vmx_alloc_slots();
	if (rc) {
		pr_err("no VT-x: out of memory for the capability tables; virtual machines "
		       "cannot run on this host\n");
		return rc;
	}
	rc = smp_call_all(vmx_probe_cpu, NULL);
	if (rc)
		pr_warn("the VT-x probe did not run on every CPU (%d)\n", rc);

	cpu0 = pcpu_array[0].vmx;
	ref = cpu0 && cpu0->status == VMX_OK ? cpu0 : NULL;
	rc = smp_call_all(vmx_check_cpu, (void *)ref);
	if (rc)
		pr_warn("the VT-x consistency check did not run on every CPU (%d)\n", rc);
	host_ref = ref;
	vmx_report(cpu0, ref);
	return 0;
}
INIT_LEVEL(vmx_discover_init, INIT_SUBSYS);

bool vmx_host_usable(void)
{
	return host_ref != NULL;
}

const struct vmx_caps *vmx_host_caps(void)
{
	return host_ref;
}
