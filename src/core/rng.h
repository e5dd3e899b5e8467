/* The stack's seeded pseudo-random generator (xoshiro256**, seeded by
 * splitmix64). Deterministic for a seed; not for secrets beyond what the
 * seed provides. */
#ifndef USTACK_CORE_RNG_H
#define USTACK_CORE_RNG_H

#include <stdint.h>

struct rng {
    uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, n) for n > 0. */
uint32_t rng_below(struct rng *r, uint32_t n);
/* Uniform in [0, 1). */
double rng_unit(struct rng *r);

#endif
