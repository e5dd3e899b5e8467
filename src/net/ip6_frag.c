/* IPv6 reassembly and fragmentation (ip6_frag.h).
 *
 * What a datagram keeps besides its fragments (struct fq_dgram):
 * - hdr: the first fragment's per-fragment headers and its fragment
 *   header, as they came: the whole packet's headers are made from them,
 *   and a Time Exceeded quotes them;
 * - aux: where the Next Header byte that named the fragment header is in
 *   them. */
#include "net/ip6_frag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/bytes.h"
#include "wire/icmpv6.h"

#define KEY_LEN 36

void ip6_reasm_init(struct ip6_reasm *r, const struct fq_cfg *cfg, const uint8_t key[16])
{
    memset(r, 0, sizeof(*r));
    r->cfg = *cfg;
    if (!r->cfg.timeout)
        r->cfg.timeout = IP6_REASM_TIMEOUT_DEFAULT;
    if (!r->cfg.max_frags)
        r->cfg.max_frags = IP6_REASM_MAX_FRAGS;
    memcpy(r->key, key, 16);
}

void ip6_reasm_fini(struct ip6_reasm *r) { fq_fini(&r->q); }

static enum ip6_reasm_result param_problem(struct ip6_reasm_out *out, uint8_t code, size_t ptr)
{
    out->code = code;
    out->pointer = (uint32_t)ptr;
    return IP6_REASM_PARAM_PROBLEM;
}

/* The whole packet: headers hdr (hdr_len bytes, ending with the fragment
 * header, whose Next Header goes to the byte at nh_off), payload of total
 * bytes from d and the completing fragment (d NULL: the fragment alone). */
static uint8_t *whole_packet(const uint8_t *hdr, size_t hdr_len, size_t nh_off,
                             const struct fq_dgram *d, uint32_t off, const uint8_t *data,
                             uint32_t len, uint32_t total, size_t *out_len)
{
    size_t unfrag = hdr_len - IPV6_FRAG_HDR_LEN;
    size_t n = unfrag + total;
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return NULL;
    memcpy(p, hdr, unfrag);
    p[nh_off] = hdr[unfrag]; /* the fragment header's Next Header */
    st16(p + IPV6_OFF_PAYLOAD_LEN, (uint16_t)(n - IPV6_HDR_LEN));
    if (d)
        fq_assemble(d, off, data, len, p + unfrag);
    else
        memcpy(p + unfrag, data, len);
    *out_len = n;
    return p;
}

