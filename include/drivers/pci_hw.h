/*
 * PCI and PCI Express configuration space: register offsets and bits from
 * the PCI Local Bus Specification 3.0 (ch. 6), the PCI-to-PCI Bridge
 * Architecture Specification 1.2 and the PCI Express Base Specification
 * (ch. 7). Names follow the specifications' own.
 */
#ifndef PCI_HW_H
#define PCI_HW_H

/* Type 0 and type 1 common header */
#define PCI_VENDOR_ID		0x00	/* 16 */
#define PCI_DEVICE_ID		0x02	/* 16 */
#define PCI_COMMAND		0x04	/* 16 */
#define PCI_STATUS		0x06	/* 16 */
#define PCI_REVISION_ID		0x08	/* 8; class code follows: prog-if 0x09, sub 0x0a, base 0x0b */
#define PCI_CLASS_PROG		0x09
#define PCI_CLASS_DEVICE	0x0a	/* 16: base class << 8 | subclass */
#define PCI_HEADER_TYPE		0x0e	/* 8 */
#define PCI_BAR0		0x10	/* 6 BARs in a type 0 header, 2 in type 1 */
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_ROM_ADDRESS		0x30
#define PCI_CAPABILITY_LIST	0x34	/* 8 */
#define PCI_INTERRUPT_LINE	0x3c	/* 8: what the firmware routed (ISA IRQ), 0xff = none */
#define PCI_INTERRUPT_PIN	0x3d	/* 8: 1 = INTA# .. 4 = INTD#, 0 = none */

/* Type 1 (bridge) header */
#define PCI_PRIMARY_BUS		0x18
#define PCI_SECONDARY_BUS	0x19
#define PCI_SUBORDINATE_BUS	0x1a

#define PCI_HEADER_TYPE_MASK	0x7f
#define PCI_HEADER_TYPE_NORMAL	0
#define PCI_HEADER_TYPE_BRIDGE	1
#define PCI_HEADER_TYPE_CARDBUS	2
#define PCI_HEADER_MULTIFUNC	0x80

#define PCI_COMMAND_IO		(1u << 0)
#define PCI_COMMAND_MEMORY	(1u << 1)
#define PCI_COMMAND_MASTER	(1u << 2)
#define PCI_COMMAND_INTX_DISABLE (1u << 10)

#define PCI_STATUS_INTERRUPT	(1u << 3)
#define PCI_STATUS_CAP_LIST	(1u << 4)

/* BAR low bits */
#define PCI_BAR_SPACE_IO	0x1
#define PCI_BAR_MEM_TYPE_MASK	0x6
#define PCI_BAR_MEM_TYPE_32	0x0
#define PCI_BAR_MEM_TYPE_1M	0x2	/* below 1 MiB, obsolete */
#define PCI_BAR_MEM_TYPE_64	0x4
#define PCI_BAR_MEM_PREFETCH	0x8
#define PCI_BAR_IO_MASK		(~0x3u)
#define PCI_BAR_MEM_MASK	(~0xfu)

/* Capability list (PCI 3.0 6.7); pointers are dword-aligned, >= 0x40 */
#define PCI_CAP_ID_PM		0x01
#define PCI_CAP_ID_MSI		0x05
#define PCI_CAP_ID_VNDR		0x09	/* vendor specific (virtio uses it) */
#define PCI_CAP_ID_EXP		0x10	/* PCI Express */
#define PCI_CAP_ID_MSIX		0x11
#define PCI_CAP_ID_SATA		0x12
#define PCI_CAP_LIST_ID		0	/* 8 */
#define PCI_CAP_LIST_NEXT	1	/* 8 */

/* Extended capabilities (PCIe 7.6): from 0x100, 32-bit header */
#define PCI_CFG_SPACE_SIZE	256
#define PCI_CFG_SPACE_EXP_SIZE	4096
#define PCI_EXT_CAP_START	0x100
#define PCI_EXT_CAP_ID(h)	((h) & 0xffff)
#define PCI_EXT_CAP_VER(h)	(((h) >> 16) & 0xf)
#define PCI_EXT_CAP_NEXT(h)	(((h) >> 20) & 0xffc)

/* MSI capability (PCI 3.0 6.8.1) */
#define PCI_MSI_FLAGS		2	/* 16 */
#define PCI_MSI_FLAGS_ENABLE	(1u << 0)
#define PCI_MSI_FLAGS_QMASK	(7u << 1)	/* multiple message capable */
#define PCI_MSI_FLAGS_QSIZE	(7u << 4)	/* multiple message enable */
#define PCI_MSI_FLAGS_64BIT	(1u << 7)
#define PCI_MSI_FLAGS_MASKBIT	(1u << 8)
#define PCI_MSI_ADDRESS_LO	4
#define PCI_MSI_ADDRESS_HI	8	/* 64-bit capable only */
#define PCI_MSI_DATA_32		8
#define PCI_MSI_DATA_64		12
#define PCI_MSI_MASK_32		12
#define PCI_MSI_MASK_64		16

/* MSI-X capability (PCI 3.0 6.8.2) */
#define PCI_MSIX_FLAGS		2	/* 16 */
#define PCI_MSIX_FLAGS_QSIZE	0x7ffu	/* table size - 1 */
#define PCI_MSIX_FLAGS_MASKALL	(1u << 14)
#define PCI_MSIX_FLAGS_ENABLE	(1u << 15)
#define PCI_MSIX_TABLE		4	/* 32: offset | BIR */
#define PCI_MSIX_PBA		8
#define PCI_MSIX_BIR_MASK	0x7u
#define PCI_MSIX_ENTRY_SIZE	16
#define PCI_MSIX_ENTRY_ADDR_LO	0
#define PCI_MSIX_ENTRY_ADDR_HI	4
#define PCI_MSIX_ENTRY_DATA	8
#define PCI_MSIX_ENTRY_CTRL	12
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 1u

/* MSI message to a local APIC (SDM 3A 11.11): physical destination, fixed, edge */
#define MSI_ADDR_BASE		0xfee00000u
#define MSI_ADDR_DEST_SHIFT	12

/* Legacy configuration mechanism #1 (PCI 3.0 3.2.2.3.2) */
#define PCI_CONF1_ADDRESS	0xcf8
#define PCI_CONF1_DATA		0xcfc
#define PCI_CONF1_ENABLE	(1u << 31)

/* Base classes used in names and matching */
#define PCI_CLASS_STORAGE	0x01
#define PCI_CLASS_NETWORK	0x02
#define PCI_CLASS_BRIDGE	0x06
#define PCI_SUBCLASS_BRIDGE_PCI	0x04

#endif
