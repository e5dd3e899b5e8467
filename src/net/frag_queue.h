/* The reassembly queue IPv4 (net/ip_frag.c) and IPv6 (net/ip6_frag.c)
 * share: partial datagrams found by key, bounded in memory, per source
 * and in time, and the fragments each holds, sorted by offset.
 *
 * Sans-I/O: the clock comes in as arguments, the hash key at fq_init, and
 * nothing is sent or delivered from here. The protocol modules keep what
 * differs: the key (IPv4: source, destination, identification, protocol;
 * IPv6: source, destination, identification), the checks of their RFCs,
 * the header of the whole datagram, the ICMP errors and the counters.
 *
 * A flood of fragments that never complete must cost little per frame
 * (see ip_frag.c for the figures that shaped this):
 * - datagrams are found through a hash table of their keys (SipHash, keyed
 *   by the caller from the stack's generator, so that no outsider can aim
 *   its datagrams at one chain), and evicted from a list by age;
 * - a source holds at most cfg.max_per_src partial datagrams, its own
 *   oldest making room for its next: one flooder evicts only its own, and
 *   other hosts' datagrams stay (the memory budget, oldest first, still
 *   bounds many sources together);
 * - each fragment's bytes are kept as they came, and charged as such; the
 *   fragment that completes a datagram is not stored at all: the whole
 *   datagram is put together from the others and the frame.
 * Keeping the fragments rather than only the holes of RFC 815 tells an
 * exact duplicate (harmless) from an overlap (RFC 5722: the whole
 * datagram is dropped). */
#ifndef USTACK_NET_FRAG_QUEUE_H
#define USTACK_NET_FRAG_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ustack/device.h"

#define FQ_KEY_MAX 36 /* IPv6: source, destination, identification */
#define FQ_SRC_MAX 16 /* an IPv6 source address */

struct fq_cfg {
    size_t mem_max;       /* bytes held by all partial datagrams */
    unsigned max_per_src; /* partial datagrams of one source; 0: no bound */
    ust_time_t timeout;   /* a partial datagram's life, from its first fragment */
    unsigned max_frags;   /* fragments one datagram may hold */
};

struct fq_frag {
    struct fq_frag *next; /* by offset */
    uint32_t first, end;  /* payload bytes [first, end) */
    uint8_t data[];
};

struct fq_src;

struct fq_dgram {
    uint8_t key[FQ_KEY_MAX];
    uint8_t key_len;
    bool have_last;
    bool mcast; /* the first fragment came to a multicast or broadcast address */
    int dev;    /* and on this interface */
    struct fq_dgram *hnext, **hpprev; /* its hash chain */
    uint64_t hash;                    /* of its key */
    struct fq_dgram *older, *newer;   /* all datagrams by age */
    struct fq_src *source;
    struct fq_dgram *src_older, *src_newer; /* its source's datagrams by age */
    unsigned nfrags;
    uint32_t total; /* payload length, known once the last fragment arrived */
    uint32_t hi;    /* the furthest byte held */
    size_t mem;     /* what it is charged */
    ust_time_t expires;
    struct fq_frag *frags;
    /* The first fragment's header, as the protocol chose to keep it
     * (fq_set_hdr); hdr_len 0 until the first fragment arrived. */
    uint8_t *hdr;
    size_t hdr_len;
    uint32_t aux; /* the protocol's own */
};

struct fq_table {
    struct fq_dgram *oldest, *newest;
    struct fq_dgram **bucket; /* datagrams by key: nbuckets chains */
    struct fq_src **sources;  /* sources by address: nbuckets chains */
    unsigned nbuckets;        /* a power of two, doubled as datagrams outnumber it;
                                  0 before fq_init */
    uint8_t key[16];          /* of both hashes */
    size_t mem;               /* bytes held, sources and datagrams */
    unsigned n;               /* datagrams */
    struct fq_cfg cfg;
    /* Where the queue counts the datagrams it drops to make room: for
     * memory (fq_reserve, fq_new) and for a source at its bound. */
    uint64_t *evicted, *src_evicted;
};

/* Allocates the tables; 0 or -ENOMEM. The counters must outlive q. */
int fq_init(struct fq_table *q, const struct fq_cfg *cfg, const uint8_t key[16], uint64_t *evicted,
            uint64_t *src_evicted);
static inline bool fq_ready(const struct fq_table *q) { return q->nbuckets != 0; }
/* Frees every datagram and the tables; q can be fq_init'ed again. */
void fq_fini(struct fq_table *q);

uint64_t fq_hash(const struct fq_table *q, const uint8_t *key, size_t len);
struct fq_dgram *fq_find(const struct fq_table *q, const uint8_t *key, size_t len, uint64_t hash);
/* A new datagram for key (hash: fq_hash of it) from the source src
 * (src_len bytes), expiring at now + cfg.timeout; NULL (counted in
 * *evicted) when there is no room. May evict the source's oldest datagram
 * (counted in *src_evicted) and the oldest of all. */
struct fq_dgram *fq_new(struct fq_table *q, const uint8_t *key, size_t len, uint64_t hash,
                        const uint8_t *src, size_t src_len, ust_time_t now);
void fq_free(struct fq_table *q, struct fq_dgram *d);

enum fq_verdict {
    FQ_HELD,      /* stored; the datagram still has holes */
    FQ_COMPLETE,  /* not stored: with it the datagram is whole (fq_assemble) */
    FQ_DUPLICATE, /* exactly a fragment held: ignored */
    FQ_OVERLAP,   /* overlaps what is held, or contradicts the last fragment */
    FQ_TOO_MANY,  /* the datagram holds cfg.max_frags already */
    FQ_NOMEM,     /* no room for it */
};
/* Adds the payload bytes [off, off + len) (more: not the last fragment).
 * Never frees d: on FQ_OVERLAP, FQ_TOO_MANY and FQ_NOMEM the caller drops
 * it (fq_free) after counting. */
enum fq_verdict fq_add(struct fq_table *q, struct fq_dgram *d, uint32_t off, const uint8_t *data,
                       uint32_t len, bool more);
/* The payload length of the whole datagram, completed by [off, off+len). */
uint32_t fq_total_with(const struct fq_dgram *d, uint32_t off, uint32_t len, bool more);
/* Writes the whole payload into out (fq_total_with bytes): what d holds,
 * and the completing fragment. */
void fq_assemble(const struct fq_dgram *d, uint32_t off, const uint8_t *data, uint32_t len,
                 uint8_t *out);
/* Keeps a copy of the first fragment's header; false when there is no
 * room (the caller drops d, as for FQ_NOMEM). */
bool fq_set_hdr(struct fq_table *q, struct fq_dgram *d, const uint8_t *hdr, size_t len);

/* The oldest datagram if its time is up at now, else NULL. */
struct fq_dgram *fq_expired(const struct fq_table *q, ust_time_t now);
ust_time_t fq_next_deadline(const struct fq_table *q);

#endif
