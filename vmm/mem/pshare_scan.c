/*
 * The page-sharing scanner: a vmkernel world that walks every running
 * VM's RAM at a bounded rate and shares pages with equal contents
 * (pshare.c has the table and the copy-on-write steps; guest_mem.c the
 * fault side).
 *
 * Rate. Every SCAN_PERIOD_MS the world wakes and looks at up to
 * pshare.rate/10 backed guest pages in all (pshare.rate pages per second
 * on the kernel command line, default PSHARE_RATE_DEFAULT, 0 turns
 * sharing off), split evenly over the running VMs that allow sharing
 * (sched.mem.pshare.enable), each VM from where its last round stopped.
 * Only 4 KiB private pages are candidates: the large pages a reservation
 * is backed with are not split.
 *
 * One batch, for one VM (at most PSHARE_BATCH pages):
 *  1. with the VM's RAM lock: clear W in the EPT leaf of each candidate;
 *  2. without locks: INVEPT on every CPU that may cache the VM's
 *     translations (guest_ept_shootdown: the CPUs that ever entered it,
 *     vm->ept_cpus; a CPU running a vCPU takes the IPI as an exit). From
 *     here no vCPU can write a candidate; a host write takes the RAM lock
 *     and, finding W clear and no EPT_SHARED, sets W again, which tells
 *     step 3 to leave that page alone. A guest write faults and does the
 *     same;
 *  3. with the RAM lock and the table lock: pshare_merge() each candidate
 *     still write-protected: hash, find a frame with the same bytes in the
 *     VM's domain, map it read-only (or make the page a frame itself);
 *  4. without locks: if a page was replaced by another frame, INVEPT again
 *     everywhere, then free the replaced pages. A CPU that does not answer
 *     either flush keeps its stale translations: after step 2 the
 *     candidates become writable again and the batch is dropped; after
 *     step 4 the pages are quarantined until it has flushed
 *     (quarantine.c).
 *
 * Domains. Without sched.mem.pshare.salt a VM shares only with itself;
 * VMs naming the same salt share among themselves (ESX's salting). Salts
 * are interned here, so two salts never mix.
 *
 * Locking: scan_mutex is held by the scanner for each VM it scans and by
 * guest_ram_destroy(), so a VM's RAM never goes away under a batch.
 * table_lock (irqsave) protects the table and nests inside a VM's RAM
 * lock; salt_lock protects the salts.
 */
#define pr_fmt(fmt) "pshare: " fmt
#include <errno.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/init.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/mutex.h>
#include <vmkernel/paging.h>
#include <vmkernel/percpu.h>
#include <vmkernel/sched.h>
#include <vmkernel/smp.h>
#include <vmkernel/spinlock.h>
#include <vmkernel/timer.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/platform.h>
#include <vmm/guest_mem.h>
#include <vmm/pc_layout.h>
#include <vmm/pshare.h>
#include <vmm/quarantine.h>
#include <vmm/vm.h>
#include <vmm/vmx.h>
#include <vmm/vmx_caps.h>
#include "guest_mem_priv.h"
#include "pshare_priv.h"
#include "../vmx/vmx_priv.h"

#define SCAN_PERIOD_MS		100
#define PSHARE_BATCH		16	/* a batch runs without a preemption check: keep it short */
#define PSHARE_RATE_DEFAULT	1024	/* pages per second: 4 MiB/s */
#define PSHARE_RATE_MAX		1048576
#define SALTS_MAX		VM_MAX

static struct spinlock table_lock = SPINLOCK_INIT("pshare table");
static struct pshare_table table;	/* table_lock */
static struct mutex scan_mutex;
static struct spinlock salt_lock = SPINLOCK_INIT("pshare salts");
static char salts[SALTS_MAX][VMCONFIG_SALT_MAX];	/* salt_lock */
static unsigned long scan_rate = PSHARE_RATE_DEFAULT;

/* ---- the table's memory ---- */

static void *ops_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	return phys_to_virt(pa);
}

static void *ops_node_alloc(void *ctx, size_t size)
{
	(void)ctx;
	return kzalloc(size);
}

static void ops_node_free(void *ctx, void *node)
{
	(void)ctx;
	kfree(node);
}

static uint64_t ops_page_alloc(void *ctx, void *who)
{
	int err;

	(void)ctx;
	return guest_ram_cow_page(who, &err);
}

static void ops_page_free(void *ctx, uint64_t pa)
{
	(void)ctx;
	page_free(pa, 0);
}

