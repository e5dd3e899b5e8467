#include "wire/ethernet.h"

#include <stdio.h>
#include <string.h>

#include "wire/bytes.h"

const uint8_t eth_broadcast[ETH_ADDR_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

int eth_parse(const uint8_t *buf, size_t len, struct eth_repr *r)
{
    if (len < ETH_HDR_LEN)
        return WIRE_ETRUNC;
    memcpy(r->dst, buf, ETH_ADDR_LEN);
    memcpy(r->src, buf + 6, ETH_ADDR_LEN);
    r->type = ld16(buf + 12);
    return WIRE_OK;
}

void eth_emit(const struct eth_repr *r, uint8_t *buf)
{
    memcpy(buf, r->dst, ETH_ADDR_LEN);
    memcpy(buf + 6, r->src, ETH_ADDR_LEN);
    st16(buf + 12, r->type);
}

int eth_is_broadcast(const uint8_t *a) { return memcmp(a, eth_broadcast, ETH_ADDR_LEN) == 0; }

int eth_is_zero(const uint8_t *a)
{
    static const uint8_t zero[ETH_ADDR_LEN];
    return memcmp(a, zero, ETH_ADDR_LEN) == 0;
}

char *eth_format(const uint8_t *a, char *buf)
{
    snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5]);
    return buf;
}
