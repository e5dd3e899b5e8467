#include "core/pkbuf.h"

#include <stdlib.h>
#include <string.h>

#include "core/stack_priv.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

_Static_assert(PKB_HEADROOM >= ETH_HDR_LEN + IPV4_MAX_HDR_LEN + TCP_MAX_HDR_LEN,
               "PKB_HEADROOM must hold Ethernet, IPv4 and TCP headers with options");

struct pkbuf *pkb_alloc(struct ust_stack *s, size_t len)
{
    size_t need = PKB_HEADROOM + len;
    struct pkbuf *p;
    if (need <= PKB_POOL_CAP && s->pool) {
        p = s->pool;
        s->pool = p->next;
        s->pool_len--;
    } else {
        size_t cap = need <= PKB_POOL_CAP ? PKB_POOL_CAP : need;
        p = malloc(sizeof(*p) + cap);
        if (!p)
            return NULL;
        p->cap = cap;
    }
    p->next = NULL;
    p->csum_at = 0;
    p->csum_off = 0;
    p->gso_size = 0;
    p->xlen[0] = p->xlen[1] = 0; /* x[] is read only where xlen says */
    p->head = PKB_HEADROOM;
    p->len = len;
    s->stats.pkb.alloc++;
    if (++s->stats.pkb.live > s->stats.pkb.peak)
        s->stats.pkb.peak = s->stats.pkb.live;
    return p;
}

void pkb_free(struct ust_stack *s, struct pkbuf *p)
{
    if (!p)
        return;
    s->stats.pkb.free++;
    s->stats.pkb.live--;
    if (p->cap == PKB_POOL_CAP && s->pool_len < PKB_POOL_KEEP) {
        p->next = s->pool;
        s->pool = p;
        s->pool_len++;
        return;
    }
    free(p);
}

void pkb_csum_complete(struct pkbuf *p)
{
    size_t own = p->head + p->len - pkb_borrowed(p); /* the end of what data[] holds */
    if (!p->csum_at || p->csum_at < p->head || p->csum_at + p->csum_off + 2 > own)
        return;
    /* The field holds the pseudo-header sum: summing from the header to
     * the end with it in place gives the checksum (RFC 1071). Borrowed
     * pieces are summed where they lie, each at its offset. */
    uint8_t *l4 = p->data + p->csum_at;
    size_t at = own - p->csum_at;
    uint32_t acc = cksum_add(0, l4, at);
    for (int i = 0; i < 2 && p->xlen[i]; i++) {
        acc = cksum_add_at(acc, p->x[i], p->xlen[i], at);
        at += p->xlen[i];
    }
    uint16_t sum = cksum_fold(acc);
    l4[p->csum_off] = (uint8_t)(sum >> 8);
    l4[p->csum_off + 1] = (uint8_t)sum;
    p->csum_at = 0;
}

void pkb_borrow(struct pkbuf *p, const uint8_t *b1, size_t n1, const uint8_t *b2, size_t n2)
{
    p->x[0] = b1;
    p->xlen[0] = (uint32_t)n1;
    p->x[1] = b2;
    p->xlen[1] = (uint32_t)n2;
}

void pkb_linearize(struct pkbuf *p)
{
    size_t n = pkb_borrowed(p);
    if (!n)
        return;
    uint8_t *dst = p->data + p->head + p->len - n;
    for (int i = 0; i < 2; i++) {
        if (p->xlen[i])
            memcpy(dst, p->x[i], p->xlen[i]);
        dst += p->xlen[i];
        p->x[i] = NULL;
        p->xlen[i] = 0;
    }
}

void pkb_pool_drain(struct ust_stack *s)
{
    while (s->pool) {
        struct pkbuf *p = s->pool;
        s->pool = p->next;
        free(p);
    }
    s->pool_len = 0;
}
