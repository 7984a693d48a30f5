/*
 * chatty: prints a thousand lines as fast as it can through the console
 * hypercall. The host must rate-limit it (and say how many lines it
 * dropped) rather than let one guest flood the log; the guest itself must
 * still see every write succeed.
 */
#include "guest.h"

const char guest_name[] = "chatty";

void guest_main(void)
{
	static const char line[] = "chatty: a line of output that nobody needs\n";
	unsigned ok = 0;

	if (vmk_skip("console_writes_succeed"))
		guest_finish();
	for (int i = 0; i < 1000; i++)
		ok += hc_console_write(line, sizeof(line) - 1) == (long)(sizeof(line) - 1);
	CHECKF(ok == 1000, "console_writes_succeed", "%u of 1000", ok);
	guest_finish();
}
