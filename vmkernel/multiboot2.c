/*
 * Multiboot2 boot information parser.
 *
 * The loader leaves an 8-byte header (total_size, reserved) followed by a list of
 * tags. Each tag is {type, size, payload}; the next tag starts at the current one
 * rounded up to 8 bytes, and the list ends with a tag of type 0 and size 8.
 *
 * Nothing in that structure is trusted. The walk keeps one invariant: every byte
 * it reads lies inside [info, info + total_size), and total_size has been checked
 * against @avail, the number of bytes the caller knows are readable. A tag's size
 * is checked against the bytes left before its payload is touched, so a tag with
 * size 0 or 0xffffffff stops the walk with an error instead of looping or
 * reading past the end; each step advances by at least 8 bytes, so the walk
 * ends. Strings are only accepted if their NUL lies inside their own tag.
 *
 * Each tag type has a small handler in a table indexed by type; a handler fills
 * its part of struct mb2_info and may rely on the tag lying wholly in bounds.
 * Tags whose type has no handler are skipped, as the spec requires. Because the
 * info pointer is 8-aligned and every tag starts 8-aligned, the 64-bit fields of
 * the tags can be read in place without unaligned access.
 *
 * The parser keeps no state of its own: the summary points into the caller's
 * buffer, which must therefore stay mapped.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vmkernel/linebuf.h>
#include <vmkernel/multiboot2.h>

/* One tag as seen by a handler: already known to lie inside the info. */
struct mb2_tag_ctx {
	const uint8_t *p;	/* start of the tag header */
	uint32_t type;
	uint32_t size;
	unsigned int index;	/* 0-based position in the tag list */
	size_t off;		/* byte offset from the start of the info */
};

typedef int (*mb2_tag_fn)(struct mb2_info *out, const struct mb2_tag_ctx *t);

