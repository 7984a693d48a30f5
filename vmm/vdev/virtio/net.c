/*
 * virtio-net (virtio v1.1 5.1): a VM's NIC as a port on one of the host's
 * virtual switches (include/drivers/vswitch.h), over the transport in
 * pci.c. Queues: 0 receive, 1 transmit, 2 control.
 *
 * Offered: MAC, STATUS (link always up), MTU (the switch's), MRG_RXBUF,
 * CSUM and GUEST_CSUM (a partial checksum travels between virtual ends as
 * the switch's csum_partial; a receiver that did not take GUEST_CSUM gets
 * it completed), CTRL_VQ with CTRL_RX (promiscuous, all-multicast, the
 * MAC tables) and CTRL_MAC_ADDR, plus the transport's VERSION_1,
 * INDIRECT_DESC and EVENT_IDX. Every frame carries the 12-byte
 * virtio_net_hdr_v1.
 *
 * Transmit: a notification wakes the device's I/O world, which takes
 * each chain, reads header and frame into a host buffer and hands the
 * frame to the switch. Receive: the switch calls deliver() with its lock
 * held and interrupts off, so deliver() only copies the frame into a
 * bounded backlog (RX_SLOTS frames) and kicks the I/O world, which moves
 * backlog frames into the guest's receive buffers and interrupts. When
 * the backlog is full the switch counts the drop (rx_drop_full); frames
 * wait in it while the guest has no buffers posted.
 *
 * What a driver can get wrong: malformed rings (virtqueue.c) and a
 * control command without room for its ack byte put the device into
 * NEEDS_RESET (pci.c logs why). A bad frame or command costs only itself:
 * a transmit header too short, GSO or checksum requests that were not
 * negotiated, a frame longer than the switch's MTU, device-writable
 * transmit buffers, receive buffers too small for a frame, malformed or
 * unknown control commands (answered VIRTIO_NET_ERR). Each is counted by
 * reason and logged with the reason's name, the first few times and then
 * at powers of two. The counters and the port's switch counters are
 * logged when the VM ends.
 *
 * Locking: the transport's io_lock serialises the I/O world's work with
 * resets. rxlock (a spinlock, taken inside the switch's lock) guards the
 * backlog's indices; the slots between head and tail belong to the I/O
 * world, the rest to deliver(). The receive filter state is the I/O
 * world's (io_lock). deliver() wakes the I/O world with rxlock held, and
 * teardown sets `closing` under rxlock before it stops that world, so no
 * wake-up reaches a world that has ended; the port leaves the switch
 * (after which no deliver() runs) before the backlog is freed.
 */
#define pr_fmt(fmt) "virtio-net: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <drivers/netconf.h>
#include <drivers/vswitch.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmm/vm.h>
#include <vmm/vmconfig.h>
#include "virtio_priv.h"

/* Device features (5.1.3) */
#define VIRTIO_NET_F_CSUM		0
#define VIRTIO_NET_F_GUEST_CSUM		1
#define VIRTIO_NET_F_MTU		3
#define VIRTIO_NET_F_MAC		5
#define VIRTIO_NET_F_MRG_RXBUF		15
#define VIRTIO_NET_F_STATUS		16
#define VIRTIO_NET_F_CTRL_VQ		17
#define VIRTIO_NET_F_CTRL_RX		18
#define VIRTIO_NET_F_CTRL_MAC_ADDR	23

#define VIRTIO_NET_S_LINK_UP		1

/* Header (5.1.6) */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM	1
#define VIRTIO_NET_HDR_GSO_NONE		0

/* Control queue (5.1.6.5) */
#define VIRTIO_NET_OK			0
#define VIRTIO_NET_ERR			1
#define VIRTIO_NET_CTRL_RX		0
#define VIRTIO_NET_CTRL_RX_PROMISC	0
#define VIRTIO_NET_CTRL_RX_ALLMULTI	1
#define VIRTIO_NET_CTRL_MAC		1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET	0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET	1

/* Device configuration layout (5.1.4) */
#define CFG_MAC				0
#define CFG_STATUS			6
#define CFG_MAX_VQ_PAIRS		8
#define CFG_MTU				10
#define CFG_SIZE			12

