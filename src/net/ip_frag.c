/* IPv4 fragmentation and reassembly.
 *
 * Reassembly keeps, per datagram, the fragments received so far, sorted by
 * offset. The holes of RFC 815 are the gaps in that list; the datagram is
 * complete when the first fragment starts at 0, each one ends where the
 * next begins, and the last (MF=0) one has arrived. Keeping the fragments
 * rather than only the holes lets us tell an exact duplicate (harmless,
 * ignored) from an overlap (the whole datagram is dropped, as RFC 5722
 * recommends for IPv6: overlaps are only ever used to attack).
 *
 * A flood of fragments that never complete must cost little per frame: in
 * a first-fragment flood every frame is a new datagram, and once the
 * memory budget is full, an eviction. The datagrams were one list,
 * searched from the oldest, each holding a buffer of at least 2 KiB: 1,700
 * of them filled the 4 MiB, and every frame of such a flood walked them
 * all (22,000 instructions and 7.3 us a frame, 93% of it in that walk).
 * So:
 * - datagrams are found through a hash table of their keys (SipHash, keyed
 *   from the stack's generator, so that no outsider can aim its datagrams
 *   at one chain), and evicted from the list by age;
 * - a source holds at most cfg.reasm_max_per_src partial datagrams, its
 *   own oldest making room for its next: one flooder evicts only its own,
 *   and other hosts' datagrams stay (the memory budget, oldest first,
 *   still bounds many sources together). Each source with datagrams has
 *   a record, found by a second hash table, listing them by age;
 * - each fragment's bytes are kept as they came, and charged as such: a
 *   datagram holds what arrived, not a buffer as long as its furthest
 *   byte (one 8-byte fragment at offset 65,000 took 64 KiB of the budget).
 *   The fragment that completes a datagram is not stored at all: the
 *   whole datagram is put together from the others and the frame. */
#include "net/ip_frag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/siphash.h"
#include "net/icmp.h"
#include "net/ipv4.h"
#include "net/netif.h"
#include "wire/bytes.h"
#include "wire/checksum.h"

#define REASM_BUCKETS_MIN 64
#define REASM_BUCKETS_MAX 65536

struct frag {
    struct frag *next;   /* by offset */
    uint16_t first, end; /* payload bytes [first, end) */
    uint8_t data[];
};

/* A source that has partial datagrams. */
struct reasm_src {
    struct reasm_src *hnext, **hpprev; /* its hash chain */
    uint64_t hash;                     /* of addr */
    ust_ip4_t addr;
    unsigned n;                    /* its datagrams, */
    struct reasm *oldest, *newest; /* by age */
};

struct reasm {
    ust_ip4_t src, dst;
    uint16_t id;
    uint8_t proto;
    bool bcast;
    struct reasm *hnext, **hpprev; /* its hash chain */
    uint64_t hash;                 /* of its key */
    struct reasm *older, *newer;   /* all datagrams by age */
    struct reasm_src *source;
    struct reasm *src_older, *src_newer; /* its source's datagrams by age */
    bool have_last;
    uint8_t hdr_len; /* of the first fragment, once it arrived (0 before) */
    int dev;
    unsigned nfrags;
    uint32_t total; /* payload length, known once the last fragment arrived */
    uint32_t hi;    /* the furthest byte held */
    size_t mem;     /* what it is charged */
    ust_time_t expires;
    struct frag *frags;
    uint8_t hdr[IPV4_MAX_HDR_LEN];
};

/* Doubly linked lists by age, through the fields named: the new one last. */
#define AGE_APPEND(head, tail, x, older, newer)                                                    \
    do {                                                                                           \
        (x)->newer = NULL;                                                                         \
        (x)->older = (tail);                                                                       \
        if (tail)                                                                                  \
            (tail)->newer = (x);                                                                   \
        else                                                                                       \
            (head) = (x);                                                                          \
        (tail) = (x);                                                                              \
    } while (0)
