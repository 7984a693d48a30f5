/*
 * The VM-entry checks of SDM 3C ch. 27, in software.
 *
 * When VMLAUNCH or VMRESUME refuses a VMCS the hardware says little: a
 * VM-instruction error 7 (bad controls) or 8 (bad host state), or an exit
 * with reason 33 (bad guest state) and nothing more. This file walks the
 * same rules the processor applies, in the order the SDM lists them
 * (27.2.1 controls, 27.2.2-27.2.4 host state, 27.3.1 guest state), over a
 * plain copy of the VMCS, and stops at the first one that fails with a
 * sentence naming the field, its value and the rule.
 *
 * What the rules depend on besides the VMCS comes from struct vmx_caps
 * (control masks, CR0/CR4 fixed bits, EPT and activity-state support) and
 * the physical-address width. The host is taken to be in 64-bit mode (the
 * vmkernel always is) with 48-bit linear addresses. A few checks need
 * memory the checker cannot see (MSR-load lists, the virtual-APIC page, a
 * linked VMCS) or concern features this VMM never enables; they are
 * listed in <vmcs_check.h> and skipped. Passing here is therefore
 * necessary, not sufficient; a failure here is a real bug.
 *
 * Secondary controls count only when the primary "activate secondary
 * controls" bit is set (27.2.1.1): everything below reads the effective
 * value, c->proc2.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <vmm/vmcs_check.h>

#define BIT(n)		(1ULL << (n))
#define ULL(v)		((unsigned long long)(v))

#define CR0_PE		BIT(0)
#define CR0_PG		BIT(31)
#define CR4_PAE		BIT(5)
#define CR4_PCIDE	BIT(17)
#define EFER_SCE	BIT(0)
#define EFER_LME	BIT(8)
#define EFER_LMA	BIT(10)
#define EFER_NXE	BIT(11)
#define RFLAGS_FIXED1	BIT(1)
#define RFLAGS_TF	BIT(8)
#define RFLAGS_IF	BIT(9)
#define RFLAGS_VM	BIT(17)
#define DEBUGCTL_BTF	BIT(1)

#define AR_TYPE(ar)	((ar) & 0xfU)
#define AR_S		BIT(4)
#define AR_DPL(ar)	(((ar) >> 5) & 3U)
#define AR_P		BIT(7)
#define AR_RSVD_11_8	0xf00ULL
#define AR_L		BIT(13)
#define AR_DB		BIT(14)
#define AR_G		BIT(15)
#define AR_UNUSABLE	BIT(16)
#define AR_RSVD_31_17	0xfffe0000ULL

#define LINEAR_WIDTH	48

struct chk {
	const struct vmcs_state *s;
	const struct vmx_caps *caps;
	unsigned width;		/* physical-address width */
	uint32_t proc2;		/* effective secondary controls */
	bool ug;		/* unrestricted guest */
	bool ia32e;		/* IA-32e mode guest */
	bool v86;		/* RFLAGS.VM */
	bool inject;		/* entry interruption info valid */
	unsigned inj_type, inj_vector;
	char *why;
	size_t len;
};

