/*
 * Decoding the VMX capability reporting facility (SDM Vol. 3D appendix A).
 *
 * A CPU tells software what its VT-x can do through a dozen read-only MSRs.
 * Each control set (pin-based, primary and secondary processor-based,
 * VM-exit, VM-entry) is reported as a pair of 32-bit masks: bit X of the low
 * half set means control X must be 1 ("allowed-0 settings"), bit 32+X clear
 * means control X must be 0 ("allowed-1 settings"). When IA32_VMX_BASIC bit
 * 55 is set, the TRUE_* MSRs replace the legacy ones for four of the sets:
 * they may allow the "default1" bits to be 0, which the legacy MSRs never do.
 *
 * Some MSRs exist only when another one says so: PROCBASED_CTLS2 only if the
 * primary controls allow "activate secondary controls", EPT_VPID_CAP only if
 * the secondary controls allow EPT or VPID, VMFUNC only if they allow VM
 * functions. The probe reads exactly those; the decoder insists on the same
 * rule, so a caller that forgot one gets VMX_BAD_MSRS rather than a silent
 * "no EPT".
 *
 * Everything here is a pure function of its arguments: no hardware access,
 * no global state. The decoder checks what it can (region size, memory type,
 * masks that contradict themselves) because a hypervisor running under
 * another hypervisor may be handed nonsense, and a wrong mask here becomes a
 * failed VM entry much later with far less context.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <vmkernel/cpu_hw.h>
#include <vmkernel/linebuf.h>
#include <vmm/vmx_caps.h>
#include <vmm/vmx_hw.h>

/* IA32_VMX_BASIC (SDM 3D A.1) */
#define BASIC_REVISION_MASK	0x7fffffffULL
#define BASIC_BIT31		(1ULL << 31)
#define BASIC_SIZE_SHIFT	32
#define BASIC_SIZE_MASK		0x1fffULL
#define BASIC_MEMTYPE_SHIFT	50
#define BASIC_MEMTYPE_MASK	0xfULL
#define BASIC_INS_OUTS		(1ULL << 54)
#define BASIC_TRUE_CTLS		(1ULL << 55)
#define MEMTYPE_UC		0
#define MEMTYPE_WB		6
#define VMX_REGION_MAX		4096

/* Control bits this file looks at (SDM 3C 25.6, 25.7) */
#define PIN_PREEMPT_TIMER	(1U << 6)
#define PROC_SECONDARY		(1U << 31)
#define PROC2_VIRT_APIC_ACCESS	(1U << 0)
#define PROC2_EPT		(1U << 1)
#define PROC2_RDTSCP		(1U << 3)
#define PROC2_VPID		(1U << 5)
#define PROC2_UNRESTRICTED	(1U << 7)
#define PROC2_VINTR_DELIVERY	(1U << 9)
#define PROC2_PLE		(1U << 10)
#define PROC2_INVPCID		(1U << 12)
#define PROC2_VMFUNC		(1U << 13)
#define PROC2_XSAVES		(1U << 20)
#define EXIT_ACK_INTR		(1U << 15)

/* IA32_VMX_EPT_VPID_CAP (SDM 3D A.10) */
#define EPT_CAP_EXEC_ONLY	(1ULL << 0)
#define EPT_CAP_PWL4		(1ULL << 6)
#define EPT_CAP_PWL5		(1ULL << 7)
#define EPT_CAP_UC		(1ULL << 8)
#define EPT_CAP_WB		(1ULL << 14)
#define EPT_CAP_2M		(1ULL << 16)
#define EPT_CAP_1G		(1ULL << 17)
#define EPT_CAP_INVEPT		(1ULL << 20)
#define EPT_CAP_AD		(1ULL << 21)
#define EPT_CAP_INVEPT_SINGLE	(1ULL << 25)
#define EPT_CAP_INVEPT_ALL	(1ULL << 26)
#define VPID_CAP_INVVPID	(1ULL << 32)
#define VPID_CAP_ADDR		(1ULL << 40)
#define VPID_CAP_SINGLE		(1ULL << 41)
#define VPID_CAP_ALL		(1ULL << 42)
#define VPID_CAP_SINGLE_GLOBALS	(1ULL << 43)

