/* Init levels: run the functions registered with INIT_LEVEL() for one level. */
#define pr_fmt(fmt) "init: " fmt
#include <vmkernel/init.h>
#include <vmkernel/log.h>

extern const struct initcall *const __initcall_start[], *const __initcall_end[];

void init_run_level(int level)
{
	for (const struct initcall *const *p = __initcall_start; p < __initcall_end; p++) {
		const struct initcall *c = *p;
		int err;

		if (c->level != level)
			continue;
		pr_dbg("level %d: %s\n", level, c->name);
		err = c->fn();
		if (err)
			pr_err("%s failed (%d); continuing without it\n", c->name, err);
	}
}
