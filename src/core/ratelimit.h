/* A token bucket on the injected clock: `rate` tokens per second, at most
 * `burst` saved up. Pure: touches only its own struct. */
#ifndef USTACK_CORE_RATELIMIT_H
#define USTACK_CORE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct tbucket {
    uint64_t credit_us; /* saved time, in microseconds of refill */
    uint64_t last;      /* last refill time */
    uint32_t rate;      /* tokens per second; 0 means no limit */
    uint32_t burst;
};

void tbucket_init(struct tbucket *tb, uint32_t rate, uint32_t burst, uint64_t now);
/* Takes one token if there is one. */
bool tbucket_take(struct tbucket *tb, uint64_t now);

#endif
