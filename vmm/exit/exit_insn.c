/*
 * Exits caused by instructions the guest executed: CPUID, VMCALL, control
 * register moves, and the instructions a guest may not run (VMX
 * instructions get #UD, RDPMC #GP) or that are emulated as no-ops.
 */
#define pr_fmt(fmt) "vmexit: " fmt
#include <errno.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/log.h>
#include <vmkernel/timer.h>
#include <vmm/vmx.h>
#include <vmm/vmx_caps.h>
#include <vmm/vmx_decode.h>
#include "exit_priv.h"

#define HV_CPUID_BASE		0x40000000
#define HV_CPUID_MAX		0x40000001
#define HV_ABI_VERSION		1

enum exit_action handle_inject_ud(struct vcpu *v)
{
	vcpu_inject_exception(v, X86_EXC_UD, false, 0);
	return EXIT_RESUME;
}

enum exit_action handle_inject_gp(struct vcpu *v)
{
	vcpu_inject_exception(v, X86_EXC_GP, true, 0);
	return EXIT_RESUME;
}

enum exit_action handle_invd_wbinvd(struct vcpu *v)
{
	(void)v;	/* the guest's memory is ours and coherent: nothing to write back */
	return EXIT_SKIP;
}

enum exit_action handle_pause(struct vcpu *v)
{
	(void)v;
	return EXIT_SKIP;
}

enum exit_action handle_xsetbv(struct vcpu *v)
{
	/* XSAVE is not offered (CPUID), so CR4.OSXSAVE cannot be set: XSETBV is #UD. */
	return handle_inject_ud(v);
}

enum exit_action handle_rdrand_rdseed(struct vcpu *v)
{
	(void)v;
	/* Not intercepted by our controls; if a CPU forces it, report "no value" (CF=0). */
	vmcs_writenat(VMCS_GUEST_RFLAGS, vmcs_readnat(VMCS_GUEST_RFLAGS) & ~1UL);
	return EXIT_SKIP;
}

static void cpuid_hypervisor(uint32_t leaf, struct cpuid_regs *r)
{
	*r = (struct cpuid_regs){ 0 };
	if (leaf == HV_CPUID_BASE) {
		r->eax = HV_CPUID_MAX;
		memcpy(&r->ebx, "VMKe", 4);
		memcpy(&r->ecx, "rnel", 4);
		memcpy(&r->edx, "VMM ", 4);
	} else if (leaf == HV_CPUID_MAX) {
		r->eax = HV_ABI_VERSION;
	}
}

/* Leaf 1: hide what is not virtualized (VMX, local APIC, XSAVE/AVX, MONITOR, perf/thermal). */
static void cpuid_leaf1(const struct vcpu *v, struct cpuid_regs *r)
{
	r->ecx &= ~((1U << 3) | (1U << 4) | (1U << 5) | (1U << 6) | (1U << 7) | (1U << 8) |
		    (1U << 11) | (1U << 15) | (1U << 18) | (1U << 21) | (1U << 24) |
		    (1U << 26) | (1U << 27) | (1U << 28));
	r->ecx |= CPUID1_ECX_HYPERVISOR;
	r->edx &= ~((1U << 7) | (1U << 9) | (1U << 14) | (1U << 21) | (1U << 22) |
		    (1U << 28) | (1U << 29) | (1U << 31));
	r->ebx = (r->ebx & 0xffff) | (1U << 16) | ((uint32_t)v->id << 24);
}

static void cpuid_filter(const struct vcpu *v, uint32_t leaf, struct cpuid_regs *r)
{
	const struct vmx_caps *caps = vmx_host_caps();

	switch (leaf) {
	case 0:
		if (r->eax > 0xd)
			r->eax = 0xd;
		break;
	case 1:
		cpuid_leaf1(v, r);
		break;
	case 5: case 6: case 9: case 0xa: case 0xb: case 0xd:
		*r = (struct cpuid_regs){ 0 };	/* MONITOR, power, DCA, perf, topology, XSAVE */
		break;
	case 7:
		r->eax = 0;
		r->ebx &= (1U << 0) | (1U << 3) | (1U << 7) | (1U << 8) | (1U << 9) |
			  (caps->invpcid ? 1U << 10 : 0) | (1U << 18) | (1U << 19) | (1U << 20) |
			  (1U << 23) | (1U << 29);
		r->ecx = 0;
		r->edx = 0;
		break;
	case 0x80000000:
		if (r->eax > 0x80000008)
			r->eax = 0x80000008;
		break;
	case 0x80000001:
		r->ecx &= (1U << 0) | (1U << 5) | (1U << 8);
		r->edx &= (1U << 11) | (1U << 20) | (1U << 26) | (caps->rdtscp ? 1U << 27 : 0) |
			  (1U << 29);
		break;
	}
}

