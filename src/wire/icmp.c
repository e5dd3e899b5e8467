#include "wire/icmp.h"

#include <string.h>

#include "wire/bytes.h"
#include "wire/checksum.h"

int icmp_parse(const uint8_t *buf, size_t len, struct icmp_repr *r)
{
    if (len < ICMP_HDR_LEN)
        return WIRE_ETRUNC;
    if (cksum(buf, len) != 0)
        return WIRE_ECSUM;
    r->type = buf[0];
    r->code = buf[1];
    r->rest = ld32(buf + 4);
    r->payload = buf + ICMP_HDR_LEN;
    r->payload_len = len - ICMP_HDR_LEN;
    return WIRE_OK;
}

void icmp_emit(const struct icmp_repr *r, uint8_t *buf)
{
    buf[0] = r->type;
    buf[1] = r->code;
    st16(buf + 2, 0);
    st32(buf + 4, r->rest);
    if (r->payload_len && r->payload != buf + ICMP_HDR_LEN)
        memmove(buf + ICMP_HDR_LEN, r->payload, r->payload_len);
    st16(buf + 2, cksum(buf, ICMP_HDR_LEN + r->payload_len));
}
