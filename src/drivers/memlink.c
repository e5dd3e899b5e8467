/* memlink: an in-process Ethernet hub between stacks, with a seeded fault
 * injector. Frames wait in the receiving endpoint's queue, ordered by the
 * time they become deliverable, until that stack polls. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/rng.h"
#include "ustack/device.h"

#define MEMLINK_MAX_ENDPOINTS 16
#define MEMLINK_DEFAULT_QUEUE 1024

struct ml_frame {
    struct ml_frame *next;
    ust_time_t at;
    size_t len;
    struct ust_pkt_meta meta; /* as sent, with offloads on (zero: none) */
    uint8_t data[];
};

struct ml_endpoint {
    struct ust_memlink *link;
    struct ust_device *dev;
    struct ml_frame *head, *tail;
    size_t qlen;
    ust_time_t busy_until; /* rate limit: when this sender's last frame is on the wire */
    int efd;               /* eventfd, readable while frames wait: for event loops;
                              -1 until ml_fd() is first called */
};

struct ust_memlink {
    pthread_mutex_t mu; /* endpoints may be polled by different threads */
    struct rng rng;
    struct ust_faults faults;
    struct ust_memlink_stats st;
    struct ml_endpoint *eps[MEMLINK_MAX_ENDPOINTS];
    int refs;
    uint32_t offload, gso_max; /* for endpoints attached from now on */
};

static void enqueue(struct ml_endpoint *ep, struct ml_frame *f)
{
    f->next = NULL;
    if (!ep->head) {
        ep->head = ep->tail = f;
    } else if (f->at >= ep->tail->at) {
        ep->tail->next = f; /* the usual case: in order */
        ep->tail = f;
    } else {
        struct ml_frame **pp = &ep->head;
        while ((*pp)->at <= f->at)
            pp = &(*pp)->next;
        f->next = *pp;
        *pp = f;
    }
    ep->qlen++;
    if (ep->head == f && ep->efd >= 0) {
        /* The receiver's next deadline moved earlier: wake its event loop. */
        uint64_t one = 1;
        ssize_t n = write(ep->efd, &one, sizeof(one));
        (void)n;
    }
}

/* A frame (frame, len), or in nv pieces (v, for transmit_iov; frame NULL),
 * copied once into each receiver's queue. */
static int ml_send(struct ust_device *dev, const uint8_t *frame, size_t len,
                   const struct ust_iov *v, int nv, const struct ust_pkt_meta *m, ust_time_t now)
{
    struct ml_endpoint *src = dev->priv;
    struct ust_memlink *l = src->link;
    const struct ust_faults *f = &l->faults;
    int err = 0;
    pthread_mutex_lock(&l->mu);
    uint8_t *flat = NULL;
    if (!frame && f->drop_if) {
        /* A test's drop_if reads the frame whole. */
        flat = malloc(len);
        if (!flat) {
            pthread_mutex_unlock(&l->mu);
            return -ENOMEM;
        }
        for (int i = 0, at = 0; i < nv; at += (int)v[i].len, i++)
            memcpy(flat + at, v[i].base, v[i].len);
        frame = flat;
    }
    l->st.sent++;
    ust_time_t base = now + f->delay;
    if (f->rate_bps) {
        ust_time_t start = src->busy_until > now ? src->busy_until : now;
        src->busy_until = start + (ust_time_t)len * 8u * 1000000u / f->rate_bps;
        base = src->busy_until + f->delay;
    }
    size_t limit = f->queue_limit ? f->queue_limit : MEMLINK_DEFAULT_QUEUE;
    bool drop = f->drop_if && f->drop_if(f->drop_arg, frame, len);
    if (flat) {
        free(flat);
        frame = NULL; /* the pieces again */
    }
    if (drop) {
        l->st.dropped++;
        pthread_mutex_unlock(&l->mu);
        return 0;
    }
    for (int i = 0; i < MEMLINK_MAX_ENDPOINTS; i++) {
        struct ml_endpoint *dst = l->eps[i];
        if (!dst || dst == src)
            continue;
        if (f->drop > 0 && rng_unit(&l->rng) < f->drop) {
            l->st.dropped++;
            continue;
        }
        int copies = 1;
        if (f->duplicate > 0 && rng_unit(&l->rng) < f->duplicate) {
            copies = 2;
            l->st.duplicated++;
        }
        for (int c = 0; c < copies; c++) {
            if (dst->qlen >= limit) {
                l->st.overflowed++;
                continue;
            }
            struct ml_frame *fr = malloc(sizeof(*fr) + len);
            if (!fr) {
                err = -ENOMEM;
                continue;
            }
            fr->len = len;
            if (frame)
                memcpy(fr->data, frame, len);
            else
                for (int k = 0, at = 0; k < nv; at += (int)v[k].len, k++)
                    memcpy(fr->data + at, v[k].base, v[k].len);
            memset(&fr->meta, 0, sizeof(fr->meta));
            if (m)
                fr->meta = *m;
            fr->at = base;
            if (f->jitter)
                fr->at += rng_next(&l->rng) % (f->jitter + 1);
            if (f->reorder > 0 && rng_unit(&l->rng) < f->reorder) {
                fr->at += f->reorder_delay ? f->reorder_delay : 1000;
                l->st.reordered++;
            }
            if (f->corrupt > 0 && len && rng_unit(&l->rng) < f->corrupt) {
                fr->data[rng_below(&l->rng, (uint32_t)len)] ^= (uint8_t)(1 +
                                                                         rng_below(&l->rng, 255));
                l->st.corrupted++;
                /* A receiving NIC finds the checksum bad and vouches for
                 * nothing: the stack sums the frame (a partial checksum
                 * then fails too) and drops it. */
                memset(&fr->meta, 0, sizeof(fr->meta));
            }
            enqueue(dst, fr);
        }
    }
    pthread_mutex_unlock(&l->mu);
    return err;
}

