/*
 * VMCS set-up for a vCPU: execution controls chosen from the capability
 * MSRs, host state, the initial guest state of a multiboot guest, and the
 * diagnosis of failed VM entries.
 *
 * Controls: each set is the bits we want, adjusted by the allowed-0/1
 * masks (vmx_adjust_controls). What we cannot do without is "required":
 * if the CPU lacks it, the vCPU is refused with the control named. What
 * is merely useful (the preemption timer, VPID) is used when present.
 *
 * Isolation comes from these choices: every I/O port and every MSR not
 * explicitly passed through exits; external interrupts and NMIs exit to
 * the host; CR8 (the task priority) is emulated; CR0/CR4 bits the host
 * must keep (the VMX fixed bits) are masked and shadowed.
 */
#define pr_fmt(fmt) "vmcs: " fmt
#include <errno.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/paging.h>
#include <vmkernel/percpu.h>
#include <vmm/vmx.h>
#include <vmm/vmx_caps.h>
#include <vmm/vmcs_check.h>
#include <vmm/exit.h>
#include <vmm/guest_mem.h>
#include <vmm/vm.h>
#include "vmx_priv.h"

extern char vmx_exit_stub[];

struct ctl_choice {
	const char *name;
	uint32_t field;
	uint32_t want, required;
	const struct vmx_ctl_masks *masks;
};

static int choose(const struct ctl_choice *c, uint32_t *out)
{
	int err = vmx_adjust_controls(c->want, c->required, c->masks->allowed0,
				      c->masks->allowed1, out);

	if (err)
		pr_err("this CPU cannot run VMs: %s controls lack required bits %#x "
		       "(allowed-1 %#x)\n", c->name, c->required & ~c->masks->allowed1,
		       c->masks->allowed1);
	return err;
}

static int setup_controls(const struct vmx_caps *caps)
{
	uint32_t pin, proc, proc2, exit, entry;
	const struct ctl_choice sets[] = {
		{ "pin-based", VMCS_PIN_BASED_CTLS,
		  PIN_EXT_INTR_EXITING | PIN_NMI_EXITING | PIN_VIRTUAL_NMIS | PIN_PREEMPTION_TIMER,
		  PIN_EXT_INTR_EXITING | PIN_NMI_EXITING, &caps->pin },
		{ "processor-based", VMCS_PROC_BASED_CTLS,
		  PROC_HLT_EXITING | PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS |
		  PROC_SECONDARY_CTLS | PROC_MWAIT_EXITING | PROC_MONITOR_EXITING |
		  PROC_RDPMC_EXITING | PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING,
		  PROC_HLT_EXITING | PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS |
		  PROC_SECONDARY_CTLS | PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING |
		  PROC_MWAIT_EXITING | PROC_MONITOR_EXITING, &caps->proc },
		{ "secondary processor-based", VMCS_PROC_BASED_CTLS2,
		  PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST | PROC2_ENABLE_VPID |
		  PROC2_WBINVD_EXITING | PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID,
		  PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST, &caps->proc2 },
		{ "VM-exit", VMCS_EXIT_CTLS,
		  EXIT_HOST_ADDR_SPACE_SIZE | EXIT_ACK_INTR_ON_EXIT | EXIT_SAVE_IA32_EFER |
		  EXIT_LOAD_IA32_EFER | EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT |
		  EXIT_SAVE_DEBUG_CTLS,
		  EXIT_HOST_ADDR_SPACE_SIZE | EXIT_ACK_INTR_ON_EXIT | EXIT_SAVE_IA32_EFER |
		  EXIT_LOAD_IA32_EFER, &caps->exit },
		{ "VM-entry", VMCS_ENTRY_CTLS,
		  ENTRY_LOAD_IA32_EFER | ENTRY_LOAD_IA32_PAT | ENTRY_LOAD_DEBUG_CTLS,
		  ENTRY_LOAD_IA32_EFER, &caps->entry },
	};
	uint32_t *vals[] = { &pin, &proc, &proc2, &exit, &entry };

	for (unsigned i = 0; i < 5; i++) {
		if (choose(&sets[i], vals[i]))
			return -ENOTSUP;
	}
	vmcs_write32(VMCS_PIN_BASED_CTLS, pin);
	vmcs_write32(VMCS_PROC_BASED_CTLS, proc);
	vmcs_write32(VMCS_PROC_BASED_CTLS2, proc2);
	vmcs_write32(VMCS_EXIT_CTLS, exit);
	vmcs_write32(VMCS_ENTRY_CTLS, entry);
	return 0;
}

