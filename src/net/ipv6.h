/* IPv6 (RFC 8200): input validation, extension headers, reassembly,
 * delivery to the protocols above, and output (source selection, routing,
 * fragmentation at the source). Our IPv6 addresses and what keeps them
 * (link-local, static, SLAAC, duplicate address detection, router
 * solicitation, MLD reports) live in addrconf.c; neighbours in nd.c;
 * routes and path MTUs in route6.c; ICMPv6 in icmpv6.c. */
#ifndef USTACK_NET_IPV6_H
#define USTACK_NET_IPV6_H

#include <string.h>

#include "core/ipaddr.h"
#include "core/stack_priv.h"
#include "net/ip6_frag.h"
#include "net/netif.h"
#include "wire/ipv6.h"

/* The transports' address form and the wire's are the same 16 bytes. */
static inline struct ipaddr ipaddr_from6(const struct ipv6_addr *a)
{
    struct ipaddr r;
    memcpy(r.b, a->a, 16);
    return r;
}
static inline struct ipv6_addr ipaddr_to6(const struct ipaddr *a)
{
    struct ipv6_addr r;
    memcpy(r.a, a->b, 16);
    return r;
}

/* ---- our addresses (addrconf.c) ---- */

#define IP6_MAX_ADDRS                                                                              \
    16 /* for the whole stack; SLAAC takes at most 8 (a flood of
                          * prefixes cannot take them all: addrconf.c) */

enum ip6_addr_state {
    IP6A_FREE = 0,
    IP6A_TENTATIVE,  /* DAD running: not ours yet (RFC 4862 5.4) */
    IP6A_PREFERRED,  /* usable */
    IP6A_DEPRECATED, /* preferred lifetime over: kept for what uses it (RFC 4862 5.5.4) */
};

enum ip6_addr_origin { IP6A_LINK_LOCAL, IP6A_STATIC, IP6A_SLAAC, IP6A_LOOPBACK };

struct ip6_ifaddr {
    uint8_t state;  /* enum ip6_addr_state */
    uint8_t origin; /* enum ip6_addr_origin */
    uint8_t plen;   /* prefix length */
    int dev;
    struct ipv6_addr addr;
    unsigned dad_left;          /* TENTATIVE: solicitations still to send */
    unsigned dad_counter;       /* RFC 7217's DAD_Counter it was made with */
    ust_time_t dad_at;          /* TENTATIVE: the next solicitation, or the verdict */
    ust_time_t preferred_until; /* UST_TIME_NEVER: forever */
    ust_time_t valid_until;
};

/* IPv6 state of one device. */
struct ip6_if {
    bool on;
    uint8_t hop_limit;    /* for what we send (RA's Cur Hop Limit may set it) */
    uint32_t mtu;         /* the link's MTU for IPv6 (RA's MTU option may lower it) */
    unsigned rs_left;     /* router solicitations still to send */
    ust_time_t rs_at;     /* the next one */
    ust_time_t report_at; /* an MLD report is due (a query asked for it) */
};

/* IPv6's state. Owned by ipv6.c (addresses by addrconf.c). */
struct ipv6_stack {
    struct ip6_if dev[UST_MAX_DEVICES];
    unsigned ndevs; /* devices with IPv6 on */
    struct ip6_ifaddr addr[IP6_MAX_ADDRS];
    uint8_t secret[16]; /* RFC 7217's secret_key and the fragment ids' key */
    uint32_t frag_seq;  /* mixed with the key: unpredictable ids (RFC 7739) */
    struct ip6_reasm reasm;
};

int ipv6_init(struct ust_stack *s);
void ipv6_fini(struct ust_stack *s);

/* data/len: the packet from the link (may carry link padding after it).
 * link_mcast: it came in a link-layer multicast or broadcast frame. */
void ipv6_input(struct ust_stack *s, int dev, const uint8_t *data, size_t len, bool link_mcast);

