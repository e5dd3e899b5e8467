#include "wire/udp.h"

#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"

int udp_parse(const uint8_t *buf, size_t buflen, uint32_t ph, struct udp_repr *r)
{
    return udp_parse_csum(buf, buflen, ph, true, r);
}

int udp_parse_csum(const uint8_t *buf, size_t buflen, uint32_t ph, bool verify, struct udp_repr *r)
{
    if (buflen < UDP_HDR_LEN)
        return WIRE_ETRUNC;
    uint16_t len = ld16(buf + 4);
    if (len < UDP_HDR_LEN || len > buflen)
        return WIRE_ELEN;
    uint16_t sum = ld16(buf + 6);
    if (verify && sum != 0 && cksum_fold(cksum_add(ph + len, buf, len)) != 0)
        return WIRE_ECSUM;
    r->sport = ld16(buf);
    r->dport = ld16(buf + 2);
    r->len = len;
    r->checksum = sum;
    return WIRE_OK;
}

void udp_emit(const struct udp_repr *r, uint32_t ph, uint8_t *buf, size_t payload_len)
{
    uint16_t len = (uint16_t)(UDP_HDR_LEN + payload_len);
    st16(buf, r->sport);
    st16(buf + 2, r->dport);
    st16(buf + 4, len);
    st16(buf + 6, 0);
    uint16_t sum = cksum_fold(cksum_add(ph + len, buf, len));
    st16(buf + 6, sum ? sum : 0xffff);
}
