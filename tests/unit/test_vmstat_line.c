/*
 * The vmstat line: the most frequent exit reasons in order, and no write
 * past the line buffer whatever the VM's name and counters (a guest sets
 * its counters; a 63-character displayName and four counters of 10^8 once
 * ran past the stack buffer of the printer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "../../vmm/vmstat_line.h"

const char *vmx_exit_reason_str(unsigned reason)
{
	switch (reason) {
	case EXIT_REASON_CR_ACCESS: return "control-register access";
	case EXIT_REASON_IO_INSTRUCTION: return "I/O instruction";
	case EXIT_REASON_EXCEPTION_NMI: return "exception or NMI";
	case EXIT_REASON_INTERRUPT_WINDOW: return "interrupt window";
	case EXIT_REASON_INVALID_GUEST_STATE: return "entry failure: invalid guest state";
	default: return "CPUID";
	}
}

static void test_order_and_share(void **state)
{
	uint64_t exits[EXIT_REASON_MAX + 1] = { 0 };
	struct vmstat_sample s = { "web", 1, 60, exits, 25, 100 };
	char line[200];

	(void)state;
	exits[EXIT_REASON_IO_INSTRUCTION] = 50;
	exits[EXIT_REASON_CR_ACCESS] = 10;
	vmstat_format(line, sizeof(line), &s);
	assert_string_equal(line, "web vCPU 1: 60 exits, I/O instruction 50, "
			    "control-register access 10; 25% of its time in exit handling");
}

/* A hostile name and counters: the line is cut, never overrun (ASan guards the heap copy). */
static void test_long_name_huge_counters(void **state)
{
	uint64_t exits[EXIT_REASON_MAX + 1] = { 0 };
	char name[64];
	struct vmstat_sample s = { name, 63, ~0ULL, exits, ~0ULL / 100, 1 };

	(void)state;
	memset(name, 'x', 63);
	name[63] = '\0';
	exits[EXIT_REASON_CR_ACCESS] = 99999999;
	exits[EXIT_REASON_IO_INSTRUCTION] = 99999998;
	exits[EXIT_REASON_EXCEPTION_NMI] = 99999997;
	exits[EXIT_REASON_INTERRUPT_WINDOW] = 99999996;
	exits[EXIT_REASON_INVALID_GUEST_STATE] = 99999995;
	char full[1000];
	size_t whole = vmstat_format(full, sizeof(full), &s);

	assert_in_range(whole, 200, sizeof(full) - 2);
	assert_non_null(strstr(full, "; 100% of its time"));
	for (size_t size = 1; size <= whole + 2; size++) {
		char *buf = malloc(size);
		size_t n = vmstat_format(buf, size, &s);

		assert_true(n < size);
		assert_int_equal(strlen(buf), n);
		if (size <= whole) {
			size_t dots = n < 3 ? n : 3;

			assert_memory_equal(buf + n - dots, "...", dots);
			assert_memory_equal(buf, full, n - dots);
		} else {
			assert_string_equal(buf, full);
		}
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_share),
		cmocka_unit_test(test_long_name_huge_counters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
