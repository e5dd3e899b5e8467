/* Neighbour discovery for hosts (RFC 4861): the neighbour cache with
 * Neighbour Unreachability Detection, neighbour solicitations and
 * advertisements (with duplicate address detection's side, RFC 4862
 * 5.4), router solicitations, and router advertisements taken apart into
 * routes (route6.c), addresses (addrconf.c) and link parameters. */
#ifndef USTACK_NET_ND_H
#define USTACK_NET_ND_H

#include "core/stack_priv.h"
#include "wire/ipv6.h"

/* NUD states (RFC 4861 7.3.2). */
enum nd_state { ND_FREE = 0, ND_INCOMPLETE, ND_REACHABLE, ND_STALE, ND_DELAY, ND_PROBE };

struct nd_entry {
    uint8_t state; /* enum nd_state */
    bool router;   /* IsRouter (RFC 4861 5.1) */
    int dev;
    unsigned probes; /* solicitations sent in INCOMPLETE or PROBE */
    unsigned npending;
    struct ipv6_addr ip;
    uint8_t mac[6];
    ust_time_t at;        /* the state's next event (UST_TIME_NEVER in STALE) */
    ust_time_t last_used; /* a packet last went through it (0: never) */
    struct pkbuf *pending, *pending_tail;
};

/* The cache (cfg.nd_cache_size entries, allocated once) and the link
 * parameters routers may set. Owned by nd.c. */
struct nd_table {
    ust_time_t base_reachable; /* BaseReachableTime */
    ust_time_t reachable;      /* ReachableTime: drawn in [0.5, 1.5] x base */
    ust_time_t retrans;        /* RetransTimer */
    ust_time_t next;           /* no entry has an event before this */
    unsigned size;
    struct nd_entry entry[];
};

int nd_init(struct ust_stack *s);
void nd_fini(struct ust_stack *s);

/* An RS, RA, NS, NA or Redirect (msg: the whole ICMPv6 message, its
 * checksum checked) in the packet whose header is ip, on dev. */
void nd_input(struct ust_stack *s, int dev, const struct ipv6_repr *ip, const uint8_t *msg,
              size_t len);

/* The MAC of ip on dev, as arp_resolve: 0 with mac filled (p untouched);
 * 1 when p waits for the answer (p now belongs to ND); -errno when p was
 * dropped (and freed). */
int nd_resolve(struct ust_stack *s, int dev, const struct ipv6_addr *ip, struct pkbuf *p,
               uint8_t mac[6]);

/* A neighbour solicitation for target: dad (from ::, to its
 * solicited-node group), else from dev's link-local address, to dst
 * (NULL: target's solicited-node group). */
void nd_send_ns(struct ust_stack *s, int dev, const struct ipv6_addr *target,
                const struct ipv6_addr *dst, bool dad);
/* A router solicitation from src (:: before we have an address). */
void nd_send_rs(struct ust_stack *s, int dev, const struct ipv6_addr *src);
/* Entries on dev go (the interface lost IPv6). */
void nd_flush(struct ust_stack *s, int dev);

void nd_timer(struct ust_stack *s, ust_time_t now);
ust_time_t nd_next_deadline(const struct ust_stack *s);

/* For tests and tools: the cached MAC of ip on dev and its state; -ENOENT. */
int nd_lookup(struct ust_stack *s, int dev, const struct ipv6_addr *ip, uint8_t mac[6],
              enum nd_state *state);
const char *nd_state_name(enum nd_state st);

#endif
