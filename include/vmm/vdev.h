/*
 * Device models (vmm/vdev/): port I/O and MMIO registration.
 */
#ifndef VMM_VDEV_H
#define VMM_VDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vmm/vcpu.h>

/* port I/O dispatch (exit/io.c) */
struct vdev_pio {
	const char *name;
	uint16_t base, count;
	/* size 1, 2 or 4; returns the value read */
	bool byte_wide;	/* an 8-bit device: wider accesses are split into bytes */
	uint32_t (*in)(struct vcpu *v, uint16_t port, unsigned size);
	void (*out)(struct vcpu *v, uint16_t port, unsigned size, uint32_t val);
};
#define VDEV_PIO(var)							\
	static const struct vdev_pio *const __vdev_pio_##var		\
	__attribute__((used, section(".vdev_pio"))) = &var
const struct vdev_pio *vdev_pio_find(uint16_t port);

/* MMIO device models (exit/mmio.c): accesses are decoded from the faulting instruction. */
struct vdev_mmio {
	const char *name;
	uint64_t base, size;
	int (*read)(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t *val);
	int (*write)(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t val);
};
#define VDEV_MMIO(var)							\
	static const struct vdev_mmio *const __vdev_mmio_##var		\
	__attribute__((used, section(".vdev_mmio"))) = &var
const struct vdev_mmio *vdev_mmio_find(uint64_t gpa);
/* EPT violation inside a device's range: emulate the instruction. */
enum exit_action mmio_exit(struct vcpu *v, const struct vdev_mmio *d);
size_t vdev_uart_size(void);

#endif
