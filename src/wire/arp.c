#include "wire/arp.h"

#include <string.h>

#include "wire/bytes.h"
#include "wire/ethernet.h"

int arp_parse(const uint8_t *buf, size_t len, struct arp_repr *r)
{
    if (len < 8)
        return WIRE_ETRUNC;
    /* Check the sizes before trusting them: hln/pln decide the layout. */
    if (ld16(buf) != ARP_HRD_ETHER || ld16(buf + 2) != ETH_TYPE_IPV4 || buf[4] != 6 || buf[5] != 4)
        return WIRE_EUNSUPP;
    if (len < ARP_LEN)
        return WIRE_ETRUNC;
    r->op = ld16(buf + 6);
    if (r->op != ARP_OP_REQUEST && r->op != ARP_OP_REPLY)
        return WIRE_EUNSUPP;
    memcpy(r->sha, buf + 8, 6);
    r->spa = ld32(buf + 14);
    memcpy(r->tha, buf + 18, 6);
    r->tpa = ld32(buf + 24);
    return WIRE_OK;
}

void arp_emit(const struct arp_repr *r, uint8_t *buf)
{
    st16(buf, ARP_HRD_ETHER);
    st16(buf + 2, ETH_TYPE_IPV4);
    buf[4] = 6;
    buf[5] = 4;
    st16(buf + 6, r->op);
    memcpy(buf + 8, r->sha, 6);
    st32(buf + 14, r->spa);
    memcpy(buf + 18, r->tha, 6);
    st32(buf + 24, r->tpa);
}
