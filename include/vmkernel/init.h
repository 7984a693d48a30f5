/*
 * Init levels: a subsystem registers its init function with INIT_LEVEL();
 * vmkernel_main() runs each level in order once the level's prerequisites
 * are up. Within a level the order is the link order.
 */
#ifndef INIT_H
#define INIT_H

enum init_level {
	INIT_EARLY = 1,		/* console, traps: no allocator yet */
	INIT_MEM = 2,		/* physical memory, heap */
	INIT_PLATFORM = 3,	/* ACPI, interrupt controllers, timers */
	INIT_SMP = 4,		/* other CPUs */
	INIT_SUBSYS = 5,	/* VT-x discovery, drivers */
	INIT_VMM = 6,		/* VMX operation on every CPU */
	INIT_LATE = 7,		/* everything else (virtual machines start), just before ready */
};

struct initcall {
	int (*fn)(void);
	const char *name;
	int level;
};

/* The section holds pointers: 8-byte entries the compiler never pads. */
#define INIT_LEVEL(func, lvl)						\
	static const struct initcall __initcall_##func = {		\
		.fn = func, .name = #func, .level = lvl };		\
	static const struct initcall *const __initcall_ptr_##func	\
	__attribute__((used, section(".initcall." #lvl))) = &__initcall_##func

/* Runs every init function of a level; a failure is logged and the boot goes on. */
void init_run_level(int level);

#endif
