/*
 * The virtual switch: Ethernet between VM NICs, the host's own (vmkernel)
 * NICs and physical uplinks, in the manner of ESXi's standard vSwitch.
 *
 * A switch has port groups (a name, a VLAN rule and a security policy) and
 * ports; every port belongs to one port group. Whoever owns a port (a
 * virtio-net device model, a vmkernel NIC, a physical NIC driver) hands the
 * switch whole frames with vswitch_port_send() and receives frames through
 * its ops->deliver(). docs/networking.md describes the behaviour.
 */
#ifndef DRIVERS_VSWITCH_H
#define DRIVERS_VSWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VSW_ETH_ALEN 6
#define VSW_ETH_HLEN 14			/* destination, source, EtherType */
#define VSW_VLAN_HLEN 4			/* an 802.1Q tag: TPID 0x8100 and TCI */
#define VSW_MTU_DEFAULT 1500
#define VSW_MTU_MIN 68			/* IPv4's minimum */
#define VSW_MTU_MAX 9000
#define VSW_FRAME_MAX (VSW_ETH_HLEN + VSW_VLAN_HLEN + VSW_MTU_MAX)
#define VSW_NAME_MAX 32

/* Port group VLAN IDs, as ESXi has them. */
#define VSW_VLAN_NONE 0			/* untagged traffic only */
#define VSW_VLAN_MAX 4094		/* 1..4094: the switch tags and untags (VST) */
#define VSW_VLAN_TRUNK 4095		/* the guest tags its own frames (VGT) */

/* Ageing of learned addresses (seconds); the owner MACs of VM and vmkernel NICs never age. */
#define VSW_AGEING_DEFAULT_S 300
/* Addresses one port may have learned at once: one port cannot fill the table. */
#define VSW_LEARN_PER_PORT 64

enum vsw_port_kind {
	VSW_PORT_VNIC,		/* a VM's NIC */
	VSW_PORT_VMKNIC,	/* the host's own NIC on this switch */
	VSW_PORT_UPLINK,	/* a physical NIC: trunks every VLAN of the switch */
};

/* The security policy of a port group; false = reject, ESXi's default for all three. */
struct vsw_policy {
	bool promiscuous;	/* a port that asks for it sees every frame of its VLANs */
	bool mac_changes;	/* a port may receive at an address other than its initial one */
	bool forged_transmits;	/* a port may send with a source address not its own */
};

/* Checksum offload, as virtio-net's header carries it. */
struct vsw_meta {
	bool csum_partial;	/* the sum at csum_start+csum_offset is to be completed */
	uint16_t csum_start, csum_offset;
};

/* A frame as it leaves the switch: head bytes, an optional 802.1Q tag, the rest. */
struct vsw_frame {
	const uint8_t *head;	/* destination and source address (12 bytes) */
	const uint8_t *tag;	/* NULL, or 4 bytes to put after them */
	const uint8_t *rest;	/* EtherType and payload */
	size_t rest_len;
	struct vsw_meta meta;	/* offsets count the tag when one is present */
};

static inline size_t vsw_frame_len(const struct vsw_frame *f)
{
	return 12 + (f->tag ? VSW_VLAN_HLEN : 0) + f->rest_len;
}

/* Copy a frame to one buffer; the caller has vsw_frame_len(f) bytes there. */
void vsw_frame_copy(const struct vsw_frame *f, uint8_t *to);

struct vsw_port_ops {
	/*
	 * A frame for this port. Return 0, or -ENOSPC when there is no room
	 * (the switch counts the drop). Called with the switch's lock held:
	 * copy the frame and return; never call back into the switch.
	 */
	int (*deliver)(void *ctx, const struct vsw_frame *f);
	bool csum_offload;	/* takes csum_partial frames; else the switch completes the sum */
};

