/*
 * The virtual switch (see include/drivers/vswitch.h; docs/networking.md).
 *
 * A frame a port sends goes through four steps, all under the switch's
 * lock:
 *   1. Size and VLAN. A frame shorter than an Ethernet header or with a
 *      payload above the switch's MTU is dropped. Its VLAN comes from the
 *      sender's port group: an access port (VLAN 1..4094, or none) sends
 *      untagged frames and the switch assigns the VLAN, so a tagged frame
 *      from it is dropped (a guest must not hop VLANs); a trunk port (port
 *      group VLAN 4095, or an uplink) tags its own frames, untagged ones
 *      travel in VLAN 0.
 *   2. Security. A VM or vmkernel NIC whose port group rejects forged
 *      transmits may send only from its effective address.
 *   3. Learning: the source address is learned for the sender's port
 *      (vswitch_fdb.c), unless it is another NIC's own address.
 *   4. Forwarding. A unicast address the table knows goes to that port;
 *      every other frame is flooded to the ports of its VLAN. Promiscuous
 *      ports of the VLAN see every frame. Each receiving port's filter
 *      (its address, the lists and modes its driver set) decides, and the
 *      frame is re-tagged for it: trunk ports get a tag for VLANs other
 *      than 0, access ports never see one.
 * Frames never go back out of the port they came from, and never from one
 * uplink to another (only the first uplink carries floods: the switch is
 * not a bridge between physical networks and needs no spanning tree).
 *
 * Locking: sw->lock (interrupts off) protects the port list, every port's
 * address, filter and counters, and the forwarding table. Receivers'
 * deliver() runs under it and only copies the frame. One switch's traffic
 * is therefore serialised; per-port locks are the next step when a host
 * has the CPUs to use them.
 */
#define pr_fmt(fmt) "vswitch: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include "vswitch_priv.h"

#define ETH_P_8021Q 0x8100

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void copy_name(char *to, const char *from, size_t n)
{
	snprintf(to, n, "%s", from);
}

struct vswitch *vswitch_create(const char *name, unsigned mtu, uint64_t (*now_ns)(void))
{
	struct vswitch *sw;

	if (!name || !*name || strlen(name) >= VSW_NAME_MAX || mtu < VSW_MTU_MIN ||
	    mtu > VSW_MTU_MAX || !now_ns)
		return NULL;
	sw = kzalloc(sizeof(*sw));
	if (!sw)
		return NULL;
	copy_name(sw->name, name, sizeof(sw->name));
	sw->mtu = mtu;
	sw->ageing_ns = VSW_AGEING_DEFAULT_S * 1000000000ull;
	sw->now_ns = now_ns;
	spin_init(&sw->lock, "vswitch");
	vsw_fdb_init(&sw->fdb);
	return sw;
}

void vswitch_destroy(struct vswitch *sw)
{
	if (!sw)
		return;
	if (sw->ports)
		pr_err("%s: destroyed with ports still connected (%s)\n", sw->name,
		       sw->ports->owner);
	kfree(sw);
}

const char *vswitch_name(const struct vswitch *sw)
{
	return sw->name;
}

unsigned vswitch_mtu(const struct vswitch *sw)
{
	return sw->mtu;
}

void vswitch_set_ageing(struct vswitch *sw, unsigned seconds)
{
	unsigned long f = spin_lock_irqsave(&sw->lock);

	sw->ageing_ns = (seconds ? seconds : 1) * 1000000000ull;
	spin_unlock_irqrestore(&sw->lock, f);
}

static struct vsw_portgroup *find_pg(struct vswitch *sw, const char *name)
{
	for (unsigned i = 0; i < sw->npg; i++)
		if (!strcmp(sw->pg[i].name, name))
			return &sw->pg[i];
	return NULL;
}

int vswitch_add_portgroup(struct vswitch *sw, const char *name, unsigned vlan,
			  const struct vsw_policy *policy)
{
	unsigned long f;
	int rc = 0;

	if (!name || !*name || strlen(name) >= VSW_NAME_MAX || vlan > VSW_VLAN_TRUNK)
		return -EINVAL;
	f = spin_lock_irqsave(&sw->lock);
	if (find_pg(sw, name)) {
		rc = -EEXIST;
	} else if (sw->npg == VSW_MAX_PORTGROUPS) {
		rc = -ENOMEM;
	} else {
		struct vsw_portgroup *pg = &sw->pg[sw->npg++];

		copy_name(pg->name, name, sizeof(pg->name));
		pg->vlan = vlan;
		pg->policy = policy ? *policy : (struct vsw_policy){ 0 };
	}
	spin_unlock_irqrestore(&sw->lock, f);
	return rc;
}

bool vswitch_has_portgroup(const struct vswitch *sw, const char *name)
{
	return find_pg((struct vswitch *)sw, name) != NULL;
}