enum exit_action handle_cpuid(struct vcpu *v)
{
	uint32_t leaf = (uint32_t)v->regs.rax, sub = (uint32_t)v->regs.rcx;
	struct cpuid_regs r;
	uint32_t max_basic = cpuid(0, 0).eax, max_ext = cpuid(0x80000000, 0).eax;

	if ((leaf & 0xffffff00) == HV_CPUID_BASE) {
		cpuid_hypervisor(leaf, &r);
	} else if ((leaf < 0x80000000 && leaf > (max_basic > 0xd ? 0xd : max_basic)) ||
		   (leaf >= 0x80000000 && leaf > (max_ext > 0x80000008 ? 0x80000008 : max_ext))) {
		r = (struct cpuid_regs){ 0 };	/* beyond what we report: zeros */
	} else {
		r = cpuid(leaf, sub);
		cpuid_filter(v, leaf, &r);
	}
	v->regs.rax = r.eax;
	v->regs.rbx = r.ebx;
	v->regs.rcx = r.ecx;
	v->regs.rdx = r.edx;
	return EXIT_SKIP;
}

/* ---- hypercalls (docs/hypercalls.md) ---- */

enum {
	HC_VERSION = 0, HC_CONSOLE_WRITE = 1, HC_EXIT = 2, HC_VCPU_ID = 3, HC_SET_TIMER = 4,
	HC_VCPU_START = 5,
};
#define HC_CONSOLE_MAX 4096

static int64_t hc_console_write(struct vcpu *v, uint64_t gpa, uint64_t len)
{
	char buf[256];

	if (len > HC_CONSOLE_MAX)
		return -EINVAL;
	if (gpa + len < gpa || gpa + len > v->vm->ram_size)
		return -EFAULT;
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);

		if (guest_read(v->vm, gpa + done, buf, n))
			return -EFAULT;
		for (size_t i = 0; i < n; i++)
			vm_console_putc(v->vm, buf[i]);
		done += n;
	}
	return (int64_t)len;
}

static int64_t hc_set_timer(struct vcpu *v, uint64_t vector, uint64_t us)
{
	if (us == 0) {
		v->timer_deadline_tsc = 0;
		return 0;
	}
	if (vector < 32 || vector > 255 || us > 3600ULL * 1000000)
		return -EINVAL;
	v->timer_vector = (uint8_t)vector;
	v->timer_deadline_tsc = rdtsc() + us * (tsc_hz() / 1000000);
	return 0;
}

