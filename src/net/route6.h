/* IPv6 routing (RFC 4861 5.2, 6.3.4, 6.3.6): on-link prefixes, default
 * routers learned from router advertisements or configured, static
 * routes; and the path-MTU cache (RFC 8201). A host's conceptual data
 * structures of RFC 4861 5.1 map to it so: the Prefix List and the
 * Default Router List are routes with an origin and a lifetime; the
 * Destination Cache is not kept, except its path MTU and the last route
 * looked up (a flow sends to one destination packet after packet). */
#ifndef USTACK_NET_ROUTE6_H
#define USTACK_NET_ROUTE6_H

#include "core/stack_priv.h"
#include "wire/ipv6.h"

#define ROUTE6_MAX 64 /* routes; an RA may fill at most half (route6.c) */

enum route6_origin {
    RT6_STATIC,    /* ust_route_add6 */
    RT6_CONNECTED, /* the prefix of an address we configured */
    RT6_RA_PREFIX, /* an RA's on-link prefix (RFC 4861 6.3.4) */
    RT6_RA_ROUTER, /* an RA's default router (its lifetime) */
};

struct route6 {
    bool used;
    uint8_t origin; /* enum route6_origin */
    uint8_t plen;
    int dev;
    struct ipv6_addr prefix;
    struct ipv6_addr gateway; /* :: when on-link */
    ust_time_t expires;       /* UST_TIME_NEVER for configured ones */
};

struct pmtu_entry {
    struct ipv6_addr dst;
    uint32_t mtu;
    ust_time_t expires; /* 0: free */
};

/* The last answer of route6_lookup for an off-link-or-global dst,
 * valid while gen is the table's and no route has expired since. */
struct route6_hint {
    bool valid;
    unsigned gen;
    struct ipv6_addr dst;
    int out_dev;
    struct ipv6_addr next_hop;
};

/* Owned by route6.c. */
struct route6_table {
    struct route6 at[ROUTE6_MAX];
    ust_time_t next; /* no route expires before this (polled every step) */
    unsigned gen;    /* bumped by every change that may change an answer */
    struct route6_hint hint;
    /* The path-MTU cache: a hash table (keyed by a secret: an outsider
     * cannot aim at one slot) probed over PMTU_WAYS slots, so a lookup
     * costs a few comparisons whatever its size; and none at all while
     * nothing is learned (every entry has expired by pmtu_latest). */
    uint8_t pmtu_key[16];
    ust_time_t pmtu_latest; /* the latest expiry of any entry */
    unsigned npmtu;         /* cfg.pmtu_cache_size */
    struct pmtu_entry pmtu[];
};

/* Something outside the table changed what routes may be used (an
 * interface's IPv6 went on or off): forget the last answer. */
void route6_changed(struct ust_stack *s);

int route6_init(struct ust_stack *s);
void route6_fini(struct ust_stack *s);

/* Adds or refreshes (same prefix, length, gateway and dev) a route that
 * expires at expires. 0, -ENOSPC. */
int route6_add(struct ust_stack *s, const struct ipv6_addr *prefix, unsigned plen,
               const struct ipv6_addr *gw, int dev, enum route6_origin origin, ust_time_t expires);
/* Removes the routes matching exactly (gw NULL: any gateway). */
void route6_del(struct ust_stack *s, const struct ipv6_addr *prefix, unsigned plen,
                const struct ipv6_addr *gw, int dev);
/* The route for dst: its device and next hop (dst itself when on-link).
 * Link-local and multicast destinations are on the link of dev (or the
 * first IPv6 interface when dev < 0). 0 or -ENETUNREACH. */
int route6_lookup(const struct ust_stack *s, const struct ipv6_addr *dst, int dev, int *out_dev,
                  struct ipv6_addr *next_hop);
/* A router's neighbour entry lost its router flag (RFC 4861 7.2.5): it is
 * no longer a default router. */
void route6_router_gone(struct ust_stack *s, int dev, const struct ipv6_addr *router);

/* The path MTU towards dst on a link of link_mtu (RFC 8201). */
uint32_t pmtu_get(const struct ust_stack *s, const struct ipv6_addr *dst, uint32_t link_mtu);
/* A Packet Too Big said mtu for dst: learn it (never below 1280, never
 * above what is known). Returns true when it lowered the path MTU. */
bool pmtu_update(struct ust_stack *s, const struct ipv6_addr *dst, uint32_t mtu);

/* Expired routes and path MTUs go. */
void route6_timer(struct ust_stack *s, ust_time_t now);
ust_time_t route6_next_deadline(const struct ust_stack *s);

#endif
