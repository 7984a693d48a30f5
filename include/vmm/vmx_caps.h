/*
 * VT-x discovery: what this CPU's VMX implementation can do.
 *
 * The probe (vmm/vmx_discover.c) reads CPUID and the VMX capability MSRs
 * (SDM Vol. 3D appendix A) into a struct vmx_msrs on every CPU; the pure
 * decoder (vmm/vmx_caps.c, unit-tested on the host) turns those raw values
 * into a struct vmx_caps: a status with a sentence a user can act on, the
 * feature flags the VMM cares about, and the effective allowed-0/allowed-1
 * masks of each VM-execution/exit/entry control set.
 */
#ifndef VMX_CAPS_H
#define VMX_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* MSRs that <cpu_hw.h> does not name (SDM Vol. 4, table 2-2). */
#ifndef MSR_IA32_VMX_VMFUNC
#define MSR_IA32_VMX_VMFUNC		0x00000491
#endif

/* Raw register values, filled by the probe. */
struct vmx_msrs {
	bool cpuid_vmx;			/* CPUID.1:ECX.VMX[bit 5] */
	uint64_t feature_control;	/* IA32_FEATURE_CONTROL (0x3a) */
	bool feature_control_readable;
	uint64_t basic;			/* IA32_VMX_BASIC (0x480) */
	uint64_t pinbased, procbased, exit, entry;		/* 0x481..0x484 */
	uint64_t true_pinbased, true_procbased, true_exit, true_entry;	/* 0x48d..0x490 */
	uint64_t misc;			/* 0x485 */
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;	/* 0x486..0x489 */
	uint64_t procbased2;		/* 0x48b, valid if has_procbased2 */
	uint64_t ept_vpid_cap;		/* 0x48c, valid if has_ept_vpid_cap */
	uint64_t vmfunc;		/* 0x491, 0 unless secondary controls allow VM functions */
	bool has_procbased2, has_ept_vpid_cap;
	uint32_t unreadable_msr;	/* first VMX MSR whose RDMSR faulted, 0 if none */
};

enum vmx_status {
	VMX_OK = 0,
	VMX_NO_CPUID,			/* CPU lacks VMX (AMD, emulator without nesting) */
	VMX_DISABLED_BY_FIRMWARE,	/* IA32_FEATURE_CONTROL locked with VMXON off */
	VMX_BAD_MSRS,			/* capability MSRs are unreadable or contradictory */
};

/* Effective settings of one control set: bit X must be 1 if set in allowed0,
 * may be 1 only if set in allowed1. */
struct vmx_ctl_masks {
	uint32_t allowed0;
	uint32_t allowed1;
};

struct vmx_caps {
	enum vmx_status status;
	char reason[160];		/* for status != VMX_OK: what is wrong, what to do */

	/* IA32_VMX_BASIC */
	uint32_t revision_id;
	uint32_t region_size;		/* bytes of VMXON/VMCS region, 1..4096 */
	uint8_t vmcs_mem_type;		/* 0 = UC, 6 = WB */
	bool true_ctls;			/* masks below come from the TRUE_* MSRs */
	bool ins_outs_info;		/* VM-exit instruction info for INS/OUTS */
	bool fc_needs_lock;		/* IA32_FEATURE_CONTROL unlocked: must be written */

	/* Secondary controls and IA32_VMX_EPT_VPID_CAP */
	bool ept, ept_execute_only, ept_4level, ept_5level, ept_uc, ept_wb;
	bool ept_2m, ept_1g, ept_ad;
	bool invept, invept_single, invept_all;
	bool vpid, invvpid, invvpid_addr, invvpid_single, invvpid_all, invvpid_single_globals;
	bool unrestricted_guest, virt_apic_access, apicv, rdtscp, invpcid, xsaves;
	bool vmfunc, vmfunc_eptp_switching;
	bool pause_loop_exiting;

	/* Pin-based controls and IA32_VMX_MISC */
	bool preemption_timer;
	uint8_t preemption_timer_rate;	/* timer ticks every 2^rate TSC cycles */
	bool posted_interrupts;
	bool store_efer_lma, act_hlt, act_shutdown, act_wait_sipi;
	uint16_t cr3_targets;
	uint16_t max_msr_list;		/* recommended maximum entries per MSR list */
	uint32_t mseg_revision;

	struct vmx_ctl_masks pin, proc, proc2, exit, entry;
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

/* Optional MSRs that exist given what has been read so far (SDM 3D A.3.3, A.10, A.11). */
#define VMX_WANT_PROCBASED2	(1U << 0)	/* primary controls allow secondary ones */
#define VMX_WANT_EPT_VPID_CAP	(1U << 1)	/* secondary controls allow EPT or VPID */
#define VMX_WANT_VMFUNC		(1U << 2)	/* secondary controls allow VM functions */
#define VMX_WANT_TRUE_CTLS	(1U << 3)	/* IA32_VMX_BASIC bit 55: TRUE_* MSRs exist */

/*
 * Which optional MSRs exist, judged from what has been read so far. The probe
 * calls it after BASIC (for TRUE_*), after the control MSRs (PROCBASED2), and
 * after PROCBASED2 with has_procbased2 set (EPT_VPID_CAP, VMFUNC).
 */
unsigned int vmx_msrs_want(const struct vmx_msrs *m);

/*
 * Decode raw MSR values. Always fills *out (status and reason included).
 * Returns 0 for VMX_OK, -ENODEV for VMX_NO_CPUID, -EPERM for
 * VMX_DISABLED_BY_FIRMWARE, -EINVAL for VMX_BAD_MSRS or NULL arguments.
 * An unlocked IA32_FEATURE_CONTROL decodes as VMX_OK with fc_needs_lock set.
 */
int vmx_caps_decode(const struct vmx_msrs *m, struct vmx_caps *out);

/*
 * Control value for a VMCS control field: (want | required | allowed0) &
 * allowed1. Returns -ENOTSUP if a bit of `required` is not allowed to be 1,
 * -EINVAL if out is NULL or allowed0 has bits outside allowed1.
 */
int vmx_adjust_controls(uint32_t want, uint32_t required, uint32_t allowed0,
			uint32_t allowed1, uint32_t *out);

/*
 * One-line description of the features, or "VT-x unusable: <reason>".
 * Returns 0, -EINVAL on bad arguments, -ENOSPC if truncated (still terminated).
 */
int vmx_caps_summary(const struct vmx_caps *c, char *buf, size_t len);

/* Same status and feature set (reason text ignored): detects asymmetric CPUs. */
bool vmx_caps_equal_features(const struct vmx_caps *a, const struct vmx_caps *b);

/*
 * Names of the features in which a and b differ, comma-separated, into buf.
 * Returns the number of differing features (0 if equal), -EINVAL on bad args.
 */
int vmx_caps_diff(const struct vmx_caps *a, const struct vmx_caps *b, char *buf, size_t len);

/*
 * What the OS must do with IA32_FEATURE_CONTROL before VMXON:
 * 0 nothing (locked, VMXON outside SMX allowed), 1 write *new_fc (unlocked:
 * lock + VMXON outside SMX, other bits kept), -EPERM locked with VMXON outside
 * SMX disabled (only the firmware setup can change it), -EINVAL new_fc NULL.
 */
int vmx_feature_control_plan(uint64_t fc, uint64_t *new_fc);

/* Kernel side (vmm/vmx_discover.c), valid after the INIT_SUBSYS level. */
bool vmx_host_usable(void);
const struct vmx_caps *vmx_host_caps(void);	/* CPU 0's, NULL if not usable */

#endif
