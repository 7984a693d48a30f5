/*
 * Calendar time (vmkernel/lib/caltime.c): seconds since 1970-01-01 UTC to
 * and from year/month/day/hour/minute/second, and the BCD helpers of the
 * MC146818 RTC. Pure logic, host unit-tested.
 */
#ifndef CALTIME_H
#define CALTIME_H

#include <stdbool.h>
#include <stdint.h>

struct caltime {
	unsigned year;		/* 1970.. */
	unsigned month;		/* 1..12 */
	unsigned day;		/* 1..31 */
	unsigned hour, min, sec;
	unsigned wday;		/* 1 = Sunday .. 7 = Saturday, as the RTC counts */
};

uint64_t caltime_to_epoch(const struct caltime *t);
void caltime_from_epoch(uint64_t secs, struct caltime *t);
bool caltime_valid(const struct caltime *t);
static inline uint8_t bcd_from_bin(unsigned v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}
static inline unsigned bin_from_bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0xf);
}

#endif
