/* The reassembly queue shared by IPv4 and IPv6 (frag_queue.h says why it
 * is shaped so). */
#include "net/frag_queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/siphash.h"

#define FQ_BUCKETS_MIN 64
#define FQ_BUCKETS_MAX 65536

/* A source that has partial datagrams. */
struct fq_src {
    struct fq_src *hnext, **hpprev; /* its hash chain */
    uint64_t hash;                  /* of addr */
    uint8_t addr[FQ_SRC_MAX];
    uint8_t addr_len;
    unsigned n;                       /* its datagrams, */
    struct fq_dgram *oldest, *newest; /* by age */
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

/* The hashes are computed once per frame at most, and kept for growing
 * the tables: SipHash is most of what a dropped fragment costs. */
uint64_t fq_hash(const struct fq_table *q, const uint8_t *key, size_t len)
{
    return siphash24(q->key, key, len);
}

static struct fq_dgram **bucket_of(const struct fq_table *q, uint64_t hash)
{
    return &q->bucket[hash & (q->nbuckets - 1)];
}

static struct fq_src **source_bucket(const struct fq_table *q, uint64_t hash)
{
    return &q->sources[hash & (q->nbuckets - 1)];
}

int fq_init(struct fq_table *q, const struct fq_cfg *cfg, const uint8_t key[16], uint64_t *evicted,
            uint64_t *src_evicted)
{
    memset(q, 0, sizeof(*q));
    q->bucket = calloc(FQ_BUCKETS_MIN, sizeof(q->bucket[0]));
    q->sources = calloc(FQ_BUCKETS_MIN, sizeof(q->sources[0]));
    if (!q->bucket || !q->sources) {
        free(q->bucket);
        free(q->sources);
        q->bucket = NULL;
        q->sources = NULL;
        return -ENOMEM;
    }
    q->nbuckets = FQ_BUCKETS_MIN;
    memcpy(q->key, key, 16);
    q->cfg = *cfg;
    q->evicted = evicted;
    q->src_evicted = src_evicted;
    return 0;
}

/* Twice the buckets once the datagrams outnumber them (as they are if
 * memory is short: the chains only get longer). */
static void tables_grow(struct fq_table *q)
{
    if (q->n <= q->nbuckets || q->nbuckets >= FQ_BUCKETS_MAX)
        return;
    unsigned old = q->nbuckets;
    struct fq_dgram **nb = calloc((size_t)old * 2, sizeof(nb[0]));
    struct fq_src **ns = calloc((size_t)old * 2, sizeof(ns[0]));
    if (!nb || !ns) {
        free(nb);
        free(ns);
        return;
    }
    struct fq_src **os = q->sources;
    free(q->bucket);
    q->bucket = nb;
    q->sources = ns;
    q->nbuckets = old * 2;
    for (struct fq_dgram *d = q->oldest; d; d = d->newer)
        CHAIN_LINK(bucket_of(q, d->hash), d);
    for (unsigned i = 0; i < old; i++) {
        struct fq_src *next;
        for (struct fq_src *src = os[i]; src; src = next) {
            next = src->hnext;
            CHAIN_LINK(source_bucket(q, src->hash), src);
        }
    }
    free(os);
}

void fq_free(struct fq_table *q, struct fq_dgram *d)
{
    CHAIN_UNLINK(d);
    AGE_REMOVE(q->oldest, q->newest, d, older, newer);
    struct fq_src *src = d->source;
    AGE_REMOVE(src->oldest, src->newest, d, src_older, src_newer);
    if (--src->n == 0) {
        CHAIN_UNLINK(src);
        q->mem -= sizeof(*src);
        free(src);
    }
    while (d->frags) {
        struct fq_frag *f = d->frags;
        d->frags = f->next;
        free(f);
    }
    free(d->hdr);
    q->mem -= d->mem;
    q->n--;
    free(d);
}

void fq_fini(struct fq_table *q)
{
    while (q->oldest)
        fq_free(q, q->oldest);
    free(q->bucket);
    free(q->sources);
    q->bucket = NULL;
    q->sources = NULL;
    q->nbuckets = 0;
}

/* Makes room for `need` more bytes within the budget by dropping the
 * oldest datagrams other than `keep`. */
static bool fq_reserve(struct fq_table *q, size_t need, const struct fq_dgram *keep)
{
    while (q->mem + need > q->cfg.mem_max) {
        struct fq_dgram *victim = q->oldest;
        if (victim && victim == keep)
            victim = victim->newer;
        if (!victim)
            return false;
        (*q->evicted)++;
        fq_free(q, victim);
    }
    return true;
}

struct fq_dgram *fq_find(const struct fq_table *q, const uint8_t *key, size_t len, uint64_t hash)
{
    for (struct fq_dgram *d = *bucket_of(q, hash); d; d = d->hnext)
        if (d->key_len == len && memcmp(d->key, key, len) == 0)
            return d;
    return NULL;
}

static struct fq_src *source_find(const struct fq_table *q, const uint8_t *addr, size_t len,
                                  uint64_t hash)
{
    for (struct fq_src *src = *source_bucket(q, hash); src; src = src->hnext)
        if (src->addr_len == len && memcmp(src->addr, addr, len) == 0)
            return src;
    return NULL;
}

struct fq_dgram *fq_new(struct fq_table *q, const uint8_t *key, size_t len, uint64_t hash,
                        const uint8_t *addr, size_t addr_len, ust_time_t now)
{
    if (len > FQ_KEY_MAX || addr_len > FQ_SRC_MAX)
        return NULL;
    uint64_t src_hash = fq_hash(q, addr, addr_len);
    struct fq_src *src = source_find(q, addr, addr_len, src_hash);
    if (src && q->cfg.max_per_src && src->n >= q->cfg.max_per_src) {
        (*q->src_evicted)++;
        fq_free(q, src->oldest); /* may free src itself */
    }
    /* Room first (which may evict this source's last datagram and with
     * it the record), then the source's record. */
    struct fq_dgram *d = NULL;
    if (fq_reserve(q, sizeof(*d) + sizeof(*src), NULL))
        d = calloc(1, sizeof(*d));
    src = d ? source_find(q, addr, addr_len, src_hash) : NULL;
    if (d && !src && (src = malloc(sizeof(*src))) != NULL) {
        src->hash = src_hash;
        memcpy(src->addr, addr, addr_len);
        src->addr_len = (uint8_t)addr_len;
        src->n = 0;
        src->oldest = src->newest = NULL;
        CHAIN_LINK(source_bucket(q, src_hash), src);
        q->mem += sizeof(*src);
    }
    if (!src) {
        free(d);
        (*q->evicted)++;
        return NULL;
    }
    memcpy(d->key, key, len);
    d->key_len = (uint8_t)len;
    d->mem = sizeof(*d);
    /* RFC 791 and RFC 8200 4.5 start the timer at the first fragment; it
     * is not extended by later ones, so a trickle cannot hold memory
     * forever. */
    d->expires = now + q->cfg.timeout;
    d->hash = hash;
    CHAIN_LINK(bucket_of(q, hash), d);
    AGE_APPEND(q->oldest, q->newest, d, older, newer);
    d->source = src;
    AGE_APPEND(src->oldest, src->newest, d, src_older, src_newer);
    src->n++;
    q->mem += d->mem;
    q->n++;
    tables_grow(q);
    return d;
}

/* Whether the datagram is whole once [off, end) is added to what it
 * holds (the fragment overlaps none of them): the first fragment has come,
 * the last too, and no hole is left. */
static bool complete_with(const struct fq_dgram *d, uint32_t off, uint32_t end, bool more)
{
    uint32_t total = more ? d->total : end;
    if (!(d->have_last || !more) || !(d->hdr_len || off == 0))
        return false;
    uint32_t at = 0;
    bool placed = false;
    for (const struct fq_frag *f = d->frags;; f = f->next) {
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

enum fq_verdict fq_add(struct fq_table *q, struct fq_dgram *d, uint32_t off, const uint8_t *data,
                       uint32_t len, bool more)
{
    uint32_t end = off + len;
    if (!more) {
        if ((d->have_last && d->total != end) || d->hi > end)
            return FQ_OVERLAP;
    } else if (d->have_last && end > d->total) {
        return FQ_OVERLAP;
    }
    /* Where does it go among the fragments we have? */
    struct fq_frag **at = &d->frags, *prev = NULL;
    while (*at && (*at)->first < off) {
        prev = *at;
        at = &(*at)->next;
    }
    if (*at && (*at)->first == off && (*at)->end == end)
        return FQ_DUPLICATE; /* the same fragment again: harmless */
    if ((prev && prev->end > off) || (*at && (*at)->first < end))
        return FQ_OVERLAP;
    if (d->nfrags >= q->cfg.max_frags)
        return FQ_TOO_MANY;
    if (complete_with(d, off, end, more))
        return FQ_COMPLETE;
    size_t need = sizeof(struct fq_frag) + len;
    struct fq_frag *f;
    if (!fq_reserve(q, need, d) || !(f = malloc(need)))
        return FQ_NOMEM;
    f->first = off;
    f->end = end;
    memcpy(f->data, data, len);
    f->next = *at;
    *at = f;
    d->nfrags++;
    d->mem += need;
    q->mem += need;
    if (end > d->hi)
        d->hi = end;
    if (!more) {
        d->have_last = true;
        d->total = end;
    }
    return FQ_HELD;
}

uint32_t fq_total_with(const struct fq_dgram *d, uint32_t off, uint32_t len, bool more)
{
    return more ? d->total : off + len;
}

void fq_assemble(const struct fq_dgram *d, uint32_t off, const uint8_t *data, uint32_t len,
                 uint8_t *out)
{
    for (const struct fq_frag *f = d->frags; f; f = f->next)
        memcpy(out + f->first, f->data, (size_t)(f->end - f->first));
    memcpy(out + off, data, len);
}

bool fq_set_hdr(struct fq_table *q, struct fq_dgram *d, const uint8_t *hdr, size_t len)
{
    if (d->hdr_len || len == 0 || !fq_reserve(q, len, d))
        return d->hdr_len != 0;
    uint8_t *h = malloc(len);
    if (!h)
        return false;
    memcpy(h, hdr, len);
    d->hdr = h;
    d->hdr_len = len;
    d->mem += len;
    q->mem += len;
    return true;
}

struct fq_dgram *fq_expired(const struct fq_table *q, ust_time_t now)
{
    return q->oldest && q->oldest->expires <= now ? q->oldest : NULL;
}

ust_time_t fq_next_deadline(const struct fq_table *q)
{
    return q->oldest ? q->oldest->expires : UST_TIME_NEVER;
}
