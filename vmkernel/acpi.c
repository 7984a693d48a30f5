/*
 * ACPI static table parser.
 *
 * Firmware tables are input from outside our trust boundary: real BIOSes ship
 * wrong checksums, truncated MADTs and pointers into nowhere. This file turns
 * them into a plain struct acpi_info under a few invariants:
 *
 *  - Physical memory is only reached through ops->map(phys, len). A table is
 *    mapped twice: first its 36-byte header, then, once the header's length is
 *    sane (36 <= length <= ACPI_MAX_TABLE_LEN), the whole table. The length is
 *    read once and that copy is used from then on.
 *  - A table is used only if its checksum is right, and a record inside it
 *    (MADT entry, MCFG allocation, FADT field) only if it lies wholly inside
 *    the table's length. Records are copied with memcpy into local packed
 *    structs, so nothing is read through an unaligned or out-of-range pointer.
 *  - Every loop is bounded by a checked length: root entries by the root
 *    table's length, MADT entries advance by at least 2 bytes (an entry with
 *    length 0 or 1 ends the walk with a warning).
 *  - Only a bad RSDP or an unusable root table (XSDT, then RSDT) is fatal
 *    (-EINVAL and out->err). Any other problem becomes a warning naming the
 *    table signature, its physical address and what is wrong, and the table
 *    or record is skipped. For each table kind we parse, the first valid copy
 *    wins and later ones are reported as duplicates.
 *
 * There is no global state: everything is written to the caller's acpi_info.
 */
#include <vmkernel/acpi.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define HDR_LEN		((uint32_t)sizeof(struct acpi_sdt_header))
#define WHY_LEN		80

/* A table whose header was read; p is set once the whole table is mapped. */
struct acpi_table {
	const uint8_t *p;
	uint64_t phys;
	uint32_t len;
	uint8_t rev;
	char sig[5];
};

typedef unsigned long long ull;

static void __attribute__((format(printf, 2, 3)))
acpi_warn(struct acpi_info *out, const char *fmt, ...)
{
	va_list ap;

	if (out->warn_count < ACPI_MAX_WARNINGS) {
		va_start(ap, fmt);
		vsnprintf(out->warnings[out->warn_count], ACPI_WARN_LEN, fmt, ap);
		va_end(ap);
	}
	if (out->warn_count < UINT32_MAX)
		out->warn_count++;
}

static int __attribute__((format(printf, 2, 3)))
acpi_fail(struct acpi_info *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->err, ACPI_ERR_LEN, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static uint8_t byte_sum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return sum;
}

