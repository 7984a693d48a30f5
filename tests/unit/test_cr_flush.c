/*
 * Which emulated control-register writes must flush the guest's cached
 * translations (its VPID): a VMM that forgets one leaves the guest running
 * on stale TLB entries after it switched paging off and on, or changed
 * PGE, PAE, SMEP... (SDM 3A 4.10.4.1). Bochs flushes its TLB on every VM
 * entry, so a booted test cannot see a missing INVVPID: this one can.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <vmm/vmx_decode.h>

#define PE (1ULL << 0)
#define TS (1ULL << 3)
#define NE (1ULL << 5)
#define WP (1ULL << 16)
#define AM (1ULL << 18)
#define CD (1ULL << 30)
#define PG (1ULL << 31)

static void test_cr0(void **state)
{
	uint64_t base = PE | NE | PG | WP;

	(void)state;
	assert_true(vmx_cr_write_flushes_tlb(0, base, base & ~PG));	/* paging off */
	assert_true(vmx_cr_write_flushes_tlb(0, base & ~PG, base));	/* and on again */
	assert_true(vmx_cr_write_flushes_tlb(0, base, base & ~WP));
	assert_true(vmx_cr_write_flushes_tlb(0, base, base | CD));
	assert_true(vmx_cr_write_flushes_tlb(0, PE, 0));
	assert_false(vmx_cr_write_flushes_tlb(0, base, base));
	assert_false(vmx_cr_write_flushes_tlb(0, base, base | TS));	/* CLTS/LMSW-style */
	assert_false(vmx_cr_write_flushes_tlb(0, base, base | AM));
}

static void test_cr4(void **state)
{
	static const unsigned flush_bits[] = { 4, 5, 7, 17, 20, 21 };	/* PSE PAE PGE PCIDE SMEP SMAP */
	static const unsigned keep_bits[] = { 0, 1, 2, 3, 6, 8, 9, 10, 16 };
	uint64_t base = (1ULL << 5) | (1ULL << 9);

	(void)state;
	for (unsigned i = 0; i < sizeof(flush_bits) / sizeof(flush_bits[0]); i++)
		assert_true(vmx_cr_write_flushes_tlb(4, base, base ^ (1ULL << flush_bits[i])));
	for (unsigned i = 0; i < sizeof(keep_bits) / sizeof(keep_bits[0]); i++)
		assert_false(vmx_cr_write_flushes_tlb(4, base, base ^ (1ULL << keep_bits[i])));
}

static void test_other_registers(void **state)
{
	(void)state;
	assert_false(vmx_cr_write_flushes_tlb(3, 0x1000, 0x2000));	/* the CPU flushes CR3 itself */
	assert_false(vmx_cr_write_flushes_tlb(8, 0, 15));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cr0),
		cmocka_unit_test(test_cr4),
		cmocka_unit_test(test_other_registers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