#define Q_RX				0
#define Q_TX				1
#define Q_CTRL				2
#define NET_QUEUE_SIZE			256
#define NET_MAX_SEGS			64
#define RX_SLOTS			64	/* frames waiting for the guest's buffers */
#define RX_BUFS_MAX			32	/* buffers one frame may fill (MRG_RXBUF) */
#define TX_BATCH			128	/* frames per turn, then others run */
#define REPORTS_EACH			3	/* lines per drop reason, then powers of two */

struct net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
} __attribute__((packed));
_Static_assert(sizeof(struct net_hdr) == 12, "virtio_net_hdr_v1 (5.1.6)");

enum net_drop {
	DROP_TX_SHORT,
	DROP_TX_WRITABLE,
	DROP_TX_GSO,
	DROP_TX_CSUM,
	DROP_TX_OVERSIZE,
	DROP_TX_SWITCH,
	DROP_RX_SMALL,
	DROP_CTRL_SHORT,
	DROP_CTRL_UNKNOWN,
	DROP_CTRL_TABLE,
	DROP_CTRL_MAC,
	DROP_COUNT
};

static const char *const drop_names[DROP_COUNT] = {
	[DROP_TX_SHORT] = "tx-header-short",
	[DROP_TX_WRITABLE] = "tx-buffer-writable",
	[DROP_TX_GSO] = "tx-gso-not-negotiated",
	[DROP_TX_CSUM] = "tx-csum-bad",
	[DROP_TX_OVERSIZE] = "tx-oversize",
	[DROP_TX_SWITCH] = "tx-refused-by-switch",
	[DROP_RX_SMALL] = "rx-buffers-too-small",
	[DROP_CTRL_SHORT] = "ctrl-malformed",
	[DROP_CTRL_UNKNOWN] = "ctrl-unknown-command",
	[DROP_CTRL_TABLE] = "ctrl-mac-table-malformed",
	[DROP_CTRL_MAC] = "ctrl-mac-refused",
};

struct rx_slot {
	uint32_t len;
	struct vsw_meta meta;
	uint8_t *data;
};

struct virtio_net {
	struct virtio_dev vd;		/* first */
	struct vsw_port *port;
	struct vswitch *sw;
	unsigned vlan;
	char pg[VSW_NAME_MAX];
	uint8_t mac[VSW_ETH_ALEN];	/* the configured (initial) address */
	uint8_t cfg[CFG_SIZE];
	unsigned frame_max;		/* header + tag + the switch's MTU */

	struct spinlock rxlock;		/* rx_head, rx_tail, closing */
	bool closing;			/* the VM is going: deliver() takes nothing */
	struct rx_slot slot[RX_SLOTS];
	unsigned rx_head, rx_tail;	/* free-running; tail - head frames waiting */
	uint8_t *slot_mem;

	uint8_t *txbuf;			/* I/O world: one frame being sent */
	struct vq_chain first, cur;	/* I/O world: chains being filled or read */
	struct vsw_rx_mode mode;	/* I/O world: the filter as the driver set it */
	uint8_t uc[VSW_FILTER_MAX][VSW_ETH_ALEN], mc[VSW_FILTER_MAX][VSW_ETH_ALEN];

	uint64_t drops[DROP_COUNT];	/* I/O world */
	uint64_t rx_frames, tx_frames;
};

/* ---- reporting ---- */

static bool power_of_two(uint64_t n)
{
	return n && !(n & (n - 1));
}

static void drop(struct virtio_net *n, enum net_drop why, const char *fmt, unsigned a, unsigned b)
{
	uint64_t c = ++n->drops[why];
	char what[120];

	if (c > REPORTS_EACH && !(power_of_two(c) && c >= 64))
		return;
	snprintf(what, sizeof(what), fmt, a, b);
	pr_warn("%s: %s: dropped (%s): %s [%llu so far]\n", n->vd.dev.vm->name, n->vd.dev.name,
		drop_names[why], what, (unsigned long long)c);
}

static void fmt_mac(char *buf, size_t len, const uint8_t *m)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* ---- receive: from the switch into the backlog ---- */

