/*
 * rtc: the MC146818 real-time clock and CMOS memory (ports 0x70/0x71) as
 * a PC kernel uses them.
 *
 * Register D says the time is valid, register B is BCD and 24-hour as
 * firmware leaves it; the time read with the update-in-progress protocol
 * is a plausible date whose weekday agrees with it; UIP rises once a
 * second. IRQ 8 (through the slave 8259) carries the periodic interrupt
 * at register A's rate, flagged in register C, which a read clears: until
 * it is read, no further interrupt comes. The clock is set with SET to
 * 2031-12-31 23:59:58; update-ended interrupts follow every second and the
 * alarm (seconds 0, minutes and hours "don't care") fires at the turn of
 * the year, a Thursday; the same moment reads correctly in binary and in
 * 12-hour format. NVRAM bytes round-trip (the index's bit 7 is the NMI
 * mask, not an address bit), and the memory-size bytes match the
 * multiboot memory map.
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"
#include "lapic.h"
#include "pc.h"

const char guest_name[] = "rtc";

#define VEC_BASE 0x20
#define RTC_IRQ 8
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define A_UIP 0x80
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_BINARY 0x04
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10

static uint64_t tsc_rate;

static uint64_t ms(unsigned int n)
{
	return udiv64(tsc_rate * n, 1000, NULL);
}

static uint8_t cmos_read(uint8_t idx)
{
	outb(0x70, idx);
	return inb(0x71);
}

static void cmos_write(uint8_t idx, uint8_t v)
{
	outb(0x70, idx);
	outb(0x71, v);
}

/* ---- IRQ 8 ---- */

static volatile unsigned int rtc_irqs, pf_count, uf_count, af_count;
static volatile uint8_t c_seen;
static volatile bool read_c = true;
static volatile uint64_t pf_tsc[16];

static void rtc_handler(struct trap_frame *f)
{
	uint8_t c;

	(void)f;
	rtc_irqs++;
	if (read_c) {
		c = cmos_read(REG_C);
		c_seen |= c;
		if ((c & C_PF) && pf_count < 16)
			pf_tsc[pf_count] = rdtsc();
		pf_count += !!(c & C_PF);
		uf_count += !!(c & C_UF);
		af_count += !!(c & C_AF);
	}
	pic_eoi(RTC_IRQ);
}

/* ---- the time ---- */

struct rtc_time {
	unsigned int sec, min, hour, wday, day, month, year, century;
};

static unsigned int from_bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0xf);
}

static void read_fields(struct rtc_time *t)
{
	uint8_t b = cmos_read(REG_B);
	uint8_t raw[8] = { cmos_read(0), cmos_read(2), cmos_read(4), cmos_read(6),
			   cmos_read(7), cmos_read(8), cmos_read(9), cmos_read(0x32) };
	unsigned int v[8];

	for (int i = 0; i < 8; i++)
		v[i] = b & B_BINARY ? raw[i] : from_bcd(raw[i]);
	/* Hours: bit 7 is PM in 12-hour mode. */
	v[2] = b & B_BINARY ? raw[2] & 0x7f : from_bcd(raw[2] & 0x7f);
	if (!(b & B_24H))
		v[2] = v[2] % 12 + (raw[2] & 0x80 ? 12 : 0);
	*t = (struct rtc_time){ v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7] };
}

/* The update-in-progress protocol: fields read while UIP is clear, twice alike. */
static bool read_time(struct rtc_time *t)
{
	struct rtc_time u;

	for (int tries = 0; tries < 100; tries++) {
		for (int i = 0; i < 100000 && (cmos_read(REG_A) & A_UIP); i++)
			;
		read_fields(t);
		read_fields(&u);
		if (!__builtin_memcmp(t, &u, sizeof(u)))
			return true;
	}
	return false;
}

static unsigned int days_in(unsigned int month, unsigned int year)
{
	static const uint8_t d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
		return 29;
	return d[(month - 1) % 12];
}

/* Day of the week as the RTC counts it: 1 = Sunday (Sakamoto's method). */
static unsigned int weekday(unsigned int y, unsigned int m, unsigned int d)
{
	static const uint8_t t[12] = { 0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4 };

	if (m < 3)
		y--;
	return (y + y / 4 - y / 100 + y / 400 + t[(m - 1) % 12] + d) % 7 + 1;
}

