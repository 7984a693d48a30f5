/*
 * hostile_hcall: every hypercall with the arguments a hostile guest would
 * pick (docs/hypercalls.md says what each must answer). Two vCPUs.
 *
 *  (none)  HC_VCPU_START with an index past the VM, to itself, twice, with
 *          a start address outside RAM, in the legacy hole, in the IOAPIC;
 *          HC_SET_TIMER with vectors 0-31 and 256+, a timeout past the
 *          limit, the smallest one, one cancelled; HC_CONSOLE_WRITE of
 *          one byte more than allowed, over device registers, across the
 *          end of RAM, of length 0; unknown call numbers.
 *  race    starts vCPU 1 and ends the VM in the same breath (HC_EXIT while
 *          the start is pending): the VM must end with its status and the
 *          host must clean up both vCPUs.
 */
#include "guest.h"
#include "cpu.h"
#include "lapic.h"
#include "trap.h"

const char guest_name[] = "hostile_hcall";

#define HC_EBUSY (-16)
#define HC_CONSOLE_MAX 4096
#define HC_TIMER_MAX_US (3600ull * 1000000)
#define TIMER_VEC 0x41

static uint8_t ap_stack[4096] __attribute__((aligned(16)));
static volatile uint32_t ap_ran;
static volatile unsigned ticks;
static char big[HC_CONSOLE_MAX + 1];

void ap_start(void);
asm(".text\n"
    ".globl ap_start\n"
    "ap_start:\n"
    "	movl $1, ap_ran\n"
    "1:	cli\n"
    "	hlt\n"
    "	jmp 1b\n");

static void tick(struct trap_frame *f)
{
	(void)f;
	ticks++;
	lapic_eoi();
}

static void check_vcpu_start(void)
{
	uint32_t top = (uint32_t)mem_end(), esp = (uint32_t)(uintptr_t)(ap_stack + sizeof(ap_stack));
	uint32_t ap = (uint32_t)(uintptr_t)ap_start;
	static const uint32_t bad_eips[] = { 0, 0xa0000, 0xb8000, 0xfec00000, 0xfee00000, 0xffffffff };

	CHECK_EQ(vmcall(HC_VCPU_START, 2, ap, esp), HC_EINVAL, "start_index_past_the_vm");
	CHECK_EQ(vmcall(HC_VCPU_START, 0xffffffff, ap, esp), HC_EINVAL, "start_index_huge");
	CHECK_EQ(vmcall(HC_VCPU_START, 0, ap, esp), HC_EINVAL, "start_self");
	CHECK_EQ(vmcall(HC_VCPU_START, 1, top, esp), HC_EINVAL, "start_at_end_of_ram");
	CHECK_EQ(vmcall(HC_VCPU_START, 1, top + 0x100000, esp), HC_EINVAL, "start_beyond_ram");
	for (unsigned i = 1; i < sizeof(bad_eips) / sizeof(bad_eips[0]); i++)
		CHECKF(vmcall(HC_VCPU_START, 1, bad_eips[i], esp) == HC_EINVAL, "start_not_ram",
		       "eip 0x%x accepted", bad_eips[i]);
	CHECK_EQ(vmcall(HC_VCPU_START, 1, ap, esp), 0, "start");
	CHECK_EQ(vmcall(HC_VCPU_START, 1, ap, esp), HC_EBUSY, "start_twice");
	for (uint64_t t0 = rdtsc(); !ap_ran && rdtsc() - t0 < 4000000000ull;)
		pause();
	CHECK(ap_ran, "ap_ran");
	CHECK_EQ(vmcall(HC_VCPU_START, 1, ap, esp), HC_EBUSY, "start_running_vcpu");
}

static void check_timer(void)
{
	static const unsigned bad_vectors[] = { 0, 1, 2, 8, 14, 18, 31, 256, 0x1000, 0xffffffff };

	for (unsigned i = 0; i < sizeof(bad_vectors) / sizeof(bad_vectors[0]); i++)
		CHECKF(hc_set_timer(bad_vectors[i], 100) == HC_EINVAL, "timer_bad_vector",
		       "vector %u accepted", bad_vectors[i]);
	CHECK_EQ(hc_set_timer(TIMER_VEC, (unsigned long)(HC_TIMER_MAX_US + 1)), HC_EINVAL,
		 "timer_past_the_limit");
	CHECK_EQ(hc_set_timer(TIMER_VEC, 0xffffffff), HC_EINVAL, "timer_longest_32bit");
	CHECK_EQ(hc_set_timer(TIMER_VEC, (unsigned long)HC_TIMER_MAX_US), 0, "timer_the_limit");
	CHECK_EQ(hc_set_timer(TIMER_VEC, 0), 0, "timer_cancel");
	lapic_enable();
	irq_register(TIMER_VEC, tick);
	CHECK_EQ(hc_set_timer(TIMER_VEC, 1), 0, "timer_1us");
	for (uint64_t t0 = rdtsc(); !ticks && rdtsc() - t0 < 1000000000ull;)
		sti_hlt();
	asm volatile("cli");
	CHECK_EQ(ticks, 1, "timer_1us_fires_once");
	for (int i = 0; i < 100; i++)
		hc_set_timer(TIMER_VEC, 1 + (unsigned)i % 3);	/* re-armed faster than it fires */
	hc_set_timer(TIMER_VEC, 0);
	CHECK(true, "timer_rearm_storm_survived");
}

static void check_console(void)
{
	uint32_t top = (uint32_t)mem_end();

	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (i % 64 == 63) ? '\n' : 'x';
	CHECK_EQ(hc_console_write(big, sizeof(big)), HC_EINVAL, "console_too_long");
	CHECK_EQ(hc_console_write(big, 0), 0, "console_empty");
	CHECK_EQ(hc_console_write_gpa(0xfec00000, 16), HC_EFAULT, "console_from_ioapic");
	CHECK_EQ(hc_console_write_gpa(0xfee00000, 16), HC_EFAULT, "console_from_lapic");
	CHECK_EQ(hc_console_write_gpa(top - 8, 16), HC_EFAULT, "console_across_end_of_ram");
	CHECK_EQ(hc_console_write_gpa(0xfffffff0, 0x20), HC_EFAULT, "console_across_4g");
	CHECK_EQ(hc_console_write_gpa(0x9fc00, 0x800), HC_EFAULT, "console_into_the_hole");
}

static void check_unknown(void)
{
	static const unsigned long calls[] = { 6, 7, 64, 255, 0x7fffffff, 0x80000000, 0xffffffff };

	for (unsigned i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		CHECKF(vmcall(calls[i], 1, 2, 3) == HC_ENOSYS, "unknown_call",
		       "call %lu did not answer -ENOSYS", calls[i]);
}

void guest_main(void)
{
	uint32_t esp = (uint32_t)(uintptr_t)(ap_stack + sizeof(ap_stack));

	if (vmk_skip("hypercall_arguments"))
		guest_finish();
	if (cmdline_has("race")) {
		/* Start vCPU 1 and end the VM before it can have run. */
		vmcall(HC_VCPU_START, 1, (uintptr_t)ap_start, esp);
		hc_exit(7);
	}
	check_vcpu_start();
	check_timer();
	check_console();
	check_unknown();
	guest_finish();
}
