/* IPv4 fragmentation and reassembly.
 *
 * Reassembly keeps, per datagram, the fragments received so far, sorted by
 * offset, in the queue it shares with IPv6 (net/frag_queue.c). The holes
 * of RFC 815 are the gaps in that list; the datagram is complete when the
 * first fragment starts at 0, each one ends where the next begins, and the
 * last (MF=0) one has arrived. Keeping the fragments rather than only the
 * holes lets us tell an exact duplicate (harmless, ignored) from an
 * overlap (the whole datagram is dropped, as RFC 5722 recommends for IPv6:
 * overlaps are only ever used to attack).
 *
 * A flood of fragments that never complete must cost little per frame: in
 * a first-fragment flood every frame is a new datagram, and once the
 * memory budget is full, an eviction. The datagrams were one list,
 * searched from the oldest, each holding a buffer of at least 2 KiB: 1,700
 * of them filled the 4 MiB, and every frame of such a flood walked them
 * all (22,000 instructions and 7.3 us a frame, 93% of it in that walk).
 * Hence the queue's hash tables, its bound per source
 * (cfg.reasm_max_per_src) and its charging each fragment for what it
 * holds (frag_queue.h). What stays here: the key (source, destination,
 * identification, protocol), RFC 791's checks, the whole datagram's
 * header, and the ICMP time exceeded. */
#include "net/ip_frag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/icmp.h"
#include "net/ipv4.h"
#include "net/netif.h"
#include "wire/bytes.h"
#include "wire/checksum.h"

#define REASM_KEY_LEN 11

/* The key (source, destination, identification, protocol) as bytes. */
static void key_of(const struct ipv4_repr *ip, uint8_t k[REASM_KEY_LEN])
{
    st32(k, ip->src);
    st32(k + 4, ip->dst);
    st16(k + 8, ip->id);
    k[10] = ip->proto;
}

static int tables_init(struct ust_stack *s)
{
    uint8_t key[16];
    for (int i = 0; i < 16; i += 8) {
        uint64_t v = rng_next(&s->rng);
        memcpy(key + i, &v, 8);
    }
    struct fq_cfg cfg = {s->cfg.reasm_mem_max, s->cfg.reasm_max_per_src, s->cfg.reasm_timeout,
                         UST_REASM_MAX_FRAGS};
    return fq_init(&s->ip->reasm.q, &cfg, key, &s->stats.ip.reasm_evicted,
                   &s->stats.ip.reasm_src_evicted);
}

void reasm_fini(struct ust_stack *s) { fq_fini(&s->ip->reasm.q); }

unsigned reasm_count(const struct ust_stack *s) { return s->ip->reasm.q.n; }
size_t reasm_memory(const struct ust_stack *s) { return s->ip->reasm.q.mem; }

/* Hands up the whole datagram: what d holds and the fragment ip/pkt that
 * completes it (delivered from the frame, never stored). */
static void reasm_deliver(struct ust_stack *s, struct fq_dgram *d, const struct ipv4_repr *ip,
                          const uint8_t *pkt)
{
    struct fq_table *q = &s->ip->reasm.q;
    uint32_t off = (uint32_t)(ip->frag & IPV4_OFFSET_MASK) * 8u;
    uint32_t plen = (uint32_t)ip->total_len - ip->hdr_len;
    bool more = (ip->frag & IPV4_FLAG_MF) != 0;
    const uint8_t *hdr = off == 0 ? pkt : d->hdr;
    size_t hdr_len = off == 0 ? ip->hdr_len : d->hdr_len;
    uint32_t total = fq_total_with(d, off, plen, more);
    size_t len = hdr_len + (size_t)total;
    uint8_t *whole = malloc(len);
    if (!whole) {
        s->stats.ip.reasm_evicted++;
        fq_free(q, d);
        return;
    }
    memcpy(whole, hdr, hdr_len);
    fq_assemble(d, off, pkt + ip->hdr_len, plen, whole + hdr_len);
    /* The whole datagram, as if it had never been fragmented. */
    st16(whole + 2, (uint16_t)len);
    st16(whole + 6, ld16(whole + 6) & IPV4_FLAG_DF);
    st16(whole + 10, 0);
    st16(whole + 10, cksum(whole, hdr_len));
    struct ipv4_repr wip;
    int dev = d->dev;
    bool bcast = d->mcast;
    fq_free(q, d);
    s->stats.ip.reasm_ok++;
    if (ipv4_parse(whole, len, &wip) == WIRE_OK)
        ipv4_deliver(s, dev, &wip, whole, bcast);
    free(whole);
}

static void reasm_drop(struct ust_stack *s, struct fq_dgram *d, uint64_t *counter)
{
    (*counter)++;
    char a[UST_IP4_STRLEN];
    debugf(s, "src=%s, id=%u: datagram dropped during reassembly", ust_ip4_format(ld32(d->key), a),
           ld16(d->key + 8));
    fq_free(&s->ip->reasm.q, d);
}

