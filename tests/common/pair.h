/* Two stacks on one link, for the simulation tests: a (PAIR_IP_A) and b
 * (PAIR_IP_B), each with a memlink endpoint "eth0" in 192.0.2.0/24, in
 * embedded mode on a virtual clock that starts at 1000 s. */
#ifndef USTACK_TEST_PAIR_H
#define USTACK_TEST_PAIR_H

#include <stdbool.h>
#include <stdint.h>

#include "ustack/device.h"
#include "ustack/stack.h"

#define PAIR_IP_A UST_IP4(192, 0, 2, 10)
#define PAIR_IP_B UST_IP4(192, 0, 2, 11)

struct pair {
    struct ust_stack *a, *b;
    struct ust_memlink *link;
    ust_time_t now;
};

/* seed seeds the link; ca and cb configure the stacks (NULL: test_config()
 * with seed and seed + 1); f is the link's faults (NULL: none). */
void pair_init(struct pair *p, uint64_t seed, const struct ust_config *ca,
               const struct ust_config *cb, const struct ust_faults *f);
/* pair_init with offloads offered on the link (ust_memlink_set_offload):
 * UST_OFFLOAD_* bits, and TSO up to gso_max bytes. */
void pair_init_offload(struct pair *p, uint64_t seed, const struct ust_config *ca,
                       const struct ust_config *cb, const struct ust_faults *f, uint32_t offload,
                       uint32_t gso_max);
void pair_fini(struct pair *p);
/* sim_run() on both stacks for at most for_us, or until cond(ctx) holds
 * (cond NULL: the whole time). Returns whether it held. */
bool pair_run(struct pair *p, ust_time_t for_us, bool (*cond)(void *), void *ctx);

#endif