/* Copy n identifier bytes, replacing anything unprintable so logs stay sane. */
static void id_copy(char *dst, const char *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = src[i];

		dst[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	dst[n] = '\0';
}

/*
 * Map and validate the table at phys. Returns 0, or a negative errno with the
 * problem described in why. t->sig is set as soon as the header was readable
 * (t->sig[0] == '\0' otherwise).
 */
static int table_load(const struct acpi_mem_ops *ops, uint64_t phys, struct acpi_table *t,
		      char *why, size_t why_len)
{
	struct acpi_sdt_header h;
	const uint8_t *p;
	uint8_t sum;

	memset(t, 0, sizeof(*t));
	t->phys = phys;
	if (phys == 0) {
		snprintf(why, why_len, "null table address");
		return -EFAULT;
	}
	p = ops->map(ops->ctx, phys, sizeof(h));
	if (!p) {
		snprintf(why, why_len, "header not in accessible memory");
		return -EFAULT;
	}
	memcpy(&h, p, sizeof(h));
	id_copy(t->sig, h.signature, 4);
	t->len = h.length;
	t->rev = h.revision;
	if (h.length < HDR_LEN) {
		snprintf(why, why_len, "length %u shorter than the 36-byte header", h.length);
		return -EINVAL;
	}
	if (h.length > ACPI_MAX_TABLE_LEN) {
		snprintf(why, why_len, "absurd length %u (0x%x)", h.length, h.length);
		return -E2BIG;
	}
	p = ops->map(ops->ctx, phys, h.length);
	if (!p) {
		snprintf(why, why_len, "length %u runs past accessible memory", h.length);
		return -EFAULT;
	}
	sum = byte_sum(p, h.length);
	if (sum) {
		snprintf(why, why_len, "checksum mismatch (byte sum 0x%02x)", sum);
		return -EIO;
	}
	t->p = p;
	return 0;
}

/* ---- RSDP and root table ---- */

static int rsdp_check(const uint8_t *rsdp, size_t len, struct acpi_info *out,
		      struct acpi_rsdp *r)
{
	uint8_t sum;

	memset(r, 0, sizeof(*r));
	if (len < ACPI_RSDP_V1_LEN)
		return acpi_fail(out, "RSDP: only %zu bytes supplied, need at least %d", len,
				 ACPI_RSDP_V1_LEN);
	memcpy(r, rsdp, len < sizeof(*r) ? len : sizeof(*r));
	if (memcmp(r->signature, ACPI_RSDP_SIG, 8) != 0)
		return acpi_fail(out, "RSDP: bad signature (expected \"RSD PTR \")");
	sum = byte_sum(rsdp, ACPI_RSDP_V1_LEN);
	if (sum)
		return acpi_fail(out, "RSDP: checksum mismatch over the first 20 bytes "
				 "(sum 0x%02x)", sum);
	out->rsdp_revision = r->revision;
	id_copy(out->oem_id, r->oem_id, 6);

	if (r->revision < 2) {
		/* ACPI 1.0: the bytes past 20 are not part of the structure */
		r->length = 0;
		r->xsdt_address = 0;
	} else if (len < ACPI_RSDP_V2_LEN) {
		acpi_warn(out, "RSDP: revision %u but only %zu bytes supplied; XSDT ignored",
			  r->revision, len);
		r->xsdt_address = 0;
	} else {
		if (r->length < ACPI_RSDP_V2_LEN)
			return acpi_fail(out, "RSDP: revision %u but length field %u < %d",
					 r->revision, r->length, ACPI_RSDP_V2_LEN);
		if (r->length > len)
			return acpi_fail(out, "RSDP: length field %u exceeds the %zu bytes "
					 "supplied", r->length, len);
		sum = byte_sum(rsdp, r->length);
		if (sum)
			return acpi_fail(out, "RSDP: extended checksum mismatch over %u bytes "
					 "(sum 0x%02x)", r->length, sum);
	}
	if (!r->rsdt_address && !r->xsdt_address)
		return acpi_fail(out, "RSDP: neither an RSDT nor an XSDT address is set");
	return 0;
}

static int root_try(const struct acpi_mem_ops *ops, uint64_t phys, const char *sig,
		    struct acpi_table *root, char *why, size_t why_len)
{
	int rc = table_load(ops, phys, root, why, why_len);

	if (rc)
		return rc;
	if (memcmp(root->sig, sig, 4) != 0) {
		snprintf(why, why_len, "signature \"%s\" is not \"%s\"", root->sig, sig);
		return -EINVAL;
	}
	return 0;
}

/* Prefer the XSDT; fall back to the RSDT with a warning. */
static int root_load(const struct acpi_mem_ops *ops, struct acpi_info *out,
		     const struct acpi_rsdp *r, struct acpi_table *root)
{
	char why[WHY_LEN];

	if (r->xsdt_address) {
		if (root_try(ops, r->xsdt_address, "XSDT", root, why, sizeof(why)) == 0) {
			out->xsdt_used = true;
			out->root_phys = r->xsdt_address;
			return 0;
		}
		if (!r->rsdt_address)
			return acpi_fail(out, "XSDT @0x%llx: %s; no RSDT to fall back to",
					 (ull)r->xsdt_address, why);
		acpi_warn(out, "XSDT @0x%llx: %s; falling back to the RSDT",
			  (ull)r->xsdt_address, why);
	}
	if (root_try(ops, r->rsdt_address, "RSDT", root, why, sizeof(why)) != 0)
		return acpi_fail(out, "RSDT @0x%llx: %s", (ull)r->rsdt_address, why);
	out->root_phys = r->rsdt_address;
	return 0;
}

/* ---- MADT ---- */

static void cpu_add(struct acpi_info *out, const struct acpi_table *t, uint32_t off,
		    uint32_t apic_id, uint32_t uid, uint32_t flags, bool x2apic)
{
	struct acpi_cpu *c;
	uint32_t i;

	for (i = 0; i < out->cpu_count; i++) {
		if (out->cpus[i].apic_id == apic_id) {
			acpi_warn(out, "APIC @0x%llx: entry at offset %u repeats APIC ID %u; "
				  "skipped", (ull)t->phys, off, apic_id);
			return;
		}
	}
	if (out->cpu_count >= ACPI_MAX_CPUS) {
		if (out->cpus_dropped++ == 0)
			acpi_warn(out, "APIC @0x%llx: more than %d CPUs; APIC ID %u at offset "
				  "%u and later ones dropped", (ull)t->phys, ACPI_MAX_CPUS, apic_id,
				  off);
		return;
	}
	c = &out->cpus[out->cpu_count++];
	c->apic_id = apic_id;
	c->acpi_uid = uid;
	c->x2apic = x2apic;
	c->enabled = flags & ACPI_MADT_CPU_ENABLED;
	c->online_capable = !c->enabled && (flags & ACPI_MADT_CPU_ONLINE_CAPABLE);
	if (c->enabled)
		out->cpu_enabled_count++;
}

static void madt_lapic(struct acpi_info *out, const struct acpi_table *t, uint32_t off,
		       const uint8_t *e)
{
	struct acpi_madt_lapic l;

	memcpy(&l, e, sizeof(l));
	if (l.apic_id == 0xFF) {
		/* 0xFF is the xAPIC broadcast ID: never a CPU we could start */
		if (l.flags & (ACPI_MADT_CPU_ENABLED | ACPI_MADT_CPU_ONLINE_CAPABLE))
			acpi_warn(out, "APIC @0x%llx: local APIC entry at offset %u has broadcast "
				  "ID 0xFF; skipped", (ull)t->phys, off);
		return;
	}
	cpu_add(out, t, off, l.apic_id, l.acpi_uid, l.flags, false);
}

static void madt_x2apic(struct acpi_info *out, const struct acpi_table *t, uint32_t off,
			const uint8_t *e)
{
	struct acpi_madt_x2apic x;

	memcpy(&x, e, sizeof(x));
	if (x.x2apic_id == 0xFFFFFFFFu) {
		acpi_warn(out, "APIC @0x%llx: x2APIC entry at offset %u has ID 0xffffffff; skipped",
			  (ull)t->phys, off);
		return;
	}
	cpu_add(out, t, off, x.x2apic_id, x.acpi_uid, x.flags, true);
}

static void madt_ioapic(struct acpi_info *out, const struct acpi_table *t, uint32_t off,
			const uint8_t *e)
{
	struct acpi_madt_ioapic io;
	struct acpi_ioapic *d;

	memcpy(&io, e, sizeof(io));
	if (out->ioapic_count >= ACPI_MAX_IOAPICS) {
		acpi_warn(out, "APIC @0x%llx: more than %d IOAPICs; entry at offset %u dropped",
			  (ull)t->phys, ACPI_MAX_IOAPICS, off);
		return;
	}
	d = &out->ioapics[out->ioapic_count++];
	d->id = io.id;
	d->phys = io.address;
	d->gsi_base = io.gsi_base;
}

static void madt_iso(struct acpi_info *out, const struct acpi_table *t, uint32_t off,
		     const uint8_t *e)
{
	struct acpi_madt_iso iso;
	struct acpi_irq_override *d;

	memcpy(&iso, e, sizeof(iso));
	if (out->iso_count >= ACPI_MAX_ISOS) {
		acpi_warn(out, "APIC @0x%llx: more than %d interrupt overrides; entry at offset %u "
			  "dropped", (ull)t->phys, ACPI_MAX_ISOS, off);
		return;
	}
	d = &out->isos[out->iso_count++];
	d->bus = iso.bus;
	d->source_irq = iso.source;
	d->gsi = iso.gsi;
	d->flags = iso.flags;
}

static void nmi_add(struct acpi_info *out, const struct acpi_table *t, uint32_t off,
		    uint32_t uid, uint16_t flags, uint8_t lint, bool x2apic)
{
	struct acpi_lapic_nmi *d;

	if (out->nmi_count >= ACPI_MAX_NMIS) {
		acpi_warn(out, "APIC @0x%llx: more than %d local APIC NMI entries; entry at offset "
			  "%u dropped", (ull)t->phys, ACPI_MAX_NMIS, off);
		return;
	}
	d = &out->nmis[out->nmi_count++];
	d->acpi_uid = uid;
	d->flags = flags;
	d->lint = lint;
	d->x2apic = x2apic;
}

static void madt_lapic_nmi(struct acpi_info *out, const struct acpi_table *t, uint32_t off,
			   const uint8_t *e)
{
	struct acpi_madt_lapic_nmi n;

	memcpy(&n, e, sizeof(n));
	nmi_add(out, t, off, n.acpi_uid == 0xFF ? ACPI_UID_ALL : n.acpi_uid, n.flags, n.lint,
		false);
}

static void madt_x2apic_nmi(struct acpi_info *out, const struct acpi_table *t, uint32_t off,
			    const uint8_t *e)
{
	struct acpi_madt_x2apic_nmi n;

	memcpy(&n, e, sizeof(n));
	nmi_add(out, t, off, n.acpi_uid, n.flags, n.lint, true);
}

static void madt_lapic_override(struct acpi_info *out, const struct acpi_table *t, uint32_t off,
				const uint8_t *e)
{
	struct acpi_madt_lapic_override o;

	memcpy(&o, e, sizeof(o));
	if (!o.address) {
		acpi_warn(out, "APIC @0x%llx: local APIC address override at offset %u is 0; "
			  "ignored", (ull)t->phys, off);
		return;
	}
	out->lapic_phys = o.address;
}

typedef void (*madt_entry_fn)(struct acpi_info *out, const struct acpi_table *t, uint32_t off,
			      const uint8_t *e);

static const struct {
	uint8_t min_len;
	madt_entry_fn fn;
	const char *name;
} madt_types[] = {
	[ACPI_MADT_LAPIC] = { sizeof(struct acpi_madt_lapic), madt_lapic, "local APIC" },
	[ACPI_MADT_IOAPIC] = { sizeof(struct acpi_madt_ioapic), madt_ioapic, "IOAPIC" },
	[ACPI_MADT_ISO] = { sizeof(struct acpi_madt_iso), madt_iso, "interrupt override" },
	[ACPI_MADT_LAPIC_NMI] = { sizeof(struct acpi_madt_lapic_nmi), madt_lapic_nmi,
				  "local APIC NMI" },
	[ACPI_MADT_LAPIC_OVERRIDE] = { sizeof(struct acpi_madt_lapic_override),
				       madt_lapic_override, "local APIC address override" },
	[ACPI_MADT_X2APIC] = { sizeof(struct acpi_madt_x2apic), madt_x2apic, "x2APIC" },
	[ACPI_MADT_X2APIC_NMI] = { sizeof(struct acpi_madt_x2apic_nmi), madt_x2apic_nmi,
				   "x2APIC NMI" },
};

static void madt_entry(struct acpi_info *out, const struct acpi_table *t, uint32_t off,
		       uint8_t type, uint8_t len)
{
	if (type >= ARRAY_SIZE(madt_types) || !madt_types[type].fn)
		return;		/* a type we do not use (SAPIC, GIC, ...) */
	if (len < madt_types[type].min_len) {
		acpi_warn(out, "APIC @0x%llx: %s entry at offset %u has length %u < %u; skipped",
			  (ull)t->phys, madt_types[type].name, off, len,
			  madt_types[type].min_len);
		return;
	}
	madt_types[type].fn(out, t, off, t->p + off);
}

static void parse_madt(struct acpi_info *out, const struct acpi_table *t)
{
	struct acpi_madt m;
	uint32_t off = sizeof(m);

	memcpy(&m, t->p, sizeof(m));
	out->madt_present = true;
	out->lapic_phys = m.lapic_address;
	out->pcat_compat = m.flags & ACPI_MADT_PCAT_COMPAT;

	while (off < t->len) {
		uint8_t type, len;

		if (t->len - off < 2) {
			acpi_warn(out, "APIC @0x%llx: stray byte at offset %u after the last entry",
				  (ull)t->phys, off);
			break;
		}
		type = t->p[off];
		len = t->p[off + 1];
		if (len < 2) {
			acpi_warn(out, "APIC @0x%llx: entry type %u at offset %u has length %u; "
				  "rest of table ignored", (ull)t->phys, type, off, len);
			break;
		}
		if (len > t->len - off) {
			acpi_warn(out, "APIC @0x%llx: entry type %u at offset %u (length %u) runs "
				  "past table end %u; rest ignored", (ull)t->phys, type, off, len,
				  t->len);
			break;
		}
		madt_entry(out, t, off, type, len);
		off += len;
	}
}

/* ---- FADT ---- */

#define FADT_HAS(len, field) \
	((len) >= offsetof(struct acpi_fadt, field) + sizeof(((struct acpi_fadt *)0)->field))

/* An extended (GAS) I/O block if usable, else the legacy 32-bit port. */
static uint32_t fadt_port(struct acpi_gas x, uint32_t legacy)
{
	if (x.address && x.space_id == ACPI_GAS_IO && x.address <= 0xFFFF)
		return (uint32_t)x.address;
	return legacy;
}

static void fadt_pm_timer(struct acpi_info *out, const struct acpi_table *t,
			  const struct acpi_fadt *f)
{
	struct acpi_fadt_info *fi = &out->fadt;
	struct acpi_gas x = f->x_pm_tmr_blk;

	fi->pm_timer_32bit = f->flags & ACPI_FADT_TMR_VAL_EXT;
	if (x.address && (x.space_id == ACPI_GAS_IO || x.space_id == ACPI_GAS_MEMORY)) {
		fi->pm_timer = x;
		fi->pm_timer_present = true;
		return;
	}
	if (x.address)
		acpi_warn(out, "FACP @0x%llx: X_PM_TMR_BLK in address space %u is not supported; "
			  "using PM_TMR_BLK", (ull)t->phys, x.space_id);
	if (!f->pm_tmr_blk)
		return;
	if (f->pm_tmr_len != 4) {
		acpi_warn(out, "FACP @0x%llx: PM_TMR_LEN is %u, not 4; PM timer ignored",
			  (ull)t->phys, f->pm_tmr_len);
		return;
	}
	fi->pm_timer.space_id = ACPI_GAS_IO;
	fi->pm_timer.bit_width = fi->pm_timer_32bit ? 32 : 24;
	fi->pm_timer.address = f->pm_tmr_blk;
	fi->pm_timer_present = true;
}

static void fadt_reset(struct acpi_info *out, const struct acpi_table *t,
		       const struct acpi_fadt *f)
{
	struct acpi_fadt_info *fi = &out->fadt;
	struct acpi_gas r = f->reset_reg;

	if (!FADT_HAS(t->len, reset_value)) {
		if (f->flags & ACPI_FADT_RESET_REG_SUP)
			acpi_warn(out, "FACP @0x%llx: RESET_REG_SUP set but length %u ends before "
				  "RESET_REG/RESET_VALUE; no reset register", (ull)t->phys, t->len);
		return;
	}
	fi->reset_reg = r;
	fi->reset_value = f->reset_value;
	if (!(f->flags & ACPI_FADT_RESET_REG_SUP))
		return;
	if (!r.address || r.space_id > 2) {
		acpi_warn(out, "FACP @0x%llx: RESET_REG (space %u, address 0x%llx) unusable; "
			  "no reset register", (ull)t->phys, r.space_id, (ull)r.address);
		return;
	}
	fi->reset_supported = true;
}

static void parse_fadt(struct acpi_info *out, const struct acpi_table *t)
{
	struct acpi_fadt_info *fi = &out->fadt;
	struct acpi_fadt f;

	/* Fields past the table's length read as zero, i.e. "absent". */
	memset(&f, 0, sizeof(f));
	memcpy(&f, t->p, t->len < sizeof(f) ? t->len : sizeof(f));
	if (t->len < ACPI_FADT_V1_LEN)
		acpi_warn(out, "FACP @0x%llx: length %u shorter than the ACPI 1.0 FADT (%d); "
			  "fields beyond it ignored", (ull)t->phys, t->len, ACPI_FADT_V1_LEN);

	fi->present = true;
	fi->revision = t->rev;
	fi->length = t->len;
	fi->flags = f.flags;
	fi->hw_reduced = f.flags & ACPI_FADT_HW_REDUCED;
	fi->sci_irq = f.sci_int;
	fi->century = f.century;
	/* IAPC_BOOT_ARCH arrived with ACPI 2.0 (FADT revision 3); reserved before */
	fi->boot_arch = t->rev >= 3 ? f.iapc_boot_arch : 0;
	fi->dsdt_phys = f.x_dsdt ? f.x_dsdt : f.dsdt;
	fi->pm1_cnt_len = f.pm1_cnt_len;
	fi->pm1a_cnt = fadt_port(f.x_pm1a_cnt_blk, f.pm1a_cnt_blk);
	fi->pm1b_cnt = fadt_port(f.x_pm1b_cnt_blk, f.pm1b_cnt_blk);
	fadt_pm_timer(out, t, &f);
	fadt_reset(out, t, &f);
}

/* ---- HPET and MCFG ---- */

static void parse_hpet(struct acpi_info *out, const struct acpi_table *t)
{
	struct acpi_hpet h;

	memcpy(&h, t->p, sizeof(h));
	if (h.base.space_id != ACPI_GAS_MEMORY || !h.base.address) {
		acpi_warn(out, "HPET @0x%llx: base (space %u, address 0x%llx) unusable; "
			  "table skipped", (ull)t->phys, h.base.space_id, (ull)h.base.address);
		return;
	}
	out->hpet.present = true;
	out->hpet.base_phys = h.base.address;
	out->hpet.block_id = h.event_timer_block_id;
	out->hpet.number = h.hpet_number;
	out->hpet.min_tick = h.min_tick;
}

static void parse_mcfg(struct acpi_info *out, const struct acpi_table *t)
{
	const uint32_t asz = sizeof(struct acpi_mcfg_alloc);
	uint32_t body = t->len - (uint32_t)sizeof(struct acpi_mcfg);
	uint32_t i;

	if (body % asz)
		acpi_warn(out, "MCFG @0x%llx: length %u leaves %u stray bytes; ignored",
			  (ull)t->phys, t->len, body % asz);
	for (i = 0; i < body / asz; i++) {
		struct acpi_mcfg_alloc a;
		struct acpi_mcfg_seg *s;

		memcpy(&a, t->p + sizeof(struct acpi_mcfg) + i * asz, sizeof(a));
		if (a.bus_start > a.bus_end || !a.base) {
			acpi_warn(out, "MCFG @0x%llx: allocation %u (base 0x%llx, buses %u-%u) "
				  "invalid; skipped", (ull)t->phys, i, (ull)a.base, a.bus_start,
				  a.bus_end);
			continue;
		}
		if (out->mcfg_count >= ACPI_MAX_MCFG) {
			acpi_warn(out, "MCFG @0x%llx: more than %d segments; allocation %u dropped",
				  (ull)t->phys, ACPI_MAX_MCFG, i);
			continue;
		}
		s = &out->mcfg[out->mcfg_count++];
		s->base = a.base;
		s->segment = a.segment;
		s->bus_start = a.bus_start;
		s->bus_end = a.bus_end;
	}
}

/* ---- Root table walk ---- */

static const struct {
	char sig[4];
	uint32_t min_len;
	void (*parse)(struct acpi_info *out, const struct acpi_table *t);
} table_handlers[] = {
	{ "APIC", sizeof(struct acpi_madt), parse_madt },
	{ "FACP", HDR_LEN, parse_fadt },
	{ "HPET", sizeof(struct acpi_hpet), parse_hpet },
	{ "MCFG", sizeof(struct acpi_mcfg), parse_mcfg },
};

struct walk_state {
	bool seen[ARRAY_SIZE(table_handlers)];
	uint64_t first[ARRAY_SIZE(table_handlers)];
	bool list_full;
};

static struct acpi_table_desc *table_record(struct acpi_info *out, struct walk_state *st,
					    const struct acpi_table *t, bool ok)
{
	struct acpi_table_desc *d;

	if (out->table_count >= ACPI_MAX_TABLES) {
		if (!st->list_full)
			acpi_warn(out, "%s @0x%llx: more than %d tables; not listed", t->sig,
				  (ull)t->phys, ACPI_MAX_TABLES);
		st->list_full = true;
		return NULL;
	}
	d = &out->tables[out->table_count++];
	memcpy(d->signature, t->sig, sizeof(d->signature));
	d->phys = t->phys;
	d->length = t->len;
	d->revision = t->rev;
	d->checksum_ok = ok;
	return d;
}

static void table_dispatch(struct acpi_info *out, struct walk_state *st,
			   const struct acpi_table *t, struct acpi_table_desc *d)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(table_handlers); i++)
		if (memcmp(t->sig, table_handlers[i].sig, 4) == 0)
			break;
	if (i == ARRAY_SIZE(table_handlers))
		return;
	if (st->seen[i]) {
		acpi_warn(out, "%s @0x%llx: duplicate table, using the first at 0x%llx", t->sig,
			  (ull)t->phys, (ull)st->first[i]);
		return;
	}
	if (t->len < table_handlers[i].min_len) {
		acpi_warn(out, "%s @0x%llx: length %u too short (need %u); table skipped", t->sig,
			  (ull)t->phys, t->len, table_handlers[i].min_len);
		return;
	}
	st->seen[i] = true;
	st->first[i] = t->phys;
	if (d)
		d->used = true;
	table_handlers[i].parse(out, t);
}

