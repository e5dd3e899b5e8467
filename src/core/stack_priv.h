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

#define UST_MAX_ROUTES 32
#define UST_MAX_PING 8
#define UST_PING_QUEUE 16
#define UST_REASM_MAX_FRAGS 64 /* fragments per datagram being reassembled */

struct netif_table;
struct sock;
struct reasm;
struct tcp_stack;

struct route {
    ust_ip4_t prefix, mask;
    unsigned prefix_len;
    ust_ip4_t gateway;     /* 0: connected */
    int dev;
};

enum arp_state { ARP_FREE = 0, ARP_INCOMPLETE, ARP_RESOLVED };

struct arp_entry {
    uint8_t state;
    bool used;             /* looked up since the last refresh */
    /* As wide as the unsigned cfg.arp_max_retries / arp_pending_max they are
     * compared with: a uint8_t wrapped at 256, so the pending queue grew
     * without bound and resolution never gave up for settings above 255. */
    unsigned retries;      /* requests sent after the first */
    unsigned npending;
    int dev;
    ust_ip4_t ip;
    uint8_t mac[6];
    ust_time_t expires;    /* RESOLVED: entry dies; INCOMPLETE: next request */
    ust_time_t refresh_at; /* RESOLVED: re-probe if used (UST_TIME_NEVER once sent) */
    struct pkbuf *pending, *pending_tail;
};

struct ping_reply_slot {
    struct ust_ping_reply r;
    struct pkbuf *payload; /* payload bytes, or NULL when empty */
};

struct ping_ep {
    bool used;
    uint16_t id;
    uint32_t gen;          /* bumped on close, so stale handles fail */
    unsigned head, count;
    struct ping_reply_slot q[UST_PING_QUEUE];
};

struct ust_stack {
    struct ust_config cfg;
    struct rng rng;
    struct ust_stats stats;
    ust_time_t now;        /* the latest time the stack was given */

    struct netif_table *ifs; /* devices and their interfaces (net/netif.h) */

    struct route routes[UST_MAX_ROUTES];
    int nroutes;

    struct arp_entry *arp;  /* cfg.arp_cache_size entries */

    uint16_t ip_next_id;
    struct tbucket icmp_bucket;
    struct ping_ep ping[UST_MAX_PING];

    struct pkbuf *pool;    /* recycled buffers of PKB_POOL_CAP */
    unsigned pool_len;

    struct reasm *reasm;   /* datagrams being reassembled, oldest first */
    size_t reasm_mem;
    unsigned reasm_n;

    struct sock *socks;    /* cfg.max_sockets slots */
    unsigned sock_next;    /* where the search for a free slot starts */
    uint64_t sock_events;  /* bumped whenever a socket's readiness may change */
    struct tcp_stack *tcp; /* connections, ISN key (transport/tcp.h) */

    void *runtime;         /* the runtime driving this stack, if any (edge) */
};

#endif
