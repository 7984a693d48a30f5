/*
 * A small AML writer for the DSDT (ACPI 6.5 chapter 20): the handful of
 * term encodings a static namespace needs. Objects that hold other
 * objects (Scope, Device, Package, Buffer) are opened, filled, and closed;
 * closing inserts the package length in front of the contents.
 * Writing past the buffer sets b->overflow and writes nothing more.
 */
#ifndef VMM_ACPI_AML_H
#define VMM_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 8

struct aml {
	uint8_t *buf;
	size_t len, cap;
	bool overflow;
	size_t open[AML_MAX_DEPTH];	/* where each open object's contents start */
	bool open_buffer[AML_MAX_DEPTH];	/* it is a Buffer: its size goes in on close */
	unsigned depth;
};

void aml_init(struct aml *b, uint8_t *buf, size_t cap);
void aml_byte(struct aml *b, uint8_t v);
void aml_bytes(struct aml *b, const void *p, size_t n);
/* A name segment path such as "_SB_.PCI0" or "\\_S5_" (segments of 4 characters). */
void aml_name(struct aml *b, const char *path);
void aml_int(struct aml *b, uint64_t v);	/* the shortest encoding */
void aml_string(struct aml *b, const char *s);
uint32_t aml_eisaid(const char *id);		/* "PNP0A03" compressed */
/* Name(NAME, ...): emit NameOp and the name; the value follows. */
void aml_name_decl(struct aml *b, const char *name);
void aml_scope_open(struct aml *b, const char *name);
void aml_device_open(struct aml *b, const char *name);
void aml_package_open(struct aml *b, unsigned elements);
void aml_buffer_open(struct aml *b);	/* the buffer's size is written on close */
void aml_close(struct aml *b);

/* Resource descriptors (ACPI 6.5 6.4), to go inside an open buffer. */
void aml_res_io(struct aml *b, uint16_t base, uint8_t len);
void aml_res_irq(struct aml *b, uint16_t mask);
void aml_res_word_bus(struct aml *b, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *b, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml *b, uint32_t min, uint32_t max);
void aml_res_mem32_fixed(struct aml *b, uint32_t base, uint32_t len);
void aml_res_end(struct aml *b);

#endif
