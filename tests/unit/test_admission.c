/* Memory admission control's arithmetic (vmm/admission_calc.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <vmkernel/linebuf.h>
#include <vmm/admission.h>

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static char why[300];

static int decide(const struct mem_pool *p, uint64_t memsize, uint64_t min, uint64_t free,
		  uint64_t unbacked)
{
	struct linebuf lb = LINEBUF_INIT(why);
	uint64_t o = mem_overhead_estimate(memsize, 1);

	why[0] = '\0';
	return mem_admit_decide(p, memsize, min, o, free, unbacked, &lb);
}

static void test_reserve_and_overhead(void **state)
{
	(void)state;
	assert_int_equal(mem_vmkernel_reserve(128 * MIB), 16 * MIB);
	assert_int_equal(mem_vmkernel_reserve(64 * GIB), 4 * GIB);
	/* 64 MiB, 1 vCPU: 256 + 64 KiB fixed, 32 table pages, one upper-level set. */
	assert_int_equal(mem_overhead_estimate(64 * MIB, 1), 512 * 1024);
	assert_true(mem_overhead_estimate(64 * GIB, 64) > 128 * MIB);
	assert_true(mem_overhead_estimate(64 * GIB, 64) < 256 * MIB);
	assert_int_equal(mem_overhead_estimate(1, 1) % (64 * 1024), 0);
}

static void test_admit(void **state)
{
	struct mem_pool p = { .capacity = 100 * MIB, .reserve = 16 * MIB, .reserved = 0 };

	(void)state;
	/* No reservation: admitted whatever runs already (overcommit of memsize). */
	assert_int_equal(decide(&p, 64 * MIB, 0, 116 * MIB, 0), 0);
	/* A memsize the host could never hold is refused, with the numbers. */
	assert_int_equal(decide(&p, 65536 * MIB, 0, 116 * MIB, 0), -ENOMEM);
	assert_non_null(strstr(why, "memsize 65536 MiB"));
	assert_non_null(strstr(why, "may hold 100 MiB"));
	assert_non_null(strstr(why, "16 MiB kept for the vmkernel"));
	/* Reservations add up. */
	p.reserved = 60 * MIB;
	assert_int_equal(decide(&p, 64 * MIB, 30 * MIB, 116 * MIB, 0), 0);
	assert_int_equal(decide(&p, 64 * MIB, 40 * MIB, 116 * MIB, 0), -ENOMEM);
	assert_non_null(strstr(why, "sched.mem.min 40 MiB"));
	assert_non_null(strstr(why, "60 MiB of 100 MiB are reserved"));
	/* It must also be free now, beyond the reserve and others' unbacked reservations. */
	assert_int_equal(decide(&p, 64 * MIB, 30 * MIB, 40 * MIB, 0), -ENOMEM);
	assert_non_null(strstr(why, "not free now"));
	assert_int_equal(decide(&p, 64 * MIB, 30 * MIB, 60 * MIB, 20 * MIB), -ENOMEM);
	assert_int_equal(decide(&p, 64 * MIB, 30 * MIB, 60 * MIB, 0), 0);
}

static void test_gate(void **state)
{
	(void)state;
	assert_true(mem_may_back(32 * MIB, 16 * MIB, 0));
	assert_true(mem_may_back(16 * MIB + 4096, 16 * MIB, 0));
	assert_false(mem_may_back(16 * MIB, 16 * MIB, 0));
	assert_false(mem_may_back(20 * MIB, 16 * MIB, 8 * MIB));
	assert_false(mem_may_back(0, 16 * MIB, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reserve_and_overhead),
		cmocka_unit_test(test_admit),
		cmocka_unit_test(test_gate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