static int fail(struct chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct chk *c, const char *fmt, ...)
{
	va_list ap;

	if (c->why && c->len) {
		va_start(ap, fmt);
		vsnprintf(c->why, c->len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

#define CHECK(c, cond, ...)	do { if (!(cond)) return fail((c), __VA_ARGS__); } while (0)
#define RUN(expr)		do { int err_ = (expr); if (err_) return err_; } while (0)

static bool canonical(uint64_t a)
{
	int64_t s = (int64_t)(a << (64 - LINEAR_WIDTH)) >> (64 - LINEAR_WIDTH);

	return (uint64_t)s == a;
}

static bool fits(const struct chk *c, uint64_t pa)
{
	return c->width >= 64 || (pa >> c->width) == 0;
}

static bool valid_pat(uint64_t pat)
{
	for (int i = 0; i < 8; i++) {
		unsigned t = (pat >> (8 * i)) & 0xff;

		if (t != 0 && t != 1 && t != 4 && t != 5 && t != 6 && t != 7)
			return false;
	}
	return true;
}

static int lowest_bit(uint64_t v)
{
	return v ? __builtin_ctzll(v) : -1;
}

/* ---- 27.2.1.1-3: reserved control bits (allowed-0/allowed-1 settings) ---- */

static const char *const pin_names[32] = {
	[0] = "external-interrupt exiting", [3] = "NMI exiting", [5] = "virtual NMIs",
	[6] = "activate VMX-preemption timer", [7] = "process posted interrupts",
};
static const char *const proc_names[32] = {
	[2] = "interrupt-window exiting", [3] = "use TSC offsetting", [7] = "HLT exiting",
	[9] = "INVLPG exiting", [10] = "MWAIT exiting", [11] = "RDPMC exiting",
	[12] = "RDTSC exiting", [15] = "CR3-load exiting", [16] = "CR3-store exiting",
	[17] = "activate tertiary controls", [19] = "CR8-load exiting",
	[20] = "CR8-store exiting", [21] = "use TPR shadow", [22] = "NMI-window exiting",
	[23] = "MOV-DR exiting", [24] = "unconditional I/O exiting", [25] = "use I/O bitmaps",
	[27] = "monitor trap flag", [28] = "use MSR bitmaps", [29] = "MONITOR exiting",
	[30] = "PAUSE exiting", [31] = "activate secondary controls",
};
static const char *const proc2_names[32] = {
	[0] = "virtualize APIC accesses", [1] = "enable EPT", [2] = "descriptor-table exiting",
	[3] = "enable RDTSCP", [4] = "virtualize x2APIC mode", [5] = "enable VPID",
	[6] = "WBINVD exiting", [7] = "unrestricted guest", [8] = "APIC-register virtualization",
	[9] = "virtual-interrupt delivery", [10] = "PAUSE-loop exiting", [11] = "RDRAND exiting",
	[12] = "enable INVPCID", [13] = "enable VM functions", [14] = "VMCS shadowing",
	[15] = "enable ENCLS exiting", [16] = "RDSEED exiting", [17] = "enable PML",
	[18] = "EPT-violation #VE", [20] = "enable XSAVES/XRSTORS",
	[22] = "mode-based execute control for EPT", [25] = "use TSC scaling",
};
static const char *const exit_names[32] = {
	[2] = "save debug controls", [9] = "host address-space size",
	[12] = "load IA32_PERF_GLOBAL_CTRL", [15] = "acknowledge interrupt on exit",
	[18] = "save IA32_PAT", [19] = "load IA32_PAT", [20] = "save IA32_EFER",
	[21] = "load IA32_EFER", [22] = "save VMX-preemption timer value",
};
static const char *const entry_names[32] = {
	[2] = "load debug controls", [9] = "IA-32e mode guest", [10] = "entry to SMM",
	[11] = "deactivate dual-monitor treatment", [13] = "load IA32_PERF_GLOBAL_CTRL",
	[14] = "load IA32_PAT", [15] = "load IA32_EFER",
};

struct ctl_set {
	const char *what;
	uint32_t val;
	const struct vmx_ctl_masks *m;
	const char *const *names;
};

static int check_ctl_set(struct chk *c, const struct ctl_set *set)
{
	int b0 = lowest_bit(set->m->allowed0 & ~set->val);
	int b1 = lowest_bit(set->val & ~set->m->allowed1);

	if (b0 >= 0)
		return fail(c, "%s 0x%x: bit %d (%s) must be 1 on this CPU (allowed-0 0x%x)",
			    set->what, set->val, b0, set->names[b0] ? set->names[b0] : "reserved",
			    set->m->allowed0);
	if (b1 >= 0)
		return fail(c, "%s 0x%x: bit %d (%s) must be 0 on this CPU (allowed-1 0x%x)",
			    set->what, set->val, b1, set->names[b1] ? set->names[b1] : "reserved",
			    set->m->allowed1);
	return 0;
}

static int check_ctl_masks(struct chk *c)
{
	const struct vmcs_state *s = c->s;
	const struct ctl_set sets[] = {
		{ "pin-based controls", s->pin, &c->caps->pin, pin_names },
		{ "primary processor-based controls", s->proc, &c->caps->proc, proc_names },
		{ "secondary processor-based controls", s->proc2, &c->caps->proc2, proc2_names },
		{ "VM-exit controls", s->exit, &c->caps->exit, exit_names },
		{ "VM-entry controls", s->entry, &c->caps->entry, entry_names },
	};

	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		if (i == 2 && !(s->proc & PROC_SECONDARY_CTLS))
			continue;
		RUN(check_ctl_set(c, &sets[i]));
	}
	return 0;
}

/* A 4-KByte-aligned physical address within the physical-address width. */
static int check_page_addr(struct chk *c, const char *what, uint64_t pa)
{
	CHECK(c, !(pa & 0xfff), "%s 0x%llx: bits 11:0 must be 0 (4-KByte aligned)", what, ULL(pa));
	CHECK(c, fits(c, pa), "%s 0x%llx: sets bits beyond the physical-address width (%u)",
	      what, ULL(pa), c->width);
	return 0;
}

/* An MSR-load/store list: 16-byte aligned, the whole list within the width. */
static int check_msr_list(struct chk *c, const char *what, uint64_t pa, uint32_t count)
{
	if (!count)
		return 0;
	CHECK(c, !(pa & 0xf), "%s 0x%llx: bits 3:0 must be 0", what, ULL(pa));
	CHECK(c, fits(c, pa) && fits(c, pa + (uint64_t)count * 16 - 1),
	      "%s 0x%llx (%u entries): the list extends beyond the physical-address width (%u)",
	      what, ULL(pa), count, c->width);
	return 0;
}

/* 27.2.1.1: the EPT pointer, when "enable EPT" is 1. */
static int check_eptp(struct chk *c)
{
	uint64_t e = c->s->eptp;
	unsigned mt = e & 7, walk = (e >> 3) & 7;

	CHECK(c, (mt == 0 && c->caps->ept_uc) || (mt == 6 && c->caps->ept_wb),
	      "EPT pointer 0x%llx: memory type %u must be UC (0) or WB (6) and supported by "
	      "IA32_VMX_EPT_VPID_CAP", ULL(e), mt);
	CHECK(c, (walk == 3 && c->caps->ept_4level) || (walk == 4 && c->caps->ept_5level),
	      "EPT pointer 0x%llx: bits 5:3 (page-walk length - 1) = %u; must be 3 (4-level)%s",
	      ULL(e), walk, c->caps->ept_5level ? " or 4 (5-level)" : ", the only length "
	      "this CPU supports");
	CHECK(c, !(e & BIT(6)) || c->caps->ept_ad,
	      "EPT pointer 0x%llx: bit 6 (enable accessed and dirty flags) set but the CPU does "
	      "not support EPT A/D flags", ULL(e));
	CHECK(c, !(e & 0xf80), "EPT pointer 0x%llx: reserved bits 11:7 must be 0", ULL(e));
	CHECK(c, fits(c, e), "EPT pointer 0x%llx: sets bits beyond the physical-address width (%u)",
	      ULL(e), c->width);
	return 0;
}

/* 27.2.1.1: APIC virtualization controls and their dependencies. */
static int check_apic_controls(struct chk *c)
{
	const struct vmcs_state *s = c->s;
	uint32_t p2 = c->proc2;

	if (s->proc & PROC_TPR_SHADOW) {
		RUN(check_page_addr(c, "virtual-APIC address", s->virtual_apic_addr));
		CHECK(c, (p2 & VMCS_CHK_PROC2_VINTR_DELIVERY) || !(s->tpr_threshold & ~0xfU),
		      "TPR threshold 0x%x: bits 31:4 must be 0 with \"use TPR shadow\"",
		      s->tpr_threshold);
	} else {
		CHECK(c, !(p2 & (VMCS_CHK_PROC2_X2APIC | VMCS_CHK_PROC2_APIC_REG_VIRT |
				 VMCS_CHK_PROC2_VINTR_DELIVERY)),
		      "secondary controls 0x%x: \"virtualize x2APIC mode\", \"APIC-register "
		      "virtualization\" and \"virtual-interrupt delivery\" need \"use TPR shadow\"",
		      p2);
	}
	if (p2 & PROC2_VIRT_APIC_ACCESSES)
		RUN(check_page_addr(c, "APIC-access address", s->apic_access_addr));
	CHECK(c, !(p2 & VMCS_CHK_PROC2_X2APIC) || !(p2 & PROC2_VIRT_APIC_ACCESSES),
	      "secondary controls 0x%x: \"virtualize x2APIC mode\" and \"virtualize APIC "
	      "accesses\" cannot both be 1", p2);
	CHECK(c, !(p2 & VMCS_CHK_PROC2_VINTR_DELIVERY) || (s->pin & PIN_EXT_INTR_EXITING),
	      "secondary controls: \"virtual-interrupt delivery\" set but pin-based control "
	      "\"external-interrupt exiting\" is 0");
	CHECK(c, !(s->pin & VMCS_CHK_PIN_POSTED_INTR) ||
	      ((p2 & VMCS_CHK_PROC2_VINTR_DELIVERY) && (s->exit & EXIT_ACK_INTR_ON_EXIT)),
	      "pin-based controls: \"process posted interrupts\" needs \"virtual-interrupt "
	      "delivery\" and the exit control \"acknowledge interrupt on exit\"");
	return 0;
}

/* 27.2.1.1: VM-execution control fields. */
static int check_exec_controls(struct chk *c)
{
	const struct vmcs_state *s = c->s;
	uint32_t p2 = c->proc2;

	CHECK(c, s->cr3_target_count <= c->caps->cr3_targets,
	      "CR3-target count %u: must not exceed %u (IA32_VMX_MISC)", s->cr3_target_count,
	      c->caps->cr3_targets);
	if (s->proc & PROC_USE_IO_BITMAPS) {
		RUN(check_page_addr(c, "I/O bitmap A address", s->io_bitmap_a));
		RUN(check_page_addr(c, "I/O bitmap B address", s->io_bitmap_b));
	}
	if (s->proc & PROC_USE_MSR_BITMAPS)
		RUN(check_page_addr(c, "MSR-bitmap address", s->msr_bitmap));
	RUN(check_apic_controls(c));
	CHECK(c, (s->pin & PIN_NMI_EXITING) || !(s->pin & PIN_VIRTUAL_NMIS),
	      "pin-based controls 0x%x: \"virtual NMIs\" set but \"NMI exiting\" is 0", s->pin);
	CHECK(c, (s->pin & PIN_VIRTUAL_NMIS) || !(s->proc & PROC_NMI_WINDOW_EXITING),
	      "primary processor-based controls 0x%x: \"NMI-window exiting\" set but pin-based "
	      "\"virtual NMIs\" is 0", s->proc);
	CHECK(c, !(p2 & PROC2_ENABLE_VPID) || s->vpid != 0,
	      "VPID 0: must not be 0000H when \"enable VPID\" is 1");
	if (p2 & PROC2_ENABLE_EPT)
		RUN(check_eptp(c));
	CHECK(c, !(p2 & PROC2_UNRESTRICTED_GUEST) || (p2 & PROC2_ENABLE_EPT),
	      "secondary controls 0x%x: \"unrestricted guest\" set but \"enable EPT\" is 0", p2);
	CHECK(c, !(p2 & VMCS_CHK_PROC2_ENABLE_PML) || (p2 & PROC2_ENABLE_EPT),
	      "secondary controls 0x%x: \"enable PML\" set but \"enable EPT\" is 0", p2);
	CHECK(c, !(p2 & VMCS_CHK_PROC2_MBEC) || (p2 & PROC2_ENABLE_EPT),
	      "secondary controls 0x%x: \"mode-based execute control for EPT\" set but "
	      "\"enable EPT\" is 0", p2);
	return 0;
}

/* 27.2.1.2: VM-exit control fields. */
static int check_exit_controls(struct chk *c)
{
	const struct vmcs_state *s = c->s;

	CHECK(c, (s->pin & PIN_PREEMPTION_TIMER) || !(s->exit & EXIT_SAVE_PREEMPTION_TIMER),
	      "VM-exit controls 0x%x: \"save VMX-preemption timer value\" set but pin-based "
	      "\"activate VMX-preemption timer\" is 0", s->exit);
	RUN(check_msr_list(c, "VM-exit MSR-store address", s->exit_msr_store_addr,
			   s->exit_msr_store_count));
	RUN(check_msr_list(c, "VM-exit MSR-load address", s->exit_msr_load_addr,
			   s->exit_msr_load_count));
	return 0;
}

/* Exceptions for which VM entry accepts "deliver error code" (27.2.1.3). */
static bool entry_error_vector(unsigned v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21;
}

/* 27.2.1.3: the VM-entry interruption-information field and its companions. */
static int check_entry_event(struct chk *c)
{
	const struct vmcs_state *s = c->s;
	uint32_t info = s->entry_intr_info;
	unsigned type = c->inj_type, vec = c->inj_vector;
	bool real = c->ug && !(s->guest_cr0 & CR0_PE);
	bool want_code = !real && type == 3 && entry_error_vector(vec);
	bool sw = type == 4 || type == 5 || type == 6;

	CHECK(c, type != 1 && (type != 7 || (c->caps->proc.allowed1 & PROC_MONITOR_TRAP_FLAG)),
	      "VM-entry interruption info 0x%x: interruption type %u is reserved", info, type);
	CHECK(c, type != 2 || vec == 2,
	      "VM-entry interruption info 0x%x: an NMI must have vector 2, not %u", info, vec);
	CHECK(c, type != 3 || vec <= 31,
	      "VM-entry interruption info 0x%x: a hardware exception must have a vector of at "
	      "most 31, not %u", info, vec);
	CHECK(c, type != 7 || vec == 0,
	      "VM-entry interruption info 0x%x: type 7 (other event) must have vector 0", info);
	CHECK(c, !(info & INTR_INFO_DELIVER_CODE) == !want_code,
	      "VM-entry interruption info 0x%x: deliver-error-code (bit 11) must be %d for a %s "
	      "with vector %u%s", info, want_code,
	      type == 3 ? "hardware exception" : "non-exception", vec,
	      real ? " in real mode (CR0.PE = 0)" : "");
	CHECK(c, !(info & 0x7ffff000U),
	      "VM-entry interruption info 0x%x: reserved bits 30:12 must be 0", info);
	CHECK(c, !(info & INTR_INFO_DELIVER_CODE) || !(s->entry_error & 0xffff0000U),
	      "VM-entry exception error code 0x%x: bits 31:16 must be 0", s->entry_error);
	CHECK(c, !sw || (s->entry_insn_len >= 1 && s->entry_insn_len <= 15),
	      "VM-entry instruction length %u: must be 1..15 when injecting a %s",
	      s->entry_insn_len, type == 4 ? "software interrupt" : "software exception");
	return 0;
}

/* 27.2.1.3: VM-entry control fields. */
static int check_entry_controls(struct chk *c)
{
	const struct vmcs_state *s = c->s;

	CHECK(c, !(s->entry & (VMCS_CHK_ENTRY_SMM | VMCS_CHK_ENTRY_DEACT_DUAL)),
	      "VM-entry controls 0x%x: \"entry to SMM\" and \"deactivate dual-monitor "
	      "treatment\" must be 0 outside SMM", s->entry);
	if (c->inject)
		RUN(check_entry_event(c));
	RUN(check_msr_list(c, "VM-entry MSR-load address", s->entry_msr_load_addr,
			   s->entry_msr_load_count));
	return 0;
}

/* ---- 27.2.2-27.2.4: host-state area ---- */

static int check_fixed(struct chk *c, const char *what, uint64_t val, uint64_t fixed0,
		       uint64_t fixed1)
{
	int b0 = lowest_bit(fixed0 & ~val), b1 = lowest_bit(val & ~fixed1);

	CHECK(c, b0 < 0, "%s 0x%llx: bit %d must be 1 in VMX operation (FIXED0 0x%llx)", what,
	      ULL(val), b0, ULL(fixed0));
	CHECK(c, b1 < 0, "%s 0x%llx: bit %d must be 0 in VMX operation (FIXED1 0x%llx)", what,
	      ULL(val), b1, ULL(fixed1));
	return 0;
}

static int check_host_regs(struct chk *c)
{
	const struct vmcs_state *s = c->s;
	const struct vmx_caps *k = c->caps;
	bool size64 = s->exit & EXIT_HOST_ADDR_SPACE_SIZE;
	uint64_t lm = size64 ? EFER_LMA | EFER_LME : 0;

	RUN(check_fixed(c, "host CR0", s->host_cr0, k->cr0_fixed0, k->cr0_fixed1));
	RUN(check_fixed(c, "host CR4", s->host_cr4, k->cr4_fixed0, k->cr4_fixed1));
	CHECK(c, fits(c, s->host_cr3),
	      "host CR3 0x%llx: sets bits beyond the physical-address width (%u)",
	      ULL(s->host_cr3), c->width);
	CHECK(c, canonical(s->host_sysenter_esp), "host IA32_SYSENTER_ESP 0x%llx: not canonical",
	      ULL(s->host_sysenter_esp));
	CHECK(c, canonical(s->host_sysenter_eip), "host IA32_SYSENTER_EIP 0x%llx: not canonical",
	      ULL(s->host_sysenter_eip));
	CHECK(c, !(s->exit & EXIT_LOAD_IA32_PAT) || valid_pat(s->host_pat),
	      "host IA32_PAT 0x%llx: each byte must be 0, 1, 4, 5, 6 or 7", ULL(s->host_pat));
	if (s->exit & EXIT_LOAD_IA32_EFER) {
		CHECK(c, !(s->host_efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)),
		      "host IA32_EFER 0x%llx: reserved bits must be 0", ULL(s->host_efer));
		CHECK(c, (s->host_efer & (EFER_LMA | EFER_LME)) == lm,
		      "host IA32_EFER 0x%llx: LMA and LME must each equal \"host address-space "
		      "size\" (%d)", ULL(s->host_efer), size64);
	}
	return 0;
}

static int check_host_segs(struct chk *c)
{
	const struct vmcs_state *s = c->s;
	const struct { const char *n; uint16_t sel; } sels[] = {
		{ "CS", s->host_cs_sel }, { "SS", s->host_ss_sel }, { "DS", s->host_ds_sel },
		{ "ES", s->host_es_sel }, { "FS", s->host_fs_sel }, { "GS", s->host_gs_sel },
		{ "TR", s->host_tr_sel },
	};
	const struct { const char *n; uint64_t base; } bases[] = {
		{ "FS", s->host_fs_base }, { "GS", s->host_gs_base }, { "GDTR", s->host_gdtr_base },
		{ "IDTR", s->host_idtr_base }, { "TR", s->host_tr_base },
	};

	for (size_t i = 0; i < sizeof(sels) / sizeof(sels[0]); i++)
		CHECK(c, !(sels[i].sel & 7),
		      "host %s selector 0x%x: RPL and TI (bits 2:0) must be 0", sels[i].n,
		      sels[i].sel);
	CHECK(c, s->host_cs_sel, "host CS selector 0: must not be 0000H");
	CHECK(c, s->host_tr_sel, "host TR selector 0: must not be 0000H");
	CHECK(c, s->host_ss_sel || (s->exit & EXIT_HOST_ADDR_SPACE_SIZE),
	      "host SS selector 0: must not be 0000H when \"host address-space size\" is 0");
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++)
		CHECK(c, canonical(bases[i].base), "host %s base 0x%llx: not canonical", bases[i].n,
		      ULL(bases[i].base));
	return 0;
}