#define AGE_REMOVE(head, tail, x, older, newer)                                                    \
    do {                                                                                           \
        if ((x)->older)                                                                            \
            (x)->older->newer = (x)->newer;                                                        \
        else                                                                                       \
            (head) = (x)->newer;                                                                   \
        if ((x)->newer)                                                                            \
            (x)->newer->older = (x)->older;                                                        \
        else                                                                                       \
            (tail) = (x)->older;                                                                   \
    } while (0)

/* The hashes are computed once per frame at most, and kept for growing
 * the tables: SipHash is most of what a dropped fragment costs. */
static uint64_t hash_key(const struct reasm_queue *q, const struct ipv4_repr *ip)
{
    uint8_t k[11];
    st32(k, ip->src);
    st32(k + 4, ip->dst);
    st16(k + 8, ip->id);
    k[10] = ip->proto;
    return siphash24(q->key, k, sizeof(k));
}

static uint64_t hash_source(const struct reasm_queue *q, ust_ip4_t addr)
{
    uint8_t k[4];
    st32(k, addr);
    return siphash24(q->key, k, sizeof(k));
}

static struct reasm **bucket_of(const struct reasm_queue *q, uint64_t hash)
{
    return &q->bucket[hash & (q->nbuckets - 1)];
}

static struct reasm_src **source_bucket(const struct reasm_queue *q, uint64_t hash)
{
    return &q->sources[hash & (q->nbuckets - 1)];
}

/* Links x at the head of the hash chain *b (x has hnext and hpprev). */
#define CHAIN_LINK(b, x)                                                                           \
    do {                                                                                           \
        (x)->hnext = *(b);                                                                         \
        if (*(b))                                                                                  \
            (*(b))->hpprev = &(x)->hnext;                                                          \
        *(b) = (x);                                                                                \
        (x)->hpprev = (b);                                                                         \
    } while (0)
#define CHAIN_UNLINK(x)                                                                            \
    do {                                                                                           \
        *(x)->hpprev = (x)->hnext;                                                                 \
        if ((x)->hnext)                                                                            \
            (x)->hnext->hpprev = (x)->hpprev;                                                      \
    } while (0)

static int tables_init(struct ust_stack *s)
{
    struct reasm_queue *q = &s->ip->reasm;
    q->bucket = calloc(REASM_BUCKETS_MIN, sizeof(q->bucket[0]));
    q->sources = calloc(REASM_BUCKETS_MIN, sizeof(q->sources[0]));
    if (!q->bucket || !q->sources) {
        free(q->bucket);
        free(q->sources);
        q->bucket = NULL;
        q->sources = NULL;
        return -ENOMEM;
    }
    q->nbuckets = REASM_BUCKETS_MIN;
    for (int i = 0; i < 16; i += 8) {
        uint64_t v = rng_next(&s->rng);
        memcpy(q->key + i, &v, 8);
    }
    return 0;
}

/* Twice the buckets once the datagrams outnumber them (as they are if
 * memory is short: the chains only get longer). */
static void tables_grow(struct reasm_queue *q)
{
    if (q->n <= q->nbuckets || q->nbuckets >= REASM_BUCKETS_MAX)
        return;
    unsigned old = q->nbuckets;
    struct reasm **nb = calloc((size_t)old * 2, sizeof(nb[0]));
    struct reasm_src **ns = calloc((size_t)old * 2, sizeof(ns[0]));
    if (!nb || !ns) {
        free(nb);
        free(ns);
        return;
    }
    struct reasm_src **os = q->sources;
    free(q->bucket);
    q->bucket = nb;
    q->sources = ns;
    q->nbuckets = old * 2;
    for (struct reasm *r = q->oldest; r; r = r->newer)
        CHAIN_LINK(bucket_of(q, r->hash), r);
    for (unsigned i = 0; i < old; i++) {
        struct reasm_src *next;
        for (struct reasm_src *src = os[i]; src; src = next) {
            next = src->hnext;
            CHAIN_LINK(source_bucket(q, src->hash), src);
        }
    }
    free(os);
}

