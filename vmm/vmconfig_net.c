/*
 * The NIC keys of a .vmx file (see vmconfig.h and docs/vmconfig.md).
 *
 * VMware's keys: ethernetN.present, .virtualDev, .networkName,
 * .addressType, .address, .generatedAddress, .generatedAddressOffset,
 * and Workstation's .connectionType and .vnet. Our model is "virtio-net"
 * (VMware has none; it is also the default when virtualDev is absent);
 * VMware's e1000, e1000e, vmxnet, vmxnet3 and vlance are refused as not
 * supported.
 *
 * Addresses, as VMware assigns them:
 *  - "static" takes ethernetN.address, which must lie in VMware's static
 *    range 00:50:56:00:00:00 - 00:50:56:3f:ff:ff.
 *  - "generated" (the default) takes ethernetN.generatedAddress when it is
 *    a 00:0c:29:xx:xx:xx address (what VMware wrote there; the offset is in
 *    it already); otherwise the vmkernel makes 00:0c:29:xx:xx:xx from a hash
 *    (FNV-1a) of the VM's name and the NIC's index, plus
 *    generatedAddressOffset: stable across boots, and different for each NIC
 *    of a VM.
 *  - "vpx" (vCenter-assigned) takes generatedAddress when it lies in
 *    vCenter's range 00:50:56:80:00:00 - 00:50:56:bf:ff:ff; there is no
 *    vCenter here to assign one, so without it the address is generated.
 * Two VMs whose addresses collide are caught when the second NIC connects to
 * the switch (the VM does not start, and says why).
 *
 * Networks: networkName names the port group. A Workstation .vmx has
 * connectionType instead, which maps onto port groups by Workstation's
 * network names when networkName is absent: "bridged" -> "VM Network",
 * "hostonly" -> "VMnet1", "nat" -> "VMnet8", "custom" -> its vnet
 * ("VMnet2"). There is no NAT or DHCP service and no host-only adapter
 * here: such a port group is whatever net.conf declares under that name,
 * and a VM whose port group is missing does not start. Whatever was mapped
 * or left unused is said in nic->note, which the NIC's start line logs:
 * nothing a VMware-made file says is dropped without a word.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmm/vmconfig.h>

static const char *const nic_key_names[VMCONFIG_NK_COUNT] = {
	[VMCONFIG_NK_PRESENT] = "present", [VMCONFIG_NK_VIRTUALDEV] = "virtualDev",
	[VMCONFIG_NK_NETWORKNAME] = "networkName", [VMCONFIG_NK_ADDRESSTYPE] = "addressType",
	[VMCONFIG_NK_ADDRESS] = "address", [VMCONFIG_NK_GENADDRESS] = "generatedAddress",
	[VMCONFIG_NK_GENOFFSET] = "generatedAddressOffset",
	[VMCONFIG_NK_CONNTYPE] = "connectionType", [VMCONFIG_NK_VNET] = "vnet",
};

static const char *const conn_names[] = {
	[VMCONFIG_CONN_NONE] = "", [VMCONFIG_CONN_BRIDGED] = "bridged",
	[VMCONFIG_CONN_NAT] = "nat", [VMCONFIG_CONN_HOSTONLY] = "hostonly",
	[VMCONFIG_CONN_CUSTOM] = "custom",
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

void vmconfig_net_generate_mac(const char *name, unsigned index, uint32_t offset, uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (const char *s = name; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	h = (h ^ (uint8_t)('0' + index)) * 16777619u;
	h ^= h >> 24;
	h += offset;
	mac[0] = 0x00;
	mac[1] = 0x0c;
	mac[2] = 0x29;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

/* generatedAddressOffset: a decimal number below 2^24 (VMware writes 0, 10, 20, ...) */
static int parse_offset(struct vmconfig_nic *d, const char *v, size_t vn, char *why, size_t len)
{
	uint32_t o = 0;

	if (!vn || vn > 8)
		return bad(why, len, "\"%s\" is not a number from 0 to 16777215", v);
	for (size_t i = 0; i < vn; i++) {
		if (v[i] < '0' || v[i] > '9')
			return bad(why, len, "\"%s\" is not a number from 0 to 16777215", v);
		o = o * 10 + (uint32_t)(v[i] - '0');
	}
	if (o > 0xffffff)
		return bad(why, len, "\"%s\" is not a number from 0 to 16777215", v);
	d->gen_offset = o;
	return 1;
}

