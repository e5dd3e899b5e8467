/* Out-of-order assembly: which bytes beyond the next expected one have
 * arrived. The TCP receiver writes out-of-order data straight into its
 * receive ring and records here where it went, so that when the hole
 * before it fills, the ring's end moves over all of it at once.
 *
 * Offsets count from the next expected byte (offset 0), which moves
 * forward as in-order data arrives; they are plain integers, not sequence
 * numbers (no wrap): an add needs off + len <= UINT32_MAX. What is kept
 * is a list of at most ASM_MAX_RANGES separate byte ranges; an add that
 * would need one more is refused. No allocation, no clock: pure. */
#ifndef USTACK_CORE_ASSEMBLER_H
#define USTACK_CORE_ASSEMBLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ASM_MAX_RANGES 64

struct assembler {
    unsigned n;
    /* [start, end): sorted, disjoint and never touching (touching ranges
     * are merged), start < end. */
    struct {
        uint32_t start, end;
    } r[ASM_MAX_RANGES];
};

static inline void asm_init(struct assembler *a) { a->n = 0; }
static inline bool asm_empty(const struct assembler *a) { return a->n == 0; }
/* Records [off, off + len), merging it with every range it overlaps or
 * touches. Returns false, and records nothing, when it would be a new
 * range and ASM_MAX_RANGES are kept already. len 0 records nothing. */
bool asm_add(struct assembler *a, uint32_t off, uint32_t len);
/* If a range starts at offset 0, removes it and returns its length, and
 * the next expected byte moves past it: every other range is shifted down
 * by that length. Otherwise (a hole at 0, or nothing) returns 0. */
uint32_t asm_take_front(struct assembler *a);
/* The next expected byte moved forward by n (n in-order bytes arrived
 * from elsewhere): every range is shifted down by n, and what falls below
 * offset 0 is dropped. */
void asm_advance(struct assembler *a, uint32_t n);

#endif