static int deliver(void *ctx, const struct vsw_frame *f)
{
	struct virtio_net *n = ctx;
	size_t len = vsw_frame_len(f);
	struct rx_slot *s;
	unsigned long fl;

	if (!virtio_live(&n->vd) || len > n->frame_max)
		return -ENOSPC;
	fl = spin_lock_irqsave(&n->rxlock);
	if (n->closing || n->rx_tail - n->rx_head >= RX_SLOTS) {
		spin_unlock_irqrestore(&n->rxlock, fl);
		return -ENOSPC;
	}
	s = &n->slot[n->rx_tail % RX_SLOTS];
	spin_unlock_irqrestore(&n->rxlock, fl);
	/* the slot at tail is deliver()'s until tail moves (one sender: the switch lock) */
	vsw_frame_copy(f, s->data);
	s->len = (uint32_t)len;
	s->meta = f->meta;
	fl = spin_lock_irqsave(&n->rxlock);
	n->rx_tail++;
	if (!n->closing)
		virtio_kick(&n->vd, Q_RX);
	spin_unlock_irqrestore(&n->rxlock, fl);
	return 0;
}

static const struct vsw_port_ops port_ops = { .deliver = deliver, .csum_offload = true };

/* Bytes [off, off + len) of header-then-frame into the chain at chain offset at. */
static int put(struct virtio_net *n, const struct vq_chain *c, uint64_t at,
	       const struct net_hdr *h, const struct rx_slot *s, uint32_t off, uint32_t len)
{
	int rc = 0;

	if (off < sizeof(*h)) {
		uint32_t k = (uint32_t)sizeof(*h) - off < len ? (uint32_t)sizeof(*h) - off : len;

		rc = vqdev_chain_write(c, &n->vd.mem, at, (const uint8_t *)h + off, k);
		at += k;
		off += k;
		len -= k;
	}
	if (!rc && len)
		rc = vqdev_chain_write(c, &n->vd.mem, at, s->data + (off - sizeof(*h)), len);
	return rc;
}

/* Take the next receive chain into c: 1 got one, 0 none posted, -1 the device broke. */
static int rx_take(struct virtio_net *n, struct vq_chain *c)
{
	struct virtqueue_dev *q = &n->vd.vq[Q_RX];
	enum vq_err e = vqdev_pop(q, &n->vd.mem, c);

	if (e) {
		virtio_needs_reset(&n->vd, "queue 0 (receive): %s", vqdev_err_name(e));
		return -1;
	}
	if (!c->nseg)
		return 0;
	if (c->nout) {
		virtio_needs_reset(&n->vd, "queue 0 (receive): buffer %u is device-readable",
				   c->head);
		return -1;
	}
	return 1;
}

/* One backlog frame into the guest: 1 done (or dropped), 0 wait for buffers, -1 broken. */
static int rx_one(struct virtio_net *n, struct rx_slot *s)
{
	struct virtqueue_dev *q = &n->vd.vq[Q_RX];
	bool mrg = virtio_has_feature(&n->vd, VIRTIO_NET_F_MRG_RXBUF);
	struct net_hdr h = { .gso_type = VIRTIO_NET_HDR_GSO_NONE, .num_buffers = 1 };
	uint32_t total = (uint32_t)sizeof(h) + s->len, off = 0;
	uint16_t heads[RX_BUFS_MAX];
	uint32_t lens[RX_BUFS_MAX];
	unsigned nb = 0;

	if (s->meta.csum_partial) {
		if (virtio_has_feature(&n->vd, VIRTIO_NET_F_GUEST_CSUM)) {
			h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			h.csum_start = s->meta.csum_start;
			h.csum_offset = s->meta.csum_offset;
		} else {
			vsw_csum_complete(s->data, s->len, &s->meta);
		}
		s->meta.csum_partial = false;	/* done once, even if we wait for buffers */
	}
	while (off < total) {
		struct vq_chain *c = nb ? &n->cur : &n->first;
		int got = rx_take(n, c);
		uint32_t k;

		if (got <= 0) {
			vqdev_unpop(q, (uint16_t)nb);
			return got;
		}
		if (!nb && c->in_len < sizeof(h)) {
			virtio_needs_reset(&n->vd, "queue 0 (receive): buffer %u of %u bytes, "
					   "shorter than the 12-byte header", c->head,
					   (unsigned)c->in_len);
			return -1;
		}
		if (nb == RX_BUFS_MAX || (!mrg && c->in_len < total)) {
			vqdev_unpop(q, (uint16_t)(nb + 1));
			drop(n, DROP_RX_SMALL, "a frame of %u bytes does not fit %u receive "
			     "buffers", s->len, nb + 1);
			return 1;
		}
		k = c->in_len < total - off ? (uint32_t)c->in_len : total - off;
		if (put(n, c, 0, &h, s, off, k)) {
			virtio_needs_reset(&n->vd, "queue 0 (receive): buffer %u not writable",
					   c->head);
			return -1;
		}
		heads[nb] = c->head;
		lens[nb++] = k;
		off += k;
	}
	if (nb > 1) {
		uint16_t v = (uint16_t)nb;

		if (vqdev_chain_write(&n->first, &n->vd.mem, 10, &v, 2)) {
			virtio_needs_reset(&n->vd, "queue 0 (receive): buffer %u not writable",
					   heads[0]);
			return -1;
		}
	}
	for (unsigned i = 0; i < nb; i++) {
		enum vq_err e = vqdev_push(q, &n->vd.mem, heads[i], lens[i]);

		if (e) {
			virtio_needs_reset(&n->vd, "queue 0 (receive): %s", vqdev_err_name(e));
			return -1;
		}
	}
	n->rx_frames++;
	return 1;
}

