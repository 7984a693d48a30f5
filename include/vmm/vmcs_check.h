/*
 * A software model of the checks VM entry makes (SDM 3C ch. 27 "VM
 * entries": 27.2 checks on the VMX controls and the host-state area, 27.3
 * checks on the guest-state area), for explaining a failed VM entry or for
 * catching a bad VMCS before VMLAUNCH/VMRESUME.
 *
 * The caller copies the current VMCS into a struct vmcs_state with one
 * VMREAD per entry of vmcs_check_fields[] (vmcs_check_store() puts each
 * value in its member) and calls vmcs_check(). The checker is pure logic:
 * it reads nothing but its arguments (host unit-tested in
 * tests/unit/test_vmcs_check.c).
 */
#ifndef VMCS_CHECK_H
#define VMCS_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vmm/vmx_caps.h>
#include <vmm/vmx_hw.h>

/* Encodings that <vmx_hw.h> does not name (SDM 3D appendix B). */
#ifndef VMCS_VIRTUAL_APIC_ADDR
#define VMCS_VIRTUAL_APIC_ADDR			0x2012
#endif
#ifndef VMCS_APIC_ACCESS_ADDR
#define VMCS_APIC_ACCESS_ADDR			0x2014
#endif

/* Controls and state bits that <vmx_hw.h> / <cpu_hw.h> do not name. */
#define VMCS_CHK_PIN_POSTED_INTR	(1U << 7)	/* process posted interrupts */
#define VMCS_CHK_PROC2_X2APIC		(1U << 4)	/* virtualize x2APIC mode */
#define VMCS_CHK_PROC2_APIC_REG_VIRT	(1U << 8)	/* APIC-register virtualization */
#define VMCS_CHK_PROC2_VINTR_DELIVERY	(1U << 9)	/* virtual-interrupt delivery */
#define VMCS_CHK_PROC2_VMCS_SHADOWING	(1U << 14)
#define VMCS_CHK_PROC2_ENABLE_PML	(1U << 17)
#define VMCS_CHK_PROC2_MBEC		(1U << 22)	/* mode-based execute control for EPT */
#define VMCS_CHK_ENTRY_SMM		(1U << 10)	/* entry to SMM */
#define VMCS_CHK_ENTRY_DEACT_DUAL	(1U << 11)	/* deactivate dual-monitor treatment */

/* Index of each segment register in vmcs_state.seg (the VMCS field order). */
enum vmcs_seg_index {
	VMCS_SEG_ES, VMCS_SEG_CS, VMCS_SEG_SS, VMCS_SEG_DS, VMCS_SEG_FS, VMCS_SEG_GS,
	VMCS_SEG_LDTR, VMCS_SEG_TR, VMCS_SEG_COUNT,
};

struct vmcs_seg {
	uint16_t sel;
	uint64_t base;
	uint32_t limit;
	uint32_t ar;		/* access rights, VMX format (bit 16 = unusable) */
};

/* The fields VM entry checks, as plain integers (member width = VMCS field width). */
struct vmcs_state {
	/* VM-execution, VM-exit and VM-entry controls */
	uint32_t pin, proc, proc2, exit, entry;
	uint32_t cr3_target_count;
	uint64_t io_bitmap_a, io_bitmap_b, msr_bitmap;
	uint64_t virtual_apic_addr, apic_access_addr;
	uint32_t tpr_threshold;
	uint64_t eptp;
	uint16_t vpid;
	uint32_t exit_msr_store_count, exit_msr_load_count, entry_msr_load_count;
	uint64_t exit_msr_store_addr, exit_msr_load_addr, entry_msr_load_addr;
	uint32_t entry_intr_info, entry_error, entry_insn_len;

	/* host-state area */
	uint64_t host_cr0, host_cr3, host_cr4;
	uint16_t host_es_sel, host_cs_sel, host_ss_sel, host_ds_sel;
	uint16_t host_fs_sel, host_gs_sel, host_tr_sel;
	uint64_t host_fs_base, host_gs_base, host_tr_base, host_gdtr_base, host_idtr_base;
	uint64_t host_sysenter_esp, host_sysenter_eip;
	uint64_t host_pat, host_efer;
	uint64_t host_rip;

	/* guest-state area */
	uint64_t guest_cr0, guest_cr3, guest_cr4, guest_dr7;
	uint64_t guest_debugctl, guest_pat, guest_efer;
	uint64_t guest_sysenter_esp, guest_sysenter_eip;
	uint64_t guest_rip, guest_rsp, guest_rflags;
	struct vmcs_seg seg[VMCS_SEG_COUNT];
	uint64_t gdtr_base, idtr_base;
	uint32_t gdtr_limit, idtr_limit;
	uint32_t activity, interruptibility;
	uint64_t pending_dbg;
	uint64_t link_pointer;
	uint64_t pdpte[4];
};

/* One VMCS field the checker reads, and where it lives in struct vmcs_state. */
struct vmcs_check_field {
	uint32_t encoding;	/* VMCS_* of <vmx_hw.h> / this header */
	const char *name;	/* "VMCS_GUEST_CS_AR" */
	uint16_t offset;	/* offsetof(struct vmcs_state, member) */
	uint8_t size;		/* sizeof(member): 2, 4 or 8 */
};

extern const struct vmcs_check_field vmcs_check_fields[];
extern const size_t vmcs_check_nfields;

/*
 * Store a VMREAD result for vmcs_check_fields[idx] into its member of *s,
 * truncated to the member's width. Returns 0, or -EINVAL for a bad index
 * or NULL s.
 */
int vmcs_check_store(struct vmcs_state *s, size_t idx, uint64_t val);

/*
 * Would VM entry accept this VMCS on this CPU? caps are the CPU's VMX
 * capabilities (allowed-0/1 control masks, CR fixed bits, EPT/VPID and
 * activity-state support), maxphyaddr its physical-address width
 * (CPUID 0x80000008 EAX[7:0], 32..52). Assumes a host in 64-bit mode (as
 * vmkernel always is) and 48-bit linear addresses (no LA57).
 *
 * Returns 0 if every modelled check passes, else -EINVAL with `why` naming
 * the first failed check in SDM order (controls, host state, guest state):
 * the field, its value and the rule, e.g. "guest CS access rights 0xc093:
 * type 3 must be 9, 11, 13 or 15 (accessed code)". Also -EINVAL (with a
 * reason) for NULL s/caps or maxphyaddr out of range. why may be NULL or
 * len 0; otherwise it is always NUL-terminated.
 *
 * Not modelled: checks that need memory contents (MSR-load lists, the
 * virtual-APIC page, a shadow VMCS's revision), PML/posted-interrupt/#VE/
 * VM-function/SPP/PASID fields, IA32_PERF_GLOBAL_CTRL, IA32_BNDCFGS, CET,
 * PKRS and other state of features this VMM does not enable, SMM and
 * dual-monitor entries, and implementation-specific checks (e.g. a
 * VM-entry instruction length of 0, allowed only with IA32_VMX_MISC[30],
 * is always rejected here).
 */
int vmcs_check(const struct vmcs_state *s, const struct vmx_caps *caps, uint8_t maxphyaddr,
	       char *why, size_t len);

#endif