/* Sends p (which holds the upper-layer header and payload) from src to
 * dst. src NULL picks one (RFC 6724); tx NULL (or its hop_limit -1) uses
 * the interface's hop limit.
 * dev >= 0 names the interface for link-local and multicast destinations
 * (else the first IPv6 interface). Larger than the path MTU: fragmented.
 * Consumes p. 0, -ENETUNREACH, -EADDRNOTAVAIL, -EMSGSIZE, -ENOBUFS or a
 * driver's error. */
struct ip_tx;
/* For TCP, before it builds a super-segment to dst: the largest IPv6
 * packet the route's device segments (TSO6), or 0. */
uint32_t ipv6_gso_max(const struct ust_stack *s, const struct ipv6_addr *dst);
int ipv6_output(struct ust_stack *s, struct pkbuf *p, uint8_t proto, const struct ipv6_addr *src,
                const struct ipv6_addr *dst, const struct ip_tx *tx, int dev);
/* The same to a neighbour whose MAC the caller knows (an answer to a
 * solicitation that carried it): no neighbour cache entry is made or used. */
int ipv6_output_mac(struct ust_stack *s, struct pkbuf *p, uint8_t proto,
                    const struct ipv6_addr *src, const struct ipv6_addr *dst,
                    const struct ip_tx *tx, int dev, const uint8_t mac[6]);
/* The same with a hop-by-hop router alert header (MLD, RFC 3810 5). */
int ipv6_output_ra(struct ust_stack *s, struct pkbuf *p, const struct ipv6_addr *src,
                   const struct ipv6_addr *dst, int dev);

/* Timers: reassembly, DAD, router solicitations, lifetimes, MLD. */
void ipv6_timer(struct ust_stack *s, ust_time_t now);
ust_time_t ipv6_next_deadline(const struct ust_stack *s);

/* ---- addrconf.c ---- */

/* IPv6 on dev: link-local address (RFC 7217), DAD, router solicitation. */
int addrconf_enable(struct ust_stack *s, int dev);
/* Adds addr/plen on dev (TENTATIVE, or PREFERRED without DAD) with the
 * lifetimes given (UST_TIME_NEVER: forever). The slot, or -errno. */
int addrconf_add(struct ust_stack *s, int dev, const struct ipv6_addr *addr, unsigned plen,
                 enum ip6_addr_origin origin, ust_time_t preferred_until, ust_time_t valid_until);
/* Our address equal to a (any state), or NULL. */
struct ip6_ifaddr *addrconf_find(struct ust_stack *s, const struct ipv6_addr *a);
/* One of our addresses, usable (not tentative). */
bool ipv6_is_local(const struct ust_stack *s, const struct ipv6_addr *a);
/* A multicast group dev has joined: all-nodes, or the solicited-node
 * group of one of its addresses. */
bool ipv6_mcast_joined(const struct ust_stack *s, int dev, const struct ipv6_addr *group);
/* Source address selection (RFC 6724 5, rules 1, 2, 3, 5 and 8) for dst
 * leaving on dev. false when dev has no usable address. */
bool ipv6_select_source(const struct ust_stack *s, int dev, const struct ipv6_addr *dst,
                        struct ipv6_addr *src);
/* DAD: a solicitation or advertisement for a tentative address came from
 * someone else (nd.c): the address is a duplicate. */
void addrconf_dad_failed(struct ust_stack *s, struct ip6_ifaddr *a);
/* An RA's prefix information with the autonomous flag (RFC 4862 5.5.3). */
void addrconf_prefix(struct ust_stack *s, int dev, const struct ipv6_addr *prefix, unsigned plen,
                     uint32_t valid_s, uint32_t preferred_s);
/* An MLD query arrived on dev: report our groups (after a random delay
 * below max_delay). */
void addrconf_mld_query(struct ust_stack *s, int dev, ust_time_t max_delay);
void addrconf_timer(struct ust_stack *s, ust_time_t now);
ust_time_t addrconf_next_deadline(const struct ust_stack *s);

#endif