/* Start another vCPU of this VM in the multiboot start state at eip, with esp. */
static int64_t hc_vcpu_start(struct vcpu *v, uint64_t index, uint64_t eip, uint64_t esp)
{
	struct vm *vm = v->vm;
	struct vcpu *t;
	bool expected = false;

	if (index >= vm->nvcpus || index == v->id || (eip >> 32) || (esp >> 32) ||
	    eip >= vm->ram_size)
		return -EINVAL;
	t = vm->vcpus[index];
	if (!__atomic_compare_exchange_n(&t->started, &expected, true, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return -EBUSY;
	t->boot_rip = eip;
	t->boot_rsp = esp;
	return vcpu_start(t) ? -ENOMEM : 0;
}

static unsigned guest_cpl(void)
{
	return (vmcs_read32(VMCS_GUEST_SS_AR) >> 5) & 3;
}

enum exit_action handle_vmcall(struct vcpu *v)
{
	struct vcpu_regs *r = &v->regs;
	int64_t ret;

	if (guest_cpl() != 0) {
		r->rax = (uint64_t)-EPERM;
		return EXIT_SKIP;
	}
	switch (r->rax) {
	case HC_VERSION:
		ret = HV_ABI_VERSION;
		break;
	case HC_CONSOLE_WRITE:
		ret = hc_console_write(v, r->rbx, r->rcx);
		break;
	case HC_EXIT:
		vm_exit(v->vm, (int)(r->rbx & 0xff), "vCPU %u: HC_EXIT", v->id);
		return EXIT_STOP_VM;
	case HC_VCPU_ID:
		ret = v->id;
		break;
	case HC_SET_TIMER:
		ret = hc_set_timer(v, r->rbx, r->rcx);
		break;
	case HC_VCPU_START:
		ret = hc_vcpu_start(v, r->rbx, r->rcx, r->rdx);
		break;
	default:
		ret = -38;	/* ENOSYS */
	}
	r->rax = (uint64_t)ret;
	return EXIT_SKIP;
}

/* ---- control registers ---- */

/* General register n (SDM encoding); RSP lives in the VMCS and is handled by the callers. */
static uint64_t *gpr(struct vcpu *v, unsigned n)
{
	uint64_t *regs[16] = {
		&v->regs.rax, &v->regs.rcx, &v->regs.rdx, &v->regs.rbx, NULL, &v->regs.rbp,
		&v->regs.rsi, &v->regs.rdi, &v->regs.r8, &v->regs.r9, &v->regs.r10, &v->regs.r11,
		&v->regs.r12, &v->regs.r13, &v->regs.r14, &v->regs.r15,
	};

	return regs[n & 15];
}

static uint64_t read_gpr(struct vcpu *v, unsigned n)
{
	return n == 4 ? vmcs_readnat(VMCS_GUEST_RSP) : *gpr(v, n);
}

static void write_gpr(struct vcpu *v, unsigned n, uint64_t val)
{
	if (n == 4)
		vmcs_writenat(VMCS_GUEST_RSP, val);
	else
		*gpr(v, n) = val;
}

#define EFER_LMA (1ULL << 10)

/* Keep EFER.LMA and the "IA-32e mode guest" entry control in step with CR0.PG. */
static void update_long_mode(uint64_t old_cr0, uint64_t new_cr0)
{
	uint64_t efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	uint32_t entry = vmcs_read32(VMCS_ENTRY_CTLS);

	if (!(efer & EFER_LME) || !((old_cr0 ^ new_cr0) & X86_CR0_PG))
		return;
	if (new_cr0 & X86_CR0_PG) {
		efer |= EFER_LMA;
		entry |= ENTRY_IA32E_MODE_GUEST;
	} else {
		efer &= ~EFER_LMA;
		entry &= ~ENTRY_IA32E_MODE_GUEST;
	}
	vmcs_write64(VMCS_GUEST_IA32_EFER, efer);
	vmcs_write32(VMCS_ENTRY_CTLS, entry);
}

/* CR0 bits 63:32 and the reserved ones among 31:0 (SDM 3A 2.5). */
#define CR0_RESERVED (~0xe005003fULL)

static bool set_cr0(struct vcpu *v, uint64_t val)
{
	uint64_t efer = vmcs_read64(VMCS_GUEST_IA32_EFER);

	(void)v;
	if ((val & CR0_RESERVED) || ((val & X86_CR0_PG) && !(val & X86_CR0_PE)) ||
	    ((val & (1UL << 29)) && !(val & (1UL << 30))) ||
	    ((val & X86_CR0_PG) && (efer & EFER_LME) && !(vcpu_cr4() & X86_CR4_PAE)))
		return false;
	update_long_mode(vcpu_cr0(), val);
	vmcs_writenat(VMCS_GUEST_CR0, vmx_real_cr0(val));
	vmcs_writenat(VMCS_CR0_READ_SHADOW, val);
	return true;
}

static bool set_cr4(struct vcpu *v, uint64_t val)
{
	const struct vmx_caps *caps = vmx_host_caps();
	uint64_t hidden = X86_CR4_VMXE | (1UL << 18) /* OSXSAVE */ | (1UL << 14) /* SMXE */;

	(void)v;
	if ((val & hidden) || (val & ~(caps->cr4_fixed1 | X86_CR4_VMXE)) || (val & ~CR4_GUEST_OWNED))
		return false;
	vmcs_writenat(VMCS_GUEST_CR4, vmx_real_cr4(val));
	vmcs_writenat(VMCS_CR4_READ_SHADOW, val);
	return true;
}

static enum exit_action mov_to_cr(struct vcpu *v, unsigned cr, uint64_t val)
{
	bool ok = true;

	switch (cr) {
	case 0:
		ok = set_cr0(v, val);
		break;
	case 4:
		ok = set_cr4(v, val);
		break;
	case 8:
		if (val & ~0xfULL)
			ok = false;
		else
			v->tpr = (uint8_t)val;
		break;
	default:
		ok = false;
	}
	return ok ? EXIT_SKIP : handle_inject_gp(v);
}

enum exit_action handle_cr_access(struct vcpu *v)
{
	struct vmx_cr_access cr;

	if (vmx_decode_cr(v->exit.qual, &cr))
		goto unexpected;
	switch (cr.type) {
	case VMX_CR_MOV_TO:
		return mov_to_cr(v, cr.cr, read_gpr(v, cr.gpr));
	case VMX_CR_MOV_FROM:
		if (cr.cr != 8)
			break;
		write_gpr(v, cr.gpr, v->tpr);
		return EXIT_SKIP;
	case VMX_CR_CLTS:
		return set_cr0(v, vcpu_cr0() & ~X86_CR0_TS) ? EXIT_SKIP : handle_inject_gp(v);
	case VMX_CR_LMSW:
		/* LMSW loads CR0 bits 3:0 but cannot clear PE. */
		return set_cr0(v, (vcpu_cr0() & ~0xeULL) | (cr.lmsw_src & 0xf)) ?
		       EXIT_SKIP : handle_inject_gp(v);
	}
unexpected:
	vm_stop(v->vm, VMCONFIG_STOP_UNSUPPORTED, -1,
		"vCPU %u: unexpected control-register access (qualification %#llx)", v->id,
		(unsigned long long)v->exit.qual);
	return EXIT_STOP_VM;
}