/* 27.2.4, for a host in IA-32e mode (IA32_EFER.LMA = 1 when VMLAUNCH runs). */
static int check_host_addr_size(struct chk *c)
{
	const struct vmcs_state *s = c->s;

	CHECK(c, s->exit & EXIT_HOST_ADDR_SPACE_SIZE,
	      "VM-exit controls 0x%x: \"host address-space size\" must be 1 on a 64-bit host",
	      s->exit);
	CHECK(c, s->host_cr4 & CR4_PAE,
	      "host CR4 0x%llx: PAE (bit 5) must be 1 when \"host address-space size\" is 1",
	      ULL(s->host_cr4));
	CHECK(c, canonical(s->host_rip), "host RIP 0x%llx: not canonical", ULL(s->host_rip));
	return 0;
}

/* ---- 27.3.1.1: guest control registers, debug registers and MSRs ---- */

static int check_guest_efer(struct chk *c)
{
	const struct vmcs_state *s = c->s;
	uint64_t efer = s->guest_efer;

	CHECK(c, !(efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)),
	      "guest IA32_EFER 0x%llx: reserved bits must be 0", ULL(efer));
	CHECK(c, !(efer & EFER_LMA) == !c->ia32e,
	      "guest IA32_EFER 0x%llx: LMA (bit 10) must equal the entry control \"IA-32e mode "
	      "guest\" (%d)", ULL(efer), c->ia32e);
	CHECK(c, !(s->guest_cr0 & CR0_PG) || !(efer & EFER_LMA) == !(efer & EFER_LME),
	      "guest IA32_EFER 0x%llx: LME (bit 8) must equal LMA (bit 10) when CR0.PG is 1",
	      ULL(efer));
	return 0;
}

