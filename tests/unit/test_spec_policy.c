/*
 * Speculation policy decisions against the enumerations of real CPUs
 * (CPUID leaf 7 EDX with current microcode, IA32_ARCH_CAPABILITIES), and
 * what happens when an administrator's choice does not fit the CPU.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <vmm/spec_policy.h>
#include <vmm/vmx_hw.h>

#define E7_FULL (SPEC_CPUID7_MD_CLEAR | SPEC_CPUID7_SPEC_CTRL | SPEC_CPUID7_STIBP | \
		 SPEC_CPUID7_L1D_FLUSH | SPEC_CPUID7_SSBD)
#define CASCADE_CAPS (SPEC_ARCH_RDCL_NO | SPEC_ARCH_IBRS_ALL | SPEC_ARCH_SKIP_L1DFL_VMENTRY | \
		      SPEC_ARCH_MDS_NO)

struct row {
	const char *name;
	struct spec_cpu cpu;
	bool l1tf, mds;
	enum spec_l1d l1d;
	enum spec_smt smt;
	enum spec_v2 v2;
	bool ibpb, verw;
};

static const struct row cpus[] = {
	{ "Xeon E5-2680 v3 (Haswell-EP)", { SPEC_INTEL, 6, 0x3f, 2, E7_FULL, 0, true, false },
	  true, true, SPEC_L1D_COND, SPEC_SMT_ISOLATE, SPEC_V2_RETPOLINE, true, true },
	{ "Xeon Gold 6148 (Skylake-SP)",
	  { SPEC_INTEL, 6, 0x55, 4, E7_FULL | SPEC_CPUID7_ARCH_CAPS, 0, true, false },
	  true, true, SPEC_L1D_COND, SPEC_SMT_ISOLATE, SPEC_V2_IBRS, true, true },
	{ "Core i7-8700K (Coffee Lake)",
	  { SPEC_INTEL, 6, 0x9e, 10, E7_FULL | SPEC_CPUID7_ARCH_CAPS, SPEC_ARCH_RSBA, true, false },
	  true, true, SPEC_L1D_COND, SPEC_SMT_ISOLATE, SPEC_V2_IBRS, true, true },
	{ "Xeon Gold 6248 (Cascade Lake)",
	  { SPEC_INTEL, 6, 0x55, 7, E7_FULL | SPEC_CPUID7_ARCH_CAPS, CASCADE_CAPS, true, false },
	  false, false, SPEC_L1D_NEVER, SPEC_SMT_ALLOW, SPEC_V2_EIBRS, true, false },
	{ "Xeon Platinum 8380 (Ice Lake-SP)",
	  { SPEC_INTEL, 6, 0x6a, 6, E7_FULL | SPEC_CPUID7_ARCH_CAPS,
	    CASCADE_CAPS | SPEC_ARCH_SSB_NO | (1ULL << 6) | (1ULL << 8), true, false },
	  false, false, SPEC_L1D_NEVER, SPEC_SMT_ALLOW, SPEC_V2_EIBRS, true, false },
	{ "Atom C3958 (Goldmont, Denverton)",
	  { SPEC_INTEL, 6, 0x5f, 1, SPEC_CPUID7_SPEC_CTRL | SPEC_CPUID7_STIBP, 0, false, false },
	  false, false, SPEC_L1D_NEVER, SPEC_SMT_ALLOW, SPEC_V2_RETPOLINE, true, false },
	{ "Atom C2750 (Silvermont, Avoton)",
	  { SPEC_INTEL, 6, 0x4d, 8, SPEC_CPUID7_MD_CLEAR | SPEC_CPUID7_SPEC_CTRL, 0, false, false },
	  false, true, SPEC_L1D_NEVER, SPEC_SMT_ALLOW, SPEC_V2_RETPOLINE, true, true },
	/* Nested under KVM on Cascade Lake: KVM flushes L1D itself and says so. */
	{ "KVM guest on Cascade Lake",
	  { SPEC_INTEL, 6, 0x55, 7, E7_FULL | SPEC_CPUID7_ARCH_CAPS, CASCADE_CAPS, false, true },
	  false, false, SPEC_L1D_NEVER, SPEC_SMT_ALLOW, SPEC_V2_EIBRS, true, false },
	/* Bochs' corei7_skylake_x: Skylake's model number, no speculation controls. */
	{ "Bochs corei7_skylake_x", { SPEC_INTEL, 6, 0x55, 4, 0, 0, false, false },
	  true, true, SPEC_L1D_NEVER, SPEC_SMT_ALLOW, SPEC_V2_RETPOLINE, false, false },
	{ "EPYC 7742 (Zen 2)", { SPEC_AMD, 0x17, 0x31, 0, SPEC_CPUID7_SSBD, 0, true, false },
	  false, false, SPEC_L1D_NEVER, SPEC_SMT_ALLOW, SPEC_V2_RETPOLINE, false, false },
};