void reasm_input(struct ust_stack *s, int dev, const struct ipv4_repr *ip, const uint8_t *pkt,
                 bool bcast)
{
    s->stats.ip.frag_rx++;
    uint32_t off = (uint32_t)(ip->frag & IPV4_OFFSET_MASK) * 8u;
    uint32_t plen = (uint32_t)ip->total_len - ip->hdr_len;
    uint32_t end = off + plen;
    bool more = (ip->frag & IPV4_FLAG_MF) != 0;
    /* RFC 791: every fragment but the last carries a multiple of 8 bytes. */
    if (plen == 0 || (more && plen % 8 != 0)) {
        s->stats.ip.reasm_malformed++;
        return;
    }
    struct fq_table *q = &s->ip->reasm.q;
    if (!fq_ready(q) && tables_init(s) != 0) {
        s->stats.ip.reasm_evicted++;
        return;
    }
    uint8_t key[REASM_KEY_LEN];
    key_of(ip, key);
    uint64_t hash = fq_hash(q, key, sizeof(key));
    struct fq_dgram *d = fq_find(q, key, sizeof(key), hash);
    /* The reassembled datagram must fit in 65,535 bytes with its header,
     * which is the first fragment's (it may carry options the others lack):
     * check the furthest byte held, not only this fragment's end. A
     * fragment that fails it alone never gets a datagram made for it. */
    uint32_t hdr = off == 0 ? ip->hdr_len : (d && d->hdr_len ? (uint32_t)d->hdr_len : ip->hdr_len);
    uint32_t hi = d && d->hi > end ? d->hi : end;
    if (hi + hdr > IPV4_MAX_LEN) {
        if (d)
            reasm_drop(s, d, &s->stats.ip.reasm_too_big);
        else
            s->stats.ip.reasm_too_big++;
        return;
    }
    if (!d) {
        uint8_t src[4];
        st32(src, ip->src);
        if (!(d = fq_new(q, key, sizeof(key), hash, src, sizeof(src), s->now)))
            return;
        d->dev = dev;
        d->mcast = bcast;
    }
    switch (fq_add(q, d, off, pkt + ip->hdr_len, plen, more)) {
    case FQ_HELD: break;
    case FQ_COMPLETE: reasm_deliver(s, d, ip, pkt); return;
    case FQ_DUPLICATE: s->stats.ip.reasm_duplicate++; return;
    case FQ_OVERLAP: reasm_drop(s, d, &s->stats.ip.reasm_overlap); return;
    case FQ_TOO_MANY: reasm_drop(s, d, &s->stats.ip.reasm_malformed); return;
    case FQ_NOMEM: reasm_drop(s, d, &s->stats.ip.reasm_evicted); return;
    }
    if (off == 0 && !fq_set_hdr(q, d, pkt, ip->hdr_len))
        reasm_drop(s, d, &s->stats.ip.reasm_evicted);
}

void reasm_timer(struct ust_stack *s, ust_time_t now)
{
    struct fq_table *q = &s->ip->reasm.q;
    struct fq_dgram *d;
    while ((d = fq_expired(q, now)) != NULL) {
        s->stats.ip.reasm_timeout++;
        if (d->hdr_len) {
            /* RFC 792 / RFC 1122 3.2.1.4: time exceeded, fragment
             * reassembly time exceeded, quoting the first fragment (the
             * first in the list, as it starts at 0). */
            uint8_t qb[IPV4_MAX_HDR_LEN + 8];
            const struct fq_frag *first = d->frags;
            size_t have = first->end < 8 ? first->end : 8;
            memcpy(qb, d->hdr, d->hdr_len);
            memcpy(qb + d->hdr_len, first->data, have);
            st16(qb + 2, (uint16_t)(d->hdr_len + have));
            st16(qb + 10, 0);
            st16(qb + 10, cksum(qb, d->hdr_len));
            struct ipv4_repr ip;
            if (ipv4_parse(qb, d->hdr_len + have, &ip) == WIRE_OK) {
                /* The length and checksum were adjusted only for the parse
                 * (ip.total_len bounds the quote); the quote itself is the
                 * header as the sender sent it, which it matches against. */
                memcpy(qb, d->hdr, d->hdr_len);
                icmp_send_error(s, ICMP_TIME_EXCEEDED, 1, 0, &ip, qb, d->mcast);
            }
        }
        fq_free(q, d);
    }
}

ust_time_t reasm_next_deadline(const struct ust_stack *s)
{
    return fq_next_deadline(&s->ip->reasm.q);
}

int frag_output(struct ust_stack *s, int dev, ust_ip4_t next_hop, const struct ipv4_repr *ip,
                struct pkbuf *p, uint32_t mtu)
{
    size_t chunk = ((size_t)mtu - IPV4_HDR_LEN) & ~(size_t)7;
    const uint8_t *data = pkb_data(p);
    size_t len = p->len;
    int err = 0;
    s->stats.ip.frag_ok++;
    for (size_t off = 0; off < len && err == 0; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        struct pkbuf *f = pkb_alloc(s, n);
        if (!f) {
            err = -ENOBUFS;
            break;
        }
        memcpy(pkb_data(f), data + off, n);
        struct ipv4_repr h = *ip;
        h.total_len = (uint16_t)(IPV4_HDR_LEN + n);
        h.frag = (uint16_t)(off / 8) | (off + n < len ? IPV4_FLAG_MF : 0);
        uint8_t *hdr = pkb_push(f, IPV4_HDR_LEN);
        if (!hdr) {
            pkb_free(s, f);
            err = -ENOBUFS;
            break;
        }
        ipv4_emit(&h, hdr);
        s->stats.ip.frag_tx++;
        s->stats.ip.tx++;
        err = netif_output_ipv4(s, dev, f, next_hop);
    }
    pkb_free(s, p);
    return err;
}
