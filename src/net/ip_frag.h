/* IPv4 fragmentation (RFC 791 3.2) and reassembly (RFC 791, RFC 815). */
#ifndef USTACK_NET_IP_FRAG_H
#define USTACK_NET_IP_FRAG_H

#include "core/stack_priv.h"
#include "net/frag_queue.h"
#include "wire/ipv4.h"

#define UST_REASM_MAX_FRAGS 64 /* fragments per datagram being reassembled */

/* The datagrams being reassembled: the queue IPv4 shares with IPv6
 * (net/frag_queue.h), keyed by (source, destination, identification,
 * protocol), bounded by cfg.reasm_mem_max, cfg.reasm_max_per_src and
 * cfg.reasm_timeout. Part of IPv4's state (net/ipv4.h); only ip_frag.c
 * looks inside. The tables are made at the first fragment. */
struct reasm_queue {
    struct fq_table q;
};

/* Takes a fragment (already validated, addressed to us). When it completes a
 * datagram, delivers the whole datagram with ipv4_deliver(). */
void reasm_input(struct ust_stack *s, int dev, const struct ipv4_repr *ip, const uint8_t *pkt,
                 bool bcast);
/* Frees datagrams whose time is up, sending ICMP time exceeded (code 1)
 * when their first fragment had arrived. */
void reasm_timer(struct ust_stack *s, ust_time_t now);
ust_time_t reasm_next_deadline(const struct ust_stack *s);
void reasm_fini(struct ust_stack *s);
/* Datagrams being reassembled, and the bytes they hold (for tests). */
unsigned reasm_count(const struct ust_stack *s);
size_t reasm_memory(const struct ust_stack *s);

/* Sends p (IP payload) as fragments of at most mtu bytes each, with header
 * fields from ip. Consumes p. */
int frag_output(struct ust_stack *s, int dev, ust_ip4_t next_hop, const struct ipv4_repr *ip,
                struct pkbuf *p, uint32_t mtu);

#endif
