/* Wrap-safe TCP sequence number comparisons (RFC 9293 3.4): a < b when b is
 * at most 2^31 ahead of a, modulo 2^32. Never compare sequence numbers with
 * the plain operators. */
#ifndef USTACK_TRANSPORT_TCP_SEQ_H
#define USTACK_TRANSPORT_TCP_SEQ_H

#include <stdbool.h>
#include <stdint.h>

static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool seq_ge(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }
/* a <= x < b, in sequence space. */
static inline bool seq_in(uint32_t x, uint32_t a, uint32_t b)
{
    return seq_le(a, x) && seq_lt(x, b);
}
static inline uint32_t seq_max(uint32_t a, uint32_t b) { return seq_gt(a, b) ? a : b; }
static inline uint32_t seq_min(uint32_t a, uint32_t b) { return seq_lt(a, b) ? a : b; }

#endif