static bool is_trunk(const struct vsw_port *p)
{
	return p->kind == VSW_PORT_UPLINK || p->pg->vlan == VSW_VLAN_TRUNK;
}

static bool member(const struct vsw_port *p, unsigned vlan)
{
	return is_trunk(p) || p->pg->vlan == vlan;
}

/* The VLAN the port's own address lives in: access ports only (trunks learn theirs). */
static int own_vlan(const struct vsw_port *p)
{
	return is_trunk(p) ? -1 : (int)p->pg->vlan;
}

static const struct vsw_policy *policy(const struct vsw_port *p)
{
	static const struct vsw_policy uplink = { true, true, true };

	return p->pg ? &p->pg->policy : &uplink;
}

static bool valid_unicast(const uint8_t *mac)
{
	static const uint8_t zero[VSW_ETH_ALEN];

	return !vsw_mac_multicast(mac) && !vsw_mac_eq(mac, zero);
}

struct vsw_port *vswitch_connect(struct vswitch *sw, const char *pgname, enum vsw_port_kind kind,
				 const uint8_t mac[VSW_ETH_ALEN], const char *owner,
				 const struct vsw_port_ops *ops, void *ctx, int *err)
{
	struct vsw_portgroup *pg = NULL;
	struct vsw_port *p;
	unsigned long f;
	int rc = 0;

	if (!ops || !ops->deliver || !owner || (kind != VSW_PORT_UPLINK && !valid_unicast(mac))) {
		*err = -EINVAL;
		return NULL;
	}
	p = kzalloc(sizeof(*p));
	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	p->sw = sw;
	p->kind = kind;
	copy_name(p->owner, owner, sizeof(p->owner));
	memcpy(p->initial_mac, mac, VSW_ETH_ALEN);
	memcpy(p->mac, mac, VSW_ETH_ALEN);
	p->ops = ops;
	p->ctx = ctx;
	f = spin_lock_irqsave(&sw->lock);
	if (kind != VSW_PORT_UPLINK && !(pg = find_pg(sw, pgname)))
		rc = -ENOENT;
	p->pg = pg;
	for (struct vsw_port *q = sw->ports; !rc && q; q = q->next)
		if (q->kind != VSW_PORT_UPLINK && kind != VSW_PORT_UPLINK &&
		    vsw_mac_eq(q->mac, mac))
			rc = -EEXIST;
	if (!rc && own_vlan(p) >= 0)
		rc = vsw_fdb_add_static(sw, (unsigned)own_vlan(p), mac, p);
	if (!rc) {
		p->next = sw->ports;
		sw->ports = p;
	}
	spin_unlock_irqrestore(&sw->lock, f);
	if (rc) {
		kfree(p);
		*err = rc;
		return NULL;
	}
	*err = 0;
	return p;
}

void vswitch_disconnect(struct vsw_port *p)
{
	struct vswitch *sw;
	unsigned long f;

	if (!p)
		return;
	sw = p->sw;
	f = spin_lock_irqsave(&sw->lock);
	for (struct vsw_port **l = &sw->ports; *l; l = &(*l)->next)
		if (*l == p) {
			*l = p->next;
			break;
		}
	vsw_fdb_forget_port(sw, p, false);
	spin_unlock_irqrestore(&sw->lock, f);
	kfree(p);
}

int vswitch_port_set_mac(struct vsw_port *p, const uint8_t mac[VSW_ETH_ALEN])
{
	struct vswitch *sw = p->sw;
	unsigned long f;
	int rc = 0;

	if (!valid_unicast(mac))
		return -EINVAL;
	f = spin_lock_irqsave(&sw->lock);
	if (vsw_mac_eq(mac, p->mac))
		goto out;
	for (struct vsw_port *q = sw->ports; q; q = q->next)
		if (q != p && q->kind != VSW_PORT_UPLINK && vsw_mac_eq(q->mac, mac))
			rc = -EEXIST;
	if (rc)
		goto out;
	vsw_fdb_forget_port(sw, p, true);
	memcpy(p->mac, mac, VSW_ETH_ALEN);
	p->blocked = !vsw_mac_eq(mac, p->initial_mac) && !policy(p)->mac_changes;
	if (p->blocked) {
		pr_warn("%s: %s changed its MAC address from %02x:%02x:%02x:%02x:%02x:%02x to "
			"%02x:%02x:%02x:%02x:%02x:%02x; port group '%s' rejects MAC address "
			"changes: the port receives nothing until it changes back\n",
			sw->name, p->owner, p->initial_mac[0], p->initial_mac[1],
			p->initial_mac[2], p->initial_mac[3], p->initial_mac[4],
			p->initial_mac[5], mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
			p->pg->name);
		rc = -EPERM;
	} else if (own_vlan(p) >= 0) {
		rc = vsw_fdb_add_static(sw, (unsigned)own_vlan(p), mac, p);
	}
out:
	spin_unlock_irqrestore(&sw->lock, f);
	return rc;
}