static void table_visit(const struct acpi_mem_ops *ops, struct acpi_info *out,
			struct walk_state *st, const struct acpi_table *root, uint32_t idx,
			uint64_t phys)
{
	struct acpi_table_desc *d;
	struct acpi_table t;
	char why[WHY_LEN];
	int rc;

	rc = table_load(ops, phys, &t, why, sizeof(why));
	if (!t.sig[0]) {
		acpi_warn(out, "%s entry %u -> 0x%llx: %s; skipped", root->sig, idx, (ull)phys,
			  why);
		return;
	}
	d = table_record(out, st, &t, rc == 0);
	if (rc) {
		acpi_warn(out, "%s @0x%llx: %s; table skipped", t.sig, (ull)phys, why);
		return;
	}
	table_dispatch(out, st, &t, d);
}

static void root_walk(const struct acpi_mem_ops *ops, struct acpi_info *out,
		      const struct acpi_table *root)
{
	uint32_t esz = out->xsdt_used ? 8 : 4;
	uint32_t body = root->len - HDR_LEN;
	struct walk_state st;
	uint32_t i;

	memset(&st, 0, sizeof(st));
	if (body % esz)
		acpi_warn(out, "%s @0x%llx: length %u leaves %u stray bytes after the entries",
			  root->sig, (ull)root->phys, root->len, body % esz);
	for (i = 0; i < body / esz; i++) {
		const uint8_t *e = root->p + HDR_LEN + i * esz;
		uint64_t phys;

		if (esz == 8) {
			memcpy(&phys, e, 8);
		} else {
			uint32_t p32;

			memcpy(&p32, e, 4);
			phys = p32;
		}
		table_visit(ops, out, &st, root, i, phys);
	}
}

