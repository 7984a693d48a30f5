/*
 * fwcfg: QEMU's firmware configuration interface (QEMU docs/specs/
 * fw_cfg.rst) as firmware and kernels read it: selector 0x510, data
 * 0x511, DMA address 0x514/0x518 (big-endian halves; the low half's write
 * starts the transfer).
 *
 * The "QEMU" signature; the interface ID with its DMA bit; "QEMU CFG" at
 * the DMA port; the RAM size against the multiboot memory map; the CPU
 * counts (this VM has 2 vCPUs); the file directory (names, selectors,
 * sizes) with etc/e820, whose RAM covers the multiboot map's (and, under
 * vmkernel, is the same map); a select rewinds; reads past an item's end
 * or of an absent item give zeros. DMA: a read with select gives what the
 * data port gives, skip moves the offset, a write is refused with the
 * error bit and changes nothing, and (vmkernel) a buffer outside RAM is
 * an error too.
 */
#include "guest.h"
#include "cpu.h"
#include "pc.h"

const char guest_name[] = "fwcfg";

#define NCPUS 2 /* fwcfg.vmx's numvcpus, and run-qemu.sh's -smp */
#define SEL_SIGNATURE 0x0000
#define SEL_ID 0x0001
#define SEL_UUID 0x0002
#define SEL_RAM_SIZE 0x0003
#define SEL_NB_CPUS 0x0005
#define SEL_MAX_CPUS 0x000f
#define SEL_FILE_DIR 0x0019
#define DMA_ERROR 0x01
#define DMA_READ 0x02
#define DMA_SKIP 0x04
#define DMA_SELECT 0x08
#define DMA_WRITE 0x10

struct dma_access {
	uint32_t control, length; /* big-endian */
	uint64_t address;
} __attribute__((packed, aligned(8)));

struct file_entry {
	uint32_t size; /* big-endian */
	uint16_t select; /* big-endian */
	uint16_t reserved;
	char name[56];
} __attribute__((packed));
_Static_assert(sizeof(struct file_entry) == 64, "fw_cfg file directory entry");

struct e820 {
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct e820) == 20, "etc/e820 entry");

static uint8_t dir_pio[4 + 64 * 32], dir_dma[sizeof(dir_pio)];
static uint8_t e820_pio[20 * 16], e820_dma[sizeof(e820_pio)];

static void fw_select(uint16_t sel)
{
	outw(0x510, sel);
}

static void fw_read(void *buf, uint32_t n)
{
	uint8_t *b = buf;

	while (n--)
		*b++ = inb(0x511);
}

static void item(uint16_t sel, void *buf, uint32_t n)
{
	fw_select(sel);
	fw_read(buf, n);
}

static uint32_t be32(uint32_t v)
{
	return __builtin_bswap32(v);
}

/* One DMA request; returns the control word the device left (0 = done). */
static uint32_t dma(uint32_t control, void *buf, uint32_t len)
{
	static struct dma_access rec;

	rec.control = be32(control);
	rec.length = be32(len);
	rec.address = __builtin_bswap64((uint64_t)(uintptr_t)buf);
	outl(0x514, 0);
	outl(0x518, be32((uint32_t)(uintptr_t)&rec));
	return be32(*(volatile uint32_t *)&rec.control);
}

static bool all_zero(const uint8_t *b, unsigned int n)
{
	while (n--) {
		if (*b++)
			return false;
	}
	return true;
}

