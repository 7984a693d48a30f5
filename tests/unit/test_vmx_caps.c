/* Host unit tests for the VMX capability MSR decoder. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vmm/vmx_caps.h>

static struct vmx_caps caps;

/*
 * A full-featured server CPU in the Skylake mould, built from the bit
 * definitions of SDM Vol. 3D appendix A: VMCS revision 4, 1 KiB regions in
 * WB memory, INS/OUTS info, true controls; all of EPT/VPID/APICv/posted
 * interrupts; preemption timer at TSC/32.
 */
static struct vmx_msrs full_cpu(void)
{
	struct vmx_msrs m = {
		.cpuid_vmx = true,
		.feature_control = 0x5,			/* locked, VMXON outside SMX */
		.feature_control_readable = true,
		.basic = 0x00da040000000004ULL,
		.pinbased = 0x000000ff00000016ULL,
		.procbased = 0xfff9fffe0401e172ULL,
		.exit = 0x01ffffff00036dffULL,
		.entry = 0x0003ffff000011ffULL,
		.true_pinbased = 0x000000ff00000016ULL,
		.true_procbased = 0xfff9fffe04006172ULL,
		.true_exit = 0x01ffffff00036dfbULL,
		.true_entry = 0x0003ffff000011fbULL,
		.misc = 0x000000007004c1e5ULL,
		.cr0_fixed0 = 0x80000021ULL,
		.cr0_fixed1 = 0xffffffffULL,
		.cr4_fixed0 = 0x2000ULL,
		.cr4_fixed1 = 0x3767ffULL,
		.procbased2 = 0x001fffff00000000ULL,
		.ept_vpid_cap = 0x00000f0106734141ULL,
		.vmfunc = 0x1,
		.has_procbased2 = true,
		.has_ept_vpid_cap = true,
	};
	return m;
}

static void assert_reason(const char *a, const char *b)
{
	if (!strstr(caps.reason, a) || (b && !strstr(caps.reason, b)))
		fail_msg("reason '%s' lacks '%s'/'%s'", caps.reason, a, b ? b : "");
}

/* A failed decode must leave no features behind. */
static void assert_no_features(void)
{
	assert_false(caps.ept);
	assert_false(caps.vpid);
	assert_int_equal(caps.revision_id, 0);
	assert_int_equal(caps.proc.allowed1, 0);
	assert_int_equal(caps.pin.allowed0, 0);
}

static void test_full_featured(void **state)
{
	struct vmx_msrs m = full_cpu();

	(void)state;
	assert_int_equal(vmx_caps_decode(&m, &caps), 0);
	assert_int_equal(caps.status, VMX_OK);
	assert_string_equal(caps.reason, "");
	assert_int_equal(caps.revision_id, 4);
	assert_int_equal(caps.region_size, 1024);
	assert_int_equal(caps.vmcs_mem_type, 6);
	assert_true(caps.true_ctls);
	assert_true(caps.ins_outs_info);
	assert_false(caps.fc_needs_lock);
	assert_true(caps.ept && caps.ept_4level && caps.ept_wb && caps.ept_uc);
	assert_true(caps.ept_execute_only && caps.ept_2m && caps.ept_1g && caps.ept_ad);
	assert_false(caps.ept_5level);
	assert_true(caps.invept && caps.invept_single && caps.invept_all);
	assert_true(caps.vpid && caps.invvpid && caps.invvpid_addr && caps.invvpid_single);
	assert_true(caps.invvpid_all && caps.invvpid_single_globals);
	assert_true(caps.unrestricted_guest && caps.virt_apic_access && caps.apicv);
	assert_true(caps.rdtscp && caps.invpcid && caps.xsaves);
	assert_true(caps.vmfunc && caps.vmfunc_eptp_switching);
	assert_true(caps.preemption_timer);
	assert_int_equal(caps.preemption_timer_rate, 5);
	assert_true(caps.posted_interrupts);
	assert_true(caps.store_efer_lma && caps.act_hlt && caps.act_shutdown);
	assert_true(caps.act_wait_sipi);
	assert_int_equal(caps.cr3_targets, 4);
	assert_int_equal(caps.max_msr_list, 512);
	assert_int_equal(caps.mseg_revision, 0);
	/* The TRUE_* MSRs win: default1 bits that may be 0 are not forced. */
	assert_int_equal(caps.pin.allowed0, 0x16);
	assert_int_equal(caps.pin.allowed1, 0xff);
	assert_int_equal(caps.proc.allowed0, 0x04006172);
	assert_int_equal(caps.proc.allowed1, 0xfff9fffe);
	assert_int_equal(caps.exit.allowed0, 0x00036dfb);
	assert_int_equal(caps.entry.allowed0, 0x000011fb);
	assert_int_equal(caps.entry.allowed1, 0x0003ffff);
	assert_int_equal(caps.proc2.allowed0, 0);
	assert_int_equal(caps.proc2.allowed1, 0x001fffff);
	assert_int_equal(caps.cr0_fixed0, 0x80000021);
	assert_int_equal(caps.cr4_fixed1, 0x3767ff);
}

