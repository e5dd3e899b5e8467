/* IPv6 reassembly (RFC 8200 4.5, RFC 5722, RFC 6946, RFC 7112) and
 * fragmentation at the source.
 *
 * Sans-I/O: the state is struct ip6_reasm, owned by this module; the
 * clock, the hash key and the configuration come in as arguments; nothing
 * is sent from here. Where RFC 8200 asks for an ICMPv6 error, the result
 * says which (and with what pointer), and the network layer sends it
 * (icmpv6_error_allowed, icmpv6_error_emit).
 *
 * The datagrams being reassembled live in the queue IPv4 uses too
 * (net/frag_queue.h): keyed by (source, destination, identification),
 * bounded in memory, per source and in time, an overlap dropping the whole
 * datagram. */
#ifndef USTACK_NET_IP6_FRAG_H
#define USTACK_NET_IP6_FRAG_H

#include "net/frag_queue.h"
#include "ustack/stack.h"
#include "wire/ipv6.h"

#define IP6_REASM_TIMEOUT_DEFAULT (60 * UST_SEC) /* RFC 8200 4.5: 60 seconds */
#define IP6_REASM_MAX_FRAGS 64

/* Every cause a fragment is dropped for has its counter (the names are
 * those of the fields). */
struct ip6_reasm_stats {
    uint64_t frag_rx;          /* fragments received */
    uint64_t reasm_ok;         /* datagrams reassembled */
    uint64_t atomic;           /* atomic fragments (RFC 6946) handed up alone */
    uint64_t bad_len;          /* not the last, and not a multiple of 8 (Parameter Problem) */
    uint64_t empty;            /* not the last, and no data */
    uint64_t too_big;          /* would end past 65,535 (Parameter Problem) */
    uint64_t first_incomplete; /* first fragment without the whole header chain (RFC 7112) */
    uint64_t overlap;          /* overlaps or contradicts one held: datagram dropped */
    uint64_t duplicate;        /* exactly one held: ignored */
    uint64_t too_many;         /* the datagram has IP6_REASM_MAX_FRAGS already: dropped */
    uint64_t timeout;          /* datagrams whose time ran out */
    uint64_t evicted;          /* datagrams dropped for the memory bound */
    uint64_t src_evicted;      /* a source at its bound: its oldest made room */
};

struct ip6_reasm {
    struct fq_table q; /* its tables are made at the first fragment */
    struct fq_cfg cfg;
    uint8_t key[16];
    struct ip6_reasm_stats stats;
};

/* cfg: mem_max, max_per_src and timeout as the stack's configuration says
 * (timeout 0: IP6_REASM_TIMEOUT_DEFAULT); max_frags 0:
 * IP6_REASM_MAX_FRAGS. key: the hash key, from the stack's generator.
 * Allocates nothing. */
void ip6_reasm_init(struct ip6_reasm *r, const struct fq_cfg *cfg, const uint8_t key[16]);
void ip6_reasm_fini(struct ip6_reasm *r);

enum ip6_reasm_result {
    IP6_REASM_NONE,          /* held (or dropped and counted): nothing to do */
    IP6_REASM_DONE,          /* out->pkt is a whole packet: walk it and deliver it */
    IP6_REASM_PARAM_PROBLEM, /* dropped; send Parameter Problem out->code/pointer
                                  quoting the fragment */
    IP6_REASM_TIME_EXCEEDED, /* (ip6_reasm_timer) send Time Exceeded code 1 quoting out->pkt */
};

struct ip6_reasm_out {
    /* DONE: the whole packet, malloc'd (the caller frees it): the
     * per-fragment headers of the first fragment, the Next Header byte
     * that named the fragment header now naming what it named, the
     * payload length set, no fragment header. TIME_EXCEEDED: the first
     * fragment as it came, cut to what an error quotes. */
    uint8_t *pkt;
    size_t len;
    uint8_t code;     /* PARAM_PROBLEM: ICMPV6_PP_* */
    uint32_t pointer; /* PARAM_PROBLEM */
    int dev;          /* DONE, TIME_EXCEEDED: where the (first) fragment came in */
    bool mcast;       /* ... and whether to a multicast address */
};

/* Takes the fragment pkt (its header parsed into ip, its extension
 * headers walked into e: e->verdict is IPV6_EXT_FRAGMENT), which came in
 * on dev (to a multicast destination when mcast) at now. */
enum ip6_reasm_result ip6_reasm_input(struct ip6_reasm *r, ust_time_t now, int dev, bool mcast,
                                      const uint8_t *pkt, const struct ipv6_repr *ip,
                                      const struct ipv6_ext *e, struct ip6_reasm_out *out);
/* Frees the datagrams whose time is up at now, one at a time: returns
 * IP6_REASM_TIME_EXCEEDED (with out) for one whose first fragment had
 * arrived, IP6_REASM_NONE when none is left to report. Call until NONE. */
enum ip6_reasm_result ip6_reasm_timer(struct ip6_reasm *r, ust_time_t now,
                                      struct ip6_reasm_out *out);
ust_time_t ip6_reasm_next_deadline(const struct ip6_reasm *r);
static inline unsigned ip6_reasm_count(const struct ip6_reasm *r) { return r->q.n; }
static inline size_t ip6_reasm_memory(const struct ip6_reasm *r) { return r->q.mem; }

/* ---- fragmentation at the source (RFC 8200 4.5) ---- */

struct ip6_frag_iter {
    const uint8_t *pkt;
    size_t len;    /* of the whole packet */
    size_t unfrag; /* per-fragment headers' length */
    size_t nh_off; /* the Next Header byte that names the first fragmentable header */
    size_t chunk;  /* data bytes per fragment but the last: a multiple of 8 */
    size_t off;    /* of the next fragment's data, in the fragmentable part */
    uint32_t id;
};

/* Prepares to cut the whole packet pkt (len bytes, header and payload
 * length consistent) into fragments of at most mtu bytes with
 * identification id (RFC 7739: the caller makes it unpredictable).
 * -EINVAL when its headers cannot be walked, -EMSGSIZE when mtu leaves
 * no room for 8 bytes of data or the first fragment could not carry the
 * whole header chain (RFC 7112). */
int ip6_frag_start(struct ip6_frag_iter *it, const uint8_t *pkt, size_t len, size_t mtu,
                   uint32_t id);
/* Writes the next fragment into out (cap bytes: mtu is enough); returns
 * its length, 0 when every fragment has been written (or cap is too
 * small). */
size_t ip6_frag_next(struct ip6_frag_iter *it, uint8_t *out, size_t cap);

#endif
