/* The virtual switch (drivers/net/vswitch*.c): forwarding, VLANs, policy, learning, offload. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <drivers/vswitch.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/spinlock.h>

/* ---- the vmkernel services the switch uses ---- */
static char logbuf[8192];
static uint64_t now;

void spin_init(struct spinlock *l, const char *name) { l->locked = 0; l->name = name; }
unsigned long spin_lock_irqsave(struct spinlock *l)
{
	assert_int_equal(l->locked, 0);	/* never taken twice: deliver() must not re-enter */
	l->locked = 1;
	return 0;
}
void spin_unlock_irqrestore(struct spinlock *l, unsigned long f) { (void)f; l->locked = 0; }
void *kzalloc(size_t n) { return calloc(1, n); }
void kfree(void *p) { free(p); }
void log_printf(int level, const char *fmt, ...)
{
	size_t n = strlen(logbuf);
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	vsnprintf(logbuf + n, sizeof(logbuf) - n, fmt, ap);
	va_end(ap);
}
static uint64_t clock_ns(void) { return now; }

/* ---- ports that record what they get ---- */
struct sink {
	unsigned frames;
	uint8_t last[VSW_FRAME_MAX];
	size_t last_len;
	struct vsw_meta meta;
	bool full;
};

static int sink_deliver(void *ctx, const struct vsw_frame *f)
{
	struct sink *s = ctx;

	if (s->full)
		return -ENOSPC;
	s->frames++;
	s->last_len = vsw_frame_len(f);
	s->meta = f->meta;
	vsw_frame_copy(f, s->last);
	return 0;
}

static const struct vsw_port_ops sink_ops = { .deliver = sink_deliver };
static const struct vsw_port_ops sink_ops_offload = { .deliver = sink_deliver,
						      .csum_offload = true };

static const uint8_t MAC_A[6] = { 0x00, 0x50, 0x56, 0x00, 0x00, 0x0a };
static const uint8_t MAC_B[6] = { 0x00, 0x50, 0x56, 0x00, 0x00, 0x0b };
static const uint8_t MAC_C[6] = { 0x00, 0x50, 0x56, 0x00, 0x00, 0x0c };
static const uint8_t MAC_D[6] = { 0x00, 0x50, 0x56, 0x00, 0x00, 0x0d };
static const uint8_t MAC_R[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };	/* behind the uplink */
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MCAST[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };

/* An untagged frame of payload bytes (EtherType IPv4). */
static size_t mkframe(uint8_t *f, const uint8_t *dst, const uint8_t *src, size_t payload)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	for (size_t i = 0; i < payload; i++)
		f[14 + i] = (uint8_t)i;
	return 14 + payload;
}

/* The same with an 802.1Q tag for vlan. */
static size_t mktagged(uint8_t *f, const uint8_t *dst, const uint8_t *src, unsigned vlan,
		       size_t payload)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x81;
	f[13] = 0x00;
	f[14] = (uint8_t)(vlan >> 8);
	f[15] = (uint8_t)vlan;
	f[16] = 0x08;
	f[17] = 0x00;
	for (size_t i = 0; i < payload; i++)
		f[18 + i] = (uint8_t)i;
	return 18 + payload;
}

static struct vswitch *sw;
static uint8_t fr[VSW_FRAME_MAX + 64];