int acpi_parse(const struct acpi_mem_ops *ops, const void *rsdp, size_t rsdp_len,
	       struct acpi_info *out)
{
	struct acpi_table root;
	struct acpi_rsdp r;
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!ops || !ops->map || !rsdp)
		return acpi_fail(out, "acpi_parse: missing map callback or RSDP");
	rc = rsdp_check(rsdp, rsdp_len, out, &r);
	if (rc)
		return rc;
	rc = root_load(ops, out, &r, &root);
	if (rc)
		return rc;
	root_walk(ops, out, &root);
	return 0;
}

int acpi_parse_at(const struct acpi_mem_ops *ops, uint64_t rsdp_phys, struct acpi_info *out)
{
	const uint8_t *p, *p2;
	size_t len = ACPI_RSDP_V1_LEN;
	uint32_t want = ACPI_RSDP_V2_LEN;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!ops || !ops->map)
		return acpi_fail(out, "acpi_parse_at: missing map callback");
	p = ops->map(ops->ctx, rsdp_phys, ACPI_RSDP_V1_LEN);
	if (!p)
		return acpi_fail(out, "RSDP @0x%llx: not in accessible memory", (ull)rsdp_phys);
	if (p[offsetof(struct acpi_rsdp, revision)] >= 2) {
		uint32_t l;

		/* Map as much as the length field claims, within reason. */
		p2 = ops->map(ops->ctx, rsdp_phys, ACPI_RSDP_V2_LEN);
		if (p2) {
			memcpy(&l, p2 + offsetof(struct acpi_rsdp, length), sizeof(l));
			if (l > ACPI_RSDP_V2_LEN && l <= 4096)
				want = l;
			p = p2;
			len = ACPI_RSDP_V2_LEN;
			p2 = ops->map(ops->ctx, rsdp_phys, want);
			if (p2) {
				p = p2;
				len = want;
			}
		}
	}
	return acpi_parse(ops, p, len, out);
}