static void check_items(void)
{
	char sig[5] = { 0 }, cfg[9] = { 0 };
	uint32_t id = 0, hi, lo;
	uint64_t ram = 0, top = mem_top();
	uint16_t cpus = 0, max = 0;

	item(SEL_SIGNATURE, sig, 4);
	CHECKF(!__builtin_memcmp(sig, "QEMU", 4), "signature", "read '%s'", sig);
	item(SEL_ID, &id, 4);
	CHECKF((id & 3) == 3, "id_traditional_and_dma", "interface ID 0x%x", id);
	hi = inl(0x514);
	lo = inl(0x518);
	__builtin_memcpy(cfg, &hi, 4);
	__builtin_memcpy(cfg + 4, &lo, 4);
	CHECKF(!__builtin_memcmp(cfg, "QEMU CFG", 8), "dma_signature", "read '%s'", cfg);
	item(SEL_RAM_SIZE, &ram, 8);
	CHECKF(ram >= top && ram - top < 0x100000, "ram_size_matches_memory_map",
	       "fw_cfg says 0x%llx bytes, the memory map's RAM ends at 0x%llx",
	       (unsigned long long)ram, (unsigned long long)top);
	item(SEL_NB_CPUS, &cpus, 2);
	item(SEL_MAX_CPUS, &max, 2);
	CHECKF(cpus == NCPUS && max >= cpus, "cpu_counts", "%u CPUs, at most %u", cpus, max);
	/* A select rewinds; past the end and absent items read as zeros. */
	fw_select(SEL_SIGNATURE);
	fw_read(sig, 2);
	item(SEL_SIGNATURE, sig, 4);
	CHECKF(!__builtin_memcmp(sig, "QEMU", 4), "select_rewinds", "read '%s'", sig);
	{
		uint8_t buf[12];

		item(SEL_RAM_SIZE, buf, sizeof(buf));
		CHECK(all_zero(buf + 8, 4), "read_past_end_zeros");
		item(0x7fff, buf, sizeof(buf));
		CHECK(all_zero(buf, sizeof(buf)), "absent_item_zeros");
	}
	if (!vmk_skip("uuid_version_4")) {
		uint8_t u[16];

		item(SEL_UUID, u, 16);
		CHECKF(!all_zero(u, 16) && (u[6] >> 4) == 4 && (u[8] >> 6) == 2, "uuid_version_4",
		       "bytes 6 and 8: 0x%x 0x%x", u[6], u[8]);
	}
}

static bool name_is_terminated(const char *n)
{
	for (unsigned int i = 0; i < 56; i++) {
		if (!n[i])
			return true;
	}
	return false;
}

static bool name_is(const char *n, const char *want)
{
	unsigned int i;

	for (i = 0; i < 56 && want[i] && n[i] == want[i]; i++)
		;
	return i < 56 && !want[i] && !n[i];
}

/* The directory entry named name, or NULL. */
static const struct file_entry *find_file(const uint8_t *dir, const char *name)
{
	uint32_t n = be32(*(const uint32_t *)dir);

	for (uint32_t i = 0; i < n && i < 32; i++) {
		const struct file_entry *f = (const struct file_entry *)(dir + 4 + 64 * i);

		if (name_is(f->name, name))
			return f;
	}
	return NULL;
}

static const struct file_entry *check_dir(void)
{
	uint32_t n, bad = 0;
	const struct file_entry *e820;

	item(SEL_FILE_DIR, dir_pio, sizeof(dir_pio));
	n = be32(*(uint32_t *)dir_pio);
	for (uint32_t i = 0; i < n && i < 32; i++) {
		const struct file_entry *f = (const struct file_entry *)(dir_pio + 4 + 64 * i);

		bad += !name_is_terminated(f->name) || !f->name[0] ||
		       __builtin_bswap16(f->select) < 0x20 || be32(f->size) > (16u << 20);
	}
	CHECKF(n >= 1 && !bad, "file_directory", "%u files, %u malformed", n, bad);
	e820 = find_file(dir_pio, "etc/e820");
	CHECKF(e820 && be32(e820->size) && be32(e820->size) % 20 == 0 &&
	       be32(e820->size) <= sizeof(e820_pio), "etc_e820_listed", "size %u",
	       e820 ? be32(e820->size) : 0);
	if (!vmk_skip("bootorder_listed"))
		CHECK(find_file(dir_pio, "bootorder"), "bootorder_listed");
	return e820 && be32(e820->size) <= sizeof(e820_pio) ? e820 : NULL;
}

