/*
 * The host's switches: at boot, read the net.conf boot module (if any),
 * create its switches and port groups plus the default vSwitch0 / "VM
 * Network", and list them in the log. The set is fixed after boot, so
 * lookups take no lock. A bad net.conf is reported by file and line and
 * the host carries on with the default switch alone.
 */
#define pr_fmt(fmt) "net: " fmt
#include <errno.h>
#include <string.h>
#include <drivers/netconf.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/init.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/timer.h>

static struct vswitch *switches[NETCONF_SWITCHES_MAX];
static struct netconf *conf;	/* as applied; read-only after boot */

static const char *verdict(bool accept)
{
	return accept ? "accept" : "reject";
}

int netconf_apply(const struct netconf *c)
{
	for (unsigned i = 0; i < c->nsw; i++) {
		switches[i] = vswitch_create(c->sw[i].name, c->sw[i].mtu, time_ns);
		if (!switches[i])
			return -ENOMEM;
		pr_info("vswitch %s: MTU %u\n", c->sw[i].name, c->sw[i].mtu);
	}
	for (unsigned i = 0; i < c->npg; i++) {
		const struct netconf_portgroup *p = &c->pg[i];
		int rc = vswitch_add_portgroup(switches[p->sw], p->name, p->vlan, &p->policy);

		if (rc)
			return rc;
		pr_info("vswitch %s: port group '%s', VLAN %u%s, promiscuous %s, MAC changes %s, "
			"forged transmits %s\n", c->sw[p->sw].name, p->name, p->vlan,
			p->vlan == VSW_VLAN_TRUNK ? " (trunk: the guest tags)" : "",
			verdict(p->policy.promiscuous), verdict(p->policy.mac_changes),
			verdict(p->policy.forged_transmits));
	}
	return 0;
}

struct vswitch *vswitch_host_find(const char *pg, unsigned *vlan)
{
	if (!conf)
		return NULL;
	for (unsigned i = 0; i < conf->npg; i++) {
		if (!strcmp(conf->pg[i].name, pg)) {
			*vlan = conf->pg[i].vlan;
			return switches[conf->pg[i].sw];
		}
	}
	return NULL;
}

struct vswitch *vswitch_host_switch(const char *name)
{
	if (!conf)
		return NULL;
	for (unsigned i = 0; i < conf->nsw; i++)
		if (!strcmp(conf->sw[i].name, name))
			return switches[i];
	return NULL;
}

static int vswitch_host_init(void)
{
	const struct boot_module *m = bootmod_find(NETCONF_MODULE);
	struct netconf *c = kzalloc(sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	if (m && netconf_parse(NETCONF_MODULE, m->data, m->size, c)) {
		pr_err("%s; using only the default %s with port group '%s'\n", c->err,
		       NETCONF_DEFAULT_SWITCH, NETCONF_DEFAULT_PG);
		m = NULL;
	}
	if (!m)
		netconf_parse(NETCONF_MODULE, NULL, 0, c);
	rc = netconf_apply(c);
	if (rc) {
		pr_err("cannot create the virtual switches (error %d): VMs get no network\n", rc);
		return rc;
	}
	conf = c;
	return 0;
}
INIT_LEVEL(vswitch_host_init, INIT_SUBSYS);
