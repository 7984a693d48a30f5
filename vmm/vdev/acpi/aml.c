/* The AML writer (see aml.h). Encodings: ACPI 6.5 sections 20.2 and 6.4. */
#include <string.h>
#include "aml.h"

#define AML_ZERO	0x00
#define AML_ONE		0x01
#define AML_NAME	0x08
#define AML_BYTE	0x0a
#define AML_WORD	0x0b
#define AML_DWORD	0x0c
#define AML_STRING	0x0d
#define AML_QWORD	0x0e
#define AML_SCOPE	0x10
#define AML_BUFFER	0x11
#define AML_PACKAGE	0x12
#define AML_EXT		0x5b
#define AML_DEVICE	0x82
#define AML_ROOT	'\\'
#define AML_DUAL	0x2e
#define AML_MULTI	0x2f

void aml_init(struct aml *b, uint8_t *buf, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->buf = buf;
	b->cap = cap;
}

void aml_bytes(struct aml *b, const void *p, size_t n)
{
	if (b->overflow || b->len + n > b->cap) {
		b->overflow = true;
		return;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

void aml_byte(struct aml *b, uint8_t v)
{
	aml_bytes(b, &v, 1);
}

static void le(struct aml *b, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(b, (uint8_t)(v >> (8 * i)));
}

/* One 4-character segment, padded with '_' as AML requires. */
static void seg(struct aml *b, const char *s, size_t n)
{
	for (size_t i = 0; i < 4; i++)
		aml_byte(b, i < n ? (uint8_t)s[i] : '_');
}

void aml_name(struct aml *b, const char *path)
{
	const char *p = path;
	unsigned nseg = 1;

	if (*p == '\\') {
		aml_byte(b, AML_ROOT);
		p++;
	}
	for (const char *q = p; *q; q++)
		nseg += *q == '.';
	if (nseg == 2)
		aml_byte(b, AML_DUAL);
	else if (nseg > 2) {
		aml_byte(b, AML_MULTI);
		aml_byte(b, (uint8_t)nseg);
	}
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		seg(b, p, n);
		p += n + (dot != NULL);
	}
}

void aml_int(struct aml *b, uint64_t v)
{
	if (v == 0) {
		aml_byte(b, AML_ZERO);
	} else if (v == 1) {
		aml_byte(b, AML_ONE);
	} else if (v <= 0xff) {
		aml_byte(b, AML_BYTE);
		le(b, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(b, AML_WORD);
		le(b, v, 2);
	} else if (v <= 0xffffffffULL) {
		aml_byte(b, AML_DWORD);
		le(b, v, 4);
	} else {
		aml_byte(b, AML_QWORD);
		le(b, v, 8);
	}
}

void aml_string(struct aml *b, const char *s)
{
	aml_byte(b, AML_STRING);
	aml_bytes(b, s, strlen(s) + 1);
}

/* EISA ID: three letters in 5 bits each, then four hex digits; stored big-endian. */
uint32_t aml_eisaid(const char *id)
{
	uint32_t v = (uint32_t)((id[0] - '@') & 0x1f) << 26 | (uint32_t)((id[1] - '@') & 0x1f) << 21 |
		     (uint32_t)((id[2] - '@') & 0x1f) << 16;

	for (int i = 3; i < 7; i++) {
		char c = id[i];

		v |= (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10) << (4 * (6 - i));
	}
	return __builtin_bswap32(v);
}

void aml_name_decl(struct aml *b, const char *name)
{
	aml_byte(b, AML_NAME);
	aml_name(b, name);
}

static void open_obj(struct aml *b, bool buffer)
{
	if (b->depth == AML_MAX_DEPTH) {
		b->overflow = true;
		return;
	}
	b->open_buffer[b->depth] = buffer;
	b->open[b->depth++] = b->len;
}

void aml_scope_open(struct aml *b, const char *name)
{
	aml_byte(b, AML_SCOPE);
	open_obj(b, false);
	aml_name(b, name);
}

void aml_device_open(struct aml *b, const char *name)
{
	aml_byte(b, AML_EXT);
	aml_byte(b, AML_DEVICE);
	open_obj(b, false);
	aml_name(b, name);
}

void aml_package_open(struct aml *b, unsigned elements)
{
	aml_byte(b, AML_PACKAGE);
	open_obj(b, false);
	aml_byte(b, (uint8_t)elements);
}

/* The buffer's contents start after a size slot filled in on close (buffer_size marker). */
void aml_buffer_open(struct aml *b)
{
	aml_byte(b, AML_BUFFER);
	open_obj(b, true);
}

/*
 * Close the innermost object: insert its PkgLength (which counts itself)
 * in front of the contents. For a buffer, the BufferSize integer goes
 * between the PkgLength and the bytes.
 */
void aml_close(struct aml *b)
{
	size_t start, body;
	uint8_t hdr[16];
	unsigned h = 0;
	uint64_t total;
	bool is_buffer;

	if (!b->depth || b->overflow) {
		b->overflow = true;
		return;
	}
	start = b->open[--b->depth];
	body = b->len - start;
	is_buffer = b->open_buffer[b->depth];
	if (is_buffer) {
		struct aml tmp;

		aml_init(&tmp, hdr + 8, sizeof(hdr) - 8);
		aml_int(&tmp, body);
		h = (unsigned)tmp.len;
	}
	/* PkgLength: 1 byte up to 63, else 2-4 bytes (low nibble first). */
	for (unsigned n = 1; n <= 4; n++) {
		total = body + h + n;
		if ((n == 1 && total < 64) || (n > 1 && total < (1ULL << (4 + 8 * (n - 1))))) {
			uint8_t len[4];

			if (n == 1) {
				len[0] = (uint8_t)total;
			} else {
				len[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
				for (unsigned i = 1; i < n; i++)
					len[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
			}
			if (b->len + n + h > b->cap) {
				b->overflow = true;
				return;
			}
			memmove(b->buf + start + n + h, b->buf + start, body);
			memcpy(b->buf + start, len, n);
			memcpy(b->buf + start + n, hdr + 8, h);
			b->len += n + h;
			return;
		}
	}
	b->overflow = true;
}

void aml_res_io(struct aml *b, uint16_t base, uint8_t len)
{
	const uint8_t d[8] = { 0x47, 0x01, (uint8_t)base, (uint8_t)(base >> 8), (uint8_t)base,
			       (uint8_t)(base >> 8), 0x01, len };

	aml_bytes(b, d, sizeof(d));
}

void aml_res_irq(struct aml *b, uint16_t mask)
{
	const uint8_t d[3] = { 0x22, (uint8_t)mask, (uint8_t)(mask >> 8) };

	aml_bytes(b, d, sizeof(d));
}

/* Word address space: producer, min/max fixed, positive decode. */
static void word_space(struct aml *b, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
	aml_byte(b, 0x88);
	le(b, 13, 2);
	aml_byte(b, type);
	aml_byte(b, 0x0c);
	aml_byte(b, tflags);
	le(b, 0, 2);			/* granularity */
	le(b, min, 2);
	le(b, max, 2);
	le(b, 0, 2);			/* translation */
	le(b, (uint32_t)max - min + 1, 2);
}

void aml_res_word_bus(struct aml *b, uint16_t min, uint16_t max)
{
	word_space(b, 2, 0, min, max);
}

void aml_res_word_io(struct aml *b, uint16_t min, uint16_t max)
{
	word_space(b, 1, 0x03, min, max);	/* entire range */
}

void aml_res_dword_mem(struct aml *b, uint32_t min, uint32_t max)
{
	aml_byte(b, 0x87);
	le(b, 23, 2);
	aml_byte(b, 0);			/* memory */
	aml_byte(b, 0x0c);		/* producer, min/max fixed */
	aml_byte(b, 0x01);		/* read/write, non-cacheable */
	le(b, 0, 4);
	le(b, min, 4);
	le(b, max, 4);
	le(b, 0, 4);
	le(b, (uint64_t)max - min + 1, 4);
}

void aml_res_mem32_fixed(struct aml *b, uint32_t base, uint32_t len)
{
	aml_byte(b, 0x86);
	le(b, 9, 2);
	aml_byte(b, 0x01);		/* read/write */
	le(b, base, 4);
	le(b, len, 4);
}

void aml_res_end(struct aml *b)
{
	const uint8_t d[2] = { 0x79, 0x00 };

	aml_bytes(b, d, sizeof(d));
}