/* IA32_VMX_MISC (SDM 3D A.6) */
#define MISC_TIMER_RATE_MASK	0x1fULL
#define MISC_STORE_LMA		(1ULL << 5)
#define MISC_ACT_HLT		(1ULL << 6)
#define MISC_ACT_SHUTDOWN	(1ULL << 7)
#define MISC_ACT_SIPI		(1ULL << 8)
#define MISC_CR3_SHIFT		16
#define MISC_CR3_MASK		0x1ffULL
#define MISC_CR3_MAX		256
#define MISC_MSRS_SHIFT		25
#define MISC_MSRS_MASK		0x7ULL

/* IA32_VMX_VMFUNC (SDM 3D A.11) */
#define VMFUNC_EPTP_SWITCHING	(1ULL << 0)

static int status_errno(enum vmx_status st)
{
	switch (st) {
	case VMX_OK:
		return 0;
	case VMX_NO_CPUID:
		return -ENODEV;
	case VMX_DISABLED_BY_FIRMWARE:
		return -EPERM;
	default:
		return -EINVAL;
	}
}

static int __attribute__((format(printf, 3, 4)))
fail(struct vmx_caps *c, enum vmx_status st, const char *fmt, ...)
{
	va_list ap;

	c->status = st;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	return status_errno(st);
}

int vmx_feature_control_plan(uint64_t fc, uint64_t *new_fc)
{
	if (!new_fc)
		return -EINVAL;
	*new_fc = fc;
	if (fc & FEATURE_CONTROL_LOCKED)
		return (fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX) ? 0 : -EPERM;
	*new_fc = fc | FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_OUTSIDE_SMX;
	return 1;
}

unsigned int vmx_msrs_want(const struct vmx_msrs *m)
{
	uint64_t proc;
	uint32_t proc2;
	unsigned int want = 0;

	if (!m)
		return 0;
	if (m->basic & BASIC_TRUE_CTLS)
		want |= VMX_WANT_TRUE_CTLS;
	proc = (m->basic & BASIC_TRUE_CTLS) ? m->true_procbased : m->procbased;
	if (!((proc >> 32) & PROC_SECONDARY))
		return want;
	want |= VMX_WANT_PROCBASED2;
	if (!m->has_procbased2)
		return want;
	proc2 = (uint32_t)(m->procbased2 >> 32);
	if (proc2 & (PROC2_EPT | PROC2_VPID))
		want |= VMX_WANT_EPT_VPID_CAP;
	if (proc2 & PROC2_VMFUNC)
		want |= VMX_WANT_VMFUNC;
	return want;
}

static int decode_basic(uint64_t basic, struct vmx_caps *c)
{
	c->revision_id = (uint32_t)(basic & BASIC_REVISION_MASK);
	c->region_size = (uint32_t)((basic >> BASIC_SIZE_SHIFT) & BASIC_SIZE_MASK);
	c->vmcs_mem_type = (uint8_t)((basic >> BASIC_MEMTYPE_SHIFT) & BASIC_MEMTYPE_MASK);
	c->ins_outs_info = basic & BASIC_INS_OUTS;
	c->true_ctls = basic & BASIC_TRUE_CTLS;

	if (basic & BASIC_BIT31)
		return fail(c, VMX_BAD_MSRS, "inconsistent VMX MSRs: IA32_VMX_BASIC (0x480) "
			    "has bit 31 set (always 0 on real CPUs)");
	if (c->revision_id == 0)
		return fail(c, VMX_BAD_MSRS, "inconsistent VMX MSRs: IA32_VMX_BASIC (0x480) "
			    "reports VMCS revision 0");
	if (c->region_size == 0 || c->region_size > VMX_REGION_MAX)
		return fail(c, VMX_BAD_MSRS, "inconsistent VMX MSRs: IA32_VMX_BASIC (0x480) "
			    "reports VMCS region size %u (must be 1..4096)", c->region_size);
	if (c->vmcs_mem_type != MEMTYPE_UC && c->vmcs_mem_type != MEMTYPE_WB)
		return fail(c, VMX_BAD_MSRS, "inconsistent VMX MSRs: IA32_VMX_BASIC (0x480) "
			    "reports VMCS memory type %u (only 0=UC, 6=WB exist)",
			    c->vmcs_mem_type);
	return 0;
}

/* Split a control MSR; a bit that must be 1 yet may not be 1 is a contradiction. */
static int decode_ctl(const char *name, uint32_t msr, uint64_t raw,
		      struct vmx_ctl_masks *mk, struct vmx_caps *c)
{
	mk->allowed0 = (uint32_t)raw;
	mk->allowed1 = (uint32_t)(raw >> 32);
	if (mk->allowed0 & ~mk->allowed1)
		return fail(c, VMX_BAD_MSRS, "inconsistent VMX MSRs: %s (0x%x) requires "
			    "controls 0x%x to be 1 but does not allow them to be 1", name, msr,
			    mk->allowed0 & ~mk->allowed1);
	return 0;
}

