/* The virtual switch's private parts: its forwarding table and its structures. */
#ifndef VSWITCH_PRIV_H
#define VSWITCH_PRIV_H

#include <drivers/vswitch.h>
#include <vmkernel/spinlock.h>

#define VSW_MAX_PORTGROUPS 32
#define VSW_FDB_ENTRIES 4096
#define VSW_FDB_BUCKETS 1024

struct vsw_portgroup {
	char name[VSW_NAME_MAX];
	unsigned vlan;			/* VSW_VLAN_NONE, 1..4094, VSW_VLAN_TRUNK */
	struct vsw_policy policy;
};

struct vsw_filter {
	struct vsw_rx_mode mode;	/* uc/mc point into the arrays below */
	uint8_t uc[VSW_FILTER_MAX][VSW_ETH_ALEN];
	uint8_t mc[VSW_FILTER_MAX][VSW_ETH_ALEN];
};

struct vsw_port {
	struct vswitch *sw;
	struct vsw_port *next;		/* in sw->ports, sw->lock */
	const struct vsw_portgroup *pg;	/* NULL for an uplink */
	enum vsw_port_kind kind;
	char owner[48];
	uint8_t initial_mac[VSW_ETH_ALEN];
	uint8_t mac[VSW_ETH_ALEN];	/* effective address, sw->lock */
	bool blocked;			/* changed its address against the policy, sw->lock */
	unsigned learned;		/* entries learned from this port, sw->lock */
	struct vsw_filter filter;	/* sw->lock */
	const struct vsw_port_ops *ops;
	void *ctx;
	struct vsw_counters c;		/* sw->lock */
};

/* One forwarding entry: (VLAN, address) -> port. */
struct vsw_fdb_entry {
	uint8_t mac[VSW_ETH_ALEN];
	uint16_t vlan;
	bool is_static;			/* a port's own address: never ages, never relearned */
	struct vsw_port *port;
	uint64_t seen_ns;
	int32_t next;			/* next in bucket or free list, -1 ends */
};

struct vsw_fdb {
	int32_t bucket[VSW_FDB_BUCKETS];
	int32_t free;
	unsigned learned;		/* non-static entries in use */
	struct vsw_fdb_entry e[VSW_FDB_ENTRIES];
};

struct vswitch {
	char name[VSW_NAME_MAX];
	unsigned mtu;
	uint64_t ageing_ns;
	uint64_t (*now_ns)(void);
	struct spinlock lock;		/* everything below, and every port's fields */
	struct vsw_portgroup pg[VSW_MAX_PORTGROUPS];
	unsigned npg;
	struct vsw_port *ports;
	struct vsw_fdb fdb;
	uint8_t scratch[VSW_FRAME_MAX];	/* checksum completion for ports without offload */
};

/* Forwarding table (vswitch_fdb.c); all under sw->lock. */
void vsw_fdb_init(struct vsw_fdb *t);
struct vsw_fdb_entry *vsw_fdb_find(struct vswitch *sw, unsigned vlan,
				   const uint8_t mac[VSW_ETH_ALEN]);
int vsw_fdb_add_static(struct vswitch *sw, unsigned vlan, const uint8_t mac[VSW_ETH_ALEN],
		       struct vsw_port *p);
void vsw_fdb_learn(struct vswitch *sw, unsigned vlan, const uint8_t mac[VSW_ETH_ALEN],
		   struct vsw_port *p);
/* Forget entries of port p (all of them, or only its static ones). */
void vsw_fdb_forget_port(struct vswitch *sw, struct vsw_port *p, bool static_only);

static inline bool vsw_mac_eq(const uint8_t *a, const uint8_t *b)
{
	for (unsigned i = 0; i < VSW_ETH_ALEN; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

static inline bool vsw_mac_multicast(const uint8_t *m)
{
	return m[0] & 1;
}

static inline bool vsw_mac_broadcast(const uint8_t *m)
{
	return (m[0] & m[1] & m[2] & m[3] & m[4] & m[5]) == 0xff;
}

#endif
