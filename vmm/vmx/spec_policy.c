/*
 * Speculative-execution policy decisions (see <vmm/spec_policy.h>).
 *
 * Which CPUs are affected follows what the vendors publish and what
 * IA32_ARCH_CAPABILITIES says: a CPU that sets RDCL_NO is not affected by
 * L1TF, one that sets MDS_NO not by MDS, IBRS_ALL is enhanced IBRS, RSBA
 * says retpolines can be bypassed (return-stack underflow falls back to
 * the branch target buffer). Older parts that predate the MSR are judged
 * by family and model: the Atom cores below are not affected by L1TF
 * (Goldmont and later not by MDS either), and the Skylake generation
 * behaves as RSBA. Only Intel parts matter to a VT-x hypervisor; others
 * get retpolines and nothing else.
 */
#include <errno.h>
#include <string.h>
#include <vmkernel/linebuf.h>
#include <vmm/spec_policy.h>
#include <vmm/vmx_hw.h>

/* Intel family 6 models. */
struct model_flags {
	unsigned model;
	bool no_l1tf, no_mds, rsba;
};

static const struct model_flags intel6[] = {
	{ 0x1c, true, true, false }, { 0x26, true, true, false },	/* Bonnell */
	{ 0x27, true, true, false }, { 0x35, true, true, false }, { 0x36, true, true, false },
	{ 0x37, true, false, false }, { 0x4a, true, false, false },	/* Silvermont: MSBDS */
	{ 0x4d, true, false, false }, { 0x5a, true, false, false }, { 0x5d, true, false, false },
	{ 0x4c, true, false, false },					/* Airmont */
	{ 0x57, true, false, false }, { 0x85, true, false, false },	/* Knights Landing/Mill */
	{ 0x5c, true, true, false }, { 0x5f, true, true, false },	/* Goldmont */
	{ 0x7a, true, true, false },					/* Goldmont Plus */
	{ 0x86, true, true, false }, { 0x96, true, true, false }, { 0x9c, true, true, false },
	{ 0x4e, false, false, true }, { 0x5e, false, false, true },	/* Skylake client */
	{ 0x55, false, false, true },					/* Skylake/Cascade Lake SP */
	{ 0x8e, false, false, true }, { 0x9e, false, false, true },	/* Kaby/Coffee Lake */
	{ 0x66, false, false, true }, { 0xa5, false, false, true }, { 0xa6, false, false, true },
};

static const struct model_flags *lookup(const struct spec_cpu *c)
{
	if (c->vendor != SPEC_INTEL || c->family != 6)
		return NULL;
	for (size_t i = 0; i < sizeof(intel6) / sizeof(intel6[0]); i++) {
		if (intel6[i].model == c->model)
			return &intel6[i];
	}
	return NULL;
}

static bool affected_l1tf(const struct spec_cpu *c, const struct model_flags *m)
{
	if (c->vendor != SPEC_INTEL || c->family != 6 || (c->arch_caps & SPEC_ARCH_RDCL_NO))
		return false;
	return !(m && m->no_l1tf);
}

static bool affected_mds(const struct spec_cpu *c, const struct model_flags *m)
{
	if (c->vendor != SPEC_INTEL || c->family != 6 || (c->arch_caps & SPEC_ARCH_MDS_NO))
		return false;
	return !(m && m->no_mds);
}

static void decide_l1d(const struct spec_cpu *c, const struct spec_choice *ch,
		       struct spec_policy *p, struct linebuf *why)
{
	bool needed = p->l1tf && !(c->arch_caps & SPEC_ARCH_SKIP_L1DFL_VMENTRY);

	p->l1d_flush_msr = c->cpuid7_edx & SPEC_CPUID7_L1D_FLUSH;
	p->l1d = ch->l1d == SPEC_L1D_AUTO ? (needed ? SPEC_L1D_COND : SPEC_L1D_NEVER) : ch->l1d;
	if (p->l1d != SPEC_L1D_NEVER && !p->l1d_flush_msr) {
		lb_printf(why, "l1d_flush=%s: the CPU has no IA32_FLUSH_CMD; ", spec_l1d_name(p->l1d));
		p->l1d = SPEC_L1D_NEVER;
	}
	if (needed && p->l1d == SPEC_L1D_NEVER)
		lb_puts(why, "L1TF: guests may read L1D data of the host and of other guests; ");
}

static void decide_v2(const struct spec_cpu *c, const struct spec_choice *ch,
		      struct spec_policy *p, struct linebuf *why)
{
	bool ibrs = c->vendor == SPEC_INTEL && (c->cpuid7_edx & SPEC_CPUID7_SPEC_CTRL);
	bool eibrs = ibrs && (c->arch_caps & SPEC_ARCH_IBRS_ALL);
	enum spec_v2 best = eibrs ? SPEC_V2_EIBRS : (ibrs && p->v2_rsba) ? SPEC_V2_IBRS :
			    SPEC_V2_RETPOLINE;

	p->v2 = ch->v2 == SPEC_V2_AUTO ? best : ch->v2;
	if (p->v2 == SPEC_V2_EIBRS && !eibrs) {
		lb_puts(why, "v2=eibrs: the CPU has no enhanced IBRS; ");
		p->v2 = best;
	}
	if (p->v2 == SPEC_V2_IBRS && !ibrs) {
		lb_puts(why, "v2=ibrs: the CPU has no IA32_SPEC_CTRL; ");
		p->v2 = SPEC_V2_RETPOLINE;
	}
	if (p->v2 == SPEC_V2_RETPOLINE && p->v2_rsba)
		lb_puts(why, "v2: retpolines alone can be bypassed on this CPU (RSBA); ");
}

