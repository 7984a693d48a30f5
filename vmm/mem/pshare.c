/*
 * Transparent page sharing: the table of shared frames and copy-on-write.
 *
 * Many guest pages hold the same contents: pages a guest zeroed, the same
 * kernel text in several VMs. ESX (Waldspurger, OSDI 2002) finds them
 * without the guest's help: a scanner hashes guest pages, compares pages
 * whose hashes match byte for byte, and maps one read-only host frame
 * into every guest page that holds those bytes, giving the duplicates'
 * pages back to the host. A guest write to a shared page faults (EPT
 * write protection) and gets a private copy.
 *
 * This file is the pure part, host unit-tested: the table and the steps on
 * one EPT. The scanner (pshare_scan.c) chooses pages, write-protects them,
 * flushes translations on the CPUs that may cache them, and calls
 * pshare_merge(); the fault paths (guest_mem.c) call pshare_break().
 *
 * The table. Every shared frame has one node, reachable by its contents'
 * hash (to find a match) and by its host address (to find the frame a
 * faulting page maps). A page whose hash matches nothing still becomes a
 * frame of its own, with one reference: the next page with the same
 * contents then finds it. (ESX keeps such pages writable as "hints" and
 * re-hashes them on a match; we pay one extra write fault per scanned
 * unique page instead, bounded by the scan rate, and keep no references
 * to other VMs' private pages.) When such a frame's only page is written,
 * the page takes its frame back without a copy.
 *
 * Invariants:
 *  - a leaf with EPT_SHARED maps a frame of the table, read-only, 4 KiB;
 *    f->refs counts exactly those leaves, over all VMs; a frame with no
 *    reference is not in the table and its page is free;
 *  - frames are matched only within one domain: a VM's own (the default),
 *    or the salt VMs opted into together (sched.mem.pshare.salt), so that
 *    without that opt-in no VM can learn another's contents by timing a
 *    write fault;
 *  - two frames of one domain never hold the same contents unless a
 *    lookup gave up after PSHARE_PROBES_MAX hash collisions.
 *
 * The hash is 64 bits over the page's 8-byte words; it only finds
 * candidates, the byte compare decides. A guest that makes pages collide
 * costs at most PSHARE_PROBES_MAX compares per lookup.
 *
 * Locking is the caller's: one lock over the table (pshare_scan.c), taken
 * inside the VM's RAM lock, which covers its EPT.
 */
#include <errno.h>
#include <string.h>
#include <vmm/ept.h>
#include <vmm/pshare.h>

#define PAGE 4096ULL

void pshare_init(struct pshare_table *t, const struct pshare_ops *ops)
{
	memset(t, 0, sizeof(*t));
	t->ops = ops;
}

