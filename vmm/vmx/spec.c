/*
 * Speculative-execution hygiene between the host and guests and between
 * guests. What each CPU needs is decided once at VM start-up from CPUID,
 * IA32_ARCH_CAPABILITIES and the spec.* kernel options (spec_policy.c,
 * where the rules are); this file carries it out:
 *
 *  - IBPB (IA32_PRED_CMD) when a CPU switches to a vCPU of another VM, so
 *    one VM cannot train the branch predictors against the next;
 *  - the L1 data-cache flush (IA32_FLUSH_CMD) before VM entry (L1TF):
 *    "always" before every entry; "cond" when the host ran anything else
 *    on that CPU since the last entry: another world (any world switch),
 *    a host interrupt, or an exit handler that touches more than the
 *    vCPU's own registers (spec_after_exit); "never";
 *  - VERW right before VM entry to clear CPU buffers (MDS), done in
 *    vmx_entry.S when vmx_verw_on_entry is set;
 *  - branch-target injection from guests (Spectre v2): enhanced IBRS set
 *    once on every CPU; or IBRS set on every VM exit and cleared for the
 *    guest on entry; and in every case the retpolines the vmkernel is
 *    compiled with (-mindirect-branch=thunk) and the return stack buffer
 *    refilled after every VM exit (vmx_entry.S);
 *  - SMT: with spec.smt=isolate, vCPUs of different VMs never share a core
 *    (spec_cpu_free when vCPUs are placed, spec_cpu_allowed claims the core).
 *
 * A guest has its own IA32_SPEC_CTRL where the host CPU has one (the bits
 * the CPU enumerates: IBRS, STIBP, SSBD): reads and writes exit (the
 * value is the vCPU's), the value goes into the MSR just before entry
 * (OR'd with IBRS under enhanced IBRS) and the host's comes back right
 * after the exit; the MSR is written only when the value changes, so a
 * guest that never sets a bit costs nothing. IA32_PRED_CMD writes (IBPB)
 * are passed to the CPU.
 */
#define pr_fmt(fmt) "vmx: " fmt
#include <string.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/cpu.h>
#include <vmkernel/log.h>
#include <vmkernel/percpu.h>
#include <vmkernel/smp.h>
#include <vmm/quarantine.h>
#include <vmm/spec_policy.h>
#include <vmm/vm.h>
#include <vmm/vmx.h>
#include "vmx_priv.h"

#define MSR_IA32_SPEC_CTRL		0x48
#define MSR_IA32_PRED_CMD		0x49
#define MSR_IA32_ARCH_CAPABILITIES	0x10a
#define MSR_IA32_FLUSH_CMD		0x10b

static struct spec_policy policy;
uint8_t vmx_verw_on_entry;	/* read by vmx_entry.S */
static unsigned smt_shift;	/* APIC-ID bits that number the threads of a core */
/* spec.smt=isolate: the VM whose vCPUs a core runs (indexed by core), placement only */
static const struct vm *core_owner[64];

static void read_cpu(struct spec_cpu *c)
{
	struct cpuid_regs v = cpuid(0, 0), one = cpuid(1, 0);
	unsigned fam = (one.eax >> 8) & 0xf, model = (one.eax >> 4) & 0xf;

	memset(c, 0, sizeof(*c));
	c->vendor = v.ebx == 0x756e6547 ? SPEC_INTEL : v.ebx == 0x68747541 ? SPEC_AMD : SPEC_OTHER;
	if (fam == 0xf)
		fam += (one.eax >> 20) & 0xff;
	if (fam == 6 || fam >= 0xf)
		model |= ((one.eax >> 16) & 0xf) << 4;
	c->family = fam;
	c->model = model;
	c->stepping = one.eax & 0xf;
	c->hypervisor = one.ecx & (1U << 31);
	c->cpuid7_edx = v.eax >= 7 ? cpuid(7, 0).edx : 0;
	if (c->cpuid7_edx & SPEC_CPUID7_ARCH_CAPS)
		rdmsr_safe(MSR_IA32_ARCH_CAPABILITIES, &c->arch_caps);
	/* Threads per core from leaf 0xb's SMT level: its shift of the x2APIC ID. */
	if (v.eax >= 0xb && ((cpuid(0xb, 0).ecx >> 8) & 0xff) == 1)
		smt_shift = cpuid(0xb, 0).eax & 0x1f;
	c->smt = smt_shift > 0 && pcpu_online_count() > 1;
}

static void read_choice(struct spec_choice *ch)
{
	const char *l1d = bootparam_get("spec.l1d_flush"), *smt = bootparam_get("spec.smt");
	const char *v2 = bootparam_get("spec.v2");

	*ch = (struct spec_choice){ SPEC_L1D_AUTO, SPEC_SMT_AUTO, SPEC_V2_AUTO };
	if (l1d && spec_parse_l1d(l1d, &ch->l1d))
		pr_warn("spec.l1d_flush=%s: use never, cond, always or auto; auto it is\n", l1d);
	if (smt && spec_parse_smt(smt, &ch->smt))
		pr_warn("spec.smt=%s: use allow, isolate or auto; auto it is\n", smt);
	if (v2 && spec_parse_v2(v2, &ch->v2))
		pr_warn("spec.v2=%s: use eibrs, ibrs, retpoline or auto; auto it is\n", v2);
}

