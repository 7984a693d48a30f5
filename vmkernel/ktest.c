/*
 * In-kernel test runner. Tests are registered with KTEST() into the
 * .ktest.* linker sections (sorted by name). ktest_run("all") or a comma
 * list of names runs them on the booted kernel, prints one line per test
 * and a summary line "ktest: N passed, M failed"; an unknown name counts
 * as a failure so a typo on the command line cannot pass silently. Tests
 * declared with KTEST_NAMED (those judging the VMs a boot was given) run
 * only when named, never under "all".
 */
#define pr_fmt(fmt) "ktest: " fmt
#include <stdio.h>
#include <string.h>
#include <vmkernel/ktest.h>
#include <vmkernel/linebuf.h>
#include <vmkernel/log.h>

extern const struct ktest *const __ktest_start[], *const __ktest_end[];

void ktest_fail(struct ktest_ctx *ctx, const char *file, int line, const char *fmt, ...)
{
	struct linebuf lb = LINEBUF_INIT(ctx->msg);
	va_list ap;

	ctx->failed = true;
	lb_printf(&lb, "%s:%d: ", file, line);
	va_start(ap, fmt);
	lb_vprintf(&lb, fmt, ap);
	va_end(ap);
}

static bool selected(const char *spec, const struct ktest *t)
{
	const char *name = t->name;
	size_t len = strlen(name);

	if (!strcmp(spec, "all"))
		return !t->named_only;
	for (const char *p = spec; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == len && !strncmp(p, name, n))
			return true;
		p += n + (end ? 1 : 0);
	}
	return false;
}

static int unknown_names(const char *spec)
{
	int bad = 0;

	if (!strcmp(spec, "all"))
		return 0;
	for (const char *p = spec; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		bool found = false;

		for (const struct ktest *const *t = __ktest_start; t < __ktest_end; t++)
			found |= strlen((*t)->name) == n && !strncmp((*t)->name, p, n);
		if (!found && n) {
			pr_err("no test named '%.*s'\n", (int)n, p);
			bad++;
		}
		p += n + (end ? 1 : 0);
	}
	return bad;
}

int ktest_run(const char *spec)
{
	int passed = 0, failed = unknown_names(spec);

	for (const struct ktest *const *tp = __ktest_start; tp < __ktest_end; tp++) {
		const struct ktest *t = *tp;
		struct ktest_ctx ctx = { .name = t->name };

		if (!selected(spec, t))
			continue;
		pr_info("%s: running\n", t->name);
		t->fn(&ctx);
		if (ctx.failed) {
			pr_err("%s: FAIL: %s\n", t->name, ctx.msg);
			failed++;
		} else {
			pr_info("%s: ok\n", t->name);
			passed++;
		}
	}
	pr_info("%d passed, %d failed\n", passed, failed);
	return failed;
}
