/*
 * Device interrupts: MSI-X, MSI and INTx.
 *
 * Message-signalled interrupts carry their vector and destination APIC
 * ID in the message (physical destination mode, fixed delivery, edge), so
 * each vector of a device can be aimed at the CPU that will use it (NVMe
 * gives every CPU its own queue and vector). A vector is installed before
 * the device can send it and the source is unmasked last.
 *
 * INTx: without an AML interpreter the vmkernel cannot evaluate the ACPI
 * _PRT, so it takes the route the firmware programmed into the function's
 * Interrupt Line register (an ISA IRQ number, as the MP table and legacy
 * BIOSes define it) and the MADT's interrupt source overrides for that
 * IRQ, defaulting to level-triggered, active-low as PCI lines are. Lines
 * are shared: one vector per GSI, every handler on it runs (each checks
 * its own device). Routing is to CPU 0.
 */
#define pr_fmt(fmt) "pci: " fmt
#include <errno.h>
#include <vmkernel/acpi.h>
#include <vmkernel/apic.h>
#include <vmkernel/irqvec.h>
#include <vmkernel/log.h>
#include <vmkernel/spinlock.h>
#include "pci_priv.h"

#define MAX_LINES 16
#define MAX_SHARERS 8

struct intx_line {
	uint32_t gsi;
	int vector;			/* 0 = slot free */
	unsigned n;
	struct {
		void (*fn)(void *arg);
		void *arg;
		const struct pci_dev *dev;
	} h[MAX_SHARERS];
};

static struct intx_line lines[MAX_LINES];	/* line_lock */
static struct spinlock line_lock = SPINLOCK_INIT("pci intx lines");

const char *pci_irq_mode_name(enum pci_irq_mode m)
{
	static const char *const names[] = { "none", "INTx", "MSI", "MSI-X" };

	return m <= PCI_IRQ_MSIX ? names[m] : "?";
}

static void intx_dispatch(void *arg)
{
	struct intx_line *l = arg;

	/* Sharers are only added or removed with the line masked. */
	for (unsigned i = 0; i < l->n; i++)
		l->h[i].fn(l->h[i].arg);
}

static void msi_message(unsigned cpu, int vector, uint32_t *addr, uint32_t *data)
{
	*addr = MSI_ADDR_BASE | irq_cpu_apic_id(cpu) << MSI_ADDR_DEST_SHIFT;
	*data = (uint32_t)vector;	/* fixed delivery, edge */
}

static int alloc_vectors(struct pci_dev *d, unsigned n, void (*fn)(void *),
			 void *const *args, const unsigned *cpus)
{
	for (unsigned i = 0; i < n; i++) {
		if (cpus && irq_cpu_apic_id(cpus[i]) > 0xff) {
			pr_err("%s: CPU %u has APIC ID %u: MSI cannot reach it without interrupt "
			       "remapping\n", d->name, cpus[i], irq_cpu_apic_id(cpus[i]));
			return -ERANGE;
		}
		d->vector[i] = irq_vector_alloc(fn, args ? args[i] : NULL, d->name);
		if (d->vector[i] < 0) {
			int err = d->vector[i];

			while (i--)
				irq_vector_free(d->vector[i]);
			return err;
		}
	}
	d->nvec = n;
	return 0;
}