static int ml_transmit(struct ust_device *dev, const uint8_t *frame, size_t len, ust_time_t now)
{
    return ml_send(dev, frame, len, NULL, 0, NULL, now);
}

static int ml_transmit_meta(struct ust_device *dev, const uint8_t *frame, size_t len,
                            const struct ust_pkt_meta *m, ust_time_t now)
{
    return ml_send(dev, frame, len, NULL, 0, m, now);
}

static int ml_transmit_iov(struct ust_device *dev, const struct ust_iov *v, int n,
                           const struct ust_pkt_meta *m, ust_time_t now)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += v[i].len;
    return ml_send(dev, NULL, len, v, n, m, now);
}

static int ml_receive_meta(struct ust_device *dev, uint8_t *buf, size_t cap, struct ust_pkt_meta *m,
                           ust_time_t now)
{
    struct ml_endpoint *ep = dev->priv;
    pthread_mutex_lock(&ep->link->mu);
    struct ml_frame *fr = ep->head;
    if (!fr || fr->at > now) {
        if (ep->efd >= 0) {
            /* Nothing due: clear the wakeup; next_rx_at covers the rest. */
            uint64_t v;
            ssize_t r = read(ep->efd, &v, sizeof(v));
            (void)r;
        }
        pthread_mutex_unlock(&ep->link->mu);
        return 0;
    }
    ep->head = fr->next;
    if (!ep->head)
        ep->tail = NULL;
    ep->qlen--;
    ep->link->st.delivered++;
    pthread_mutex_unlock(&ep->link->mu);
    size_t n = fr->len < cap ? fr->len : cap;
    memcpy(buf, fr->data, n);
    if (m)
        *m = fr->meta;
    free(fr);
    return (int)n;
}

static int ml_receive(struct ust_device *dev, uint8_t *buf, size_t cap, ust_time_t now)
{
    return ml_receive_meta(dev, buf, cap, NULL, now);
}

/* The eventfd is made on the first call, which only an event loop (the
 * runtime) makes: a stack driven by ust_stack_poll() alone (tests,
 * simulations, bench/memlink_tput) makes no system call per frame. Created
 * readable if frames already wait. */
static int ml_fd(struct ust_device *dev)
{
    struct ml_endpoint *ep = dev->priv;
    pthread_mutex_lock(&ep->link->mu);
    if (ep->efd < 0)
        ep->efd = eventfd(ep->head ? 1 : 0, EFD_NONBLOCK | EFD_CLOEXEC);
    int fd = ep->efd;
    pthread_mutex_unlock(&ep->link->mu);
    return fd;
}

static ust_time_t ml_next_rx_at(struct ust_device *dev)
{
    struct ml_endpoint *ep = dev->priv;
    pthread_mutex_lock(&ep->link->mu);
    ust_time_t t = ep->head ? ep->head->at : UST_TIME_NEVER;
    pthread_mutex_unlock(&ep->link->mu);
    return t;
}

