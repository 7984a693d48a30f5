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
#include <vmm/vlapic.h>
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

/* The CPU's APIC virtualization for this vCPU: wanted by the VM and complete on this CPU. */
static bool use_apicv(const struct vcpu *v, const struct vmx_caps *caps)
{
	return v->vm->cfg.apicv && v->vm->apic_access_pa && caps->apicv && caps->virt_apic_access;
}

/*
 * PAUSE-loop exiting (where the CPU offers it): PAUSEs at CPL 0 no more
 * than PLE_GAP TSC cycles apart form one loop; a loop longer than
 * PLE_WINDOW cycles exits, and the vCPU gives its turn away (exit/
 * exit_insn.c). A guest kernel's spinlock waits on a lock holder that is
 * not running, most likely a descheduled sibling vCPU. The values are the
 * ones KVM has long defaulted to: a gap that any real spin loop's
 * iterations fit in, and a window (about 1-2 us) well above an
 * uncontended critical section.
 */
#define PLE_GAP		128
#define PLE_WINDOW	4096

static int setup_controls(struct vcpu *v, const struct vmx_caps *caps)
{
	uint32_t pin, proc, proc2, exit, entry;
	bool apicv = use_apicv(v, caps);
	uint32_t proc_apic = apicv ? PROC_TPR_SHADOW : PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING;
	uint32_t proc2_apic = apicv ? PROC2_VIRT_APIC_ACCESSES | PROC2_APIC_REG_VIRT |
				      PROC2_VIRT_INTR_DELIVERY : 0;
	/* A spinning vCPU of a uniprocessor VM has no sibling to yield to. */
	uint32_t proc2_ple = v->vm->cfg.pause_loop_exiting && v->vm->nvcpus > 1 ?
			     PROC2_PAUSE_LOOP_EXITING : 0;
	const struct ctl_choice sets[] = {
		{ "pin-based", VMCS_PIN_BASED_CTLS,
		  PIN_EXT_INTR_EXITING | PIN_NMI_EXITING | PIN_VIRTUAL_NMIS | PIN_PREEMPTION_TIMER,
		  PIN_EXT_INTR_EXITING | PIN_NMI_EXITING, &caps->pin },
		{ "processor-based", VMCS_PROC_BASED_CTLS,
		  PROC_HLT_EXITING | PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS |
		  PROC_SECONDARY_CTLS | PROC_MWAIT_EXITING | PROC_MONITOR_EXITING |
		  PROC_RDPMC_EXITING | PROC_TSC_OFFSETTING | proc_apic,
		  PROC_HLT_EXITING | PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS |
		  PROC_SECONDARY_CTLS | PROC_MWAIT_EXITING | PROC_MONITOR_EXITING |
		  PROC_TSC_OFFSETTING | proc_apic, &caps->proc },
		{ "secondary processor-based", VMCS_PROC_BASED_CTLS2,
		  PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST | PROC2_ENABLE_VPID |
		  PROC2_WBINVD_EXITING | PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID | proc2_apic |
		  proc2_ple,
		  PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST | proc2_apic, &caps->proc2 },
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
	if (proc2 & PROC2_PAUSE_LOOP_EXITING) {
		vmcs_write32(VMCS_PLE_GAP, PLE_GAP);
		vmcs_write32(VMCS_PLE_WINDOW, PLE_WINDOW);
	}
	vmcs_write32(VMCS_EXIT_CTLS, exit);
	vmcs_write32(VMCS_ENTRY_CTLS, entry);
	v->pin_ctls = pin;
	v->proc_ctls = proc;
	v->proc2_ctls = proc2;
	v->apicv = apicv;
	return 0;
}

/* The virtual-APIC page is the vCPU's LAPIC register page; EOI exits start in sync with TMR. */
static void setup_apicv(struct vcpu *v)
{
	if (!v->apicv)
		return;
	vmcs_write64(VMCS_VIRTUAL_APIC_ADDR, v->lapic.regs_pa);
	vmcs_write64(VMCS_APIC_ACCESS_ADDR, v->vm->apic_access_pa);
	vmcs_write16(VMCS_GUEST_INTR_STATUS, 0);
	vmcs_write64(VMCS_EOI_EXIT_BITMAP0, 0);
	vmcs_write64(VMCS_EOI_EXIT_BITMAP1, 0);
	vmcs_write64(VMCS_EOI_EXIT_BITMAP2, 0);
	vmcs_write64(VMCS_EOI_EXIT_BITMAP3, 0);
	__atomic_store_n(&v->lapic.tmr_changed, true, __ATOMIC_RELEASE);
	v->lapic.hw_assist = true;
}

/* Also after a move to another CPU (vcpu.c): every field that names this CPU's own tables. */
void vmcs_write_host_state(void)
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
#define AR_CODE64	0xa09b	/* G, L, P, S, type 11 */
#define AR_DATA32	0xc093	/* G, B, P, S, type 3 (read/write, accessed) */
#define AR_CODE16	0x009b	/* P, S, type 11: real mode */
#define AR_DATA16	0x0093	/* P, S, type 3: real mode */
#define AR_TSS_BUSY	0x008b	/* P, type 11 (busy 32/64-bit TSS) */
#define AR_UNUSABLE	0x10000
#define EFER_LMA	(1ULL << 10)

struct seg {
	uint32_t sel_f, base_f, limit_f, ar_f;
};

static const struct seg segs[] = {
	{ VMCS_GUEST_ES_SELECTOR, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR },
	{ VMCS_GUEST_CS_SELECTOR, VMCS_GUEST_CS_BASE, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_CS_AR },
	{ VMCS_GUEST_SS_SELECTOR, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR },
	{ VMCS_GUEST_DS_SELECTOR, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR },
	{ VMCS_GUEST_FS_SELECTOR, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR },
	{ VMCS_GUEST_GS_SELECTOR, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR },
	{ VMCS_GUEST_TR_SELECTOR, VMCS_GUEST_TR_BASE, VMCS_GUEST_TR_LIMIT, VMCS_GUEST_TR_AR },
	{ VMCS_GUEST_LDTR_SELECTOR, VMCS_GUEST_LDTR_BASE, VMCS_GUEST_LDTR_LIMIT, VMCS_GUEST_LDTR_AR },
};
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_TR, SEG_LDTR };

