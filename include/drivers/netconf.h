/*
 * The host's virtual switches and port groups.
 *
 * Users describe them in a boot module named "net.conf" (docs/networking.md):
 *
 *   # comment
 *   vswitch vSwitch1 mtu=9000
 *   portgroup "Lab 10" vswitch=vSwitch1 vlan=10 promiscuous=accept
 *
 * netconf_parse() reads that text (pure: also built for the host tests);
 * netconf_apply() creates the switches at boot. vSwitch0 (MTU 1500) and
 * its port group "VM Network" (VLAN 0, every policy rejected) exist even
 * without a net.conf, unless the file declares them itself.
 */
#ifndef DRIVERS_NETCONF_H
#define DRIVERS_NETCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <drivers/vswitch.h>

#define NETCONF_MODULE		"net.conf"
#define NETCONF_SWITCHES_MAX	8
#define NETCONF_PORTGROUPS_MAX	32
#define NETCONF_DEFAULT_SWITCH	"vSwitch0"
#define NETCONF_DEFAULT_PG	"VM Network"
#define NETCONF_ERR_MAX		200

struct netconf_switch {
	char name[VSW_NAME_MAX];
	unsigned mtu;
	unsigned line;			/* 0: the default one */
};

struct netconf_portgroup {
	char name[VSW_NAME_MAX];
	unsigned sw;			/* index into netconf.sw */
	unsigned vlan;			/* 0, 1..4094, 4095 (trunk) */
	struct vsw_policy policy;
	unsigned line;			/* 0: the default one */
};

struct netconf {
	struct netconf_switch sw[NETCONF_SWITCHES_MAX];
	unsigned nsw;
	struct netconf_portgroup pg[NETCONF_PORTGROUPS_MAX];
	unsigned npg;
	char err[NETCONF_ERR_MAX];	/* "FILE:LINE: what is wrong" on failure */
};

/*
 * Parse text (len bytes, need not end in NUL) into out, then add the default
 * switch and port group where the file does not name them. Returns 0 or
 * -EINVAL with out->err set. text may be NULL (no file): the defaults only.
 */
int netconf_parse(const char *file, const char *text, size_t len, struct netconf *out);

/* Create the switches and port groups at boot (drivers/net/vswitch_host.c). */
int netconf_apply(const struct netconf *c);

/*
 * The switch that holds port group pg, or NULL (no such port group);
 * *vlan gets the port group's VLAN rule.
 */
struct vswitch *vswitch_host_find(const char *pg, unsigned *vlan);

/*
 * The switch named name (net.conf's "vswitch NAME", or vSwitch0), or NULL.
 * A physical NIC's driver attaches its uplink there with
 * vswitch_connect(sw, NULL, VSW_PORT_UPLINK, ...), and a vmkernel NIC joins
 * a port group with vswitch_host_find() and VSW_PORT_VMKNIC
 * (docs/networking.md, "Uplinks and vmkernel NICs").
 */
struct vswitch *vswitch_host_switch(const char *name);

#endif