static void rx_flush_backlog(struct virtio_net *n)
{
	unsigned long fl = spin_lock_irqsave(&n->rxlock);

	n->rx_head = n->rx_tail;
	spin_unlock_irqrestore(&n->rxlock, fl);
}

static void rx_process(struct virtio_net *n)
{
	struct virtqueue_dev *q = &n->vd.vq[Q_RX];
	bool any = false;

	if (!q->enabled)
		return;
	for (;;) {
		unsigned long fl = spin_lock_irqsave(&n->rxlock);
		bool empty = n->rx_head == n->rx_tail;
		struct rx_slot *s = &n->slot[n->rx_head % RX_SLOTS];
		int rc;

		spin_unlock_irqrestore(&n->rxlock, fl);
		if (empty)
			break;
		rc = rx_one(n, s);
		if (rc < 0)
			return;
		if (!rc) {
			/* no buffers: ask for a notification, then look once more (a race) */
			vqdev_want_notify(q, &n->vd.mem);
			if (vqdev_has_work(q, &n->vd.mem))
				continue;
			break;
		}
		fl = spin_lock_irqsave(&n->rxlock);
		n->rx_head++;
		spin_unlock_irqrestore(&n->rxlock, fl);
		any = true;
	}
	if (any) {
		__atomic_fetch_add(&n->vd.requests, 1, __ATOMIC_RELAXED);
		virtio_queue_done(&n->vd, Q_RX);
	}
}

/* ---- transmit ---- */

/* Check and send the frame in n->cur; the chain is completed either way. */
static void tx_one(struct virtio_net *n)
{
	struct vq_chain *c = &n->cur;
	struct vsw_meta meta = { 0 };
	struct net_hdr h;
	uint64_t len;
	int rc;

	if (c->in_len) {
		drop(n, DROP_TX_WRITABLE, "transmit chain %u has %u device-writable bytes", c->head,
		     (unsigned)c->in_len);
		return;
	}
	if (c->out_len < sizeof(h) || vqdev_chain_read(c, &n->vd.mem, 0, &h, sizeof(h))) {
		drop(n, DROP_TX_SHORT, "transmit chain %u holds %u bytes, less than the 12-byte "
		     "header", c->head, (unsigned)c->out_len);
		return;
	}
	len = c->out_len - sizeof(h);
	if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		drop(n, DROP_TX_GSO, "gso_type %u in chain %u (no GSO feature was offered)",
		     h.gso_type, c->head);
		return;
	}
	if (len > n->frame_max) {
		drop(n, DROP_TX_OVERSIZE, "a frame of %u bytes, more than %u (the switch's MTU "
		     "with header and tag)",
		     (unsigned)(len > 0xffffffffu ? 0xffffffffu : len), n->frame_max);
		return;
	}
	if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!virtio_has_feature(&n->vd, VIRTIO_NET_F_CSUM) ||
		    (uint32_t)h.csum_start + h.csum_offset + 2 > len) {
			drop(n, DROP_TX_CSUM, "checksum at %u+%u outside the frame, or CSUM not "
			     "negotiated", h.csum_start, h.csum_offset);
			return;
		}
		meta = (struct vsw_meta){ true, h.csum_start, h.csum_offset };
	}
	if (vqdev_chain_read(c, &n->vd.mem, sizeof(h), n->txbuf, len)) {
		drop(n, DROP_TX_SHORT, "transmit chain %u not readable", c->head, 0);
		return;
	}
	rc = vswitch_port_send(n->port, n->txbuf, len, &meta);
	if (rc) {
		n->drops[DROP_TX_SWITCH]++;	/* the switch counts and names these */
		return;
	}
	n->tx_frames++;
}

