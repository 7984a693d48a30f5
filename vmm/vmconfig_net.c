/*
 * The NIC keys of a .vmx file (see vmconfig.h and docs/vmconfig.md).
 *
 * VMware's keys: ethernetN.present, .virtualDev, .networkName,
 * .addressType, .address. Our model is "virtio-net" (VMware has none;
 * it is also the default when virtualDev is absent); VMware's e1000,
 * e1000e, vmxnet, vmxnet3 and vlance are refused as not supported.
 *
 * Addresses, as VMware assigns them: addressType "static" takes
 * ethernetN.address, which must lie in VMware's static range
 * 00:50:56:00:00:00 - 00:50:56:3f:ff:ff. "generated" (the default) makes
 * 00:0c:29:xx:xx:xx from a hash (FNV-1a) of the VM's name and the NIC's
 * index: stable across boots, and different for each NIC of a VM. Two
 * VMs whose generated addresses collide are caught when the second NIC
 * connects to the switch (the VM does not start, and says why).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmm/vmconfig.h>

static const char *const nic_key_names[VMCONFIG_NK_COUNT] = {
	[VMCONFIG_NK_PRESENT] = "present", [VMCONFIG_NK_VIRTUALDEV] = "virtualDev",
	[VMCONFIG_NK_NETWORKNAME] = "networkName", [VMCONFIG_NK_ADDRESSTYPE] = "addressType",
	[VMCONFIG_NK_ADDRESS] = "address",
};

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool ieq(const char *s, size_t n, const char *w)
{
	for (size_t i = 0; i < n; i++) {
		if (!w[i] || lower(s[i]) != lower(w[i]))
			return false;
	}
	return w[n] == '\0';
}

static int bad(char *why, size_t len, const char *fmt, const char *v)
{
	snprintf(why, len, fmt, v);
	return -EINVAL;
}

static int hexdigit(char c)
{
	c = lower(c);
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "xx:xx:xx:xx:xx:xx" (or '-' separated) */
static bool parse_mac(const char *v, size_t n, uint8_t mac[6])
{
	if (n != 17)
		return false;
	for (unsigned i = 0; i < 6; i++) {
		int hi = hexdigit(v[3 * i]), lo = hexdigit(v[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && v[3 * i + 2] != ':' && v[3 * i + 2] != '-'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

void vmconfig_net_generate_mac(const char *name, unsigned index, uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (const char *s = name; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	h = (h ^ (uint8_t)('0' + index)) * 16777619u;
	h ^= h >> 24;
	mac[0] = 0x00;
	mac[1] = 0x0c;
	mac[2] = 0x29;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

static int nic_value(struct vmconfig_nic *d, enum vmconfig_nic_key k, const char *v, size_t vn,
		     char *why, size_t len)
{
	switch (k) {
	case VMCONFIG_NK_PRESENT:
		if (ieq(v, vn, "true"))
			d->present = true;
		else if (ieq(v, vn, "false"))
			d->present = false;
		else
			return bad(why, len, "\"%s\" is neither TRUE nor FALSE", v);
		return 1;
	case VMCONFIG_NK_VIRTUALDEV:
		if (ieq(v, vn, "virtio-net"))
			return 1;
		if (ieq(v, vn, "e1000") || ieq(v, vn, "e1000e") || ieq(v, vn, "vmxnet") ||
		    ieq(v, vn, "vmxnet3") || ieq(v, vn, "vlance"))
			return bad(why, len, "\"%s\" is not supported (only \"virtio-net\")", v);
		return bad(why, len, "\"%s\" is not a NIC model (\"virtio-net\"; VMware's e1000, "
			   "e1000e, vmxnet3 are not supported)", v);
	case VMCONFIG_NK_NETWORKNAME:
		if (!vn || vn >= VMCONFIG_NETNAME_MAX)
			return bad(why, len, "a port group name is 1 to 31 characters%s", "");
		for (size_t i = 0; i < vn; i++)
			if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
				return bad(why, len, "control character in a port group name%s",
					   "");
		memcpy(d->network, v, vn);
		d->network[vn] = '\0';
		return 1;
	case VMCONFIG_NK_ADDRESSTYPE:
		if (ieq(v, vn, "static"))
			d->static_mac = true;
		else if (ieq(v, vn, "generated"))
			d->static_mac = false;
		else if (ieq(v, vn, "vpx"))
			return bad(why, len, "\"%s\" (vCenter-assigned) is not supported "
				   "(\"static\" or \"generated\")", v);
		else
			return bad(why, len, "\"%s\" is not \"static\" or \"generated\"", v);
		return 1;
	case VMCONFIG_NK_ADDRESS:
		if (!parse_mac(v, vn, d->mac))
			return bad(why, len, "\"%s\" is not a MAC address (00:50:56:xx:xx:xx)", v);
		if (d->mac[0] != 0x00 || d->mac[1] != 0x50 || d->mac[2] != 0x56 || d->mac[3] > 0x3f)
			return bad(why, len, "\"%s\" is outside VMware's static range "
				   "00:50:56:00:00:00 to 00:50:56:3f:ff:ff", v);
		return 1;
	default:
		return -EINVAL;
	}
}

static struct vmconfig_nic *slot(struct vm_config *c, unsigned index)
{
	for (unsigned i = 0; i < c->nnic_slots; i++)
		if (c->nics[i].index == index)
			return &c->nics[i];
	if (c->nnic_slots == VMCONFIG_ETH_SLOTS)
		return NULL;
	c->nics[c->nnic_slots] = (struct vmconfig_nic){ .index = (uint8_t)index };
	return &c->nics[c->nnic_slots++];
}

int vmconfig_net_key(struct vm_config *c, const char *key, size_t klen, const char *val,
		     size_t vlen, unsigned int line, char *why, size_t whylen)
{
	size_t i = 8;
	unsigned index = 0, digits = 0, k;
	struct vmconfig_nic *d;

	if (klen < 10 || !ieq(key, 8, "ethernet"))
		return 0;
	while (i < klen && key[i] >= '0' && key[i] <= '9' && digits < 3) {
		index = index * 10 + (unsigned)(key[i++] - '0');
		digits++;
	}
	if (!digits || i >= klen || key[i] != '.')
		return 0;
	i++;
	for (k = 0; k < VMCONFIG_NK_COUNT; k++)
		if (ieq(key + i, klen - i, nic_key_names[k]))
			break;
	if (k == VMCONFIG_NK_COUNT)
		return bad(why, whylen, "not supported (ethernetN.present, virtualDev, "
			   "networkName, addressType, address)%s", "");
	if (index >= VMCONFIG_ETH_SLOTS || digits > 1)
		return bad(why, whylen, "NICs are ethernet0 to ethernet9%s", "");
	d = slot(c, index);
	if (!d)
		return bad(why, whylen, "too many NICs named%s", "");
	if (d->line[k]) {
		snprintf(why, whylen, "duplicate key (first set on line %u)", d->line[k]);
		return -EINVAL;
	}
	d->line[k] = line;
	return nic_value(d, k, val, vlen, why, whylen);
}

int vmconfig_net_finish(struct vm_config *c, char *key, size_t keylen, unsigned int *line,
			char *why, size_t whylen)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->nnic_slots; i++) {
		struct vmconfig_nic *d = &c->nics[i];
		unsigned first = 0;

		for (unsigned k = 0; k < VMCONFIG_NK_COUNT; k++)
			if (d->line[k] && (!first || d->line[k] < first))
				first = d->line[k];
		snprintf(key, keylen, "ethernet%u.present", d->index);
		*line = d->line[VMCONFIG_NK_PRESENT] ? d->line[VMCONFIG_NK_PRESENT] : first;
		if (!d->present) {
			if (!d->line[VMCONFIG_NK_PRESENT])
				return bad(why, whylen, "the NIC has no present = \"TRUE\"%s", "");
			continue;
		}
		if (d->static_mac && !d->line[VMCONFIG_NK_ADDRESS]) {
			snprintf(key, keylen, "ethernet%u.addressType", d->index);
			*line = d->line[VMCONFIG_NK_ADDRESSTYPE];
			return bad(why, whylen, "\"static\" needs ethernetN.address%s", "");
		}
		if (!d->static_mac && d->line[VMCONFIG_NK_ADDRESS]) {
			snprintf(key, keylen, "ethernet%u.address", d->index);
			*line = d->line[VMCONFIG_NK_ADDRESS];
			return bad(why, whylen, "is only used with addressType = \"static\"%s", "");
		}
		if (n == VMCONFIG_NICS_MAX)
			return bad(why, whylen, "more than 4 NICs%s", "");
		if (!d->network[0])
			snprintf(d->network, sizeof(d->network), "VM Network");
		if (!d->static_mac)
			vmconfig_net_generate_mac(c->name, d->index, d->mac);
		for (unsigned j = 0; j < n; j++) {
			if (!memcmp(c->nics[j].mac, d->mac, 6)) {
				snprintf(why, whylen, "the same MAC address as ethernet%u",
					 c->nics[j].index);
				return -EINVAL;
			}
		}
		if (n != i)
			c->nics[n] = *d;
		n++;
	}
	c->nnics = n;
	return 0;
}