static const struct pshare_ops kernel_ops = {
	NULL, ops_virt, ops_node_alloc, ops_node_free, ops_page_alloc, ops_page_free,
};

bool pshare_frame_release(uint64_t hpa)
{
	unsigned long flags = spin_lock_irqsave(&table_lock);
	bool last = pshare_release(&table, hpa);

	spin_unlock_irqrestore(&table_lock, flags);
	return last;
}

int pshare_frame_break(struct vm *vm, struct ept *e, uint64_t page, bool *flush, bool *zero)
{
	unsigned long flags = spin_lock_irqsave(&table_lock);
	int err = pshare_break(&table, e, page, vm, flush, zero);

	spin_unlock_irqrestore(&table_lock, flags);
	return err;
}

void pshare_get_stats(struct pshare_stats *st)
{
	unsigned long flags = spin_lock_irqsave(&table_lock);

	*st = table.st;
	spin_unlock_irqrestore(&table_lock, flags);
}

void pshare_scan_exclude(bool on)
{
	if (on)
		mutex_lock(&scan_mutex);
	else
		mutex_unlock(&scan_mutex);
}

uint64_t pshare_domain(const struct vm *vm)
{
	const char *salt = vm->cfg.pshare_salt;
	unsigned long flags;
	unsigned i;

	if (!salt[0])
		return vm->id + 1;	/* its own */
	flags = spin_lock_irqsave(&salt_lock);
	for (i = 0; i < SALTS_MAX && salts[i][0] && strcmp(salts[i], salt); i++)
		;
	if (i < SALTS_MAX && !salts[i][0])
		memcpy(salts[i], salt, strlen(salt) + 1);
	spin_unlock_irqrestore(&salt_lock, flags);
	/* More salts than VMs cannot happen (each VM names one); if it did: its own. */
	return i < SALTS_MAX ? (1ULL << 32) + i : vm->id + 1;
}

/*
 * May this VM's pages be shared here? Bochs (2.7) does not record the
 * IDT-vectoring information of a virtual interrupt (APICv's
 * virtual-interrupt delivery) whose delivery causes a VM exit: the field
 * keeps whatever event was recorded last, so the VMM would re-deliver
 * the wrong vector after an EPT violation on a write-protected stack
 * page. Real CPUs record it (SDM 3C 28.2.4). So under Bochs a VM that
 * uses the CPU's APIC virtualization keeps its pages private.
 */
bool pshare_vm_allowed(const struct vm *vm, const char **why)
{
	const struct vmx_caps *caps = vmx_host_caps();

	*why = NULL;
	if (!vm->cfg.pshare) {
		*why = "sched.mem.pshare.enable is FALSE";
		return false;
	}
	if (!scan_rate) {
		*why = "pshare.rate=0 on the kernel command line";
		return false;
	}
	if (!strcmp(platform_name(), "Bochs") && vm->cfg.apicv && caps && caps->apicv &&
	    caps->virt_apic_access) {
		*why = "Bochs misreports an EPT violation during virtual-interrupt delivery "
		       "(monitor.apicv = \"FALSE\" allows sharing here)";
		return false;
	}
	return true;
}

/* ---- TLB shootdown ---- */

static void invept_call(void *arg)
{
	const struct vmx_caps *caps = vmx_host_caps();
	struct vmm_cpu *vc = vmm_this_cpu();

	if (!vc || !vc->vmx_on)
		return;
	if (caps->invept_single)
		invept(INVEPT_SINGLE_CONTEXT, *(uint64_t *)arg);
	else
		invept(INVEPT_ALL_CONTEXT, 0);
}

/*
 * Every CPU that ever entered the VM may cache its guest-physical and
 * combined translations (tagged with its EPTP, whatever the VPID): each
 * runs INVEPT in its call-IPI handler (a CPU in the guest takes the IPI
 * as an exit) before this returns. A CPU that enters the VM for the first
 * time after the EPT change sets its bit after the change and caches
 * nothing older (the bit is set with a full barrier before its entry).
 */
uint64_t guest_ept_shootdown(struct vm *vm)
{
	static bool warned;
	uint64_t cpus = __atomic_load_n(&vm->ept_cpus, __ATOMIC_SEQ_CST), failed = 0;
	uint64_t eptp = guest_eptp(vm);

	if (!irq_enabled()) {
		/* Host writers run with interrupts on; waiting for IPIs with them off could hang. */
		if (!warned)
			pr_err("%s: TLB shootdown with interrupts off (a VMM bug): not waited for\n",
			       vm->name);
		warned = true;
		return cpus;
	}
	for (unsigned c = 0; c < pcpu_count && c < 64; c++) {
		if ((cpus & (1ULL << c)) && (tlb_cpu_deaf(c) || smp_call(c, invept_call, &eptp)))
			failed |= 1ULL << c;
	}
	return failed;
}