static uint64_t rotl(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

uint64_t pshare_hash(const void *page, bool *zero)
{
	const uint64_t *w = page;
	uint64_t h = 0x9e3779b97f4a7c15ULL, any = 0;
	unsigned i;

	for (i = 0; i < PAGE / 8; i++)
		any |= w[i];
	*zero = !any;
	if (!any)
		return 0;	/* every zero page: the compare is against zeros anyway */
	for (i = 0; i < PAGE / 8; i++) {
		h ^= w[i] * 0xff51afd7ed558ccdULL;
		h = rotl(h, 29) * 0xc4ceb9fe1a85ec53ULL;
	}
	h ^= h >> 33;
	return h ? h : 1;
}

static unsigned bucket_hash(uint64_t hash)
{
	return (unsigned)(hash ^ (hash >> 32)) & (PSHARE_BUCKETS - 1);
}

static unsigned bucket_pa(uint64_t hpa)
{
	return (unsigned)(hpa >> 12) & (PSHARE_BUCKETS - 1);
}

struct pshare_frame *pshare_lookup(struct pshare_table *t, uint64_t domain, uint64_t hash,
				   const void *contents)
{
	unsigned probes = 0;

	for (struct pshare_frame *f = t->by_hash[bucket_hash(hash)]; f; f = f->next_hash) {
		if (f->hash != hash || f->domain != domain)
			continue;
		if (!memcmp(t->ops->virt(t->ops->ctx, f->hpa), contents, PAGE))
			return f;
		t->st.collisions++;
		if (++probes == PSHARE_PROBES_MAX)
			break;
	}
	return NULL;
}

struct pshare_frame *pshare_find_pa(struct pshare_table *t, uint64_t hpa)
{
	for (struct pshare_frame *f = t->by_pa[bucket_pa(hpa)]; f; f = f->next_pa) {
		if (f->hpa == hpa)
			return f;
	}
	return NULL;
}

static struct pshare_frame *add(struct pshare_table *t, uint64_t domain, uint64_t hash,
				uint64_t hpa, bool zero)
{
	struct pshare_frame *f = t->ops->node_alloc(t->ops->ctx, sizeof(*f));
	unsigned bh = bucket_hash(hash), bp = bucket_pa(hpa);

	if (!f)
		return NULL;
	*f = (struct pshare_frame){ .hash = hash, .domain = domain, .hpa = hpa, .refs = 1,
				    .zero = zero };
	f->next_hash = t->by_hash[bh];
	t->by_hash[bh] = f;
	f->next_pa = t->by_pa[bp];
	t->by_pa[bp] = f;
	t->st.frames++;
	t->st.refs++;
	if (zero) {
		t->st.zero_frames++;
		t->st.zero_refs++;
	}
	return f;
}

static void unlink_frame(struct pshare_table *t, struct pshare_frame *f)
{
	struct pshare_frame **pp;

	for (pp = &t->by_hash[bucket_hash(f->hash)]; *pp; pp = &(*pp)->next_hash) {
		if (*pp == f) {
			*pp = f->next_hash;
			break;
		}
	}
	for (pp = &t->by_pa[bucket_pa(f->hpa)]; *pp; pp = &(*pp)->next_pa) {
		if (*pp == f) {
			*pp = f->next_pa;
			break;
		}
	}
	t->st.frames--;
	if (f->zero)
		t->st.zero_frames--;
	t->ops->node_free(t->ops->ctx, f);
}

bool pshare_put(struct pshare_table *t, struct pshare_frame *f)
{
	t->st.refs--;
	if (f->zero)
		t->st.zero_refs--;
	if (--f->refs)
		return false;
	unlink_frame(t, f);
	return true;
}

/* The 4 KiB leaf at gpa: 0 with its frame, permissions and memory type, or -ENOENT. */
static int leaf4k(struct ept *e, uint64_t gpa, uint64_t *hpa, unsigned *perms, unsigned *mt)
{
	uint64_t size;

	if (ept_lookup(e, gpa, hpa, perms, mt, &size) || size != PAGE)
		return -ENOENT;
	return 0;
}

enum pshare_merge_result pshare_merge(struct pshare_table *t, struct ept *e, uint64_t gpa,
				      uint64_t domain, uint64_t *freed, bool *zero)
{
	struct pshare_frame *f;
	uint64_t hpa, hash;
	unsigned perms, mt;
	const void *p;

	gpa &= ~(PAGE - 1);
	*freed = 0;
	*zero = false;
	if (leaf4k(e, gpa, &hpa, &perms, &mt) || (perms & (EPT_W | EPT_SHARED)))
		return PSHARE_SKIPPED;	/* not a write-protected private page */
	p = t->ops->virt(t->ops->ctx, hpa);
	hash = pshare_hash(p, zero);
	f = pshare_lookup(t, domain, hash, p);
	if (f) {
		/* Same leaf, same size: replacing it allocates nothing and cannot fail. */
		if (ept_remap(e, gpa, f->hpa, PAGE, EPT_R | EPT_X | EPT_SHARED, mt))
			goto undo;
		f->refs++;
		t->st.refs++;
		if (f->zero)
			t->st.zero_refs++;
		*freed = hpa;
		return PSHARE_MERGED;
	}
	f = add(t, domain, hash, hpa, *zero);
	if (!f)
		goto undo;
	if (ept_remap(e, gpa, hpa, PAGE, EPT_R | EPT_X | EPT_SHARED, mt)) {
		pshare_put(t, f);
		goto undo;
	}
	return PSHARE_NEW;
undo:
	ept_protect(e, gpa, PAGE, 0, EPT_W);
	return PSHARE_SKIPPED;
}

int pshare_break(struct pshare_table *t, struct ept *e, uint64_t gpa, void *who, bool *flush,
		 bool *zero)
{
	struct pshare_frame *f;
	uint64_t hpa, np;
	unsigned perms, mt;
	int err;

	gpa &= ~(PAGE - 1);
	*flush = false;
	*zero = false;
	if (leaf4k(e, gpa, &hpa, &perms, &mt) || !(perms & EPT_SHARED))
		return -EINVAL;
	f = pshare_find_pa(t, hpa);
	if (!f)
		return -EINVAL;
	*zero = f->zero;
	if (f->refs == 1) {
		/* The last page of the frame takes it back: same bytes, same frame, only W added. */
		err = ept_remap(e, gpa, hpa, PAGE, EPT_R | EPT_W | EPT_X, mt);
		if (!err)
			pshare_put(t, f);
		return err;
	}
	np = t->ops->page_alloc(t->ops->ctx, who);
	if (!np)
		return -ENOMEM;
	memcpy(t->ops->virt(t->ops->ctx, np), t->ops->virt(t->ops->ctx, hpa), PAGE);
	err = ept_remap(e, gpa, np, PAGE, EPT_R | EPT_W | EPT_X, mt);
	if (err) {
		t->ops->page_free(t->ops->ctx, np);
		return err;
	}
	pshare_put(t, f);
	*flush = true;
	return 0;
}

bool pshare_release(struct pshare_table *t, uint64_t hpa)
{
	struct pshare_frame *f = pshare_find_pa(t, hpa);

	return f ? pshare_put(t, f) : false;
}
