/*
 * The test-guest library: what every guest in tests/guests/ may call.
 *
 * A guest is a freestanding multiboot v1 kernel. The library's entry code
 * (entry32.S, or long64/entry64.S for the 64-bit guest) records the boot
 * state, installs a GDT and (32-bit only) an IDT, then calls lib_start(),
 * which runs the guest's guest_main() and ends with guest_finish(): a
 * summary line on COM1 and a status on the debug-exit port 0xf4.
 *
 * Checks are reported one per line, "check NAME: ok", "check NAME: FAIL
 * (details)" or "check NAME: skipped (why)". Checks that need our
 * hypervisor call vmk_skip() first: when the CPUID signature is absent
 * (e.g. under plain QEMU) they are skipped, when it is present they run.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MB1_BOOT_MAGIC 0x2BADB002u

/* Multiboot v1 information structure (multiboot spec 0.6.96, section 3.3). */
struct mb1_info {
	uint32_t flags;
	uint32_t mem_lower;
	uint32_t mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;
} __attribute__((packed));
_Static_assert(sizeof(struct mb1_info) == 52, "multiboot v1 info prefix");

struct mb1_mmap_entry {
	uint32_t size;
	uint64_t addr;
	uint64_t len;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct mb1_mmap_entry) == 24, "multiboot v1 mmap entry");

#define MB1_INFO_MEM (1u << 0)
#define MB1_INFO_MMAP (1u << 6)

/* Set by the entry code before anything else runs. */
extern uint32_t boot_magic;
extern uint32_t boot_mbi;
extern uint32_t boot_cr0;
extern uint32_t boot_eflags;
extern char _image_start[];
extern char _image_end[];

/* Each guest defines these two. */
extern const char guest_name[];
void guest_main(void);

void lib_start(void);
bool vmk_present(void);
uint64_t mem_top(void);
uint64_t mem_end(void);
const char *guest_cmdline(void);
bool cmdline_has(const char *word);

/* Console (COM1, polled). */
void console_init(void);
void console_putc(char c);
void console_write(const char *s, size_t n);
void gprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void gvprintf(const char *fmt, va_list ap);

/* Checks. */
void check_result(bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void check_skip(const char *name, const char *why);
bool vmk_skip(const char *name);
void guest_fail(const char *what);
void guest_finish(void) __attribute__((noreturn));
void guest_halt(void) __attribute__((noreturn));
unsigned int checks_failed(void);
int finish_status(void);

#define NOT_VMK "not under vmkernel"

#define CHECK(cond, name) check_result(!!(cond), (name), "condition '%s' is false", #cond)
#define CHECKF(cond, name, ...) check_result(!!(cond), (name), __VA_ARGS__)
#define CHECK_EQ(got, want, name)                                                          \
	do {                                                                               \
		uint32_t got_ = (uint32_t)(got), want_ = (uint32_t)(want);                 \
		check_result(got_ == want_, (name), "got 0x%x, expected 0x%x", got_, want_); \
	} while (0)
#define CHECK_EQ64(got, want, name)                                                        \
	do {                                                                               \
		uint64_t got_ = (got), want_ = (want);                                     \
		check_result(got_ == want_, (name), "got 0x%llx, expected 0x%llx",          \
			     (unsigned long long)got_, (unsigned long long)want_);         \
	} while (0)
#define SKIP(name, why) check_skip((name), (why))

/* 64-by-32 division without libgcc (32-bit guests have no __udivdi3). */
uint64_t udiv64(uint64_t n, uint32_t d, uint32_t *rem);

/* Hypercalls (docs/hypercalls.md). */
#define HC_VERSION 0
#define HC_CONSOLE_WRITE 1
#define HC_EXIT 2
#define HC_VCPU_ID 3
#define HC_SET_TIMER 4
#define HC_VCPU_START 5
#define HC_ABI_VERSION 2 /* version 2: HC_SET_TIMER goes through the local APIC (EOI it) */

#define HC_EPERM (-1)
#define HC_EFAULT (-14)
#define HC_EINVAL (-22)
#define HC_ENOSYS (-38)

long vmcall(unsigned long nr, unsigned long a1, unsigned long a2, unsigned long a3);
long hc_version(void);
long hc_console_write(const void *buf, unsigned long len);
long hc_console_write_gpa(unsigned long gpa, unsigned long len);
void hc_exit(unsigned int status);
long hc_vcpu_id(void);
long hc_set_timer(unsigned int vector, unsigned long usecs);

#endif /* GUEST_H */
