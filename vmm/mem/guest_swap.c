/*
 * Hypervisor swapping: a VM's guest pages written to a swap file on a
 * datastore and read back when touched, as ESX does with its .vswp file.
 *
 * The file. At VM start, a VM with a datastore directory (sched.swap.dir,
 * else vmx.directory) gets <name>.vswp there, memsize - sched.mem.min
 * bytes: enough for every page its reservation does not keep resident.
 * The file is thin (VMFS allocates blocks as slots are first written);
 * the datastore must have that much free space at start, but a later
 * shortage shows up as a failed swap-out (the page stays resident, the
 * VM's line counts it). It is deleted when the VM ends or fails to start.
 * Slot n of the file holds one 4 KiB page at byte n * 4096
 * (swap_slots.c hands slots out). A VM without a file (no datastore
 * directory, no space, the datastore not mounted) runs as before: its
 * sched.mem.max is a hard cap, and its start log says so.
 *
 * States of a guest RAM page, as its 4 KiB EPT leaf says:
 *   unbacked           entry 0
 *   resident           present (private or shared, guest_mem.c)
 *   swap-out in flight non-present, EPT_SW_SWAPPED | EPT_SW_SWAPIO, slot in 51:12;
 *                      the host page still holds the data, only the swapper knows it
 *   swapped            non-present, EPT_SW_SWAPPED, slot in 51:12
 * The CPU ignores every bit of an entry whose bits 2:0 are clear, so a
 * swapped page faults (EPT violation) like an unbacked one; guest_mem.c
 * tells them apart by the marker and calls guest_swap_in().
 *
 * Swapping out one page (swap_out_one):
 *   1. under ram->lock, a clock hand picks a private, writable 4 KiB page
 *      (never a shared frame, a large page of the reservation, or any page
 *      while the VM holds no more than sched.mem.min privately); where the
 *      CPU has EPT accessed/dirty bits, a page accessed since the hand
 *      last passed gets a second chance (its A bit cleared; a translation
 *      cached in a TLB may keep it from being set again, so it is a hint);
 *      its leaf becomes "swap-out in flight" with a fresh slot;
 *   2. without locks, every CPU that may cache the translation drops it
 *      (guest_ept_shootdown): afterwards nothing can write the page behind
 *      our back. A CPU that does not answer: the leaf maps the page again
 *      and nothing is swapped (the page is never reused while it may be
 *      cached);
 *   3. the page is written to its slot, no spinlock held;
 *   4. under ram->lock the leaf becomes "swapped"; only then is the host
 *      page freed. A failed write maps the page back instead.
 * Swapping in (guest_swap_in): a fresh page (made room for by swapping
 * out another of the VM's pages when the VM is at sched.mem.max or the
 * host is at the vmkernel's reserve), the slot read into it, the leaf
 * mapped (non-present to present: no shootdown), the slot freed. A read
 * error stops the VM naming page, slot and error; the host carries on.
 * A swapped page the guest puts into its balloon (guest_swap_discard)
 * loses its slot and becomes unbacked: its data is not wanted any more.
 *
 * Locking. sw->io_lock (a mutex) is held across every swap-out and
 * swap-in, file I/O included: one swap operation per VM at a time, so
 * a fault or host copy that finds a page swapped or in flight simply
 * takes io_lock, which waits for the I/O, and then looks again. The
 * slot allocator and the clock hand are io_lock's. Order: io_lock, then
 * the datastore's lock, then ram->lock (a spinlock, never held across
 * I/O or a shootdown). Counters are updated atomically and read without
 * locks. struct vm_swap lives as long as struct vm; its file is closed
 * (closing set, under io_lock) before guest RAM goes away, so a swapper
 * on another world finds it closed rather than RAM freed.
 */
#define pr_fmt(fmt) "vmm: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <fs/kernel/datastore.h>
#include <fs/vmfs.h>
#include <vmkernel/cpu.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/mutex.h>
#include <vmkernel/paging.h>
#include <vmkernel/spinlock.h>
#include <vmm/ept.h>
#include <vmm/guest_mem.h>
#include <vmm/guest_swap.h>
#include <vmm/pc_layout.h>
#include <vmm/swap_slots.h>
#include <vmm/vm.h>
#include <vmm/vmx_caps.h>
#include "guest_mem_priv.h"
#include "guest_swap_priv.h"

