/*
 * Admission control: the host's pool of VM memory, its CPUs' reservations,
 * and the records of the VMs admitted to them (see <vmm/admission.h> for
 * the rules).
 *
 * The pool is sized once, at the first admission (after the vmkernel has
 * set itself up): what is free then, less the vmkernel's reserve. A VM's
 * record holds its reservation (sched.mem.min plus the overhead estimate)
 * from vm_admit() to vm_admit_release(). The part of sched.mem.min the
 * VM does not hold in private pages (vm->private_pages, which guest_mem.c
 * keeps) is computed when asked: other VMs' first touches leave it alone.
 *
 * A VM's record also holds where its vCPUs were placed and the CPU
 * reservation each holds there, until vm_admit_release().
 *
 * Locking: adm_lock (irqsave: the gate runs on the EPT-violation path)
 * protects pool, cpus and recs.
 */
#define pr_fmt(fmt) "vm: " fmt
#include <errno.h>
#include <stdio.h>
#include <vmkernel/kmem.h>
#include <vmkernel/linebuf.h>
#include <vmkernel/log.h>
#include <vmkernel/percpu.h>
#include <vmkernel/spinlock.h>
#include <vmkernel/timer.h>
#include <vmm/admission.h>
#include <vmm/guest_mem.h>
#include <vmm/guest_swap.h>
#include <vmm/vm.h>

#define MIB (1ULL << 20)

struct adm_rec {
	const struct vm *vm;
	uint64_t reserved;	/* sched.mem.min + overhead */
	uint64_t min;		/* sched.mem.min, bytes */
	unsigned nvcpus;
	uint32_t cpu_min_ppm;	/* CPU reservation of each vCPU */
	unsigned cpu[VMCONFIG_VCPUS_MAX];	/* host CPU of each vCPU */
};

static struct spinlock adm_lock = SPINLOCK_INIT("admission");
static struct mem_pool pool;		/* adm_lock */
static bool pool_sized;			/* adm_lock */
static struct adm_rec recs[VM_MAX];	/* adm_lock */
static struct cpu_pool cpus;		/* adm_lock; sized with pool */

/*
 * The part of a reservation the VM does not hold in pages of its own: not
 * backed yet, or given up to page sharing (a write may take it back any
 * time). Other VMs' first touches must leave that much free.
 */
static uint64_t unbacked(const struct adm_rec *r)
{
	uint64_t held = guest_ram_private_pages(r->vm) * 4096;

	return r->min > held ? r->min - held : 0;
}

static uint64_t unbacked_total(void)
{
	uint64_t u = 0;

	for (unsigned i = 0; i < VM_MAX; i++)
		u += recs[i].vm ? unbacked(&recs[i]) : 0;
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
	cpus.ncpus = pcpu_count;
	cpus.mhz = (uint32_t)((tsc_hz() + 500000) / 1000000);	/* MHz, rounded */
	if (!cpus.mhz)
		cpus.mhz = 1;
	pr_info("CPU for VMs: %u MHz (the TSC rate) on each CPU, of which VMs may reserve %u%% "
		"(sched.cpu.min) and the rest is kept for the vmkernel\n", cpus.mhz,
		SCHED_VM_CAPACITY_PPM / (SCHED_PPM / 100));
	pr_info("memory for VMs: %llu MiB (%llu MiB free, %llu MiB kept for the vmkernel); "
		"a VM's sched.mem.min is held for it, the rest of its memsize is backed on "
		"first touch while memory lasts\n", (unsigned long long)(pool.capacity / MIB),
		(unsigned long long)(st.free_bytes / MIB), (unsigned long long)(pool.reserve / MIB));
}

/* Place the VM's vCPUs (adm_lock held); 0 or -ENOSPC with the reason in lb. */
static int admit_cpu(struct vm *vm, struct adm_rec *r, uint64_t usable, uint64_t allowed,
		     struct linebuf *lb)
{
	struct sched_params p = cpu_vcpu_params(vm->cfg.cpu_shares, vm->cfg.cpu_min_mhz,
						vm->cfg.cpu_max_mhz, vm->cfg.numvcpus, cpus.mhz);
	int err;

	cpus.usable = usable;
	err = cpu_admit_decide(&cpus, vm->cfg.numvcpus, p.min_ppm, allowed & vm->cfg.cpu_affinity,
			       r->cpu, lb);
	if (err)
		return err;
	r->nvcpus = vm->cfg.numvcpus;
	r->cpu_min_ppm = p.min_ppm;
	cpu_admit_account(&cpus, r->nvcpus, r->cpu_min_ppm, r->cpu, 1);
	return 0;
}

