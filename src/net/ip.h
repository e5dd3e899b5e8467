/* The network layer as the transports see it: one face for IPv4 and IPv6.
 *
 * UDP and TCP keep addresses as struct ipaddr (core/ipaddr.h: IPv4 in its
 * IPv4-mapped form) and never call ipv4.c or ipv6.c directly. What they
 * need of the layer below is here: the datagram a segment arrived in
 * (struct ip_meta), sending, the source address for a destination, the
 * pseudo-header their checksums cover, the MTU towards a peer, and the
 * ICMP error that says "no one listens on that port". Each function looks
 * at the address family and calls the version's own module. */
#ifndef USTACK_NET_IP_H
#define USTACK_NET_IP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ipaddr.h"
#include "core/stack_priv.h"

struct ipv4_repr;
struct ipv6_repr;

/* Protocol numbers shared by both versions (IANA "Assigned Internet
 * Protocol Numbers"): IPv4's protocol field, IPv6's next header. */
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17

/* The datagram a transport payload arrived in. */
struct ip_meta {
    struct ipaddr src, dst;
    uint32_t ph;                /* the pseudo-header's sum of src and dst (add the
                                   protocol: ip_pseudo_sum without it), which the
                                   network layer has at hand in its own form */
    int dev;                    /* the interface it came in on */
    bool bcast;                 /* sent to a broadcast (IPv4) or multicast address */
    bool link_mcast;            /* IPv6: came in a link-layer multicast frame */
    const uint8_t *pkt;         /* the datagram from its IP header: ICMP errors quote it */
    size_t pkt_len;             /* IPv6: its length (IPv4's header says it) */
    const struct ipv4_repr *v4; /* its IPv4 header; NULL for IPv6 */
    const struct ipv6_repr *v6; /* its IPv6 header; NULL for IPv4 */
};

/* What a socket asks of its packets' IPv6 header (IPV6_UNICAST_HOPS,
 * IPV6_TCLASS), and the zone of its link-scoped peer (RFC 4007: a
 * link-local address means something only with the link it is on). A
 * NULL struct ip_tx means the defaults. */
struct ip_tx {
    int hop_limit; /* 0-255; -1: the interface's */
    uint8_t tclass;
    uint8_t ttl;    /* IPv4 (IP_TTL): 1-255; 0: the stack's default */
    uint8_t tos;    /* IPv4 (IP_TOS) */
    uint32_t scope; /* sin6_scope_id: the device index + 1 for a link-local or
                       multicast peer; 0: the only (first) IPv6 interface */
};

/* The zone a datagram's source lives in: for a link-local or multicast
 * IPv6 source, the device it came in on (+ 1, as sin6_scope_id); else 0. */
uint32_t ip_scope_of(const struct ip_meta *m);

/* Link-local and multicast IPv6 addresses: those whose meaning depends on
 * the link (RFC 4007 6), so they come with a zone. */
bool ip_addr_needs_zone(const struct ipaddr *a);

/* Checks a zone the API was given for address a (*scope: sin6_scope_id)
 * and puts it in the form the stack keeps: 0 for an address that needs
 * none (global, IPv4), the device index + 1 for a link-scoped one. A
 * link-scoped address without a zone takes the stack's only IPv6
 * interface, as there is no doubt which. 0, -ENODEV (no such IPv6
 * interface), -EINVAL (a zone is needed: several interfaces could be
 * meant; Linux says EINVAL there too). */
int ip_scope_check(const struct ust_stack *s, const struct ipaddr *a, uint32_t *scope);

/* Sends p (the transport header and payload) from src to dst. src may be
 * "any": the outgoing interface's address is used. tx: NULL, or the
 * socket's IPv6 header settings. Consumes p. 0 or -errno (-ENETUNREACH,
 * -EMSGSIZE, -EAFNOSUPPORT, -EADDRNOTAVAIL, a driver's error). */
int ip_output(struct ust_stack *s, struct pkbuf *p, uint8_t proto, const struct ipaddr *src,
              const struct ipaddr *dst, const struct ip_tx *tx);

/* The source address a datagram to dst (in zone scope, for a link-local
 * dst: struct ip_tx) would carry, in *src. false if there is no route. */
bool ip_source_for(const struct ust_stack *s, const struct ipaddr *dst, uint32_t scope,
                   struct ipaddr *src);

/* One of our own addresses (any interface: the weak host model). */
bool ip_is_local(const struct ust_stack *s, const struct ipaddr *a);

/* The pseudo-header sum of RFC 9293 3.1 / RFC 768 (IPv4) or RFC 8200 8.1
 * (IPv6) without the length, which tcp_parse/udp_parse add themselves. */
uint32_t ip_pseudo_sum(const struct ipaddr *src, const struct ipaddr *dst, uint8_t proto);

/* The largest transport segment (header included) that reaches dst
 * without fragmentation: the outgoing link's MTU less the IP header. The
 * minimum MTU of the version if there is no route. */
uint32_t ip_payload_mtu(const struct ust_stack *s, const struct ipaddr *dst);

/* The largest IP packet a transport may hand ip_output towards dst (in
 * zone scope) as one TCP super-segment (pkbuf gso_size set): the route's
 * device's TSO limit for the version, or 0 when it does not segment. */
uint32_t ip_gso_max(const struct ust_stack *s, const struct ipaddr *dst, uint32_t scope);

/* The addresses of the datagram an ICMP or ICMPv6 error quotes: src is
 * ours, dst the peer's. */
struct icmp_quote;
void ip_quote_addrs(const struct icmp_quote *q, struct ipaddr *src, struct ipaddr *dst);

/* An ICMP or ICMPv6 error about one of our datagrams (q: its quote,
 * parsed; e: what the error means to a socket) goes to the transport that
 * sent it (RFC 1122 3.2.2, RFC 4443 3). */
struct icmp_err_class;
void ip_error_deliver(struct ust_stack *s, const struct icmp_quote *q,
                      const struct icmp_err_class *e);

/* Neighbour resolution (ARP, or ND's NUD) gave up on a next hop: each
 * datagram of ours that waited for it (chain: pkbufs linked by next, each
 * from its IP header) earns its sender an "address unreachable", as
 * though a router had said it (RFC 4861 7.2.2: ICMPv6 type 1 code 3; for
 * IPv4, host unreachable, as Linux reports a failed ARP). A connection
 * being set up fails with EHOSTUNREACH; a connected UDP socket gets it as
 * its error. Frees the chain; returns how many datagrams it held. */
unsigned ip_local_unreach(struct ust_stack *s, struct pkbuf *chain);

/* Answers the datagram m with "port unreachable" (ICMP type 3 code 3, or
 * ICMPv6 type 1 code 4), subject to the error rules and rate limits. */
void ip_send_port_unreach(struct ust_stack *s, const struct ip_meta *m);

#endif
