/* Ethernet II input and output. */
#include "net/ethernet.h"

#include <errno.h>
#include <string.h>

#include "net/arp.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "net/netif.h"
#include "wire/bytes.h"
#include "wire/ethernet.h"

void eth_input(struct ust_stack *s, int dev, const uint8_t *frame, size_t len)
{
    struct ust_device *d = s->ifs->at[dev].dev;
    struct eth_repr eh;
    s->stats.eth.rx++;
    s->stats.eth.rx_bytes += len;
    if (eth_parse(frame, len, &eh) != WIRE_OK) {
        s->stats.eth.drop_short++;
        debugf(s, "dev=%s, len=%zu: shorter than an Ethernet header, dropped", d->name, len);
        return;
    }
    bool bcast = eth_is_broadcast(eh.dst);
    /* IPv6 multicast (RFC 2464 7): 33:33 and the group's last 32 bits;
     * ipv6_input checks the group is one we joined. */
    bool v6mcast = eh.dst[0] == 0x33 && eh.dst[1] == 0x33 && eh.type == ETH_TYPE_IPV6;
    if (!bcast && !v6mcast && memcmp(eh.dst, d->mac, ETH_ADDR_LEN) != 0) {
        /* Unicast to someone else, or multicast we have not joined. */
        s->stats.eth.drop_not_for_us++;
        return;
    }
    const uint8_t *payload = frame + ETH_HDR_LEN;
    size_t plen = len - ETH_HDR_LEN;
    switch (eh.type) {
    case ETH_TYPE_ARP: arp_input(s, dev, payload, plen); break;
    case ETH_TYPE_IPV4: ipv4_input(s, dev, payload, plen, bcast); break;
    case ETH_TYPE_IPV6: ipv6_input(s, dev, payload, plen, bcast || v6mcast); break;
    case ETH_TYPE_VLAN:
    case ETH_TYPE_QINQ:
        s->stats.eth.drop_vlan++;
        debugf(s, "dev=%s, type=0x%04x: VLAN-tagged frame dropped", d->name, eh.type);
        break;
    default:
        s->stats.eth.drop_unknown_type++;
        debugf(s, "dev=%s, type=0x%04x: unknown ethertype, dropped", d->name, eh.type);
        break;
    }
}

int eth_output(struct ust_stack *s, int dev, struct pkbuf *p, const uint8_t dst[6], uint16_t type)
{
    struct eth_repr eh;
    memcpy(eh.dst, dst, ETH_ADDR_LEN);
    memcpy(eh.src, s->ifs->at[dev].dev->mac, ETH_ADDR_LEN);
    eh.type = type;
    uint8_t *h = pkb_push(p, ETH_HDR_LEN);
    if (!h) {
        pkb_free(s, p);
        return -ENOBUFS;
    }
    eth_emit(&eh, h);
    return netif_transmit(s, dev, p);
}