/* ---- Legacy BIOS RSDP search ---- */

static bool rsdp_candidate(const uint8_t *p, size_t avail)
{
	uint32_t len;

	if (avail < ACPI_RSDP_V1_LEN || memcmp(p, ACPI_RSDP_SIG, 8) != 0)
		return false;
	if (byte_sum(p, ACPI_RSDP_V1_LEN))
		return false;
	if (p[offsetof(struct acpi_rsdp, revision)] >= 2 && avail >= ACPI_RSDP_V2_LEN) {
		memcpy(&len, p + offsetof(struct acpi_rsdp, length), sizeof(len));
		if (len >= ACPI_RSDP_V2_LEN && len <= avail && byte_sum(p, len))
			return false;
	}
	return true;
}

static int rsdp_scan(const struct acpi_mem_ops *ops, uint64_t base, size_t len,
		     uint64_t *found)
{
	const uint8_t *p = ops->map(ops->ctx, base, len);
	size_t off;

	if (!p)
		return -ENOENT;
	for (off = 0; off + ACPI_RSDP_V1_LEN <= len; off += 16) {
		if (rsdp_candidate(p + off, len - off)) {
			*found = base + off;
			return 0;
		}
	}
	return -ENOENT;
}

#define BDA_EBDA_SEG	0x40E
#define EBDA_SCAN_LEN	1024
#define LOW_MEM_END	0xA0000
#define BIOS_ROM_START	0xE0000
#define BIOS_ROM_END	0x100000