int vm_admit(struct vm *vm, uint64_t usable, uint64_t allowed)
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
	if (!err)
		err = admit_cpu(vm, r, usable, allowed, &lb);
	if (!err) {
		r->vm = vm;
		r->reserved = min + overhead;
		r->min = min;
		pool.reserved += min + overhead;
	}
	spin_unlock_irqrestore(&adm_lock, flags);
	if (err) {
		pr_err("%s: not started: %s\n", vm->name, r ? lb_str(&lb) : "too many VMs");
		return err;
	}
	lb_reset(&lb);
	for (unsigned i = 0; i < r->nvcpus && i < 8; i++)
		lb_printf(&lb, "%s%u", i ? "," : "", r->cpu[i]);
	pr_info("%s: CPU: shares %u, sched.cpu.min %u MHz, sched.cpu.max %u MHz%s; vCPUs on CPUs "
		"%s%s\n", vm->name, vm->cfg.cpu_shares, vm->cfg.cpu_min_mhz, vm->cfg.cpu_max_mhz,
		vm->cfg.cpu_max_mhz ? "" : " (none)", lb_str(&lb), r->nvcpus > 8 ? ",..." : "");
	return 0;
}

unsigned vm_admit_cpu(const struct vm *vm, unsigned id)
{
	unsigned long flags = spin_lock_irqsave(&adm_lock);
	struct adm_rec *r = rec_of(vm);
	unsigned cpu = r && id < r->nvcpus ? r->cpu[id] : 0;

	spin_unlock_irqrestore(&adm_lock, flags);
	return cpu;
}

struct sched_params vm_vcpu_sched_params(const struct vm *vm)
{
	return cpu_vcpu_params(vm->cfg.cpu_shares, vm->cfg.cpu_min_mhz, vm->cfg.cpu_max_mhz,
			       vm->cfg.numvcpus, cpus.mhz);
}

void vm_admit_release(struct vm *vm)
{
	unsigned long flags = spin_lock_irqsave(&adm_lock);
	struct adm_rec *r = rec_of(vm);

	if (r) {
		pool.reserved -= r->reserved;
		cpu_admit_account(&cpus, r->nvcpus, r->cpu_min_ppm, r->cpu, -1);
		*r = (struct adm_rec){ 0 };
	}
	spin_unlock_irqrestore(&adm_lock, flags);
}

bool vm_mem_may_back(struct vm *vm)
{
	unsigned long flags = spin_lock_irqsave(&adm_lock);
	struct adm_rec *r = rec_of(vm);
	uint64_t others = unbacked_total() - (r ? unbacked(r) : 0);
	bool ok = mem_may_back(kmem_free_bytes(), pool.reserve, others);

	spin_unlock_irqrestore(&adm_lock, flags);
	return ok;
}

void vm_mem_host(uint64_t *free, uint64_t *capacity)
{
	unsigned long flags = spin_lock_irqsave(&adm_lock);
	uint64_t f = kmem_free_bytes(), keep = pool.reserve + unbacked_total();

	*free = f > keep ? f - keep : 0;
	*capacity = pool.capacity;
	spin_unlock_irqrestore(&adm_lock, flags);
}

void vm_mem_refusal(struct vm *vm, int err, char *buf, size_t len)
{
	if (err == -EDQUOT) {
		snprintf(buf, len, "sched.mem.max reached: %u MiB of its memsize %u MiB backed "
			 "(%s)", vm->cfg.mem_max_mb, vm->cfg.memsize_mb,
			 guest_swap_active(vm) ? "and nothing of it could be swapped out" :
			 vm->cfg.balloon ? "the balloon did not keep it under, and it has no swap file" :
					   "it has no swap file");
		return;
	}
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

	if (c->mem_max_mb && c->mem_max_mb < c->memsize_mb && !guest_swap_active(vm))
		pr_info("%s: sched.mem.max %u MiB of its memsize %u MiB is a hard cap (it has no "
			"swap file): %s; touching more than that stops the VM\n", vm->name,
			c->mem_max_mb, c->memsize_mb, c->balloon ? "its balloon keeps the guest "
			"under it" : "no balloon either (balloon0.present is not TRUE)");
	else if (c->mem_max_mb && c->mem_max_mb < c->memsize_mb)
		pr_info("%s: sched.mem.max %u MiB is a limit: %spast it the VM's pages go to its "
			"swap file\n", vm->name, c->mem_max_mb,
			c->balloon ? "its balloon keeps the guest under it; " : "");
}