static const struct spec_choice autos = { SPEC_L1D_AUTO, SPEC_SMT_AUTO, SPEC_V2_AUTO };

static void test_real_cpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		const struct row *r = &cpus[i];
		struct spec_policy p;

		spec_decide(&r->cpu, &autos, &p);
		if (p.l1tf != r->l1tf || p.mds != r->mds || p.l1d != r->l1d || p.smt != r->smt ||
		    p.v2 != r->v2 || p.ibpb != r->ibpb || p.verw != r->verw)
			fail_msg("%s: l1tf %d mds %d l1d %s smt %s v2 %s ibpb %d verw %d (%s)", r->name,
				 p.l1tf, p.mds, spec_l1d_name(p.l1d), spec_smt_name(p.smt),
				 spec_v2_name(p.v2), p.ibpb, p.verw, p.why);
	}
}

static void test_choices(void **state)
{
	const struct spec_cpu *haswell = &cpus[0].cpu, *atom = &cpus[5].cpu, *bochs = &cpus[8].cpu;
	struct spec_choice c = autos;
	struct spec_policy p;

	(void)state;
	c.l1d = SPEC_L1D_ALWAYS;
	spec_decide(haswell, &c, &p);
	assert_int_equal(p.l1d, SPEC_L1D_ALWAYS);
	assert_string_equal(p.why, "");
	spec_decide(atom, &c, &p);	/* no flush MSR: cannot, and says so */
	assert_int_equal(p.l1d, SPEC_L1D_NEVER);
	assert_non_null(strstr(p.why, "no IA32_FLUSH_CMD"));
	c = autos;
	c.l1d = SPEC_L1D_NEVER;
	spec_decide(haswell, &c, &p);
	assert_int_equal(p.l1d, SPEC_L1D_NEVER);
	assert_non_null(strstr(p.why, "L1TF: guests may read"));
	c = autos;
	c.smt = SPEC_SMT_ALLOW;
	spec_decide(haswell, &c, &p);
	assert_int_equal(p.smt, SPEC_SMT_ALLOW);
	assert_non_null(strstr(p.why, "smt=allow"));
	c = autos;
	c.v2 = SPEC_V2_EIBRS;
	spec_decide(haswell, &c, &p);
	assert_int_equal(p.v2, SPEC_V2_RETPOLINE);
	assert_non_null(strstr(p.why, "no enhanced IBRS"));
	c.v2 = SPEC_V2_IBRS;
	spec_decide(haswell, &c, &p);
	assert_int_equal(p.v2, SPEC_V2_IBRS);
	spec_decide(bochs, &c, &p);
	assert_int_equal(p.v2, SPEC_V2_RETPOLINE);
	assert_non_null(strstr(p.why, "no IA32_SPEC_CTRL"));
	assert_non_null(strstr(p.why, "RSBA"));
}

