/*
 * The guest page walker with permission checks (see <vmm/guest_walk.h>).
 * Pure logic, built for the host too (tests/unit/test_gwalk.c).
 *
 * One loop serves the three paging modes; a small table per mode gives the
 * entry width, how many index bits each level takes and where large pages
 * may appear. Rights are collected over every level as the CPU does
 * (SDM 3A 4.6): a page is user-accessible only if U/S is set at every
 * level, writable only if R/W is set at every level, and execute-disabled
 * if XD is set at any level. PAE's page-directory-pointer entries carry no
 * rights (those bits are reserved there).
 *
 * Paging-structure entries are read through the caller's read(), so a
 * table outside guest RAM is reported (-EIO), never read from the host.
 * The accessed and dirty bits are set only when the access succeeds.
 */
#include <errno.h>
#include <stddef.h>
#include <vmkernel/cpu_hw.h>
#include <vmm/guest_walk.h>

#define X86_CR4_PSE	(1ULL << 4)
#define X86_CR4_SMEP	(1ULL << 20)
#define X86_CR4_SMAP	(1ULL << 21)
#define EFER_LMA	(1ULL << 10)

struct mode {
	unsigned levels;
	unsigned entry_size;	/* 4 or 8 bytes */
	unsigned top_shift;	/* linear-address bit where the top level's index starts */
	unsigned top_bits;	/* index bits of the top level (2 for PAE, else 9 or 10) */
	unsigned bits;		/* index bits of the other levels */
};

static const struct mode mode32 = { 2, 4, 22, 10, 10 };
static const struct mode mode_pae = { 3, 8, 30, 2, 9 };
static const struct mode mode64 = { 4, 8, 39, 9, 9 };

/* The walk so far. */
struct walk {
	const struct gw_regs *r;
	const struct mode *m;
	bool nx;		/* EFER.NXE: bit 63 means execute-disable (wide entries) */
	bool user, write, exec;	/* rights collected over the levels */
	uint64_t entries[4];	/* gpa of each entry visited, for the A/D bits */
	unsigned visited;
};

/* Bits an entry at this level must have clear; a set one is a reserved-bit #PF. */
static uint64_t reserved_bits(const struct walk *w, unsigned level, uint64_t e)
{
	uint64_t rsvd = 0;

	if (w->m->entry_size == 4)
		/* 32-bit paging: a 4 MiB page has bit 21 reserved (PSE-36 uses 20:13). */
		return level == 2 && (e & PTE_PS) && (w->r->cr4 & X86_CR4_PSE) ? 1ULL << 21 : 0;
	if (w->r->maxphyaddr < 52)
		rsvd |= ((1ULL << 52) - 1) & ~((1ULL << w->r->maxphyaddr) - 1);
	if (!w->nx)
		rsvd |= PTE_NX;
	if (w->m->levels == 3 && level == 3)
		return rsvd | PTE_NX | 0x1e6ULL;	/* PAE PDPTE: bits 2:1, 8:5 and 63 */
	if (level == 4)
		rsvd |= PTE_PS;
	else if (level == 3 && (e & PTE_PS))
		rsvd |= 0x3fffe000ULL;			/* 1 GiB page: bits 29:13 */
	else if (level == 2 && (e & PTE_PS))
		rsvd |= 0x1fe000ULL;			/* 2 MiB page: bits 20:13 */
	return rsvd;
}

static bool is_large(const struct walk *w, unsigned level, uint64_t e)
{
	if (!(e & PTE_PS))
		return false;
	if (w->m->entry_size == 4)
		return level == 2 && (w->r->cr4 & X86_CR4_PSE);
	return level == 2 || (level == 3 && w->m->levels == 4);
}

/* The page's base address for a leaf at this level (shift = bits below the index). */
static uint64_t leaf_base(const struct walk *w, uint64_t e, unsigned shift)
{
	uint64_t mask = (1ULL << shift) - 1;

	if (w->m->entry_size == 8)
		return e & PTE_ADDR_MASK & ~mask;
	if (shift == 22)	/* PSE-36: bits 20:13 hold address bits 39:32 */
		return ((e & 0xffc00000ULL) | (((e >> 13) & 0xffULL) << 32));
	return e & 0xfffff000ULL;
}

/* Would the CPU allow this access to a page with the collected rights? */
static bool allowed(const struct walk *w, unsigned access)
{
	const struct gw_regs *r = w->r;
	bool cpl3 = r->cpl == 3;
	bool smap_blocks = w->user && (r->cr4 & X86_CR4_SMAP) && !r->ac;

	if (access == GW_FETCH) {
		if (w->nx && !w->exec)
			return false;
		return cpl3 ? w->user : !(w->user && (r->cr4 & X86_CR4_SMEP));
	}
	if (cpl3)
		return w->user && (access != GW_WRITE || w->write);
	if (smap_blocks)
		return false;
	return access != GW_WRITE || w->write || !(r->cr0 & X86_CR0_WP);
}

