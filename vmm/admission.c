/*
 * Memory admission control: the host's pool of VM memory and the records
 * of the VMs admitted to it (see <vmm/admission.h> for the rules).
 *
 * The pool is sized once, at the first admission (after the vmkernel has
 * set itself up): what is free then, less the vmkernel's reserve. A VM's
 * record holds its reservation (sched.mem.min plus the overhead estimate)
 * from vm_admit() to vm_admit_release(), and the part of it that is not
 * backed yet, which other VMs' first touches must leave alone.
 *
 * Locking: adm_lock (irqsave: the gate runs on the EPT-violation path)
 * protects pool and recs.
 */
#define pr_fmt(fmt) "vm: " fmt
#include <errno.h>
#include <stdio.h>
#include <vmkernel/kmem.h>
#include <vmkernel/linebuf.h>
#include <vmkernel/log.h>
#include <vmkernel/spinlock.h>
#include <vmm/admission.h>
#include <vmm/guest_mem.h>
#include <vmm/vm.h>

#define MIB (1ULL << 20)

struct adm_rec {
	const struct vm *vm;
	uint64_t reserved;	/* sched.mem.min + overhead */
	uint64_t unbacked;	/* part of it not backed yet */
};

static struct spinlock adm_lock = SPINLOCK_INIT("admission");
static struct mem_pool pool;		/* adm_lock */
static bool pool_sized;			/* adm_lock */
static struct adm_rec recs[VM_MAX];	/* adm_lock */

static uint64_t unbacked_total(void)
{
	uint64_t u = 0;

	for (unsigned i = 0; i < VM_MAX; i++)
		u += recs[i].vm ? recs[i].unbacked : 0;
	return u;
}

static struct adm_rec *rec_of(const struct vm *vm)
{
	for (unsigned i = 0; i < VM_MAX; i++) {
		if (recs[i].vm == vm)
			return &recs[i];
	}
	return NULL;
}

static void size_pool(void)
{
	struct kmem_stats st;

	kmem_get_stats(&st);
	pool.reserve = mem_vmkernel_reserve(st.managed_bytes);
	pool.capacity = st.free_bytes > pool.reserve ? st.free_bytes - pool.reserve : 0;
	pool_sized = true;
	pr_info("memory for VMs: %llu MiB (%llu MiB free, %llu MiB kept for the vmkernel); "
		"a VM's sched.mem.min is held for it, the rest of its memsize is backed on "
		"first touch while memory lasts\n", (unsigned long long)(pool.capacity / MIB),
		(unsigned long long)(st.free_bytes / MIB), (unsigned long long)(pool.reserve / MIB));
}

int vm_admit(struct vm *vm)
{
	uint64_t memsize = (uint64_t)vm->cfg.memsize_mb * MIB, min = (uint64_t)vm->cfg.mem_min_mb * MIB;
	uint64_t overhead = mem_overhead_estimate(memsize, vm->cfg.numvcpus);
	char why[240];
	struct linebuf lb = LINEBUF_INIT(why);
	struct adm_rec *r;
	unsigned long flags;
	int err;

	flags = spin_lock_irqsave(&adm_lock);
	if (!pool_sized)
		size_pool();
	r = rec_of(NULL);
	err = r ? mem_admit_decide(&pool, memsize, min, overhead, kmem_free_bytes(),
				   unbacked_total(), &lb) : -ENOSPC;
	if (!err) {
		*r = (struct adm_rec){ vm, min + overhead, min };
		pool.reserved += min + overhead;
	}
	spin_unlock_irqrestore(&adm_lock, flags);
	if (err)
		pr_err("%s: not started: %s\n", vm->name, r ? lb_str(&lb) : "too many VMs");
	return err ? -ENOMEM : 0;
}

void vm_admit_backed(struct vm *vm)
{
	unsigned long flags = spin_lock_irqsave(&adm_lock);
	struct adm_rec *r = rec_of(vm);

	if (r)
		r->unbacked = 0;
	spin_unlock_irqrestore(&adm_lock, flags);
}

void vm_admit_release(struct vm *vm)
{
	unsigned long flags = spin_lock_irqsave(&adm_lock);
	struct adm_rec *r = rec_of(vm);

	if (r) {
		pool.reserved -= r->reserved;
		*r = (struct adm_rec){ 0 };
	}
	spin_unlock_irqrestore(&adm_lock, flags);
}

bool vm_mem_may_back(struct vm *vm)
{
	unsigned long flags = spin_lock_irqsave(&adm_lock);
	struct adm_rec *r = rec_of(vm);
	uint64_t others = unbacked_total() - (r ? r->unbacked : 0);
	bool ok = mem_may_back(kmem_free_bytes(), pool.reserve, others);

	spin_unlock_irqrestore(&adm_lock, flags);
	return ok;
}

void vm_mem_refusal(struct vm *vm, char *buf, size_t len)
{
	snprintf(buf, len, "guest RAM exhausted: %llu MiB free on the host, %llu MiB kept for the "
		 "vmkernel; this VM holds %llu MiB of its memsize %u MiB (sched.mem.min %u MiB)",
		 (unsigned long long)(kmem_free_bytes() / MIB),
		 (unsigned long long)(pool.reserve / MIB),
		 (unsigned long long)(guest_ram_pages(vm) * 4096 / MIB), vm->cfg.memsize_mb,
		 vm->cfg.mem_min_mb);
}

void vm_log_unapplied(struct vm *vm)
{
	const struct vm_config *c = &vm->cfg;
	char line[200];
	struct linebuf lb = LINEBUF_INIT(line);

	if (c->mem_max_mb)
		lb_printf(&lb, " sched.mem.max=%u", c->mem_max_mb);
	if (c->cpu_shares_level != VMCONFIG_SHARES_NORMAL)
		lb_printf(&lb, " sched.cpu.shares=%u", c->cpu_shares);
	if (c->cpu_min_mhz)
		lb_printf(&lb, " sched.cpu.min=%u", c->cpu_min_mhz);
	if (c->cpu_max_mhz)
		lb_printf(&lb, " sched.cpu.max=%u", c->cpu_max_mhz);
	if (c->cpu_affinity != ~0ULL)
		lb_printf(&lb, " sched.cpu.affinity=%#llx", (unsigned long long)c->cpu_affinity);
	if (lb_len(&lb))
		pr_warn("%s: not applied yet (the resource manager will apply them):%s\n",
			vm->name, lb_str(&lb));
}
