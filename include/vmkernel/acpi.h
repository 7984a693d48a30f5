/*
 * ACPI static table parser (RSDP, RSDT/XSDT, MADT, FADT, HPET, MCFG).
 *
 * The parser never touches physical memory by itself: every table is reached
 * through the caller's acpi_mem_ops.map() callback, which must refuse ranges
 * that are not backed by readable memory. Results land in a fixed-size
 * struct acpi_info (no allocation). See vmkernel/acpi.c for the rules.
 */
#ifndef ACPI_H
#define ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Table layouts fixed by the ACPI specification (6.5, chapter 5) ---- */

#define ACPI_RSDP_SIG		"RSD PTR "
#define ACPI_RSDP_V1_LEN	20	/* checksum covers these bytes */
#define ACPI_RSDP_V2_LEN	36	/* extended checksum covers 'length' */

/* 5.2.5.3 Root System Description Pointer */
struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	/* ACPI 2.0+ only below */
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t ext_checksum;
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP is 36 bytes");

/* 5.2.6 System Description Table header */
struct acpi_sdt_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_sdt_header) == 36, "SDT header is 36 bytes");

/* 5.2.3.2 Generic Address Structure */
#define ACPI_GAS_MEMORY		0
#define ACPI_GAS_IO		1

struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS is 12 bytes");

/* 5.2.12 Multiple APIC Description Table ("APIC") */
#define ACPI_MADT_PCAT_COMPAT	(1u << 0)

struct acpi_madt {
	struct acpi_sdt_header hdr;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT fixed part is 44 bytes");

#define ACPI_MADT_LAPIC			0x0
#define ACPI_MADT_IOAPIC		0x1
#define ACPI_MADT_ISO			0x2
#define ACPI_MADT_LAPIC_NMI		0x4
#define ACPI_MADT_LAPIC_OVERRIDE	0x5
#define ACPI_MADT_X2APIC		0x9
#define ACPI_MADT_X2APIC_NMI		0xA

#define ACPI_MADT_CPU_ENABLED		(1u << 0)
#define ACPI_MADT_CPU_ONLINE_CAPABLE	(1u << 1)

struct acpi_madt_entry {
	uint8_t type;
	uint8_t length;
} __attribute__((packed));

struct acpi_madt_lapic {
	struct acpi_madt_entry h;
	uint8_t acpi_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT type 0 is 8 bytes");

struct acpi_madt_ioapic {
	struct acpi_madt_entry h;
	uint8_t id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT type 1 is 12 bytes");

struct acpi_madt_iso {
	struct acpi_madt_entry h;
	uint8_t bus;
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_iso) == 10, "MADT type 2 is 10 bytes");

struct acpi_madt_lapic_nmi {
	struct acpi_madt_entry h;
	uint8_t acpi_uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT type 4 is 6 bytes");

struct acpi_madt_lapic_override {
	struct acpi_madt_entry h;
	uint16_t reserved;
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic_override) == 12, "MADT type 5 is 12 bytes");

struct acpi_madt_x2apic {
	struct acpi_madt_entry h;
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t acpi_uid;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_x2apic) == 16, "MADT type 9 is 16 bytes");

struct acpi_madt_x2apic_nmi {
	struct acpi_madt_entry h;
	uint16_t flags;
	uint32_t acpi_uid;
	uint8_t lint;
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_x2apic_nmi) == 12, "MADT type 0xA is 12 bytes");

/* MPS INTI flags (interrupt source overrides and NMI entries) */
#define ACPI_INTI_POL_MASK	0x3
#define ACPI_INTI_POL_CONFORM	0x0
#define ACPI_INTI_POL_HIGH	0x1
#define ACPI_INTI_POL_LOW	0x3
#define ACPI_INTI_TRIG_MASK	0xC
#define ACPI_INTI_TRIG_CONFORM	0x0
#define ACPI_INTI_TRIG_EDGE	0x4
#define ACPI_INTI_TRIG_LEVEL	0xC

/* 5.2.9 Fixed ACPI Description Table ("FACP") */
#define ACPI_FADT_TMR_VAL_EXT	(1u << 8)
#define ACPI_FADT_RESET_REG_SUP	(1u << 10)
#define ACPI_FADT_HW_REDUCED	(1u << 20)

/* IAPC_BOOT_ARCH flags (5.2.9.3) */
#define ACPI_BOOT_LEGACY_DEVICES	(1u << 0)
#define ACPI_BOOT_8042			(1u << 1)
#define ACPI_BOOT_VGA_NOT_PRESENT	(1u << 2)
#define ACPI_BOOT_MSI_NOT_SUPPORTED	(1u << 3)
#define ACPI_BOOT_PCIE_ASPM_CONTROLS	(1u << 4)
#define ACPI_BOOT_CMOS_RTC_NOT_PRESENT	(1u << 5)