static int check_guest_crs(struct chk *c)
{
	const struct vmcs_state *s = c->s;
	const struct vmx_caps *k = c->caps;
	uint64_t f0 = k->cr0_fixed0 & (c->ug ? ~(CR0_PE | CR0_PG) : ~0ULL);

	RUN(check_fixed(c, "guest CR0", s->guest_cr0, f0, k->cr0_fixed1));
	CHECK(c, !(s->guest_cr0 & CR0_PG) || (s->guest_cr0 & CR0_PE),
	      "guest CR0 0x%llx: PG (bit 31) set but PE (bit 0) is 0", ULL(s->guest_cr0));
	RUN(check_fixed(c, "guest CR4", s->guest_cr4, k->cr4_fixed0, k->cr4_fixed1));
	if (s->entry & ENTRY_LOAD_DEBUG_CTLS)
		CHECK(c, !(s->guest_debugctl & 0xffffffffffff003cULL),
		      "guest IA32_DEBUGCTL 0x%llx: reserved bits 5:2 and 63:16 must be 0",
		      ULL(s->guest_debugctl));
	CHECK(c, !c->ia32e || (s->guest_cr0 & CR0_PG),
	      "VM-entry controls: bit 9 (IA-32e mode guest) set but guest CR0.PG is 0");
	CHECK(c, !c->ia32e || (s->guest_cr4 & CR4_PAE),
	      "VM-entry controls: bit 9 (IA-32e mode guest) set but guest CR4.PAE is 0");
	CHECK(c, c->ia32e || !(s->guest_cr4 & CR4_PCIDE),
	      "guest CR4 0x%llx: PCIDE (bit 17) must be 0 outside IA-32e mode", ULL(s->guest_cr4));
	CHECK(c, fits(c, s->guest_cr3),
	      "guest CR3 0x%llx: sets bits beyond the physical-address width (%u)",
	      ULL(s->guest_cr3), c->width);
	CHECK(c, !(s->entry & ENTRY_LOAD_DEBUG_CTLS) || !(s->guest_dr7 >> 32),
	      "guest DR7 0x%llx: bits 63:32 must be 0 with \"load debug controls\"",
	      ULL(s->guest_dr7));
	CHECK(c, canonical(s->guest_sysenter_esp), "guest IA32_SYSENTER_ESP 0x%llx: not canonical",
	      ULL(s->guest_sysenter_esp));
	CHECK(c, canonical(s->guest_sysenter_eip), "guest IA32_SYSENTER_EIP 0x%llx: not canonical",
	      ULL(s->guest_sysenter_eip));
	CHECK(c, !(s->entry & ENTRY_LOAD_IA32_PAT) || valid_pat(s->guest_pat),
	      "guest IA32_PAT 0x%llx: each byte must be 0, 1, 4, 5, 6 or 7", ULL(s->guest_pat));
	if (s->entry & ENTRY_LOAD_IA32_EFER)
		RUN(check_guest_efer(c));
	return 0;
}

