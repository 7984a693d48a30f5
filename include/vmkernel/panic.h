/*
 * panic(): host state is corrupt. Stops every CPU (NMI broadcast), prints why
 * and a backtrace, and in test mode ends the emulator with a failure status.
 * Guest misbehaviour never panics; it stops that VM.
 */
#ifndef PANIC_H
#define PANIC_H

#include <stdbool.h>

void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* For callers that already printed the backtrace that matters (exceptions). */
void panic_no_backtrace(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
bool panic_in_progress(void);
/*
 * Claim the panic before printing a crash report (stops the other CPUs,
 * takes the console); end with panic() or panic_no_backtrace().
 */
void panic_begin(void);
/* Called from the NMI handler: if another CPU panicked, halt here forever. */
void panic_stop_if_requested(void);
/* fn runs on every CPU as it stops for a panic (e.g. to leave VMX operation). */
void panic_register_stop_hook(void (*fn)(void));
void backtrace_print(unsigned long rbp, unsigned long rip);

#define ASSERT(cond)							\
	do {								\
		if (!(cond))						\
			panic("assertion failed: %s at %s:%d", #cond,	\
			      __FILE__, __LINE__);			\
	} while (0)

#endif