struct acpi_fadt {
	struct acpi_sdt_header hdr;
	uint32_t firmware_ctrl;		/* 36 */
	uint32_t dsdt;			/* 40 */
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;		/* 46 */
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;		/* 56 */
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;		/* 64 */
	uint32_t pm1b_cnt_blk;		/* 68 */
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;		/* 76 */
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;		/* 88 */
	uint8_t pm1_cnt_len;		/* 89 */
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;		/* 91 */
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;		/* 108 */
	uint16_t iapc_boot_arch;	/* 109 */
	uint8_t reserved1;
	uint32_t flags;			/* 112 */
	struct acpi_gas reset_reg;	/* 116 */
	uint8_t reset_value;		/* 128 */
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;	/* 132 */
	uint64_t x_dsdt;		/* 140 */
	struct acpi_gas x_pm1a_evt_blk;	/* 148 */
	struct acpi_gas x_pm1b_evt_blk;	/* 160 */
	struct acpi_gas x_pm1a_cnt_blk;	/* 172 */
	struct acpi_gas x_pm1b_cnt_blk;	/* 184 */
	struct acpi_gas x_pm2_cnt_blk;	/* 196 */
	struct acpi_gas x_pm_tmr_blk;	/* 208 */
	struct acpi_gas x_gpe0_blk;	/* 220 */
	struct acpi_gas x_gpe1_blk;	/* 232 */
	struct acpi_gas sleep_control;	/* 244 */
	struct acpi_gas sleep_status;	/* 256 */
	uint64_t hypervisor_vendor_id;	/* 268 */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT (ACPI 6.x) is 276 bytes");

#define ACPI_FADT_V1_LEN	116	/* ACPI 1.0 FADT ends before RESET_REG */

/* IA-PC HPET Description Table ("HPET") */
struct acpi_hpet {
	struct acpi_sdt_header hdr;
	uint32_t event_timer_block_id;
	struct acpi_gas base;
	uint8_t hpet_number;
	uint16_t min_tick;
	uint8_t page_protection;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_hpet) == 56, "HPET table is 56 bytes");

/* PCI Firmware spec: MCFG */
struct acpi_mcfg {
	struct acpi_sdt_header hdr;
	uint8_t reserved[8];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_mcfg) == 44, "MCFG fixed part is 44 bytes");

struct acpi_mcfg_alloc {
	uint64_t base;
	uint16_t segment;
	uint8_t bus_start;
	uint8_t bus_end;
	uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_mcfg_alloc) == 16, "MCFG allocation is 16 bytes");

/* ---- Parser interface ---- */

/*
 * map() returns a pointer to `len` readable bytes at physical address `phys`,
 * or NULL when any part of that range is not accessible. Pointers it returns
 * must stay valid until the acpi_* call that obtained them returns. It must
 * itself reject ranges that wrap around or leave known memory: addresses come
 * straight from firmware tables.
 */
struct acpi_mem_ops {
	const void *(*map)(void *ctx, uint64_t phys, size_t len);
	void *ctx;
};

#define ACPI_MAX_TABLES		64
#define ACPI_MAX_CPUS		256
#define ACPI_MAX_IOAPICS	16
#define ACPI_MAX_ISOS		32
#define ACPI_MAX_NMIS		16
#define ACPI_MAX_MCFG		8
#define ACPI_MAX_WARNINGS	8
#define ACPI_WARN_LEN		120
#define ACPI_ERR_LEN		160
#define ACPI_MAX_TABLE_LEN	(16u << 20)	/* longer tables are rejected */
#define ACPI_UID_ALL		0xFFFFFFFFu	/* NMI entry applies to all CPUs */

struct acpi_table_desc {
	char signature[5];	/* NUL-terminated, non-printables as '?' */
	uint8_t revision;
	bool checksum_ok;	/* false also when the length was unusable */
	bool used;		/* parsed (known signature, valid, first of its kind) */
	uint32_t length;
	uint64_t phys;
};

struct acpi_cpu {
	uint32_t apic_id;
	uint32_t acpi_uid;
	bool enabled;		/* usable now */
	bool online_capable;	/* disabled, but may be brought online later */
	bool x2apic;		/* came from a type 9 entry */
};

struct acpi_ioapic {
	uint8_t id;
	uint64_t phys;
	uint32_t gsi_base;
};

struct acpi_irq_override {
	uint8_t bus;
	uint8_t source_irq;
	uint32_t gsi;
	uint16_t flags;		/* ACPI_INTI_* */
};

