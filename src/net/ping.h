/* Ping endpoints (the ust_ping_* calls of ustack/stack.h): an application
 * sends ICMP echo requests from one and polls it for the replies, which
 * are queued, at most UST_PING_QUEUE of them, until it asks. */
#ifndef USTACK_NET_PING_H
#define USTACK_NET_PING_H

#include "core/stack_priv.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

#define UST_MAX_PING 8
#define UST_PING_QUEUE 16

struct ping_reply_slot {
    struct ust_ping_reply r;
    struct pkbuf *payload; /* payload bytes, or NULL when empty */
};

struct ping_ep {
    bool used;
    uint16_t id;
    uint32_t gen; /* bumped on close, so stale handles fail */
    unsigned head, count;
    struct ping_reply_slot q[UST_PING_QUEUE];
};

/* The endpoints, at the slot their handles name. Owned by ping.c. */
struct ping_table {
    struct ping_ep ep[UST_MAX_PING];
};

int ping_init(struct ust_stack *s);
/* Frees the replies still queued, and the table. */
void ping_fini(struct ust_stack *s);

/* An echo reply m arrived in datagram ip: queues it for the endpoint with
 * its identifier, if there is one (called by icmp_input). */
void ping_deliver(struct ust_stack *s, const struct ipv4_repr *ip, const struct icmp_repr *m);
/* The same for an ICMPv6 echo reply r (called by icmpv6_input). */
struct ip_meta;
struct icmpv6_repr;
void ping_deliver6(struct ust_stack *s, const struct ip_meta *m, const struct icmpv6_repr *r);

#endif