struct vsw_counters {
	uint64_t tx_packets, tx_bytes;	/* from the port into the switch */
	uint64_t rx_packets, rx_bytes;	/* from the switch to the port */
	uint64_t tx_drop_forged;	/* source address not the port's (forged transmits) */
	uint64_t tx_drop_vlan;		/* tagged frame from an access port, or bad VLAN */
	uint64_t tx_drop_size;		/* shorter than a header or longer than the MTU */
	uint64_t rx_drop_full;		/* the port had no room */
	uint64_t rx_drop_blocked;	/* the port changed its address against the policy */
	uint64_t promisc_refused;	/* requests for promiscuous mode the policy refused */
};

struct vswitch;
struct vsw_port;

/* A switch; now_ns is its clock (ageing). NULL when out of memory or a bad MTU. */
struct vswitch *vswitch_create(const char *name, unsigned mtu, uint64_t (*now_ns)(void));
void vswitch_destroy(struct vswitch *sw);		/* its ports must be gone */
const char *vswitch_name(const struct vswitch *sw);
unsigned vswitch_mtu(const struct vswitch *sw);
void vswitch_set_ageing(struct vswitch *sw, unsigned seconds);

/* A port group; -EEXIST, -EINVAL (VLAN > 4095, empty or long name), -ENOMEM. */
int vswitch_add_portgroup(struct vswitch *sw, const char *name, unsigned vlan,
			  const struct vsw_policy *policy);
bool vswitch_has_portgroup(const struct vswitch *sw, const char *name);

/*
 * Connect a port to port group pg with initial address mac (a unicast
 * address). *err gets -ENOENT (no such port group), -EEXIST (another port
 * of this switch and VLAN has that address), -EINVAL or -ENOMEM on NULL.
 * owner names the port in messages ("vm 'web1' ethernet0").
 */
struct vsw_port *vswitch_connect(struct vswitch *sw, const char *pg, enum vsw_port_kind kind,
				 const uint8_t mac[VSW_ETH_ALEN], const char *owner,
				 const struct vsw_port_ops *ops, void *ctx, int *err);
void vswitch_disconnect(struct vsw_port *p);

/*
 * A frame from the port's owner: forwarded to every port that should see it
 * (copied by their deliver() before this returns). Returns 0, or -EPERM
 * (forged source), -EMSGSIZE (size), -EPROTO (VLAN rules): the frame was
 * dropped and counted.
 */
int vswitch_port_send(struct vsw_port *p, const void *frame, size_t len,
		      const struct vsw_meta *meta);

/* The address the port's owner now receives at; -EPERM if the policy refuses it. */
int vswitch_port_set_mac(struct vsw_port *p, const uint8_t mac[VSW_ETH_ALEN]);

/* Receive filter, as virtio-net's control queue sets it. */
struct vsw_rx_mode {
	bool promiscuous, all_multicast, all_unicast;
	bool no_broadcast, no_multicast, no_unicast;
	bool mc_filter;			/* false: every multicast passes (no table set) */
	unsigned n_uc, n_mc;		/* extra addresses to receive at */
	const uint8_t (*uc)[VSW_ETH_ALEN];
	const uint8_t (*mc)[VSW_ETH_ALEN];
};
/* -EINVAL when a list is too long (VSW_FILTER_MAX each). */
#define VSW_FILTER_MAX 64
int vswitch_port_set_rx_mode(struct vsw_port *p, const struct vsw_rx_mode *m);

void vswitch_port_counters(struct vsw_port *p, struct vsw_counters *c);
/* How many addresses the switch has learned (static entries excluded). */
unsigned vswitch_learned(struct vswitch *sw);
/* The port an address of a VLAN is forwarded to, or NULL (unknown: flooded). */
struct vsw_port *vswitch_lookup(struct vswitch *sw, unsigned vlan,
				const uint8_t mac[VSW_ETH_ALEN]);

/* Complete a partial checksum (RFC 1071) in a frame in place; -EINVAL if out of bounds. */
int vsw_csum_complete(uint8_t *frame, size_t len, const struct vsw_meta *m);

#endif
