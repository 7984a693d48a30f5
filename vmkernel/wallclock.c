/*
 * Wall-clock time: the platform's MC146818-compatible CMOS clock is read
 * once at boot (after the update-in-progress flag falls, twice until two
 * reads agree, so no read straddles an update), in BCD or binary and 12
 * or 24 hour format as register B says, century from register 0x32 when
 * it is plausible. The result, taken as UTC, is paired with the TSC at
 * that moment; time then comes from the TSC.
 */
#define pr_fmt(fmt) "wallclock: " fmt
#include <vmkernel/caltime.h>
#include <vmkernel/cpu.h>
#include <vmkernel/init.h>
#include <vmkernel/log.h>
#include <vmkernel/timer.h>
#include <vmkernel/wallclock.h>

static uint64_t boot_epoch_ns, boot_tsc;
static bool valid;

static uint8_t cmos(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static bool read_rtc(struct caltime *t)
{
	uint8_t b = cmos(0x0b), cent;
	bool bin = b & 0x04, h24 = b & 0x02;
	unsigned tries;
	uint8_t r[7], r2[7];
	static const uint8_t regs[7] = { 0, 2, 4, 7, 8, 9, 0x32 };

	for (tries = 0; tries < 10; tries++) {
		for (unsigned spin = 0; (cmos(0x0a) & 0x80) && spin < 100000; spin++)
			;
		for (int i = 0; i < 7; i++)
			r[i] = cmos(regs[i]);
		for (int i = 0; i < 7; i++)
			r2[i] = cmos(regs[i]);
		if (!__builtin_memcmp(r, r2, sizeof(r)))
			break;
	}
	if (tries == 10)
		return false;
	#define V(x) (bin ? (x) : bin_from_bcd(x))
	t->sec = V(r[0]);
	t->min = V(r[1]);
	t->hour = V(r[2] & 0x7f);
	if (!h24) {
		t->hour %= 12;
		if (r[2] & 0x80)
			t->hour += 12;
	}
	t->day = V(r[3]);
	t->month = V(r[4]);
	cent = (uint8_t)V(r[6]);
	t->year = (cent >= 19 && cent <= 30 ? cent : 20) * 100 + V(r[5]);
	#undef V
	return caltime_valid(t);
}

static int wallclock_init(void)
{
	struct caltime t;

	boot_tsc = rdtsc();
	if (!(cmos(0x0d) & 0x80) || !read_rtc(&t)) {
		pr_warn("the CMOS real-time clock could not be read; wall-clock time starts at "
			"1970-01-01\n");
		return 0;
	}
	boot_epoch_ns = caltime_to_epoch(&t) * 1000000000ULL;
	valid = true;
	pr_info("%04u-%02u-%02u %02u:%02u:%02u UTC (from the CMOS clock)\n", t.year, t.month,
		t.day, t.hour, t.min, t.sec);
	return 0;
}
INIT_LEVEL(wallclock_init, INIT_PLATFORM);

uint64_t wallclock_ns(void)
{
	uint64_t d = rdtsc() - boot_tsc, hz = tsc_hz();

	return boot_epoch_ns + (hz ? d / hz * 1000000000ULL + d % hz * 1000000000ULL / hz : 0);
}

bool wallclock_valid(void)
{
	return valid;
}
