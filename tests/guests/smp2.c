/*
 * smp2: a VM with two vCPUs. vCPU 0 starts vCPU 1 with HC_VCPU_START;
 * both then increment one shared counter with LOCK-prefixed instructions
 * at the same time, and vCPU 0 checks that no increment was lost, that
 * vCPU 1 saw its own index, and that bad start requests are refused.
 */
#include "guest.h"
#include "cpu.h"

const char guest_name[] = "smp2";

#define HC_VCPU_START 5
#define HC_EBUSY (-16)
#define ROUNDS 20000

static volatile uint32_t counter;
static volatile uint32_t ap_id = 0xffffffff;
static volatile uint32_t ap_done;
static volatile uint32_t go;
static uint8_t ap_stack[4096] __attribute__((aligned(16)));

void ap_main(void);
void ap_start(void);

/* vCPU 1 starts here (flat 32-bit mode, ESP from the hypercall). */
asm(".text\n"
    ".globl ap_start\n"
    "ap_start:\n"
    "	call ap_main\n"
    "1:	cli\n"
    "	hlt\n"
    "	jmp 1b\n");

static void add_many(void)
{
	for (int i = 0; i < ROUNDS; i++)
		asm volatile("lock incl %0" : "+m"(counter));
}

void ap_main(void)
{
	ap_id = (uint32_t)hc_vcpu_id();
	while (!go)
		asm volatile("pause");
	add_many();
	__atomic_store_n(&ap_done, 1, __ATOMIC_RELEASE);
}

static bool wait_done(void)
{
	uint64_t t0 = rdtsc();

	while (!__atomic_load_n(&ap_done, __ATOMIC_ACQUIRE)) {
		if (rdtsc() - t0 > 20000000000ull)
			return false;
		asm volatile("pause");
	}
	return true;
}

void guest_main(void)
{
	uint32_t top = (uint32_t)(uintptr_t)(ap_stack + sizeof(ap_stack));
	long r;

	if (vmk_skip("vcpu_start") | vmk_skip("vcpu_start_again") |
	    vmk_skip("vcpu_start_bad_index") | vmk_skip("vcpu_start_self") |
	    vmk_skip("ap_vcpu_id") | vmk_skip("shared_counter"))
		guest_finish();
	CHECK_EQ(hc_vcpu_id(), 0, "boot_vcpu_id");
	r = vmcall(HC_VCPU_START, 7, (uintptr_t)ap_start, top);
	CHECK_EQ(r, HC_EINVAL, "vcpu_start_bad_index");
	r = vmcall(HC_VCPU_START, 0, (uintptr_t)ap_start, top);
	CHECK_EQ(r, HC_EINVAL, "vcpu_start_self");
	r = vmcall(HC_VCPU_START, 1, (uintptr_t)ap_start, top);
	CHECK_EQ(r, 0, "vcpu_start");
	r = vmcall(HC_VCPU_START, 1, (uintptr_t)ap_start, top);
	CHECK_EQ(r, HC_EBUSY, "vcpu_start_again");
	go = 1;
	add_many();
	CHECK(wait_done(), "ap_finished");
	CHECK_EQ(ap_id, 1, "ap_vcpu_id");
	CHECK_EQ(counter, 2 * ROUNDS, "shared_counter");
	guest_finish();
}