static void reasm_free(struct ust_stack *s, struct reasm *r)
{
    struct reasm_queue *q = &s->ip->reasm;
    CHAIN_UNLINK(r);
    AGE_REMOVE(q->oldest, q->newest, r, older, newer);
    struct reasm_src *src = r->source;
    AGE_REMOVE(src->oldest, src->newest, r, src_older, src_newer);
    if (--src->n == 0) {
        CHAIN_UNLINK(src);
        q->mem -= sizeof(*src);
        free(src);
    }
    while (r->frags) {
        struct frag *f = r->frags;
        r->frags = f->next;
        free(f);
    }
    q->mem -= r->mem;
    q->n--;
    free(r);
}

void reasm_fini(struct ust_stack *s)
{
    struct reasm_queue *q = &s->ip->reasm;
    while (q->oldest)
        reasm_free(s, q->oldest);
    free(q->bucket);
    free(q->sources);
    q->bucket = NULL;
    q->sources = NULL;
    q->nbuckets = 0;
}

unsigned reasm_count(const struct ust_stack *s) { return s->ip->reasm.n; }
size_t reasm_memory(const struct ust_stack *s) { return s->ip->reasm.mem; }

/* Makes room for `need` more bytes within the stack's budget by dropping
 * the oldest datagrams other than `keep`. */
static bool reasm_reserve(struct ust_stack *s, size_t need, const struct reasm *keep)
{
    while (s->ip->reasm.mem + need > s->cfg.reasm_mem_max) {
        struct reasm *victim = s->ip->reasm.oldest;
        if (victim && victim == keep)
            victim = victim->newer;
        if (!victim)
            return false;
        s->stats.ip.reasm_evicted++;
        reasm_free(s, victim);
    }
    return true;
}

static struct reasm *reasm_find(const struct reasm_queue *q, const struct ipv4_repr *ip,
                                uint64_t hash)
{
    for (struct reasm *r = *bucket_of(q, hash); r; r = r->hnext)
        if (r->src == ip->src && r->dst == ip->dst && r->id == ip->id && r->proto == ip->proto)
            return r;
    return NULL;
}

static struct reasm_src *source_find(const struct reasm_queue *q, ust_ip4_t addr, uint64_t hash)
{
    for (struct reasm_src *src = *source_bucket(q, hash); src; src = src->hnext)
        if (src->addr == addr)
            return src;
    return NULL;
}

/* A datagram for the fragment ip (whose key hashes to hash); NULL
 * (counted) when there is no room. */
static struct reasm *reasm_new(struct ust_stack *s, const struct ipv4_repr *ip, uint64_t hash,
                               int dev, bool bcast)
{
    struct reasm_queue *q = &s->ip->reasm;
    uint64_t src_hash = hash_source(q, ip->src);
    struct reasm_src *src = source_find(q, ip->src, src_hash);
    if (src && s->cfg.reasm_max_per_src && src->n >= s->cfg.reasm_max_per_src) {
        s->stats.ip.reasm_src_evicted++;
        reasm_free(s, src->oldest); /* may free src itself */
    }
    /* Room first (which may evict this source's last datagram and with
     * it the record), then the source's record. */
    struct reasm *r = NULL;
    if (reasm_reserve(s, sizeof(*r) + sizeof(*src), NULL))
        r = malloc(sizeof(*r));
    src = r ? source_find(q, ip->src, src_hash) : NULL;
    if (r && !src && (src = malloc(sizeof(*src))) != NULL) {
        src->hash = src_hash;
        src->addr = ip->src;
        src->n = 0;
        src->oldest = src->newest = NULL;
        CHAIN_LINK(source_bucket(q, src_hash), src);
        q->mem += sizeof(*src);
    }
    if (!src) {
        free(r);
        s->stats.ip.reasm_evicted++;
        return NULL;
    }
    r->src = ip->src;
    r->dst = ip->dst;
    r->id = ip->id;
    r->proto = ip->proto;
    r->bcast = bcast;
    r->have_last = false;
    r->hdr_len = 0;
    r->dev = dev;
    r->nfrags = 0;
    r->total = 0;
    r->hi = 0;
    r->mem = sizeof(*r);
    /* RFC 791 suggests the timer start at the first fragment; it is not
     * extended by later ones, so a trickle cannot hold memory forever. */
    r->expires = s->now + s->cfg.reasm_timeout;
    r->frags = NULL;
    r->hash = hash;
    CHAIN_LINK(bucket_of(q, hash), r);
    AGE_APPEND(q->oldest, q->newest, r, older, newer);
    r->source = src;
    AGE_APPEND(src->oldest, src->newest, r, src_older, src_newer);
    src->n++;
    q->mem += r->mem;
    q->n++;
    tables_grow(q);
    return r;
}

