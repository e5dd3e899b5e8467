/* IPv4 headers (RFC 791). */
#ifndef USTACK_WIRE_IPV4_H
#define USTACK_WIRE_IPV4_H

#include <stddef.h>
#include <stdint.h>

#define IPV4_HDR_LEN 20
#define IPV4_MAX_HDR_LEN 60
#define IPV4_MAX_LEN 65535
#define IPV4_PROTO_ICMP 1
#define IPV4_PROTO_TCP 6
#define IPV4_PROTO_UDP 17
#define IPV4_FLAG_DF 0x4000
#define IPV4_FLAG_MF 0x2000
#define IPV4_OFFSET_MASK 0x1fff

struct ipv4_repr {
    uint8_t hdr_len; /* bytes, 20..60 (options are skipped, never parsed) */
    uint8_t tos;
    uint16_t total_len;
    uint16_t id;
    uint16_t frag; /* flags and offset as on the wire */
    uint8_t ttl;
    uint8_t proto;
    uint32_t src, dst; /* host order */
};

/* Validates in the order of RFC 1122 3.2.1: WIRE_ETRUNC (fewer than 20
 * bytes), WIRE_EVERSION, WIRE_EHDRLEN (IHL < 5 or beyond the bytes present),
 * WIRE_ELEN (total length below the header or beyond the bytes present),
 * WIRE_ECSUM. Bytes past total_len (link padding) are not part of the packet. */
int ipv4_parse(const uint8_t *buf, size_t len, struct ipv4_repr *r);
/* Writes a 20-byte header (r->hdr_len is ignored) with its checksum. */
void ipv4_emit(const struct ipv4_repr *r, uint8_t *buf);

static inline int ipv4_is_fragment(const struct ipv4_repr *r)
{
    return (r->frag & (IPV4_FLAG_MF | IPV4_OFFSET_MASK)) != 0;
}
static inline int ipv4_is_first_fragment(const struct ipv4_repr *r)
{
    return (r->frag & IPV4_OFFSET_MASK) == 0;
}

/* Sum of the pseudo-header (RFC 793 3.1 / RFC 768) for transport checksums. */
uint32_t ipv4_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

#endif