static void test_no_cpuid(void **state)
{
	struct vmx_msrs m = full_cpu();
	char buf[200];

	(void)state;
	m.cpuid_vmx = false;
	assert_int_equal(vmx_caps_decode(&m, &caps), -ENODEV);
	assert_int_equal(caps.status, VMX_NO_CPUID);
	assert_reason("no VT-x", "CPUID.1:ECX.VMX = 0");
	assert_true(strlen(caps.reason) < sizeof(caps.reason) - 1);	/* not truncated */
	assert_no_features();
	assert_int_equal(vmx_caps_summary(&caps, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "VT-x unusable: this CPU has no VT-x"));
}

static void test_locked_off(void **state)
{
	struct vmx_msrs m = full_cpu();
	uint64_t nfc = 0;

	(void)state;
	m.feature_control = 0x1;		/* locked, nothing enabled */
	assert_int_equal(vmx_caps_decode(&m, &caps), -EPERM);
	assert_int_equal(caps.status, VMX_DISABLED_BY_FIRMWARE);
	assert_reason("disabled in the firmware", "BIOS");
	assert_true(strlen(caps.reason) < sizeof(caps.reason) - 1);
	assert_no_features();

	m.feature_control = 0x3;		/* locked, VMXON only inside SMX */
	assert_int_equal(vmx_caps_decode(&m, &caps), -EPERM);
	assert_int_equal(vmx_feature_control_plan(0x3, &nfc), -EPERM);
	assert_int_equal(nfc, 0x3);
	assert_int_equal(vmx_feature_control_plan(0x1, NULL), -EINVAL);
}

static void test_unlocked_plan(void **state)
{
	struct vmx_msrs m = full_cpu();
	uint64_t nfc = 0;

	(void)state;
	assert_int_equal(vmx_feature_control_plan(0x0, &nfc), 1);
	assert_int_equal(nfc, 0x5);
	assert_int_equal(vmx_feature_control_plan(0x2, &nfc), 1);	/* SMX bit kept */
	assert_int_equal(nfc, 0x7);
	assert_int_equal(vmx_feature_control_plan(0xff00ULL | (1ULL << 20), &nfc), 1);
	assert_int_equal(nfc, 0xff05ULL | (1ULL << 20));		/* other bits kept */
	assert_int_equal(vmx_feature_control_plan(0x5, &nfc), 0);	/* already fine */
	assert_int_equal(nfc, 0x5);
	assert_int_equal(vmx_feature_control_plan(0x7, &nfc), 0);

	m.feature_control = 0x0;
	assert_int_equal(vmx_caps_decode(&m, &caps), 0);
	assert_int_equal(caps.status, VMX_OK);
	assert_true(caps.fc_needs_lock);
	assert_true(caps.ept);
}

