/* UDP headers (RFC 768). */
#ifndef USTACK_WIRE_UDP_H
#define USTACK_WIRE_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UDP_HDR_LEN 8
#define UDP_MAX_PAYLOAD (65535 - 20 - UDP_HDR_LEN) /* 65,507 */

struct udp_repr {
    uint16_t sport, dport;
    uint16_t len;      /* header + payload, from the length field */
    uint16_t checksum; /* as received; 0 means the sender computed none */
};

/* Checks the length field against the bytes present (8 <= len <= buflen;
 * bytes beyond it are ignored) and, unless the field is zero, the checksum.
 * ph is the pseudo-header's sum without the length (ipv4_pseudo_sum(src,
 * dst, 17, 0), or IPv6's): the length is added here. A zero field means
 * "no checksum", which only IPv4 allows: the caller decides (r->checksum).
 * WIRE_ETRUNC, WIRE_ELEN, WIRE_ECSUM or WIRE_OK. */
int udp_parse(const uint8_t *buf, size_t buflen, uint32_t ph, struct udp_repr *r);
/* udp_parse without the checksum when verify is false (a device verified it). */
int udp_parse_csum(const uint8_t *buf, size_t buflen, uint32_t ph, bool verify, struct udp_repr *r);
/* Writes the header in front of the payload_len bytes already at buf + 8,
 * with the checksum (RFC 768: a computed 0 is sent as 0xffff). */
void udp_emit(const struct udp_repr *r, uint32_t ph, uint8_t *buf, size_t payload_len);

#endif