/* Does [a, a + len) lie inside some RAM entry of etc/e820? */
static bool in_e820_ram(uint64_t a, uint64_t len, unsigned int n)
{
	const struct e820 *e = (const struct e820 *)e820_pio;

	for (unsigned int i = 0; i < n; i++) {
		if (e[i].type == 1 && a >= e[i].addr && a + len <= e[i].addr + e[i].len)
			return true;
	}
	return false;
}

static void check_e820(const struct file_entry *f)
{
	const struct mb1_info *mbi = (const struct mb1_info *)(uintptr_t)boot_mbi;
	unsigned int n = be32(f->size) / 20, m = 0, outside = 0, differ = 0;
	const struct e820 *e = (const struct e820 *)e820_pio;

	item(__builtin_bswap16(f->select), e820_pio, be32(f->size));
	for (uint32_t off = 0; (mbi->flags & MB1_INFO_MMAP) && off + 4 <= mbi->mmap_length; m++) {
		const struct mb1_mmap_entry *me = (const void *)(uintptr_t)(mbi->mmap_addr + off);

		outside += me->type == 1 && me->len && !in_e820_ram(me->addr, me->len, n);
		differ += m >= n || me->addr != e[m].addr || me->len != e[m].len ||
			  me->type != e[m].type;
		off += me->size + 4;
	}
	CHECKF(m > 0 && !outside, "e820_covers_memory_map_ram",
	       "%u of the memory map's RAM ranges are not RAM in etc/e820", outside);
	/* vmkernel's multiboot map is the machine's E820 map itself. */
	if (!vmk_skip("e820_is_the_memory_map"))
		CHECKF(m == n && !differ, "e820_is_the_memory_map",
		       "%u multiboot entries, %u in etc/e820, %u differ", m, n, differ);
}

static void check_dma(const struct file_entry *e820)
{
	uint32_t c, size = be32(e820->size);
	uint16_t sel = __builtin_bswap16(e820->select);
	char sig[4];
	uint8_t entry[20];

	__builtin_memset(dir_dma, 0xee, sizeof(dir_dma));
	c = dma((uint32_t)SEL_FILE_DIR << 16 | DMA_SELECT | DMA_READ, dir_dma, sizeof(dir_dma));
	CHECKF(c == 0 && !__builtin_memcmp(dir_dma, dir_pio, sizeof(dir_pio)), "dma_read_dir",
	       "control 0x%x, data %s", c,
	       __builtin_memcmp(dir_dma, dir_pio, sizeof(dir_pio)) ? "differs" : "same");
	c = dma((uint32_t)sel << 16 | DMA_SELECT | DMA_READ, e820_dma, size);
	CHECKF(c == 0 && !__builtin_memcmp(e820_dma, e820_pio, size), "dma_read_e820",
	       "control 0x%x", c);
	c = dma((uint32_t)sel << 16 | DMA_SELECT | DMA_SKIP, NULL, 20);
	c |= dma(DMA_READ, entry, 20);
	CHECKF(c == 0 && (size < 40 || !__builtin_memcmp(entry, e820_pio + 20, 20)), "dma_skip",
	       "control 0x%x", c);
	static char junk[4] = { 'X', 'X', 'X', 'X' };

	c = dma((uint32_t)SEL_SIGNATURE << 16 | DMA_SELECT | DMA_WRITE, junk, 4);
	item(SEL_SIGNATURE, sig, 4);
	CHECKF((c & DMA_ERROR) && !__builtin_memcmp(sig, "QEMU", 4), "dma_write_refused",
	       "control 0x%x, signature now %.4s", c, sig);
	/* Under vmkernel the VGA hole is not RAM: a DMA read into it fails. */
	if (!vmk_skip("dma_outside_ram_error")) {
		c = dma((uint32_t)SEL_SIGNATURE << 16 | DMA_SELECT | DMA_READ,
			(void *)(uintptr_t)0xa0000, 4);
		CHECKF(c & DMA_ERROR, "dma_outside_ram_error", "control 0x%x", c);
	}
}

void guest_main(void)
{
	const struct file_entry *e820;

	check_items();
	e820 = check_dir();
	if (!e820)
		return;
	check_e820(e820);
	check_dma(e820);
}
