/* In-kernel tests of the PCI layer and the interrupt-vector allocator. */
#include <vmkernel/apic.h>
#include <vmkernel/cpu.h>
#include <vmkernel/irqvec.h>
#include <vmkernel/ktest.h>
#include <drivers/pci.h>
#include <vmkernel/percpu.h>
#include <vmkernel/timer.h>

/* Every PC has a host bridge at 0000:00:00.0; every function re-reads the same IDs. */
KTEST(pci_enumeration)
{
	struct pci_dev *d = pci_first();

	KT_ASSERT(pci_count() > 0);
	KT_ASSERT(d != NULL);
	KT_ASSERT_EQ(d->bus, 0);
	KT_ASSERT_EQ(d->dev, 0);
	KT_ASSERT_EQ(d->class_code >> 16, PCI_CLASS_BRIDGE);
	for (; d; d = d->next) {
		KT_ASSERT_EQ(pci_read16(d, PCI_VENDOR_ID), d->vendor);
		KT_ASSERT_EQ(pci_read16(d, PCI_DEVICE_ID), d->device);
		KT_ASSERT(d->vendor != 0xffff);
	}
}

static volatile unsigned hits[2];

static void count_hit(void *arg)
{
	__atomic_fetch_add(&hits[(uintptr_t)arg], 1, __ATOMIC_RELAXED);
}

/* Allocated vectors are distinct, deliver to their own handler, and come back when freed. */
KTEST(irq_vectors)
{
	unsigned before = irq_vector_used();
	int a = irq_vector_alloc(count_hit, (void *)0, "ktest a");
	int b = irq_vector_alloc(count_hit, (void *)1, "ktest b");
	uint64_t end;

	KT_ASSERT(a >= 0x30 && b >= 0x30 && a != b);
	KT_ASSERT_EQ(irq_vector_used(), before + 2);
	hits[0] = hits[1] = 0;
	end = time_ns() + 1000000000ull;
	lapic_send_ipi(lapic_id(), (uint32_t)a);
	lapic_send_ipi(lapic_id(), (uint32_t)b);
	/* A second interrupt sent before the first is taken would merge with it. */
	while (hits[1] < 1 && time_ns() < end)
		cpu_relax();
	lapic_send_ipi(lapic_id(), (uint32_t)b);
	while ((hits[0] < 1 || hits[1] < 2) && time_ns() < end)
		cpu_relax();
	irq_vector_free(a);
	irq_vector_free(b);
	KT_ASSERT_EQ(hits[0], 1);
	KT_ASSERT_EQ(hits[1], 2);
	KT_ASSERT_EQ(irq_vector_used(), before);
}
