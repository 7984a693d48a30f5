/*
 * The PC platform from a test guest, done the way an OS does it: the 8254's
 * channel 2 as a stopwatch (gated through port 0x61, as kernels calibrate
 * their clocks), the 8259 pair, IOAPIC redirection entries, and the ACPI
 * tables found by the BIOS-area scan. Used by the platform guests (lapic,
 * pic_pit, rtc, acpi, pci, fwcfg); each checks its own device itself and
 * leans on these only for the others.
 */
#ifndef GUEST_PC_H
#define GUEST_PC_H

#include <stdbool.h>
#include <stdint.h>

#define PIT_HZ 1193182u
#define PM_TIMER_HZ 3579545u

/*
 * A device clock read together with the TSC: of 8 tries, the one whose
 * two TSC reads lie closest together (tsc is their midpoint), so a host
 * preemption between the device read and the TSC read cannot skew a rate
 * taken from two samples.
 */
struct clock_sample {
	uint64_t tsc;
	uint32_t val;
};
struct clock_sample clock_sample(uint32_t (*read)(void));

/* ---- 8254 channel 2, gated by port 0x61 bit 0; OUT2 is port 0x61 bit 5 ---- */
/* Load channel 2 in mode 0 with count, gate open: OUT2 rises after count ticks. */
void pit_ch2_start(uint16_t count);
bool pit_ch2_out(void);
uint32_t pit_ch2_count(void); /* latched */
void pit_ch2_stop(void);
/* The TSC rate: CPUID 0x15 (or 0x16) when it gives one, else measured against the PIT. */
uint64_t tsc_hz(void);
/* The TSC rate CPUID states (leaf 0x15, else 0x16), or 0. */
uint64_t tsc_hz_cpuid(void);
/* TSC rate measured against PIT channel 2 over ~10 ms, whatever CPUID says; 0 if it failed. */
uint64_t tsc_hz_pit(void);

/* ---- 8259 pair ---- */
/* ICW1-4: edge-triggered, cascaded, vectors base and base + 8, 8086 mode; all masked. */
void pic_init(uint8_t base);
void pic_eoi(unsigned int irq);
void pic_mask(uint16_t mask); /* bit n masks IRQ n; IRQ 2 (the cascade) as given */

/* ---- IOAPIC at 0xfec00000 ---- */
#define IOAPIC_BASE 0xfec00000u
#define REDIR_MASKED (1u << 16)
#define REDIR_LEVEL (1u << 15)
#define REDIR_REMOTE_IRR (1u << 14)
#define REDIR_ACTIVE_LOW (1u << 13)
uint32_t ioapic_read(uint32_t reg);
void ioapic_write(uint32_t reg, uint32_t val);
/* Redirection entry for pin: low word (vector, mode, flags) and destination APIC ID. */
void ioapic_route(unsigned int pin, uint32_t low, uint8_t dest);
void ioapic_mask(unsigned int pin);

/* ---- ACPI tables ---- */
struct acpi_header {
	char sig[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem_id[6], oem_table_id[8];
	uint32_t oem_revision, creator_id, creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "ACPI table header");

uint8_t acpi_sum(const void *p, uint32_t len);
/* The RSDP as an OS finds it: the EBDA's first KiB (segment at 0x40e), then 0xe0000-0xfffff. */
const uint8_t *acpi_rsdp(void);
/*
 * The table with signature sig (n-th of that signature, from 0) through the
 * XSDT when the RSDP has one, else the RSDT; NULL if absent. "DSDT" is
 * found through the FADT.
 */
const struct acpi_header *acpi_table(const char *sig, unsigned int n);

/* ---- PCI configuration mechanism #1 ---- */
uint32_t pci_cfg_read32(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg);
void pci_cfg_write32(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg,
		     uint32_t val);
uint16_t pci_cfg_read16(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg);
void pci_cfg_write16(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg,
		     uint16_t val);
uint8_t pci_cfg_read8(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg);

/*
 * How many gaps between consecutive timestamps t[0..n-1] lie within
 * 0.8-1.25 times period. A periodic source shows its period in many of
 * them even on a busy host, which may delay one event (a gap too long,
 * the next too short) or lose some (a gap of two or three periods); a
 * source at the wrong rate shows it in none.
 */
unsigned int gaps_near(const volatile uint64_t *t, unsigned int n, uint64_t period);

/* Spin with interrupts enabled until *counter reaches want or `ticks` TSC ticks passed. */
bool wait_count(volatile unsigned int *counter, unsigned int want, uint64_t ticks);

#endif