static void test_no_secondary(void **state)
{
	struct vmx_msrs m = full_cpu();
	char buf[256];

	(void)state;
	m.true_procbased &= ~(1ULL << 63);	/* "activate secondary controls" not allowed */
	assert_int_equal(vmx_msrs_want(&m), VMX_WANT_TRUE_CTLS);
	/* Stale PROCBASED2/EPT values are ignored when the MSR does not exist. */
	assert_int_equal(vmx_caps_decode(&m, &caps), 0);
	assert_false(caps.ept || caps.vpid || caps.unrestricted_guest || caps.apicv);
	assert_false(caps.posted_interrupts || caps.vmfunc || caps.ept_1g || caps.invvpid);
	assert_int_equal(caps.proc2.allowed0, 0);
	assert_int_equal(caps.proc2.allowed1, 0);
	assert_true(caps.preemption_timer);
	assert_int_equal(vmx_caps_summary(&caps, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "no EPT"));
	assert_non_null(strstr(buf, "no VPID"));
	assert_non_null(strstr(buf, "no unrestricted guest"));
	assert_null(strstr(buf, "APICv"));
}

static void test_ept_without_1g(void **state)
{
	struct vmx_msrs m = full_cpu();
	char buf[256];

	(void)state;
	m.ept_vpid_cap &= ~(1ULL << 17);
	assert_int_equal(vmx_caps_decode(&m, &caps), 0);
	assert_true(caps.ept && caps.ept_2m);
	assert_false(caps.ept_1g);
	assert_int_equal(vmx_caps_summary(&caps, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "EPT (4-level, WB, 2M, A/D, INVEPT)"));
	assert_null(strstr(buf, "1G"));

	/* VPID allowed but EPT not: EPT bits of the capability MSR are ignored. */
	m = full_cpu();
	m.procbased2 &= ~(1ULL << 33);
	assert_int_equal(vmx_caps_decode(&m, &caps), 0);
	assert_false(caps.ept || caps.ept_1g || caps.ept_2m || caps.invept);
	assert_true(caps.vpid && caps.invvpid);
}

static void test_legacy_controls(void **state)
{
	struct vmx_msrs m = full_cpu();
	char buf[256];

	(void)state;
	m.basic &= ~(1ULL << 55);
	/* Garbage in the TRUE MSRs must not be used. */
	m.true_pinbased = m.true_procbased = m.true_exit = m.true_entry = 0x00000000ffffffffULL;
	assert_int_equal(vmx_msrs_want(&m) & VMX_WANT_TRUE_CTLS, 0);
	assert_int_equal(vmx_caps_decode(&m, &caps), 0);
	assert_false(caps.true_ctls);
	assert_int_equal(caps.pin.allowed0, 0x16);
	assert_int_equal(caps.proc.allowed0, 0x0401e172);
	assert_int_equal(caps.exit.allowed0, 0x00036dff);
	assert_int_equal(caps.entry.allowed0, 0x000011ff);
	assert_true(caps.ept);
	assert_int_equal(vmx_caps_summary(&caps, buf, sizeof(buf)), 0);
	assert_null(strstr(buf, "true controls"));
}

static void test_bad_basic(void **state)
{
	struct vmx_msrs m = full_cpu();

	(void)state;
	m.basic &= ~(0x1fffULL << 32);		/* region size 0 */
	assert_int_equal(vmx_caps_decode(&m, &caps), -EINVAL);
	assert_int_equal(caps.status, VMX_BAD_MSRS);
	assert_reason("IA32_VMX_BASIC (0x480)", "region size 0");
	assert_no_features();

	m = full_cpu();
	m.basic = (m.basic & ~(0x1fffULL << 32)) | (0x1001ULL << 32);	/* 4097 bytes */
	assert_int_equal(vmx_caps_decode(&m, &caps), -EINVAL);
	assert_reason("region size 4097", NULL);
	m.basic = (m.basic & ~(0x1fffULL << 32)) | (0x1000ULL << 32);	/* 4096: fine */
	assert_int_equal(vmx_caps_decode(&m, &caps), 0);

	m = full_cpu();
	m.basic &= ~0x7fffffffULL;
	assert_int_equal(vmx_caps_decode(&m, &caps), -EINVAL);
	assert_reason("revision 0", NULL);
	m = full_cpu();
	m.basic |= 1ULL << 31;
	assert_int_equal(vmx_caps_decode(&m, &caps), -EINVAL);
	assert_reason("bit 31", NULL);
	m = full_cpu();
	m.basic = (m.basic & ~(0xfULL << 50)) | (3ULL << 50);
	assert_int_equal(vmx_caps_decode(&m, &caps), -EINVAL);
	assert_reason("memory type 3", NULL);
	m.basic &= ~(0xfULL << 50);			/* UC is allowed */
	assert_int_equal(vmx_caps_decode(&m, &caps), 0);
}