static int __attribute__((format(printf, 2, 3)))
mb2_err(struct mb2_info *out, const char *fmt, ...)
{
	struct linebuf lb = LINEBUF_INIT(out->err);
	va_list ap;

	lb_puts(&lb, "mb2: ");
	va_start(ap, fmt);
	lb_vprintf(&lb, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int __attribute__((format(printf, 3, 4)))
mb2_tag_err(struct mb2_info *out, const struct mb2_tag_ctx *t, const char *fmt, ...)
{
	struct linebuf lb = LINEBUF_INIT(out->err);
	va_list ap;

	lb_printf(&lb, "mb2: tag #%u (type %u) at offset %zu: ", t->index, t->type, t->off);
	va_start(ap, fmt);
	lb_vprintf(&lb, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int mb2_need(struct mb2_info *out, const struct mb2_tag_ctx *t, uint32_t need,
		    const char *what)
{
	if (t->size >= need)
		return 0;
	return mb2_tag_err(out, t, "%s tag too short (%u bytes, need at least %u)",
			   what, t->size, need);
}

/* A NUL-terminated string occupying the tag from byte @from to its end. */
static int mb2_string_at(struct mb2_info *out, const struct mb2_tag_ctx *t, uint32_t from,
			 const char **dst)
{
	const char *s = (const char *)t->p + from;
	size_t room = t->size - from;

	if (strnlen(s, room) >= room)
		return mb2_tag_err(out, t, "string is not NUL-terminated within its %zu bytes",
				   room);
	*dst = s;
	return 0;
}

static int mb2_tag_string(struct mb2_info *out, const struct mb2_tag_ctx *t)
{
	const char **dst = t->type == MB2_TAG_CMDLINE ? &out->cmdline : &out->bootloader;

	return mb2_string_at(out, t, sizeof(struct mb2_tag_string), dst);
}

static int mb2_tag_module(struct mb2_info *out, const struct mb2_tag_ctx *t)
{
	const struct mb2_tag_module *m = (const void *)t->p;
	struct mb2_module *mod;
	int rc;

	rc = mb2_need(out, t, sizeof(*m) + 1, "module");
	if (rc)
		return rc;
	if (out->module_count >= MB2_MAX_MODULES)
		return mb2_tag_err(out, t, "too many modules (at most %d supported)",
				   MB2_MAX_MODULES);
	if (m->mod_end < m->mod_start)
		return mb2_tag_err(out, t, "module end 0x%x is below its start 0x%x",
				   m->mod_end, m->mod_start);
	mod = &out->modules[out->module_count];
	rc = mb2_string_at(out, t, sizeof(*m), &mod->string);
	if (rc)
		return rc;
	mod->start = m->mod_start;
	mod->end = m->mod_end;
	out->module_count++;
	return 0;
}

static int mb2_tag_basic_meminfo(struct mb2_info *out, const struct mb2_tag_ctx *t)
{
	const struct mb2_tag_basic_meminfo *b = (const void *)t->p;
	int rc = mb2_need(out, t, sizeof(*b), "basic meminfo");

	if (rc)
		return rc;
	out->mem_lower_kb = b->mem_lower;
	out->mem_upper_kb = b->mem_upper;
	out->has_basic_mem = true;
	return 0;
}

static int mb2_tag_mmap(struct mb2_info *out, const struct mb2_tag_ctx *t)
{
	const struct mb2_tag_mmap *m = (const void *)t->p;
	uint32_t body;
	int rc;

	rc = mb2_need(out, t, sizeof(*m), "memory map");
	if (rc)
		return rc;
	if (m->entry_size < sizeof(struct mb2_mmap_entry) || m->entry_size % 8)
		return mb2_tag_err(out, t, "memory map entry_size %u is invalid "
				   "(must be a multiple of 8, at least %zu)",
				   m->entry_size, sizeof(struct mb2_mmap_entry));
	body = t->size - sizeof(*m);
	if (body % m->entry_size)
		return mb2_tag_err(out, t, "memory map holds a partial entry "
				   "(%u bytes of entries, entry_size %u)", body, m->entry_size);
	out->mmap = (const void *)(t->p + sizeof(*m));
	out->mmap_count = body / m->entry_size;
	out->mmap_entry_size = m->entry_size;
	return 0;
}

static int mb2_fb_colors(struct mb2_info *out, const struct mb2_tag_ctx *t)
{
	const uint8_t *ci = t->p + sizeof(struct mb2_tag_framebuffer);
	const struct mb2_fb_rgb *rgb = (const void *)ci;
	uint32_t n, need;
	int rc;

	if (out->fb.type == MB2_FB_TYPE_RGB) {
		rc = mb2_need(out, t, sizeof(struct mb2_tag_framebuffer) + sizeof(*rgb),
			      "RGB framebuffer");
		if (rc)
			return rc;
		out->fb.red_pos = rgb->red_pos;
		out->fb.red_size = rgb->red_size;
		out->fb.green_pos = rgb->green_pos;
		out->fb.green_size = rgb->green_size;
		out->fb.blue_pos = rgb->blue_pos;
		out->fb.blue_size = rgb->blue_size;
	} else if (out->fb.type == MB2_FB_TYPE_INDEXED) {
		need = sizeof(struct mb2_tag_framebuffer) + sizeof(uint16_t);
		rc = mb2_need(out, t, need, "indexed framebuffer");
		if (rc)
			return rc;
		n = *(const uint16_t *)ci;
		need += n * (uint32_t)sizeof(struct mb2_color);
		if (t->size < need)
			return mb2_tag_err(out, t, "palette of %u colours needs %u bytes, "
					   "tag has %u", n, need, t->size);
		out->fb.palette_count = n;
		out->fb.palette = (const void *)(ci + sizeof(uint16_t));
	}
	return 0;
}

static int mb2_tag_framebuffer(struct mb2_info *out, const struct mb2_tag_ctx *t)
{
	const struct mb2_tag_framebuffer *f = (const void *)t->p;
	int rc;

	rc = mb2_need(out, t, sizeof(*f), "framebuffer");
	if (rc)
		return rc;
	out->fb.addr = f->addr;
	out->fb.pitch = f->pitch;
	out->fb.width = f->width;
	out->fb.height = f->height;
	out->fb.bpp = f->bpp;
	out->fb.type = f->fb_type;
	rc = mb2_fb_colors(out, t);
	if (rc)
		return rc;
	out->has_fb = true;
	return 0;
}

static int mb2_tag_acpi(struct mb2_info *out, const struct mb2_tag_ctx *t)
{
	int rev = t->type == MB2_TAG_ACPI_NEW ? 2 : 1;
	uint32_t need = rev == 2 ? MB2_RSDP_V2_LEN : MB2_RSDP_V1_LEN;
	int rc;

	rc = mb2_need(out, t, sizeof(struct mb2_tag) + need,
		      rev == 2 ? "ACPI 2.0 RSDP" : "ACPI 1.0 RSDP");
	if (rc)
		return rc;
	if (out->rsdp_revision > rev)
		return 0;	/* the new RSDP already seen wins over the old one */
	out->rsdp = t->p + sizeof(struct mb2_tag);
	out->rsdp_len = t->size - sizeof(struct mb2_tag);
	out->rsdp_revision = rev;
	return 0;
}

static int mb2_tag_efi64(struct mb2_info *out, const struct mb2_tag_ctx *t)
{
	const struct mb2_tag_efi64 *e = (const void *)t->p;
	int rc = mb2_need(out, t, sizeof(*e), "EFI64 system table");

	if (rc)
		return rc;
	out->efi64_systab = e->pointer;
	out->has_efi64_systab = true;
	return 0;
}

/* A trailing partial descriptor is ignored: efi_mmap_len covers whole ones only. */
static int mb2_tag_efi_mmap(struct mb2_info *out, const struct mb2_tag_ctx *t)
{
	const struct mb2_tag_efi_mmap *e = (const void *)t->p;
	uint32_t body;
	int rc;

	rc = mb2_need(out, t, sizeof(*e), "EFI memory map");
	if (rc)
		return rc;
	if (e->desc_size < MB2_EFI_DESC_MIN || e->desc_size % 8)
		return mb2_tag_err(out, t, "EFI descriptor size %u is invalid "
				   "(must be a multiple of 8, at least %d)",
				   e->desc_size, MB2_EFI_DESC_MIN);
	body = t->size - sizeof(*e);
	out->efi_mmap = t->p + sizeof(*e);
	out->efi_mmap_len = body - body % e->desc_size;
	out->efi_desc_size = e->desc_size;
	out->efi_desc_version = e->desc_version;
	out->has_efi_mmap = true;
	return 0;
}

static int mb2_tag_efi_bs(struct mb2_info *out, const struct mb2_tag_ctx *t)
{
	(void)t;
	out->efi_boot_services_not_terminated = true;
	return 0;
}

static int mb2_tag_load_base(struct mb2_info *out, const struct mb2_tag_ctx *t)
{
	const struct mb2_tag_load_base *l = (const void *)t->p;
	int rc = mb2_need(out, t, sizeof(*l), "load base address");

	if (rc)
		return rc;
	out->load_base = l->load_base_addr;
	out->has_load_base = true;
	return 0;
}

static const mb2_tag_fn mb2_tag_handlers[MB2_TAG_TYPE_COUNT] = {
	[MB2_TAG_CMDLINE]	 = mb2_tag_string,
	[MB2_TAG_BOOTLOADER]	 = mb2_tag_string,
	[MB2_TAG_MODULE]	 = mb2_tag_module,
	[MB2_TAG_BASIC_MEMINFO]	 = mb2_tag_basic_meminfo,
	[MB2_TAG_MMAP]		 = mb2_tag_mmap,
	[MB2_TAG_FRAMEBUFFER]	 = mb2_tag_framebuffer,
	[MB2_TAG_EFI64]		 = mb2_tag_efi64,
	[MB2_TAG_ACPI_OLD]	 = mb2_tag_acpi,
	[MB2_TAG_ACPI_NEW]	 = mb2_tag_acpi,
	[MB2_TAG_EFI_MMAP]	 = mb2_tag_efi_mmap,
	[MB2_TAG_EFI_BS]	 = mb2_tag_efi_bs,
	[MB2_TAG_LOAD_BASE_ADDR] = mb2_tag_load_base,
};

/* Run the handler for one in-bounds tag; @seen tracks handled types for duplicates. */
static int mb2_handle_tag(struct mb2_info *out, const struct mb2_tag_ctx *t, uint32_t *seen)
{
	mb2_tag_fn fn;
	uint32_t bit;

	if (t->type >= MB2_TAG_TYPE_COUNT || !mb2_tag_handlers[t->type])
		return 0;	/* unknown or unused: skip */
	fn = mb2_tag_handlers[t->type];
	bit = 1u << t->type;
	if (t->type != MB2_TAG_MODULE && (*seen & bit))
		return mb2_tag_err(out, t, "duplicate tag (only one of this type is allowed)");
	*seen |= bit;
	return fn(out, t);
}

static int mb2_walk(const uint8_t *base, uint32_t total, struct mb2_info *out)
{
	struct mb2_tag_ctx t = { .off = sizeof(struct mb2_info_header) };
	const struct mb2_tag *hdr;
	uint32_t seen = 0;
	int rc;

	while (total - t.off >= sizeof(struct mb2_tag)) {
		hdr = (const void *)(base + t.off);
		t.p = base + t.off;
		t.type = hdr->type;
		t.size = hdr->size;
		if (t.size < sizeof(struct mb2_tag))
			return mb2_tag_err(out, &t, "size %u is smaller than the 8-byte tag header",
					   t.size);
		if (t.size > total - t.off)
			return mb2_tag_err(out, &t, "size %u runs past total_size %u "
					   "(%zu bytes left)", t.size, total, total - t.off);
		if (t.type == MB2_TAG_END)
			return 0;
		rc = mb2_handle_tag(out, &t, &seen);
		if (rc)
			return rc;
		t.off += ((size_t)t.size + 7) & ~(size_t)7;
		t.index++;
		if (t.off > total)
			break;
	}
	return mb2_err(out, "no end tag (type 0) within total_size %u (after %u tags)",
		       total, t.index);
}

int mb2_parse(const void *info, size_t avail, struct mb2_info *out)
{
	const struct mb2_info_header *hdr = info;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!info)
		return mb2_err(out, "boot information pointer is NULL");
	if ((uintptr_t)info & 7)
		return mb2_err(out, "boot information at %p is not 8-byte aligned", info);
	if (avail < sizeof(*hdr))
		return mb2_err(out, "only %zu bytes readable, header needs %zu",
			       avail, sizeof(*hdr));
	out->total_size = hdr->total_size;
	if (hdr->total_size < sizeof(*hdr) + sizeof(struct mb2_tag))
		return mb2_err(out, "total_size %u is below the minimum of 16 "
			       "(header and end tag)", hdr->total_size);
	if (hdr->total_size > avail)
		return mb2_err(out, "total_size %u exceeds the %zu readable bytes",
			       hdr->total_size, avail);
	return mb2_walk(info, hdr->total_size, out);
}

bool mb2_magic_ok(uint32_t eax)
{
	return eax == MB2_BOOTLOADER_MAGIC;
}

const struct mb2_mmap_entry *mb2_mmap_entry(const struct mb2_info *mi, uint32_t i)
{
	if (!mi || !mi->mmap || i >= mi->mmap_count)
		return NULL;
	return (const void *)((const uint8_t *)mi->mmap + (size_t)i * mi->mmap_entry_size);
}

const char *mb2_mmap_type_name(uint32_t type)
{
	switch (type) {
	case MB2_MEM_AVAILABLE:
		return "available";
	case MB2_MEM_ACPI_RECLAIMABLE:
		return "ACPI reclaimable";
	case MB2_MEM_NVS:
		return "ACPI NVS";
	case MB2_MEM_BADRAM:
		return "bad RAM";
	default:
		return "reserved";	/* type 2 and every unknown type */
	}
}
