#include "core/ratelimit.h"

#include <stdlib.h>

#include "core/siphash.h"

/* A token costs `cost` microseconds of refill; credit is kept in time so
 * that no fraction of a token is lost between calls. */
void tbucket_init_interval(struct tbucket *tb, uint64_t interval, uint32_t burst, uint64_t now)
{
    tb->cost = interval;
    tb->burst = burst ? burst : 1;
    tb->last = now;
    /* Start full: exactly `burst` tokens, each costing what tbucket_take
     * charges. */
    tb->credit_us = tb->cost * tb->burst;
}

void tbucket_init(struct tbucket *tb, uint32_t rate, uint32_t burst, uint64_t now)
{
    /* 1e6/rate rounded down, at least 1 us: burst * 1e6 / rate would hold
     * more than burst tokens when 1e6/rate rounds down (rate 300000: 33 us
     * of credit at 3 us a token), and fewer above 1e6/s. */
    uint64_t cost = rate ? 1000000u / rate : 0;
    if (rate && cost == 0)
        cost = 1;
    tbucket_init_interval(tb, cost, burst, now);
}

static void refill(struct tbucket *tb, uint64_t now)
{
    uint64_t cap = tb->cost * tb->burst;
    if (now > tb->last) {
        uint64_t gain = now - tb->last;
        tb->credit_us = (gain >= cap || tb->credit_us + gain >= cap) ? cap : tb->credit_us + gain;
        tb->last = now;
    }
}

bool tbucket_take_charge(struct tbucket *tb, uint64_t now, uint32_t tokens)
{
    if (tb->cost == 0)
        return true;
    refill(tb, now);
    if (tb->credit_us < tb->cost)
        return false;
    uint64_t charge = tb->cost * tokens;
    tb->credit_us = charge < tb->credit_us ? tb->credit_us - charge : 0;
    return true;
}

bool tbucket_take(struct tbucket *tb, uint64_t now) { return tbucket_take_charge(tb, now, 1); }

struct tbucket_table *tbucket_table_new(unsigned size, uint64_t interval, uint32_t burst,
                                        const uint8_t hash_key[16])
{
    unsigned nsets = 1;
    while (nsets * TBT_WAYS < size && nsets < (1u << 20))
        nsets <<= 1;
    struct tbucket_table *t = calloc(1, sizeof(*t) + (size_t)nsets * TBT_WAYS * sizeof(t->slot[0]));
    if (!t)
        return NULL;
    for (int i = 0; i < 16; i++)
        t->hash_key[i] = hash_key[i];
    t->nsets = nsets;
    t->interval = interval;
    t->burst = burst;
    return t;
}

void tbucket_table_free(struct tbucket_table *t) { free(t); }

unsigned tbucket_table_size(const struct tbucket_table *t) { return t->nsets * TBT_WAYS; }

/* Where key's set of TBT_WAYS slots starts. */
static size_t set_of(const struct tbucket_table *t, uint32_t key)
{
    uint64_t h = siphash24(t->hash_key, &key, sizeof(key));
    return (size_t)(h & (t->nsets - 1)) * TBT_WAYS;
}

bool tbucket_table_take(struct tbucket_table *t, uint32_t key, uint64_t now, bool *replaced)
{
    struct tbucket_slot *set = &t->slot[set_of(t, key)], *victim = NULL;
    *replaced = false;
    for (int i = 0; i < TBT_WAYS; i++) {
        struct tbucket_slot *sl = &set[i];
        if (sl->used && sl->key == key)
            return tbucket_take(&sl->tb, now);
        /* A free slot first; else the one charged longest ago. */
        if (!victim || (victim->used && (!sl->used || sl->tb.last < victim->tb.last)))
            victim = sl;
    }
    *replaced = victim->used;
    victim->used = true;
    victim->key = key;
    tbucket_init_interval(&victim->tb, t->interval, t->burst, now);
    return tbucket_take(&victim->tb, now);
}

bool tbucket_table_has(const struct tbucket_table *t, uint32_t key)
{
    const struct tbucket_slot *set = &t->slot[set_of(t, key)];
    for (int i = 0; i < TBT_WAYS; i++)
        if (set[i].used && set[i].key == key)
            return true;
    return false;
}
