/* The loopback device: what the stack sends to it comes back on the next
 * poll. Frames are bare IPv4 packets. The queue is bounded. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ustack/device.h"

#define LOOPBACK_QUEUE 64

struct lo_frame {
    struct lo_frame *next;
    size_t len;
    uint8_t data[];
};

struct lo_priv {
    struct lo_frame *head, *tail;
    unsigned count;
};

static int lo_transmit(struct ust_device *dev, const uint8_t *frame, size_t len, ust_time_t now)
{
    (void)now;
    struct lo_priv *lo = dev->priv;
    if (lo->count >= LOOPBACK_QUEUE)
        return -ENOBUFS;
    struct lo_frame *f = malloc(sizeof(*f) + len);
    if (!f)
        return -ENOMEM;
    f->next = NULL;
    f->len = len;
    memcpy(f->data, frame, len);
    if (lo->tail)
        lo->tail->next = f;
    else
        lo->head = f;
    lo->tail = f;
    lo->count++;
    return 0;
}

static int lo_receive(struct ust_device *dev, uint8_t *buf, size_t cap, ust_time_t now)
{
    (void)now;
    struct lo_priv *lo = dev->priv;
    struct lo_frame *f = lo->head;
    if (!f)
        return 0;
    lo->head = f->next;
    if (!lo->head)
        lo->tail = NULL;
    lo->count--;
    size_t n = f->len < cap ? f->len : cap;
    memcpy(buf, f->data, n);
    free(f);
    return (int)n;
}

static ust_time_t lo_next_rx_at(struct ust_device *dev)
{
    struct lo_priv *lo = dev->priv;
    return lo->head ? 0 : UST_TIME_NEVER;
}

static void lo_destroy(struct ust_device *dev)
{
    struct lo_priv *lo = dev->priv;
    while (lo->head) {
        struct lo_frame *f = lo->head;
        lo->head = f->next;
        free(f);
    }
    free(lo);
    free(dev);
}

static const struct ust_device_ops lo_ops = {
    .transmit = lo_transmit,
    .receive = lo_receive,
    .next_rx_at = lo_next_rx_at,
    .destroy = lo_destroy,
};

int ust_loopback_create(struct ust_device **out)
{
    if (!out)
        return -EINVAL;
    struct ust_device *d = calloc(1, sizeof(*d));
    struct lo_priv *lo = calloc(1, sizeof(*lo));
    if (!d || !lo) {
        free(d);
        free(lo);
        return -ENOMEM;
    }
    d->ops = &lo_ops;
    d->priv = lo;
    strcpy(d->name, "lo");
    d->type = UST_DEV_LOOPBACK;
    d->mtu = 65535;
    *out = d;
    return 0;
}