static void check_time(void)
{
	struct rtc_time t;
	unsigned int year;
	bool ok = read_time(&t);

	year = t.century * 100 + t.year;
	gprintf("rtc: %u-%02u-%02u %02u:%02u:%02u, weekday %u\n", year, t.month, t.day, t.hour,
		t.min, t.sec, t.wday);
	CHECKF(ok && t.sec < 60 && t.min < 60 && t.hour < 24 && t.month >= 1 && t.month <= 12 &&
	       t.day >= 1 && t.day <= days_in(t.month, year) && year >= 2024 && year <= 2099,
	       "plausible_date", "read %s", ok ? "fields out of range" : "never stable");
	CHECK_EQ(t.wday, weekday(year, t.month, t.day), "weekday_matches_date");
}

/*
 * UIP rises once a second (from 244 us before the update to the end of
 * its ~2 ms cycle): seen within a few seconds, and never more often than
 * once a second. (A few: the host may run other VMs during some windows.)
 */
static void check_uip(void)
{
	unsigned int rises = 0, polls = 0;
	bool last = true, uip;
	uint64_t t0, took;

	outb(0x70, REG_A);
	for (t0 = rdtsc(); rdtsc() - t0 < ms(5000) && rises < 2; polls++) {
		uip = inb(0x71) & A_UIP;
		rises += uip && !last;
		last = uip;
	}
	took = rdtsc() - t0;
	CHECKF(rises >= 1 && (rises < 2 || took >= ms(900)), "uip_once_a_second",
	       "UIP rose %u times in %llu ms (%u polls)", rises,
	       (unsigned long long)udiv64(took, (uint32_t)udiv64(tsc_rate, 1000, NULL), NULL),
	       polls);
}

static void check_periodic(void)
{
	unsigned int n, near;

	cmos_write(REG_A, 0x27); /* 32.768 kHz base, rate 7: 512 Hz */
	cmos_read(REG_C);
	cmos_write(REG_B, B_24H | B_PIE);
	wait_count(&pf_count, 16, ms(2000));
	near = gaps_near(pf_tsc, pf_count < 16 ? pf_count : 16, udiv64(tsc_rate, 512, NULL));
	CHECKF(pf_count >= 16 && (c_seen & (C_IRQF | C_PF)) == (C_IRQF | C_PF), "periodic_irq8",
	       "%u periodic interrupts, register C showed 0x%x", pf_count, c_seen);
	CHECKF(near >= 4, "periodic_rate", "%u of 15 gaps near the 512 Hz period", near);

	/* Until register C is read, IRQ 8 stays high: no new edge, no new interrupt. */
	read_c = false;
	n = rtc_irqs;
	wait_count(&rtc_irqs, n + 1, ms(1000));
	sti();
	wait_tsc(ms(30));
	cli();
	CHECKF(rtc_irqs == n + 1, "no_irq_until_c_read", "%u interrupts without reading C",
	       rtc_irqs - n);
	read_c = true;
	cmos_read(REG_C);
	CHECKF(wait_count(&rtc_irqs, n + 2, ms(1000)), "c_read_rearms", "no interrupt after");

	cmos_write(REG_B, B_24H);
	cmos_write(REG_A, 0x20);
	cmos_read(REG_C);
	CHECK_EQ(cmos_read(REG_C), 0, "c_clears_on_read");
}

