/* Token buckets on the injected clock: one bucket (`rate` tokens per
 * second, at most `burst` saved up), and a bounded table of buckets, one
 * per key (an address), for limits kept per peer. Pure: they touch only
 * their own structs; the caller brings the time and any randomness. */
#ifndef USTACK_CORE_RATELIMIT_H
#define USTACK_CORE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tbucket {
    uint64_t credit_us; /* saved time, in microseconds of refill */
    uint64_t last;      /* last refill time */
    uint64_t cost;      /* microseconds of refill per token; 0 means no limit */
    uint32_t burst;
};

/* rate tokens per second (0: no limit), burst at most saved (0 counts as 1);
 * the bucket starts full. */
void tbucket_init(struct tbucket *tb, uint32_t rate, uint32_t burst, uint64_t now);
/* The same with one token per `interval` microseconds (0: no limit). */
void tbucket_init_interval(struct tbucket *tb, uint64_t interval, uint32_t burst, uint64_t now);
/* Takes one token if there is one. */
bool tbucket_take(struct tbucket *tb, uint64_t now);
/* Says yes if there is a token, then charges `tokens` of them (0 or more;
 * never below empty). A caller that draws `tokens` at random spends the
 * budget at the same average rate while what is left of it stays unknown
 * to whoever watches the answers (Linux's ICMP limiter does this since
 * CVE-2020-25705). */
bool tbucket_take_charge(struct tbucket *tb, uint64_t now, uint32_t tokens);

/* Buckets for many keys in a fixed table: sets of TBT_WAYS slots, the set
 * chosen by a keyed hash of the key (an outsider cannot aim its keys at
 * one set), the least recently charged slot of a set replaced by a new
 * key. That slot has been idle longest, so its bucket is the fullest of
 * the set: a key forgotten after a quiet spell loses nothing, since a new
 * key starts with a full bucket anyway. */
#define TBT_WAYS 8

struct tbucket_slot {
    uint32_t key;
    bool used;
    struct tbucket tb;
};

struct tbucket_table {
    uint8_t hash_key[16];
    unsigned nsets;    /* a power of two */
    uint64_t interval; /* microseconds per token */
    uint32_t burst;
    struct tbucket_slot slot[]; /* nsets * TBT_WAYS */
};

/* A table of at least `size` buckets (rounded up to whole sets, a power of
 * two of them), each one token per `interval` us with bursts of `burst`.
 * hash_key: 16 secret bytes. NULL when out of memory. */
struct tbucket_table *tbucket_table_new(unsigned size, uint64_t interval, uint32_t burst,
                                        const uint8_t hash_key[16]);
void tbucket_table_free(struct tbucket_table *t);
unsigned tbucket_table_size(const struct tbucket_table *t);
/* Takes a token from key's bucket, making one (full) if the key has none;
 * *replaced says whether that pushed another key out. */
bool tbucket_table_take(struct tbucket_table *t, uint32_t key, uint64_t now, bool *replaced);
/* Whether key has a bucket in the table (for tests). */
bool tbucket_table_has(const struct tbucket_table *t, uint32_t key);

#endif