static void tx_process(struct virtio_net *n)
{
	struct virtqueue_dev *q = &n->vd.vq[Q_TX];

	if (!q->enabled)
		return;
	for (unsigned done = 0;;) {
		enum vq_err e = vqdev_pop(q, &n->vd.mem, &n->cur);

		if (e) {
			virtio_needs_reset(&n->vd, "queue 1 (transmit): %s", vqdev_err_name(e));
			return;
		}
		if (!n->cur.nseg) {
			vqdev_want_notify(q, &n->vd.mem);
			if (!vqdev_has_work(q, &n->vd.mem))
				return;
			continue;
		}
		tx_one(n);
		e = vqdev_push(q, &n->vd.mem, n->cur.head, 0);
		if (e) {
			virtio_needs_reset(&n->vd, "queue 1 (transmit): %s", vqdev_err_name(e));
			return;
		}
		__atomic_fetch_add(&n->vd.requests, 1, __ATOMIC_RELAXED);
		virtio_queue_done(&n->vd, Q_TX);
		if (++done == TX_BATCH) {
			virtio_kick(&n->vd, Q_TX);	/* more next turn; others run meanwhile */
			return;
		}
	}
}

/* ---- control ---- */

static void apply_mode(struct virtio_net *n)
{
	n->mode.uc = (const uint8_t (*)[VSW_ETH_ALEN])n->uc;
	n->mode.mc = (const uint8_t (*)[VSW_ETH_ALEN])n->mc;
	vswitch_port_set_rx_mode(n->port, &n->mode);
}

/* One MAC table at *off: count then entries; more than we keep sets *overflow. */
static int read_table(struct virtio_net *n, uint64_t *off, uint8_t (*tab)[VSW_ETH_ALEN],
		      unsigned *count, bool *overflow)
{
	const struct vq_chain *c = &n->cur;
	uint32_t entries;

	if (vqdev_chain_read(c, &n->vd.mem, *off, &entries, 4))
		return -EINVAL;
	*off += 4;
	if (entries > (c->out_len - *off) / VSW_ETH_ALEN)
		return -EINVAL;
	*overflow = entries > VSW_FILTER_MAX;
	*count = *overflow ? 0 : entries;
	if (*count && vqdev_chain_read(c, &n->vd.mem, *off, tab, *count * VSW_ETH_ALEN))
		return -EINVAL;
	*off += (uint64_t)entries * VSW_ETH_ALEN;
	return 0;
}