static void set_segment(unsigned i, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar)
{
	vmcs_write_checked(segs[i].sel_f, sel, "segment selector", __func__);
	vmcs_write_checked(segs[i].base_f, base, "segment base", __func__);
	vmcs_write_checked(segs[i].limit_f, limit, "segment limit", __func__);
	vmcs_write_checked(segs[i].ar_f, ar, "segment access rights", __func__);
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

/*
 * CR0/CR4 as the hardware needs them, from what the guest asked for. CD and
 * NW are not loaded by VM entry (the host's cache settings stay), so the
 * value written is the host's: the guest sees its own in the read shadow.
 */
uint64_t vmx_real_cr0(uint64_t guest)
{
	const struct vmx_caps *caps = vmx_host_caps();
	uint64_t fixed0 = caps->cr0_fixed0 & ~(X86_CR0_PE | X86_CR0_PG);	/* unrestricted guest */

	return ((guest | fixed0) & caps->cr0_fixed1) & ~(X86_CR0_CD | X86_CR0_NW);
}

uint64_t vmx_real_cr4(uint64_t guest)
{
	const struct vmx_caps *caps = vmx_host_caps();

	return (guest | caps->cr4_fixed0) & caps->cr4_fixed1;
}

/* The guest/host masks: what the guest may not change without an exit. */
static void setup_cr_masks(void)
{
	const struct vmx_caps *caps = vmx_host_caps();

	/* CR0: the bits VMX fixes (but PE/PG under unrestricted guest), and CD/NW. */
	vmcs_writenat(VMCS_CR0_GUEST_HOST_MASK,
		      ((caps->cr0_fixed0 | ~caps->cr0_fixed1) & ~(X86_CR0_PE | X86_CR0_PG) &
		       0xffffffffULL) | X86_CR0_CD | X86_CR0_NW | ~0xffffffffULL);
	/* CR4: the host owns every bit it does not hand to guests (VMXE, OSXSAVE, PKE, ...). */
	vmcs_writenat(VMCS_CR4_GUEST_HOST_MASK, ~(uint64_t)CR4_GUEST_OWNED);
}

static void set_cr0_cr4(uint64_t cr0, uint64_t cr4)
{
	vmcs_writenat(VMCS_GUEST_CR0, vmx_real_cr0(cr0));
	vmcs_writenat(VMCS_CR0_READ_SHADOW, cr0);
	vmcs_writenat(VMCS_GUEST_CR4, vmx_real_cr4(cr4));
	vmcs_writenat(VMCS_CR4_READ_SHADOW, cr4);
}

/*
 * Load a start state into the current VMCS: real mode at cs:0 (a start-up
 * IPI, SDM 3A 9.1.1 and 8.4.4.1), 32-bit protected mode with paging off
 * (multiboot), or 64-bit mode on the loader's page tables (Linux).
 */
void vcpu_load_boot_state(struct vcpu *v, const struct vcpu_boot *b)
{
	uint32_t entry = vmcs_read32(VMCS_ENTRY_CTLS) & ~ENTRY_IA32E_MODE_GUEST;

	if (b->mode == VCPU_MODE_REAL) {
		for (unsigned i = SEG_ES; i <= SEG_GS; i++)
			set_segment(i, 0, 0, 0xffff, AR_DATA16);
		set_segment(SEG_CS, b->real_cs, (uint64_t)b->real_cs << 4, 0xffff, AR_CODE16);
		set_segment(SEG_TR, 0, 0, 0xffff, AR_TSS_BUSY);
		vmcs_writenat(VMCS_GUEST_GDTR_BASE, 0);
		vmcs_write32(VMCS_GUEST_GDTR_LIMIT, 0xffff);
		vmcs_write32(VMCS_GUEST_IDTR_LIMIT, 0xffff);
		set_cr0_cr4(X86_CR0_ET | X86_CR0_CD | X86_CR0_NW, 0);
		vmcs_write64(VMCS_GUEST_IA32_EFER, 0);
	} else {
		bool lm = b->mode == VCPU_MODE_LONG64;

		for (unsigned i = SEG_ES; i <= SEG_GS; i++)
			set_segment(i, b->data_sel, 0, 0xffffffff, AR_DATA32);
		set_segment(SEG_CS, b->code_sel, 0, 0xffffffff, lm ? AR_CODE64 : AR_CODE32);
		set_segment(SEG_TR, 0, 0, 0xff, AR_TSS_BUSY);
		vmcs_writenat(VMCS_GUEST_GDTR_BASE, b->gdt_base);
		vmcs_write32(VMCS_GUEST_GDTR_LIMIT, b->gdt_limit);
		vmcs_write32(VMCS_GUEST_IDTR_LIMIT, 0);
		if (lm) {
			set_cr0_cr4(X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG, X86_CR4_PAE);
			vmcs_write64(VMCS_GUEST_IA32_EFER, EFER_LME | EFER_LMA);
			entry |= ENTRY_IA32E_MODE_GUEST;
		} else {
			set_cr0_cr4(X86_CR0_PE | X86_CR0_ET, 0);
			vmcs_write64(VMCS_GUEST_IA32_EFER, 0);
		}
	}
	set_segment(SEG_LDTR, 0, 0, 0, AR_UNUSABLE);
	vmcs_write32(VMCS_ENTRY_CTLS, entry);
	vmcs_writenat(VMCS_GUEST_IDTR_BASE, 0);
	vmcs_writenat(VMCS_GUEST_CR3, b->mode == VCPU_MODE_LONG64 ? b->cr3 : 0);
	vmcs_writenat(VMCS_GUEST_DR7, 0x400);
	vmcs_writenat(VMCS_GUEST_RSP, b->rsp);
	vmcs_writenat(VMCS_GUEST_RIP, b->rip);
	vmcs_writenat(VMCS_GUEST_RFLAGS, 0x2);
	vmcs_writenat(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
	vmcs_write32(VMCS_ENTRY_INTR_INFO, 0);
	vcpu_flush_guest_tlb(v);	/* INIT flushes the TLBs: none of the old life's translations */
	v->osxsave = false;
	memset(&v->regs, 0, sizeof(v->regs));
	v->regs.rax = b->rax;
	v->regs.rbx = b->rbx;
	v->regs.rsi = b->rsi;
	if (b->mode == VCPU_MODE_REAL)
		v->regs.rdx = 0x50654;	/* EDX after INIT: family 6 model 0x55 (processor signature) */
}

/* Registers no start state sets differently. */
static void setup_guest_common(void)
{
	vmcs_write32(VMCS_GUEST_SYSENTER_CS, 0);
	vmcs_writenat(VMCS_GUEST_SYSENTER_ESP, 0);
	vmcs_writenat(VMCS_GUEST_SYSENTER_EIP, 0);
	vmcs_write64(VMCS_GUEST_IA32_PAT, 0x0007040600070406ULL);
	vmcs_write64(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmcs_write64(VMCS_LINK_POINTER, ~0ULL);
	setup_cr_masks();
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
	v->vmcs_ready = true;
	err = setup_controls(v, caps);
	if (err)
		return err;
	vmcs_write_host_state();
	setup_guest_common();
	setup_apicv(v);
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
	vmcs_write64(VMCS_TSC_OFFSET, (uint64_t)vm->tsc_offset);
	v->launched = false;
	v->vmcs_ready = true;
	return 0;
}

/*
 * Switch this vCPU (its VMCS is current) from APIC virtualization to the
 * software local APIC: no virtual-APIC page, APIC-access page, register
 * virtualization or virtual-interrupt delivery; CR8 exits again. The
 * register page stays the model's state, so nothing pending is lost.
 */
void vcpu_apicv_off(struct vcpu *v)
{
	uint32_t proc, proc2;

	if (!v->apicv)
		return;
	proc2 = v->proc2_ctls & ~(PROC2_VIRT_APIC_ACCESSES | PROC2_APIC_REG_VIRT |
				  PROC2_VIRT_INTR_DELIVERY);
	proc = (v->proc_ctls & ~PROC_TPR_SHADOW) | PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING;
	vmcs_write32(VMCS_PROC_BASED_CTLS2, proc2);
	vmcs_write32(VMCS_PROC_BASED_CTLS, proc);
	v->proc2_ctls = proc2;
	v->proc_ctls = proc;
	v->apicv = false;
	v->lapic.hw_assist = false;
	vlapic_sync_after_apicv(&v->lapic);
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