static void link_unref(struct ust_memlink *l)
{
    pthread_mutex_lock(&l->mu);
    int left = --l->refs;
    pthread_mutex_unlock(&l->mu);
    if (left == 0) {
        pthread_mutex_destroy(&l->mu);
        free(l);
    }
}

static void ml_destroy(struct ust_device *dev)
{
    struct ml_endpoint *ep = dev->priv;
    pthread_mutex_lock(&ep->link->mu);
    while (ep->head) {
        struct ml_frame *fr = ep->head;
        ep->head = fr->next;
        free(fr);
    }
    for (int i = 0; i < MEMLINK_MAX_ENDPOINTS; i++)
        if (ep->link->eps[i] == ep)
            ep->link->eps[i] = NULL;
    pthread_mutex_unlock(&ep->link->mu);
    link_unref(ep->link);
    if (ep->efd >= 0)
        close(ep->efd);
    free(ep);
    free(dev);
}

static const struct ust_device_ops ml_ops = {
    .transmit = ml_transmit,
    .receive = ml_receive,
    .next_rx_at = ml_next_rx_at,
    .fd = ml_fd,
    .destroy = ml_destroy,
    .transmit_iov = ml_transmit_iov,
};

static const struct ust_device_ops ml_offload_ops = {
    .transmit = ml_transmit,
    .receive = ml_receive,
    .next_rx_at = ml_next_rx_at,
    .fd = ml_fd,
    .destroy = ml_destroy,
    .transmit_meta = ml_transmit_meta,
    .receive_meta = ml_receive_meta,
    .transmit_iov = ml_transmit_iov,
};

int ust_memlink_create(uint64_t seed, struct ust_memlink **out)
{
    if (!out)
        return -EINVAL;
    struct ust_memlink *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    rng_seed(&l->rng, seed);
    pthread_mutex_init(&l->mu, NULL);
    l->refs = 1;
    *out = l;
    return 0;
}

void ust_memlink_set_faults(struct ust_memlink *l, const struct ust_faults *f)
{
    pthread_mutex_lock(&l->mu);
    if (f)
        l->faults = *f;
    else
        memset(&l->faults, 0, sizeof(l->faults));
    pthread_mutex_unlock(&l->mu);
}

void ust_memlink_set_offload(struct ust_memlink *l, uint32_t offload, uint32_t gso_max)
{
    pthread_mutex_lock(&l->mu);
    l->offload = offload;
    l->gso_max = gso_max > 65535 ? 65535 : gso_max;
    pthread_mutex_unlock(&l->mu);
}

const struct ust_memlink_stats *ust_memlink_stats(const struct ust_memlink *l) { return &l->st; }

int ust_memlink_attach(struct ust_memlink *l, const char *name, const uint8_t mac[6],
                       struct ust_device **out)
{
    if (!l || !name || !out || strlen(name) >= UST_DEV_NAME_MAX)
        return -EINVAL;
    int slot = -1;
    pthread_mutex_lock(&l->mu);
    for (int i = 0; i < MEMLINK_MAX_ENDPOINTS && slot < 0; i++)
        if (!l->eps[i])
            slot = i;
    pthread_mutex_unlock(&l->mu);
    if (slot < 0)
        return -ENOSPC;
    struct ust_device *d = calloc(1, sizeof(*d));
    struct ml_endpoint *ep = calloc(1, sizeof(*ep));
    if (!d || !ep) {
        free(d);
        free(ep);
        return -ENOMEM;
    }
    ep->link = l;
    ep->dev = d;
    ep->efd = -1; /* made by ml_fd() when an event loop asks for it */
    pthread_mutex_lock(&l->mu);
    l->eps[slot] = ep;
    l->refs++;
    d->offload = l->offload;
    d->gso_max = l->gso_max;
    pthread_mutex_unlock(&l->mu);
    d->ops = d->offload ? &ml_offload_ops : &ml_ops;
    d->priv = ep;
    strcpy(d->name, name);
    d->type = UST_DEV_ETHERNET;
    d->mtu = 1500;
    if (mac)
        memcpy(d->mac, mac, 6);
    *out = d;
    return 0;
}

void ust_memlink_release(struct ust_memlink *l)
{
    if (l)
        link_unref(l);
}

size_t ust_memlink_in_flight(struct ust_memlink *l)
{
    size_t n = 0;
    pthread_mutex_lock(&l->mu);
    for (int i = 0; i < MEMLINK_MAX_ENDPOINTS; i++)
        if (l->eps[i])
            n += l->eps[i]->qlen;
    pthread_mutex_unlock(&l->mu);
    return n;
}
