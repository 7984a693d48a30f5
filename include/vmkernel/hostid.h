/*
 * This host's identity for clustered storage: 16 bytes that differ on
 * every boot of every machine, even between cloned virtual machines that
 * share an SMBIOS UUID and MAC addresses. It is a SHA-256 hash of the
 * SMBIOS system UUID, every NIC MAC address the network drivers
 * registered, and a random boot nonce (RDSEED, RDRAND, or TSC jitter when
 * the CPU has neither); never a constant. VMFS uses it to tell hosts (and
 * boots of one host) apart in heartbeats and locks.
 */
#ifndef HOSTID_H
#define HOSTID_H

#include <stdint.h>

/* NIC drivers register their permanent MAC addresses before INIT_LATE. */
void hostid_add_mac(const uint8_t mac[6]);
/* Computed on first use (and logged); stable for the rest of the boot. */
const uint8_t *hostid_uuid(void);
/* "vmkernel-1a2b3c4d": a short name from the identity (or hostname= on the command line). */
const char *hostid_name(void);
/*
 * 16 random bytes drawn with the identity, for this boot only: VMFS tells
 * incarnations of a host apart by (identity, nonce). Never all zero.
 */
const uint8_t *hostid_boot_nonce(void);
/* How the nonce was made: "RDSEED", "RDRAND", "TSC jitter". */
const char *hostid_nonce_source(void);

#endif
