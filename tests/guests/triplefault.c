/*
 * triplefault: load an empty IDT and execute INT3. The #BP cannot be
 * delivered, nor the #GP that follows, nor the #DF: a triple fault. Under
 * vmkernel the VM is stopped ("stopped:triple-fault"); plain QEMU with
 * -no-reboot quits. Getting past the INT3 is a failure.
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"

const char guest_name[] = "triplefault";

void guest_main(void)
{
	gprintf("triplefault: about to load an empty IDT and execute int3\n");
	load_idt_limit(0);
	asm volatile("int3" : : : "memory");
	load_idt_limit(256 * 8 - 1);
	CHECKF(false, "stopped_by_triple_fault", "int3 with an empty IDT returned");
}