static int decode_controls(const struct vmx_msrs *m, struct vmx_caps *c)
{
	int rc;

	if (c->true_ctls) {
		rc = decode_ctl("IA32_VMX_TRUE_PINBASED_CTLS", MSR_IA32_VMX_TRUE_PINBASED_CTLS,
				m->true_pinbased, &c->pin, c);
		rc = rc ? rc : decode_ctl("IA32_VMX_TRUE_PROCBASED_CTLS",
					  MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
					  m->true_procbased, &c->proc, c);
		rc = rc ? rc : decode_ctl("IA32_VMX_TRUE_EXIT_CTLS", MSR_IA32_VMX_TRUE_EXIT_CTLS,
					  m->true_exit, &c->exit, c);
		rc = rc ? rc : decode_ctl("IA32_VMX_TRUE_ENTRY_CTLS",
					  MSR_IA32_VMX_TRUE_ENTRY_CTLS, m->true_entry,
					  &c->entry, c);
	} else {
		rc = decode_ctl("IA32_VMX_PINBASED_CTLS", MSR_IA32_VMX_PINBASED_CTLS,
				m->pinbased, &c->pin, c);
		rc = rc ? rc : decode_ctl("IA32_VMX_PROCBASED_CTLS", MSR_IA32_VMX_PROCBASED_CTLS,
					  m->procbased, &c->proc, c);
		rc = rc ? rc : decode_ctl("IA32_VMX_EXIT_CTLS", MSR_IA32_VMX_EXIT_CTLS,
					  m->exit, &c->exit, c);
		rc = rc ? rc : decode_ctl("IA32_VMX_ENTRY_CTLS", MSR_IA32_VMX_ENTRY_CTLS,
					  m->entry, &c->entry, c);
	}
	if (rc)
		return rc;
	if (!(c->proc.allowed1 & PROC_SECONDARY))
		return 0;
	if (!m->has_procbased2)
		return fail(c, VMX_BAD_MSRS, "inconsistent VMX MSRs: secondary controls are "
			    "allowed but IA32_VMX_PROCBASED_CTLS2 (0x48b) was not read");
	return decode_ctl("IA32_VMX_PROCBASED_CTLS2", MSR_IA32_VMX_PROCBASED_CTLS2,
			  m->procbased2, &c->proc2, c);
}

static void decode_ept_vpid(uint64_t cap, struct vmx_caps *c)
{
	if (c->ept) {
		c->ept_execute_only = cap & EPT_CAP_EXEC_ONLY;
		c->ept_4level = cap & EPT_CAP_PWL4;
		c->ept_5level = cap & EPT_CAP_PWL5;
		c->ept_uc = cap & EPT_CAP_UC;
		c->ept_wb = cap & EPT_CAP_WB;
		c->ept_2m = cap & EPT_CAP_2M;
		c->ept_1g = cap & EPT_CAP_1G;
		c->ept_ad = cap & EPT_CAP_AD;
		c->invept = cap & EPT_CAP_INVEPT;
		c->invept_single = c->invept && (cap & EPT_CAP_INVEPT_SINGLE);
		c->invept_all = c->invept && (cap & EPT_CAP_INVEPT_ALL);
	}
	if (c->vpid) {
		c->invvpid = cap & VPID_CAP_INVVPID;
		c->invvpid_addr = c->invvpid && (cap & VPID_CAP_ADDR);
		c->invvpid_single = c->invvpid && (cap & VPID_CAP_SINGLE);
		c->invvpid_all = c->invvpid && (cap & VPID_CAP_ALL);
		c->invvpid_single_globals = c->invvpid && (cap & VPID_CAP_SINGLE_GLOBALS);
	}
}