/* ---- 27.3.1.2: guest segment registers ---- */

static const char *const seg_names[VMCS_SEG_COUNT] = {
	"ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR",
};

static bool usable(const struct vmcs_seg *g)
{
	return !(g->ar & AR_UNUSABLE);
}

/* G must be 0 if limit bits 11:0 are not all ones, 1 if any of bits 31:20 is set. */
static int check_granularity(struct chk *c, int i)
{
	const struct vmcs_seg *g = &c->s->seg[i];

	CHECK(c, (g->limit & 0xfff) == 0xfff || !(g->ar & AR_G),
	      "guest %s access rights 0x%x: G (bit 15) must be 0 because limit 0x%x has bits "
	      "11:0 not all ones", seg_names[i], g->ar, g->limit);
	CHECK(c, !(g->limit & 0xfff00000U) || (g->ar & AR_G),
	      "guest %s access rights 0x%x: G (bit 15) must be 1 because limit 0x%x has bits "
	      "31:20 set", seg_names[i], g->ar, g->limit);
	return 0;
}

/* Checks common to CS/SS/DS/ES/FS/GS (when usable or CS), TR and usable LDTR. */
static int check_ar_common(struct chk *c, int i, bool system)
{
	const struct vmcs_seg *g = &c->s->seg[i];
	const char *n = seg_names[i];

	CHECK(c, !(g->ar & AR_S) == system, "guest %s access rights 0x%x: S (bit 4) must be %d",
	      n, g->ar, !system);
	CHECK(c, g->ar & AR_P, "guest %s access rights 0x%x: P (bit 7) must be 1 (present)", n,
	      g->ar);
	CHECK(c, !(g->ar & AR_RSVD_11_8), "guest %s access rights 0x%x: reserved bits 11:8 must "
	      "be 0", n, g->ar);
	RUN(check_granularity(c, i));
	CHECK(c, !(g->ar & AR_RSVD_31_17), "guest %s access rights 0x%x: reserved bits 31:17 "
	      "must be 0", n, g->ar);
	return 0;
}

static int check_cs_ar(struct chk *c)
{
	const struct vmcs_seg *cs = &c->s->seg[VMCS_SEG_CS], *ss = &c->s->seg[VMCS_SEG_SS];
	unsigned t = AR_TYPE(cs->ar), dpl = AR_DPL(cs->ar), ss_dpl = AR_DPL(ss->ar);

	CHECK(c, t == 9 || t == 11 || t == 13 || t == 15 || (c->ug && t == 3),
	      "guest CS access rights 0x%x: type %u must be %s9, 11, 13 or 15 (accessed code)",
	      cs->ar, t, c->ug ? "3 (accessed data, unrestricted guest) or " : "");
	RUN(check_ar_common(c, VMCS_SEG_CS, false));
	CHECK(c, t != 3 || dpl == 0,
	      "guest CS access rights 0x%x: DPL must be 0 when the type is 3", cs->ar);
	CHECK(c, !(t == 9 || t == 11) || dpl == ss_dpl,
	      "guest CS access rights 0x%x: DPL %u must equal SS.DPL %u (non-conforming code)",
	      cs->ar, dpl, ss_dpl);
	CHECK(c, !(t == 13 || t == 15) || dpl <= ss_dpl,
	      "guest CS access rights 0x%x: DPL %u must not exceed SS.DPL %u (conforming code)",
	      cs->ar, dpl, ss_dpl);
	CHECK(c, !c->ia32e || !(cs->ar & AR_L) || !(cs->ar & AR_DB),
	      "guest CS access rights 0x%x: L (bit 13) and D/B (bit 14) cannot both be 1 in "
	      "IA-32e mode", cs->ar);
	return 0;
}

static int check_ss_ar(struct chk *c)
{
	const struct vmcs_state *s = c->s;
	const struct vmcs_seg *ss = &s->seg[VMCS_SEG_SS];
	unsigned t = AR_TYPE(ss->ar), dpl = AR_DPL(ss->ar);

	CHECK(c, c->ug || dpl == (ss->sel & 3u),
	      "guest SS access rights 0x%x: DPL %u must equal the selector's RPL %u", ss->ar, dpl,
	      ss->sel & 3u);
	CHECK(c, dpl == 0 || ((s->guest_cr0 & CR0_PE) && AR_TYPE(s->seg[VMCS_SEG_CS].ar) != 3),
	      "guest SS access rights 0x%x: DPL must be 0 when CR0.PE is 0 or CS type is 3",
	      ss->ar);
	if (!usable(ss))
		return 0;
	CHECK(c, t == 3 || t == 7,
	      "guest SS access rights 0x%x: type %u must be 3 or 7 (read/write accessed data)",
	      ss->ar, t);
	return check_ar_common(c, VMCS_SEG_SS, false);
}

static int check_data_ar(struct chk *c, int i)
{
	const struct vmcs_seg *g = &c->s->seg[i];
	unsigned t = AR_TYPE(g->ar);

	if (!usable(g))
		return 0;
	CHECK(c, t & 1, "guest %s access rights 0x%x: type %u must have bit 0 (accessed) set",
	      seg_names[i], g->ar, t);
	CHECK(c, !(t & 8) || (t & 2), "guest %s access rights 0x%x: code type %u must be "
	      "readable (bit 1)", seg_names[i], g->ar, t);
	CHECK(c, c->ug || t >= 12 || AR_DPL(g->ar) >= (g->sel & 3u),
	      "guest %s access rights 0x%x: DPL %u must not be less than the selector's RPL %u",
	      seg_names[i], g->ar, AR_DPL(g->ar), g->sel & 3u);
	return check_ar_common(c, i, false);
}

static int check_tr_ldtr(struct chk *c)
{
	const struct vmcs_seg *tr = &c->s->seg[VMCS_SEG_TR], *ldtr = &c->s->seg[VMCS_SEG_LDTR];
	unsigned t = AR_TYPE(tr->ar);

	CHECK(c, usable(tr), "guest TR access rights 0x%x: TR must be usable (bit 16 clear)",
	      tr->ar);
	CHECK(c, t == 11 || (t == 3 && !c->ia32e),
	      "guest TR access rights 0x%x: type %u must be %s", tr->ar, t,
	      c->ia32e ? "11 (64-bit busy TSS) in IA-32e mode" : "3 or 11 (busy TSS)");
	RUN(check_ar_common(c, VMCS_SEG_TR, true));
	if (!usable(ldtr))
		return 0;
	CHECK(c, AR_TYPE(ldtr->ar) == 2, "guest LDTR access rights 0x%x: type %u must be 2 (LDT)",
	      ldtr->ar, AR_TYPE(ldtr->ar));
	return check_ar_common(c, VMCS_SEG_LDTR, true);
}