static void reasm_drop(struct ust_stack *s, struct reasm *r, uint64_t *counter);

/* Whether the datagram is whole once [off, end) is added to what it
 * holds (the fragment overlaps none of them): the first fragment has come,
 * the last too, and no hole is left. */
static bool complete_with(const struct reasm *r, uint32_t off, uint32_t end, bool more)
{
    uint32_t total = more ? r->total : end;
    if (!(r->have_last || !more) || !(r->hdr_len || off == 0))
        return false;
    uint32_t at = 0;
    bool placed = false;
    for (const struct frag *f = r->frags;; f = f->next) {
        if (!placed && (!f || off < f->first)) {
            if (off != at)
                return false; /* a hole */
            at = end;
            placed = true;
        }
        if (!f)
            break;
        if (f->first != at)
            return false;
        at = f->end;
    }
    return at == total;
}

/* Hands up the whole datagram: what r holds and the fragment ip/pkt that
 * completes it (delivered from the frame, never stored). */
static void reasm_deliver(struct ust_stack *s, struct reasm *r, const struct ipv4_repr *ip,
                          const uint8_t *pkt)
{
    uint32_t off = (uint32_t)(ip->frag & IPV4_OFFSET_MASK) * 8u;
    uint32_t plen = (uint32_t)ip->total_len - ip->hdr_len;
    const uint8_t *hdr = off == 0 ? pkt : r->hdr;
    size_t hdr_len = off == 0 ? ip->hdr_len : r->hdr_len;
    uint32_t total = (ip->frag & IPV4_FLAG_MF) ? r->total : off + plen;
    size_t len = hdr_len + (size_t)total;
    uint8_t *whole = malloc(len);
    if (!whole) {
        reasm_drop(s, r, &s->stats.ip.reasm_evicted);
        return;
    }
    memcpy(whole, hdr, hdr_len);
    for (const struct frag *f = r->frags; f; f = f->next)
        memcpy(whole + hdr_len + f->first, f->data, (size_t)(f->end - f->first));
    memcpy(whole + hdr_len + off, pkt + ip->hdr_len, plen);
    /* The whole datagram, as if it had never been fragmented. */
    st16(whole + 2, (uint16_t)len);
    st16(whole + 6, ld16(whole + 6) & IPV4_FLAG_DF);
    st16(whole + 10, 0);
    st16(whole + 10, cksum(whole, hdr_len));
    struct ipv4_repr wip;
    int dev = r->dev;
    bool bcast = r->bcast;
    reasm_free(s, r);
    s->stats.ip.reasm_ok++;
    if (ipv4_parse(whole, len, &wip) == WIRE_OK)
        ipv4_deliver(s, dev, &wip, whole, bcast);
    free(whole);
}

