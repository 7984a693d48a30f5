/*
 * The machine around the vmkernel: what we are running on (bare metal,
 * QEMU TCG/KVM, Bochs, ...) and how a test run ends the emulator.
 */
#ifndef PLATFORM_H
#define PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

/* QEMU's isa-debug-exit: the emulator exits with (value << 1) | 1. */
#define PLATFORM_DEBUG_EXIT_PORT 0xf4

enum platform_exit_status { PLATFORM_EXIT_PASS = 0, PLATFORM_EXIT_FAIL = 1 };

void platform_detect(void);
const char *platform_name(void);	/* "bare metal", "QEMU TCG", "KVM", "Bochs", ... */
bool platform_is_emulator(void);
/* End an emulator run with a status; on real hardware, halts. */
void platform_exit(enum platform_exit_status st) __attribute__((noreturn));
/* Reboot through the ACPI reset register, the keyboard controller, then a triple fault. */
void platform_reboot(void) __attribute__((noreturn));
/* Set when the command line asked for test=...: panics end the emulator too. */
extern bool platform_test_mode;

#endif
