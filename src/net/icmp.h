/* ICMP (RFC 792, RFC 1122 3.2.2): echo, errors with their rate limit and
 * the rules about when never to send one. Ping endpoints: net/ping.h. */
#ifndef USTACK_NET_ICMP_H
#define USTACK_NET_ICMP_H

#include "core/ratelimit.h"
#include "core/stack_priv.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

/* ICMP's state. Owned by icmp.c. */
struct icmp_stack {
    /* The budgets for the errors we send (RFC 1812 4.3.2.8): one bucket
     * per destination (cfg.icmp_dst_interval, bursts of
     * cfg.icmp_dst_burst, cfg.icmp_dst_table_size of them), made when the
     * first error is sent; then the stack's (cfg.icmp_rate_per_sec,
     * bursts of cfg.icmp_burst). icmp.c says why in that order. */
    struct tbucket_table *per_dst;
    struct tbucket errors;
};

int icmp_init(struct ust_stack *s);
void icmp_fini(struct ust_stack *s);

/* pkt: the whole IP packet (for quoting); payload/len: the ICMP message.
 * bcast: the datagram was addressed to a broadcast (IP or link). */
void icmp_input(struct ust_stack *s, int dev, const struct ipv4_repr *ip, const uint8_t *pkt,
                const uint8_t *payload, size_t len, bool bcast);

/* Sends an ICMP error about the datagram ip/pkt, unless RFC 1122 3.2.2
 * forbids it or the rate limit says no. */
/* The error limits of RFC 1812 4.3.2.8 / RFC 4443 2.4 (f), shared by ICMP
 * and ICMPv6 (icmp.c says how they work): may an error go to the
 * destination whose key (its IPv4 address, or a keyed hash of its IPv6
 * one) is dst_key? Counts what it refuses. */
bool icmp_rate_allow(struct ust_stack *s, uint32_t dst_key);

void icmp_send_error(struct ust_stack *s, uint8_t type, uint8_t code, uint32_t rest,
                     const struct ipv4_repr *ip, const uint8_t *pkt, bool bcast);

#endif
