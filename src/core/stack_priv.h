/* struct ust_stack: the instance, as every layer sees it.
 *
 * Everything the library keeps lives in it or hangs from it: there is no
 * global state (docs/DESIGN.md, principle 1). Its own members are what
 * all the layers share: the configuration, the clock, the generator, the
 * counters and the buffer pool. Each layer's state is a struct that layer
 * declares in its header and allocates in its *_init(); the instance
 * holds a pointer to it. So this header includes no layer (core/ is the
 * leaf the layers include), and a layer's fields can be read only where
 * its header is included. stack/stack.c makes and frees them all. */
#ifndef USTACK_CORE_STACK_PRIV_H
#define USTACK_CORE_STACK_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "core/log.h"
#include "core/pkbuf.h"
#include "core/rng.h"
#include "ustack/stack.h"

struct arp_table;
struct dhcp_table;
struct dns_resolver;
struct icmp_stack;
struct ipv6_stack;
struct nd_table;
struct route6_table;
struct ipv4_stack;
struct netif_table;
struct ping_table;
struct route_table;
struct sock_table;
struct tcp_stack;

struct ust_stack {
    struct ust_config cfg;
    struct rng rng;
    struct ust_stats stats;
    ust_time_t now; /* the latest time the stack was given */

    struct pkbuf *pool; /* recycled buffers of PKB_POOL_CAP */
    unsigned pool_len;

    /* Each layer's state, owned by the module named. */
    struct netif_table *ifs;      /* devices and interfaces: net/netif.c */
    struct arp_table *arp;        /* the neighbour cache: net/arp.c */
    struct route_table *routes;   /* the routing table: net/route.c */
    struct ipv4_stack *ip;        /* IP ids, reassembly: net/ipv4.c, net/ip_frag.c */
    struct icmp_stack *icmp;      /* the error rate limit: net/icmp.c */
    struct ping_table *ping;      /* ping endpoints: net/ping.c */
    struct ipv6_stack *ip6;       /* IPv6 interfaces, addresses, reassembly: net/ipv6.c,
                                   net/addrconf.c */
    struct nd_table *nd;          /* IPv6 neighbour cache: net/nd.c */
    struct route6_table *routes6; /* IPv6 routes, path MTUs: net/route6.c */

    struct sock_table *socks; /* the sockets: transport/socket.c */
    struct tcp_stack *tcp;    /* connections, ISN key: transport/tcp.c */

    struct dhcp_table *dhcp; /* DHCP clients, made on first use: net/dhcp.c */

    /* DNS servers for the resolver: set by ust_dns_set_servers (static:
     * DHCP leaves them alone) or by a DHCP lease. */
    ust_ip4_t dns_servers[3];
    unsigned ndns;
    bool dns_static;
    struct dns_resolver *resolver; /* the cache, made on first use: runtime/resolver.c */

    void *runtime; /* the runtime driving this stack, if any (edge) */

    /* For the debug log's story. in_step: inside ust_stack_input or
     * ust_stack_poll, which is the stack thread under a runtime, so what
     * is sent now is tagged "stack"; outside, a socket call on the
     * application's thread ("app"). step_frames: frames given to
     * ust_stack_input since the last poll step, which the step's marker
     * reports. */
    bool in_step;
    unsigned step_frames;

    /* The frame ust_stack_input is processing and its offload metadata
     * (NULL when it has none): what netif_rx_csum_trusted asks. */
    const uint8_t *rx_frame;
    size_t rx_len;
    const struct ust_pkt_meta *rx_meta;
};

#endif
