#include "core/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ring_init(struct ring *r, size_t cap)
{
    r->buf = malloc(cap ? cap : 1);
    r->cap = cap;
    r->head = r->len = 0;
    return r->buf ? 0 : -ENOMEM;
}

void ring_fini(struct ring *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = r->len = r->head = 0;
}

int ring_grow(struct ring *r, size_t cap)
{
    if (cap <= r->cap)
        return 0;
    uint8_t *nb = malloc(cap);
    if (!nb)
        return -ENOMEM;
    /* Every byte of the old ring, from the head on: the contents first,
     * then what lies beyond them (out-of-order data), at the same offsets. */
    size_t first = r->cap - r->head;
    memcpy(nb, r->buf + r->head, first);
    memcpy(nb + first, r->buf, r->head);
    free(r->buf);
    r->buf = nb;
    r->cap = cap;
    r->head = 0;
    return 0;
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

size_t ring_write(struct ring *r, const void *data, size_t n)
{
    if (n > ring_space(r))
        n = ring_space(r);
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
    size_t space = ring_space(r);
    if (off >= space)
        return 0;
    if (n > space - off)
        n = space - off;
    if (n)
        put(r, r->head + r->len + off, data, n);
    return n;
}

void ring_commit(struct ring *r, size_t n)
{
    if (n > ring_space(r))
        n = ring_space(r);
    r->len += n;
}
