/*
 * VMCALL wrappers for the hypercall ABI in docs/hypercalls.md. The same
 * code serves 32-bit (EAX/EBX/ECX/EDX) and 64-bit (RAX/...) guests.
 */
#include "guest.h"

long vmcall(unsigned long nr, unsigned long a1, unsigned long a2, unsigned long a3)
{
	long ret;

	asm volatile("vmcall" : "=a"(ret) : "a"(nr), "b"(a1), "c"(a2), "d"(a3) : "memory");
	return ret;
}

long hc_version(void)
{
	return vmcall(HC_VERSION, 0, 0, 0);
}

long hc_console_write_gpa(unsigned long gpa, unsigned long len)
{
	return vmcall(HC_CONSOLE_WRITE, gpa, len, 0);
}

/* Paging is off (or identity-mapped): a pointer is its guest-physical address. */
long hc_console_write(const void *buf, unsigned long len)
{
	return hc_console_write_gpa((unsigned long)(uintptr_t)buf, len);
}

void hc_exit(unsigned int status)
{
	vmcall(HC_EXIT, status, 0, 0);
}

long hc_vcpu_id(void)
{
	return vmcall(HC_VCPU_ID, 0, 0, 0);
}

long hc_set_timer(unsigned int vector, unsigned long usecs)
{
	return vmcall(HC_SET_TIMER, vector, usecs, 0);
}
