/*
 * spinlock: a VM with two vCPUs contending for one ticket spinlock, as a
 * guest kernel's locks do. Each vCPU takes the lock ROUNDS times and holds
 * it for a critical section long enough that the holder is often
 * descheduled inside it when both vCPUs share one host CPU. The waiter
 * spins with PAUSE; PAUSE-loop exiting should then give its turn to the
 * holder (vmm/exit/exit_insn.c, the scheduler's SQ_YIELDED) instead of
 * burning its time slice.
 *
 * Checks: mutual exclusion (an owner word that only the holder may see
 * set, and a plain, non-atomic counter no increment of which is lost)
 * and that both vCPUs finish every round. It prints the guest TSC the
 * contended phase took and the longest single wait for the lock: a
 * path-length figure under Bochs, not a pass/fail threshold.
 */
#include "guest.h"
#include "cpu.h"

const char guest_name[] = "spinlock";

#define HC_VCPU_START 5
#define ROUNDS 150
#define CS_ITERS 4000		/* plain increments per critical section */
#define NOBODY 0xffffffffu

static volatile uint32_t next_ticket, now_serving;
static volatile uint32_t owner = NOBODY;
static volatile uint32_t plain_counter;	/* only ever touched under the lock */
static volatile uint32_t overlaps;	/* the lock was found held by the other vCPU */
static volatile uint32_t rounds_done[2];
static volatile uint64_t longest_wait[2];
static volatile uint32_t go, ap_done;
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

static void lock(unsigned me)
{
	uint32_t t = __atomic_fetch_add(&next_ticket, 1, __ATOMIC_ACQ_REL);
	uint64_t t0 = rdtsc(), waited;

	while (__atomic_load_n(&now_serving, __ATOMIC_ACQUIRE) != t)
		asm volatile("pause");
	waited = rdtsc() - t0;
	if (waited > longest_wait[me])
		longest_wait[me] = waited;
}

static void unlock(void)
{
	__atomic_store_n(&now_serving, now_serving + 1, __ATOMIC_RELEASE);
}

static void contend(unsigned me)
{
	for (unsigned r = 0; r < ROUNDS; r++) {
		lock(me);
		if (owner != NOBODY)
			overlaps++;
		owner = me;
		for (unsigned i = 0; i < CS_ITERS; i++)
			plain_counter = plain_counter + 1;
		if (owner != me)
			overlaps++;
		owner = NOBODY;
		unlock();
		rounds_done[me]++;
	}
}

void ap_main(void)
{
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		asm volatile("pause");
	contend(1);
	__atomic_store_n(&ap_done, 1, __ATOMIC_RELEASE);
}

void guest_main(void)
{
	uint32_t top = (uint32_t)(uintptr_t)(ap_stack + sizeof(ap_stack));
	uint64_t t0, t1;

	if (vmk_skip("vcpu_start") | vmk_skip("mutual_exclusion") | vmk_skip("no_lost_update") |
	    vmk_skip("both_finished"))
		guest_finish();
	CHECK_EQ(vmcall(HC_VCPU_START, 1, (uintptr_t)ap_start, top), 0, "vcpu_start");
	t0 = rdtsc();
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	contend(0);
	while (!__atomic_load_n(&ap_done, __ATOMIC_ACQUIRE))
		asm volatile("pause");
	t1 = rdtsc();
	CHECK_EQ(overlaps, 0, "mutual_exclusion");
	CHECK_EQ(plain_counter, 2 * ROUNDS * CS_ITERS, "no_lost_update");
	CHECK(rounds_done[0] == ROUNDS && rounds_done[1] == ROUNDS, "both_finished");
	gprintf("%s: %u lock hand-offs in %llu guest TSC ticks; longest wait %llu (vCPU 0), "
		"%llu (vCPU 1)\n", guest_name, 2 * ROUNDS, (unsigned long long)(t1 - t0),
		(unsigned long long)longest_wait[0], (unsigned long long)longest_wait[1]);
	guest_finish();
}
