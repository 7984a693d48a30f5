/*
 * Kernel heap: a malloc-like allocator over a page source.
 *
 * Small requests (<= 2048 bytes) are rounded up to one of eight power-of-two
 * size classes (16 .. 2048) and served from slabs.  A slab is exactly one
 * page: a header at the start of the page (struct heap_slab) followed by
 * equal objects.  The first object starts at the header size rounded up to
 * the class size, so every object is aligned to its class (16-byte objects
 * to 16, 512-byte objects to 512), which is what heap_alloc_aligned uses.
 * A 256-bit bitmap in the header records which slots are in use.
 *
 * Large requests get a block of 2^k pages from the page source, with a
 * 32-byte struct heap_large at the block start; the data follows at an
 * offset (32, or the requested alignment up to 2048) kept in the header.
 *
 * Because a result always lies in the first page of its slab or block,
 * heap_free() finds the header by rounding the pointer down to a page and
 * tells slabs from large blocks by the magic there.  It then checks the
 * owner, the header's own consistency, the slot boundary and the bitmap
 * (slabs) or the data offset and a check word (large blocks).  Any mismatch
 * is -EINVAL with a message in h->err and nothing changed.  A double free
 * of a slab object is always caught by the bitmap while the slab lives;
 * headers of pages given back to the page source are stamped dead first, so
 * a later free through them is caught as long as nobody reused the page.
 *
 * Slab lists (per class): slabs with some free and some used slots are on
 * the doubly linked `partial` list; full slabs are on no list; a slab that
 * becomes empty is kept in `cached` (one per class) or returned at once.
 *
 * No locking: the caller serialises all calls on one heap.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <vmkernel/mem.h>

#define SLAB_MAGIC	0x42414c53u	/* "SLAB" */
#define LARGE_MAGIC	0x4752414cu	/* "LARG" */
#define DEAD_MAGIC	0x44414544u	/* "DEAD" */
#define LARGE_SALT	0x6c61726765686561ULL
#define SLAB_WORDS	4		/* 256 slot bits */
#define PTR_ALIGN	16

struct heap_slab {
	uint32_t magic;
	uint16_t cls;		/* size class index */
	uint16_t nfree;
	uint16_t nobj;
	uint16_t first;		/* offset of slot 0 in the page */
	uint8_t listed;		/* on h->partial[cls] */
	uint8_t pad[3];
	struct heap *owner;
	struct heap_slab *next, *prev;
	uint64_t used[SLAB_WORDS];
};
_Static_assert(sizeof(struct heap_slab) <= HEAP_MIN_CLASS * 5, "slab header too big");

struct heap_large {
	uint32_t magic;
	uint16_t order;
	uint16_t offset;	/* data starts at block + offset */
	struct heap *owner;
	uint64_t size;		/* usable bytes */
	uint64_t check;
};
_Static_assert(sizeof(struct heap_large) == 32, "large header is 32 bytes");

#define LARGE_MAX	((PAGE_SIZE << BUDDY_MAX_ORDER) - PAGE_SIZE)

static size_t class_size(unsigned cls)
{
	return (size_t)HEAP_MIN_CLASS << cls;
}

static unsigned class_of(size_t size)
{
	unsigned cls = 0;

	while (class_size(cls) < size)
		cls++;
	return cls;
}

int heap_init(struct heap *h, const struct heap_page_ops *ops)
{
	memset(h, 0, sizeof(*h));
	if (!ops || !ops->alloc_pages || !ops->free_pages) {
		snprintf(h->err, sizeof(h->err), "heap_init: page ops missing");
		return -EINVAL;
	}
	h->ops = *ops;
	return 0;
}

/* ------------------------------------------------------------------ slabs */

static void slab_link(struct heap *h, struct heap_slab *s)
{
	s->prev = NULL;
	s->next = h->partial[s->cls];
	if (s->next)
		s->next->prev = s;
	h->partial[s->cls] = s;
	s->listed = 1;
}