static int setup_msix(struct pci_dev *d, unsigned want, void (*fn)(void *),
		      void *const *args, const unsigned *cpus)
{
	uint32_t tbl = pci_read32(d, d->msix_cap + PCI_MSIX_TABLE);
	unsigned bir = tbl & PCI_MSIX_BIR_MASK, n = want < d->msix_size ? want : d->msix_size;
	uint16_t ctl = pci_read16(d, d->msix_cap + PCI_MSIX_FLAGS);
	volatile uint8_t *bar;
	int err;

	if (bir > 5 || !d->bar[bir].size || (tbl & ~7u) + 16ull * d->msix_size > d->bar[bir].size) {
		pr_warn("%s: MSI-X table (BAR%u offset %#x) lies outside its BAR\n", d->name, bir,
			tbl & ~7u);
		return -EINVAL;
	}
	bar = pci_map_bar(d, bir);
	if (!bar)
		return -EFAULT;
	err = alloc_vectors(d, n, fn, args, cpus);
	if (err)
		return err;
	d->msix_table = (volatile uint32_t *)(bar + (tbl & ~7u));
	/* Enabled with every vector masked, programmed, then unmasked. */
	pci_write16(d, d->msix_cap + PCI_MSIX_FLAGS,
		    ctl | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	for (unsigned i = 0; i < d->msix_size; i++) {
		volatile uint32_t *e = d->msix_table + i * 4;
		uint32_t addr, data;

		if (i >= n) {
			e[3] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
			continue;
		}
		msi_message(cpus ? cpus[i] : 0, d->vector[i], &addr, &data);
		e[0] = addr;
		e[1] = 0;
		e[2] = data;
		e[3] = 0;
	}
	(void)d->msix_table[3];		/* flush posted writes before unmasking */
	pci_write16(d, d->msix_cap + PCI_MSIX_FLAGS,
		    (ctl | PCI_MSIX_FLAGS_ENABLE) & ~PCI_MSIX_FLAGS_MASKALL);
	d->irq_mode = PCI_IRQ_MSIX;
	return (int)n;
}

static int setup_msi(struct pci_dev *d, void (*fn)(void *), void *const *args,
		     const unsigned *cpus)
{
	uint16_t ctl = pci_read16(d, d->msi_cap + PCI_MSI_FLAGS);
	bool is64 = ctl & PCI_MSI_FLAGS_64BIT;
	uint32_t addr, data;
	int err = alloc_vectors(d, 1, fn, args, cpus);

	if (err)
		return err;
	msi_message(cpus ? cpus[0] : 0, d->vector[0], &addr, &data);
	pci_write32(d, d->msi_cap + PCI_MSI_ADDRESS_LO, addr);
	if (is64)
		pci_write32(d, d->msi_cap + PCI_MSI_ADDRESS_HI, 0);
	pci_write16(d, d->msi_cap + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), (uint16_t)data);
	if (ctl & PCI_MSI_FLAGS_MASKBIT)
		pci_write32(d, d->msi_cap + (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32), 0);
	ctl &= (uint16_t)~PCI_MSI_FLAGS_QSIZE;	/* one message */
	pci_write16(d, d->msi_cap + PCI_MSI_FLAGS, ctl | PCI_MSI_FLAGS_ENABLE);
	d->irq_mode = PCI_IRQ_MSI;
	return 1;
}

/* Add a handler to the shared line for `gsi`, creating and routing it if new. */
static int line_attach(struct pci_dev *d, uint32_t gsi, bool level, bool low,
		       void (*fn)(void *), void *arg)
{
	unsigned long flags = spin_lock_irqsave(&line_lock);
	struct intx_line *l = NULL, *free_slot = NULL;
	int err = 0;

	for (unsigned i = 0; i < MAX_LINES; i++) {
		if (lines[i].vector && lines[i].gsi == gsi)
			l = &lines[i];
		else if (!lines[i].vector && !free_slot)
			free_slot = &lines[i];
	}
	if (!l && !free_slot)
		err = -ENOSPC;
	else if (l && l->n == MAX_SHARERS)
		err = -ENOSPC;
	if (err) {
		spin_unlock_irqrestore(&line_lock, flags);
		pr_err("%s: GSI %u: no room for another interrupt handler\n", d->name, gsi);
		return err;
	}
	if (!l) {
		int v = irq_vector_alloc(intx_dispatch, free_slot, "pci intx");

		if (v < 0) {
			spin_unlock_irqrestore(&line_lock, flags);
			return v;
		}
		l = free_slot;
		l->gsi = gsi;
		l->vector = v;
		l->n = 0;
		ioapic_mask(gsi, true);
		err = ioapic_route(gsi, (uint8_t)v, irq_cpu_apic_id(0), level, low);
	} else {
		ioapic_mask(gsi, true);
	}
	if (!err) {
		l->h[l->n].fn = fn;
		l->h[l->n].arg = arg;
		l->h[l->n].dev = d;
		l->n++;
		ioapic_mask(gsi, false);
	}
	spin_unlock_irqrestore(&line_lock, flags);
	if (err)
		pr_err("%s: cannot route GSI %u through the IOAPIC (%d)\n", d->name, gsi, err);
	return err;
}

static void line_detach(struct pci_dev *d)
{
	unsigned long flags = spin_lock_irqsave(&line_lock);

	for (unsigned i = 0; i < MAX_LINES; i++) {
		struct intx_line *l = &lines[i];

		if (!l->vector)
			continue;
		bool mine = false;

		for (unsigned j = 0; j < l->n; j++)
			mine |= l->h[j].dev == d;
		if (!mine)
			continue;
		ioapic_mask(l->gsi, true);
		for (unsigned j = 0; j < l->n;) {
			if (l->h[j].dev == d)
				l->h[j] = l->h[--l->n];
			else
				j++;
		}
		if (l->n) {
			ioapic_mask(l->gsi, false);
		} else {
			irq_vector_free(l->vector);
			l->vector = 0;
		}
	}
	spin_unlock_irqrestore(&line_lock, flags);
}

