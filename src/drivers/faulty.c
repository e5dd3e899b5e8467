/* A fault injector that wraps any device: frames it receives and transmits
 * are dropped, duplicated, swapped with the next one (reordered) or
 * corrupted, each with its own probability, from a seeded generator.
 * Unlike memlink's injector it has no clock of its own: a reordered frame
 * waits for the next frame in the same direction. It makes a real link (a
 * TAP to the kernel) lossy where tc netem is not available. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "ustack/device.h"

struct held {
    uint8_t *buf;
    size_t len; /* 0: nothing held */
};

struct faulty {
    pthread_mutex_t mu; /* receive and transmit may run on different threads */
    struct ust_device *inner;
    struct rng rng;
    struct ust_faults f;
    struct ust_memlink_stats st;
    struct held tx_held, rx_held, rx_dup;
    size_t cap;
};

static bool chance(struct faulty *z, double p) { return p > 0 && rng_unit(&z->rng) < p; }

/* Whether to corrupt a frame of len bytes, and how: flip bits x at at. */
static bool corrupt_pick(struct faulty *z, size_t len, size_t *at, uint8_t *x)
{
    if (!len || !chance(z, z->f.corrupt))
        return false;
    *at = rng_below(&z->rng, (uint32_t)len);
    *x = (uint8_t)(1 + rng_below(&z->rng, 255));
    z->st.corrupted++;
    return true;
}

static void corrupt(struct faulty *z, uint8_t *buf, size_t len)
{
    size_t at;
    uint8_t x;
    if (corrupt_pick(z, len, &at, &x))
        buf[at] ^= x;
}

static int fy_transmit(struct ust_device *dev, const uint8_t *frame, size_t len, ust_time_t now)
{
    struct faulty *z = dev->priv;
    pthread_mutex_lock(&z->mu);
    z->st.sent++;
    if (len > z->cap || chance(z, z->f.drop)) {
        z->st.dropped++;
        pthread_mutex_unlock(&z->mu);
        return 0;
    }
    /* The frame goes out as it is unless corrupted: a copy per frame (and
     * the lock held over the write) cost the lossy benchmark rows. */
    const uint8_t *out = frame;
    uint8_t tmp[65536 + 64];
    size_t at;
    uint8_t x;
    if (corrupt_pick(z, len, &at, &x)) {
        memcpy(tmp, frame, len);
        tmp[at] ^= x;
        out = tmp;
    }
    if (!z->tx_held.len && chance(z, z->f.reorder)) {
        memcpy(z->tx_held.buf, out, len); /* goes out after the next frame */
        z->tx_held.len = len;
        z->st.reordered++;
        pthread_mutex_unlock(&z->mu);
        return 0;
    }
    int copies = chance(z, z->f.duplicate) ? 2 : 1;
    if (copies == 2)
        z->st.duplicated++;
    z->st.delivered += (uint64_t)copies;
    /* Transmits come one at a time (the stack's lock), so only a held
     * frame needs ours over the write; the generator is done with. */
    bool flush = z->tx_held.len != 0;
    if (!flush)
        pthread_mutex_unlock(&z->mu);
    int err = 0;
    for (int i = 0; i < copies && !err; i++)
        err = z->inner->ops->transmit(z->inner, out, len, now);
    if (flush) {
        z->inner->ops->transmit(z->inner, z->tx_held.buf, z->tx_held.len, now);
        z->tx_held.len = 0;
        pthread_mutex_unlock(&z->mu);
    }
    return err;
}

