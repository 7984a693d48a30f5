/*
 * In-kernel tests. KTEST(name) { ... } registers a test that runs on the
 * booted kernel when the command line says test=all or test=name[,name...].
 * Tests report with KT_ASSERT()/KT_ASSERT_EQ(); a failed assertion ends the
 * test (not the kernel) and prints the expression, the values and the line.
 */
#ifndef KTEST_H
#define KTEST_H

#include <stdbool.h>
#include <stdint.h>

struct ktest_ctx {
	const char *name;
	bool failed;
	char msg[200];
};

struct ktest {
	const char *name;
	void (*fn)(struct ktest_ctx *ctx);
	bool named_only;	/* not part of "all": runs only when named */
};

#define KTEST_DEFINE(tname, only)					\
	static void ktest_fn_##tname(struct ktest_ctx *ctx);		\
	static const struct ktest __ktest_##tname = {			\
		.name = #tname, .fn = ktest_fn_##tname, .named_only = only }; \
	static const struct ktest *const __ktest_ptr_##tname		\
	__attribute__((used, section(".ktest." #tname))) = &__ktest_##tname; \
	static void ktest_fn_##tname(struct ktest_ctx *ctx __attribute__((unused)))

/* A self-test of the kernel: part of "all". */
#define KTEST(tname) KTEST_DEFINE(tname, false)
/*
 * A test of what the boot was given (the VMs of its configs): it has
 * nothing to judge in a plain "all" run, so it runs only when named.
 */
#define KTEST_NAMED(tname) KTEST_DEFINE(tname, true)

void ktest_fail(struct ktest_ctx *ctx, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define KT_ASSERT(cond)							\
	do {								\
		if (!(cond)) {						\
			ktest_fail(ctx, __FILE__, __LINE__, "%s", #cond); \
			return;						\
		}							\
	} while (0)

#define KT_ASSERT_EQ(a, b)						\
	do {								\
		unsigned long long _a = (unsigned long long)(a);	\
		unsigned long long _b = (unsigned long long)(b);	\
		if (_a != _b) {						\
			ktest_fail(ctx, __FILE__, __LINE__,		\
				   "%s == %s (0x%llx != 0x%llx)", #a, #b, _a, _b); \
			return;						\
		}							\
	} while (0)

/* crashtest=fault|panic: crash on the last-started CPU (CPU 1 if any) on purpose. */
int ktest_crash(const char *how);

/* Run the tests the spec selects ("all" or a comma list); returns failures. */
int ktest_run(const char *spec);

#endif