static void set_ibrs(void *arg)
{
	struct vmm_cpu *vc = vmm_this_cpu();

	(void)arg;
	wrmsr(MSR_IA32_SPEC_CTRL, SPEC_CTRL_IBRS);
	if (vc)
		vc->spec_ctrl = SPEC_CTRL_IBRS;
}

void spec_probe(void)
{
	struct spec_cpu cpu;
	struct spec_choice choice;

	read_cpu(&cpu);
	read_choice(&choice);
	spec_decide(&cpu, &choice, &policy);
	vmx_verw_on_entry = policy.verw;
	if (policy.v2 == SPEC_V2_EIBRS || policy.v2 == SPEC_V2_IBRS)
		smp_call_all(set_ibrs, NULL);	/* the host runs with IBRS from here on */
	pr_info("speculation: CPU family %u model %#x stepping %u%s: L1TF %s, MDS %s\n",
		cpu.family, cpu.model, cpu.stepping, cpu.hypervisor ? " (nested)" : "",
		policy.l1tf ? "affected" : "not affected", policy.mds ? "affected" : "not affected");
	pr_info("speculation: L1D flush on entry %s, SMT %s, Spectre v2 from guests: %s, "
		"IBPB between VMs %s, VERW on entry %s, RSB refill on exit\n",
		spec_l1d_name(policy.l1d), spec_smt_name(policy.smt), spec_v2_name(policy.v2),
		policy.ibpb ? "on" : "not available", policy.verw ? "on" : "not needed");
	if (policy.why[0])
		pr_warn("speculation: %s\n", policy.why);
}

/* Called when this CPU switches to a vCPU of `vm` (the world switch-in hook). */
void spec_switch_to_vm(struct vmm_cpu *vc, const struct vm *vm)
{
	vc->l1d_stale = true;	/* another world ran here: its data may be in L1D */
	if (vc->last_vm == vm)
		return;
	if (policy.ibpb && vc->last_vm)
		wrmsr(MSR_IA32_PRED_CMD, 1);
	vc->last_vm = vm;
}

uint32_t spec_guest_cpuid7_edx(void)
{
	return policy.guest_cpuid7_edx;
}

uint64_t spec_guest_spec_ctrl_mask(void)
{
	return policy.guest_spec_ctrl_mask;
}

/* A guest's IBPB (IA32_PRED_CMD bit 0): only offered where the CPU has it. */
void spec_guest_ibpb(void)
{
	wrmsr(MSR_IA32_PRED_CMD, 1);
}

/* Right after a VM exit, interrupts still off. */
void spec_after_exit(struct vmm_cpu *vc)
{
	if (vc->spec_ctrl != policy.host_spec_ctrl) {
		wrmsr(MSR_IA32_SPEC_CTRL, policy.host_spec_ctrl);
		vc->spec_ctrl = policy.host_spec_ctrl;
	}
	if (policy.l1d == SPEC_L1D_COND &&
	    !spec_exit_is_l1d_safe(vmcs_read32(VMCS_EXIT_REASON) & 0xffff))
		vc->l1d_stale = true;
}

/* Just before VM entry, interrupts off; guest_spec_ctrl is the vCPU's own value. */
void spec_before_entry(struct vmm_cpu *vc, uint64_t guest_spec_ctrl)
{
	uint64_t want = policy.guest_spec_ctrl_base | guest_spec_ctrl;

	tlb_flush_if_owed();	/* retired pages wait for this CPU's flush (mem/quarantine.c) */
	if (policy.l1d == SPEC_L1D_ALWAYS || (policy.l1d == SPEC_L1D_COND && vc->l1d_stale))
		wrmsr(MSR_IA32_FLUSH_CMD, 1);
	vc->l1d_stale = false;
	if (vc->spec_ctrl != want) {
		wrmsr(MSR_IA32_SPEC_CTRL, want);
		vc->spec_ctrl = want;
	}
}

static unsigned core_of(unsigned cpu)
{
	return (pcpu_array[cpu].apic_id >> smt_shift) % 64;
}

/*
 * May a vCPU of vm be placed on cpu? Under spec.smt=isolate a core runs
 * vCPUs of one VM only; the first VM placed on a core keeps it.
 */
bool spec_cpu_free(unsigned cpu, const struct vm *vm)
{
	unsigned core = core_of(cpu);

	return policy.smt != SPEC_SMT_ISOLATE || !smt_shift || !core_owner[core] ||
	       core_owner[core] == vm;
}

bool spec_vcpus_may_move(void)
{
	return policy.smt != SPEC_SMT_ISOLATE || !smt_shift;
}

bool spec_cpu_allowed(unsigned cpu, const struct vm *vm)
{
	unsigned core = core_of(cpu);

	if (policy.smt != SPEC_SMT_ISOLATE || !smt_shift)
		return true;
	if (core_owner[core] && core_owner[core] != vm)
		return false;
	core_owner[core] = vm;
	return true;
}
