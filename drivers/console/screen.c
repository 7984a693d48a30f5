/*
 * Screen console: the boot loader's framebuffer (direct-colour RGB, drawn
 * with an 8x16 PSF font linked into the image) or VGA text mode.
 *
 * The framebuffer is mapped write-combining and never read: every pixel is
 * drawn into a shadow copy in RAM as well, scrolling moves the shadow and
 * then writes it out whole. (Reading video memory through an uncached or
 * write-combining mapping costs microseconds per access on real hardware.)
 */
#include <string.h>
#include <vmkernel/console.h>
#include <vmkernel/kmem.h>
#include <vmkernel/paging.h>

struct psf1_header {
	uint8_t magic[2];	/* 0x36 0x04 */
	uint8_t mode;
	uint8_t charsize;	/* bytes per glyph = height for 8-wide glyphs */
} __attribute__((packed));
_Static_assert(sizeof(struct psf1_header) == 4, "PSF1 header");

struct psf2_header {
	uint32_t magic;		/* 0x864ab572 */
	uint32_t version, headersize, flags, length, charsize, height, width;
} __attribute__((packed));
_Static_assert(sizeof(struct psf2_header) == 32, "PSF2 header");

extern const uint8_t _binary_font_psf_start[], _binary_font_psf_end[];

static struct console_params scr;
static uint8_t *shadow;		/* RAM copy of the framebuffer, or NULL */
static size_t fb_bytes;
static const uint8_t *glyphs;
static unsigned glyph_h, glyph_bytes, glyph_count;
static unsigned cols, rows, cur_x, cur_y;
static uint32_t fg, bg;

static bool font_load(void)
{
	const uint8_t *f = _binary_font_psf_start;
	size_t size = _binary_font_psf_end - _binary_font_psf_start;
	const struct psf1_header *h1 = (const void *)f;
	const struct psf2_header *h2 = (const void *)f;

	if (size >= sizeof(*h1) && h1->magic[0] == 0x36 && h1->magic[1] == 0x04) {
		glyph_h = glyph_bytes = h1->charsize;
		glyph_count = (h1->mode & 1) ? 512 : 256;
		glyphs = f + sizeof(*h1);
	} else if (size >= sizeof(*h2) && h2->magic == 0x864ab572 && h2->width == 8) {
		glyph_h = h2->height;
		glyph_bytes = h2->charsize;
		glyph_count = h2->length;
		glyphs = f + h2->headersize;
	} else {
		return false;
	}
	return glyph_h && (size_t)(glyphs - f) + (size_t)glyph_count * glyph_bytes <= size;
}

/* An 8-bit colour component scaled to a field of `size` bits at `pos`. */
static uint32_t channel(uint8_t v, uint8_t size, uint8_t pos)
{
	uint32_t c = size >= 8 ? (uint32_t)v << (size - 8) : (uint32_t)v >> (8 - size);

	return size && size <= 16 && pos < 32 ? c << pos : 0;
}

static uint32_t rgb(uint8_t r, uint8_t g, uint8_t b)
{
	return channel(r, scr.fb_red_size, scr.fb_red_pos) |
	       channel(g, scr.fb_green_size, scr.fb_green_pos) |
	       channel(b, scr.fb_blue_size, scr.fb_blue_pos);
}

static void store_pixel(uint8_t *p, uint32_t c)
{
	if (scr.fb_bpp == 32)
		*(volatile uint32_t *)p = c;
	else if (scr.fb_bpp == 16)
		*(volatile uint16_t *)p = (uint16_t)c;
	else
		for (unsigned i = 0; i < scr.fb_bpp / 8; i++)
			((volatile uint8_t *)p)[i] = (uint8_t)(c >> (8 * i));
}

static void put_pixel(unsigned x, unsigned y, uint32_t c)
{
	size_t off = (size_t)y * scr.fb_pitch + x * (scr.fb_bpp / 8);

	store_pixel((uint8_t *)scr.fb_virt + off, c);
	if (shadow)
		store_pixel(shadow + off, c);
}

static void draw_glyph(unsigned cx, unsigned cy, unsigned char ch)
{
	const uint8_t *g = glyphs + (size_t)(ch < glyph_count ? ch : '?') * glyph_bytes;

	for (unsigned y = 0; y < glyph_h; y++)
		for (unsigned x = 0; x < 8; x++)
			put_pixel(cx * 8 + x, cy * glyph_h + y, (g[y] & (0x80 >> x)) ? fg : bg);
}

static void text_put(unsigned cx, unsigned cy, unsigned char ch)
{
	volatile uint16_t *vga = scr.fb_virt;

	vga[cy * cols + cx] = 0x0700 | ch;
}

static void scroll(void)
{
	uint8_t *fb = scr.fb_virt;

	if (scr.fb_kind == CONSOLE_FB_EGA_TEXT) {
		volatile uint16_t *vga = scr.fb_virt;

		for (unsigned i = 0; i < (rows - 1) * cols; i++)
			vga[i] = vga[i + cols];
		for (unsigned i = 0; i < cols; i++)
			vga[(rows - 1) * cols + i] = 0x0720;
	} else if (shadow) {
		size_t line = (size_t)scr.fb_pitch * glyph_h;

		memmove(shadow, shadow + line, line * (rows - 1));
		memset(shadow + line * (rows - 1), 0, line);
		memcpy(fb, shadow, line * rows);
	} else {
		/* No memory for a shadow: start again at the top instead of reading video memory. */
		memset(fb, 0, fb_bytes);
		cur_y = 0;
		return;
	}
	cur_y = rows - 1;
}

static void screen_putc(char c)
{
	if (c == '\n' || cur_x >= cols) {
		cur_x = 0;
		if (++cur_y >= rows)
			scroll();
		if (c == '\n')
			return;
	}
	if (c == '\r')
		return;
	if (scr.fb_kind == CONSOLE_FB_EGA_TEXT)
		text_put(cur_x, cur_y, (unsigned char)c);
	else
		draw_glyph(cur_x, cur_y, (unsigned char)c);
	cur_x++;
}

static bool screen_setup(const struct console_params *p)
{
	if (!p->screen || p->fb_kind == CONSOLE_FB_NONE || !p->fb_virt)
		return false;
	scr = *p;
	if (scr.fb_kind == CONSOLE_FB_EGA_TEXT) {
		cols = scr.fb_width;
		rows = scr.fb_height;
	} else {
		if (!font_load() || (scr.fb_bpp != 32 && scr.fb_bpp != 24 && scr.fb_bpp != 16))
			return false;
		cols = scr.fb_width / 8;
		rows = scr.fb_height / glyph_h;
		fg = rgb(0xcc, 0xcc, 0xcc);
		bg = rgb(0, 0, 0);
	}
	if (!cols || !rows)
		return false;
	/* Clear whatever the boot loader left on the screen. */
	cur_x = 0;
	cur_y = 0;
	if (scr.fb_kind == CONSOLE_FB_EGA_TEXT) {
		for (unsigned i = 0; i < rows * cols; i++)
			text_put(i % cols, i / cols, ' ');
		return true;
	}
	fb_bytes = (size_t)scr.fb_pitch * scr.fb_height;
	paging_set_write_combining(scr.fb_phys, fb_bytes);
	shadow = kzalloc(fb_bytes);
	memset(scr.fb_virt, 0, fb_bytes);	/* black is 0 in every RGB layout */
	return true;
}

static void screen_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		screen_putc(s[i]);
}

static const struct console_driver screen_console = {
	.name = "screen",
	.setup = screen_setup,
	.write = screen_write,
};
CONSOLE_DRIVER(screen_console);