static int parse_conn(struct vmconfig_nic *d, const char *v, size_t vn, char *why, size_t len)
{
	for (unsigned t = VMCONFIG_CONN_BRIDGED; t <= VMCONFIG_CONN_CUSTOM; t++) {
		if (ieq(v, vn, conn_names[t])) {
			d->conn = (enum vmconfig_conn_type)t;
			return 1;
		}
	}
	return bad(why, len, "\"%s\" is not a connection type this host maps (\"bridged\", "
		   "\"nat\", \"hostonly\", \"custom\")", v);
}

/* vnet: Workstation's "VMnetN" (or "/dev/vmnetN" from a Linux host), N 0..255; kept as "VMnetN" */
static int parse_vnet(struct vmconfig_nic *d, const char *v, size_t vn, char *why, size_t len)
{
	size_t i = 0;
	unsigned n = 0;

	if (vn > 5 && ieq(v, 5, "/dev/"))
		i = 5;
	if (vn < i + 6 || vn > i + 8 || !ieq(v + i, 5, "vmnet"))
		return bad(why, len, "\"%s\" is not a VMware virtual network name (VMnet0 to "
			   "VMnet255)", v);
	for (i += 5; i < vn; i++) {
		if (v[i] < '0' || v[i] > '9')
			return bad(why, len, "\"%s\" is not a VMware virtual network name "
				   "(VMnet0 to VMnet255)", v);
		n = n * 10 + (unsigned)(v[i] - '0');
	}
	if (n > 255)
		return bad(why, len, "\"%s\" is not a VMware virtual network name (VMnet0 to "
			   "VMnet255)", v);
	snprintf(d->vnet, sizeof(d->vnet), "VMnet%u", n);
	return 1;
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
			d->addr_type = VMCONFIG_ADDR_STATIC;
		else if (ieq(v, vn, "generated"))
			d->addr_type = VMCONFIG_ADDR_GENERATED;
		else if (ieq(v, vn, "vpx"))
			d->addr_type = VMCONFIG_ADDR_VPX;
		else
			return bad(why, len, "\"%s\" is not \"generated\", \"static\" or "
				   "\"vpx\"", v);
		d->static_mac = d->addr_type == VMCONFIG_ADDR_STATIC;
		return 1;
	case VMCONFIG_NK_ADDRESS:
		if (!parse_mac(v, vn, d->mac))
			return bad(why, len, "\"%s\" is not a MAC address (00:50:56:xx:xx:xx)", v);
		if (d->mac[0] != 0x00 || d->mac[1] != 0x50 || d->mac[2] != 0x56 || d->mac[3] > 0x3f)
			return bad(why, len, "\"%s\" is outside VMware's static range "
				   "00:50:56:00:00:00 to 00:50:56:3f:ff:ff", v);
		return 1;
	case VMCONFIG_NK_GENADDRESS:
		if (!parse_mac(v, vn, d->gen_mac))
			return bad(why, len, "\"%s\" is not a MAC address (00:0c:29:xx:xx:xx)", v);
		return 1;
	case VMCONFIG_NK_GENOFFSET:
		return parse_offset(d, v, vn, why, len);
	case VMCONFIG_NK_CONNTYPE:
		return parse_conn(d, v, vn, why, len);
	case VMCONFIG_NK_VNET:
		return parse_vnet(d, v, vn, why, len);
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
			   "networkName, addressType, address, generatedAddress, "
			   "generatedAddressOffset, connectionType, vnet)%s", "");
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

/* Add one clause to the NIC's note for the log ("; " between clauses; cut if long). */
static void note(struct vmconfig_nic *d, const char *text)
{
	size_t at = strlen(d->note);

	snprintf(d->note + at, sizeof(d->note) - at, "%s%s", at ? "; " : "", text);
}

