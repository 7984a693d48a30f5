/* PC platform helpers for the test guests (see pc.h). */
#include "guest.h"
#include "cpu.h"
#include "pc.h"

#define PORT_B 0x61
#define PORT_B_GATE2 0x01
#define PORT_B_SPEAKER 0x02
#define PORT_B_OUT2 0x20

/* ---- clock samples ---- */

struct clock_sample clock_sample(uint32_t (*read)(void))
{
	struct clock_sample best = { 0, 0 };
	uint64_t span = ~0ull;

	for (int i = 0; i < 8; i++) {
		uint64_t a = rdtsc();
		uint32_t v = read();
		uint64_t b = rdtsc();

		if (b - a < span) {
			span = b - a;
			best.tsc = a + (b - a) / 2;
			best.val = v;
		}
	}
	return best;
}

/* ---- 8254 channel 2 ---- */

/* As Linux calibrates: gate high and speaker off, then mode 0 and the count. */
void pit_ch2_start(uint16_t count)
{
	outb(PORT_B, (uint8_t)((inb(PORT_B) & ~PORT_B_SPEAKER) | PORT_B_GATE2));
	outb(0x43, 0xb0); /* channel 2, LSB then MSB, mode 0, binary */
	outb(0x42, (uint8_t)count);
	outb(0x42, (uint8_t)(count >> 8));
}

bool pit_ch2_out(void)
{
	return inb(PORT_B) & PORT_B_OUT2;
}

uint32_t pit_ch2_count(void)
{
	uint8_t lo;

	outb(0x43, 0x80); /* latch channel 2 */
	lo = inb(0x42);
	return lo | (uint32_t)inb(0x42) << 8;
}

void pit_ch2_stop(void)
{
	outb(PORT_B, (uint8_t)(inb(PORT_B) & ~(PORT_B_GATE2 | PORT_B_SPEAKER)));
}

uint64_t tsc_hz_cpuid(void)
{
	uint32_t max = cpuid(0, 0).eax;
	struct cpuid_regs r;

	if (max >= 0x15) {
		r = cpuid(0x15, 0);
		if (r.eax && r.ebx && r.ecx)
			return udiv64((uint64_t)r.ecx * r.ebx, r.eax, NULL);
	}
	if (max >= 0x16) {
		r = cpuid(0x16, 0);
		if (r.eax & 0xffff)
			return (uint64_t)(r.eax & 0xffff) * 1000000u;
	}
	return 0;
}

/*
 * Channel 2 counts down from 0xffff; two samples ~10 ms apart give its
 * rate against the TSC. If OUT2 rose (the count passed zero while the
 * host ran something else for more than 55 ms), the pair is thrown away
 * and we try again: a short window fits between two such pauses.
 */
uint64_t tsc_hz_pit(void)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		struct clock_sample a, b;
		bool passed_zero;
		uint32_t polls = 0;

		pit_ch2_start(0xffff);
		a = clock_sample(pit_ch2_count);
		while (pit_ch2_count() > 0xd000 && !pit_ch2_out() && ++polls < 1000000)
			;
		b = clock_sample(pit_ch2_count);
		passed_zero = pit_ch2_out();
		pit_ch2_stop();
		if (!passed_zero && b.val < a.val && b.tsc > a.tsc)
			return udiv64((b.tsc - a.tsc) * PIT_HZ, a.val - b.val, NULL);
	}
	return 0;
}

uint64_t tsc_hz(void)
{
	static uint64_t hz;

	if (!hz)
		hz = tsc_hz_cpuid();
	if (!hz)
		hz = tsc_hz_pit();
	return hz;
}

/* ---- 8259 pair ---- */

void pic_init(uint8_t base)
{
	outb(0x20, 0x11); /* ICW1: edge, cascade, ICW4 follows */
	outb(0x21, base); /* ICW2: vector base */
	outb(0x21, 0x04); /* ICW3: a slave on IR2 */
	outb(0x21, 0x01); /* ICW4: 8086 mode, normal EOI */
	outb(0xa0, 0x11);
	outb(0xa1, (uint8_t)(base + 8));
	outb(0xa1, 0x02); /* ICW3: slave ID 2 */
	outb(0xa1, 0x01);
	pic_mask(0xffff);
}

void pic_eoi(unsigned int irq)
{
	if (irq >= 8)
		outb(0xa0, 0x20);
	outb(0x20, 0x20);
}

void pic_mask(uint16_t mask)
{
	outb(0x21, (uint8_t)mask);
	outb(0xa1, (uint8_t)(mask >> 8));
}

/* ---- IOAPIC ---- */

uint32_t ioapic_read(uint32_t reg)
{
	*(volatile uint32_t *)IOAPIC_BASE = reg;
	return *(volatile uint32_t *)(IOAPIC_BASE + 0x10);
}

void ioapic_write(uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)IOAPIC_BASE = reg;
	*(volatile uint32_t *)(IOAPIC_BASE + 0x10) = val;
}