static void test_contradictory_msrs(void **state)
{
	struct vmx_msrs m = full_cpu();

	(void)state;
	m.true_procbased &= ~(1ULL << (32 + 4));	/* bit 4 must be 1 yet may not be 1 */
	assert_int_equal(vmx_caps_decode(&m, &caps), -EINVAL);
	assert_reason("IA32_VMX_TRUE_PROCBASED_CTLS (0x48e)", "0x10");

	m = full_cpu();
	m.basic &= ~(1ULL << 55);
	m.entry &= ~(1ULL << 32);
	assert_int_equal(vmx_caps_decode(&m, &caps), -EINVAL);
	assert_reason("IA32_VMX_ENTRY_CTLS (0x484)", NULL);

	m = full_cpu();
	m.procbased2 |= 1ULL << 25;			/* allowed0 bit outside allowed1 */
	m.procbased2 &= ~(1ULL << 57);
	assert_int_equal(vmx_caps_decode(&m, &caps), -EINVAL);
	assert_reason("IA32_VMX_PROCBASED_CTLS2 (0x48b)", NULL);

	m = full_cpu();
	m.cr0_fixed1 &= ~0x20ULL;			/* NE fixed to 1 and to 0 */
	assert_int_equal(vmx_caps_decode(&m, &caps), -EINVAL);
	assert_reason("IA32_VMX_CR0_FIXED0 (0x486)", "0x20");
	m = full_cpu();
	m.cr4_fixed1 = 0;
	assert_int_equal(vmx_caps_decode(&m, &caps), -EINVAL);
	assert_reason("IA32_VMX_CR4_FIXED0 (0x488)", "0x2000");

	m = full_cpu();
	m.misc |= 0x1ffULL << 16;			/* 511 CR3 targets */
	assert_int_equal(vmx_caps_decode(&m, &caps), -EINVAL);
	assert_reason("IA32_VMX_MISC (0x485)", "511 CR3-target");
	m.misc = (m.misc & ~(0x1ffULL << 16)) | (0x100ULL << 16);	/* 256 is the maximum */
	assert_int_equal(vmx_caps_decode(&m, &caps), 0);
	assert_int_equal(caps.cr3_targets, 256);
}

static void test_missing_msrs(void **state)
{
	struct vmx_msrs m = full_cpu();

	(void)state;
	m.has_procbased2 = false;
	assert_int_equal(vmx_caps_decode(&m, &caps), -EINVAL);
	assert_reason("IA32_VMX_PROCBASED_CTLS2 (0x48b)", "not read");

	m = full_cpu();
	m.has_ept_vpid_cap = false;
	assert_int_equal(vmx_caps_decode(&m, &caps), -EINVAL);
	assert_reason("IA32_VMX_EPT_VPID_CAP (0x48c)", NULL);

	m = full_cpu();
	m.unreadable_msr = 0x485;
	assert_int_equal(vmx_caps_decode(&m, &caps), -EINVAL);
	assert_reason("0x485", "faulted");

	m = full_cpu();
	m.feature_control_readable = false;
	assert_int_equal(vmx_caps_decode(&m, &caps), -EINVAL);
	assert_reason("IA32_FEATURE_CONTROL (0x3a)", NULL);

	assert_int_equal(vmx_caps_decode(NULL, &caps), -EINVAL);
	assert_int_equal(caps.status, VMX_BAD_MSRS);
	assert_int_equal(vmx_caps_decode(&m, NULL), -EINVAL);
}