static int decode_features(const struct vmx_msrs *m, struct vmx_caps *c)
{
	uint32_t p2 = c->proc2.allowed1;

	c->preemption_timer = c->pin.allowed1 & PIN_PREEMPT_TIMER;
	c->virt_apic_access = p2 & PROC2_VIRT_APIC_ACCESS;
	c->ept = p2 & PROC2_EPT;
	c->rdtscp = p2 & PROC2_RDTSCP;
	c->vpid = p2 & PROC2_VPID;
	c->unrestricted_guest = p2 & PROC2_UNRESTRICTED;
	c->invpcid = p2 & PROC2_INVPCID;
	c->xsaves = p2 & PROC2_XSAVES;
	c->pause_loop_exiting = p2 & PROC2_PLE;
	/* Virtual-interrupt delivery needs the TPR shadow; posted interrupts need
	 * virtual-interrupt delivery and "acknowledge interrupt on exit". */
	c->apicv = (c->proc.allowed1 & PROC_TPR_SHADOW) && (p2 & PROC2_APIC_REG_VIRT) &&
		   (p2 & PROC2_VINTR_DELIVERY);
	c->posted_interrupts = c->apicv && (c->pin.allowed1 & PIN_POSTED_INTR) &&
			       (c->exit.allowed1 & EXIT_ACK_INTR);
	c->vmfunc = p2 & PROC2_VMFUNC;
	c->vmfunc_eptp_switching = c->vmfunc && (m->vmfunc & VMFUNC_EPTP_SWITCHING);

	if (c->ept || c->vpid) {
		if (!m->has_ept_vpid_cap)
			return fail(c, VMX_BAD_MSRS, "inconsistent VMX MSRs: EPT or VPID is "
				    "allowed but IA32_VMX_EPT_VPID_CAP (0x48c) was not read");
		decode_ept_vpid(m->ept_vpid_cap, c);
	}
	return 0;
}

static int decode_misc(uint64_t misc, struct vmx_caps *c)
{
	unsigned int cr3 = (unsigned int)((misc >> MISC_CR3_SHIFT) & MISC_CR3_MASK);

	c->preemption_timer_rate = (uint8_t)(misc & MISC_TIMER_RATE_MASK);
	c->store_efer_lma = misc & MISC_STORE_LMA;
	c->act_hlt = misc & MISC_ACT_HLT;
	c->act_shutdown = misc & MISC_ACT_SHUTDOWN;
	c->act_wait_sipi = misc & MISC_ACT_SIPI;
	c->max_msr_list = (uint16_t)(512 * (((misc >> MISC_MSRS_SHIFT) & MISC_MSRS_MASK) + 1));
	c->mseg_revision = (uint32_t)(misc >> 32);
	if (cr3 > MISC_CR3_MAX)
		return fail(c, VMX_BAD_MSRS, "inconsistent VMX MSRs: IA32_VMX_MISC (0x485) "
			    "reports %u CR3-target values (at most 256)", cr3);
	c->cr3_targets = (uint16_t)cr3;
	return 0;
}

static int decode_fixed(const struct vmx_msrs *m, struct vmx_caps *c)
{
	c->cr0_fixed0 = m->cr0_fixed0;
	c->cr0_fixed1 = m->cr0_fixed1;
	c->cr4_fixed0 = m->cr4_fixed0;
	c->cr4_fixed1 = m->cr4_fixed1;
	if (m->cr0_fixed0 & ~m->cr0_fixed1)
		return fail(c, VMX_BAD_MSRS, "inconsistent VMX MSRs: IA32_VMX_CR0_FIXED0 (0x486) "
			    "forces CR0 bits 0x%llx to 1 that IA32_VMX_CR0_FIXED1 forces to 0",
			    (unsigned long long)(m->cr0_fixed0 & ~m->cr0_fixed1));
	if (m->cr4_fixed0 & ~m->cr4_fixed1)
		return fail(c, VMX_BAD_MSRS, "inconsistent VMX MSRs: IA32_VMX_CR4_FIXED0 (0x488) "
			    "forces CR4 bits 0x%llx to 1 that IA32_VMX_CR4_FIXED1 forces to 0",
			    (unsigned long long)(m->cr4_fixed0 & ~m->cr4_fixed1));
	return 0;
}

static int decode_access(const struct vmx_msrs *m, struct vmx_caps *c)
{
	uint64_t new_fc;

	if (!m->cpuid_vmx)
		return fail(c, VMX_NO_CPUID, "this CPU has no VT-x (CPUID.1:ECX.VMX = 0): "
			    "it is not an Intel VT-x CPU, or the hypervisor below hides VMX");
	if (!m->feature_control_readable)
		return fail(c, VMX_BAD_MSRS, "CPUID reports VMX but IA32_FEATURE_CONTROL (0x3a) "
			    "cannot be read");
	switch (vmx_feature_control_plan(m->feature_control, &new_fc)) {
	case 0:
		break;
	case 1:
		c->fc_needs_lock = true;
		break;
	default:
		return fail(c, VMX_DISABLED_BY_FIRMWARE, "VT-x is disabled in the firmware "
			    "(IA32_FEATURE_CONTROL is locked with VMXON disabled): enable Intel "
			    "Virtualization Technology in the BIOS setup");
	}
	if (m->unreadable_msr)
		return fail(c, VMX_BAD_MSRS, "CPUID reports VMX but reading VMX capability MSR "
			    "0x%x faulted", m->unreadable_msr);
	return 0;
}

