/* IPv4 (RFC 791, RFC 1122 3.2.1, 3.3): input validation, delivery to the
 * protocols above, and output through the routing table. */
#ifndef USTACK_NET_IPV4_H
#define USTACK_NET_IPV4_H

#include "core/stack_priv.h"
#include "net/ip_frag.h"
#include "wire/ipv4.h"

/* IPv4's state. Owned by ipv4.c; the reassembly queue by ip_frag.c. */
struct ipv4_stack {
    uint16_t next_id; /* Identification of the next datagram we send */
    struct reasm_queue reasm;
};

/* ipv4_init draws the first identification from the stack's generator. */
int ipv4_init(struct ust_stack *s);
/* Drops the datagrams being reassembled, and the state. */
void ipv4_fini(struct ust_stack *s);

/* data/len: the packet from the link (may carry link padding after it).
 * link_bcast: it arrived in a link-layer broadcast frame. */
void ipv4_input(struct ust_stack *s, int dev, const uint8_t *data, size_t len, bool link_bcast);

/* Hands a whole datagram (received, or reassembled) to its protocol. */
void ipv4_deliver(struct ust_stack *s, int dev, const struct ipv4_repr *ip, const uint8_t *pkt,
                  bool bcast);

/* The largest IP packet TCP may hand ipv4_output for dst as one
 * super-segment (pkbuf gso_size set): the route's device's TSO limit, or 0
 * when it does not segment. */
uint32_t ipv4_gso_max(const struct ust_stack *s, ust_ip4_t dst);
/* Sends p (which holds the transport payload) to dst. src 0 picks the
 * outgoing interface's address; ttl 0 uses the default; tos is the header's
 * (IP_TOS). Packets larger than the MTU are fragmented, unless df is set
 * (then -EMSGSIZE). Consumes p.
 * Returns 0, -ENETUNREACH, -EMSGSIZE or a driver's -errno. */
int ipv4_output(struct ust_stack *s, struct pkbuf *p, uint8_t proto, ust_ip4_t src, ust_ip4_t dst,
                uint8_t ttl, bool df, uint8_t tos);

/* The source address a datagram to dst would carry; 0 if no route. */
ust_ip4_t ipv4_source_for(const struct ust_stack *s, ust_ip4_t dst);

/* One of our interface addresses (any interface: the weak host model of
 * RFC 1122 3.3.4.2). */
bool ipv4_is_local(const struct ust_stack *s, ust_ip4_t a);

/* Addresses that can never be a datagram's source (RFC 1122 3.2.1.3). */
static inline bool ipv4_is_martian_src(ust_ip4_t a)
{
    return a == 0 || a == 0xffffffffu || (a >> 28) == 0xe || (a >> 28) == 0xf;
}

#endif