/* ---- scanning ---- */

/* The first RAM page at or after gpa, wrapping to 0 past the end of RAM. */
static uint64_t next_ram(const struct vm *vm, uint64_t gpa)
{
	uint64_t low = vm_low_ram_end(vm), high = vm_high_ram_size(vm);

	if (gpa >= PC_LEGACY_HOLE && gpa < PC_LEGACY_HOLE_END)
		return PC_LEGACY_HOLE_END < low ? PC_LEGACY_HOLE_END : 0;
	if (gpa < low)
		return gpa;
	if (high && gpa < PC_HIGH_RAM_BASE)
		return PC_HIGH_RAM_BASE;
	if (high && gpa < PC_HIGH_RAM_BASE + high)
		return gpa;
	return 0;
}

struct batch {
	uint64_t gpa[PSHARE_BATCH];
	unsigned n;
	uint64_t freed[PSHARE_BATCH];
	unsigned nfreed;
};

/* Step 1: write-protect up to `want` candidates; returns the backed pages looked at. */
static unsigned pick(struct vm *vm, struct vm_ram *ram, unsigned want, struct batch *b)
{
	unsigned looked = 0, steps = 0;
	unsigned long flags = spin_lock_irqsave(&ram->lock);
	uint64_t gpa = next_ram(vm, ram->scan_cursor), hpa, size;
	unsigned perms;

	b->n = 0;
	/* Unbacked stretches cost a lookup each: bounded too. */
	while (b->n < want && looked < want && steps < 16 * want) {
		steps++;
		if (!ept_lookup(&ram->ept, gpa, &hpa, &perms, NULL, &size)) {
			looked++;
			if (size == PAGE_SIZE_4K && (perms & EPT_W) && !(perms & EPT_SHARED) &&
			    !ept_protect(&ram->ept, gpa, PAGE_SIZE_4K, EPT_W, 0))
				b->gpa[b->n++] = gpa;
			if (size > PAGE_SIZE_4K)
				gpa = (gpa & ~(size - 1)) + size - PAGE_SIZE_4K;
		}
		gpa = next_ram(vm, gpa + PAGE_SIZE_4K);
	}
	ram->scan_cursor = gpa;
	ram->scanned += looked;
	spin_unlock_irqrestore(&ram->lock, flags);
	return looked ? looked : steps / 16 + 1;
}

/* After a failed flush: the candidates become writable again. */
static void unpick(struct vm_ram *ram, struct batch *b)
{
	unsigned long flags = spin_lock_irqsave(&ram->lock);
	unsigned perms;

	for (unsigned i = 0; i < b->n; i++) {
		if (!ept_lookup(&ram->ept, b->gpa[i], NULL, &perms, NULL, NULL) &&
		    !(perms & (EPT_W | EPT_SHARED)))
			ept_protect(&ram->ept, b->gpa[i], PAGE_SIZE_4K, 0, EPT_W);
	}
	spin_unlock_irqrestore(&ram->lock, flags);
}

/* Step 3. */
static void merge(struct vm *vm, struct vm_ram *ram, struct batch *b)
{
	unsigned long flags = spin_lock_irqsave(&ram->lock);

	spin_lock(&table_lock);
	b->nfreed = 0;
	for (unsigned i = 0; i < b->n; i++) {
		uint64_t freed;
		bool zero;

		switch (pshare_merge(&table, &ram->ept, b->gpa[i], ram->domain, &freed, &zero)) {
		case PSHARE_MERGED:
			b->freed[b->nfreed++] = freed;
			/* fall through */
		case PSHARE_NEW:
			guest_ram_private_add(ram, &vm->private_pages, -1);
			ram->shared_pages++;
			ram->zero_pages += zero;
			break;
		case PSHARE_SKIPPED:
			break;
		}
	}
	spin_unlock(&table_lock);
	spin_unlock_irqrestore(&ram->lock, flags);
}

struct freed_pages {
	unsigned n;
	uint64_t pa[PSHARE_BATCH];
};

static void free_pages(void *arg)
{
	struct freed_pages *f = arg;

	for (unsigned i = 0; i < f->n; i++)
		page_free(f->pa[i], 0);
	kfree(f);
}

