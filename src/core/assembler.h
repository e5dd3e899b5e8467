/* Out-of-order assembly: which byte ranges past the next expected byte have
 * arrived. Offsets are relative to that next byte. A bounded number of
 * separate ranges (holes + 1); what would need more is refused. Pure. */
#ifndef USTACK_CORE_ASSEMBLER_H
#define USTACK_CORE_ASSEMBLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ASM_MAX_RANGES 64

struct assembler {
    unsigned n;
    struct { uint32_t start, end; } r[ASM_MAX_RANGES]; /* sorted, disjoint, not touching */
};

static inline void asm_init(struct assembler *a) { a->n = 0; }
static inline bool asm_empty(const struct assembler *a) { return a->n == 0; }
/* Records [off, off + len). Returns false (and records nothing) when that
 * would need more than ASM_MAX_RANGES separate ranges. */
bool asm_add(struct assembler *a, uint32_t off, uint32_t len);
/* If a range starts at 0, removes it and returns its length; else 0. All
 * other offsets are then shifted down by what `advance` bytes moved:
 * call asm_advance(a, n) when n in-order bytes were taken. */
uint32_t asm_take_front(struct assembler *a);
/* The next expected byte moved forward by n: shift every range down,
 * dropping what falls below 0. */
void asm_advance(struct assembler *a, uint32_t n);

#endif
