/* struct ust_stack: every piece of state the library has lives here. */
#ifndef USTACK_CORE_STACK_PRIV_H
#define USTACK_CORE_STACK_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "core/log.h"
#include "core/pkbuf.h"
#include "core/ratelimit.h"
#include "core/rng.h"
#include "ustack/stack.h"


struct arp_table;
struct icmp_stack;
struct ipv4_stack;
struct netif_table;
struct ping_table;
struct route_table;
struct sock;
struct tcp_stack;

struct ust_stack {
    struct ust_config cfg;
    struct rng rng;
    struct ust_stats stats;
    ust_time_t now;        /* the latest time the stack was given */

    struct netif_table *ifs; /* devices and their interfaces (net/netif.h) */

    struct route_table *routes; /* the routing table (net/route.h) */

    struct arp_table *arp;  /* the neighbour cache (net/arp.h) */

    struct ipv4_stack *ip;  /* the id counter, reassembly (net/ipv4.h) */
    struct icmp_stack *icmp; /* the error rate limit (net/icmp.h) */
    struct ping_table *ping; /* ping endpoints (net/ping.h) */

    struct pkbuf *pool;    /* recycled buffers of PKB_POOL_CAP */
    unsigned pool_len;

    struct sock *socks;    /* cfg.max_sockets slots */
    unsigned sock_next;    /* where the search for a free slot starts */
    uint64_t sock_events;  /* bumped whenever a socket's readiness may change */
    struct tcp_stack *tcp; /* connections, ISN key (transport/tcp.h) */

    void *runtime;         /* the runtime driving this stack, if any (edge) */
};

#endif
