/*
 * Local APIC (xAPIC through MMIO or x2APIC through MSRs, chosen at boot)
 * and IOAPIC. Register offsets from SDM 3A 11.4.1 / the 82093AA datasheet.
 */
#ifndef APIC_H
#define APIC_H

#include <stdbool.h>
#include <stdint.h>

/* Local APIC register offsets (xAPIC MMIO offsets; x2APIC MSR = 0x800 + off/16) */
#define LAPIC_ID		0x020
#define LAPIC_VERSION		0x030
#define LAPIC_TPR		0x080
#define LAPIC_EOI		0x0b0
#define LAPIC_LDR		0x0d0
#define LAPIC_DFR		0x0e0
#define LAPIC_SVR		0x0f0
#define LAPIC_ESR		0x280
#define LAPIC_ICR_LO		0x300
#define LAPIC_ICR_HI		0x310
#define LAPIC_LVT_TIMER		0x320
#define LAPIC_LVT_LINT0		0x350
#define LAPIC_LVT_LINT1		0x360
#define LAPIC_LVT_ERROR		0x370
#define LAPIC_TIMER_INIT	0x380
#define LAPIC_TIMER_CUR		0x390
#define LAPIC_TIMER_DIV		0x3e0

#define LAPIC_SVR_ENABLE	(1U << 8)
#define LAPIC_LVT_MASKED	(1U << 16)
#define LAPIC_TIMER_PERIODIC	(1U << 17)
#define LAPIC_TIMER_TSC_DEADLINE (2U << 17)

/* ICR delivery modes and flags */
#define ICR_FIXED		(0U << 8)
#define ICR_NMI			(4U << 8)
#define ICR_INIT		(5U << 8)
#define ICR_STARTUP		(6U << 8)
#define ICR_PENDING		(1U << 12)
#define ICR_ASSERT		(1U << 14)
#define ICR_LEVEL		(1U << 15)
#define ICR_ALL_BUT_SELF	(3U << 18)

int lapic_init_bsp(uint64_t lapic_phys);	/* picks x2APIC when the CPU has it */
void lapic_init_cpu(void);			/* enable and program LVTs on this CPU */
uint32_t lapic_id(void);
void lapic_eoi(void);
bool lapic_is_x2apic(void);
void lapic_send_ipi(uint32_t apic_id, uint32_t icr_flags_vector);
void lapic_send_ipi_all_but_self(uint32_t icr_flags_vector);
int lapic_wait_icr_idle(void);			/* -ETIMEDOUT if the IPI never left */
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t val);
const char *lapic_mode_name(void);

/* Timer: calibrated against the TSC by timer_init(). */
/* One interrupt on VEC_LAPIC_TIMER when the TSC reaches deadline (0: none); see ktimer.h. */
void lapic_timer_deadline(uint64_t deadline);
uint64_t lapic_timer_freq(void);

/* IOAPIC */
int ioapic_add(uint8_t id, uint64_t phys, uint32_t gsi_base);
unsigned ioapic_count(void);
unsigned ioapic_total_pins(void);
int ioapic_route(uint32_t gsi, uint8_t vector, uint32_t dest_apic_id, bool level, bool active_low);
int ioapic_mask(uint32_t gsi, bool masked);

/* Legacy 8259 PIC: remapped and fully masked at boot. */
void pic_disable(void);

#endif
