/*
 * TLB-shootdown quarantine (vmm/mem/quarantine.c): host pages that some
 * CPU may still hold guest translations to are not reused until every such
 * CPU has flushed.
 *
 * When a VM's memory is given back, every CPU that runs VMX must drop the
 * translations tagged with its EPTP and VPIDs (INVEPT/INVVPID), because a
 * later VM can get the same EPT root page, hence the same EPTP, and would
 * then see the old VM's mappings. A CPU that does not answer the flush
 * request owes a flush: its pages wait here. An owing CPU flushes all its
 * translations before its next VM entry or when the quarantine asks it
 * again; then the pages are released. A CPU that still owes after
 * QUARANTINE_PANIC_S is truly gone, and the host stops with a panic that
 * names it rather than reuse the pages.
 */
#ifndef VMM_QUARANTINE_H
#define VMM_QUARANTINE_H

#include <stdbool.h>
#include <stdint.h>

#define QUARANTINE_PANIC_S 120

/*
 * Hold release(arg) until every CPU in owed (bit n: CPU n) has flushed all
 * its translations. what names the pages for the log. 0, or -ENOMEM: then
 * the pages are never released (leaked, and said so), which is safe.
 */
int tlb_quarantine(uint64_t owed, void (*release)(void *arg), void *arg, const char *what);
/* Ask owing CPUs again, release what nobody owes any more; panic past the limit. */
void tlb_quarantine_poll(void);
/* Entries still held. */
unsigned tlb_quarantined(void);
/* Flush every guest translation on this CPU (INVEPT and INVVPID all-context), counted. */
void tlb_flush_local_all(void);
/* Does this CPU owe a flush? Then do it now (before a VM entry, interrupts off). */
void tlb_flush_if_owed(void);
/* For tests: CPU cpu neither answers flush requests nor flushes (-1: none). */
void tlb_test_deaf(int cpu);
bool tlb_cpu_deaf(unsigned cpu);

#endif