static uint8_t ctrl_mac(struct virtio_net *n, uint8_t cmd)
{
	const struct vq_chain *c = &n->cur;
	uint64_t off = 2;
	bool uo, mo;
	uint8_t mac[VSW_ETH_ALEN];
	int rc;

	if (cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET) {
		if (read_table(n, &off, n->uc, &n->mode.n_uc, &uo) ||
		    read_table(n, &off, n->mc, &n->mode.n_mc, &mo) || off != c->out_len) {
			drop(n, DROP_CTRL_TABLE, "MAC table command of %u bytes does not match its "
			     "entry counts", (unsigned)c->out_len, 0);
			return VIRTIO_NET_ERR;
		}
		/* longer lists than the switch keeps: receive all of that kind (as a NIC does) */
		n->mode.all_unicast = uo;
		n->mode.mc_filter = true;
		n->mode.all_multicast = n->mode.all_multicast || mo;
		apply_mode(n);
		return VIRTIO_NET_OK;
	}
	if (cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET &&
	    virtio_has_feature(&n->vd, VIRTIO_NET_F_CTRL_MAC_ADDR)) {
		if (c->out_len != 2 + VSW_ETH_ALEN ||
		    vqdev_chain_read(c, &n->vd.mem, 2, mac, sizeof(mac))) {
			drop(n, DROP_CTRL_SHORT, "MAC address command of %u bytes, not 8",
			     (unsigned)c->out_len, 0);
			return VIRTIO_NET_ERR;
		}
		rc = vswitch_port_set_mac(n->port, mac);
		if (rc && rc != -EPERM) {	/* -EPERM: set, but blocked by policy (logged) */
			drop(n, DROP_CTRL_MAC, "address change refused (error %d)",
			     (unsigned)-rc, 0);
			return VIRTIO_NET_ERR;
		}
		memcpy(n->cfg + CFG_MAC, mac, VSW_ETH_ALEN);
		return VIRTIO_NET_OK;
	}
	drop(n, DROP_CTRL_UNKNOWN, "class %u command %u", VIRTIO_NET_CTRL_MAC, cmd);
	return VIRTIO_NET_ERR;
}

static uint8_t ctrl_rx(struct virtio_net *n, uint8_t cmd)
{
	uint8_t on;

	if (cmd > VIRTIO_NET_CTRL_RX_ALLMULTI) {
		drop(n, DROP_CTRL_UNKNOWN, "class %u command %u (CTRL_RX_EXTRA was not offered)",
		     VIRTIO_NET_CTRL_RX, cmd);
		return VIRTIO_NET_ERR;
	}
	if (n->cur.out_len != 3 || vqdev_chain_read(&n->cur, &n->vd.mem, 2, &on, 1)) {
		drop(n, DROP_CTRL_SHORT, "receive-mode command of %u bytes, not 3",
		     (unsigned)n->cur.out_len, 0);
		return VIRTIO_NET_ERR;
	}
	if (cmd == VIRTIO_NET_CTRL_RX_PROMISC)
		n->mode.promiscuous = on != 0;
	else
		n->mode.all_multicast = on != 0;
	apply_mode(n);
	return VIRTIO_NET_OK;
}

static bool ctrl_one(struct virtio_net *n)
{
	struct vq_chain *c = &n->cur;
	uint8_t cmd[2], ack = VIRTIO_NET_ERR;
	enum vq_err e;

	if (c->in_len < 1) {
		virtio_needs_reset(&n->vd, "queue 2 (control): command %u has no room for its ack "
				   "byte", c->head);
		return false;
	}
	if (c->out_len < 2 || vqdev_chain_read(c, &n->vd.mem, 0, cmd, 2))
		drop(n, DROP_CTRL_SHORT, "command %u of %u bytes, no class and command", c->head,
		     (unsigned)c->out_len);
	else if (cmd[0] == VIRTIO_NET_CTRL_RX)
		ack = ctrl_rx(n, cmd[1]);
	else if (cmd[0] == VIRTIO_NET_CTRL_MAC)
		ack = ctrl_mac(n, cmd[1]);
	else
		drop(n, DROP_CTRL_UNKNOWN, "class %u command %u", cmd[0], cmd[1]);
	if (vqdev_chain_write(c, &n->vd.mem, c->in_len - 1, &ack, 1)) {
		virtio_needs_reset(&n->vd, "queue 2 (control): ack byte of %u not writable",
				   c->head);
		return false;
	}
	e = vqdev_push(&n->vd.vq[Q_CTRL], &n->vd.mem, c->head, 1);
	if (e) {
		virtio_needs_reset(&n->vd, "queue 2 (control): %s", vqdev_err_name(e));
		return false;
	}
	virtio_queue_done(&n->vd, Q_CTRL);
	return true;
}

