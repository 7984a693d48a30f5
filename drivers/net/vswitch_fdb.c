/*
 * The virtual switch's forwarding table: (VLAN, MAC address) -> port.
 *
 * Two kinds of entry. Static ones are the addresses the switch knows
 * without learning: the address a VM or vmkernel NIC receives at; they
 * never age and learning never moves them, so a VM that may forge its
 * source address still cannot pull another VM's traffic to itself.
 * Learned ones come from the source addresses of frames a port sends
 * (uplinks, nested hypervisors and bridges inside guests); they age out
 * after sw->ageing_ns without traffic, and a port may hold at most
 * VSW_LEARN_PER_PORT of them, so one port that sends from many addresses
 * (a MAC-flooding attack) cannot crowd the others out of the table. When
 * the table is full, nothing more is learned: unknown destinations are
 * flooded, which is slower but still correct.
 *
 * A fixed pool of entries chained from hash buckets; no allocation after
 * the switch is made. Every function runs under sw->lock.
 */
#include <errno.h>
#include <string.h>
#include "vswitch_priv.h"

static unsigned hash(unsigned vlan, const uint8_t *m)
{
	uint32_t h = 2166136261u ^ vlan;

	for (unsigned i = 0; i < VSW_ETH_ALEN; i++)
		h = (h ^ m[i]) * 16777619u;
	return (h ^ (h >> 15)) % VSW_FDB_BUCKETS;
}

void vsw_fdb_init(struct vsw_fdb *t)
{
	for (unsigned i = 0; i < VSW_FDB_BUCKETS; i++)
		t->bucket[i] = -1;
	for (int i = 0; i < VSW_FDB_ENTRIES; i++)
		t->e[i].next = i + 1 < VSW_FDB_ENTRIES ? i + 1 : -1;
	t->free = 0;
	t->learned = 0;
}

static void unlink_entry(struct vsw_fdb *t, int32_t *link)
{
	int32_t i = *link;
	struct vsw_fdb_entry *e = &t->e[i];

	*link = e->next;
	if (!e->is_static) {
		t->learned--;
		e->port->learned--;
	}
	e->port = NULL;
	e->next = t->free;
	t->free = i;
}

static bool expired(struct vswitch *sw, const struct vsw_fdb_entry *e, uint64_t now)
{
	return !e->is_static && now - e->seen_ns >= sw->ageing_ns;
}

/* The entry's link in its bucket, dropping expired entries met on the way; NULL if absent. */
static int32_t *find_link(struct vswitch *sw, unsigned vlan, const uint8_t *mac, uint64_t now)
{
	struct vsw_fdb *t = &sw->fdb;
	int32_t *link = &t->bucket[hash(vlan, mac)];

	while (*link >= 0) {
		struct vsw_fdb_entry *e = &t->e[*link];

		if (expired(sw, e, now)) {
			unlink_entry(t, link);
			continue;
		}
		if (e->vlan == vlan && vsw_mac_eq(e->mac, mac))
			return link;
		link = &e->next;
	}
	return NULL;
}

struct vsw_fdb_entry *vsw_fdb_find(struct vswitch *sw, unsigned vlan,
				   const uint8_t mac[VSW_ETH_ALEN])
{
	int32_t *link = find_link(sw, vlan, mac, sw->now_ns());

	return link ? &sw->fdb.e[*link] : NULL;
}

/* Free expired entries until one is free (a sweep of the whole table, only when full). */
static bool make_room(struct vswitch *sw, uint64_t now)
{
	struct vsw_fdb *t = &sw->fdb;

	for (unsigned b = 0; b < VSW_FDB_BUCKETS && t->free < 0; b++) {
		int32_t *link = &t->bucket[b];

		while (*link >= 0) {
			if (expired(sw, &t->e[*link], now))
				unlink_entry(t, link);
			else
				link = &t->e[*link].next;
		}
	}
	return t->free >= 0;
}

static struct vsw_fdb_entry *insert(struct vswitch *sw, unsigned vlan, const uint8_t *mac,
				    struct vsw_port *p, bool is_static, uint64_t now)
{
	struct vsw_fdb *t = &sw->fdb;
	unsigned b = hash(vlan, mac);
	struct vsw_fdb_entry *e;
	int32_t i;

	if (t->free < 0 && !make_room(sw, now))
		return NULL;
	i = t->free;
	e = &t->e[i];
	t->free = e->next;
	memcpy(e->mac, mac, VSW_ETH_ALEN);
	e->vlan = (uint16_t)vlan;
	e->is_static = is_static;
	e->port = p;
	e->seen_ns = now;
	e->next = t->bucket[b];
	t->bucket[b] = i;
	if (!is_static) {
		t->learned++;
		p->learned++;
	}
	return e;
}

int vsw_fdb_add_static(struct vswitch *sw, unsigned vlan, const uint8_t mac[VSW_ETH_ALEN],
		       struct vsw_port *p)
{
	uint64_t now = sw->now_ns();
	int32_t *link = find_link(sw, vlan, mac, now);

	if (link) {
		if (sw->fdb.e[*link].is_static)
			return sw->fdb.e[*link].port == p ? 0 : -EEXIST;
		unlink_entry(&sw->fdb, link);	/* a learned entry gives way */
	}
	return insert(sw, vlan, mac, p, true, now) ? 0 : -ENOMEM;
}

void vsw_fdb_learn(struct vswitch *sw, unsigned vlan, const uint8_t mac[VSW_ETH_ALEN],
		   struct vsw_port *p)
{
	uint64_t now = sw->now_ns();
	int32_t *link = find_link(sw, vlan, mac, now);

	if (link) {
		struct vsw_fdb_entry *e = &sw->fdb.e[*link];

		if (e->is_static)
			return;			/* a NIC's own address: not movable by others */
		if (e->port != p) {		/* the address moved (a VM migrated, a cable moved) */
			if (p->learned >= VSW_LEARN_PER_PORT)
				return;
			e->port->learned--;
			p->learned++;
			e->port = p;
		}
		e->seen_ns = now;
		return;
	}
	if (p->learned < VSW_LEARN_PER_PORT)
		insert(sw, vlan, mac, p, false, now);
}

void vsw_fdb_forget_port(struct vswitch *sw, struct vsw_port *p, bool static_only)
{
	struct vsw_fdb *t = &sw->fdb;

	for (unsigned b = 0; b < VSW_FDB_BUCKETS; b++) {
		int32_t *link = &t->bucket[b];

		while (*link >= 0) {
			struct vsw_fdb_entry *e = &t->e[*link];

			if (e->port == p && (e->is_static || !static_only))
				unlink_entry(t, link);
			else
				link = &e->next;
		}
	}
}
