/*
 * The kernel's page-sharing table as guest_mem.c uses it
 * (pshare_scan.c). Not for use outside vmm/mem/.
 */
#ifndef VMM_MEM_PSHARE_PRIV_H
#define VMM_MEM_PSHARE_PRIV_H

#include <stdbool.h>
#include <stdint.h>

struct ept;
struct vm;

/* A VM's leaf mapping the frame at hpa is gone: true if the frame's page is free now. */
bool pshare_frame_release(uint64_t hpa);
/* pshare_break() on the kernel's table (vm's ram->lock held); copies come from vm's memory. */
int pshare_frame_break(struct vm *vm, struct ept *e, uint64_t page, bool *flush, bool *zero);
/* May vm's pages be shared on this host? If not, *why says why. */
bool pshare_vm_allowed(const struct vm *vm, const char **why);
/* Keep the scanner away from every VM's RAM (true) until released (false); may sleep. */
void pshare_scan_exclude(bool on);
/* guest_mem.c: a private page for a copy-on-write break of vm (ram->lock held), or 0. */
uint64_t guest_ram_cow_page(void *vm, int *err);

#endif