int vmx_caps_decode(const struct vmx_msrs *m, struct vmx_caps *out)
{
	char reason[sizeof(out->reason)];
	enum vmx_status st;
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!m)
		return fail(out, VMX_BAD_MSRS, "internal error: no MSR values to decode");

	rc = decode_access(m, out);
	rc = rc ? rc : decode_basic(m->basic, out);
	rc = rc ? rc : decode_controls(m, out);
	rc = rc ? rc : decode_features(m, out);
	rc = rc ? rc : decode_misc(m->misc, out);
	rc = rc ? rc : decode_fixed(m, out);
	if (!rc)
		return 0;

	/* A failed decode leaves no half-filled features behind. */
	st = out->status;
	memcpy(reason, out->reason, sizeof(reason));
	memset(out, 0, sizeof(*out));
	out->status = st;
	memcpy(out->reason, reason, sizeof(reason));
	return rc;
}

int vmx_adjust_controls(uint32_t want, uint32_t required, uint32_t allowed0,
			uint32_t allowed1, uint32_t *out)
{
	if (!out || (allowed0 & ~allowed1))
		return -EINVAL;
	if (required & ~allowed1)
		return -ENOTSUP;
	*out = (want | required | allowed0) & allowed1;
	return 0;
}

/* The summary's line builder, and how many top-level items it holds. */
struct sbuf {
	struct linebuf lb;
	unsigned int items;
};

static void __attribute__((format(printf, 2, 3)))
sb_add(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lb_vprintf(&sb->lb, fmt, ap);
	va_end(ap);
}

/* Next item of the top-level comma list. */
static void sb_item(struct sbuf *sb, const char *name)
{
	sb_add(sb, "%s%s", sb->items++ ? ", " : "", name);
}

/* Items of a parenthesised sub-list: "name (a, b)" with *open tracking "(". */
static void sb_sub(struct sbuf *sb, bool *open, bool have, const char *name)
{
	if (!have)
		return;
	sb_add(sb, "%s%s", *open ? ", " : " (", name);
	*open = true;
}

static void sb_close(struct sbuf *sb, bool open)
{
	if (open)
		sb_add(sb, ")");
}

static void summary_ept_vpid(struct sbuf *sb, const struct vmx_caps *c)
{
	bool open = false;

	if (c->ept) {
		sb_item(sb, "EPT");
		sb_sub(sb, &open, c->ept_4level, "4-level");
		sb_sub(sb, &open, c->ept_5level, "5-level");
		sb_sub(sb, &open, c->ept_wb, "WB");
		sb_sub(sb, &open, c->ept_2m, "2M");
		sb_sub(sb, &open, c->ept_1g, "1G");
		sb_sub(sb, &open, c->ept_ad, "A/D");
		sb_sub(sb, &open, c->invept, "INVEPT");
		sb_close(sb, open);
	} else {
		sb_item(sb, "no EPT");
	}
	open = false;
	if (c->vpid) {
		sb_item(sb, "VPID");
		sb_sub(sb, &open, c->invvpid, "INVVPID");
		sb_close(sb, open);
	} else {
		sb_item(sb, "no VPID");
	}
}

int vmx_caps_summary(const struct vmx_caps *c, char *buf, size_t len)
{
	struct sbuf sb = { .lb = { buf, len, 0, false } };

	if (!c || !buf || !len)
		return -EINVAL;
	buf[0] = '\0';
	if (c->status != VMX_OK) {
		sb_add(&sb, "VT-x unusable: %.*s", (int)sizeof(c->reason), c->reason);
		return lb_truncated(&sb.lb) ? -ENOSPC : 0;
	}
	sb_add(&sb, "VT-x rev 0x%x: ", c->revision_id);
	summary_ept_vpid(&sb, c);
	sb_item(&sb, c->unrestricted_guest ? "unrestricted guest" : "no unrestricted guest");
	if (c->preemption_timer) {
		sb_item(&sb, "preemption timer");
		sb_add(&sb, " (TSC/%llu)", 1ULL << c->preemption_timer_rate);
	} else {
		sb_item(&sb, "no preemption timer");
	}
	if (c->apicv)
		sb_item(&sb, "APICv");
	if (c->posted_interrupts)
		sb_item(&sb, "posted interrupts");
	if (c->pause_loop_exiting)
		sb_item(&sb, "PAUSE-loop exiting");
	if (c->true_ctls)
		sb_item(&sb, "true controls");
	return lb_truncated(&sb.lb) ? -ENOSPC : 0;
}

