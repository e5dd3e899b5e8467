/* The virtio-net header (virtio 1.x 5.1.6; Linux's struct virtio_net_hdr):
 * what a TAP opened with IFF_VNET_HDR puts before every frame. Its fields
 * are little-endian on the wire (TUNSETVNETLE; the legacy native order on
 * every little-endian host). */
#ifndef USTACK_WIRE_VNET_H
#define USTACK_WIRE_VNET_H

#include <stddef.h>
#include <stdint.h>

#include "ustack/device.h"

#define VNET_HDR_LEN 10     /* flags, gso_type, hdr_len, gso_size, csum_start, csum_offset */
#define VNET_HDR_LEN_MRG 12 /* the same plus num_buffers (virtio 1.x): the size ustack asks for */
#define VNET_FLAGS_KNOWN (UST_META_NEEDS_CSUM | UST_META_DATA_VALID)

/* Reads the header at buf (hdr_size bytes, 10 or 12) into m: no checks
 * but the size (WIRE_ETRUNC when len < hdr_size). */
int vnet_parse(const uint8_t *buf, size_t len, size_t hdr_size, struct ust_pkt_meta *m);
/* Writes m as a header of hdr_size bytes (num_buffers 0). */
void vnet_emit(const struct ust_pkt_meta *m, uint8_t *buf, size_t hdr_size);
/* Whether m can describe a frame of frame_len bytes: known flags and GSO
 * type; a partial checksum's field inside the frame; a super-frame has a
 * segment size, a partial checksum, and headers shorter than the frame.
 * WIRE_OK, WIRE_EUNSUPP (unknown flag or type) or WIRE_ELEN. */
int vnet_check(const struct ust_pkt_meta *m, size_t frame_len);

#endif