struct acpi_lapic_nmi {
	uint32_t acpi_uid;	/* ACPI_UID_ALL for every processor */
	uint16_t flags;		/* ACPI_INTI_* */
	uint8_t lint;
	bool x2apic;
};

struct acpi_fadt_info {
	bool present;
	uint8_t revision;
	uint32_t length;
	uint32_t flags;
	bool hw_reduced;
	uint16_t sci_irq;
	bool pm_timer_present;
	struct acpi_gas pm_timer;	/* space_id IO (port) or MEMORY (MMIO) */
	bool pm_timer_32bit;
	bool reset_supported;		/* RESET_REG_SUP and RESET_REG inside table */
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint32_t pm1a_cnt;		/* I/O ports; 0 when absent */
	uint32_t pm1b_cnt;
	uint8_t pm1_cnt_len;
	uint8_t century;		/* CMOS index of the century, 0 if none */
	uint16_t boot_arch;		/* ACPI_BOOT_*; 0 for FADT revision < 3 */
	uint64_t dsdt_phys;		/* X_DSDT if set, else DSDT */
};

struct acpi_hpet_info {
	bool present;
	uint64_t base_phys;
	uint32_t block_id;
	uint8_t number;
	uint16_t min_tick;
};

struct acpi_mcfg_seg {
	uint64_t base;
	uint16_t segment;
	uint8_t bus_start;
	uint8_t bus_end;
};

struct acpi_info {
	uint8_t rsdp_revision;
	char oem_id[7];
	bool xsdt_used;
	uint64_t root_phys;		/* the XSDT or RSDT actually walked */

	uint32_t table_count;
	struct acpi_table_desc tables[ACPI_MAX_TABLES];

	bool madt_present;
	uint64_t lapic_phys;		/* type 5 override applied */
	bool pcat_compat;		/* dual 8259 present */
	uint32_t cpu_count;		/* entries listed in cpus[] */
	uint32_t cpu_enabled_count;	/* of which enabled */
	uint32_t cpus_dropped;		/* entries beyond ACPI_MAX_CPUS */
	struct acpi_cpu cpus[ACPI_MAX_CPUS];
	uint32_t ioapic_count;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	uint32_t iso_count;
	struct acpi_irq_override isos[ACPI_MAX_ISOS];
	uint32_t nmi_count;
	struct acpi_lapic_nmi nmis[ACPI_MAX_NMIS];

	struct acpi_fadt_info fadt;
	struct acpi_hpet_info hpet;

	uint32_t mcfg_count;
	struct acpi_mcfg_seg mcfg[ACPI_MAX_MCFG];

	/* warn_count counts every warning; the first ACPI_MAX_WARNINGS are kept */
	uint32_t warn_count;
	char warnings[ACPI_MAX_WARNINGS][ACPI_WARN_LEN];
	char err[ACPI_ERR_LEN];
};

/*
 * Parse the tables reached from an RSDP copy of rsdp_len bytes (the multiboot2
 * ACPI tags carry such a copy). Returns 0 (problems with individual tables are
 * in out->warnings) or -EINVAL when the RSDP or the root table is unusable
 * (out->err says why). `out` is fully reset first. A revision >= 2 RSDP given
 * as a 20-byte copy (multiboot2 "ACPI old" tag) is accepted: the RSDT is
 * used and a warning recorded.
 */
int acpi_parse(const struct acpi_mem_ops *ops, const void *rsdp, size_t rsdp_len,
	       struct acpi_info *out);

/* Same, for an RSDP found in memory at rsdp_phys (e.g. by acpi_find_rsdp). */
int acpi_parse_at(const struct acpi_mem_ops *ops, uint64_t rsdp_phys, struct acpi_info *out);

/*
 * Legacy BIOS search: first KiB of the EBDA (segment word at 0x40E), then
 * 0xE0000-0xFFFFF, on 16-byte boundaries. Returns 0 or -ENOENT.
 */
int acpi_find_rsdp(const struct acpi_mem_ops *ops, uint64_t *rsdp_phys);

/*
 * GSI and MPS INTI flags for ISA IRQ 0-15, applying interrupt source
 * overrides; identity mapping with flags 0 (conforming: edge, active high)
 * when there is none. Returns 0 or -EINVAL.
 */
int acpi_gsi_for_isa_irq(const struct acpi_info *info, uint8_t irq, uint32_t *gsi,
			 uint16_t *flags);

/* The vmkernel's parsed tables from boot, NULL when the firmware had none (kernel only). */
const struct acpi_info *acpi_get(void);

#endif /* ACPI_H */
