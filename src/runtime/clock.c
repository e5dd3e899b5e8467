/* Clock and entropy for real programs (the edge: system calls live here). */
#include <errno.h>
#include <sys/random.h>
#include <time.h>

#include "ustack/runtime.h"

ust_time_t ust_clock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ust_time_t)ts.tv_sec * 1000000u + (ust_time_t)ts.tv_nsec / 1000u;
}

int ust_random_seed(uint64_t *seed)
{
    ssize_t n = getrandom(seed, sizeof(*seed), 0);
    if (n == (ssize_t)sizeof(*seed))
        return 0;
    return n < 0 ? -errno : -EIO;
}
