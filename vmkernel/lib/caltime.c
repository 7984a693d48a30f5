/*
 * Calendar arithmetic on the proleptic Gregorian calendar, from 1970 on:
 * days since the epoch by the usual civil-from-days / days-from-civil
 * method (March-based years, so February's leap day comes last).
 */
#include <vmkernel/caltime.h>

static bool leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned char d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap(y) ? 29 : d[m - 1];
}

bool caltime_valid(const struct caltime *t)
{
	return t->year >= 1970 && t->year < 10000 && t->month >= 1 && t->month <= 12 &&
	       t->day >= 1 && t->day <= days_in_month(t->year, t->month) && t->hour < 24 &&
	       t->min < 60 && t->sec < 60;
}

/* Days from 1970-01-01 to y-m-d. */
static uint64_t days_from_civil(unsigned y, unsigned m, unsigned d)
{
	unsigned era, yoe, doy, doe;

	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (uint64_t)era * 146097 + doe - 719468;
}

uint64_t caltime_to_epoch(const struct caltime *t)
{
	return days_from_civil(t->year, t->month, t->day) * 86400 + t->hour * 3600 +
	       t->min * 60 + t->sec;
}

void caltime_from_epoch(uint64_t secs, struct caltime *t)
{
	uint64_t days = secs / 86400, z = days + 719468;
	unsigned rem = (unsigned)(secs % 86400);
	unsigned era = (unsigned)(z / 146097), doe = (unsigned)(z - (uint64_t)era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;

	t->day = doy - (153 * mp + 2) / 5 + 1;
	t->month = mp < 10 ? mp + 3 : mp - 9;
	t->year = yoe + era * 400 + (t->month <= 2);
	t->hour = rem / 3600;
	t->min = rem / 60 % 60;
	t->sec = rem % 60;
	t->wday = (unsigned)((days + 4) % 7) + 1;	/* 1970-01-01 was a Thursday */
}
