/* Boot modules from the multiboot2 information, kept for the rest of the run. */
#define pr_fmt(fmt) "boot: " fmt
#include <stdio.h>
#include <string.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/log.h>
#include <vmkernel/multiboot2.h>
#include <vmkernel/paging.h>

static struct boot_module mods[MB2_MAX_MODULES];

static size_t strcspn_space(const char *s)
{
	size_t n = 0;

	while (s[n] && s[n] != ' ' && s[n] != '\t')
		n++;
	return n;
}
static unsigned n_mods;

void bootmod_init(const struct mb2_info *mb);
void bootmod_init(const struct mb2_info *mb)
{
	for (uint32_t i = 0; i < mb->module_count; i++) {
		const struct mb2_module *m = &mb->modules[i];
		struct boot_module *b = &mods[n_mods];
		const char *s = m->string ? m->string : "";
		size_t n = strcspn_space(s);

		if (!paging_phys_mapped(m->start, m->end - m->start)) {
			pr_err("module %u (%s) at %#x is outside mapped memory: ignored\n", i, s,
			       m->start);
			continue;
		}
		snprintf(b->name, sizeof(b->name), "%.*s", (int)n, s);
		b->args = s + n + (s[n] ? 1 : 0);
		b->phys = m->start;
		b->size = m->end - m->start;
		b->data = phys_to_virt(m->start);
		n_mods++;
		pr_info("module %s: %zu bytes%s%s\n", b->name, b->size, *b->args ? ", " : "",
			b->args);
	}
}

unsigned bootmod_count(void)
{
	return n_mods;
}

const struct boot_module *bootmod_get(unsigned i)
{
	return i < n_mods ? &mods[i] : NULL;
}

const struct boot_module *bootmod_find(const char *name)
{
	for (unsigned i = 0; i < n_mods; i++) {
		if (!strcmp(mods[i].name, name))
			return &mods[i];
	}
	return NULL;
}
