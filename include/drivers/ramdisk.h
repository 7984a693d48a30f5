/*
 * RAM-backed block device: a struct blockdev over a private copy of a memory
 * image (e.g. a multiboot2 module holding a VMFS volume). Writes change the
 * copy only, so the module itself stays as the loader handed it over.
 */
#ifndef RAMDISK_H
#define RAMDISK_H

#include <stddef.h>
#include <drivers/blockdev.h>

/* NULL if out of memory or size is not a whole number of 512-byte sectors. */
struct blockdev *ramdisk_create(const void *image, size_t size);
void ramdisk_destroy(struct blockdev *dev);

#endif