int vswitch_port_set_rx_mode(struct vsw_port *p, const struct vsw_rx_mode *m)
{
	struct vswitch *sw = p->sw;
	struct vsw_filter *flt = &p->filter;
	unsigned long f;

	if (m->n_uc > VSW_FILTER_MAX || m->n_mc > VSW_FILTER_MAX ||
	    (m->n_uc && !m->uc) || (m->n_mc && !m->mc))
		return -EINVAL;
	f = spin_lock_irqsave(&sw->lock);
	flt->mode = *m;
	if (m->n_uc)
		memcpy(flt->uc, m->uc, m->n_uc * VSW_ETH_ALEN);
	if (m->n_mc)
		memcpy(flt->mc, m->mc, m->n_mc * VSW_ETH_ALEN);
	flt->mode.uc = flt->uc;
	flt->mode.mc = flt->mc;
	if (m->promiscuous && !policy(p)->promiscuous) {
		if (!p->c.promisc_refused)
			pr_warn("%s: %s asked for promiscuous mode; port group '%s' rejects it\n",
				sw->name, p->owner, p->pg->name);
		p->c.promisc_refused++;
	}
	spin_unlock_irqrestore(&sw->lock, f);
	return 0;
}

void vswitch_port_counters(struct vsw_port *p, struct vsw_counters *c)
{
	unsigned long f = spin_lock_irqsave(&p->sw->lock);

	*c = p->c;
	spin_unlock_irqrestore(&p->sw->lock, f);
}

unsigned vswitch_learned(struct vswitch *sw)
{
	unsigned long f = spin_lock_irqsave(&sw->lock);
	unsigned n = sw->fdb.learned;

	spin_unlock_irqrestore(&sw->lock, f);
	return n;
}

struct vsw_port *vswitch_lookup(struct vswitch *sw, unsigned vlan,
				const uint8_t mac[VSW_ETH_ALEN])
{
	unsigned long f = spin_lock_irqsave(&sw->lock);
	struct vsw_fdb_entry *e = vsw_fdb_find(sw, vlan, mac);
	struct vsw_port *p = e ? e->port : NULL;

	spin_unlock_irqrestore(&sw->lock, f);
	return p;
}

static bool promiscuous(const struct vsw_port *p)
{
	return p->kind == VSW_PORT_UPLINK ||
	       (p->filter.mode.promiscuous && policy(p)->promiscuous);
}

static bool in_list(const uint8_t (*l)[VSW_ETH_ALEN], unsigned n, const uint8_t *mac)
{
	for (unsigned i = 0; i < n; i++)
		if (vsw_mac_eq(l[i], mac))
			return true;
	return false;
}

/* Does the port's receive filter pass a frame to this address? */
static bool accepts(const struct vsw_port *p, const uint8_t *dst)
{
	const struct vsw_rx_mode *m = &p->filter.mode;

	if (promiscuous(p))
		return true;
	if (vsw_mac_broadcast(dst))
		return !m->no_broadcast;
	if (vsw_mac_multicast(dst))
		return !m->no_multicast &&
		       (m->all_multicast || !m->mc_filter || in_list(m->mc, m->n_mc, dst));
	if (m->no_unicast)
		return false;
	return vsw_mac_eq(dst, p->mac) || m->all_unicast || in_list(m->uc, m->n_uc, dst);
}

/* A frame as it travels inside the switch: untagged, with its VLAN beside it. */
struct inflight {
	const uint8_t *frame;
	size_t len;		/* of the untagged frame: 12 + rest_len */
	const uint8_t *rest;	/* EtherType onwards */
	size_t rest_len;
	unsigned vlan;
	uint16_t tci;		/* the sender's tag (priority bits kept), or the VLAN alone */
	struct vsw_meta meta;	/* offsets as in the untagged frame */
};

static void deliver(struct vswitch *sw, struct vsw_port *q, const struct inflight *in)
{
	uint8_t tag[VSW_VLAN_HLEN] = { ETH_P_8021Q >> 8, ETH_P_8021Q & 0xff,
				       (uint8_t)(in->tci >> 8), (uint8_t)in->tci };
	struct vsw_frame fr = { in->frame, NULL, in->rest, in->rest_len, in->meta };
	int rc;

	if (q->blocked) {
		q->c.rx_drop_blocked++;
		return;
	}
	if (is_trunk(q) && in->vlan != VSW_VLAN_NONE) {
		fr.tag = tag;
		if (fr.meta.csum_partial)
			fr.meta.csum_start += VSW_VLAN_HLEN;
	}
	if (fr.meta.csum_partial && !q->ops->csum_offload) {
		/* The receiver cannot take a partial sum: finish it in a copy. */
		vsw_frame_copy(&fr, sw->scratch);
		vsw_csum_complete(sw->scratch, vsw_frame_len(&fr), &fr.meta);
		fr.rest = sw->scratch + (vsw_frame_len(&fr) - fr.rest_len);
		fr.head = sw->scratch;
		fr.meta.csum_partial = false;
	}
	rc = q->ops->deliver(q->ctx, &fr);
	if (rc) {
		q->c.rx_drop_full++;
		return;
	}
	q->c.rx_packets++;
	q->c.rx_bytes += vsw_frame_len(&fr);
}