static void ctrl_process(struct virtio_net *n)
{
	struct virtqueue_dev *q = &n->vd.vq[Q_CTRL];

	if (!q->enabled)
		return;
	for (;;) {
		enum vq_err e = vqdev_pop(q, &n->vd.mem, &n->cur);

		if (e) {
			virtio_needs_reset(&n->vd, "queue 2 (control): %s", vqdev_err_name(e));
			return;
		}
		if (!n->cur.nseg) {
			vqdev_want_notify(q, &n->vd.mem);
			if (!vqdev_has_work(q, &n->vd.mem))
				return;
			continue;
		}
		if (!ctrl_one(n))
			return;
	}
}

/* ---- the device ---- */

static void process(struct virtio_dev *vd, uint32_t queues)
{
	struct virtio_net *n = (struct virtio_net *)vd;

	if (queues & 1u << Q_CTRL)
		ctrl_process(n);
	if ((queues & 1u << Q_TX) && virtio_live(vd))
		tx_process(n);
	if ((queues & 1u << Q_RX) && virtio_live(vd))
		rx_process(n);
}

static void cfg_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
	memcpy(buf, ((struct virtio_net *)vd)->cfg + off, len);
}

/* Back to power-on: the configured address, the default filter, an empty backlog. */
static void net_reset(struct virtio_dev *vd)
{
	struct virtio_net *n = (struct virtio_net *)vd;

	memset(&n->mode, 0, sizeof(n->mode));
	memcpy(n->cfg + CFG_MAC, n->mac, VSW_ETH_ALEN);
	if (n->port) {
		vswitch_port_set_mac(n->port, n->mac);
		apply_mode(n);
	}
	rx_flush_backlog(n);
}

static void net_disconnect(struct virtio_net *n);

/* The I/O world has ended: off the switch, then free the backlog. */
static void net_free(struct virtio_dev *vd)
{
	struct virtio_net *n = (struct virtio_net *)vd;

	net_disconnect(n);
	kfree(n->slot_mem);
	kfree(n->txbuf);
	n->slot_mem = n->txbuf = NULL;
}

static const struct virtio_dev_ops net_ops = {
	.cfg_read = cfg_read, .process = process, .reset = net_reset, .destroy = net_free,
};

static int net_connect(struct virtio_net *n, const struct vmconfig_nic *c)
{
	struct vm *vm = n->vd.dev.vm;
	const char *src = c->mac_source;	/* where the address came from */
	char owner[48], mac[20];
	int err;

	n->sw = vswitch_host_find(c->network, &n->vlan);
	if (!n->sw) {
		pr_err("%s: %s: port group '%s' does not exist on this host (net.conf); this VM "
		       "does not start\n", vm->name, n->vd.dev.name, c->network);
		if (c->note[0])
			pr_err("%s: %s: from the .vmx: %s\n", vm->name, n->vd.dev.name, c->note);
		return -ENOENT;
	}
	memcpy(n->pg, c->network, sizeof(n->pg));
	n->frame_max = VSW_ETH_HLEN + VSW_VLAN_HLEN + vswitch_mtu(n->sw);
	n->slot_mem = kmalloc((size_t)RX_SLOTS * n->frame_max);
	n->txbuf = kmalloc(n->frame_max);
	if (!n->slot_mem || !n->txbuf)
		return -ENOMEM;
	for (unsigned i = 0; i < RX_SLOTS; i++)
		n->slot[i].data = n->slot_mem + (size_t)i * n->frame_max;
	snprintf(owner, sizeof(owner), "vm '%.24s' %s", vm->name, n->vd.dev.name);
	fmt_mac(mac, sizeof(mac), n->mac);
	n->port = vswitch_connect(n->sw, c->network, VSW_PORT_VNIC, n->mac, owner, &port_ops, n,
				  &err);
	if (!n->port) {
		pr_err("%s: %s: cannot connect %s to port group '%s': %s; this VM does not start\n",
		       vm->name, n->vd.dev.name, mac, c->network,
		       err == -EEXIST ? "another NIC on the switch has that MAC address" :
		       "out of memory");
		return err;
	}
	if (!src)
		src = c->static_mac ? "static" : "generated";
	pr_info("%s: %s: virtio-net, MAC %s (%s), port group '%s' on %s, VLAN %u, MTU %u\n",
		vm->name, n->vd.dev.name, mac, src, c->network, vswitch_name(n->sw), n->vlan,
		vswitch_mtu(n->sw));
	if (c->note[0])
		pr_info("%s: %s: from the .vmx: %s\n", vm->name, n->vd.dev.name, c->note);
	return 0;
}