static void setup_host_state(void)
{
	struct pcpu *p = this_cpu();
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr;

	asm volatile("sidt %0" : "=m"(idtr));
	vmcs_writenat(VMCS_HOST_CR0, read_cr0());
	vmcs_writenat(VMCS_HOST_CR3, read_cr3());
	vmcs_writenat(VMCS_HOST_CR4, read_cr4());
	vmcs_write16(VMCS_HOST_CS_SELECTOR, GDT_KCODE);
	vmcs_write16(VMCS_HOST_SS_SELECTOR, GDT_KDATA);
	vmcs_write16(VMCS_HOST_DS_SELECTOR, GDT_KDATA);
	vmcs_write16(VMCS_HOST_ES_SELECTOR, GDT_KDATA);
	vmcs_write16(VMCS_HOST_FS_SELECTOR, 0);
	vmcs_write16(VMCS_HOST_GS_SELECTOR, 0);
	vmcs_write16(VMCS_HOST_TR_SELECTOR, GDT_TSS);
	vmcs_writenat(VMCS_HOST_FS_BASE, 0);
	vmcs_writenat(VMCS_HOST_GS_BASE, (uint64_t)p);
	vmcs_writenat(VMCS_HOST_TR_BASE, (uint64_t)&p->tss);
	vmcs_writenat(VMCS_HOST_GDTR_BASE, (uint64_t)p->gdt);
	vmcs_writenat(VMCS_HOST_IDTR_BASE, idtr.base);
	vmcs_write32(VMCS_HOST_IA32_SYSENTER_CS, 0);
	vmcs_writenat(VMCS_HOST_IA32_SYSENTER_ESP, 0);
	vmcs_writenat(VMCS_HOST_IA32_SYSENTER_EIP, 0);
	vmcs_write64(VMCS_HOST_IA32_EFER, rdmsr(MSR_IA32_EFER));
	vmcs_write64(VMCS_HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	vmcs_writenat(VMCS_HOST_RIP, (uint64_t)vmx_exit_stub);
}

/* Segment access rights (SDM 3C 25.4.1). */
#define AR_CODE32	0xc09b	/* G, D, P, S, type 11 (execute/read, accessed) */
#define AR_DATA32	0xc093	/* G, B, P, S, type 3 (read/write, accessed) */
#define AR_TSS32_BUSY	0x008b
#define AR_UNUSABLE	0x10000

static void set_segment(uint32_t sel_f, uint32_t base_f, uint32_t limit_f, uint32_t ar_f,
			uint16_t sel, uint32_t limit, uint32_t ar)
{
	vmcs_write_checked(sel_f, sel, "segment selector", __func__);
	vmcs_write_checked(base_f, 0, "segment base", __func__);
	vmcs_write_checked(limit_f, limit, "segment limit", __func__);
	vmcs_write_checked(ar_f, ar, "segment access rights", __func__);
}

/* What the guest believes CR0/CR4 are: its own bits from the VMCS, the host's from the shadow. */
uint64_t vcpu_cr0(void)
{
	uint64_t mask = vmcs_readnat(VMCS_CR0_GUEST_HOST_MASK);

	return (vmcs_readnat(VMCS_GUEST_CR0) & ~mask) | (vmcs_readnat(VMCS_CR0_READ_SHADOW) & mask);
}

uint64_t vcpu_cr4(void)
{
	uint64_t mask = vmcs_readnat(VMCS_CR4_GUEST_HOST_MASK);

	return (vmcs_readnat(VMCS_GUEST_CR4) & ~mask) | (vmcs_readnat(VMCS_CR4_READ_SHADOW) & mask);
}

/* CR0/CR4 as the hardware needs them, from what the guest asked for. */
uint64_t vmx_real_cr0(uint64_t guest)
{
	const struct vmx_caps *caps = vmx_host_caps();
	uint64_t fixed0 = caps->cr0_fixed0 & ~(X86_CR0_PE | X86_CR0_PG);	/* unrestricted guest */

	return (guest | fixed0) & caps->cr0_fixed1;
}

uint64_t vmx_real_cr4(uint64_t guest)
{
	const struct vmx_caps *caps = vmx_host_caps();

	return (guest | caps->cr4_fixed0) & caps->cr4_fixed1;
}

/* 32-bit protected mode, paging off, flat segments: the multiboot start state. */
static void setup_guest_state(void)
{
	const struct vmx_caps *caps = vmx_host_caps();

	set_segment(VMCS_GUEST_CS_SELECTOR, VMCS_GUEST_CS_BASE, VMCS_GUEST_CS_LIMIT,
		    VMCS_GUEST_CS_AR, 0x08, 0xffffffff, AR_CODE32);
	set_segment(VMCS_GUEST_DS_SELECTOR, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT,
		    VMCS_GUEST_DS_AR, 0x10, 0xffffffff, AR_DATA32);
	set_segment(VMCS_GUEST_ES_SELECTOR, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT,
		    VMCS_GUEST_ES_AR, 0x10, 0xffffffff, AR_DATA32);
	set_segment(VMCS_GUEST_FS_SELECTOR, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT,
		    VMCS_GUEST_FS_AR, 0x10, 0xffffffff, AR_DATA32);
	set_segment(VMCS_GUEST_GS_SELECTOR, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT,
		    VMCS_GUEST_GS_AR, 0x10, 0xffffffff, AR_DATA32);
	set_segment(VMCS_GUEST_SS_SELECTOR, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT,
		    VMCS_GUEST_SS_AR, 0x10, 0xffffffff, AR_DATA32);
	set_segment(VMCS_GUEST_TR_SELECTOR, VMCS_GUEST_TR_BASE, VMCS_GUEST_TR_LIMIT,
		    VMCS_GUEST_TR_AR, 0, 0xff, AR_TSS32_BUSY);
	set_segment(VMCS_GUEST_LDTR_SELECTOR, VMCS_GUEST_LDTR_BASE, VMCS_GUEST_LDTR_LIMIT,
		    VMCS_GUEST_LDTR_AR, 0, 0, AR_UNUSABLE);
	vmcs_writenat(VMCS_GUEST_GDTR_BASE, 0);
	vmcs_write32(VMCS_GUEST_GDTR_LIMIT, 0);
	vmcs_writenat(VMCS_GUEST_IDTR_BASE, 0);
	vmcs_write32(VMCS_GUEST_IDTR_LIMIT, 0);
	vmcs_writenat(VMCS_GUEST_CR0, vmx_real_cr0(X86_CR0_PE | X86_CR0_ET));
	vmcs_writenat(VMCS_GUEST_CR4, vmx_real_cr4(0));
	vmcs_writenat(VMCS_CR0_READ_SHADOW, X86_CR0_PE | X86_CR0_ET);
	vmcs_writenat(VMCS_CR4_READ_SHADOW, 0);
	/* CR0: the host owns the bits VMX fixes (but PE/PG under unrestricted guest). */
	vmcs_writenat(VMCS_CR0_GUEST_HOST_MASK,
		      ((caps->cr0_fixed0 | ~caps->cr0_fixed1) & ~(X86_CR0_PE | X86_CR0_PG) &
		       0xffffffffULL) | ~0xffffffffULL);
	/* CR4: the host owns every bit it does not hand to guests (VMXE, OSXSAVE, PKE, ...). */
	vmcs_writenat(VMCS_CR4_GUEST_HOST_MASK, ~(uint64_t)CR4_GUEST_OWNED);
	(void)caps;
	vmcs_writenat(VMCS_GUEST_CR3, 0);
	vmcs_writenat(VMCS_GUEST_DR7, 0x400);
	vmcs_writenat(VMCS_GUEST_RSP, 0);
	vmcs_writenat(VMCS_GUEST_RFLAGS, 0x2);
	vmcs_writenat(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
	vmcs_write32(VMCS_GUEST_SYSENTER_CS, 0);
	vmcs_writenat(VMCS_GUEST_SYSENTER_ESP, 0);
	vmcs_writenat(VMCS_GUEST_SYSENTER_EIP, 0);
	vmcs_write64(VMCS_GUEST_IA32_EFER, 0);
	vmcs_write64(VMCS_GUEST_IA32_PAT, 0x0007040600070406ULL);
	vmcs_write64(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmcs_write64(VMCS_LINK_POINTER, ~0ULL);
}

int vmcs_setup(struct vcpu *v)
{
	const struct vmx_caps *caps = vmx_host_caps();
	struct vm *vm = v->vm;
	int err;

	if (vmcs_clear(v->vmcs_pa) || vmcs_load(v->vmcs_pa)) {
		pr_err("%s vCPU %u: VMCLEAR/VMPTRLD of its VMCS failed\n", vm->name, v->id);
		return -EIO;
	}
	vmm_this_cpu()->current_vmcs = v->vmcs_pa;
	err = setup_controls(caps);
	if (err)
		return err;
	v->proc_ctls = vmcs_read32(VMCS_PROC_BASED_CTLS);
	setup_host_state();
	setup_guest_state();
	vmcs_write64(VMCS_IO_BITMAP_A, vm->io_bitmap_pa[0]);
	vmcs_write64(VMCS_IO_BITMAP_B, vm->io_bitmap_pa[1]);
	vmcs_write64(VMCS_MSR_BITMAP, vm->msr_bitmap_pa);
	vmcs_write64(VMCS_EPT_POINTER, guest_eptp(vm));
	if (caps->vpid)
		vmcs_write16(VMCS_VPID, vm_vpid(vm, v->id));
	/*
	 * #DB and #AC are intercepted and reflected: a guest that makes their
	 * delivery fault again (a breakpoint on its own IDT or stack) would
	 * otherwise loop inside the CPU without ever exiting (CVE-2015-8104,
	 * CVE-2015-5307). #MC goes to the host.
	 */
	vmcs_write32(VMCS_EXCEPTION_BITMAP, (1U << X86_EXC_DB) | (1U << 17) | (1U << X86_EXC_MC));
	vmcs_write32(VMCS_PF_ERROR_CODE_MASK, 0);
	vmcs_write32(VMCS_PF_ERROR_CODE_MATCH, 0);
	vmcs_write32(VMCS_CR3_TARGET_COUNT, 0);
	vmcs_write32(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write32(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write32(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write32(VMCS_ENTRY_INTR_INFO, 0);
	vmcs_write32(VMCS_TPR_THRESHOLD, 0);
	vmcs_write64(VMCS_TSC_OFFSET, 0);
	v->launched = false;
	return 0;
}

static const char *const entry_failures[] = {
	[EXIT_REASON_INVALID_GUEST_STATE] = "invalid guest state",
	[EXIT_REASON_MSR_LOADING] = "MSR loading",
	[EXIT_REASON_MCE_DURING_ENTRY] = "machine-check event",
};

const char *vmx_entry_failure_str(uint32_t reason)
{
	reason &= EXIT_REASON_BASIC_MASK;
	if (reason < sizeof(entry_failures) / sizeof(entry_failures[0]) && entry_failures[reason])
		return entry_failures[reason];
	return "unknown cause";
}

#define DUMP(f) { #f, f }
static const struct {
	const char *name;
	uint32_t field;
} dump_fields[] = {
	DUMP(VMCS_PIN_BASED_CTLS), DUMP(VMCS_PROC_BASED_CTLS), DUMP(VMCS_PROC_BASED_CTLS2),
	DUMP(VMCS_EXIT_CTLS), DUMP(VMCS_ENTRY_CTLS), DUMP(VMCS_EXCEPTION_BITMAP),
	DUMP(VMCS_ENTRY_INTR_INFO), DUMP(VMCS_EPT_POINTER),
	DUMP(VMCS_GUEST_CR0), DUMP(VMCS_GUEST_CR3), DUMP(VMCS_GUEST_CR4),
	DUMP(VMCS_GUEST_IA32_EFER), DUMP(VMCS_GUEST_RIP), DUMP(VMCS_GUEST_RSP),
	DUMP(VMCS_GUEST_RFLAGS), DUMP(VMCS_GUEST_CS_SELECTOR), DUMP(VMCS_GUEST_CS_AR),
	DUMP(VMCS_GUEST_CS_BASE), DUMP(VMCS_GUEST_CS_LIMIT), DUMP(VMCS_GUEST_SS_AR),
	DUMP(VMCS_GUEST_DS_AR), DUMP(VMCS_GUEST_TR_AR), DUMP(VMCS_GUEST_LDTR_AR),
	DUMP(VMCS_GUEST_INTERRUPTIBILITY), DUMP(VMCS_GUEST_ACTIVITY_STATE),
	DUMP(VMCS_HOST_CR0), DUMP(VMCS_HOST_CR3), DUMP(VMCS_HOST_CR4), DUMP(VMCS_HOST_RIP),
	DUMP(VMCS_HOST_RSP), DUMP(VMCS_HOST_IA32_EFER),
};

/*
 * Check the current VMCS against the SDM's VM-entry rules (vmcs_check.c).
 * 0 if it would pass; otherwise `why` names the first rule it breaks.
 */
int vmcs_check_current(char *why, size_t len)
{
	struct vmcs_state st;

	memset(&st, 0, sizeof(st));
	for (size_t i = 0; i < vmcs_check_nfields; i++) {
		uint64_t val;

		/* Fields this CPU lacks stay 0: their control bits cannot be set either. */
		if (vmcs_read_safe(vmcs_check_fields[i].encoding, &val) == 0)
			vmcs_check_store(&st, i, val);
	}
	return vmcs_check(&st, vmx_host_caps(), (uint8_t)(cpuid(0x80000008, 0).eax & 0xff),
			  why, len);
}

void vmcs_dump(struct vcpu *v, const char *why)
{
	char rule[200];

	pr_err("%s vCPU %u: %s; VMCS:\n", v->vm->name, v->id, why);
	if (vmcs_check_current(rule, sizeof(rule)))
		pr_err("%s vCPU %u: the VMCS breaks this VM-entry rule: %s\n", v->vm->name,
		       v->id, rule);
	for (unsigned i = 0; i < sizeof(dump_fields) / sizeof(dump_fields[0]); i++) {
		uint64_t val = 0;

		if (vmcs_read_safe(dump_fields[i].field, &val))
			pr_err("  %-32s (unreadable)\n", dump_fields[i].name);
		else
			pr_err("  %-32s %#llx\n", dump_fields[i].name, (unsigned long long)val);
	}
}
