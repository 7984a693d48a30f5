/*
 * Transparent page sharing: the table of shared frames and the
 * copy-on-write steps on one VM's EPT (vmm/mem/pshare.c, pure logic,
 * host unit-tested), and the scanner that drives them
 * (vmm/mem/pshare_scan.c). The essay is at the top of pshare.c.
 */
#ifndef VMM_PSHARE_H
#define VMM_PSHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ept;
struct vm;

#define PSHARE_BUCKETS		4096	/* per index; a power of two */
#define PSHARE_PROBES_MAX	8	/* byte compares per lookup: collisions cost no more */

/* A host frame that backs one or more guest pages read-only. */
struct pshare_frame {
	struct pshare_frame *next_hash;	/* chain of by_hash[hash % PSHARE_BUCKETS] */
	struct pshare_frame *next_pa;	/* chain of by_pa[hpa >> 12 % PSHARE_BUCKETS] */
	uint64_t hash;			/* of its contents */
	uint64_t domain;		/* who may share it: a VM, or a salt (pshare.c) */
	uint64_t hpa;
	uint32_t refs;			/* guest pages mapping it */
	bool zero;			/* all zeros */
};

/* Memory for the table's nodes and the host view of frames. */
struct pshare_ops {
	void *ctx;
	void *(*virt)(void *ctx, uint64_t pa);		/* a host page's contents */
	void *(*node_alloc)(void *ctx, size_t size);	/* zeroed, or NULL */
	void (*node_free)(void *ctx, void *node);
	uint64_t (*page_alloc)(void *ctx, void *who);	/* a page for who's COW copy, or 0 */
	void (*page_free)(void *ctx, uint64_t pa);
};

struct pshare_stats {
	uint64_t frames;	/* shared frames held */
	uint64_t refs;		/* guest pages mapping them */
	uint64_t zero_frames, zero_refs;
	uint64_t collisions;	/* equal hashes, different contents */
};

struct pshare_table {
	const struct pshare_ops *ops;
	struct pshare_frame *by_hash[PSHARE_BUCKETS];
	struct pshare_frame *by_pa[PSHARE_BUCKETS];
	struct pshare_stats st;
};

void pshare_init(struct pshare_table *t, const struct pshare_ops *ops);
/* The hash of a 4 KiB page; *zero says whether it is all zeros (checked first, cheaply). */
uint64_t pshare_hash(const void *page, bool *zero);
/* A frame in `domain` with this hash and these exact contents, or NULL. */
struct pshare_frame *pshare_lookup(struct pshare_table *t, uint64_t domain, uint64_t hash,
				   const void *contents);
/* The frame at host address hpa, or NULL. */
struct pshare_frame *pshare_find_pa(struct pshare_table *t, uint64_t hpa);
/* Drop one reference; true when it was the last: the frame left the table, its page is free. */
bool pshare_put(struct pshare_table *t, struct pshare_frame *f);

/* What pshare_merge() did with a page. */
enum pshare_merge_result {
	PSHARE_MERGED,		/* now maps an existing frame: *freed is its old page */
	PSHARE_NEW,		/* its own page became a frame (nothing to match yet) */
	PSHARE_SKIPPED,		/* left private and writable again (no memory for a node) */
};

/*
 * Share the guest page at gpa. On entry it maps a private 4 KiB page
 * read-only (the caller cleared W and made sure no CPU can still write it
 * through a stale translation), so its contents are stable. Afterwards it
 * maps a frame read-only with EPT_SHARED. After PSHARE_MERGED the caller
 * must flush the VM's translations before freeing *freed. *zero: the page
 * was all zeros.
 */
enum pshare_merge_result pshare_merge(struct pshare_table *t, struct ept *e, uint64_t gpa,
				      uint64_t domain, uint64_t *freed, bool *zero);
/*
 * A write to the shared page at gpa: give it a private writable page. The
 * last guest page of a frame takes the frame back (no copy); others get a
 * copy, from ops->page_alloc(ctx, who). 0, with *flush true when the old
 * read-only translation must be flushed from other CPUs before the write
 * is seen and *zero if the frame held zeros; -ENOMEM when no page was
 * given (nothing changed); -EINVAL if gpa maps no shared frame.
 */
int pshare_break(struct pshare_table *t, struct ept *e, uint64_t gpa, void *who, bool *flush,
		 bool *zero);
/* A shared frame unmapped with its VM: true if that was its last reference (free hpa). */
bool pshare_release(struct pshare_table *t, uint64_t hpa);

/* ---- the scanner and the kernel's table (pshare_scan.c) ---- */

/* The VM's domain: pages are shared only between VMs of one domain (sched.mem.pshare.salt). */
uint64_t pshare_domain(const struct vm *vm);
/* Host-wide figures, under the table's lock. */
void pshare_get_stats(struct pshare_stats *st);

#endif