static int check_seg_v86(struct chk *c)
{
	for (int i = VMCS_SEG_ES; i <= VMCS_SEG_GS; i++) {
		const struct vmcs_seg *g = &c->s->seg[i];

		CHECK(c, g->base == (uint64_t)g->sel << 4, "guest %s base 0x%llx: must be the "
		      "selector 0x%x times 16 in virtual-8086 mode", seg_names[i], ULL(g->base),
		      g->sel);
		CHECK(c, g->limit == 0xffff, "guest %s limit 0x%x: must be 0xffff in virtual-8086 "
		      "mode", seg_names[i], g->limit);
		CHECK(c, g->ar == 0xf3, "guest %s access rights 0x%x: must be 0xf3 in "
		      "virtual-8086 mode", seg_names[i], g->ar);
	}
	return 0;
}

static int check_seg_sel_base(struct chk *c)
{
	const struct vmcs_seg *seg = c->s->seg;

	CHECK(c, !(seg[VMCS_SEG_TR].sel & 4), "guest TR selector 0x%x: TI (bit 2) must be 0",
	      seg[VMCS_SEG_TR].sel);
	CHECK(c, !usable(&seg[VMCS_SEG_LDTR]) || !(seg[VMCS_SEG_LDTR].sel & 4),
	      "guest LDTR selector 0x%x: TI (bit 2) must be 0", seg[VMCS_SEG_LDTR].sel);
	CHECK(c, c->v86 || c->ug || (seg[VMCS_SEG_SS].sel & 3) == (seg[VMCS_SEG_CS].sel & 3),
	      "guest SS selector 0x%x: RPL must equal the CS selector's RPL (CS 0x%x)",
	      seg[VMCS_SEG_SS].sel, seg[VMCS_SEG_CS].sel);
	for (int i = VMCS_SEG_FS; i <= VMCS_SEG_TR; i++) {
		if (i == VMCS_SEG_LDTR && !usable(&seg[i]))
			continue;
		CHECK(c, canonical(seg[i].base), "guest %s base 0x%llx: not canonical",
		      seg_names[i], ULL(seg[i].base));
	}
	for (int i = VMCS_SEG_ES; i <= VMCS_SEG_DS; i++) {
		if (i != VMCS_SEG_CS && !usable(&seg[i]))
			continue;
		CHECK(c, !(seg[i].base >> 32), "guest %s base 0x%llx: bits 63:32 must be 0",
		      seg_names[i], ULL(seg[i].base));
	}
	return 0;
}

static int check_guest_segs(struct chk *c)
{
	RUN(check_seg_sel_base(c));
	if (c->v86) {
		RUN(check_seg_v86(c));
	} else {
		RUN(check_cs_ar(c));
		RUN(check_ss_ar(c));
		RUN(check_data_ar(c, VMCS_SEG_DS));
		RUN(check_data_ar(c, VMCS_SEG_ES));
		RUN(check_data_ar(c, VMCS_SEG_FS));
		RUN(check_data_ar(c, VMCS_SEG_GS));
	}
	return check_tr_ldtr(c);
}

/* ---- 27.3.1.3-4: descriptor tables, RIP and RFLAGS ---- */

static int check_guest_dt_rip_rflags(struct chk *c)
{
	const struct vmcs_state *s = c->s;
	uint64_t rf = s->guest_rflags;
	bool cs_l = s->seg[VMCS_SEG_CS].ar & AR_L;

	CHECK(c, canonical(s->gdtr_base), "guest GDTR base 0x%llx: not canonical",
	      ULL(s->gdtr_base));
	CHECK(c, canonical(s->idtr_base), "guest IDTR base 0x%llx: not canonical",
	      ULL(s->idtr_base));
	CHECK(c, !(s->gdtr_limit >> 16), "guest GDTR limit 0x%x: bits 31:16 must be 0",
	      s->gdtr_limit);
	CHECK(c, !(s->idtr_limit >> 16), "guest IDTR limit 0x%x: bits 31:16 must be 0",
	      s->idtr_limit);
	if (c->ia32e && cs_l)
		CHECK(c, canonical(s->guest_rip), "guest RIP 0x%llx: not canonical (64-bit mode)",
		      ULL(s->guest_rip));
	else
		CHECK(c, !(s->guest_rip >> 32), "guest RIP 0x%llx: bits 63:32 must be 0 outside "
		      "64-bit mode", ULL(s->guest_rip));
	CHECK(c, rf & RFLAGS_FIXED1, "guest RFLAGS 0x%llx: reserved bit 1 must be 1", ULL(rf));
	CHECK(c, !(rf & 0xffffffffffc08028ULL), "guest RFLAGS 0x%llx: reserved bits 63:22, 15, 5 "
	      "and 3 must be 0", ULL(rf));
	CHECK(c, !(rf & RFLAGS_VM) || (!c->ia32e && (s->guest_cr0 & CR0_PE)),
	      "guest RFLAGS 0x%llx: VM (bit 17) must be 0 in IA-32e mode or with CR0.PE = 0",
	      ULL(rf));
	CHECK(c, !(c->inject && c->inj_type == 0) || (rf & RFLAGS_IF),
	      "guest RFLAGS 0x%llx: IF (bit 9) must be 1 when injecting an external interrupt",
	      ULL(rf));
	return 0;
}

/* ---- 27.3.1.5: non-register state ---- */

/* May the injected event be delivered in this activity state? */
static bool event_allowed(const struct chk *c, unsigned act)
{
	unsigned t = c->inj_type, v = c->inj_vector;

	if (!c->inject || act == ACTIVITY_ACTIVE)
		return true;
	if (act == ACTIVITY_HLT)
		return t == 0 || t == 2 || (t == 3 && (v == 1 || v == 18)) || (t == 7 && v == 0);
	if (act == ACTIVITY_SHUTDOWN)
		return t == 2 || (t == 3 && v == 18);
	return false;	/* wait-for-SIPI: nothing */
}

static int check_activity(struct chk *c)
{
	const struct vmcs_state *s = c->s;
	unsigned act = s->activity;
	bool supported = act == ACTIVITY_ACTIVE || (act == ACTIVITY_HLT && c->caps->act_hlt) ||
			 (act == ACTIVITY_SHUTDOWN && c->caps->act_shutdown) ||
			 (act == ACTIVITY_WAIT_SIPI && c->caps->act_wait_sipi);
	static const char *const names[4] = { "active", "HLT", "shutdown", "wait-for-SIPI" };

	CHECK(c, act <= 3, "guest activity state %u: must be 0..3", act);
	CHECK(c, supported, "guest activity state %u (%s): not supported by this CPU "
	      "(IA32_VMX_MISC)", act, names[act]);
	CHECK(c, act != ACTIVITY_HLT || AR_DPL(s->seg[VMCS_SEG_SS].ar) == 0,
	      "guest activity state 1 (HLT): SS.DPL must be 0, not %u",
	      AR_DPL(s->seg[VMCS_SEG_SS].ar));
	CHECK(c, act == ACTIVITY_ACTIVE ||
	      !(s->interruptibility & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)),
	      "guest activity state %u (%s): must be active with blocking by STI or MOV-SS "
	      "(interruptibility 0x%x)", act, names[act], s->interruptibility);
	CHECK(c, event_allowed(c, act),
	      "guest activity state %u (%s): cannot inject interruption type %u vector %u in "
	      "this state (VM-entry interruption info 0x%x)", act, names[act], c->inj_type,
	      c->inj_vector, s->entry_intr_info);
	return 0;
}