static void forward(struct vswitch *sw, struct vsw_port *from, const struct inflight *in)
{
	const uint8_t *dst = in->frame;
	struct vsw_fdb_entry *e = NULL;
	bool uplink_done = from->kind == VSW_PORT_UPLINK;

	if (!vsw_mac_multicast(dst))
		e = vsw_fdb_find(sw, in->vlan, dst);
	for (struct vsw_port *q = sw->ports; q; q = q->next) {
		if (q == from || !member(q, in->vlan))
			continue;
		if (q->kind == VSW_PORT_UPLINK) {
			/* Known destinations behind it, and floods through the first uplink only. */
			if (uplink_done || (e && e->port != q))
				continue;
			uplink_done = true;
			deliver(sw, q, in);
			continue;
		}
		if (e && e->port != q && !promiscuous(q))
			continue;
		if (accepts(q, dst))
			deliver(sw, q, in);
	}
}

/* Step 1: sizes and VLAN; fills *in with the untagged view. */
static int classify(struct vsw_port *p, const uint8_t *frame, size_t len,
		    const struct vsw_meta *meta, struct inflight *in)
{
	struct vswitch *sw = p->sw;
	size_t hl = VSW_ETH_HLEN;

	if (len < VSW_ETH_HLEN)
		return -EMSGSIZE;
	in->frame = frame;
	if (get16(frame + 12) == ETH_P_8021Q) {
		if (!is_trunk(p))
			return -EPROTO;		/* no VLAN hopping from an access port */
		if (len < VSW_ETH_HLEN + VSW_VLAN_HLEN)
			return -EMSGSIZE;
		in->tci = get16(frame + 14);
		in->vlan = in->tci & 0xfff;
		if (in->vlan == VSW_VLAN_TRUNK)
			return -EPROTO;
		if (in->vlan == VSW_VLAN_NONE)
			in->tci = 0;		/* priority-tagged: the native VLAN */
		hl += VSW_VLAN_HLEN;
	} else {
		in->vlan = is_trunk(p) ? VSW_VLAN_NONE : p->pg->vlan;
		in->tci = (uint16_t)in->vlan;
	}
	if (len - hl > sw->mtu)
		return -EMSGSIZE;
	in->rest = frame + hl - 2;
	in->rest_len = len - hl + 2;
	in->len = 12 + in->rest_len;
	in->meta = meta ? *meta : (struct vsw_meta){ 0 };
	if (in->meta.csum_partial) {
		size_t start = in->meta.csum_start;

		if (start < hl || start + in->meta.csum_offset + 2u > len)
			return -EMSGSIZE;
		in->meta.csum_start = (uint16_t)(start - (hl - VSW_ETH_HLEN));
	}
	return 0;
}

int vswitch_port_send(struct vsw_port *p, const void *frame, size_t len,
		      const struct vsw_meta *meta)
{
	struct vswitch *sw = p->sw;
	struct inflight in;
	const uint8_t *src;
	unsigned long f = spin_lock_irqsave(&sw->lock);
	int rc = classify(p, frame, len, meta, &in);

	src = in.frame + VSW_ETH_ALEN;
	if (rc == -EMSGSIZE) {
		p->c.tx_drop_size++;
	} else if (rc) {
		p->c.tx_drop_vlan++;
	} else if (p->kind != VSW_PORT_UPLINK && !policy(p)->forged_transmits &&
		   !vsw_mac_eq(src, p->mac)) {
		if (!p->c.tx_drop_forged)
			pr_warn("%s: %s sent a frame from %02x:%02x:%02x:%02x:%02x:%02x, not its "
				"own address; port group '%s' rejects forged transmits\n", sw->name,
				p->owner, src[0], src[1], src[2], src[3], src[4], src[5],
				p->pg->name);
		p->c.tx_drop_forged++;
		rc = -EPERM;
	} else {
		p->c.tx_packets++;
		p->c.tx_bytes += len;
		if (valid_unicast(src))
			vsw_fdb_learn(sw, in.vlan, src, p);
		forward(sw, p, &in);
	}
	spin_unlock_irqrestore(&sw->lock, f);
	return rc;
}
