/* A byte ring buffer: TCP's send and receive buffers.
 *
 * The bytes from `head` for `len` bytes are the buffer's contents. The
 * receive side may also write beyond the contents (out-of-order data) with
 * ring_write_at() and make it part of the contents later with ring_commit().
 *
 * `limit` is the buffer's size as the socket sees it (SO_SNDBUF,
 * SO_RCVBUF, what a window is computed from); memory is taken only as
 * bytes arrive, in doublings up to the limit, and given back with
 * ring_release() when the ring is empty, so an idle connection holds
 * none. Rings may share a budget that bounds the memory of them all; it
 * also keeps a few large released buffers for the next ring that needs
 * one of that size (a bulk flow empties and refills its ring thousands of
 * times a second, and each fresh multi-megabyte allocation cost a
 * page fault per 4 KiB touched).
 * Pure: touches only its own struct and its budget. */
#ifndef USTACK_CORE_RING_H
#define USTACK_CORE_RING_H

#include <stddef.h>
#include <stdint.h>

#define RING_MIN_ALLOC 4096 /* the smallest allocation, unless the limit is smaller */

#define RING_CACHE_SLOTS 4        /* released buffers a budget keeps */
#define RING_CACHE_MIN (64 << 10) /* the smallest one worth keeping */

struct ring_budget {
    uint64_t *used;      /* bytes the rings that share it hold: the owner's
                            figure (TCP's is the gauge stats.tcp.buf_bytes) */
    uint64_t max;        /* their bound, the kept buffers included */
    uint64_t kept_bytes; /* the kept buffers' bytes */
    struct {
        uint8_t *buf;
        size_t cap;
    } kept[RING_CACHE_SLOTS]; /* released buffers, for reuse (NULL: free slot) */
};

/* Frees the buffers the budget keeps (at the owner's end). */
void ring_budget_fini(struct ring_budget *b);

struct ring {
    uint8_t *buf;
    size_t cap;   /* bytes allocated: 0 until data comes */
    size_t limit; /* the most it may hold */
    size_t head, len;
    size_t last_cap; /* cap when it was last released: a busy ring gets it back at once */
    struct ring_budget *budget; /* NULL: unbounded */
};

/* An empty ring that may hold limit bytes. Allocates nothing. */
void ring_init(struct ring *r, size_t limit, struct ring_budget *budget);
void ring_fini(struct ring *r);
/* Raises the limit (auto-tuning); a lower one than now is ignored. */
void ring_set_limit(struct ring *r, size_t limit);
static inline size_t ring_space(const struct ring *r) { return r->limit - r->len; }
/* Memory for n bytes from the head (contents and what lies beyond), at
 * most the limit: 0, or -ENOMEM when the allocation or the budget falls
 * short (the ring may then have grown as far as the budget allowed). */
int ring_reserve(struct ring *r, size_t n);
/* Gives the memory back if the ring is empty. The caller knows that
 * nothing waits beyond the contents (no out-of-order data). */
void ring_release(struct ring *r);
/* Appends up to n bytes; returns how many fit (in the limit and in the
 * memory the ring could get). */
size_t ring_write(struct ring *r, const void *data, size_t n);
/* Copies up to n bytes starting `off` bytes into the contents; returns how many. */
size_t ring_peek(const struct ring *r, size_t off, void *out, size_t n);
/* Where n bytes starting `off` bytes into the contents lie, without
 * copying them: at most two pieces (the ring may wrap), in p[0..1] and
 * l[0..1] (l[1] = 0 when one piece holds them). Returns how many bytes
 * the pieces hold (fewer than n when the contents end first). The
 * pointers stay valid until the ring is next written, consumed, grown or
 * released. */
size_t ring_spans(const struct ring *r, size_t off, size_t n, const uint8_t *p[2], size_t l[2]);
/* Drops n bytes (at most len) from the front. */
void ring_consume(struct ring *r, size_t n);
/* Writes up to n bytes at `off` bytes past the end of the contents, without
 * growing them; returns how many fit. */
size_t ring_write_at(struct ring *r, size_t off, const void *data, size_t n);
/* Makes n bytes past the end part of the contents. */
void ring_commit(struct ring *r, size_t n);

#endif