static void slab_unlink(struct heap *h, struct heap_slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->partial[s->cls] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
	s->listed = 0;
}

static struct heap_slab *slab_new(struct heap *h, unsigned cls)
{
	struct heap_slab *s = h->ops.alloc_pages(h->ops.ctx, 0);
	size_t size = class_size(cls), first;

	if (!s)
		return NULL;
	first = (sizeof(*s) + size - 1) / size * size;
	memset(s, 0, sizeof(*s));
	s->magic = SLAB_MAGIC;
	s->cls = cls;
	s->first = first;
	s->nobj = (PAGE_SIZE - first) / size;
	s->nfree = s->nobj;
	s->owner = h;
	h->stats.pages_held++;
	return s;
}

static void slab_release(struct heap *h, struct heap_slab *s)
{
	s->magic = DEAD_MAGIC;
	h->stats.pages_held--;
	h->ops.free_pages(h->ops.ctx, s, 0);
}

static unsigned slab_take_slot(struct heap_slab *s)
{
	unsigned w;

	for (w = 0; w < SLAB_WORDS; w++) {
		unsigned bit;

		if (s->used[w] == ~0ULL)
			continue;
		bit = __builtin_ctzll(~s->used[w]);
		s->used[w] |= 1ULL << bit;
		return w * 64 + bit;
	}
	return 0;	/* not reached: caller checked nfree */
}

static void *slab_alloc(struct heap *h, unsigned cls)
{
	struct heap_slab *s = h->partial[cls];
	unsigned slot;

	if (!s) {
		s = h->cached[cls];
		h->cached[cls] = NULL;
	}
	if (!s)
		s = slab_new(h, cls);
	if (!s) {
		snprintf(h->err, sizeof(h->err), "heap_alloc: page source empty (class %zu)",
			 class_size(cls));
		return NULL;
	}
	slot = slab_take_slot(s);
	s->nfree--;
	if (s->nfree && !s->listed)
		slab_link(h, s);
	else if (!s->nfree && s->listed)
		slab_unlink(h, s);
	h->stats.bytes_in_use += class_size(cls);
	return (char *)s + s->first + (size_t)slot * class_size(cls);
}

static void slab_free_slot(struct heap *h, struct heap_slab *s, unsigned slot)
{
	s->used[slot / 64] &= ~(1ULL << (slot % 64));
	s->nfree++;
	h->stats.bytes_in_use -= class_size(s->cls);
	if (s->nfree < s->nobj) {
		if (!s->listed)
			slab_link(h, s);
		return;
	}
	if (s->listed)
		slab_unlink(h, s);
	if (!h->cached[s->cls])
		h->cached[s->cls] = s;
	else
		slab_release(h, s);
}

/* ------------------------------------------------------------ large blocks */

static uint64_t large_check(const struct heap_large *l)
{
	return (uint64_t)(uintptr_t)l ^ ((uint64_t)l->order << 32) ^ l->offset ^ l->size ^
	       LARGE_SALT;
}

static void *large_alloc(struct heap *h, size_t size, size_t offset)
{
	unsigned order = 0;
	struct heap_large *l;

	if (size > LARGE_MAX) {
		snprintf(h->err, sizeof(h->err), "heap_alloc: %zu bytes is too large", size);
		return NULL;
	}
	while ((PAGE_SIZE << order) < size + offset)
		order++;
	l = h->ops.alloc_pages(h->ops.ctx, order);
	if (!l) {
		snprintf(h->err, sizeof(h->err), "heap_alloc: page source has no order-%u block",
			 order);
		return NULL;
	}
	l->magic = LARGE_MAGIC;
	l->order = order;
	l->offset = offset;
	l->owner = h;
	l->size = (PAGE_SIZE << order) - offset;
	l->check = large_check(l);
	h->stats.pages_held += 1ULL << order;
	h->stats.bytes_in_use += l->size;
	return (char *)l + offset;
}

