/* Ethernet II: the link layer of UST_DEV_ETHERNET devices. */
#ifndef USTACK_NET_ETHERNET_H
#define USTACK_NET_ETHERNET_H

#include "core/stack_priv.h"

void eth_input(struct ust_stack *s, int dev, const uint8_t *frame, size_t len);
/* Prepends an Ethernet header (source: the device's MAC) and transmits.
 * Consumes p. */
int eth_output(struct ust_stack *s, int dev, struct pkbuf *p, const uint8_t dst[6], uint16_t type);

#endif
