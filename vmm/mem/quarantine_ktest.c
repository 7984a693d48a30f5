/*
 * In-kernel tests of the TLB-shootdown quarantine: with a CPU that does
 * not answer (the test's deaf CPU), a VM's memory and any quarantined
 * pages stay out of the allocator until it flushes, then come back.
 */
#include <stdio.h>
#include <string.h>
#include <vmkernel/kmem.h>
#include <vmkernel/ktest.h>
#include <vmkernel/percpu.h>
#include <vmm/guest_mem.h>
#include <vmm/quarantine.h>
#include <vmm/vm.h>
#include <vmm/vmx_caps.h>

#define KIB 1024ULL

struct held {
	uint64_t pa[8];
	bool released;
};

static void release_held(void *arg)
{
	struct held *h = arg;

	for (unsigned i = 0; i < 8; i++)
		page_free(h->pa[i], 0);
	h->released = true;
}

KTEST(tlb_quarantine_holds_until_flushed)
{
	struct held h = { .released = false };
	unsigned me = this_cpu_id();
	bool vmx = pcpu_array[me].vmm != NULL;

	for (unsigned i = 0; i < 8; i++) {
		h.pa[i] = page_alloc(0);
		KT_ASSERT(h.pa[i]);
	}
	tlb_test_deaf((int)me);
	KT_ASSERT_EQ(tlb_quarantine(1ULL << me, release_held, &h, "ktest pages"), 0);
	tlb_quarantine_poll();
	tlb_flush_if_owed();			/* a deaf CPU's entry path does not flush either */
	/* A CPU that never ran VMX holds no guest translation: nothing to wait for. */
	KT_ASSERT_EQ(h.released, !vmx);
	tlb_test_deaf(-1);
	tlb_quarantine_poll();
	KT_ASSERT(h.released);
}

KTEST(tlb_quarantine_vm_memory)
{
	struct vm *vm;
	uint64_t before, held;
	unsigned me = this_cpu_id();

	if (!vmx_host_usable() || !pcpu_array[me].vmm)
		return;		/* no EPT on this host: no VM memory to give back */
	vm = kzalloc(sizeof(*vm));
	KT_ASSERT(vm);
	snprintf(vm->name, sizeof(vm->name), "ktest_vm");
	vm->id = VM_MAX - 1;
	KT_ASSERT_EQ(guest_ram_init(vm, 4 << 20), 0);
	for (uint64_t gpa = 1 << 20; gpa < (1 << 20) + 64 * 4096; gpa += 4096)
		KT_ASSERT_EQ(guest_ram_fault(vm, gpa), 0);
	before = kmem_free_bytes();
	tlb_test_deaf((int)me);
	vm_release_memory(vm);
	held = kmem_free_bytes();
	tlb_test_deaf(-1);
	/* 64 guest pages and the EPT: none of it back while this CPU owed a flush. */
	KT_ASSERT(held < before + 64 * KIB);
	KT_ASSERT(tlb_quarantined() >= 1);
	tlb_quarantine_poll();
	KT_ASSERT(kmem_free_bytes() >= before + 256 * KIB);
	KT_ASSERT(!vm->ram);
	kfree(vm);
}
