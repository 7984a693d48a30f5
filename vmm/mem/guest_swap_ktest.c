/*
 * In-kernel test of hypervisor swapping from a world that is not a vCPU
 * (the way a memory scheduler will call it), on datastore "swapds" (the
 * vms-swap boot hands it over): a VM's pages written through host copies,
 * half of them swapped out by guest_swap_out() from this world, all read
 * back and checked (swap-in through guest_read), a write into a swapped
 * page, swapped pages put into a balloon (their slots freed, the next touch
 * a zero page), and a swap-in whose read comes back short (the file cut to
 * nothing), which must stop that VM naming page and slot; then the swap
 * file must be gone. It also finds the swap file of the boot's VM "swap"
 * (tests/guests/swap.vmx), which runs meanwhile, at its full size, and
 * then swaps pages of that running VM out from here every 50 ms while its
 * vCPU faults them back in on another CPU (cross-CPU shootdowns, faults
 * that wait for a swap-out in flight): the guest's own checks catch a
 * page that came back wrong. Named only: needs the datastore and that VM.
 */
#include <stdio.h>
#include <string.h>
#include <fs/kernel/datastore.h>
#include <fs/vmfs.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/ktest.h>
#include <vmkernel/sched.h>
#include <vmkernel/spinlock.h>
#include <vmkernel/timer.h>
#include <vmkernel/cpu.h>
#include <vmm/balloon.h>
#include <vmm/guest_mem.h>
#include <vmm/guest_swap.h>
#include <vmm/vm.h>
#include <vmm/vmx_caps.h>
#include "guest_swap_priv.h"

#define PAGES 256u
#define BASE 0x100000ULL

static uint32_t word(uint32_t p, uint32_t i)
{
	return (p * 0x9e3779b1u) ^ (i * 0x85ebca6bu) ^ 0x5eed;
}

static bool page_ok(struct vm *vm, uint32_t p, uint32_t *buf)
{
	if (guest_read(vm, BASE + (uint64_t)p * 4096, buf, 4096))
		return false;
	for (uint32_t i = 0; i < 1024; i++) {
		if (buf[i] != word(p, i))
			return false;
	}
	return true;
}

static struct vm *find_vm(const char *name)
{
	for (unsigned i = 0; i < vm_count(); i++) {
		struct vm *vm = vm_get(i);

		if (vm && !strcmp(vm->name, name))
			return vm;
	}
	return NULL;
}

/* Swap the running VM "swap" from this world while it runs: pages reclaimed. */
static uint64_t swap_the_running_vm(void)
{
	struct vm *vm = find_vm("swap");
	uint64_t total = 0;

	for (unsigned round = 0; vm && round < 400; round++) {
		if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_RUNNING)
			break;
		total += guest_swap_out(vm, 16);
		sched_block_until(rdtsc() + tsc_hz() / 20);
	}
	return total;
}