static int setup(void **state)
{
	(void)state;
	now = 1000000000ull;
	logbuf[0] = 0;
	sw = vswitch_create("vSwitch0", 1500, clock_ns);
	assert_non_null(sw);
	assert_int_equal(vswitch_add_portgroup(sw, "VM Network", 0, NULL), 0);
	assert_int_equal(vswitch_add_portgroup(sw, "vlan10", 10, NULL), 0);
	assert_int_equal(vswitch_add_portgroup(sw, "vlan20", 20, NULL), 0);
	assert_int_equal(vswitch_add_portgroup(sw, "trunk", VSW_VLAN_TRUNK, NULL), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vswitch_destroy(sw);
	return 0;
}

static struct vsw_port *port(const char *pg, const uint8_t *mac, struct sink *s)
{
	int err;
	struct vsw_port *p = vswitch_connect(sw, pg, VSW_PORT_VNIC, mac, "test vm", &sink_ops, s,
					     &err);

	assert_non_null(p);
	assert_int_equal(err, 0);
	return p;
}

static struct vsw_port *uplink(struct sink *s)
{
	static const uint8_t none[6];
	int err;
	struct vsw_port *p = vswitch_connect(sw, NULL, VSW_PORT_UPLINK, none, "vmnic0",
					     &sink_ops, s, &err);

	assert_non_null(p);
	return p;
}

static void test_unicast_goes_to_its_owner_only(void **state)
{
	struct sink a = { 0 }, b = { 0 }, c = { 0 };
	struct vsw_port *pa = port("VM Network", MAC_A, &a), *pb = port("VM Network", MAC_B, &b);
	struct vsw_port *pc = port("VM Network", MAC_C, &c);
	struct vsw_counters ca, cb;
	size_t n = mkframe(fr, MAC_B, MAC_A, 100);

	(void)state;
	assert_int_equal(vswitch_port_send(pa, fr, n, NULL), 0);
	assert_int_equal(b.frames, 1);
	assert_int_equal(b.last_len, n);
	assert_memory_equal(b.last, fr, n);
	assert_int_equal(c.frames, 0);
	assert_int_equal(a.frames, 0);
	vswitch_port_counters(pa, &ca);
	vswitch_port_counters(pb, &cb);
	assert_int_equal(ca.tx_packets, 1);
	assert_int_equal(ca.tx_bytes, n);
	assert_int_equal(cb.rx_packets, 1);
	assert_int_equal(cb.rx_bytes, n);
	/* A frame to the sender's own address does not come back (no hairpin). */
	n = mkframe(fr, MAC_A, MAC_A, 10);
	assert_int_equal(vswitch_port_send(pa, fr, n, NULL), 0);
	assert_int_equal(a.frames + b.frames + c.frames, 1);
	/* Unknown unicast is flooded, and the VM ports' filters drop it. */
	n = mkframe(fr, MAC_D, MAC_A, 10);
	assert_int_equal(vswitch_port_send(pa, fr, n, NULL), 0);
	assert_int_equal(a.frames + b.frames + c.frames, 1);
	vswitch_disconnect(pa);
	vswitch_disconnect(pb);
	vswitch_disconnect(pc);
}

static void test_broadcast_stays_in_its_vlan(void **state)
{
	struct sink a = { 0 }, b = { 0 }, c = { 0 }, t = { 0 }, u = { 0 }, n0 = { 0 };
	struct vsw_port *pa = port("vlan10", MAC_A, &a), *pb = port("vlan10", MAC_B, &b);
	struct vsw_port *pc = port("vlan20", MAC_C, &c), *pt = port("trunk", MAC_D, &t);
	struct vsw_port *pn = port("VM Network", MAC_R, &n0);
	struct vsw_port *pu = uplink(&u);
	size_t n = mkframe(fr, BCAST, MAC_A, 60);

	(void)state;
	assert_int_equal(vswitch_port_send(pa, fr, n, NULL), 0);
	assert_int_equal(b.frames, 1);
	assert_memory_equal(b.last, fr, n);		/* untagged on an access port */
	assert_int_equal(c.frames, 0);			/* another VLAN */
	assert_int_equal(n0.frames, 0);			/* untagged traffic is VLAN 0 */
	assert_int_equal(t.frames, 1);			/* a trunk sees it, tagged 10 */
	assert_int_equal(t.last_len, n + 4);
	assert_int_equal(t.last[12], 0x81);
	assert_int_equal(t.last[13], 0x00);
	assert_int_equal((t.last[14] << 8 | t.last[15]) & 0xfff, 10);
	assert_memory_equal(t.last + 16, fr + 12, n - 12);
	assert_int_equal(u.frames, 1);			/* so does the uplink */
	assert_int_equal(u.last_len, n + 4);
	/* The trunk sends into VLAN 20: only VLAN 20's access port (untagged) and the uplink. */
	n = mktagged(fr, BCAST, MAC_D, 20, 60);
	assert_int_equal(vswitch_port_send(pt, fr, n, NULL), 0);
	assert_int_equal(c.frames, 1);
	assert_int_equal(c.last_len, n - 4);
	assert_int_equal(c.last[12], 0x08);
	assert_int_equal(a.frames + b.frames, 1);
	assert_int_equal(u.frames, 2);
	/* Untagged from the trunk is VLAN 0. */
	n = mkframe(fr, BCAST, MAC_D, 60);
	assert_int_equal(vswitch_port_send(pt, fr, n, NULL), 0);
	assert_int_equal(n0.frames, 1);
	assert_int_equal(u.last_len, n);		/* VLAN 0 leaves untagged */
	vswitch_disconnect(pa);
	vswitch_disconnect(pb);
	vswitch_disconnect(pc);
	vswitch_disconnect(pt);
	vswitch_disconnect(pn);
	vswitch_disconnect(pu);
}

static void test_no_vlan_hopping(void **state)
{
	struct sink a = { 0 }, c = { 0 };
	struct vsw_port *pa = port("vlan10", MAC_A, &a), *pc = port("vlan20", MAC_C, &c);
	struct vsw_counters ca;
	size_t n = mktagged(fr, BCAST, MAC_A, 20, 60);

	(void)state;
	assert_int_equal(vswitch_port_send(pa, fr, n, NULL), -EPROTO);
	assert_int_equal(c.frames, 0);
	vswitch_port_counters(pa, &ca);
	assert_int_equal(ca.tx_drop_vlan, 1);
	assert_int_equal(ca.tx_packets, 0);
	vswitch_disconnect(pa);
	vswitch_disconnect(pc);
}

static void test_forged_transmits(void **state)
{
	struct vsw_policy open = { .forged_transmits = true };
	struct sink a = { 0 }, b = { 0 }, f = { 0 };
	struct vsw_port *pa, *pb, *pf;
	struct vsw_counters c;
	size_t n;

	(void)state;
	assert_int_equal(vswitch_add_portgroup(sw, "nested", 0, &open), 0);
	pa = port("VM Network", MAC_A, &a);
	pb = port("VM Network", MAC_B, &b);
	pf = port("nested", MAC_C, &f);
	n = mkframe(fr, MAC_B, MAC_D, 40);	/* A sends as D */
	assert_int_equal(vswitch_port_send(pa, fr, n, NULL), -EPERM);
	assert_int_equal(b.frames, 0);
	vswitch_port_counters(pa, &c);
	assert_int_equal(c.tx_drop_forged, 1);
	assert_non_null(strstr(logbuf, "rejects forged transmits"));
	/* Where the policy allows it, the frame passes and D is learned for that port ... */
	assert_int_equal(vswitch_port_send(pf, fr, n, NULL), 0);
	assert_int_equal(b.frames, 1);
	assert_true(vswitch_lookup(sw, 0, MAC_D) == pf);
	/* ... but another NIC's own address is never moved to it. */
	n = mkframe(fr, BCAST, MAC_B, 40);
	assert_int_equal(vswitch_port_send(pf, fr, n, NULL), 0);
	assert_true(vswitch_lookup(sw, 0, MAC_B) == pb);
	vswitch_disconnect(pa);
	vswitch_disconnect(pb);
	vswitch_disconnect(pf);
}

static void test_mac_changes(void **state)
{
	struct vsw_policy allow = { .mac_changes = true };
	struct sink a = { 0 }, b = { 0 }, c = { 0 };
	struct vsw_port *pa = port("VM Network", MAC_A, &a), *pb = port("VM Network", MAC_B, &b);
	struct vsw_port *pc;
	struct vsw_counters cb;
	size_t n;

	(void)state;
	/* Rejected (the default): the port receives nothing at all until it changes back. */
	assert_int_equal(vswitch_port_set_mac(pb, MAC_D), -EPERM);
	assert_non_null(strstr(logbuf, "rejects MAC address changes"));
	n = mkframe(fr, MAC_D, MAC_A, 40);
	vswitch_port_send(pa, fr, n, NULL);
	n = mkframe(fr, BCAST, MAC_A, 40);
	vswitch_port_send(pa, fr, n, NULL);
	assert_int_equal(b.frames, 0);
	vswitch_port_counters(pb, &cb);
	assert_true(cb.rx_drop_blocked >= 1);
	assert_int_equal(vswitch_port_set_mac(pb, MAC_B), 0);
	n = mkframe(fr, MAC_B, MAC_A, 40);
	vswitch_port_send(pa, fr, n, NULL);
	assert_int_equal(b.frames, 1);
	/* Allowed: the new address receives, the old one no longer does. */
	assert_int_equal(vswitch_add_portgroup(sw, "open", 0, &allow), 0);
	pc = port("open", MAC_C, &c);
	assert_int_equal(vswitch_port_set_mac(pc, MAC_D), 0);
	n = mkframe(fr, MAC_D, MAC_A, 40);
	vswitch_port_send(pa, fr, n, NULL);
	assert_int_equal(c.frames, 1);
	n = mkframe(fr, MAC_C, MAC_A, 40);
	vswitch_port_send(pa, fr, n, NULL);
	assert_int_equal(c.frames, 1);
	/* Taking another NIC's address is refused outright. */
	assert_int_equal(vswitch_port_set_mac(pc, MAC_A), -EEXIST);
	vswitch_disconnect(pa);
	vswitch_disconnect(pb);
	vswitch_disconnect(pc);
}

static void test_promiscuous(void **state)
{
	struct vsw_policy allow = { .promiscuous = true };
	struct vsw_rx_mode promisc = { .promiscuous = true };
	struct sink a = { 0 }, b = { 0 }, s = { 0 }, p = { 0 }, o = { 0 };
	struct vsw_port *pa, *pb, *ps, *pp, *po;
	struct vsw_counters c;
	size_t n;

	(void)state;
	assert_int_equal(vswitch_add_portgroup(sw, "monitor", 10, &allow), 0);
	pa = port("vlan10", MAC_A, &a);
	pb = port("vlan10", MAC_B, &b);
	ps = port("vlan10", MAC_C, &s);		/* asks, is refused */
	pp = port("monitor", MAC_D, &p);	/* asks, may */
	po = port("vlan20", MAC_R, &o);
	assert_int_equal(vswitch_port_set_rx_mode(ps, &promisc), 0);
	assert_int_equal(vswitch_port_set_rx_mode(pp, &promisc), 0);
	vswitch_port_counters(ps, &c);
	assert_int_equal(c.promisc_refused, 1);
	n = mkframe(fr, MAC_B, MAC_A, 40);
	vswitch_port_send(pa, fr, n, NULL);
	assert_int_equal(b.frames, 1);
	assert_int_equal(s.frames, 0);
	assert_int_equal(p.frames, 1);
	/* Promiscuous sees its own VLAN only. */
	n = mkframe(fr, BCAST, MAC_R, 40);
	vswitch_port_send(po, fr, n, NULL);
	assert_int_equal(p.frames, 1);
	vswitch_disconnect(pa);
	vswitch_disconnect(pb);
	vswitch_disconnect(ps);
	vswitch_disconnect(pp);
	vswitch_disconnect(po);
}

static void test_learning_and_ageing(void **state)
{
	struct vsw_policy open = { .forged_transmits = true };
	struct sink a = { 0 }, u = { 0 }, f = { 0 };
	struct vsw_port *pa = port("VM Network", MAC_A, &a), *pu = uplink(&u), *pf;
	uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0 };
	size_t n;

	(void)state;
	vswitch_set_ageing(sw, 60);
	n = mkframe(fr, MAC_A, MAC_R, 40);		/* from the physical network */
	assert_int_equal(vswitch_port_send(pu, fr, n, NULL), 0);
	assert_int_equal(a.frames, 1);
	assert_true(vswitch_lookup(sw, 0, MAC_R) == pu);
	assert_int_equal(vswitch_learned(sw), 1);
	/* Known: goes to the uplink. */
	n = mkframe(fr, MAC_R, MAC_A, 40);
	vswitch_port_send(pa, fr, n, NULL);
	assert_int_equal(u.frames, 1);
	/* Aged out after 60 s without traffic from it: flooded (the uplink still gets it). */
	now += 61ull * 1000000000;
	assert_null(vswitch_lookup(sw, 0, MAC_R));
	assert_int_equal(vswitch_learned(sw), 0);
	vswitch_port_send(pa, fr, n, NULL);
	assert_int_equal(u.frames, 2);
	/* One port sending from a thousand addresses learns at most its share. */
	assert_int_equal(vswitch_add_portgroup(sw, "open", 0, &open), 0);
	pf = port("open", MAC_C, &f);
	for (unsigned i = 0; i < 1000; i++) {
		src[4] = (uint8_t)(i >> 8);
		src[5] = (uint8_t)i;
		n = mkframe(fr, BCAST, src, 40);
		assert_int_equal(vswitch_port_send(pf, fr, n, NULL), 0);
	}
	assert_int_equal(vswitch_learned(sw), VSW_LEARN_PER_PORT);
	/* Disconnecting forgets what the port taught. */
	vswitch_disconnect(pf);
	assert_int_equal(vswitch_learned(sw), 0);
	vswitch_disconnect(pa);
	vswitch_disconnect(pu);
}