static int check_interruptibility(struct chk *c)
{
	const struct vmcs_state *s = c->s;
	uint32_t in = s->interruptibility;
	bool sti = in & INTERRUPTIBILITY_STI, movss = in & INTERRUPTIBILITY_MOV_SS;
	bool ext = c->inject && c->inj_type == 0, nmi = c->inject && c->inj_type == 2;

	CHECK(c, !(in & ~0x1fU), "guest interruptibility state 0x%x: reserved bits 31:5 must "
	      "be 0", in);
	CHECK(c, !(sti && movss), "guest interruptibility state 0x%x: blocking by STI and by "
	      "MOV-SS cannot both be set", in);
	CHECK(c, !sti || (s->guest_rflags & RFLAGS_IF), "guest interruptibility state 0x%x: "
	      "blocking by STI requires RFLAGS.IF = 1 (RFLAGS 0x%llx)", in, ULL(s->guest_rflags));
	CHECK(c, !ext || !(sti || movss), "guest interruptibility state 0x%x: no blocking by STI "
	      "or MOV-SS allowed when injecting an external interrupt", in);
	CHECK(c, !nmi || !movss, "guest interruptibility state 0x%x: no blocking by MOV-SS "
	      "allowed when injecting an NMI", in);
	CHECK(c, !nmi || !sti, "guest interruptibility state 0x%x: blocking by STI with an "
	      "injected NMI (some processors reject it)", in);
	CHECK(c, !(in & INTERRUPTIBILITY_SMI), "guest interruptibility state 0x%x: blocking by "
	      "SMI (bit 2) must be 0 outside SMM", in);
	CHECK(c, !nmi || !(s->pin & PIN_VIRTUAL_NMIS) || !(in & INTERRUPTIBILITY_NMI),
	      "guest interruptibility state 0x%x: blocking by NMI must be 0 when injecting an "
	      "NMI with \"virtual NMIs\"", in);
	CHECK(c, !(in & BIT(4)) || !movss, "guest interruptibility state 0x%x: enclave "
	      "interruption (bit 4) requires no blocking by MOV-SS", in);
	return 0;
}

static int check_pending_dbg(struct chk *c)
{
	const struct vmcs_state *s = c->s;
	uint64_t pd = s->pending_dbg;
	bool bs = pd & BIT(14);
	bool want_bs = (s->guest_rflags & RFLAGS_TF) && !(s->guest_debugctl & DEBUGCTL_BTF);

	CHECK(c, !(pd & 0xfffffffffffeaff0ULL), "guest pending debug exceptions 0x%llx: bits "
	      "11:4, 13, 15 and 63:17 must be 0", ULL(pd));
	if ((s->interruptibility & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) ||
	    s->activity == ACTIVITY_HLT)
		CHECK(c, bs == want_bs, "guest pending debug exceptions 0x%llx: BS (bit 14) must "
		      "be %d with RFLAGS.TF = %d and IA32_DEBUGCTL.BTF = %d while blocking by "
		      "STI/MOV-SS or in HLT", ULL(pd), want_bs, !!(s->guest_rflags & RFLAGS_TF),
		      !!(s->guest_debugctl & DEBUGCTL_BTF));
	if (pd & BIT(16))
		CHECK(c, (pd & 0xfffULL) == 0 && !(s->interruptibility & INTERRUPTIBILITY_MOV_SS),
		      "guest pending debug exceptions 0x%llx: with RTM (bit 16) set, bits 11:0 and "
		      "blocking by MOV-SS must be 0", ULL(pd));
	return 0;
}

static int check_link_pointer(struct chk *c)
{
	uint64_t lp = c->s->link_pointer;

	if (lp == ~0ULL)
		return 0;
	CHECK(c, c->proc2 & VMCS_CHK_PROC2_VMCS_SHADOWING,
	      "VMCS link pointer 0x%llx: must be FFFFFFFF_FFFFFFFFH (no VMCS is linked without "
	      "VMCS shadowing)", ULL(lp));
	return check_page_addr(c, "VMCS link pointer", lp);
}

/* 27.3.1.6: PDPTEs, when the guest uses PAE paging with EPT. */
static int check_pdptes(struct chk *c)
{
	const struct vmcs_state *s = c->s;

	if (!(s->guest_cr0 & CR0_PG) || !(s->guest_cr4 & CR4_PAE) || c->ia32e ||
	    !(c->proc2 & PROC2_ENABLE_EPT))
		return 0;
	for (int i = 0; i < 4; i++) {
		uint64_t e = s->pdpte[i];

		if (!(e & 1))
			continue;
		CHECK(c, !(e & 0x1e6ULL) && fits(c, e),
		      "guest PDPTE%d 0x%llx: reserved bits (2:1, 8:5, 63:%u) must be 0", i, ULL(e),
		      c->width);
	}
	return 0;
}

static int check_guest(struct chk *c)
{
	RUN(check_guest_crs(c));
	RUN(check_guest_segs(c));
	RUN(check_guest_dt_rip_rflags(c));
	RUN(check_activity(c));
	RUN(check_interruptibility(c));
	RUN(check_pending_dbg(c));
	RUN(check_link_pointer(c));
	return check_pdptes(c);
}

int vmcs_check(const struct vmcs_state *s, const struct vmx_caps *caps, uint8_t maxphyaddr,
	       char *why, size_t len)
{
	struct chk c = { .s = s, .caps = caps, .width = maxphyaddr, .why = why, .len = len };

	if (why && len)
		why[0] = '\0';
	if (!s || !caps)
		return fail(&c, "vmcs_check: NULL %s", s ? "capabilities" : "state");
	if (maxphyaddr < 32 || maxphyaddr > 52)
		return fail(&c, "vmcs_check: physical-address width %u out of range 32..52",
			    maxphyaddr);
	c.proc2 = (s->proc & PROC_SECONDARY_CTLS) ? s->proc2 : 0;
	c.ug = c.proc2 & PROC2_UNRESTRICTED_GUEST;
	c.ia32e = s->entry & ENTRY_IA32E_MODE_GUEST;
	/* RFLAGS.VM where it cannot apply is reported by the RFLAGS check, not as segments. */
	c.v86 = (s->guest_rflags & RFLAGS_VM) && (s->guest_cr0 & CR0_PE) && !c.ia32e;
	c.inject = s->entry_intr_info & INTR_INFO_VALID;
	c.inj_type = (s->entry_intr_info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	c.inj_vector = s->entry_intr_info & INTR_INFO_VECTOR_MASK;

	RUN(check_ctl_masks(&c));
	RUN(check_exec_controls(&c));
	RUN(check_exit_controls(&c));
	RUN(check_entry_controls(&c));
	RUN(check_host_regs(&c));
	RUN(check_host_segs(&c));
	RUN(check_host_addr_size(&c));
	return check_guest(&c);
}

/* ---- the VMCS fields above, for the caller's VMREAD loop ---- */

#define F(enc, member) { enc, #enc, offsetof(struct vmcs_state, member),		\
			 sizeof(((struct vmcs_state *)0)->member) }
