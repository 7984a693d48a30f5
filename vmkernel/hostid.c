/*
 * This host's identity (include/hostid.h). Computed once, on first use,
 * from everything that tells machines apart (SMBIOS UUID, NIC MACs) plus
 * a random nonce that tells boots apart, so two clones started from one
 * image still differ and a rebooted host never impersonates its previous
 * boot's heartbeat.
 */
#define pr_fmt(fmt) "hostid: " fmt
#include <stdio.h>
#include <string.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/cpu.h>
#include <vmkernel/hostid.h>
#include <vmkernel/log.h>
#include <vmkernel/sha256.h>
#include <vmkernel/smbios.h>
#include <vmkernel/spinlock.h>

#define MAX_MACS 16

static uint8_t macs[MAX_MACS][6];	/* lock */
static unsigned n_macs;
static uint8_t uuid[16];
static uint8_t boot_nonce[16];
static char name[32];
static const char *nonce_src = "none";
static volatile int state;		/* 0 none, 1 computing, 2 ready */
static struct spinlock lock = SPINLOCK_INIT("hostid");

void hostid_add_mac(const uint8_t mac[6])
{
	unsigned long flags = spin_lock_irqsave(&lock);

	if (n_macs < MAX_MACS)
		memcpy(macs[n_macs++], mac, 6);
	spin_unlock_irqrestore(&lock, flags);
	if (state)
		pr_warn("MAC registered after the identity was fixed; it is not part of it\n");
}

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

/* 32 random bytes: RDSEED, else RDRAND, else the jitter of timed port reads. */
static void nonce(struct sha256 *h)
{
	bool seed = cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ebx & (1u << 18));
	bool rand = cpuid(1, 0).ecx & (1u << 30);
	uint64_t v;
	unsigned got = 0;

	for (unsigned tries = 0; seed && got < 4 && tries < 100; tries++) {
		if (rdseed64(&v)) {
			sha256_update(h, &v, sizeof(v));
			got++;
		}
	}
	if (got == 4) {
		nonce_src = "RDSEED";
		return;
	}
	for (unsigned tries = 0; rand && got < 4 && tries < 100; tries++) {
		if (rdrand64(&v)) {
			sha256_update(h, &v, sizeof(v));
			got++;
		}
	}
	if (got == 4) {
		nonce_src = "RDRAND";
		return;
	}
	/* Each port read's duration varies with bus and emulator timing; 4096 of them. */
	for (unsigned i = 0; i < 4096; i++) {
		uint64_t t0 = rdtsc();

		(void)inb(0x80);
		v = rdtsc() - t0;
		sha256_update(h, &v, sizeof(v));
	}
	nonce_src = "TSC jitter";
}

static void compute(void)
{
	const struct smbios_system *sys = smbios_system();
	struct sha256 h;
	uint8_t out[32];
	uint64_t t = rdtsc();

	sha256_init(&h);
	sha256_update(&h, "vmkernel host identity v1", 25);
	if (sys->found && sys->uuid_valid)
		sha256_update(&h, sys->uuid, 16);
	sha256_update(&h, macs, sizeof(macs[0]) * n_macs);
	nonce(&h);
	sha256_update(&h, &t, sizeof(t));
	sha256_final(&h, out);
	memcpy(uuid, out, 16);
	memcpy(boot_nonce, out + 16, 16);	/* the hash's other half: random per boot too */
	boot_nonce[15] |= 1;			/* never all zero */
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);	/* RFC 4122 version 4 (random) */
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
	if (bootparam_get("hostname") && *bootparam_get("hostname"))
		snprintf(name, sizeof(name), "%.31s", bootparam_get("hostname"));
	else
		snprintf(name, sizeof(name), "vmkernel-%02x%02x%02x%02x", uuid[0], uuid[1], uuid[2],
			 uuid[3]);
	pr_info("host identity %02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x "
		"(%s): from %s, %u NIC MAC(s), boot nonce by %s\n", uuid[0], uuid[1], uuid[2], uuid[3],
		uuid[4], uuid[5], uuid[6], uuid[7], uuid[8], uuid[9], uuid[10], uuid[11], uuid[12],
		uuid[13], uuid[14], uuid[15], name,
		sys->found && sys->uuid_valid ? "the SMBIOS system UUID" : "no SMBIOS UUID", n_macs,
		nonce_src);
}

const uint8_t *hostid_uuid(void)
{
	unsigned long flags = spin_lock_irqsave(&lock);

	if (state == 0) {
		state = 1;
		spin_unlock_irqrestore(&lock, flags);
		compute();
		__atomic_store_n(&state, 2, __ATOMIC_RELEASE);
	} else {
		spin_unlock_irqrestore(&lock, flags);
		while (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != 2)
			cpu_relax();
	}
	return uuid;
}

const uint8_t *hostid_boot_nonce(void)
{
	hostid_uuid();
	return boot_nonce;
}

const char *hostid_name(void)
{
	hostid_uuid();
	return name;
}

const char *hostid_nonce_source(void)
{
	hostid_uuid();
	return nonce_src;
}