/* Guests' own IA32_SPEC_CTRL: offered bit for bit as the host CPU has it, Intel only. */
static void test_guest_spec_ctrl(void **state)
{
	static const struct {
		size_t row;
		uint32_t edx;
		uint64_t mask, host, base;
	} want[] = {
		/* Haswell: retpolines; the guest may set all three, the host runs with 0. */
		{ 0, SPEC_CPUID7_SPEC_CTRL | SPEC_CPUID7_STIBP | SPEC_CPUID7_SSBD,
		  SPEC_CTRL_IBRS | SPEC_CTRL_STIBP | SPEC_CTRL_SSBD, 0, 0 },
		/* Skylake-SP: legacy IBRS on in the host, off for a guest that set nothing. */
		{ 1, SPEC_CPUID7_SPEC_CTRL | SPEC_CPUID7_STIBP | SPEC_CPUID7_SSBD,
		  SPEC_CTRL_IBRS | SPEC_CTRL_STIBP | SPEC_CTRL_SSBD, SPEC_CTRL_IBRS, 0 },
		/* Cascade Lake: enhanced IBRS stays on while guests run. */
		{ 3, SPEC_CPUID7_SPEC_CTRL | SPEC_CPUID7_STIBP | SPEC_CPUID7_SSBD,
		  SPEC_CTRL_IBRS | SPEC_CTRL_STIBP | SPEC_CTRL_SSBD, SPEC_CTRL_IBRS, SPEC_CTRL_IBRS },
		/* Denverton: no SSBD, so the guest gets no SSBD either. */
		{ 5, SPEC_CPUID7_SPEC_CTRL | SPEC_CPUID7_STIBP, SPEC_CTRL_IBRS | SPEC_CTRL_STIBP, 0, 0 },
		/* Bochs and AMD: nothing offered, the MSR is never written. */
		{ 8, 0, 0, 0, 0 },
		{ 9, 0, 0, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct row *r = &cpus[want[i].row];
		struct spec_policy p;

		spec_decide(&r->cpu, &autos, &p);
		if (p.guest_cpuid7_edx != want[i].edx || p.guest_spec_ctrl_mask != want[i].mask ||
		    p.host_spec_ctrl != want[i].host || p.guest_spec_ctrl_base != want[i].base)
			fail_msg("%s: CPUID.7.EDX %#x mask %#llx host %#llx base %#llx", r->name,
				 p.guest_cpuid7_edx, (unsigned long long)p.guest_spec_ctrl_mask,
				 (unsigned long long)p.host_spec_ctrl,
				 (unsigned long long)p.guest_spec_ctrl_base);
	}
}

static void test_parse_and_exits(void **state)
{
	enum spec_l1d l;
	enum spec_smt s;
	enum spec_v2 v;

	(void)state;
	assert_int_equal(spec_parse_l1d("cond", &l), 0);
	assert_int_equal(l, SPEC_L1D_COND);
	assert_int_equal(spec_parse_l1d("sometimes", &l), -EINVAL);
	assert_int_equal(spec_parse_smt("isolate", &s), 0);
	assert_int_equal(s, SPEC_SMT_ISOLATE);
	assert_int_equal(spec_parse_v2("eibrs", &v), 0);
	assert_int_equal(v, SPEC_V2_EIBRS);
	assert_int_equal(spec_parse_v2("", &v), -EINVAL);
	assert_int_equal(spec_parse_v2(NULL, &v), -EINVAL);
	assert_true(spec_exit_is_l1d_safe(EXIT_REASON_CPUID));
	assert_false(spec_exit_is_l1d_safe(EXIT_REASON_EXTERNAL_INTERRUPT));
	assert_false(spec_exit_is_l1d_safe(EXIT_REASON_EPT_VIOLATION));
	assert_false(spec_exit_is_l1d_safe(EXIT_REASON_IO_INSTRUCTION));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_cpus),
		cmocka_unit_test(test_choices),
		cmocka_unit_test(test_guest_spec_ctrl),
		cmocka_unit_test(test_parse_and_exits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