int acpi_find_rsdp(const struct acpi_mem_ops *ops, uint64_t *rsdp_phys)
{
	const uint8_t *bda;
	uint16_t seg;
	uint64_t ebda;

	if (!ops || !ops->map || !rsdp_phys)
		return -EINVAL;
	bda = ops->map(ops->ctx, BDA_EBDA_SEG, sizeof(seg));
	if (bda) {
		memcpy(&seg, bda, sizeof(seg));
		ebda = (uint64_t)seg << 4;
		if (ebda >= 0x500 && ebda < LOW_MEM_END) {
			size_t n = LOW_MEM_END - ebda;

			if (n > EBDA_SCAN_LEN)
				n = EBDA_SCAN_LEN;
			if (rsdp_scan(ops, ebda, n, rsdp_phys) == 0)
				return 0;
		}
	}
	return rsdp_scan(ops, BIOS_ROM_START, BIOS_ROM_END - BIOS_ROM_START, rsdp_phys);
}

int acpi_gsi_for_isa_irq(const struct acpi_info *info, uint8_t irq, uint32_t *gsi,
			 uint16_t *flags)
{
	uint32_t i;

	if (!info || !gsi || !flags || irq >= 16)
		return -EINVAL;
	for (i = 0; i < info->iso_count && i < ACPI_MAX_ISOS; i++) {
		if (info->isos[i].bus == 0 && info->isos[i].source_irq == irq) {
			*gsi = info->isos[i].gsi;
			*flags = info->isos[i].flags;
			return 0;
		}
	}
	*gsi = irq;
	*flags = 0;
	return 0;
}