static int net_create(struct vdev *d, const struct vdev_args *a)
{
	struct virtio_net *n = (struct virtio_net *)d;
	const struct vmconfig_nic *c = a->extra;
	uint16_t v;
	int rc;

	n->vd.ops = &net_ops;
	n->vd.kind = "virtio-net";
	spin_init(&n->rxlock, "virtio-net rx");
	if (!c)
		return -EINVAL;
	memcpy(n->mac, c->mac, VSW_ETH_ALEN);
	rc = net_connect(n, c);
	if (rc)
		return rc;
	memcpy(n->cfg + CFG_MAC, n->mac, VSW_ETH_ALEN);
	v = VIRTIO_NET_S_LINK_UP;
	memcpy(n->cfg + CFG_STATUS, &v, 2);
	v = 1;
	memcpy(n->cfg + CFG_MAX_VQ_PAIRS, &v, 2);
	v = (uint16_t)vswitch_mtu(n->sw);
	memcpy(n->cfg + CFG_MTU, &v, 2);
	n->vd.host_features = 1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_GUEST_CSUM |
			      1ULL << VIRTIO_NET_F_MTU | 1ULL << VIRTIO_NET_F_MAC |
			      1ULL << VIRTIO_NET_F_MRG_RXBUF | 1ULL << VIRTIO_NET_F_STATUS |
			      1ULL << VIRTIO_NET_F_CTRL_VQ | 1ULL << VIRTIO_NET_F_CTRL_RX |
			      1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR;
	n->vd.cfg_size = CFG_SIZE;
	n->vd.nqueues = 3;
	n->vd.qmax = NET_QUEUE_SIZE;
	n->vd.max_segs = NET_MAX_SEGS;
	return virtio_dev_create(&n->vd, VIRTIO_ID_NET, 0x020000);	/* network, Ethernet */
}

/* Log the port's counters and leave the switch: no deliver() runs once this returns. */
static void net_disconnect(struct virtio_net *n)
{
	struct vdev *d = &n->vd.dev;
	struct vsw_counters k;
	char drops[400];
	size_t at = 0;

	if (n->port) {
		vswitch_port_counters(n->port, &k);
		vswitch_disconnect(n->port);
		n->port = NULL;
		drops[0] = '\0';
		for (unsigned i = 0; i < DROP_COUNT && at < sizeof(drops); i++)
			if (n->drops[i])
				at += (size_t)snprintf(drops + at, sizeof(drops) - at, " %s=%llu",
						       drop_names[i],
						       (unsigned long long)n->drops[i]);
		pr_info("%s: %s: port on %s '%s': tx %llu frames %llu bytes, rx %llu frames %llu "
			"bytes; switch drops: forged %llu, vlan %llu, size %llu, rx-full %llu, "
			"rx-blocked %llu, promisc-refused %llu; device drops:%s\n",
			d->vm->name, d->name, vswitch_name(n->sw), n->pg,
			(unsigned long long)k.tx_packets, (unsigned long long)k.tx_bytes,
			(unsigned long long)k.rx_packets, (unsigned long long)k.rx_bytes,
			(unsigned long long)k.tx_drop_forged, (unsigned long long)k.tx_drop_vlan,
			(unsigned long long)k.tx_drop_size, (unsigned long long)k.rx_drop_full,
			(unsigned long long)k.rx_drop_blocked,
			(unsigned long long)k.promisc_refused, at ? drops : " none");
	}
}

static void net_destroy(struct vdev *d)
{
	struct virtio_net *n = (struct virtio_net *)d;
	unsigned long fl = spin_lock_irqsave(&n->rxlock);

	n->closing = true;
	spin_unlock_irqrestore(&n->rxlock, fl);
	virtio_dev_destroy(d);	/* stops the I/O world, then net_free() */
}

static const struct vdev_type virtio_net_type = {
	.name = "virtio-net", .size = sizeof(struct virtio_net), .create = net_create,
	.reset = virtio_dev_reset, .destroy = net_destroy,
};
VDEV_TYPE(virtio_net_type);