#define SWAP_PATH_MAX 320
#define CLOCK_CHUNK 64		/* leaves looked at per hold of ram->lock */

struct vm_swap {
	struct mutex io_lock;
	struct datastore *ds;		/* set at attach */
	struct vmfs_file *file;		/* io_lock; NULL: no swap file */
	bool closing;			/* io_lock: the VM is ending */
	char full[SWAP_PATH_MAX];	/* /vmfs/volumes/<label>/.../<name>.vswp */
	char path[SWAP_PATH_MAX];	/* the same inside the datastore */
	uint64_t bytes;
	struct swap_slots slots;	/* io_lock */
	uint64_t clock;			/* io_lock: next guest-physical page the hand looks at */
	bool warned_write;		/* io_lock */
	uint64_t swapped_pages;		/* atomic */
	uint64_t swap_outs, swap_ins, write_errors;	/* atomic */
};

static void count(uint64_t *c, int64_t d)
{
	__atomic_add_fetch(c, (uint64_t)d, __ATOMIC_RELAXED);
}

static uint64_t read_count(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

bool guest_swap_active(const struct vm *vm)
{
	return vm->swap && __atomic_load_n(&vm->swap->file, __ATOMIC_ACQUIRE) != NULL;
}

/* "<dir>/<name>.vswp": 0, or -EINVAL when it does not fit. */
static int swap_file_name(struct vm *vm, const char *dir, struct vm_swap *sw)
{
	int n = snprintf(sw->full, sizeof(sw->full), "%s/%s.vswp", dir, vm->name);

	return n > 0 && (size_t)n < sizeof(sw->full) ? 0 : -EINVAL;
}

/* Create the file: 0, or an error with why set. Called with no file open. */
static int create_file(struct vm *vm, struct vm_swap *sw, const char **why)
{
	const char *dir = vm->cfg.swap_dir[0] ? vm->cfg.swap_dir : vm->cfg.vmx_dir;
	struct vmfs_statfs sf;
	const char *rest;
	int rc;

	if (!dir[0]) {
		*why = "it has no datastore directory (vmx.directory or sched.swap.dir)";
		return -ENOENT;
	}
	if (swap_file_name(vm, dir, sw)) {
		*why = "the swap file's path is too long";
		return -EINVAL;
	}
	sw->ds = datastore_find(sw->full, &rest);
	if (!sw->ds || !rest) {
		*why = "its datastore is not mounted";
		return -ENOENT;
	}
	if (sw->ds->lease_lost) {
		*why = "its datastore's heartbeat lease is lost";
		return -EIO;
	}
	snprintf(sw->path, sizeof(sw->path), "/%s", rest);
	mutex_lock(&sw->ds->lock);
	rc = vmfs_statfs(sw->ds->vol, &sf);
	if (!rc && sf.free_bytes < sw->bytes) {
		*why = "its datastore has not enough free space for it";
		rc = -ENOSPC;
	} else if (rc) {
		*why = "the datastore's free space cannot be read";
	}
	if (!rc) {
		rc = vmfs_open(sw->ds->vol, sw->path,
			       VMFS_O_READ | VMFS_O_WRITE | VMFS_O_CREAT | VMFS_O_TRUNC |
				       VMFS_O_RANDOM, 0600,
			       &sw->file);
		if (rc)
			*why = "the file cannot be created";
	}
	if (!rc) {
		rc = vmfs_extend(sw->file, sw->bytes, VMFS_ALLOC_THIN);
		if (rc) {
			*why = "the file cannot be given its size";
			vmfs_close(sw->file);
			vmfs_unlink(sw->ds->vol, sw->path);
			sw->file = NULL;
		}
	}
	mutex_unlock(&sw->ds->lock);
	return rc;
}

void guest_swap_attach(struct vm *vm)
{
	struct vm_swap *sw = vm->swap;
	uint64_t bytes = (uint64_t)(vm->cfg.memsize_mb - vm->cfg.mem_min_mb) << 20;
	uint64_t nslots = bytes / PAGE_SIZE_4K;
	const char *why = "";
	uint64_t *bits;
	int rc;

	if (sw && sw->file) {
		/* A guest reset: the old contents are gone with the old RAM. */
		mutex_lock(&sw->io_lock);
		swap_slots_init(&sw->slots, sw->slots.bits, sw->slots.nslots);
		sw->closing = false;	/* guest_swap_quiesce() set it */
		sw->clock = 0;
		__atomic_store_n(&sw->swapped_pages, 0, __ATOMIC_RELAXED);
		mutex_unlock(&sw->io_lock);
		return;
	}
	if (!sw) {
		sw = kzalloc(sizeof(*sw));
		if (!sw) {
			pr_warn("%s: no swap file (no memory for its state); sched.mem.max stays a "
				"hard cap for this VM\n", vm->name);
			return;
		}
		mutex_init(&sw->io_lock, "vm swap");
		vm->swap = sw;
	}
	if (!nslots) {
		pr_info("%s: no swap file: sched.mem.min reserves all of its memsize\n", vm->name);
		return;
	}
	bits = kmalloc(swap_slots_words(nslots) * sizeof(uint64_t));
	if (!bits) {
		pr_warn("%s: no swap file (no memory for its slot map); sched.mem.max stays a hard "
			"cap for this VM\n", vm->name);
		return;
	}
	sw->bytes = bytes;
	rc = create_file(vm, sw, &why);
	if (rc) {
		kfree(bits);
		pr_info("%s: no swap file: %s (%d); sched.mem.max stays a hard cap for this VM\n",
			vm->name, why, rc);
		return;
	}
	swap_slots_init(&sw->slots, bits, nslots);
	sw->closing = false;
	__atomic_store_n(&sw->file, sw->file, __ATOMIC_RELEASE);
	pr_info("%s: swap file %s, %llu MiB (memsize %u MiB - sched.mem.min %u MiB), thin; "
		"victims by %s\n", vm->name, sw->full, (unsigned long long)(bytes >> 20),
		vm->cfg.memsize_mb, vm->cfg.mem_min_mb,
		vmx_host_caps()->ept_ad ? "a clock with EPT accessed bits as second chance" :
					  "a plain clock (the CPU has no EPT accessed bits)");
}

void guest_swap_detach(struct vm *vm)
{
	struct vm_swap *sw = vm->swap;
	int rc;

	if (!sw || !sw->file)
		return;
	mutex_lock(&sw->io_lock);
	sw->closing = true;
	mutex_lock(&sw->ds->lock);
	vmfs_close(sw->file);
	rc = vmfs_unlink(sw->ds->vol, sw->path);
	mutex_unlock(&sw->ds->lock);
	__atomic_store_n(&sw->file, NULL, __ATOMIC_RELEASE);
	kfree(sw->slots.bits);
	sw->slots = (struct swap_slots){ 0 };
	mutex_unlock(&sw->io_lock);
	if (rc)
		pr_warn("%s: swap file %s could not be deleted (%d)\n", vm->name, sw->full, rc);
	else
		pr_info("%s: swap file %s deleted\n", vm->name, sw->full);
}

void guest_swap_quiesce(struct vm *vm)
{
	struct vm_swap *sw = vm->swap;

	if (!sw || !sw->file)
		return;
	mutex_lock(&sw->io_lock);	/* waits for a swapper on another world */
	sw->closing = true;
	mutex_unlock(&sw->io_lock);
}

void guest_swap_destroy(struct vm *vm)
{
	guest_swap_detach(vm);
	kfree(vm->swap);
	vm->swap = NULL;
}

/* The next page of guest RAM after gpa, wrapping to 0 at the end. */
static uint64_t next_ram_page(const struct vm *vm, uint64_t gpa)
{
	uint64_t low = vm_low_ram_end(vm), high = vm_high_ram_size(vm);

	gpa += PAGE_SIZE_4K;
	if (gpa >= PC_LEGACY_HOLE && gpa < PC_LEGACY_HOLE_END)
		gpa = PC_LEGACY_HOLE_END;
	if (gpa >= low && gpa < PC_HIGH_RAM_BASE)
		gpa = high ? PC_HIGH_RAM_BASE : 0;
	if (gpa >= PC_HIGH_RAM_BASE + high && gpa >= PC_HIGH_RAM_BASE)
		gpa = 0;
	return gpa;
}

/*
 * Step 1 (ram->lock held): the next victim at or after sw->clock, looking
 * at most `budget` leaves; true with *gpa and *hpa. Skips what the essay says.
 */
static bool pick_victim(struct vm *vm, struct vm_swap *sw, unsigned budget, uint64_t *gpa,
			uint64_t *hpa)
{
	struct vm_ram *ram = vm->ram;

	while (budget--) {
		uint64_t page = sw->clock, e, old;
		unsigned level;

		sw->clock = next_ram_page(vm, page);
		if (pgt_entry_get(&ram->ept.pt, page, &e, &level) || level != 1 ||
		    !(e & EPT_RWX) || (e & EPT_SW_SHARED) || !(e & EPT_WRITE))
			continue;
		if (ram->ept.ad_enabled && (e & EPT_ACCESSED)) {
			pgt_leaf_clear_bits(&ram->ept.pt, page, EPT_ACCESSED | EPT_DIRTY, &old);
			continue;	/* second chance */
		}
		*gpa = page;
		*hpa = e & EPT_ADDR_MASK;
		return true;
	}
	return false;
}

static uint64_t swap_entry(uint64_t slot, bool io)
{
	return EPT_SW_SWAPPED | (io ? EPT_SW_SWAPIO : 0) | (slot << 12);
}

/* Map a page that was to be swapped out back in place (ram->lock not held). */
static void unswap(struct vm *vm, uint64_t gpa, uint64_t hpa)
{
	struct vm_ram *ram = vm->ram;
	unsigned long flags = spin_lock_irqsave(&ram->lock);

	ept_map(&ram->ept, gpa, hpa, PAGE_SIZE_4K, EPT_R | EPT_W | EPT_X, EPT_MT_WB);
	guest_ram_private_add(ram, &vm->private_pages, 1);
	spin_unlock_irqrestore(&ram->lock, flags);
}

/* One page out (io_lock held): 0, -ENOSPC (file full), -ENOENT (no victim), -EBUSY, -EIO. */
static int swap_out_one(struct vm *vm, struct vm_swap *sw)
{
	struct vm_ram *ram = vm->ram;
	uint64_t slot, gpa = 0, hpa = 0, pages = vm->ram_size / PAGE_SIZE_4K;
	bool found = false;
	unsigned long flags;
	int64_t n;

	slot = swap_slots_alloc(&sw->slots);
	if (slot == SWAP_SLOT_NONE)
		return -ENOSPC;
	/* Two turns of the hand: the second finds what the first gave a second chance. */
	for (uint64_t looked = 0; !found && looked < 2 * pages; looked += CLOCK_CHUNK) {
		flags = spin_lock_irqsave(&ram->lock);
		if (ram->private_pages <= ram->min_pages) {
			spin_unlock_irqrestore(&ram->lock, flags);
			break;
		}
		found = pick_victim(vm, sw, CLOCK_CHUNK, &gpa, &hpa);
		if (found) {
			pgt_entry_set_absent(&ram->ept.pt, gpa, swap_entry(slot, true));
			guest_ram_private_add(ram, &vm->private_pages, -1);
		}
		spin_unlock_irqrestore(&ram->lock, flags);
	}
	if (!found) {
		swap_slots_free(&sw->slots, slot);
		return -ENOENT;
	}
	/* Step 2. */
	if (guest_ept_shootdown(vm)) {
		unswap(vm, gpa, hpa);
		swap_slots_free(&sw->slots, slot);
		return -EBUSY;
	}
	/* Step 3. */
	mutex_lock(&sw->ds->lock);
	n = sw->ds->lease_lost ? -EIO :
	    vmfs_write(sw->file, slot * PAGE_SIZE_4K, phys_to_virt(hpa), PAGE_SIZE_4K);
	mutex_unlock(&sw->ds->lock);
	if (n != (int64_t)PAGE_SIZE_4K) {
		unswap(vm, gpa, hpa);
		swap_slots_free(&sw->slots, slot);
		count(&sw->write_errors, 1);
		if (!sw->warned_write)
			pr_warn("%s: swap-out of guest-physical %#llx to slot %llu of %s failed (%lld); "
				"the page stays in memory\n", vm->name, (unsigned long long)gpa,
				(unsigned long long)slot, sw->full, (long long)n);
		sw->warned_write = true;
		return -EIO;
	}
	/* Step 4. */
	flags = spin_lock_irqsave(&ram->lock);
	pgt_entry_set_absent(&ram->ept.pt, gpa, swap_entry(slot, false));
	spin_unlock_irqrestore(&ram->lock, flags);
	count(&sw->swapped_pages, 1);
	count(&sw->swap_outs, 1);
	page_free(hpa, 0);
	return 0;
}

/* May a swapper run on vm now (io_lock held)? */
static bool can_swap(const struct vm *vm, const struct vm_swap *sw)
{
	return sw->file && !sw->closing && vm->ram;
}

uint64_t guest_swap_out(struct vm *vm, uint64_t npages)
{
	struct vm_swap *sw = vm->swap;
	uint64_t done = 0;

	if (!guest_swap_active(vm) || !irq_enabled())
		return 0;
	mutex_lock(&sw->io_lock);
	while (done < npages && can_swap(vm, sw) && !swap_out_one(vm, sw))
		done++;
	mutex_unlock(&sw->io_lock);
	return done;
}

/* The slot of a swapped page (ram->lock held), or SWAP_SLOT_NONE if it is not swapped. */
static uint64_t swapped_slot(struct vm_ram *ram, uint64_t page)
{
	uint64_t e;
	unsigned level;

	if (pgt_entry_get(&ram->ept.pt, page, &e, &level) || level != 1 || (e & EPT_RWX) ||
	    !(e & EPT_SW_SWAPPED))
		return SWAP_SLOT_NONE;
	return (e & EPT_ADDR_MASK) >> 12;
}

/* A page for a swap-in (io_lock held): within the VM's limits, swapping out to make room. */
static uint64_t page_for_swap_in(struct vm *vm, struct vm_swap *sw, int *err)
{
	struct vm_ram *ram = vm->ram;

	for (;;) {
		unsigned long flags = spin_lock_irqsave(&ram->lock);
		uint64_t pa;

		*err = guest_ram_may_take(vm, true);
		spin_unlock_irqrestore(&ram->lock, flags);
		if (!*err) {
			pa = page_alloc(0);
			if (pa)
				return pa;
			*err = -ENOMEM;
		}
		if (swap_out_one(vm, sw))
			return 0;
	}
}

static int swap_in_locked(struct vm *vm, struct vm_swap *sw, uint64_t page)
{
	struct vm_ram *ram = vm->ram;
	unsigned long flags;
	uint64_t slot, pa;
	int64_t n;
	int err;

	flags = spin_lock_irqsave(&ram->lock);
	slot = swapped_slot(ram, page);
	spin_unlock_irqrestore(&ram->lock, flags);
	if (slot == SWAP_SLOT_NONE)
		return 0;	/* brought in by another world while we waited */
	if (!swap_slots_in_use(&sw->slots, slot)) {
		vm_stop(vm, VMCONFIG_STOP_KILLED, -1, "swap-in of guest-physical %#llx: slot %llu "
			"of %s is not in use (a VMM bug)", (unsigned long long)page,
			(unsigned long long)slot, sw->full);
		return -EIO;
	}
	pa = page_for_swap_in(vm, sw, &err);
	if (!pa)
		return err;
	mutex_lock(&sw->ds->lock);
	n = sw->ds->lease_lost ? -EIO :
	    vmfs_read(sw->file, slot * PAGE_SIZE_4K, phys_to_virt(pa), PAGE_SIZE_4K);
	mutex_unlock(&sw->ds->lock);
	if (n != (int64_t)PAGE_SIZE_4K) {
		page_free(pa, 0);
		vm_stop(vm, VMCONFIG_STOP_KILLED, -1, "swap-in of guest-physical %#llx from slot "
			"%llu of %s failed: %s (%lld)", (unsigned long long)page,
			(unsigned long long)slot, sw->full, n < 0 ? "I/O error" : "short read",
			(long long)n);
		return -EIO;
	}
	flags = spin_lock_irqsave(&ram->lock);
	err = ept_map(&ram->ept, page, pa, PAGE_SIZE_4K, EPT_R | EPT_W | EPT_X, EPT_MT_WB);
	if (!err)
		guest_ram_private_add(ram, &vm->private_pages, 1);
	spin_unlock_irqrestore(&ram->lock, flags);
	if (err) {
		page_free(pa, 0);
		vm_stop(vm, VMCONFIG_STOP_KILLED, -1, "swap-in of guest-physical %#llx: mapping "
			"failed (%d)", (unsigned long long)page, err);
		return -EIO;
	}
	swap_slots_free(&sw->slots, slot);
	count(&sw->swapped_pages, -1);
	count(&sw->swap_ins, 1);
	return 0;
}

int guest_swap_in(struct vm *vm, uint64_t page)
{
	struct vm_swap *sw = vm->swap;
	int err;

	if (!irq_enabled()) {
		pr_err("%s: guest-physical %#llx is swapped out and was touched with interrupts "
		       "off (a VMM bug): cannot wait for the swap-in\n", vm->name,
		       (unsigned long long)page);
		return -EDEADLK;
	}
	if (!sw)
		return -EIO;	/* a swapped leaf without a swap file: cannot happen */
	mutex_lock(&sw->io_lock);
	err = can_swap(vm, sw) ? swap_in_locked(vm, sw, page) : -EIO;
	mutex_unlock(&sw->io_lock);
	return err;
}

uint64_t guest_swap_discard(struct vm *vm, const uint64_t *gpa, unsigned n)
{
	struct vm_swap *sw = vm->swap;
	uint64_t done = 0;

	if (!sw || !n)
		return 0;
	/* io_lock: no swap-out is between its steps, so no leaf is in flight */
	mutex_lock(&sw->io_lock);
	if (!can_swap(vm, sw)) {
		mutex_unlock(&sw->io_lock);
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		struct vm_ram *ram = vm->ram;
		unsigned long flags = spin_lock_irqsave(&ram->lock);
		uint64_t slot = swapped_slot(ram, gpa[i]);

		if (slot != SWAP_SLOT_NONE)
			pgt_entry_set_absent(&ram->ept.pt, gpa[i], 0);
		spin_unlock_irqrestore(&ram->lock, flags);
		if (slot == SWAP_SLOT_NONE)
			continue;
		swap_slots_free(&sw->slots, slot);
		count(&sw->swapped_pages, -1);
		done++;
	}
	mutex_unlock(&sw->io_lock);
	return done;
}

void guest_swap_stats(struct vm *vm, struct guest_swap_stats *st)
{
	struct vm_swap *sw = vm->swap;

	*st = (struct guest_swap_stats){ 0 };
	if (!sw)
		return;
	st->active = guest_swap_active(vm);
	st->file_bytes = sw->bytes;
	st->swapped_pages = read_count(&sw->swapped_pages);
	st->swap_outs = read_count(&sw->swap_outs);
	st->swap_ins = read_count(&sw->swap_ins);
	st->write_errors = read_count(&sw->write_errors);
}

int guest_swap_test_truncate(struct vm *vm)
{
	struct vm_swap *sw = vm->swap;
	int rc;

	if (!guest_swap_active(vm))
		return -ENOENT;
	mutex_lock(&sw->io_lock);
	mutex_lock(&sw->ds->lock);
	rc = vmfs_truncate(sw->file, 0);
	mutex_unlock(&sw->ds->lock);
	mutex_unlock(&sw->io_lock);
	return rc;
}