static int fy_receive(struct ust_device *dev, uint8_t *buf, size_t cap, ust_time_t now)
{
    struct faulty *z = dev->priv;
    if (!z->inner->ops->receive)
        return 0;
    pthread_mutex_lock(&z->mu);
    int n;
    if (z->rx_dup.len) { /* the second copy of a duplicated frame */
        n = (int)(z->rx_dup.len < cap ? z->rx_dup.len : cap);
        memcpy(buf, z->rx_dup.buf, (size_t)n);
        z->rx_dup.len = 0;
        pthread_mutex_unlock(&z->mu);
        return n;
    }
    for (;;) {
        pthread_mutex_unlock(&z->mu);
        n = z->inner->ops->receive(z->inner, buf, cap, now);
        pthread_mutex_lock(&z->mu);
        if (n <= 0) {
            if (z->rx_held.len) { /* nothing came after it: let it go now */
                n = (int)(z->rx_held.len < cap ? z->rx_held.len : cap);
                memcpy(buf, z->rx_held.buf, (size_t)n);
                z->rx_held.len = 0;
            }
            break;
        }
        if (chance(z, z->f.drop)) {
            z->st.dropped++;
            continue;
        }
        corrupt(z, buf, (size_t)n);
        if (!z->rx_held.len && (size_t)n <= z->cap && chance(z, z->f.reorder)) {
            memcpy(z->rx_held.buf, buf, (size_t)n);
            z->rx_held.len = (size_t)n;
            z->st.reordered++;
            continue; /* deliver the next frame first */
        }
        if ((size_t)n <= z->cap && chance(z, z->f.duplicate)) {
            memcpy(z->rx_dup.buf, buf, (size_t)n);
            z->rx_dup.len = (size_t)n;
            z->st.duplicated++;
        }
        if (z->rx_held.len && !z->rx_dup.len) {
            /* The held frame follows this one. */
            memcpy(z->rx_dup.buf, z->rx_held.buf, z->rx_held.len);
            z->rx_dup.len = z->rx_held.len;
            z->rx_held.len = 0;
        }
        break;
    }
    pthread_mutex_unlock(&z->mu);
    return n;
}

static ust_time_t fy_next_rx_at(struct ust_device *dev)
{
    struct faulty *z = dev->priv;
    pthread_mutex_lock(&z->mu);
    bool ready = z->rx_dup.len || z->rx_held.len;
    pthread_mutex_unlock(&z->mu);
    if (ready)
        return 0; /* something to hand over at once */
    return z->inner->ops->next_rx_at ? z->inner->ops->next_rx_at(z->inner) : UST_TIME_NEVER;
}

static int fy_fd(struct ust_device *dev)
{
    struct faulty *z = dev->priv;
    return z->inner->ops->fd ? z->inner->ops->fd(z->inner) : -1;
}

static int fy_flush(struct ust_device *dev)
{
    struct faulty *z = dev->priv;
    return z->inner->ops->flush ? z->inner->ops->flush(z->inner) : 0;
}

static void fy_destroy(struct ust_device *dev)
{
    struct faulty *z = dev->priv;
    z->inner->ops->destroy(z->inner);
    free(z->tx_held.buf);
    free(z->rx_held.buf);
    free(z->rx_dup.buf);
    pthread_mutex_destroy(&z->mu);
    free(z);
    free(dev);
}

static const struct ust_device_ops faulty_ops = {
    .transmit = fy_transmit,
    .receive = fy_receive,
    .next_rx_at = fy_next_rx_at,
    .fd = fy_fd,
    .flush = fy_flush,
    .destroy = fy_destroy,
};

int ust_faulty_wrap(struct ust_device *inner, uint64_t seed, const struct ust_faults *f,
                    struct ust_device **out)
{
    if (!inner || !f || !out)
        return -EINVAL;
    struct ust_device *d = calloc(1, sizeof(*d));
    struct faulty *z = calloc(1, sizeof(*z));
    size_t cap = (size_t)inner->mtu + 64;
    if (z) {
        z->tx_held.buf = malloc(cap);
        z->rx_held.buf = malloc(cap);
        z->rx_dup.buf = malloc(cap);
    }
    if (!d || !z || !z->tx_held.buf || !z->rx_held.buf || !z->rx_dup.buf) {
        if (z) {
            free(z->tx_held.buf);
            free(z->rx_held.buf);
            free(z->rx_dup.buf);
        }
        free(z);
        free(d);
        return -ENOMEM;
    }
    pthread_mutex_init(&z->mu, NULL);
    z->inner = inner;
    z->cap = cap;
    z->f = *f;
    rng_seed(&z->rng, seed);
    *d = *inner;
    d->offload = 0; /* plain frames only: the metadata is not passed on */
    d->gso_max = 0;
    d->ops = &faulty_ops;
    d->priv = z;
    *out = d;
    return 0;
}