static void large_free(struct heap *h, struct heap_large *l)
{
	h->stats.pages_held -= 1ULL << l->order;
	h->stats.bytes_in_use -= l->size;
	l->magic = DEAD_MAGIC;
	l->check = 0;
	h->ops.free_pages(h->ops.ctx, l, l->order);
}

/* ------------------------------------------------------------ public API */

static void *account(struct heap *h, void *p)
{
	if (p) {
		h->stats.live_allocs++;
		h->stats.total_allocs++;
	} else {
		h->stats.failed_allocs++;
	}
	return p;
}

void *heap_alloc(struct heap *h, size_t size)
{
	if (size == 0)
		return NULL;
	if (size <= HEAP_MAX_SMALL)
		return account(h, slab_alloc(h, class_of(size)));
	return account(h, large_alloc(h, size, sizeof(struct heap_large)));
}

void *heap_zalloc(struct heap *h, size_t size)
{
	void *p = heap_alloc(h, size);

	if (p)
		memset(p, 0, size);
	return p;
}

void *heap_alloc_aligned(struct heap *h, size_t size, size_t align)
{
	if (align == 0 || (align & (align - 1)) || align > HEAP_MAX_SMALL) {
		snprintf(h->err, sizeof(h->err), "heap_alloc_aligned: bad alignment %zu", align);
		h->stats.failed_allocs++;
		return NULL;
	}
	if (size == 0)
		return NULL;
	if (align <= PTR_ALIGN)
		return heap_alloc(h, size);
	if (size <= HEAP_MAX_SMALL)
		return account(h, slab_alloc(h, class_of(size > align ? size : align)));
	if (align < sizeof(struct heap_large))
		align = sizeof(struct heap_large);
	return account(h, large_alloc(h, size, align));
}

enum obj_kind { OBJ_SLAB, OBJ_LARGE };

struct obj_ref {
	enum obj_kind kind;
	struct heap_slab *slab;
	struct heap_large *large;
	unsigned slot;
};

static int reject(struct heap *h, const char *fn, const void *p, const char *why)
{
	snprintf(h->err, sizeof(h->err), "%s: %p: %s", fn, p, why);
	return -EINVAL;
}

static int lookup_slab(struct heap *h, const char *fn, void *p, struct heap_slab *s,
		       struct obj_ref *ref)
{
	size_t off = (uintptr_t)p - (uintptr_t)s, size;
	unsigned slot;

	if (s->owner != h)
		return reject(h, fn, p, "slab belongs to another heap");
	if (s->cls >= HEAP_NR_CLASSES)
		return reject(h, fn, p, "slab header corrupt (class)");
	size = class_size(s->cls);
	if (s->first != (sizeof(*s) + size - 1) / size * size ||
	    s->nobj != (PAGE_SIZE - s->first) / size || s->nfree > s->nobj)
		return reject(h, fn, p, "slab header corrupt (layout)");
	if (off < s->first || (off - s->first) % size)
		return reject(h, fn, p, "not the start of a slab object");
	slot = (off - s->first) / size;
	if (slot >= s->nobj)
		return reject(h, fn, p, "past the last slab object");
	if (!(s->used[slot / 64] & (1ULL << (slot % 64))))
		return reject(h, fn, p, "double free (slab slot is free)");
	ref->kind = OBJ_SLAB;
	ref->slab = s;
	ref->slot = slot;
	return 0;
}

static int lookup_large(struct heap *h, const char *fn, void *p, struct heap_large *l,
			struct obj_ref *ref)
{
	if (l->magic == DEAD_MAGIC)
		return reject(h, fn, p, "double free (page already returned)");
	if (l->magic != LARGE_MAGIC)
		return reject(h, fn, p, "no heap header at page start");
	if (l->owner != h)
		return reject(h, fn, p, "block belongs to another heap");
	if (l->check != large_check(l) || l->order > BUDDY_MAX_ORDER)
		return reject(h, fn, p, "large header corrupt");
	if ((uintptr_t)p - (uintptr_t)l != l->offset)
		return reject(h, fn, p, "not the start of a large allocation");
	ref->kind = OBJ_LARGE;
	ref->large = l;
	return 0;
}