static void test_sizes_and_mtu(void **state)
{
	struct sink a = { 0 }, b = { 0 };
	struct vsw_port *pa = port("VM Network", MAC_A, &a), *pb = port("VM Network", MAC_B, &b);
	struct vswitch *jumbo;
	struct vsw_port *ja, *jb;
	struct vsw_counters c;
	int err;

	(void)state;
	assert_int_equal(vswitch_port_send(pa, fr, mkframe(fr, MAC_B, MAC_A, 1500), NULL), 0);
	assert_int_equal(vswitch_port_send(pa, fr, mkframe(fr, MAC_B, MAC_A, 1501), NULL),
			 -EMSGSIZE);
	assert_int_equal(vswitch_port_send(pa, fr, 13, NULL), -EMSGSIZE);
	vswitch_port_counters(pa, &c);
	assert_int_equal(c.tx_drop_size, 2);
	assert_int_equal(b.frames, 1);
	assert_null(vswitch_create("bad", 9001, clock_ns));
	assert_null(vswitch_create("bad", 67, clock_ns));
	jumbo = vswitch_create("vSwitch1", 9000, clock_ns);
	assert_non_null(jumbo);
	assert_int_equal(vswitch_add_portgroup(jumbo, "storage", 0, NULL), 0);
	ja = vswitch_connect(jumbo, "storage", VSW_PORT_VNIC, MAC_A, "a", &sink_ops, &a, &err);
	jb = vswitch_connect(jumbo, "storage", VSW_PORT_VNIC, MAC_B, "b", &sink_ops, &b, &err);
	assert_non_null(ja);
	assert_non_null(jb);
	assert_int_equal(vswitch_port_send(ja, fr, mkframe(fr, MAC_B, MAC_A, 9000), NULL), 0);
	assert_int_equal(b.last_len, 9014);
	vswitch_disconnect(ja);
	vswitch_disconnect(jb);
	vswitch_destroy(jumbo);
	vswitch_disconnect(pa);
	vswitch_disconnect(pb);
}