static int gsi_for_irq(uint8_t irq, bool pci, uint32_t *gsi, bool *level, bool *low)
{
	const struct acpi_info *ai = acpi_get();
	uint16_t inti = 0;

	*gsi = irq;
	if (ai && acpi_gsi_for_isa_irq(ai, irq, gsi, &inti))
		return -EINVAL;
	switch (inti & ACPI_INTI_TRIG_MASK) {
	case ACPI_INTI_TRIG_LEVEL: *level = true; break;
	case ACPI_INTI_TRIG_EDGE: *level = false; break;
	default: *level = pci; break;
	}
	switch (inti & ACPI_INTI_POL_MASK) {
	case ACPI_INTI_POL_LOW: *low = true; break;
	case ACPI_INTI_POL_HIGH: *low = false; break;
	default: *low = pci; break;
	}
	return 0;
}

static int setup_intx(struct pci_dev *d, void (*fn)(void *), void *const *args)
{
	bool level, low;
	int err;

	if (!d->irq_pin || d->irq_line == 0xff || d->irq_line >= 16) {
		pr_warn("%s: no INTx route from the firmware (pin %u, line %u)\n", d->name,
			d->irq_pin, d->irq_line);
		return -ENODEV;
	}
	if (gsi_for_irq(d->irq_line, true, &d->gsi, &level, &low))
		return -EINVAL;
	err = line_attach(d, d->gsi, level, low, fn, args ? args[0] : NULL);
	if (err)
		return err;
	pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) & ~PCI_COMMAND_INTX_DISABLE);
	d->irq_mode = PCI_IRQ_INTX;
	d->nvec = 1;
	return 1;
}

int pci_irq_alloc(struct pci_dev *d, unsigned want, unsigned allowed, void (*fn)(void *arg),
		  void *const *args, const unsigned *cpus)
{
	int n = -ENODEV;

	if (d->irq_mode != PCI_IRQ_NONE)
		return -EBUSY;
	if (!want)
		want = 1;
	if (want > PCI_MAX_VECTORS)
		want = PCI_MAX_VECTORS;
	if ((allowed & PCI_IRQ_ALLOW_MSIX) && d->msix_cap)
		n = setup_msix(d, want, fn, args, cpus);
	if (n < 0 && (allowed & PCI_IRQ_ALLOW_MSI) && d->msi_cap)
		n = setup_msi(d, fn, args, cpus);
	if (n > 0 && d->irq_mode != PCI_IRQ_INTX)
		pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) | PCI_COMMAND_INTX_DISABLE);
	if (n < 0 && (allowed & PCI_IRQ_ALLOW_INTX))
		n = setup_intx(d, fn, args);
	return n;
}

int pci_irq_isa(struct pci_dev *d, uint8_t isa_irq, void (*fn)(void *arg), void *arg)
{
	bool level, low;
	uint32_t gsi;
	int err;

	if (d->irq_mode != PCI_IRQ_NONE && d->irq_mode != PCI_IRQ_INTX)
		return -EBUSY;
	if (gsi_for_irq(isa_irq, false, &gsi, &level, &low))
		return -EINVAL;
	if (d->irq_mode == PCI_IRQ_NONE)
		d->gsi = gsi;
	err = line_attach(d, gsi, level, low, fn, arg);
	if (!err) {
		d->irq_mode = PCI_IRQ_INTX;
		d->nvec++;
	}
	return err;
}

void pci_irq_free(struct pci_dev *d)
{
	switch (d->irq_mode) {
	case PCI_IRQ_MSIX:
		pci_write16(d, d->msix_cap + PCI_MSIX_FLAGS,
			    pci_read16(d, d->msix_cap + PCI_MSIX_FLAGS) & ~PCI_MSIX_FLAGS_ENABLE);
		break;
	case PCI_IRQ_MSI:
		pci_write16(d, d->msi_cap + PCI_MSI_FLAGS,
			    pci_read16(d, d->msi_cap + PCI_MSI_FLAGS) & ~PCI_MSI_FLAGS_ENABLE);
		break;
	case PCI_IRQ_INTX:
		pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) | PCI_COMMAND_INTX_DISABLE);
		line_detach(d);
		d->nvec = 0;
		break;
	case PCI_IRQ_NONE:
		return;
	}
	if (d->irq_mode != PCI_IRQ_INTX) {
		for (unsigned i = 0; i < d->nvec; i++)
			irq_vector_free(d->vector[i]);
	}
	d->nvec = 0;
	d->irq_mode = PCI_IRQ_NONE;
}