static uint32_t pf_error(const struct walk *w, unsigned access, bool present, bool rsvd)
{
	uint32_t err = (present ? PF_ERR_P : 0) | (rsvd ? PF_ERR_RSVD : 0);

	if (access == GW_WRITE)
		err |= PF_ERR_W;
	if (w->r->cpl == 3)
		err |= PF_ERR_U;
	/* I/D is reported only where fetches can fault on their own (NX or SMEP). */
	if (access == GW_FETCH && (w->nx || (w->r->cr4 & X86_CR4_SMEP)))
		err |= PF_ERR_I;
	return err;
}

/* Collect one level's rights; PAE PDPTEs have none. */
static void collect(struct walk *w, unsigned level, uint64_t e)
{
	if (w->m->levels == 3 && level == 3)
		return;
	w->user = w->user && (e & PTE_U);
	w->write = w->write && (e & PTE_W);
	if (w->nx && (e & PTE_NX))
		w->exec = false;
}

/* The accessed bits of every entry used (not PAE PDPTEs), the dirty bit of the leaf. */
static void set_ad(const struct walk *w, const struct gw_mem *m, unsigned access)
{
	if (!m->set_bits)
		return;
	for (unsigned i = 0; i < w->visited; i++) {
		bool leaf = i + 1 == w->visited;

		if (w->m->levels == 3 && i == 0)
			continue;
		m->set_bits(m->ctx, w->entries[i],
			    (uint32_t)PTE_A | (leaf && access == GW_WRITE ? (uint32_t)PTE_D : 0));
	}
}

static unsigned index_bits(const struct mode *m, unsigned level)
{
	return level == m->levels ? m->top_bits : m->bits;
}

static int walk_tables(struct walk *w, const struct gw_mem *mem, uint64_t la, unsigned access,
		       struct gw_result *out)
{
	const struct mode *m = w->m;
	uint64_t table = m->entry_size == 4 ? w->r->cr3 & 0xfffff000ULL :
			 m->levels == 3 ? w->r->cr3 & 0xffffffe0ULL : w->r->cr3 & PTE_ADDR_MASK;
	unsigned shift = m->top_shift;

	for (unsigned level = m->levels; level >= 1; level--) {
		uint64_t idx = (la >> shift) & ((1ULL << index_bits(m, level)) - 1);
		uint64_t at = table + idx * m->entry_size, e = 0;

		if (mem->read(mem->ctx, at, &e, m->entry_size)) {
			out->bad_gpa = at;
			return -EIO;
		}
		w->entries[w->visited++] = at;
		if (!(e & PTE_P)) {
			out->pf_error = pf_error(w, access, false, false);
			return -EFAULT;
		}
		if (e & reserved_bits(w, level, e)) {
			out->pf_error = pf_error(w, access, true, true);
			return -EFAULT;
		}
		collect(w, level, e);
		if (level == 1 || is_large(w, level, e)) {
			if (!allowed(w, access)) {
				out->pf_error = pf_error(w, access, true, false);
				return -EFAULT;
			}
			set_ad(w, mem, access);
			out->gpa = leaf_base(w, e, shift) | (la & ((1ULL << shift) - 1));
			return 0;
		}
		table = e & (m->entry_size == 4 ? 0xfffff000ULL : PTE_ADDR_MASK);
		shift -= m->bits;
	}
	return -EINVAL;	/* not reached: level 1 is always a leaf */
}

static bool canonical(uint64_t la)
{
	uint64_t top = la >> 47;

	return top == 0 || top == 0x1ffff;
}

int gwalk(const struct gw_regs *r, const struct gw_mem *m, uint64_t la, unsigned access,
	  struct gw_result *out)
{
	struct walk w = { .r = r, .user = true, .write = true, .exec = true };

	if (!r || !m || !m->read || !out || access > GW_FETCH)
		return -EINVAL;
	*out = (struct gw_result){ 0 };
	if (!(r->cr0 & X86_CR0_PG)) {
		out->gpa = la & 0xffffffffULL;
		return 0;
	}
	if (r->efer & EFER_LMA) {
		w.m = &mode64;
		if (!canonical(la))
			return -EINVAL;
	} else {
		w.m = (r->cr4 & X86_CR4_PAE) ? &mode_pae : &mode32;
		la &= 0xffffffffULL;
	}
	w.nx = w.m->entry_size == 8 && (r->efer & EFER_NXE);
	out->levels = w.m->levels;
	return walk_tables(&w, m, la, access, out);
}
