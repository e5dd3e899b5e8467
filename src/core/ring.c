#include "core/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ring_init(struct ring *r, size_t limit, struct ring_budget *budget)
{
    memset(r, 0, sizeof(*r));
    r->limit = limit;
    r->budget = budget;
}

void ring_budget_fini(struct ring_budget *b)
{
    for (int i = 0; i < RING_CACHE_SLOTS; i++) {
        if (b->kept[i].buf) {
            b->kept_bytes -= b->kept[i].cap;
            free(b->kept[i].buf);
            b->kept[i].buf = NULL;
        }
    }
}

/* A kept buffer of exactly cap bytes, taken out of the budget's keeping
 * (the caller counts its bytes as the ring's); NULL if none. */
static uint8_t *take_kept(struct ring_budget *b, size_t cap)
{
    for (int i = 0; b && i < RING_CACHE_SLOTS; i++) {
        if (b->kept[i].buf && b->kept[i].cap == cap) {
            uint8_t *buf = b->kept[i].buf;
            b->kept[i].buf = NULL;
            b->kept_bytes -= cap;
            return buf;
        }
    }
    return NULL;
}

void ring_fini(struct ring *r)
{
    if (r->budget)
        *r->budget->used -= r->cap;
    free(r->buf);
    r->buf = NULL;
    r->cap = r->len = r->head = 0;
}

void ring_set_limit(struct ring *r, size_t limit)
{
    if (limit > r->limit)
        r->limit = limit;
}

static size_t pow2_at_least(size_t n)
{
    size_t p = RING_MIN_ALLOC;
    while (p < n)
        p *= 2;
    return p;
}

/* Would the budget allow growing from r->cap to cap (the kept buffers
 * counted)? */
static int budget_allows(const struct ring *r, size_t cap)
{
    return !r->budget || *r->budget->used + r->budget->kept_bytes - r->cap + cap <= r->budget->max;
}

/* Moves the contents (and what lies beyond them) into a buffer of cap bytes. */
static int regrow(struct ring *r, size_t cap)
{
    uint8_t *nb = take_kept(r->budget, cap);
    if (!nb)
        nb = malloc(cap);
    if (!nb)
        return -ENOMEM;
    if (r->buf) {
        /* Every byte of the old ring, from the head on: the contents
         * first, then what lies beyond them (out-of-order data), at the
         * same offsets. */
        size_t first = r->cap - r->head;
        memcpy(nb, r->buf + r->head, first);
        memcpy(nb + first, r->buf, r->head);
        free(r->buf);
    }
    if (r->budget)
        *r->budget->used += cap - r->cap;
    r->buf = nb;
    r->cap = cap;
    r->head = 0;
    return 0;
}

int ring_reserve(struct ring *r, size_t n)
{
    if (n > r->limit)
        n = r->limit;
    if (n <= r->cap)
        return 0;
    size_t want = pow2_at_least(n);
    if (!r->buf && r->last_cap > want)
        want = r->last_cap; /* it was this busy before */
    if (want > r->limit)
        want = r->limit;
    if (!budget_allows(r, want) && r->budget->kept_bytes)
        ring_budget_fini(r->budget); /* kept buffers give way to a ring that needs room */
    if (budget_allows(r, want))
        return regrow(r, want);
    /* Under the budget's bound: what is needed, else what is left. */
    size_t need = pow2_at_least(n) < r->limit ? pow2_at_least(n) : r->limit;
    if (budget_allows(r, need))
        return regrow(r, need);
    size_t left = (size_t)(r->budget->max - (*r->budget->used - r->cap));
    size_t cap = RING_MIN_ALLOC;
    while (cap * 2 <= left)
        cap *= 2;
    if (cap <= left && cap > r->cap)
        regrow(r, cap);
    return -ENOMEM;
}

void ring_release(struct ring *r)
{
    if (r->len || !r->buf)
        return;
    r->last_cap = r->cap;
    struct ring_budget *b = r->budget;
    for (int i = 0; b && r->cap >= RING_CACHE_MIN && i < RING_CACHE_SLOTS; i++) {
        if (!b->kept[i].buf) {
            /* Kept by the budget (within its bound): the ring holds nothing. */
            b->kept[i].buf = r->buf;
            b->kept[i].cap = r->cap;
            b->kept_bytes += r->cap;
            *b->used -= r->cap;
            r->buf = NULL;
            r->cap = r->len = r->head = 0;
            return;
        }
    }
    ring_fini(r);
}

/* Copies n bytes into the ring at absolute position pos (wrapping). */
static void put(struct ring *r, size_t pos, const uint8_t *d, size_t n)
{
    pos %= r->cap;
    size_t first = r->cap - pos < n ? r->cap - pos : n;
    memcpy(r->buf + pos, d, first);
    if (n > first)
        memcpy(r->buf, d + first, n - first);
}

/* How many of n bytes at off past the contents fit, in the limit and in
 * memory (taken as needed). */
static size_t room_at(struct ring *r, size_t off, size_t n)
{
    size_t space = ring_space(r);
    if (off >= space)
        return 0;
    if (n > space - off)
        n = space - off;
    size_t end = r->len + off + n;
    if (end > r->cap && ring_reserve(r, end) != 0) {
        /* No memory for all of it: what the ring already has room for. */
        size_t have = r->cap > r->len + off ? r->cap - r->len - off : 0;
        n = n < have ? n : have;
    }
    return n;
}

size_t ring_write(struct ring *r, const void *data, size_t n)
{
    n = room_at(r, 0, n);
    if (n) {
        put(r, r->head + r->len, data, n);
        r->len += n;
    }
    return n;
}

size_t ring_peek(const struct ring *r, size_t off, void *out, size_t n)
{
    if (off >= r->len)
        return 0;
    if (n > r->len - off)
        n = r->len - off;
    size_t pos = (r->head + off) % r->cap;
    size_t first = r->cap - pos < n ? r->cap - pos : n;
    memcpy(out, r->buf + pos, first);
    if (n > first)
        memcpy((uint8_t *)out + first, r->buf, n - first);
    return n;
}

size_t ring_spans(const struct ring *r, size_t off, size_t n, const uint8_t *p[2], size_t l[2])
{
    p[0] = p[1] = NULL;
    l[0] = l[1] = 0;
    if (off >= r->len)
        return 0;
    if (n > r->len - off)
        n = r->len - off;
    size_t pos = (r->head + off) % r->cap;
    size_t first = r->cap - pos < n ? r->cap - pos : n;
    p[0] = r->buf + pos;
    l[0] = first;
    if (n > first) {
        p[1] = r->buf;
        l[1] = n - first;
    }
    return n;
}

void ring_consume(struct ring *r, size_t n)
{
    if (n > r->len)
        n = r->len;
    /* head never jumps back to 0 when the ring empties: bytes written past
     * the end (out-of-order data) are placed relative to it. */
    r->head = r->cap ? (r->head + n) % r->cap : 0;
    r->len -= n;
}

size_t ring_write_at(struct ring *r, size_t off, const void *data, size_t n)
{
    n = room_at(r, off, n);
    if (n)
        put(r, r->head + r->len + off, data, n);
    return n;
}

void ring_commit(struct ring *r, size_t n)
{
    size_t written = r->cap - r->len; /* at most what memory exists for */
    if (n > ring_space(r))
        n = ring_space(r);
    if (n > written)
        n = written;
    r->len += n;
}
