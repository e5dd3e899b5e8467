#include "core/ratelimit.h"

/* A token costs 1e6/rate microseconds of refill; credit is kept in time so
 * that no fraction of a token is lost between calls. */
void tbucket_init(struct tbucket *tb, uint32_t rate, uint32_t burst, uint64_t now)
{
    tb->rate = rate;
    tb->burst = burst ? burst : 1;
    tb->last = now;
    /* Start full: exactly `burst` tokens, each costing what tbucket_take
     * charges (1e6/rate rounded down, at least 1 us). burst * 1e6 / rate
     * would hold more than burst tokens when 1e6/rate rounds down (rate
     * 300000: 33 us of credit at 3 us a token), and fewer above 1e6/s. */
    uint64_t cost = rate ? 1000000u / rate : 0;
    if (rate && cost == 0)
        cost = 1;
    tb->credit_us = cost * tb->burst;
}

bool tbucket_take(struct tbucket *tb, uint64_t now)
{
    if (tb->rate == 0)
        return true;
    uint64_t cost = 1000000u / tb->rate;
    if (cost == 0)
        cost = 1;
    uint64_t cap = cost * tb->burst;
    if (now > tb->last) {
        uint64_t gain = now - tb->last;
        tb->credit_us = (gain >= cap || tb->credit_us + gain >= cap) ? cap : tb->credit_us + gain;
    }
    tb->last = now > tb->last ? now : tb->last;
    if (tb->credit_us < cost)
        return false;
    tb->credit_us -= cost;
    return true;
}