static void test_msrs_want(void **state)
{
	struct vmx_msrs m = full_cpu();

	(void)state;
	m.has_procbased2 = false;
	assert_int_equal(vmx_msrs_want(&m), VMX_WANT_TRUE_CTLS | VMX_WANT_PROCBASED2);
	m.has_procbased2 = true;
	assert_int_equal(vmx_msrs_want(&m), VMX_WANT_TRUE_CTLS | VMX_WANT_PROCBASED2 |
			 VMX_WANT_EPT_VPID_CAP | VMX_WANT_VMFUNC);
	m.procbased2 &= ~((1ULL << 33) | (1ULL << 45));	/* no VM functions, no EPT */
	assert_int_equal(vmx_msrs_want(&m), VMX_WANT_TRUE_CTLS | VMX_WANT_PROCBASED2 |
			 VMX_WANT_EPT_VPID_CAP);			/* VPID still there */
	m.procbased2 &= ~(1ULL << 37);
	assert_int_equal(vmx_msrs_want(&m), VMX_WANT_TRUE_CTLS | VMX_WANT_PROCBASED2);
	/* Without true controls the legacy primary controls decide. */
	m.basic &= ~(1ULL << 55);
	m.procbased &= ~(1ULL << 63);
	assert_int_equal(vmx_msrs_want(&m), 0);
	assert_int_equal(vmx_msrs_want(NULL), 0);
}

static void test_adjust_controls(void **state)
{
	uint32_t out = 0xdeadbeef;

	(void)state;
	/* Must-be-1 bits forced on, must-be-0 bits dropped. */
	assert_int_equal(vmx_adjust_controls(0x0, 0, 0x16, 0xff, &out), 0);
	assert_int_equal(out, 0x16);
	assert_int_equal(vmx_adjust_controls(0x300 | 0x40, 0, 0x16, 0xff, &out), 0);
	assert_int_equal(out, 0x56);
	/* A required bit is set even if not in want. */
	assert_int_equal(vmx_adjust_controls(0, 0x80, 0x16, 0xff, &out), 0);
	assert_int_equal(out, 0x96);
	/* Required but not allowed: -ENOTSUP, out untouched. */
	out = 0x1234;
	assert_int_equal(vmx_adjust_controls(0x1, 0x100, 0x16, 0xff, &out), -ENOTSUP);
	assert_int_equal(out, 0x1234);
	/* Contradictory masks and missing output. */
	assert_int_equal(vmx_adjust_controls(0, 0, 0x1, 0x0, &out), -EINVAL);
	assert_int_equal(vmx_adjust_controls(0, 0, 0, 0xff, NULL), -EINVAL);
	/* All bits. */
	assert_int_equal(vmx_adjust_controls(0xffffffff, 0x80000000, 0, 0xffffffff, &out), 0);
	assert_int_equal(out, 0xffffffff);
}

