/*
 * The entropy device's keys of a .vmx file (see vmconfig.h and
 * docs/vmconfig.md): rng0.present and rng0.rate, our own keys (VMware
 * has no virtio-rng device). Each is checked as its line is read;
 * rng0.rate without rng0.present = "TRUE" would be a key parsed and not
 * applied, so it is an error once the file is read.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmm/vmconfig.h>

static bool ieq(const char *s, size_t n, const char *w)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
		char d = w[i] >= 'A' && w[i] <= 'Z' ? (char)(w[i] - 'A' + 'a') : w[i];

		if (!w[i] || c != d)
			return false;
	}
	return w[n] == '\0';
}

static int seen(unsigned *at, unsigned line, char *why, size_t len)
{
	if (*at) {
		snprintf(why, len, "duplicate key (first set on line %u)", *at);
		return -EINVAL;
	}
	*at = line;
	return 0;
}

static int rate(struct vmconfig_rng *r, const char *v, size_t vn, char *why, size_t len)
{
	uint64_t n = 0;

	for (size_t i = 0; i < vn; i++) {
		if (v[i] < '0' || v[i] > '9' || i >= 10) {
			n = 0;
			break;
		}
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (n < VMCONFIG_RNG_RATE_MIN || n > VMCONFIG_RNG_RATE_MAX) {
		snprintf(why, len, "\"%.20s\" is not a rate from %u to %u bytes per second", v,
			 VMCONFIG_RNG_RATE_MIN, VMCONFIG_RNG_RATE_MAX);
		return -EINVAL;
	}
	r->rate = (uint32_t)n;
	return 1;
}

int vmconfig_rng_key(struct vm_config *c, const char *key, size_t klen, const char *val,
		     size_t vlen, unsigned int line, char *why, size_t whylen)
{
	struct vmconfig_rng *r = &c->rng;

	if (klen < 4 || !ieq(key, 3, "rng") || key[3] < '0' || key[3] > '9')
		return 0;
	if (ieq(key, klen, "rng0.present")) {
		if (seen(&r->present_line, line, why, whylen))
			return -EINVAL;
		if (ieq(val, vlen, "true"))
			r->present = true;
		else if (ieq(val, vlen, "false"))
			r->present = false;
		else {
			snprintf(why, whylen, "\"%.20s\" is neither TRUE nor FALSE", val);
			return -EINVAL;
		}
		return 1;
	}
	if (ieq(key, klen, "rng0.rate"))
		return seen(&r->rate_line, line, why, whylen) ? -EINVAL
							       : rate(r, val, vlen, why, whylen);
	if (key[3] == '0' && klen > 4 && key[4] == '.')
		snprintf(why, whylen, "not a key of the entropy device (rng0.present, rng0.rate)");
	else
		snprintf(why, whylen, "a VM has one entropy device, rng0");
	return -EINVAL;
}

int vmconfig_rng_finish(struct vm_config *c, char *key, size_t keylen, unsigned int *line,
			char *why, size_t whylen)
{
	struct vmconfig_rng *r = &c->rng;

	if (r->rate_line && !r->present) {
		snprintf(key, keylen, "rng0.rate");
		*line = r->rate_line;
		snprintf(why, whylen, "there is no entropy device to apply it to (rng0.present "
			 "is not \"TRUE\")");
		return -EINVAL;
	}
	if (!r->rate)
		r->rate = VMCONFIG_RNG_RATE_DEFAULT;
	return 0;
}