#define SEG(X) F(VMCS_GUEST_##X##_SELECTOR, seg[VMCS_SEG_##X].sel),			\
	       F(VMCS_GUEST_##X##_BASE, seg[VMCS_SEG_##X].base),			\
	       F(VMCS_GUEST_##X##_LIMIT, seg[VMCS_SEG_##X].limit),			\
	       F(VMCS_GUEST_##X##_AR, seg[VMCS_SEG_##X].ar)

const struct vmcs_check_field vmcs_check_fields[] = {
	F(VMCS_PIN_BASED_CTLS, pin), F(VMCS_PROC_BASED_CTLS, proc),
	F(VMCS_PROC_BASED_CTLS2, proc2), F(VMCS_EXIT_CTLS, exit), F(VMCS_ENTRY_CTLS, entry),
	F(VMCS_CR3_TARGET_COUNT, cr3_target_count),
	F(VMCS_IO_BITMAP_A, io_bitmap_a), F(VMCS_IO_BITMAP_B, io_bitmap_b),
	F(VMCS_MSR_BITMAP, msr_bitmap), F(VMCS_VIRTUAL_APIC_ADDR, virtual_apic_addr),
	F(VMCS_APIC_ACCESS_ADDR, apic_access_addr), F(VMCS_TPR_THRESHOLD, tpr_threshold),
	F(VMCS_EPT_POINTER, eptp), F(VMCS_VPID, vpid),
	F(VMCS_EXIT_MSR_STORE_COUNT, exit_msr_store_count),
	F(VMCS_EXIT_MSR_LOAD_COUNT, exit_msr_load_count),
	F(VMCS_ENTRY_MSR_LOAD_COUNT, entry_msr_load_count),
	F(VMCS_EXIT_MSR_STORE_ADDR, exit_msr_store_addr),
	F(VMCS_EXIT_MSR_LOAD_ADDR, exit_msr_load_addr),
	F(VMCS_ENTRY_MSR_LOAD_ADDR, entry_msr_load_addr),
	F(VMCS_ENTRY_INTR_INFO, entry_intr_info), F(VMCS_ENTRY_EXCEPTION_ERROR_CODE, entry_error),
	F(VMCS_ENTRY_INSTRUCTION_LEN, entry_insn_len),

	F(VMCS_HOST_CR0, host_cr0), F(VMCS_HOST_CR3, host_cr3), F(VMCS_HOST_CR4, host_cr4),
	F(VMCS_HOST_ES_SELECTOR, host_es_sel), F(VMCS_HOST_CS_SELECTOR, host_cs_sel),
	F(VMCS_HOST_SS_SELECTOR, host_ss_sel), F(VMCS_HOST_DS_SELECTOR, host_ds_sel),
	F(VMCS_HOST_FS_SELECTOR, host_fs_sel), F(VMCS_HOST_GS_SELECTOR, host_gs_sel),
	F(VMCS_HOST_TR_SELECTOR, host_tr_sel),
	F(VMCS_HOST_FS_BASE, host_fs_base), F(VMCS_HOST_GS_BASE, host_gs_base),
	F(VMCS_HOST_TR_BASE, host_tr_base), F(VMCS_HOST_GDTR_BASE, host_gdtr_base),
	F(VMCS_HOST_IDTR_BASE, host_idtr_base),
	F(VMCS_HOST_IA32_SYSENTER_ESP, host_sysenter_esp),
	F(VMCS_HOST_IA32_SYSENTER_EIP, host_sysenter_eip),
	F(VMCS_HOST_IA32_PAT, host_pat), F(VMCS_HOST_IA32_EFER, host_efer),
	F(VMCS_HOST_RIP, host_rip),

	F(VMCS_GUEST_CR0, guest_cr0), F(VMCS_GUEST_CR3, guest_cr3), F(VMCS_GUEST_CR4, guest_cr4),
	F(VMCS_GUEST_DR7, guest_dr7), F(VMCS_GUEST_IA32_DEBUGCTL, guest_debugctl),
	F(VMCS_GUEST_IA32_PAT, guest_pat), F(VMCS_GUEST_IA32_EFER, guest_efer),
	F(VMCS_GUEST_SYSENTER_ESP, guest_sysenter_esp),
	F(VMCS_GUEST_SYSENTER_EIP, guest_sysenter_eip),
	F(VMCS_GUEST_RIP, guest_rip), F(VMCS_GUEST_RSP, guest_rsp),
	F(VMCS_GUEST_RFLAGS, guest_rflags),
	SEG(ES), SEG(CS), SEG(SS), SEG(DS), SEG(FS), SEG(GS), SEG(LDTR), SEG(TR),
	F(VMCS_GUEST_GDTR_BASE, gdtr_base), F(VMCS_GUEST_GDTR_LIMIT, gdtr_limit),
	F(VMCS_GUEST_IDTR_BASE, idtr_base), F(VMCS_GUEST_IDTR_LIMIT, idtr_limit),
	F(VMCS_GUEST_ACTIVITY_STATE, activity),
	F(VMCS_GUEST_INTERRUPTIBILITY, interruptibility),
	F(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, pending_dbg),
	F(VMCS_LINK_POINTER, link_pointer),
	F(VMCS_GUEST_PDPTE0, pdpte[0]), F(VMCS_GUEST_PDPTE1, pdpte[1]),
	F(VMCS_GUEST_PDPTE2, pdpte[2]), F(VMCS_GUEST_PDPTE3, pdpte[3]),
};

const size_t vmcs_check_nfields = sizeof(vmcs_check_fields) / sizeof(vmcs_check_fields[0]);

int vmcs_check_store(struct vmcs_state *s, size_t idx, uint64_t val)
{
	unsigned char *p;

	if (!s || idx >= vmcs_check_nfields)
		return -EINVAL;
	p = (unsigned char *)s + vmcs_check_fields[idx].offset;
	switch (vmcs_check_fields[idx].size) {
	case 2: {
		uint16_t v = (uint16_t)val;

		memcpy(p, &v, sizeof(v));
		return 0;
	}
	case 4: {
		uint32_t v = (uint32_t)val;

		memcpy(p, &v, sizeof(v));
		return 0;
	}
	case 8:
		memcpy(p, &val, sizeof(val));
		return 0;
	default:
		return -EINVAL;
	}
}