static void test_summary(void **state)
{
	struct vmx_msrs m = full_cpu();
	char buf[256], small[24];

	(void)state;
	assert_int_equal(vmx_caps_decode(&m, &caps), 0);
	assert_int_equal(vmx_caps_summary(&caps, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "VT-x rev 0x4: EPT (4-level, WB, 2M, 1G, A/D, INVEPT), "
			    "VPID (INVVPID), unrestricted guest, preemption timer (TSC/32), "
			    "APICv, posted interrupts, PAUSE-loop exiting, true controls");

	/* Truncation is reported and the string stays terminated. */
	memset(small, 'x', sizeof(small));
	assert_int_equal(vmx_caps_summary(&caps, small, sizeof(small)), -ENOSPC);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(strncmp(small, "VT-x rev 0x4: EPT", 17), 0);
	assert_int_equal(vmx_caps_summary(&caps, small, 1), -ENOSPC);
	assert_string_equal(small, "");
	assert_int_equal(vmx_caps_summary(&caps, small, 0), -EINVAL);
	assert_int_equal(vmx_caps_summary(NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(vmx_caps_summary(&caps, NULL, 10), -EINVAL);

	/* No timer, no INVVPID, EPT without WB. */
	m.true_pinbased &= ~(1ULL << 38);
	m.ept_vpid_cap &= ~((1ULL << 14) | (1ULL << 32));
	m.misc = (m.misc & ~0x1fULL) | 7;
	assert_int_equal(vmx_caps_decode(&m, &caps), 0);
	assert_int_equal(vmx_caps_summary(&caps, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "no preemption timer"));
	assert_non_null(strstr(buf, "EPT (4-level, 2M, 1G, A/D, INVEPT)"));
	assert_non_null(strstr(buf, "VPID, unrestricted"));
}

static void test_equal_features(void **state)
{
	struct vmx_msrs m = full_cpu();
	struct vmx_caps a, b;
	char diff[128];

	(void)state;
	assert_int_equal(vmx_caps_decode(&m, &a), 0);
	assert_int_equal(vmx_caps_decode(&m, &b), 0);
	assert_true(vmx_caps_equal_features(&a, &b));
	assert_int_equal(vmx_caps_diff(&a, &b, diff, sizeof(diff)), 0);
	assert_string_equal(diff, "");

	m.ept_vpid_cap &= ~(1ULL << 17);
	assert_int_equal(vmx_caps_decode(&m, &b), 0);
	assert_false(vmx_caps_equal_features(&a, &b));
	assert_int_equal(vmx_caps_diff(&a, &b, diff, sizeof(diff)), 1);
	assert_string_equal(diff, "ept_1g");

	m = full_cpu();
	m.true_pinbased &= ~(1ULL << 39);		/* no posted interrupts */
	assert_int_equal(vmx_caps_decode(&m, &b), 0);
	assert_int_equal(vmx_caps_diff(&a, &b, diff, sizeof(diff)), 2);
	assert_string_equal(diff, "posted_interrupts, pin.allowed1");

	/* Same status, different reason text: still the same (no) features. */
	m = full_cpu();
	m.feature_control = 0x1;
	assert_int_equal(vmx_caps_decode(&m, &a), -EPERM);
	m.feature_control = 0x3;
	assert_int_equal(vmx_caps_decode(&m, &b), -EPERM);
	strcpy(b.reason, "something else");
	assert_true(vmx_caps_equal_features(&a, &b));
	m.cpuid_vmx = false;
	assert_int_equal(vmx_caps_decode(&m, &b), -ENODEV);
	assert_false(vmx_caps_equal_features(&a, &b));
	assert_int_equal(vmx_caps_diff(&a, &b, diff, sizeof(diff)), 1);
	assert_string_equal(diff, "status");
	assert_false(vmx_caps_equal_features(&a, NULL));
	assert_int_equal(vmx_caps_diff(&a, NULL, diff, sizeof(diff)), -EINVAL);
}

/* Hostile input: random MSR values must decode to a consistent result. */
static void test_random_msrs(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char buf[64];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		struct vmx_msrs m = full_cpu();
		uint64_t *words[] = { &m.basic, &m.true_procbased, &m.procbased2, &m.misc,
				      &m.ept_vpid_cap, &m.cr0_fixed1, &m.true_pinbased };
		int rc;

		for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			if (x & 1)
				*words[w] ^= 1ULL << (x >> 58);	/* flip one bit */
		}
		memset(&caps, 0xa5, sizeof(caps));
		rc = vmx_caps_decode(&m, &caps);
		assert_true(rc == 0 || rc == -EINVAL);
		assert_int_equal(rc == 0, caps.status == VMX_OK);
		assert_true(memchr(caps.reason, '\0', sizeof(caps.reason)) != NULL);
		if (rc) {
			assert_true(strlen(caps.reason) > 10);
		} else {
			assert_int_equal(caps.pin.allowed0 & ~caps.pin.allowed1, 0);
			assert_true(caps.region_size >= 1 && caps.region_size <= 4096);
		}
		rc = vmx_caps_summary(&caps, buf, sizeof(buf));
		assert_true(rc == 0 || rc == -ENOSPC);
		assert_true(strlen(buf) < sizeof(buf));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_featured),
		cmocka_unit_test(test_no_cpuid),
		cmocka_unit_test(test_locked_off),
		cmocka_unit_test(test_unlocked_plan),
		cmocka_unit_test(test_no_secondary),
		cmocka_unit_test(test_ept_without_1g),
		cmocka_unit_test(test_legacy_controls),
		cmocka_unit_test(test_bad_basic),
		cmocka_unit_test(test_contradictory_msrs),
		cmocka_unit_test(test_missing_msrs),
		cmocka_unit_test(test_msrs_want),
		cmocka_unit_test(test_adjust_controls),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_equal_features),
		cmocka_unit_test(test_random_msrs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
