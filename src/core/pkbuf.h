/* Packet buffers with headroom, so each layer prepends its header in place.
 *
 * Ownership: a pkbuf has exactly one owner. Functions that take a pkbuf
 * (ipv4_output, frag_output, netif_output_ipv4, arp_resolve when it does
 * not return 0, eth_output, netif_transmit) consume it: they free it or
 * hand it on, on success and on error alike. */
#ifndef USTACK_CORE_PKBUF_H
#define USTACK_CORE_PKBUF_H

#include <stddef.h>
#include <stdint.h>

struct ust_stack;

/* Room in front of the payload for the headers the layers below may
 * prepend: Ethernet (14) + an IPv4 header with options (60) + a TCP header
 * with options (60) = 134 bytes, rounded up to a multiple of 8. (Today the
 * transports write their header inside the payload and IPv4 sends no
 * options: 34 bytes are used.) pkbuf.c checks the sum against the wire
 * modules' sizes. */
#define PKB_HEADROOM 136
/* Buffers up to this capacity are recycled through the stack's free list. */
#define PKB_POOL_CAP 2048
#define PKB_POOL_KEEP 256

struct pkbuf {
    struct pkbuf *next; /* for queues (ARP pending, free list) */
    size_t cap;         /* bytes in data[] */
    size_t head;        /* offset of the first valid byte */
    size_t len;         /* valid bytes from head */
    /* Offloads (docs/DESIGN.md, "Offloads"). csum_at: 0, or the position
     * in data[] of a header whose checksum is partial (the pseudo-header
     * sum only), the field csum_off bytes in; the device or
     * netif_transmit completes it. gso_size: a TCP super-segment, to go
     * out as segments of that many payload bytes. */
    uint32_t csum_at;
    uint16_t csum_off;
    uint16_t gso_size;
    /* Borrowed bytes (pkb_borrow): the packet's last xlen[0] + xlen[1]
     * bytes are not in data[] but at x[0], then x[1] (TCP's send ring,
     * which may wrap). They stay valid only until the call that built the
     * packet returns, so whatever keeps a packet longer (a queue) or reads
     * it whole (fragmentation) calls pkb_linearize first; data[] always
     * has room for them. len counts them. */
    const uint8_t *x[2];
    uint32_t xlen[2];
    uint8_t data[];
};

/* A buffer with PKB_HEADROOM bytes of headroom and len bytes of (uninitialised)
 * payload space. NULL on allocation failure. */
struct pkbuf *pkb_alloc(struct ust_stack *s, size_t len);
void pkb_free(struct ust_stack *s, struct pkbuf *p);
/* Completes a partial checksum in place (csum_at) and clears it; borrowed
 * bytes are summed where they lie. */
void pkb_csum_complete(struct pkbuf *p);
/* The packet's last n bytes are the n1 bytes at b1 then the n - n1 at b2
 * (its own payload space for them is left unwritten). */
void pkb_borrow(struct pkbuf *p, const uint8_t *b1, size_t n1, const uint8_t *b2, size_t n2);
/* Copies borrowed bytes into the packet's own space: after this the
 * packet is all in data[]. */
void pkb_linearize(struct pkbuf *p);
/* Frees the cached buffers; at stack destroy. */
void pkb_pool_drain(struct ust_stack *s);

static inline uint8_t *pkb_data(struct pkbuf *p) { return p->data + p->head; }
/* Bytes of the packet that lie elsewhere (0: all in data[]). */
static inline size_t pkb_borrowed(const struct pkbuf *p) { return (size_t)p->xlen[0] + p->xlen[1]; }
/* Grows the packet at the front by n bytes and returns the new start.
 * NULL, and the packet unchanged, when less than n bytes of headroom are
 * left: a layer pushed more than PKB_HEADROOM allows for, which the caller
 * reports as -ENOBUFS (checked in every build, not only with assert()). */
static inline uint8_t *pkb_push(struct pkbuf *p, size_t n)
{
    if (p->head < n)
        return NULL;
    p->head -= n;
    p->len += n;
    return p->data + p->head;
}

#endif