static int lookup(struct heap *h, const char *fn, void *p, struct obj_ref *ref)
{
	void *page;

	if ((uintptr_t)p % PTR_ALIGN)
		return reject(h, fn, p, "not 16-byte aligned");
	page = (void *)((uintptr_t)p & PAGE_MASK);
	if (*(uint32_t *)page == SLAB_MAGIC)
		return lookup_slab(h, fn, p, page, ref);
	return lookup_large(h, fn, p, page, ref);
}

int heap_free(struct heap *h, void *p)
{
	struct obj_ref ref;
	int ret;

	if (!p)
		return 0;
	ret = lookup(h, "heap_free", p, &ref);
	if (ret)
		return ret;
	if (ref.kind == OBJ_SLAB)
		slab_free_slot(h, ref.slab, ref.slot);
	else
		large_free(h, ref.large);
	h->stats.live_allocs--;
	return 0;
}

size_t heap_usable_size(struct heap *h, void *p)
{
	struct obj_ref ref;

	if (!p || lookup(h, "heap_usable_size", p, &ref))
		return 0;
	if (ref.kind == OBJ_SLAB)
		return class_size(ref.slab->cls);
	return ref.large->size;
}

void heap_get_stats(const struct heap *h, struct heap_stats *out)
{
	*out = h->stats;
}

void heap_trim(struct heap *h)
{
	unsigned c;

	for (c = 0; c < HEAP_NR_CLASSES; c++) {
		if (h->cached[c])
			slab_release(h, h->cached[c]);
		h->cached[c] = NULL;
	}
}

/* ---------------------------------------------------------------- checks */

static unsigned count_bits(uint64_t w)
{
	unsigned n = 0;

	for (; w; w &= w - 1)
		n++;
	return n;
}

static int check_slab(const struct heap *h, const struct heap_slab *s, unsigned cls,
		      char *err, size_t errlen)
{
	unsigned used = 0, w;

	if (s->magic != SLAB_MAGIC || s->owner != h || s->cls != cls) {
		snprintf(err, errlen, "class %u: slab %p bad magic/owner/class", cls,
			 (const void *)s);
		return -EIO;
	}
	for (w = 0; w < SLAB_WORDS; w++)
		used += count_bits(s->used[w]);
	if (s->nfree > s->nobj || used != (unsigned)(s->nobj - s->nfree)) {
		snprintf(err, errlen, "class %u: slab %p nfree %u but %u of %u slots used",
			 cls, (const void *)s, s->nfree, used, s->nobj);
		return -EIO;
	}
	return 0;
}

static int check_class(const struct heap *h, unsigned cls, char *err, size_t errlen)
{
	const struct heap_slab *s, *prev = NULL;
	uint64_t n = 0;

	for (s = h->partial[cls]; s; prev = s, s = s->next) {
		if (++n > h->stats.pages_held) {
			snprintf(err, errlen, "class %u: partial list loops", cls);
			return -EIO;
		}
		if (check_slab(h, s, cls, err, errlen))
			return -EIO;
		if (!s->listed || s->prev != prev || s->nfree == 0 || s->nfree == s->nobj) {
			snprintf(err, errlen, "class %u: slab %p wrongly on partial list (nfree %u)",
				 cls, (const void *)s, s->nfree);
			return -EIO;
		}
	}
	s = h->cached[cls];
	if (s && (check_slab(h, s, cls, err, errlen) || s->listed || s->nfree != s->nobj)) {
		snprintf(err, errlen, "class %u: cached slab %p not empty or listed", cls,
			 (const void *)s);
		return -EIO;
	}
	return 0;
}

int heap_check(const struct heap *h, char *err, size_t errlen)
{
	unsigned c;

	for (c = 0; c < HEAP_NR_CLASSES; c++)
		if (check_class(h, c, err, errlen))
			return -EIO;
	if (errlen)
		err[0] = '\0';
	return 0;
}