void ioapic_route(unsigned int pin, uint32_t low, uint8_t dest)
{
	ioapic_write(0x10 + 2 * pin, REDIR_MASKED);
	ioapic_write(0x11 + 2 * pin, (uint32_t)dest << 24);
	ioapic_write(0x10 + 2 * pin, low);
}

void ioapic_mask(unsigned int pin)
{
	ioapic_write(0x10 + 2 * pin, ioapic_read(0x10 + 2 * pin) | REDIR_MASKED);
}

/* ---- ACPI ---- */

/* A low physical address as a pointer, hidden from the compiler's null-page warnings. */
static const uint8_t *phys(uint32_t addr)
{
	uintptr_t p = addr;

	asm("" : "+r"(p));
	return (const uint8_t *)p;
}

uint8_t acpi_sum(const void *p, uint32_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *b++);
	return s;
}

static const uint8_t *scan_rsdp(uint32_t from, uint32_t to)
{
	for (uint32_t a = from & ~15u; a + 20 <= to; a += 16) {
		const uint8_t *p = phys(a);

		if (!__builtin_memcmp(p, "RSD PTR ", 8) && acpi_sum(p, 20) == 0)
			return p;
	}
	return NULL;
}

const uint8_t *acpi_rsdp(void)
{
	uint32_t ebda = (uint32_t)*(const volatile uint16_t *)phys(0x40e) << 4;
	const uint8_t *r = NULL;

	if (ebda >= 0x80000 && ebda < 0xa0000)
		r = scan_rsdp(ebda, ebda + 1024);
	return r ? r : scan_rsdp(0xe0000, 0x100000);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

const struct acpi_header *acpi_table(const char *sig, unsigned int n)
{
	const uint8_t *rsdp = acpi_rsdp(), *root;
	const struct acpi_header *h;
	uint32_t width = 4, count;

	if (!rsdp)
		return NULL;
	if (!__builtin_memcmp(sig, "DSDT", 4)) {
		const uint8_t *fadt = (const uint8_t *)acpi_table("FACP", 0);
		uint32_t dsdt;

		if (!fadt)
			return NULL;
		dsdt = rd32(fadt + 40);
		/* X_DSDT (ACPI 2.0+ FADT), when present and below 4 GiB, wins. */
		if (rd32(fadt + 4) >= 148 && rd32(fadt + 140) && !rd32(fadt + 144))
			dsdt = rd32(fadt + 140);
		return dsdt ? (const struct acpi_header *)phys(dsdt) : NULL;
	}
	if (rsdp[15] >= 2 && rd32(rsdp + 24) && !rd32(rsdp + 28)) {
		root = phys(rd32(rsdp + 24));
		width = 8;
	} else {
		root = phys(rd32(rsdp + 16));
	}
	h = (const struct acpi_header *)root;
	count = (h->length - sizeof(*h)) / width;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e = root + sizeof(*h) + width * i;
		const struct acpi_header *t;

		if (width == 8 && rd32(e + 4))
			continue; /* above 4 GiB: out of a 32-bit guest's reach */
		t = (const struct acpi_header *)phys(rd32(e));
		if (!__builtin_memcmp(t->sig, sig, 4) && n-- == 0)
			return t;
	}
	return NULL;
}

/* ---- PCI configuration mechanism #1 ---- */

static void cfg_address(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg)
{
	outl(0xcf8, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc));
}

uint32_t pci_cfg_read32(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg)
{
	cfg_address(bus, dev, fn, reg);
	return inl(0xcfc);
}

void pci_cfg_write32(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg,
		     uint32_t val)
{
	cfg_address(bus, dev, fn, reg);
	outl(0xcfc, val);
}

uint16_t pci_cfg_read16(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg)
{
	cfg_address(bus, dev, fn, reg);
	return inw((uint16_t)(0xcfc + (reg & 2)));
}

void pci_cfg_write16(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg,
		     uint16_t val)
{
	cfg_address(bus, dev, fn, reg);
	outw((uint16_t)(0xcfc + (reg & 2)), val);
}

uint8_t pci_cfg_read8(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg)
{
	cfg_address(bus, dev, fn, reg);
	return inb((uint16_t)(0xcfc + (reg & 3)));
}

unsigned int gaps_near(const volatile uint64_t *t, unsigned int n, uint64_t period)
{
	unsigned int near = 0;

	for (unsigned int i = 1; i < n; i++) {
		uint64_t g = t[i] - t[i - 1];

		near += g >= period * 4 / 5 && g <= period * 5 / 4;
	}
	return near;
}

bool wait_count(volatile unsigned int *counter, unsigned int want, uint64_t ticks)
{
	uint64_t t0 = rdtsc();
	bool ok;

	sti();
	while (*counter < want && rdtsc() - t0 < ticks)
		pause();
	cli();
	ok = *counter >= want;
	return ok;
}