enum ip6_reasm_result ip6_reasm_input(struct ip6_reasm *r, ust_time_t now, int dev, bool mcast,
                                      const uint8_t *pkt, const struct ipv6_repr *ip,
                                      const struct ipv6_ext *e, struct ip6_reasm_out *out)
{
    memset(out, 0, sizeof(*out));
    r->stats.frag_rx++;
    size_t fh = e->frag.hdr_off;
    size_t data_off = fh + IPV6_FRAG_HDR_LEN;
    uint32_t len = (uint32_t)(IPV6_HDR_LEN + (size_t)ip->payload_len - data_off);
    uint32_t off = e->frag.offset;
    bool more = e->frag.more;
    const uint8_t *data = pkt + data_off;
    /* RFC 8200 4.5: a fragment but the last carries a multiple of 8
     * bytes; else code 0 pointing at the Payload Length. */
    if (more && len % 8 != 0) {
        r->stats.bad_len++;
        return param_problem(out, ICMPV6_PP_HEADER, IPV6_OFF_PAYLOAD_LEN);
    }
    if (more && len == 0) {
        r->stats.empty++;
        return IP6_REASM_NONE;
    }
    /* ... and the whole packet's payload must fit in 65,535 bytes; else
     * code 0 pointing at the Fragment Offset. */
    if (fh - IPV6_HDR_LEN + (size_t)off + len > IPV6_MAX_PAYLOAD) {
        r->stats.too_big++;
        return param_problem(out, ICMPV6_PP_HEADER, fh + 2);
    }
    /* RFC 6946: an atomic fragment is a whole packet, whatever else the
     * queue holds under its key. */
    if (off == 0 && !more) {
        uint8_t *p = whole_packet(pkt, data_off, e->frag.nh_off, NULL, 0, data, len, len,
                                  &out->len);
        if (!p) {
            r->stats.evicted++;
            return IP6_REASM_NONE;
        }
        r->stats.atomic++;
        out->pkt = p;
        out->dev = dev;
        out->mcast = mcast;
        return IP6_REASM_DONE;
    }
    /* RFC 7112, RFC 8200 4.5: the first fragment carries every header up
     * to and including the upper-layer one; else code 3, pointer 0. */
    if (off == 0 && !ipv6_first_frag_complete(e->frag.next_hdr, data, len)) {
        r->stats.first_incomplete++;
        return param_problem(out, ICMPV6_PP_FIRST_FRAG, 0);
    }
    struct fq_table *q = &r->q;
    if (!fq_ready(q) && fq_init(q, &r->cfg, r->key, &r->stats.evicted, &r->stats.src_evicted)) {
        r->stats.evicted++;
        return IP6_REASM_NONE;
    }
    uint8_t key[KEY_LEN];
    memcpy(key, ip->src.a, 16);
    memcpy(key + 16, ip->dst.a, 16);
    st32(key + 32, e->frag.id);
    uint64_t hash = fq_hash(q, key, sizeof(key));
    struct fq_dgram *d = fq_find(q, key, sizeof(key), hash);
    /* With the first fragment's per-fragment headers (which may be longer
     * than this one's), the furthest byte held must fit too. */
    if (d) {
        size_t hdr = d->hdr_len ? d->hdr_len - IPV6_FRAG_HDR_LEN : fh;
        if (off == 0)
            hdr = fh;
        uint32_t hi = d->hi > off + len ? d->hi : off + len;
        if (hdr - IPV6_HDR_LEN + hi > IPV6_MAX_PAYLOAD) {
            r->stats.too_big++;
            fq_free(q, d);
            return param_problem(out, ICMPV6_PP_HEADER, fh + 2);
        }
    } else {
        if (!(d = fq_new(q, key, sizeof(key), hash, ip->src.a, 16, now)))
            return IP6_REASM_NONE;
        d->dev = dev;
        d->mcast = mcast;
    }
    switch (fq_add(q, d, off, data, len, more)) {
    case FQ_HELD: break;
    case FQ_COMPLETE: {
        const uint8_t *hdr = off == 0 ? pkt : d->hdr;
        size_t hdr_len = off == 0 ? data_off : d->hdr_len;
        size_t nh_off = off == 0 ? e->frag.nh_off : d->aux;
        uint32_t total = fq_total_with(d, off, len, more);
        uint8_t *p = whole_packet(hdr, hdr_len, nh_off, d, off, data, len, total, &out->len);
        out->dev = d->dev;
        out->mcast = d->mcast;
        fq_free(q, d);
        if (!p) {
            r->stats.evicted++;
            return IP6_REASM_NONE;
        }
        r->stats.reasm_ok++;
        out->pkt = p;
        return IP6_REASM_DONE;
    }
    case FQ_DUPLICATE: r->stats.duplicate++; return IP6_REASM_NONE;
    case FQ_OVERLAP:
        /* RFC 5722: the whole datagram goes. */
        r->stats.overlap++;
        fq_free(q, d);
        return IP6_REASM_NONE;
    case FQ_TOO_MANY:
        r->stats.too_many++;
        fq_free(q, d);
        return IP6_REASM_NONE;
    case FQ_NOMEM:
        r->stats.evicted++;
        fq_free(q, d);
        return IP6_REASM_NONE;
    }
    if (off == 0) {
        if (!fq_set_hdr(q, d, pkt, data_off)) {
            r->stats.evicted++;
            fq_free(q, d);
            return IP6_REASM_NONE;
        }
        d->aux = (uint32_t)e->frag.nh_off;
    }
    return IP6_REASM_NONE;
}

