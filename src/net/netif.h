/* Devices and interfaces inside the stack: the seam between the link layer
 * and the drivers. */
#ifndef USTACK_NET_NETIF_H
#define USTACK_NET_NETIF_H

#include "core/stack_priv.h"

/* Hands a finished frame to the device's driver, counting and tracing it.
 * Pads Ethernet frames to the 60-byte minimum. Consumes p. */
int netif_transmit(struct ust_stack *s, int dev, struct pkbuf *p);

/* Sends an IPv4 packet (p starts at the IP header) to next_hop on dev:
 * broadcast for broadcast addresses, through ARP otherwise; loopback devices
 * take the packet as it is. Consumes p. 0, or -errno. */
int netif_output_ipv4(struct ust_stack *s, int dev, struct pkbuf *p, ust_ip4_t next_hop);

/* The interface on dev, or NULL if it has no address. */
static inline struct netif *netif_get(struct ust_stack *s, int dev)
{
    return (dev >= 0 && dev < s->nifs && s->ifs[dev].up) ? &s->ifs[dev] : NULL;
}

static inline ust_ip4_t netif_bcast(const struct netif *nif)
{
    return nif->addr | ~nif->mask;
}

#endif
