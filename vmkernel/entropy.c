/*
 * Random bytes for guests (include/vmkernel/entropy.h).
 *
 * Hardware first: RDSEED gives conditioned entropy straight from the
 * CPU's noise source, RDRAND the output of the CPU's own DRBG reseeded
 * from it. Both may fail transiently (CF clear) when drained; a word is
 * retried a bounded number of times (RDSEED, then RDRAND), then the
 * software generator fills in, so a guest that drains the CPU's generator slows itself, not the
 * host, and never gets zeros.
 *
 * Software generator: key = SHA-256 of 4096 timed port reads, the host
 * identity and the TSC; block n = SHA-256(key || n). After each call the
 * key is replaced by a fresh block (forward secrecy: a later key reveals
 * nothing of earlier output). The seed's quality is what the platform's
 * timing gives; on real hardware the jitter is real, under an emulator it
 * may be replayable, so the first time its bytes go to a guest the log
 * says so, as a warning. The in-kernel test below exercises it on every
 * CPU model, with or without the instructions.
 *
 * Locking: `lock` guards the software generator's key, counter and flags; the
 * source choice is made once (cpuid is the same on every CPU).
 */
#define pr_fmt(fmt) "entropy: " fmt
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/entropy.h>
#include <vmkernel/hostid.h>
#include <vmkernel/ktest.h>
#include <vmkernel/log.h>
#include <vmkernel/sha256.h>
#include <vmkernel/spinlock.h>

#define CPUID_7_EBX_RDSEED	(1u << 18)	/* SDM Vol. 2A, CPUID leaf 07H */
#define CPUID_1_ECX_RDRAND	(1u << 30)	/* SDM Vol. 2A, CPUID leaf 01H */
#define HW_RETRIES		16

enum src { SRC_UNKNOWN, SRC_RDSEED, SRC_RDRAND, SRC_SOFT };

static volatile enum src src;
static bool has_rdrand;		/* set with src */
static struct spinlock lock = SPINLOCK_INIT("entropy");
static uint8_t key[32];		/* lock */
static uint64_t counter;	/* lock */
static bool seeded;		/* lock */
static bool warned;		/* lock: the log said a guest gets the software generator's bytes */

static bool rdseed64(uint64_t *v)
{
	bool ok;

	asm volatile("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok));
	return ok;
}

static bool rdrand64(uint64_t *v)
{
	bool ok;

	asm volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
	return ok;
}

static enum src pick(void)
{
	if (src != SRC_UNKNOWN)
		return src;
	has_rdrand = cpuid(1, 0).ecx & CPUID_1_ECX_RDRAND;
	if (cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ebx & CPUID_7_EBX_RDSEED))
		src = SRC_RDSEED;
	else if (has_rdrand)
		src = SRC_RDRAND;
	else
		src = SRC_SOFT;
	return src;
}

const char *entropy_source(void)
{
	switch (pick()) {
	case SRC_RDSEED: return "RDSEED";
	case SRC_RDRAND: return "RDRAND";
	default: return "software generator (TSC jitter seed)";
	}
}

bool entropy_is_hardware(void)
{
	return pick() != SRC_SOFT;
}

/* lock held */
static void seed(void)
{
	struct sha256 h;
	uint64_t t = rdtsc();

	sha256_init(&h);
	sha256_update(&h, "vmkernel entropy v1", 19);
	sha256_update(&h, hostid_uuid(), 16);
	sha256_update(&h, hostid_boot_nonce(), 16);
	for (unsigned i = 0; i < 4096; i++) {
		uint64_t t0 = rdtsc();

		(void)inb(0x80);
		t0 = rdtsc() - t0;
		sha256_update(&h, &t0, sizeof(t0));
	}
	sha256_update(&h, &t, sizeof(t));
	sha256_final(&h, key);
	seeded = true;
}

/* lock held */
static void block(uint8_t out[32])
{
	struct sha256 h;

	sha256_init(&h);
	sha256_update(&h, key, sizeof(key));
	sha256_update(&h, &counter, sizeof(counter));
	sha256_final(&h, out);
	counter++;
}

/* for_guest: the bytes go to a guest (the first time, the log says where they come from). */
static void soft(uint8_t *p, size_t len, bool for_guest)
{
	unsigned long flags = spin_lock_irqsave(&lock);
	uint8_t b[32];

	if (!seeded)
		seed();
	if (for_guest && !warned) {
		warned = true;
		pr_warn("no RDSEED/RDRAND used: guests' random bytes come from a SHA-256 generator "
			"seeded from timing jitter, which an emulator may make predictable\n");
	}
	while (len) {
		size_t n = len < sizeof(b) ? len : sizeof(b);

		block(b);
		memcpy(p, b, n);
		p += n;
		len -= n;
	}
	block(key);	/* forward secrecy: the key that made this output is gone */
	memset(b, 0, sizeof(b));
	spin_unlock_irqrestore(&lock, flags);
}

/* One word from the CPU: RDSEED (if chosen), then RDRAND, each retried a few times. */
static bool hw_word(enum src s, uint64_t *v)
{
	for (unsigned i = 0; s == SRC_RDSEED && i < HW_RETRIES; i++) {
		if (rdseed64(v))
			return true;
		cpu_relax();
	}
	for (unsigned i = 0; has_rdrand && i < HW_RETRIES; i++) {
		if (rdrand64(v))
			return true;
		cpu_relax();
	}
	return false;
}

void entropy_get(void *buf, size_t len)
{
	enum src s = pick();
	uint8_t *p = buf;

	while (len && s != SRC_SOFT) {
		uint64_t v;
		size_t n = len < sizeof(v) ? len : sizeof(v);

		if (!hw_word(s, &v))
			break;		/* drained: the rest from the software generator */
		memcpy(p, &v, n);
		p += n;
		len -= n;
	}
	if (len)
		soft(p, len, true);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			return false;
	}
	return true;
}

/* Both sources give bytes that are not zeros and not the same twice (a stuck source fails). */
KTEST(entropy_sources)
{
	uint8_t a[64], b[64];

	soft(a, sizeof(a), false);
	soft(b, sizeof(b), false);
	KT_ASSERT(!all_zero(a, sizeof(a)) && !all_zero(b, sizeof(b)));
	KT_ASSERT(memcmp(a, b, sizeof(a)) != 0);
	KT_ASSERT(memcmp(a, b + 32, 32) != 0);		/* blocks are not repeated across calls */
	entropy_get(a, sizeof(a));
	entropy_get(b, sizeof(b));
	KT_ASSERT(!all_zero(a, sizeof(a)) && !all_zero(b, sizeof(b)));
	KT_ASSERT(memcmp(a, b, sizeof(a)) != 0);
}