KTEST_NAMED(guest_swap_world)
{
	struct guest_swap_stats st;
	struct datastore *ds = datastore_find("swapds", NULL);
	struct vmfs_stat fst;
	uint32_t *buf = kmalloc(4096);
	struct vm *vm = kzalloc(sizeof(*vm));
	uint64_t private_before, total;
	unsigned bad = 0;
	int rc;

	KT_ASSERT(buf && vm);
	KT_ASSERT(vmx_host_usable());
	KT_ASSERT(ds);
	mutex_lock(&ds->lock);
	rc = vmfs_stat(ds->vol, "/swap/swap.vswp", &fst);
	mutex_unlock(&ds->lock);
	KT_ASSERT_EQ(rc, 0);
	KT_ASSERT_EQ(fst.size, 30ULL << 20);
	snprintf(vm->name, sizeof(vm->name), "ktest_swap");
	spin_init(&vm->lock, "vm");
	vm->id = VM_MAX - 1;
	vm->cfg.memsize_mb = 4;
	snprintf(vm->cfg.vmx_dir, sizeof(vm->cfg.vmx_dir), "/vmfs/volumes/swapds/swap");
	guest_swap_attach(vm);
	KT_ASSERT(guest_swap_active(vm));
	KT_ASSERT_EQ(guest_ram_init(vm, 4 << 20), 0);
	for (uint32_t p = 0; p < PAGES; p++) {
		for (uint32_t i = 0; i < 1024; i++)
			buf[i] = word(p, i);
		KT_ASSERT_EQ(guest_write(vm, BASE + (uint64_t)p * 4096, buf, 4096), 0);
	}
	private_before = guest_ram_private_pages(vm);
	/* From this world, not a vCPU. */
	KT_ASSERT_EQ(guest_swap_out(vm, PAGES / 2), PAGES / 2);
	guest_swap_stats(vm, &st);
	KT_ASSERT_EQ(st.swapped_pages, PAGES / 2);
	KT_ASSERT_EQ(guest_ram_private_pages(vm), private_before - PAGES / 2);
	for (uint32_t p = 0; p < PAGES; p++)
		bad += !page_ok(vm, p, buf);
	KT_ASSERT_EQ(bad, 0);
	guest_swap_stats(vm, &st);
	KT_ASSERT_EQ(st.swapped_pages, 0);
	KT_ASSERT_EQ(st.swap_ins, PAGES / 2);
	/* A host write into a swapped page brings it in first: the rest of it survives. */
	KT_ASSERT_EQ(guest_swap_out(vm, PAGES), PAGES);
	buf[0] = 0xfeedface;
	KT_ASSERT_EQ(guest_write(vm, BASE + 5 * 4096 + 8, buf, 4), 0);
	KT_ASSERT_EQ(guest_read(vm, BASE + 5 * 4096, buf, 4096), 0);
	KT_ASSERT_EQ(buf[2], 0xfeedface);
	KT_ASSERT_EQ(buf[3], word(5, 3));
	KT_ASSERT_EQ(buf[1], word(5, 1));
	/* Ballooned: swapped pages lose their slots (no swap-in), a resident one is freed. */
	{
		const uint64_t gone[3] = { BASE + 9 * 4096, BASE + 10 * 4096, BASE + 5 * 4096 };
		struct balloon_unback un = { 0 };
		uint64_t swapped = (guest_swap_stats(vm, &st), st.swapped_pages), ins = st.swap_ins;

		guest_ram_balloon(vm, gone, 3, &un);
		KT_ASSERT_EQ(un.swapped, 2);
		KT_ASSERT_EQ(un.freed, 1);
		KT_ASSERT_EQ(un.unbacked, 0);
		guest_swap_stats(vm, &st);
		KT_ASSERT_EQ(st.swapped_pages, swapped - 2);
		KT_ASSERT_EQ(guest_read(vm, BASE + 9 * 4096, buf, 4096), 0);
		KT_ASSERT_EQ(buf[0] | buf[1023], 0);		/* a fresh zero page */
		guest_swap_stats(vm, &st);
		KT_ASSERT_EQ(st.swap_ins, ins);
	}
	/* A short read: the VM stops, named; the host carries on. */
	KT_ASSERT_EQ(guest_swap_test_truncate(vm), 0);
	rc = guest_read(vm, BASE + 7 * 4096, buf, 4);
	KT_ASSERT_EQ(rc, -EIO);
	KT_ASSERT(vm_stopped(vm));
	KT_ASSERT(strstr(vm->stop_reason, "swap-in of guest-physical 0x107000 from slot"));
	KT_ASSERT(strstr(vm->stop_reason, "short read"));
	guest_swap_destroy(vm);
	mutex_lock(&ds->lock);
	rc = vmfs_stat(ds->vol, "/swap/ktest_swap.vswp", &fst);
	mutex_unlock(&ds->lock);
	KT_ASSERT_EQ(rc, -ENOENT);
	vm_release_memory(vm);
	kfree(vm);
	kfree(buf);
	total = swap_the_running_vm();
	pr_info("guest_swap_world: %llu pages of the running VM 'swap' swapped out from this "
		"world\n", (unsigned long long)total);
	KT_ASSERT(total > 0);
}
