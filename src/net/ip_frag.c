/* IPv4 fragmentation and reassembly.
 *
 * Reassembly keeps, per datagram, the payload bytes received so far and the
 * list of fragments they came from, sorted by offset. The holes of RFC 815
 * are the gaps in that list; the datagram is complete when the first
 * fragment starts at 0, each one ends where the next begins, and the last
 * (MF=0) one has arrived. Keeping the fragments rather than only the holes
 * lets us tell an exact duplicate (harmless, ignored) from an overlap (the
 * whole datagram is dropped, as RFC 5722 recommends for IPv6: overlaps are
 * only ever used to attack). */
#include "net/ip_frag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/icmp.h"
#include "net/ipv4.h"
#include "net/netif.h"
#include "wire/bytes.h"
#include "wire/checksum.h"

struct frag_range {
    uint16_t first, end; /* payload bytes [first, end) */
};

struct reasm {
    struct reasm *next;  /* oldest first */
    ust_ip4_t src, dst;
    uint16_t id;
    uint8_t proto;
    bool bcast;
    bool have_last;
    uint8_t hdr_len;     /* of the first fragment, once it arrived (0 before) */
    int dev;
    uint32_t total;      /* payload length, known once the last fragment arrived */
    ust_time_t expires;
    uint8_t hdr[IPV4_MAX_HDR_LEN];
    uint8_t *buf;
    size_t cap;
    unsigned nranges;
    struct frag_range ranges[UST_REASM_MAX_FRAGS];
};

static void reasm_free(struct ust_stack *s, struct reasm *r)
{
    struct reasm **pp = &s->reasm;
    while (*pp && *pp != r)
        pp = &(*pp)->next;
    if (*pp)
        *pp = r->next;
    s->reasm_mem -= r->cap + sizeof(*r);
    s->reasm_n--;
    free(r->buf);
    free(r);
}

void reasm_fini(struct ust_stack *s)
{
    while (s->reasm)
        reasm_free(s, s->reasm);
}

unsigned reasm_count(const struct ust_stack *s) { return s->reasm_n; }
size_t reasm_memory(const struct ust_stack *s) { return s->reasm_mem; }

/* Makes room for `need` more bytes within the stack's budget by dropping
 * the oldest datagrams other than `keep`. */
static bool reasm_reserve(struct ust_stack *s, size_t need, const struct reasm *keep)
{
    while (s->reasm_mem + need > s->cfg.reasm_mem_max) {
        struct reasm *victim = s->reasm;
        while (victim && victim == keep)
            victim = victim->next;
        if (!victim)
            return false;
        s->stats.ip.reasm_evicted++;
        reasm_free(s, victim);
    }
    return true;
}

static struct reasm *reasm_find(struct ust_stack *s, const struct ipv4_repr *ip, int dev,
                                bool bcast)
{
    struct reasm **tail = &s->reasm;
    for (struct reasm *r = s->reasm; r; r = r->next) {
        if (r->src == ip->src && r->dst == ip->dst && r->id == ip->id && r->proto == ip->proto)
            return r;
        tail = &r->next;
    }
    if (!reasm_reserve(s, sizeof(struct reasm), NULL))
        return NULL;
    struct reasm *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->src = ip->src;
    r->dst = ip->dst;
    r->id = ip->id;
    r->proto = ip->proto;
    r->dev = dev;
    r->bcast = bcast;
    /* RFC 791 suggests the timer start at the first fragment; it is not
     * extended by later ones, so a trickle cannot hold memory forever. */
    r->expires = s->now + s->cfg.reasm_timeout;
    *tail = r;
    s->reasm_mem += sizeof(*r);
    s->reasm_n++;
    return r;
}

static bool reasm_complete(const struct reasm *r)
{
    if (!r->have_last || r->hdr_len == 0 || r->nranges == 0)
        return false;
    uint32_t at = 0;
    for (unsigned i = 0; i < r->nranges; i++) {
        if (r->ranges[i].first != at)
            return false; /* a hole */
        at = r->ranges[i].end;
    }
    return at == r->total;
}

static void reasm_deliver(struct ust_stack *s, struct reasm *r)
{
    size_t len = r->hdr_len + (size_t)r->total;
    uint8_t *pkt = malloc(len);
    if (!pkt) {
        reasm_free(s, r);
        return;
    }
    memcpy(pkt, r->hdr, r->hdr_len);
    memcpy(pkt + r->hdr_len, r->buf, r->total);
    /* The whole datagram, as if it had never been fragmented. */
    st16(pkt + 2, (uint16_t)len);
    st16(pkt + 6, ld16(pkt + 6) & IPV4_FLAG_DF);
    st16(pkt + 10, 0);
    st16(pkt + 10, cksum(pkt, r->hdr_len));
    struct ipv4_repr ip;
    int dev = r->dev;
    bool bcast = r->bcast;
    reasm_free(s, r);
    s->stats.ip.reasm_ok++;
    if (ipv4_parse(pkt, len, &ip) == WIRE_OK)
        ipv4_deliver(s, dev, &ip, pkt, bcast);
    free(pkt);
}