static void fmt_mac(char *buf, size_t len, const uint8_t m[6])
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* The address of a present NIC, from addressType and the generatedAddress keys. */
static void choose_mac(const struct vm_config *c, struct vmconfig_nic *d)
{
	const uint8_t *g = d->gen_mac;
	bool have = d->line[VMCONFIG_NK_GENADDRESS] != 0;
	char m[20], text[VMCONFIG_NIC_NOTE_MAX];

	fmt_mac(m, sizeof(m), g);
	if (d->addr_type == VMCONFIG_ADDR_STATIC) {
		d->mac_source = "static";
		if (have || d->line[VMCONFIG_NK_GENOFFSET])
			note(d, "generatedAddress/generatedAddressOffset not used: addressType "
			     "is \"static\"");
		return;
	}
	if (have && d->addr_type == VMCONFIG_ADDR_GENERATED && g[0] == 0x00 && g[1] == 0x0c &&
	    g[2] == 0x29) {
		memcpy(d->mac, g, 6);
		d->mac_source = "generatedAddress";
		return;
	}
	if (have && d->addr_type == VMCONFIG_ADDR_VPX && g[0] == 0x00 && g[1] == 0x50 &&
	    g[2] == 0x56 && g[3] >= 0x80 && g[3] <= 0xbf) {
		memcpy(d->mac, g, 6);
		d->mac_source = "vCenter-assigned generatedAddress";
		return;
	}
	vmconfig_net_generate_mac(c->name, d->index, d->gen_offset, d->mac);
	d->mac_source = "generated";
	if (have) {
		snprintf(text, sizeof(text), "generatedAddress %s is outside %s, so the vmkernel "
			 "generated the address", m, d->addr_type == VMCONFIG_ADDR_VPX ?
			 "vCenter's range 00:50:56:80:00:00-00:50:56:bf:ff:ff" :
			 "VMware's generated range 00:0c:29:xx:xx:xx");
		note(d, text);
	} else if (d->addr_type == VMCONFIG_ADDR_VPX) {
		note(d, "addressType \"vpx\" without a vCenter-assigned generatedAddress: no "
		     "vCenter here, so the vmkernel generated the address");
	}
}

/*
 * The port group of a present NIC: networkName, else what Workstation's
 * connectionType maps to. -EINVAL (why) for "custom" without a vnet.
 */
static int choose_network(struct vmconfig_nic *d, char *why, size_t whylen)
{
	static const char *const pg[] = {
		[VMCONFIG_CONN_NONE] = "VM Network", [VMCONFIG_CONN_BRIDGED] = "VM Network",
		[VMCONFIG_CONN_NAT] = "VMnet8", [VMCONFIG_CONN_HOSTONLY] = "VMnet1",
	};
	char text[VMCONFIG_NIC_NOTE_MAX];

	if (d->conn == VMCONFIG_CONN_CUSTOM && !d->vnet[0])
		return bad(why, whylen, "\"custom\" needs ethernetN.vnet (the VMnetN whose port "
			   "group the NIC joins)%s", "");
	if (d->vnet[0] && d->conn != VMCONFIG_CONN_CUSTOM) {
		snprintf(text, sizeof(text), "vnet %s not used: connectionType is not \"custom\"",
			 d->vnet);
		note(d, text);
	}
	if (d->network[0]) {
		if (d->conn != VMCONFIG_CONN_NONE) {
			snprintf(text, sizeof(text), "connectionType \"%s\" not used: networkName "
				 "names the port group", conn_names[d->conn]);
			note(d, text);
		}
		return 0;
	}
	snprintf(d->network, sizeof(d->network), "%s",
		 d->conn == VMCONFIG_CONN_CUSTOM ? d->vnet : pg[d->conn]);
	if (d->conn == VMCONFIG_CONN_NAT || d->conn == VMCONFIG_CONN_HOSTONLY) {
		snprintf(text, sizeof(text), "connectionType \"%s\": no %s here; the NIC joins "
			 "port group '%s' as net.conf declares it", conn_names[d->conn],
			 d->conn == VMCONFIG_CONN_NAT ? "NAT or DHCP service" : "host-only adapter",
			 d->network);
		note(d, text);
	} else if (d->conn != VMCONFIG_CONN_NONE) {
		snprintf(text, sizeof(text), "connectionType \"%s\": port group '%s'",
			 conn_names[d->conn], d->network);
		note(d, text);
	}
	return 0;
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
		snprintf(key, keylen, "ethernet%u.connectionType", d->index);
		*line = d->line[VMCONFIG_NK_CONNTYPE];
		if (choose_network(d, why, whylen))
			return -EINVAL;
		choose_mac(c, d);
		snprintf(key, keylen, "ethernet%u.present", d->index);
		*line = d->line[VMCONFIG_NK_PRESENT] ? d->line[VMCONFIG_NK_PRESENT] : first;
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