/* Step 4. */
static void release(struct vm *vm, struct batch *b)
{
	struct freed_pages *f;
	uint64_t failed;

	if (!b->nfreed)
		return;
	failed = guest_ept_shootdown(vm);
	if (!failed) {
		for (unsigned i = 0; i < b->nfreed; i++)
			page_free(b->freed[i], 0);
		return;
	}
	f = kzalloc(sizeof(*f));
	if (!f) {
		pr_err("%s: no memory to quarantine %u shared-away pages: never reused\n", vm->name,
		       b->nfreed);
		return;
	}
	f->n = b->nfreed;
	memcpy(f->pa, b->freed, b->nfreed * sizeof(uint64_t));
	tlb_quarantine(failed, free_pages, f, vm->name);
}

static bool scannable(struct vm *vm)
{
	return __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING && vm->cfg.pshare;
}

/* One batch of vm: returns the pages looked at, 0 when the VM is not to be scanned. */
static unsigned scan_batch(struct vm *vm, unsigned want)
{
	static struct batch b;	/* the scanner's own (one world) */
	unsigned looked = 0;
	struct vm_ram *ram;

	mutex_lock(&scan_mutex);
	ram = __atomic_load_n(&vm->ram, __ATOMIC_ACQUIRE);
	if (ram && ram->pshare && scannable(vm)) {
		looked = pick(vm, ram, want, &b);
		if (!b.n) {
			/* nothing to share in this stretch */
		} else if (guest_ept_shootdown(vm)) {
			unpick(ram, &b);
		} else {
			merge(vm, ram, &b);
			release(vm, &b);
		}
	}
	mutex_unlock(&scan_mutex);
	return looked;
}

/*
 * Scan up to `budget` backed pages of vm, a batch at a time, giving the
 * CPU away between batches when others want it (host worlds are not
 * preempted).
 */
static void scan_vm(struct vm *vm, unsigned budget)
{
	unsigned done = 0;

	while (done < budget) {
		unsigned want = budget - done < PSHARE_BATCH ? budget - done : PSHARE_BATCH;
		unsigned looked = scan_batch(vm, want);

		if (!looked)
			return;
		done += looked;
		if (sched_should_yield())
			sched_yield();
	}
}

static void scan_world(void *arg)
{
	uint64_t period = tsc_hz() / (1000 / SCAN_PERIOD_MS);
	unsigned first = 0;

	(void)arg;
	for (;;) {
		unsigned budget = (unsigned)(scan_rate * SCAN_PERIOD_MS / 1000), n = vm_count(), k;
		unsigned running = 0;

		sched_block_until(rdtsc() + period);
		for (k = 0; k < n; k++)
			running += scannable(vm_get(k));
		if (!running)
			continue;
		budget = budget / running ? budget / running : 1;
		for (k = 0; k < n; k++) {
			struct vm *vm = vm_get((first + k) % n);

			if (scannable(vm))
				scan_vm(vm, budget);
		}
		first++;
	}
}

/* Before any VM: the table, the mutex and the rate (pshare.rate=). */
static int pshare_setup(void)
{
	const char *v = bootparam_get("pshare.rate");

	mutex_init(&scan_mutex, "pshare scan");
	pshare_init(&table, &kernel_ops);
	if (v) {
		unsigned long r = 0;
		const char *p;

		for (p = v; *p >= '0' && *p <= '9' && r <= PSHARE_RATE_MAX; p++)
			r = r * 10 + (unsigned long)(*p - '0');
		if (*p || p == v || r > PSHARE_RATE_MAX) {
			pr_warn("pshare.rate=%s: needs pages per second, 0-%u; using %u\n", v,
				PSHARE_RATE_MAX, PSHARE_RATE_DEFAULT);
			r = PSHARE_RATE_DEFAULT;
		}
		scan_rate = r;
	}
	return 0;
}
INIT_LEVEL(pshare_setup, INIT_SUBSYS);

static int pshare_init_world(void)
{
	if (!scan_rate) {
		pr_info("page sharing off (pshare.rate=0)\n");
		return 0;
	}
	if (!vmx_host_caps() || !vmx_host_caps()->ept)
		return 0;	/* no VMs on this host */
	pr_info("page sharing: scanning %lu pages/s, in batches of %u, within each VM (and "
		"between VMs of one sched.mem.pshare.salt)\n", scan_rate, PSHARE_BATCH);
	return world_create("pshare", scan_world, NULL, pcpu_count - 1, NULL, NULL) ? 0 : -ENOMEM;
}
INIT_LEVEL(pshare_init_world, INIT_LATE);