static void reasm_drop(struct ust_stack *s, struct reasm *r, uint64_t *counter)
{
    (*counter)++;
    char a[UST_IP4_STRLEN];
    debugf(s, "src=%s, id=%u: datagram dropped during reassembly", ust_ip4_format(r->src, a), r->id);
    reasm_free(s, r);
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
    struct reasm *r = reasm_find(s, ip, dev, bcast);
    if (!r) {
        s->stats.ip.reasm_evicted++;
        return;
    }
    /* The reassembled datagram must fit in 65,535 bytes with its header,
     * which is the first fragment's (it may carry options the others lack):
     * check the furthest byte held, not only this fragment's end. */
    uint32_t hdr = off == 0 ? ip->hdr_len : (r->hdr_len ? r->hdr_len : ip->hdr_len);
    uint32_t hi = end;
    if (r->nranges && r->ranges[r->nranges - 1].end > hi)
        hi = r->ranges[r->nranges - 1].end;
    if (hi + hdr > IPV4_MAX_LEN) {
        reasm_drop(s, r, &s->stats.ip.reasm_too_big);
        return;
    }
    if (!more) {
        if ((r->have_last && r->total != end) ||
            (r->nranges && r->ranges[r->nranges - 1].end > end)) {
            reasm_drop(s, r, &s->stats.ip.reasm_overlap);
            return;
        }
    } else if (r->have_last && end > r->total) {
        reasm_drop(s, r, &s->stats.ip.reasm_overlap);
        return;
    }
    /* Where does it go among the fragments we have? */
    unsigned i = 0;
    while (i < r->nranges && r->ranges[i].first < off)
        i++;
    if (i < r->nranges && r->ranges[i].first == off && r->ranges[i].end == end) {
        s->stats.ip.reasm_duplicate++; /* the same fragment again: harmless */
        return;
    }
    if ((i > 0 && r->ranges[i - 1].end > off) || (i < r->nranges && r->ranges[i].first < end)) {
        reasm_drop(s, r, &s->stats.ip.reasm_overlap);
        return;
    }
    if (r->nranges == UST_REASM_MAX_FRAGS) {
        reasm_drop(s, r, &s->stats.ip.reasm_malformed);
        return;
    }
    if (end > r->cap) {
        size_t ncap = end < 2048 ? 2048 : (size_t)end;
        if (!reasm_reserve(s, ncap - r->cap, r)) {
            reasm_drop(s, r, &s->stats.ip.reasm_evicted);
            return;
        }
        uint8_t *nb = realloc(r->buf, ncap);
        if (!nb) {
            reasm_drop(s, r, &s->stats.ip.reasm_evicted);
            return;
        }
        s->reasm_mem += ncap - r->cap;
        r->buf = nb;
        r->cap = ncap;
    }
    /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): end > 0, so buf was grown */
    memcpy(r->buf + off, pkt + ip->hdr_len, plen);
    memmove(&r->ranges[i + 1], &r->ranges[i], (r->nranges - i) * sizeof(r->ranges[0]));
    r->ranges[i].first = (uint16_t)off;
    r->ranges[i].end = (uint16_t)end;
    r->nranges++;
    if (off == 0) {
        memcpy(r->hdr, pkt, ip->hdr_len);
        r->hdr_len = ip->hdr_len;
    }
    if (!more) {
        r->have_last = true;
        r->total = end;
    }
    if (reasm_complete(r))
        reasm_deliver(s, r);
}

void reasm_timer(struct ust_stack *s, ust_time_t now)
{
    while (s->reasm && s->reasm->expires <= now) {
        struct reasm *r = s->reasm;
        s->stats.ip.reasm_timeout++;
        if (r->hdr_len) {
            /* RFC 792 / RFC 1122 3.2.1.4: time exceeded, fragment
             * reassembly time exceeded, quoting the first fragment. */
            uint8_t q[IPV4_MAX_HDR_LEN + 8];
            size_t have = r->ranges[0].end < 8 ? r->ranges[0].end : 8;
            memcpy(q, r->hdr, r->hdr_len);
            memcpy(q + r->hdr_len, r->buf, have);
            st16(q + 2, (uint16_t)(r->hdr_len + have));
            st16(q + 10, 0);
            st16(q + 10, cksum(q, r->hdr_len));
            struct ipv4_repr ip;
            if (ipv4_parse(q, r->hdr_len + have, &ip) == WIRE_OK) {
                /* The length and checksum were adjusted only for the parse
                 * (ip.total_len bounds the quote); the quote itself is the
                 * header as the sender sent it, which it matches against. */
                memcpy(q, r->hdr, r->hdr_len);
                icmp_send_error(s, ICMP_TIME_EXCEEDED, 1, 0, &ip, q, r->bcast);
            }
        }
        reasm_free(s, r);
    }
}

ust_time_t reasm_next_deadline(const struct ust_stack *s)
{
    return s->reasm ? s->reasm->expires : UST_TIME_NEVER;
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
        ipv4_emit(&h, pkb_push(f, IPV4_HDR_LEN));
        s->stats.ip.frag_tx++;
        s->stats.ip.tx++;
        err = netif_output_ipv4(s, dev, f, next_hop);
    }
    pkb_free(s, p);
    return err;
}
