/*
 * SMBIOS reader. The entry point is found in the EFI configuration table
 * (UEFI boots: GRUB hands over the system table) or, on BIOS machines, on
 * a 16-byte boundary in 0xf0000-0xfffff. Every pointer and length in it
 * comes from firmware and is bounds-checked; a bad table is reported and
 * the host carries on without (its identity then rests on MACs and the
 * boot nonce).
 */
#define pr_fmt(fmt) "smbios: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/init.h>
#include <vmkernel/log.h>
#include <vmkernel/paging.h>
#include <vmkernel/smbios.h>

#define SMBIOS_MAX_TABLE (1u << 20)

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* String number n (1-based) after the formatted area at p (end: table end). */
static void string_at(const uint8_t *p, const uint8_t *end, uint8_t n, char *out, size_t outlen)
{
	out[0] = '\0';
	if (!n)
		return;
	while (p < end && --n) {
		while (p < end && *p)
			p++;
		p++;
	}
	if (p >= end)
		return;
	for (size_t i = 0; i + 1 < outlen && p < end && *p; i++, p++)
		out[i] = *p >= 0x20 && *p < 0x7f ? (char)*p : '?';
	out[outlen - 1] = '\0';
}

static bool uuid_usable(const uint8_t *u)
{
	bool zero = true, ones = true;

	for (unsigned i = 0; i < 16; i++) {
		zero &= u[i] == 0;
		ones &= u[i] == 0xff;
	}
	return !zero && !ones;
}

static int walk(const uint8_t *t, size_t len, struct smbios_system *out, char *err, size_t errlen)
{
	const uint8_t *p = t, *end = t + len;

	while (p + 4 <= end) {
		uint8_t type = p[0], flen = p[1];
		const uint8_t *s = p + flen;

		if (flen < 4 || s > end) {
			snprintf(err, errlen, "structure at offset %zu has length %u", (size_t)(p - t),
				 flen);
			return -EINVAL;
		}
		while (s + 1 < end && (s[0] || s[1]))
			s++;
		if (type == 1 && flen >= 0x19) {
			out->found = true;
			memcpy(out->uuid, p + 8, 16);
			out->uuid_valid = uuid_usable(out->uuid);
			string_at(p + flen, end, p[4], out->manufacturer, sizeof(out->manufacturer));
			string_at(p + flen, end, p[5], out->product, sizeof(out->product));
			string_at(p + flen, end, p[7], out->serial, sizeof(out->serial));
			return 0;
		}
		if (type == 127)
			break;
		p = s + 2;
	}
	snprintf(err, errlen, "no System Information (type 1) structure");
	return -EINVAL;
}

int smbios_parse(const void *ep, size_t ep_len,
		 const void *(*map)(void *ctx, uint64_t phys, size_t len), void *ctx,
		 struct smbios_system *out, char *err, size_t errlen)
{
	const uint8_t *e = ep;
	uint64_t addr;
	size_t len;
	const void *t;

	memset(out, 0, sizeof(*out));
	if (ep_len >= 24 && !memcmp(e, "_SM3_", 5)) {
		if (e[6] < 24 || e[6] > ep_len || sum(e, e[6])) {
			snprintf(err, errlen, "SMBIOS 3 entry point checksum or length is wrong");
			return -EINVAL;
		}
		snprintf(out->version, sizeof(out->version), "%u.%u", e[7], e[8]);
		len = (size_t)(e[12] | e[13] << 8 | e[14] << 16 | (uint32_t)e[15] << 24);
		memcpy(&addr, e + 16, 8);
	} else if (ep_len >= 31 && !memcmp(e, "_SM_", 4)) {
		if (e[5] < 31 || e[5] > ep_len || sum(e, e[5]) || memcmp(e + 16, "_DMI_", 5) ||
		    sum(e + 16, 15)) {
			snprintf(err, errlen, "SMBIOS 2 entry point checksum or anchor is wrong");
			return -EINVAL;
		}
		snprintf(out->version, sizeof(out->version), "%u.%u", e[6], e[7]);
		len = (size_t)(e[22] | e[23] << 8);
		addr = (uint64_t)(e[24] | e[25] << 8 | e[26] << 16 | (uint32_t)e[27] << 24);
	} else {
		snprintf(err, errlen, "no SMBIOS anchor");
		return -EINVAL;
	}
	if (!len || len > SMBIOS_MAX_TABLE || !(t = map(ctx, addr, len))) {
		snprintf(err, errlen, "structure table at %#llx (%zu bytes) is not readable",
			 (unsigned long long)addr, len);
		return -EINVAL;
	}
	return walk(t, len, out, err, errlen);
}

/* ---- the boot's tables ---- */

static struct smbios_system sys;

const struct smbios_system *smbios_system(void)
{
	return &sys;
}

static const void *kmap(void *ctx, uint64_t phys, size_t len)
{
	(void)ctx;
	return paging_phys_mapped(phys, len) ? phys_to_virt(phys) : NULL;
}

/* EFI: SMBIOS3 / SMBIOS GUIDs in the system table's configuration table (UEFI 2.10 4.6). */
static const uint8_t *efi_entry(uint64_t systab)
{
	static const uint8_t g3[16] = { 0x44, 0x15, 0xfd, 0xf2, 0x94, 0x97, 0x2c, 0x4a,
					0x99, 0x2e, 0xe5, 0xbb, 0xcf, 0x20, 0xe3, 0x94 };
	static const uint8_t g2[16] = { 0x31, 0x2d, 0x9d, 0xeb, 0x88, 0x2d, 0xd3, 0x11,
					0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d };
	const uint8_t *st = kmap(NULL, systab, 120), *ct, *found = NULL;
	uint64_t n, ptr;

	if (!st)
		return NULL;
	memcpy(&n, st + 104, 8);
	memcpy(&ptr, st + 112, 8);
	if (n > 256 || !(ct = kmap(NULL, ptr, n * 24)))
		return NULL;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t p;

		memcpy(&p, ct + 24 * i + 16, 8);
		if (!memcmp(ct + 24 * i, g3, 16))
			return kmap(NULL, p, 32);
		if (!memcmp(ct + 24 * i, g2, 16) && !found)
			found = kmap(NULL, p, 32);
	}
	return found;
}

static const uint8_t *bios_entry(void)
{
	const uint8_t *seg = kmap(NULL, 0xf0000, 0x10000);

	for (unsigned off = 0; seg && off + 32 <= 0x10000; off += 16) {
		if (!memcmp(seg + off, "_SM3_", 5) || !memcmp(seg + off, "_SM_", 4))
			return seg + off;
	}
	return NULL;
}

static int smbios_init(void)
{
	uint64_t systab = boot_efi_systab();
	const uint8_t *ep = systab ? efi_entry(systab) : bios_entry();
	char err[96];

	if (!ep) {
		pr_info("no SMBIOS tables found\n");
		return 0;
	}
	if (smbios_parse(ep, 32, kmap, NULL, &sys, err, sizeof(err))) {
		pr_warn("tables ignored: %s\n", err);
		return 0;
	}
	pr_info("SMBIOS %s: '%s' '%s' serial '%s'%s\n", sys.version, sys.manufacturer, sys.product,
		sys.serial, sys.uuid_valid ? "" : ", no system UUID");
	return 0;
}
INIT_LEVEL(smbios_init, INIT_PLATFORM);
