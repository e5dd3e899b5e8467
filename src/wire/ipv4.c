#include "wire/ipv4.h"

#include "wire/bytes.h"
#include "wire/checksum.h"

int ipv4_parse(const uint8_t *buf, size_t len, struct ipv4_repr *r)
{
    if (len < IPV4_HDR_LEN)
        return WIRE_ETRUNC;
    if ((buf[0] >> 4) != 4)
        return WIRE_EVERSION;
    size_t hl = (size_t)(buf[0] & 0x0f) * 4;
    if (hl < IPV4_HDR_LEN || hl > len)
        return WIRE_EHDRLEN;
    uint16_t tl = ld16(buf + 2);
    if (tl < hl || tl > len)
        return WIRE_ELEN;
    if (cksum(buf, hl) != 0)
        return WIRE_ECSUM;
    r->hdr_len = (uint8_t)hl;
    r->tos = buf[1];
    r->total_len = tl;
    r->id = ld16(buf + 4);
    r->frag = ld16(buf + 6);
    r->ttl = buf[8];
    r->proto = buf[9];
    r->src = ld32(buf + 12);
    r->dst = ld32(buf + 16);
    return WIRE_OK;
}

void ipv4_emit(const struct ipv4_repr *r, uint8_t *buf)
{
    buf[0] = 0x45;
    buf[1] = r->tos;
    st16(buf + 2, r->total_len);
    st16(buf + 4, r->id);
    st16(buf + 6, r->frag);
    buf[8] = r->ttl;
    buf[9] = r->proto;
    st16(buf + 10, 0);
    st32(buf + 12, r->src);
    st32(buf + 16, r->dst);
    st16(buf + 10, cksum(buf, IPV4_HDR_LEN));
}

uint32_t ipv4_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}
