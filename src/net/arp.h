/* ARP (RFC 826): the neighbour cache of Ethernet interfaces, with deadlines,
 * a bounded queue of packets waiting for resolution, retries and give-up. */
#ifndef USTACK_NET_ARP_H
#define USTACK_NET_ARP_H

#include "core/stack_priv.h"

int arp_init(struct ust_stack *s);
void arp_fini(struct ust_stack *s);

void arp_input(struct ust_stack *s, int dev, const uint8_t *data, size_t len);

/* Finds the MAC of ip on dev. Returns 0 with mac filled (p untouched);
 * 1 when p was queued until the address resolves (p now belongs to ARP);
 * -errno when p was dropped (and freed). */
int arp_resolve(struct ust_stack *s, int dev, ust_ip4_t ip, struct pkbuf *p, uint8_t mac[6]);

/* Gratuitous ARP request announcing the interface's address (RFC 5227 3). */
void arp_announce(struct ust_stack *s, int dev);

/* Retries, give-ups, refreshes and expiries due at now. */
void arp_timer(struct ust_stack *s, ust_time_t now);
ust_time_t arp_next_deadline(const struct ust_stack *s);

/* For tests and tools: the cached MAC of ip on dev. 0, or -ENOENT when the
 * address is not resolved. */
int arp_lookup(struct ust_stack *s, int dev, ust_ip4_t ip, uint8_t mac[6]);

#endif