/* The feature set: every field except status and reason, compared byte-wise. */
struct caps_field {
	const char *name;
	size_t off, size;
};

#define CAPS_FIELD(f) { #f, offsetof(struct vmx_caps, f), sizeof(((struct vmx_caps *)0)->f) }

static const struct caps_field caps_fields[] = {
	CAPS_FIELD(revision_id), CAPS_FIELD(region_size), CAPS_FIELD(vmcs_mem_type),
	CAPS_FIELD(true_ctls), CAPS_FIELD(ins_outs_info), CAPS_FIELD(fc_needs_lock),
	CAPS_FIELD(ept), CAPS_FIELD(ept_execute_only), CAPS_FIELD(ept_4level),
	CAPS_FIELD(ept_5level), CAPS_FIELD(ept_uc), CAPS_FIELD(ept_wb), CAPS_FIELD(ept_2m),
	CAPS_FIELD(ept_1g), CAPS_FIELD(ept_ad), CAPS_FIELD(invept), CAPS_FIELD(invept_single),
	CAPS_FIELD(invept_all), CAPS_FIELD(vpid), CAPS_FIELD(invvpid), CAPS_FIELD(invvpid_addr),
	CAPS_FIELD(invvpid_single), CAPS_FIELD(invvpid_all), CAPS_FIELD(invvpid_single_globals),
	CAPS_FIELD(unrestricted_guest), CAPS_FIELD(virt_apic_access), CAPS_FIELD(apicv),
	CAPS_FIELD(rdtscp), CAPS_FIELD(invpcid), CAPS_FIELD(xsaves), CAPS_FIELD(vmfunc),
	CAPS_FIELD(vmfunc_eptp_switching), CAPS_FIELD(preemption_timer),
	CAPS_FIELD(preemption_timer_rate), CAPS_FIELD(posted_interrupts),
	CAPS_FIELD(pause_loop_exiting),
	CAPS_FIELD(store_efer_lma), CAPS_FIELD(act_hlt), CAPS_FIELD(act_shutdown),
	CAPS_FIELD(act_wait_sipi), CAPS_FIELD(cr3_targets), CAPS_FIELD(max_msr_list),
	CAPS_FIELD(mseg_revision),
	CAPS_FIELD(pin.allowed0), CAPS_FIELD(pin.allowed1),
	CAPS_FIELD(proc.allowed0), CAPS_FIELD(proc.allowed1),
	CAPS_FIELD(proc2.allowed0), CAPS_FIELD(proc2.allowed1),
	CAPS_FIELD(exit.allowed0), CAPS_FIELD(exit.allowed1),
	CAPS_FIELD(entry.allowed0), CAPS_FIELD(entry.allowed1),
	CAPS_FIELD(cr0_fixed0), CAPS_FIELD(cr0_fixed1),
	CAPS_FIELD(cr4_fixed0), CAPS_FIELD(cr4_fixed1),
};

static bool field_differs(const struct vmx_caps *a, const struct vmx_caps *b,
			  const struct caps_field *f)
{
	return memcmp((const char *)a + f->off, (const char *)b + f->off, f->size) != 0;
}

bool vmx_caps_equal_features(const struct vmx_caps *a, const struct vmx_caps *b)
{
	if (!a || !b)
		return false;
	if (a->status != b->status)
		return false;
	for (size_t i = 0; i < sizeof(caps_fields) / sizeof(caps_fields[0]); i++) {
		if (field_differs(a, b, &caps_fields[i]))
			return false;
	}
	return true;
}

int vmx_caps_diff(const struct vmx_caps *a, const struct vmx_caps *b, char *buf, size_t len)
{
	struct sbuf sb = { .lb = { buf, len, 0, false } };
	int n = 0;

	if (!a || !b || !buf || !len)
		return -EINVAL;
	buf[0] = '\0';
	if (a->status != b->status) {
		sb_item(&sb, "status");
		n++;
	}
	for (size_t i = 0; i < sizeof(caps_fields) / sizeof(caps_fields[0]); i++) {
		if (field_differs(a, b, &caps_fields[i])) {
			sb_item(&sb, caps_fields[i].name);
			n++;
		}
	}
	return n;
}
