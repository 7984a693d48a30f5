/*
 * Memory ballooning (docs/resource-manager.md, Memory): the virtio-balloon
 * device model (vmm/vdev/virtio/balloon.c), its guest-request checks
 * (balloon_req.c, pure, host unit-tested) and what the memory scheduler
 * (vmm/mem/memsched.c) asks of a VM's balloon.
 */
#ifndef VMM_BALLOON_H
#define VMM_BALLOON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/* virtio v1.1 5.5: device ID, feature bits, queues, statistics tags */
#define VIRTIO_ID_BALLOON			5
#define VIRTIO_BALLOON_F_MUST_TELL_HOST		0
#define VIRTIO_BALLOON_F_STATS_VQ		1
#define VIRTIO_BALLOON_PFN_SHIFT		12
#define BALLOON_Q_INFLATE			0
#define BALLOON_Q_DEFLATE			1
#define BALLOON_Q_STATS				2
enum balloon_stat_tag {
	BALLOON_S_SWAP_IN, BALLOON_S_SWAP_OUT, BALLOON_S_MAJFLT, BALLOON_S_MINFLT,
	BALLOON_S_MEMFREE, BALLOON_S_MEMTOT, BALLOON_S_AVAIL, BALLOON_S_CACHES,
	BALLOON_S_HTLB_PGALLOC, BALLOON_S_HTLB_PGFAIL, BALLOON_S_NR
};
#define BALLOON_STAT_BYTES	10	/* le16 tag, le64 value, packed (5.5.6.3) */
#define BALLOON_STATS_MAX	64	/* entries in one statistics buffer at most */
#define BALLOON_CHUNK		256	/* PFNs checked and applied at a time (Linux sends 256) */
#define BALLOON_REQ_MAX		(64u << 10)	/* bytes of PFNs in one request at most */

/* What a guest can get wrong in a balloon request; balloon_err_name() gives the words. */
enum balloon_err {
	BALLOON_OK = 0,
	BALLOON_ERR_LEN,	/* a PFN array whose length is not a multiple of 4 bytes */
	BALLOON_ERR_TOO_BIG,	/* a request longer than BALLOON_REQ_MAX bytes */
	BALLOON_ERR_WRITABLE,	/* a device-writable buffer on the inflate/deflate queue */
	BALLOON_ERR_NOT_RAM,	/* a PFN outside the VM's RAM */
	BALLOON_ERR_TWICE,	/* inflating a page that is in the balloon already */
	BALLOON_ERR_NOT_IN,	/* deflating a page that is not in the balloon */
	BALLOON_ERR_STATS_LEN,	/* a statistics buffer not a whole number of entries, or too long */
	BALLOON_ERR_COUNT
};
const char *balloon_err_name(enum balloon_err e);

/*
 * The balloon's pages: one bit per 4 KiB guest-physical page below
 * span_pages (the end of the VM's RAM); count is the number of bits set,
 * always. Owned by the device's I/O world.
 */
struct balloon_map {
	uint64_t *bits;
	uint64_t span_pages;
	uint64_t count;
};

/*
 * Check one chunk of n PFNs of an inflate (or deflate) request and record
 * it in m: all of it, or, on an error, none of it (*bad: the index of the
 * first PFN at fault). is_ram(ctx, gpa) says whether a page is the VM's
 * RAM. The caller then unbacks the inflated pages.
 */
enum balloon_err balloon_apply(struct balloon_map *m, const uint32_t *pfn, unsigned n,
			       bool inflate, bool (*is_ram)(void *ctx, uint64_t gpa), void *ctx,
			       unsigned *bad);

/* The guest's statistics: v[tag] valid where bit tag of have is set. */
struct balloon_stats {
	uint64_t v[BALLOON_S_NR];
	uint32_t have;
};
/* Parse a statistics buffer (len bytes at buf, little-endian); unknown tags are ignored. */
enum balloon_err balloon_stats_parse(const uint8_t *buf, size_t len, struct balloon_stats *s);

/* ---- the device as the memory scheduler sees it (balloon.c) ---- */

struct balloon_info {
	uint64_t pages;		/* in the balloon now */
	uint64_t target;	/* num_pages the device asks for */
	uint64_t max_pages;	/* sched.mem.maxmemctl: the most it may hold */
	bool live;		/* a driver runs it (DRIVER_OK, not broken) */
	bool stats;		/* the guest's statistics below are from its driver */
	uint64_t guest_total;	/* bytes: BALLOON_S_MEMTOT */
	uint64_t guest_avail;	/* bytes: BALLOON_S_AVAIL, or BALLOON_S_MEMFREE */
};
/* vm's balloon: false if it has none. */
bool balloon_vm_info(struct vm *vm, struct balloon_info *bi);
/* Ask vm's balloon to hold `pages` (capped at its maximum); a change interrupts the guest. */
void balloon_vm_set_target(struct vm *vm, uint64_t pages);
/* Ask the guest's driver for fresh statistics (it answers on the stats queue). */
void balloon_vm_request_stats(struct vm *vm);
/* Pages in vm's balloon (0 without one), for the VM's memory line. */
uint64_t balloon_vm_pages(struct vm *vm);

/* ---- guest memory (vmm/mem/balloon_mem.c) ---- */

struct balloon_unback {
	uint64_t freed;		/* private host pages given back */
	uint64_t dropped;	/* references to page-sharing frames dropped */
	uint64_t unbacked;	/* never touched: nothing to give back */
	uint64_t large;		/* inside a 2 MiB/1 GiB page of the reservation: kept backed */
	uint64_t swapped;	/* in the swap file: the slot freed */
};
/*
 * The guest gave RAM pages gpa[0..n) (4 KiB aligned, checked RAM) to its
 * balloon: clear their EPT leaves, shoot the VM's translations down on
 * every CPU, then free the host pages (or quarantine them from CPUs that
 * did not answer); swapped pages lose their swap slots. Pages the guest
 * touches again are backed again as zero pages, as on a first touch. Sleeps; no locks held by the caller.
 */
void guest_ram_balloon(struct vm *vm, const uint64_t *gpa, unsigned n, struct balloon_unback *r);

#endif
