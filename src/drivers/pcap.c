/* pcap writer: wraps any device and records what it receives and transmits
 * in the classic libpcap file format (microsecond timestamps). With
 * offloads it records what crossed the device: a super-frame as one record
 * (as tcpdump shows them on a host with offloads), its partial checksum
 * completed in the record so that readers find it correct. */
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ustack/device.h"
#include "wire/checksum.h"

#define PCAP_MAGIC 0xa1b2c3d4u
#define LINKTYPE_ETHERNET 1
#define LINKTYPE_RAW 101    /* bare IPv4/IPv6 */
#define PCAP_SNAPLEN 262144 /* tcpdump's: a 64 KiB super-frame fits */

struct pcap_priv {
    pthread_mutex_t mu; /* receive and transmit may run on different threads */
    struct ust_device *inner;
    FILE *f;
    uint64_t wall_base; /* wall-clock us when the first frame was seen */
    ust_time_t first;   /* `now` of the first frame */
    int started;
};

static void put32(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); } /* host order, as pcap wants */
static void put16(FILE *f, uint16_t v) { fwrite(&v, 2, 1, f); }

static void record(struct pcap_priv *p, const uint8_t *frame, size_t len,
                   const struct ust_pkt_meta *m, ust_time_t now)
{
    pthread_mutex_lock(&p->mu);
    if (!p->started) {
        /* Timestamps follow the stack's clock, anchored to the wall clock
         * once so that captures show real times. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        p->wall_base = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
        p->first = now;
        p->started = 1;
    }
    uint64_t t = p->wall_base + (now >= p->first ? now - p->first : 0);
    size_t caplen = len < PCAP_SNAPLEN ? len : PCAP_SNAPLEN;
    put32(p->f, (uint32_t)(t / 1000000u));
    put32(p->f, (uint32_t)(t % 1000000u));
    put32(p->f, (uint32_t)caplen);
    put32(p->f, (uint32_t)len);
    size_t at = 0;
    if (m && (m->flags & UST_META_NEEDS_CSUM) &&
        (size_t)m->csum_start + m->csum_offset + 2 <= caplen) {
        /* The field holds the pseudo-header sum: finish it for the record. */
        uint16_t sum = cksum_fold(cksum_add(0, frame + m->csum_start, len - m->csum_start));
        uint8_t field[2] = {(uint8_t)(sum >> 8), (uint8_t)sum};
        at = (size_t)m->csum_start + m->csum_offset;
        fwrite(frame, 1, at, p->f);
        fwrite(field, 1, 2, p->f);
        at += 2;
    }
    fwrite(frame + at, 1, caplen - at, p->f);
    fflush(p->f); /* readable while the stack runs */
    pthread_mutex_unlock(&p->mu);
}

static int pcap_transmit(struct ust_device *dev, const uint8_t *frame, size_t len, ust_time_t now)
{
    struct pcap_priv *p = dev->priv;
    record(p, frame, len, NULL, now);
    return p->inner->ops->transmit(p->inner, frame, len, now);
}

static int pcap_transmit_meta(struct ust_device *dev, const uint8_t *frame, size_t len,
                              const struct ust_pkt_meta *m, ust_time_t now)
{
    struct pcap_priv *p = dev->priv;
    record(p, frame, len, m, now);
    return p->inner->ops->transmit_meta(p->inner, frame, len, m, now);
}

static int pcap_receive_meta(struct ust_device *dev, uint8_t *buf, size_t cap,
                             struct ust_pkt_meta *m, ust_time_t now)
{
    struct pcap_priv *p = dev->priv;
    int n = p->inner->ops->receive_meta(p->inner, buf, cap, m, now);
    if (n > 0)
        record(p, buf, (size_t)n, m, now);
    return n;
}

static int pcap_receive(struct ust_device *dev, uint8_t *buf, size_t cap, ust_time_t now)
{
    struct pcap_priv *p = dev->priv;
    if (!p->inner->ops->receive)
        return 0;
    int n = p->inner->ops->receive(p->inner, buf, cap, now);
    if (n > 0)
        record(p, buf, (size_t)n, NULL, now);
    return n;
}

static ust_time_t pcap_next_rx_at(struct ust_device *dev)
{
    struct pcap_priv *p = dev->priv;
    return p->inner->ops->next_rx_at ? p->inner->ops->next_rx_at(p->inner) : UST_TIME_NEVER;
}

static int pcap_fd(struct ust_device *dev)
{
    struct pcap_priv *p = dev->priv;
    return p->inner->ops->fd ? p->inner->ops->fd(p->inner) : -1;
}

static int pcap_flush(struct ust_device *dev)
{
    struct pcap_priv *p = dev->priv;
    return p->inner->ops->flush ? p->inner->ops->flush(p->inner) : 0;
}

static void pcap_destroy(struct ust_device *dev)
{
    struct pcap_priv *p = dev->priv;
    fclose(p->f);
    pthread_mutex_destroy(&p->mu);
    p->inner->ops->destroy(p->inner);
    free(p);
    free(dev);
}

static const struct ust_device_ops pcap_ops = {
    .transmit = pcap_transmit,
    .receive = pcap_receive,
    .next_rx_at = pcap_next_rx_at,
    .fd = pcap_fd,
    .flush = pcap_flush,
    .destroy = pcap_destroy,
};

/* The same, passing offload metadata through, for an inner device that has it. */
static const struct ust_device_ops pcap_meta_ops = {
    .transmit = pcap_transmit,
    .receive = pcap_receive,
    .next_rx_at = pcap_next_rx_at,
    .fd = pcap_fd,
    .destroy = pcap_destroy,
    .transmit_meta = pcap_transmit_meta,
    .receive_meta = pcap_receive_meta,
};

int ust_pcap_wrap(struct ust_device *inner, const char *path, struct ust_device **out)
{
    if (!inner || !path || !out)
        return -EINVAL;
    FILE *f = fopen(path, "wbe");
    if (!f)
        return -errno;
    struct ust_device *d = calloc(1, sizeof(*d));
    struct pcap_priv *p = calloc(1, sizeof(*p));
    if (!d || !p) {
        free(d);
        free(p);
        fclose(f);
        return -ENOMEM;
    }
    put32(f, PCAP_MAGIC);
    put16(f, 2);
    put16(f, 4);
    put32(f, 0); /* thiszone */
    put32(f, 0); /* sigfigs */
    put32(f, PCAP_SNAPLEN);
    put32(f, inner->type == UST_DEV_LOOPBACK ? LINKTYPE_RAW : LINKTYPE_ETHERNET);
    fflush(f);
    pthread_mutex_init(&p->mu, NULL);
    p->inner = inner;
    p->f = f;
    *d = *inner; /* same name, type, MTU, MAC and offloads */
    bool meta = inner->ops->transmit_meta && inner->ops->receive_meta;
    d->ops = meta ? &pcap_meta_ops : &pcap_ops;
    if (!meta)
        d->offload = 0;
    d->priv = p;
    *out = d;
    return 0;
}