/* The UDP checksum over pseudo-header and segment folds to 0xffff when it is right. */
static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static size_t mkudp(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t *pseudo)
{
	size_t n = mkframe(f, dst, src, 20 + 8 + 33);
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint32_t s = 0;

	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[9] = 17;
	memcpy(ip + 12, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	udp[0] = 0x12; udp[1] = 0x34; udp[2] = 0x00; udp[3] = 0x35;
	udp[4] = 0; udp[5] = 8 + 33;
	for (int i = 0; i < 33; i++)
		udp[8 + i] = (uint8_t)(0x41 + i);
	/* pseudo-header: addresses, protocol, UDP length */
	for (int i = 12; i < 20; i += 2)
		s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	s += 17 + 8 + 33;
	*pseudo = fold(s);
	udp[6] = (uint8_t)(*pseudo >> 8);
	udp[7] = (uint8_t)*pseudo;
	return n;
}

static uint16_t udp_verify(const uint8_t *f, size_t n)
{
	const uint8_t *ip = f + 14;
	uint32_t s = 0;

	for (int i = 12; i < 20; i += 2)
		s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	s += 17 + (uint32_t)(n - 34);
	for (size_t i = 34; i + 1 < n; i += 2)
		s += (uint32_t)(f[i] << 8 | f[i + 1]);
	if ((n - 34) & 1)
		s += (uint32_t)f[n - 1] << 8;
	return fold(s);
}

static void test_checksum_offload(void **state)
{
	struct sink a = { 0 }, b = { 0 }, o = { 0 }, t = { 0 };
	struct vsw_meta m = { .csum_partial = true, .csum_start = 34, .csum_offset = 6 };
	struct vsw_port *pa = port("vlan10", MAC_A, &a), *pb = port("vlan10", MAC_B, &b);
	struct vsw_port *po, *pt;
	uint16_t pseudo;
	size_t n;
	int err;

	(void)state;
	po = vswitch_connect(sw, "vlan10", VSW_PORT_VNIC, MAC_C, "offload", &sink_ops_offload,
			     &o, &err);
	pt = vswitch_connect(sw, "trunk", VSW_PORT_VNIC, MAC_D, "trunk", &sink_ops_offload, &t,
			     &err);
	n = mkudp(fr, BCAST, MAC_A, &pseudo);
	assert_int_not_equal(udp_verify(fr, n), 0xffff);
	assert_int_equal(vswitch_port_send(pa, fr, n, &m), 0);
	/* Without offload the switch finished the sum; the sender's buffer is untouched. */
	assert_int_equal(b.frames, 1);
	assert_false(b.meta.csum_partial);
	assert_int_equal(udp_verify(b.last, b.last_len), 0xffff);
	assert_int_equal(fr[40] << 8 | fr[41], pseudo);
	/* With offload the partial sum travels as it is, its offsets moved past a tag. */
	assert_true(o.meta.csum_partial);
	assert_int_equal(o.meta.csum_start, 34);
	assert_true(t.meta.csum_partial);
	assert_int_equal(t.meta.csum_start, 38);
	/* Offsets outside the frame are refused. */
	m.csum_start = (uint16_t)(n - 4);
	assert_int_equal(vswitch_port_send(pa, fr, n, &m), -EMSGSIZE);
	m.csum_start = 4;
	assert_int_equal(vswitch_port_send(pa, fr, n, &m), -EMSGSIZE);
	vswitch_disconnect(pa);
	vswitch_disconnect(pb);
	vswitch_disconnect(po);
	vswitch_disconnect(pt);
}

static void test_rx_filter_and_full_ring(void **state)
{
	static const uint8_t mc_list[1][6] = { { 0x33, 0x33, 0xff, 0x00, 0x00, 0x0b } };
	struct vsw_rx_mode m = { .mc_filter = true, .n_mc = 1, .mc = mc_list };
	struct sink a = { 0 }, b = { 0 };
	struct vsw_port *pa = port("VM Network", MAC_A, &a), *pb = port("VM Network", MAC_B, &b);
	struct vsw_counters c;

	(void)state;
	/* No table set: every multicast passes. */
	vswitch_port_send(pa, fr, mkframe(fr, MCAST, MAC_A, 40), NULL);
	assert_int_equal(b.frames, 1);
	assert_int_equal(vswitch_port_set_rx_mode(pb, &m), 0);
	vswitch_port_send(pa, fr, mkframe(fr, MCAST, MAC_A, 40), NULL);
	assert_int_equal(b.frames, 1);
	vswitch_port_send(pa, fr, mkframe(fr, mc_list[0], MAC_A, 40), NULL);
	assert_int_equal(b.frames, 2);
	m.all_multicast = true;
	assert_int_equal(vswitch_port_set_rx_mode(pb, &m), 0);
	vswitch_port_send(pa, fr, mkframe(fr, MCAST, MAC_A, 40), NULL);
	assert_int_equal(b.frames, 3);
	m.n_mc = VSW_FILTER_MAX + 1;
	assert_int_equal(vswitch_port_set_rx_mode(pb, &m), -EINVAL);
	/* A full receive ring: dropped and counted, the sender is not told. */
	b.full = true;
	assert_int_equal(vswitch_port_send(pa, fr, mkframe(fr, MAC_B, MAC_A, 40), NULL), 0);
	vswitch_port_counters(pb, &c);
	assert_int_equal(c.rx_drop_full, 1);
	assert_int_equal(c.rx_packets, 3);
	vswitch_disconnect(pa);
	vswitch_disconnect(pb);
}

static void test_connect_errors_and_uplinks(void **state)
{
	struct sink a = { 0 }, u1 = { 0 }, u2 = { 0 };
	struct vsw_port *pa = port("VM Network", MAC_A, &a), *p1, *p2;
	int err;

	(void)state;
	assert_null(vswitch_connect(sw, "nope", VSW_PORT_VNIC, MAC_B, "x", &sink_ops, &a, &err));
	assert_int_equal(err, -ENOENT);
	assert_null(vswitch_connect(sw, "vlan10", VSW_PORT_VNIC, MAC_A, "x", &sink_ops, &a, &err));
	assert_int_equal(err, -EEXIST);
	assert_null(vswitch_connect(sw, "vlan10", VSW_PORT_VNIC, BCAST, "x", &sink_ops, &a, &err));
	assert_int_equal(err, -EINVAL);
	assert_int_equal(vswitch_add_portgroup(sw, "VM Network", 0, NULL), -EEXIST);
	assert_int_equal(vswitch_add_portgroup(sw, "bad", 4096, NULL), -EINVAL);
	/* Two uplinks: a flood leaves through one; nothing goes from one uplink to the other. */
	p1 = uplink(&u1);
	p2 = uplink(&u2);
	vswitch_port_send(pa, fr, mkframe(fr, BCAST, MAC_A, 40), NULL);
	assert_int_equal(u1.frames + u2.frames, 1);
	vswitch_port_send(p1, fr, mkframe(fr, BCAST, MAC_R, 40), NULL);
	assert_int_equal(u1.frames + u2.frames, 1);
	assert_int_equal(a.frames, 1);
	vswitch_disconnect(pa);
	vswitch_disconnect(p1);
	vswitch_disconnect(p2);
}

/*
 * The host's own NIC (a vmknic: a port with its own MAC in a port group) and
 * an uplink (a physical NIC: every VLAN, 802.1Q-tagged) on one switch, as a
 * management interface and a NIC driver would attach to them.
 */
static void test_vmknic_and_uplink(void **state)
{
	struct sink k = { 0 }, a = { 0 }, b = { 0 }, u = { 0 };
	struct vsw_port *pu = uplink(&u), *pa = port("vlan10", MAC_A, &a);
	struct vsw_port *pb = port("VM Network", MAC_B, &b), *pk;
	size_t n;
	int err;

	(void)state;
	pk = vswitch_connect(sw, "vlan10", VSW_PORT_VMKNIC, MAC_C, "vmk0", &sink_ops, &k, &err);
	assert_non_null(pk);
	assert_ptr_equal(vswitch_lookup(sw, 10, MAC_C), pk);	/* its MAC, in its port group's VLAN */
	assert_null(vswitch_lookup(sw, 0, MAC_C));
	/* The vmknic's address is taken on its VLAN. */
	assert_null(vswitch_connect(sw, "vlan10", VSW_PORT_VNIC, MAC_C, "x", &sink_ops, &a, &err));
	assert_int_equal(err, -EEXIST);
	/* Its ARP broadcast: the VM of its VLAN untagged, the uplink tagged 10, not VLAN 0. */
	n = mkframe(fr, BCAST, MAC_C, 46);
	assert_int_equal(vswitch_port_send(pk, fr, n, NULL), 0);
	assert_int_equal(a.frames, 1);
	assert_memory_equal(a.last, fr, n);
	assert_int_equal(b.frames, 0);
	assert_int_equal(u.frames, 1);
	assert_int_equal(u.last_len, n + 4);
	assert_int_equal(u.last[12], 0x81);
	assert_int_equal(u.last[13], 0x00);
	assert_int_equal((u.last[14] & 0x0f) << 8 | u.last[15], 10);
	assert_memory_equal(u.last + 16, fr + 12, n - 12);
	/* A VM's frame for an address nobody here has leaves through the uplink, tagged. */
	n = mkframe(fr, MAC_R, MAC_A, 60);
	assert_int_equal(vswitch_port_send(pa, fr, n, NULL), 0);
	assert_int_equal(u.frames, 2);
	assert_int_equal(u.last[15], 10);
	assert_int_equal(k.frames, 0);				/* the vmknic's filter drops it */
	/* The answer comes in tagged 10: to the vmknic untagged; the sender is learned. */
	n = mktagged(fr, MAC_C, MAC_R, 10, 60);
	assert_int_equal(vswitch_port_send(pu, fr, n, NULL), 0);
	assert_int_equal(k.frames, 1);
	assert_int_equal(k.last_len, n - 4);
	assert_int_equal(k.last[12], 0x08);
	assert_memory_equal(k.last + 12, fr + 16, n - 16);
	assert_ptr_equal(vswitch_lookup(sw, 10, MAC_R), pu);
	assert_null(vswitch_lookup(sw, 20, MAC_R));
	/* Now known: the vmknic's unicast to it goes to the uplink only. */
	n = mkframe(fr, MAC_R, MAC_C, 60);
	assert_int_equal(vswitch_port_send(pk, fr, n, NULL), 0);
	assert_int_equal(u.frames, 3);
	assert_int_equal(a.frames, 1);
	/* Untagged from the uplink is VLAN 0: VM Network's VM, not the vmknic. */
	n = mkframe(fr, MAC_B, MAC_R, 60);
	assert_int_equal(vswitch_port_send(pu, fr, n, NULL), 0);
	assert_int_equal(b.frames, 1);
	assert_int_equal(k.frames, 1);
	/* A frame from outside claiming the vmknic's address does not move it. */
	n = mktagged(fr, BCAST, MAC_C, 10, 60);
	vswitch_port_send(pu, fr, n, NULL);
	assert_ptr_equal(vswitch_lookup(sw, 10, MAC_C), pk);
	vswitch_disconnect(pk);
	assert_null(vswitch_lookup(sw, 10, MAC_C));
	vswitch_disconnect(pa);
	vswitch_disconnect(pb);
	vswitch_disconnect(pu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unicast_goes_to_its_owner_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broadcast_stays_in_its_vlan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_vlan_hopping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_transmits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mac_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_promiscuous, setup, teardown),
		cmocka_unit_test_setup_teardown(test_learning_and_ageing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sizes_and_mtu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checksum_offload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_filter_and_full_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_errors_and_uplinks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vmknic_and_uplink, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
