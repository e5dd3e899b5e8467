/* The DHCP client inside the stack: the state machines of
 * net/dhcp_client.c, one per device, wired to frames, ARP, the interface
 * and the timers. */
#ifndef USTACK_NET_DHCP_H
#define USTACK_NET_DHCP_H

#include "core/stack_priv.h"
#include "wire/ipv4.h"

/* Made by the first ust_dhcp_start. Owned by dhcp.c. */
struct dhcp_table {
    struct dhcpc *client[8]; /* by device index (UST_MAX_DEVICES) */
    uint16_t dev_mtu[8];     /* the device's MTU before a lease lowered it */
    bool warned_bad[8];      /* a bad offer was logged at warn level once */
};

void dhcp_fini(struct ust_stack *s);

/* A UDP datagram that arrived on dev (ip, pkt: the IP packet). Returns
 * true when it was for a DHCP client there (port 68, from port 67): it
 * is consumed (taken or dropped and counted). */
bool dhcp_ipv4_input(struct ust_stack *s, int dev, const struct ipv4_repr *ip, const uint8_t *pkt);
/* Every ARP packet heard on dev, for RFC 5227's conflict detection. */
void dhcp_arp_input(struct ust_stack *s, int dev, uint16_t op, const uint8_t sha[6], ust_ip4_t spa,
                    ust_ip4_t tpa);

void dhcp_timer(struct ust_stack *s, ust_time_t now);
ust_time_t dhcp_next_deadline(const struct ust_stack *s);

#endif