enum ip6_reasm_result ip6_reasm_timer(struct ip6_reasm *r, ust_time_t now,
                                      struct ip6_reasm_out *out)
{
    memset(out, 0, sizeof(*out));
    struct fq_dgram *d;
    while ((d = fq_expired(&r->q, now)) != NULL) {
        r->stats.timeout++;
        if (!d->hdr_len) {
            /* RFC 8200 4.5: no error unless the first fragment came. */
            fq_free(&r->q, d);
            continue;
        }
        /* The first fragment (the first held, as it starts at 0), as it
         * came, as much as an error quotes. */
        const struct fq_frag *first = d->frags;
        size_t flen = first->end - first->first;
        size_t n = d->hdr_len + flen;
        if (n > ICMPV6_ERR_QUOTE_MAX)
            n = ICMPV6_ERR_QUOTE_MAX;
        uint8_t *p = malloc(n);
        if (p) {
            memcpy(p, d->hdr, d->hdr_len < n ? d->hdr_len : n);
            if (n > d->hdr_len)
                memcpy(p + d->hdr_len, first->data, n - d->hdr_len);
        }
        out->dev = d->dev;
        out->mcast = d->mcast;
        fq_free(&r->q, d);
        if (!p)
            continue;
        out->pkt = p;
        out->len = n;
        return IP6_REASM_TIME_EXCEEDED;
    }
    return IP6_REASM_NONE;
}

ust_time_t ip6_reasm_next_deadline(const struct ip6_reasm *r) { return fq_next_deadline(&r->q); }

/* ---- fragmentation ---- */

int ip6_frag_start(struct ip6_frag_iter *it, const uint8_t *pkt, size_t len, size_t mtu,
                   uint32_t id)
{
    size_t nh_off;
    int unfrag = ipv6_unfragmentable_len(pkt, len, &nh_off);
    if (unfrag < 0)
        return -EINVAL;
    if (mtu < (size_t)unfrag + IPV6_FRAG_HDR_LEN + 8)
        return -EMSGSIZE;
    size_t chunk = (mtu - (size_t)unfrag - IPV6_FRAG_HDR_LEN) & ~(size_t)7;
    size_t flen = len - (size_t)unfrag;
    if (!ipv6_first_frag_complete(pkt[nh_off], pkt + unfrag, flen < chunk ? flen : chunk))
        return -EMSGSIZE;
    it->pkt = pkt;
    it->len = len;
    it->unfrag = (size_t)unfrag;
    it->nh_off = nh_off;
    it->chunk = chunk;
    it->off = 0;
    it->id = id;
    return 0;
}

size_t ip6_frag_next(struct ip6_frag_iter *it, uint8_t *out, size_t cap)
{
    size_t flen = it->len - it->unfrag;
    if (it->off >= flen && !(it->off == 0 && flen == 0))
        return 0;
    size_t n = flen - it->off < it->chunk ? flen - it->off : it->chunk;
    size_t total = it->unfrag + IPV6_FRAG_HDR_LEN + n;
    if (total > cap)
        return 0;
    bool more = it->off + n < flen;
    memcpy(out, it->pkt, it->unfrag);
    out[it->nh_off] = IPV6_NH_FRAGMENT;
    st16(out + IPV6_OFF_PAYLOAD_LEN, (uint16_t)(total - IPV6_HDR_LEN));
    uint8_t *fh = out + it->unfrag;
    fh[0] = it->pkt[it->nh_off];
    fh[1] = 0;
    st16(fh + 2, (uint16_t)(it->off | (more ? 1 : 0)));
    st32(fh + 4, it->id);
    memcpy(fh + IPV6_FRAG_HDR_LEN, it->pkt + it->unfrag + it->off, n);
    it->off += n ? n : 1; /* an empty fragmentable part: one fragment, then done */
    return total;
}
