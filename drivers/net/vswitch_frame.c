/*
 * Frame helpers for the virtual switch and its ports: gathering a frame
 * the switch hands out in pieces, and finishing a partial checksum the
 * way a NIC with checksum offload would (virtio-net's NEEDS_CSUM: the
 * sender put the pseudo-header sum at csum_start + csum_offset; the one's
 * complement sum of everything from csum_start to the end replaces it).
 */
#include <errno.h>
#include <string.h>
#include <drivers/vswitch.h>

void vsw_frame_copy(const struct vsw_frame *f, uint8_t *to)
{
	memcpy(to, f->head, 12);
	to += 12;
	if (f->tag) {
		memcpy(to, f->tag, VSW_VLAN_HLEN);
		to += VSW_VLAN_HLEN;
	}
	memcpy(to, f->rest, f->rest_len);
}

int vsw_csum_complete(uint8_t *frame, size_t len, const struct vsw_meta *m)
{
	size_t start = m->csum_start, at = start + m->csum_offset;
	uint32_t sum = 0;
	uint16_t r;

	if (start > len || at + 2 > len || at < start)
		return -EINVAL;
	for (size_t i = start; i + 1 < len; i += 2)
		sum += (uint32_t)frame[i] << 8 | frame[i + 1];
	if ((len - start) & 1)
		sum += (uint32_t)frame[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	r = (uint16_t)~sum;
	/* UDP sends a computed zero as all ones (RFC 768); for TCP both mean zero. */
	if (!r)
		r = 0xffff;
	frame[at] = (uint8_t)(r >> 8);
	frame[at + 1] = (uint8_t)r;
	return 0;
}
