/* A byte ring buffer: TCP's send and receive buffers.
 *
 * The bytes from `head` for `len` bytes are the buffer's contents. The
 * receive side may also write beyond the contents (out-of-order data) with
 * ring_write_at() and make it part of the contents later with ring_commit().
 * Pure: touches only its own struct. */
#ifndef USTACK_CORE_RING_H
#define USTACK_CORE_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring {
    uint8_t *buf;
    size_t cap, head, len;
};

int ring_init(struct ring *r, size_t cap);
void ring_fini(struct ring *r);
/* Enlarges the ring to cap bytes (no smaller), keeping the contents and
 * whatever was written beyond them; -ENOMEM leaves it as it was. */
int ring_grow(struct ring *r, size_t cap);
static inline size_t ring_space(const struct ring *r) { return r->cap - r->len; }
/* Appends up to n bytes; returns how many fit. */
size_t ring_write(struct ring *r, const void *data, size_t n);
/* Copies up to n bytes starting `off` bytes into the contents; returns how many. */
size_t ring_peek(const struct ring *r, size_t off, void *out, size_t n);
/* Drops n bytes (at most len) from the front. */
void ring_consume(struct ring *r, size_t n);
/* Writes up to n bytes at `off` bytes past the end of the contents, without
 * growing them; returns how many fit in the free space. */
size_t ring_write_at(struct ring *r, size_t off, const void *data, size_t n);
/* Makes n bytes past the end part of the contents. */
void ring_commit(struct ring *r, size_t n);

#endif
