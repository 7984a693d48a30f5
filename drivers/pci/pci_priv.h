/* Private to drivers/pci: configuration-space access set up by pci_enum.c. */
#ifndef PCI_PRIV_H
#define PCI_PRIV_H

#include <stdint.h>
#include <drivers/pci.h>

/* Choose ECAM (MCFG) or mechanism #1; logs which. Returns 0 or -ENODEV. */
int pci_cfg_init(void);
/* Raw access by address; size 1, 2 or 4; off < 4096 with ECAM, < 256 otherwise. */
uint32_t pci_cfg_read(uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn, unsigned off,
		      unsigned size);
void pci_cfg_write(uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn, unsigned off,
		   unsigned size, uint32_t v);
/* True when (seg, bus) is reachable through ECAM (extended space). */
bool pci_cfg_ecam(uint16_t seg, uint8_t bus);
/* A walker source over a device's configuration space. */
void pci_cfg_src(const struct pci_dev *d, struct pci_cfg_src *src);

#endif
