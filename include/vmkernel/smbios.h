/*
 * SMBIOS (DMTF DSP0134): the firmware's description of the machine. The
 * vmkernel reads the System Information structure (type 1) for the
 * machine's UUID, maker, product and serial number.
 */
#ifndef SMBIOS_H
#define SMBIOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct smbios_system {
	bool found;
	char version[8];		/* "3.0", "2.8" */
	uint8_t uuid[16];		/* as stored (SMBIOS >= 2.6: first three fields little-endian) */
	bool uuid_valid;		/* not all zeros or all ones */
	char manufacturer[48];
	char product[48];
	char serial[48];
};

/*
 * Parse an SMBIOS 2.1 ("_SM_") or 3.0 ("_SM3_") entry point at `ep` and
 * the structure table it points to, reached through map (NULL for ranges
 * it cannot map). Returns 0 or -EINVAL with err saying what is wrong.
 */
int smbios_parse(const void *ep, size_t ep_len,
		 const void *(*map)(void *ctx, uint64_t phys, size_t len), void *ctx,
		 struct smbios_system *out, char *err, size_t errlen);

/* The boot's results (kernel; filled at INIT_PLATFORM). */
const struct smbios_system *smbios_system(void);

#endif