/*
 * Guests get IA32_SPEC_CTRL (and IA32_PRED_CMD) where the host has it:
 * the bits it enumerates and nothing more, so a guest never sets a bit
 * the CPU would fault on.
 */
static void decide_guest_spec_ctrl(const struct spec_cpu *c, struct spec_policy *p)
{
	bool ibrs = p->v2 == SPEC_V2_IBRS || p->v2 == SPEC_V2_EIBRS;

	p->host_spec_ctrl = ibrs ? SPEC_CTRL_IBRS : 0;
	p->guest_spec_ctrl_base = p->v2 == SPEC_V2_EIBRS ? SPEC_CTRL_IBRS : 0;
	if (c->vendor != SPEC_INTEL || !(c->cpuid7_edx & SPEC_CPUID7_SPEC_CTRL))
		return;
	p->guest_cpuid7_edx = SPEC_CPUID7_SPEC_CTRL;
	p->guest_spec_ctrl_mask = SPEC_CTRL_IBRS;
	if (c->cpuid7_edx & SPEC_CPUID7_STIBP) {
		p->guest_cpuid7_edx |= SPEC_CPUID7_STIBP;
		p->guest_spec_ctrl_mask |= SPEC_CTRL_STIBP;
	}
	if (c->cpuid7_edx & SPEC_CPUID7_SSBD) {
		p->guest_cpuid7_edx |= SPEC_CPUID7_SSBD;
		p->guest_spec_ctrl_mask |= SPEC_CTRL_SSBD;
	}
}

void spec_decide(const struct spec_cpu *c, const struct spec_choice *ch, struct spec_policy *p)
{
	const struct model_flags *m = lookup(c);
	struct linebuf why;

	memset(p, 0, sizeof(*p));
	lb_init(&why, p->why, sizeof(p->why));
	p->l1tf = affected_l1tf(c, m);
	p->mds = affected_mds(c, m);
	p->v2_rsba = c->vendor == SPEC_INTEL &&
		     ((c->arch_caps & SPEC_ARCH_RSBA) || (m && m->rsba)) &&
		     !(c->arch_caps & SPEC_ARCH_IBRS_ALL);
	decide_l1d(c, ch, p, &why);
	p->smt = ch->smt != SPEC_SMT_AUTO ? ch->smt :
		 c->smt && (p->l1tf || p->mds) ? SPEC_SMT_ISOLATE : SPEC_SMT_ALLOW;
	if (c->smt && (p->l1tf || p->mds) && p->smt == SPEC_SMT_ALLOW)
		lb_puts(&why, "smt=allow: a guest may observe a sibling thread's other VM; ");
	decide_v2(c, ch, p, &why);
	p->ibpb = c->vendor == SPEC_INTEL && (c->cpuid7_edx & SPEC_CPUID7_SPEC_CTRL);
	decide_guest_spec_ctrl(c, p);
	p->verw = p->mds && (c->cpuid7_edx & SPEC_CPUID7_MD_CLEAR);
	if (p->mds && !p->verw)
		lb_puts(&why, "MDS: no MD_CLEAR microcode, CPU buffers are not cleared; ");
}

static int parse(const char *s, const char *const *names, unsigned n, int *out)
{
	for (unsigned i = 0; s && i < n; i++) {
		if (names[i] && !strcmp(s, names[i])) {
			*out = (int)i;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *const l1d_names[] = { "never", "cond", "always", "auto" };
static const char *const smt_names[] = { "allow", "isolate", "auto" };
static const char *const v2_names[] = { NULL, "retpoline", "ibrs", "eibrs", "auto" };

int spec_parse_l1d(const char *s, enum spec_l1d *out)
{
	int v, err = parse(s, l1d_names, 4, &v);

	if (!err)
		*out = (enum spec_l1d)v;
	return err;
}

int spec_parse_smt(const char *s, enum spec_smt *out)
{
	int v, err = parse(s, smt_names, 3, &v);

	if (!err)
		*out = (enum spec_smt)v;
	return err;
}

int spec_parse_v2(const char *s, enum spec_v2 *out)
{
	int v, err = parse(s, v2_names, 5, &v);

	if (!err)
		*out = (enum spec_v2)v;
	return err;
}

const char *spec_l1d_name(enum spec_l1d v)
{
	return (unsigned)v < 4 ? l1d_names[v] : "?";
}

const char *spec_smt_name(enum spec_smt v)
{
	return (unsigned)v < 3 ? smt_names[v] : "?";
}

const char *spec_v2_name(enum spec_v2 v)
{
	static const char *const shown[] = { "none", "retpolines", "IBRS on every exit and retpolines",
					     "enhanced IBRS and retpolines", "auto" };

	return (unsigned)v < 5 ? shown[v] : "?";
}

bool spec_exit_is_l1d_safe(unsigned reason)
{
	switch (reason) {
	case EXIT_REASON_CPUID:
	case EXIT_REASON_INTERRUPT_WINDOW:
	case EXIT_REASON_NMI_WINDOW:
	case EXIT_REASON_PAUSE:
	case EXIT_REASON_PREEMPTION_TIMER:
		return true;
	default:
		return false;
	}
}