static void reasm_drop(struct ust_stack *s, struct reasm *r, uint64_t *counter)
{
    (*counter)++;
    char a[UST_IP4_STRLEN];
    debugf(s, "src=%s, id=%u: datagram dropped during reassembly", ust_ip4_format(r->src, a),
           r->id);
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
    struct reasm_queue *q = &s->ip->reasm;
    if (!q->bucket && tables_init(s) != 0) {
        s->stats.ip.reasm_evicted++;
        return;
    }
    uint64_t hash = hash_key(q, ip);
    struct reasm *r = reasm_find(q, ip, hash);
    /* The reassembled datagram must fit in 65,535 bytes with its header,
     * which is the first fragment's (it may carry options the others lack):
     * check the furthest byte held, not only this fragment's end. A
     * fragment that fails it alone never gets a datagram made for it. */
    uint32_t hdr = off == 0 ? ip->hdr_len : (r && r->hdr_len ? r->hdr_len : ip->hdr_len);
    uint32_t hi = r && r->hi > end ? r->hi : end;
    if (hi + hdr > IPV4_MAX_LEN) {
        if (r)
            reasm_drop(s, r, &s->stats.ip.reasm_too_big);
        else
            s->stats.ip.reasm_too_big++;
        return;
    }
    if (!r && !(r = reasm_new(s, ip, hash, dev, bcast)))
        return;
    if (!more) {
        if ((r->have_last && r->total != end) || r->hi > end) {
            reasm_drop(s, r, &s->stats.ip.reasm_overlap);
            return;
        }
    } else if (r->have_last && end > r->total) {
        reasm_drop(s, r, &s->stats.ip.reasm_overlap);
        return;
    }
    /* Where does it go among the fragments we have? */
    struct frag **at = &r->frags, *prev = NULL;
    while (*at && (*at)->first < off) {
        prev = *at;
        at = &(*at)->next;
    }
    if (*at && (*at)->first == off && (*at)->end == end) {
        s->stats.ip.reasm_duplicate++; /* the same fragment again: harmless */
        return;
    }
    if ((prev && prev->end > off) || (*at && (*at)->first < end)) {
        reasm_drop(s, r, &s->stats.ip.reasm_overlap);
        return;
    }
    if (r->nfrags == UST_REASM_MAX_FRAGS) {
        reasm_drop(s, r, &s->stats.ip.reasm_malformed);
        return;
    }
    if (complete_with(r, off, end, more)) {
        reasm_deliver(s, r, ip, pkt);
        return;
    }
    size_t need = sizeof(struct frag) + plen;
    struct frag *f;
    if (!reasm_reserve(s, need, r) || !(f = malloc(need))) {
        reasm_drop(s, r, &s->stats.ip.reasm_evicted);
        return;
    }
    f->first = (uint16_t)off;
    f->end = (uint16_t)end;
    memcpy(f->data, pkt + ip->hdr_len, plen);
    f->next = *at;
    *at = f;
    r->nfrags++;
    r->mem += need;
    q->mem += need;
    if (end > r->hi)
        r->hi = end;
    if (off == 0) {
        memcpy(r->hdr, pkt, ip->hdr_len);
        r->hdr_len = ip->hdr_len;
    }
    if (!more) {
        r->have_last = true;
        r->total = end;
    }
}

void reasm_timer(struct ust_stack *s, ust_time_t now)
{
    while (s->ip->reasm.oldest && s->ip->reasm.oldest->expires <= now) {
        struct reasm *r = s->ip->reasm.oldest;
        s->stats.ip.reasm_timeout++;
        if (r->hdr_len) {
            /* RFC 792 / RFC 1122 3.2.1.4: time exceeded, fragment
             * reassembly time exceeded, quoting the first fragment (the
             * first in the list, as it starts at 0). */
            uint8_t q[IPV4_MAX_HDR_LEN + 8];
            const struct frag *first = r->frags;
            size_t have = first->end < 8 ? first->end : 8;
            memcpy(q, r->hdr, r->hdr_len);
            memcpy(q + r->hdr_len, first->data, have);
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
    const struct reasm *r = s->ip->reasm.oldest;
    return r ? r->expires : UST_TIME_NEVER;
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