/* Set 2031-12-31 23:59:58 (BCD, 24-hour); the turn of the year fires the alarm. */
static void check_set_and_alarm(void)
{
	static const uint8_t when[][2] = { { 0, 0x58 }, { 2, 0x59 }, { 4, 0x23 }, { 6, 0x04 },
					   { 7, 0x31 }, { 8, 0x12 }, { 9, 0x31 }, { 0x32, 0x20 } };
	struct rtc_time t;
	unsigned int beats;

	cmos_write(REG_B, B_24H | B_SET);
	for (unsigned int i = 0; i < sizeof(when) / sizeof(when[0]); i++)
		cmos_write(when[i][0], when[i][1]);
	cmos_write(REG_B, B_24H);
	read_time(&t);
	CHECKF(t.century == 20 && t.year == 31 && t.month == 12 && t.day == 31 && t.hour == 23 &&
	       t.min == 59 && t.sec >= 58, "set_time_reads_back", "%u%02u-%02u-%02u %02u:%02u:%02u",
	       t.century, t.year, t.month, t.day, t.hour, t.min, t.sec);

	cmos_write(1, 0x00); /* alarm: second 0, any minute, any hour */
	cmos_write(3, 0xff);
	cmos_write(5, 0xff);
	uf_count = af_count = 0;
	cmos_write(REG_A, 0x2f); /* 2 Hz periodic: a heartbeat while we wait */
	cmos_read(REG_C);
	cmos_write(REG_B, B_24H | B_PIE | B_AIE | B_UIE);
	beats = pf_count;
	while (!af_count && pf_count - beats < 12)
		asm volatile("sti; hlt; cli" : : : "memory");
	cmos_write(REG_B, B_24H);
	cmos_write(REG_A, 0x20);
	read_time(&t);
	CHECKF(uf_count >= 1, "update_ended_irq", "%u update-ended interrupts", uf_count);
	CHECKF(af_count == 1 && t.century == 20 && t.year == 32 && t.month == 1 && t.day == 1 &&
	       t.hour == 0 && t.min == 0 && t.sec <= 2, "alarm_at_new_year",
	       "%u alarms; then %u%02u-%02u-%02u %02u:%02u:%02u", af_count, t.century, t.year,
	       t.month, t.day, t.hour, t.min, t.sec);
	CHECK_EQ(t.wday, 5, "new_year_2032_is_thursday");

	/* The same moment in binary, then in 12-hour format (midnight is 12 AM). */
	cmos_write(REG_B, B_24H | B_BINARY);
	CHECKF(cmos_read(9) == 32 && cmos_read(8) == 1 && cmos_read(0x32) == 20 &&
	       cmos_read(4) == 0, "binary_mode", "year %u month %u century %u hour %u",
	       cmos_read(9), cmos_read(8), cmos_read(0x32), cmos_read(4));
	cmos_write(REG_B, 0);
	CHECK_EQ(cmos_read(4), 0x12, "hour_12_midnight_bcd");
	cmos_write(REG_B, B_24H);
}

static void check_nvram(void)
{
	uint8_t saved[8], bad = 0, nmi_alias;

	for (uint8_t i = 0; i < 8; i++)
		saved[i] = cmos_read(0x40 + i);
	for (uint8_t i = 0; i < 8; i++)
		cmos_write(0x40 + i, (uint8_t)(0xa5 ^ (i * 0x11)));
	for (uint8_t i = 0; i < 8; i++)
		bad += cmos_read(0x40 + i) != (uint8_t)(0xa5 ^ (i * 0x11));
	nmi_alias = cmos_read(0x80 | 0x43);
	for (uint8_t i = 0; i < 8; i++)
		cmos_write(0x40 + i, saved[i]);
	outb(0x70, 0x0d); /* leave the index on D, NMIs enabled */
	CHECKF(bad == 0, "nvram_round_trip", "%u of 8 bytes differ", bad);
	CHECK_EQ(nmi_alias, 0xa5 ^ 0x33, "index_bit7_is_nmi_mask");
}

/* Memory above 16 MiB in 64 KiB units (0x34-0x35) and above 1 MiB in KiB (0x30-0x31). */
static void check_memory_bytes(void)
{
	uint64_t top = 0x1000000ull + ((uint64_t)(cmos_read(0x34) | cmos_read(0x35) << 8) << 16);
	uint64_t ram = mem_top();
	uint32_t ext = cmos_read(0x30) | cmos_read(0x31) << 8;
	uint32_t want = (uint32_t)((top - 0x100000) >> 10);

	if (want > 0xfc00)
		want = 0xfc00;
	CHECKF(top >= ram && top - ram < 0x100000, "cmos_memory_above_16m",
	       "CMOS says RAM ends at 0x%llx, the memory map at 0x%llx", (unsigned long long)top,
	       (unsigned long long)ram);
	CHECKF(ext == want, "cmos_extended_memory", "0x%x KiB, want 0x%x", ext, want);
}

void guest_main(void)
{
	tsc_rate = tsc_hz();
	pic_init(VEC_BASE);
	lapic_enable();
	lapic_write(LAPIC_LVT_LINT0, LVT_EXTINT);
	irq_register(VEC_BASE + RTC_IRQ, rtc_handler);
	CHECKF(cmos_read(REG_D) & 0x80, "reg_d_valid_ram_time", "register D 0x%x",
	       cmos_read(REG_D));
	CHECKF((cmos_read(REG_B) & (B_SET | B_PIE | B_AIE | B_UIE | B_BINARY | B_24H)) == B_24H,
	       "reg_b_bcd_24h_quiet", "register B 0x%x", cmos_read(REG_B));
	check_time();
	check_uip();
	check_nvram();
	check_memory_bytes();
	cmos_read(REG_C);
	pic_mask((uint16_t)~((1u << 2) | (1u << RTC_IRQ)));
	check_periodic();
	check_set_and_alarm();
	pic_mask(0xffff);
}
