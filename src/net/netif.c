/* Devices and interfaces: adding them, receiving from them, sending to them. */
#include "net/netif.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/dump.h"
#include "net/arp.h"
#include "net/ethernet.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "net/route.h"
#include "transport/socket.h"
#include "wire/bytes.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/vnet.h"

int netif_init(struct ust_stack *s)
{
    struct netif_table *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->rxcap = 2048;
    t->rxbuf = malloc(t->rxcap);
    if (!t->rxbuf) {
        free(t);
        return -ENOMEM;
    }
    s->ifs = t;
    return 0;
}

void netif_fini(struct ust_stack *s)
{
    struct netif_table *t = s->ifs;
    if (!t)
        return;
    for (int i = 0; i < t->n; i++)
        t->at[i].dev->ops->destroy(t->at[i].dev);
    free(t->rxbuf);
    free(t);
    s->ifs = NULL;
}

static void frame_input(struct ust_stack *s, int dev, const uint8_t *frame, size_t len,
                        const struct ust_pkt_meta *m);

int netif_poll(struct ust_stack *s)
{
    struct netif_table *t = s->ifs;
    int frames = 0;
    for (int i = 0; i < t->n; i++) {
        struct ust_device *d = t->at[i].dev;
        if ((!d->ops->receive && !d->ops->receive_meta) || t->at[i].external_rx)
            continue;
        for (int n = 0; n < UST_RX_BATCH; n++) {
            struct ust_pkt_meta m = {0};
            int len = d->ops->receive_meta ? d->ops->receive_meta(d, t->rxbuf, t->rxcap, &m, s->now)
                                           : d->ops->receive(d, t->rxbuf, t->rxcap, s->now);
            if (len <= 0) {
                if (len < 0)
                    netif_dev_status(s, i, len);
                break;
            }
            if (t->at[i].dev_err)
                netif_dev_status(s, i, 0);
            /* ust_stack_poll set in_step */
            frame_input(s, i, t->rxbuf, (size_t)len, d->ops->receive_meta ? &m : NULL);
            frames++;
        }
    }
    return frames;
}

void netif_flush(struct ust_stack *s)
{
    struct netif_table *t = s->ifs;
    for (int i = 0; i < t->n; i++) {
        struct ust_device *d = t->at[i].dev;
        if (d->ops->flush) {
            /* > 0: it sent, which says the device works; 0: nothing to send */
            int r = d->ops->flush(d);
            if (r < 0 || (r > 0 && t->at[i].dev_err))
                netif_dev_status(s, i, r < 0 ? r : 0);
        }
    }
}

void netif_dev_status(struct ust_stack *s, int dev, int err)
{
    struct netif *nif = &s->ifs->at[dev];
    const char *name = nif->dev->name;
    if (err == 0 || err == -EAGAIN || err == -ENOBUFS) {
        if (err == 0 && nif->dev_err) {
            infof(s, "dev=%s: working again (it was: %s)", name, strerror(-nif->dev_err));
            nif->dev_err = 0;
        }
        return;
    }
    if (err == nif->dev_err)
        return;
    if (nif->dev_err == -ENODEV)
        return; /* gone for good: nothing after that is news */
    nif->dev_err = err;
    s->stats.eth.dev_errors++;
    if (err == -ENETDOWN)
        warnf(s,
              "dev=%s: the interface is down: nothing is sent or received until it is up again "
              "(ip link set %s up)",
              name, name);
    else if (err == -ENODEV || err == -ENXIO)
        errorf(s,
               "dev=%s: the interface is gone (deleted, or its driver unloaded): this device "
               "will send and receive nothing more",
               name);
    else
        warnf(s, "dev=%s: the device fails: %s", name, strerror(-err));
}

ust_time_t netif_next_deadline(const struct ust_stack *s)
{
    ust_time_t t = UST_TIME_NEVER;
    for (int i = 0; i < s->ifs->n; i++) {
        struct ust_device *d = s->ifs->at[i].dev;
        if (d->ops->next_rx_at) {
            ust_time_t r = d->ops->next_rx_at(d);
            if (r < t)
                t = r;
        }
    }
    return t;
}

int ust_stack_add_device(struct ust_stack *s, struct ust_device *dev)
{
    if (!dev)
        return -EINVAL;
    if (s->ifs->n >= UST_MAX_DEVICES || ust_stack_device(s, dev->name)) {
        int err = s->ifs->n >= UST_MAX_DEVICES ? -ENOSPC : -EEXIST;
        dev->ops->destroy(dev);
        return err;
    }
    int idx = s->ifs->n++;
    memset(&s->ifs->at[idx], 0, sizeof(s->ifs->at[idx]));
    s->ifs->at[idx].dev = dev;
    /* A device with offloads may hand over super-frames up to 64 KiB. */
    uint32_t largest = dev->mtu;
    if (dev->ops->receive_meta && dev->offload && largest < IPV4_MAX_LEN)
        largest = IPV4_MAX_LEN;
    size_t need = (size_t)largest + ETH_HDR_LEN;
    if (need > s->ifs->rxcap) {
        /* The receive buffer must hold the largest frame of any device. */
        uint8_t *nb = realloc(s->ifs->rxbuf, need);
        if (nb) {
            s->ifs->rxbuf = nb;
            s->ifs->rxcap = need;
        }
    }
    char mac[18];
    infof(s, "dev=%s, type=%s, mtu=%u, mac=%s, index=%d, offload=%s%s%s%s%s", dev->name,
          dev->type == UST_DEV_ETHERNET ? "ethernet" : "loopback", dev->mtu,
          eth_format(dev->mac, mac), idx, dev->offload ? "" : "none",
          dev->offload & UST_OFFLOAD_RX_CSUM ? "rx-csum " : "",
          dev->offload & UST_OFFLOAD_TX_CSUM ? "tx-csum " : "",
          dev->offload & UST_OFFLOAD_TSO4 ? "tso4 " : "",
          dev->offload & UST_OFFLOAD_TSO6 ? "tso6" : "");
    if (dev->offload & (UST_OFFLOAD_TSO4 | UST_OFFLOAD_TSO6))
        debugf(s, "dev=%s: TCP sends super-segments of up to %u bytes (IP packet)", dev->name,
               dev->gso_max);
    return idx;
}

int netif_index(const struct ust_stack *s, const char *name)
{
    for (int i = 0; i < s->ifs->n; i++)
        if (strncmp(s->ifs->at[i].dev->name, name, UST_DEV_NAME_MAX) == 0)
            return i;
    return -1;
}

struct ust_device *ust_stack_device(struct ust_stack *s, const char *name)
{
    int i = netif_index(s, name);
    return i >= 0 ? s->ifs->at[i].dev : NULL;
}

unsigned ust_if_nametoindex(struct ust_stack *s, const char *name)
{
    return name ? (unsigned)(netif_index(s, name) + 1) : 0;
}

int ust_iface_add(struct ust_stack *s, const char *devname, ust_ip4_t addr, unsigned prefix_len,
                  ust_time_t now)
{
    int d = netif_index(s, devname);
    if (d < 0)
        return -ENODEV;
    if (prefix_len > 32 || addr == 0 || addr == 0xffffffffu || (addr >> 28) == 0xe)
        return -EINVAL;
    struct netif *nif = &s->ifs->at[d];
    if (nif->up)
        return -EEXIST;
    if (now > s->now)
        s->now = now;
    nif->addr = addr;
    nif->prefix_len = prefix_len;
    nif->mask = prefix_len ? 0xffffffffu << (32 - prefix_len) : 0;
    nif->up = true;
    char a[UST_IP4_STRLEN], m[UST_IP4_STRLEN];
    infof(s, "dev=%s, addr=%s/%u, netmask=%s", nif->dev->name, ust_ip4_format(addr, a), prefix_len,
          ust_ip4_format(nif->mask, m));
    int err = route_add_connected(s, addr & nif->mask, prefix_len, d);
    if (err)
        warnf(s, "dev=%s: connected route not added: %s", nif->dev->name, strerror(-err));
    if (nif->dev->type == UST_DEV_ETHERNET)
        arp_announce(s, d);
    return 0;
}

int netif_addr_del(struct ust_stack *s, int dev)
{
    struct netif *nif = netif_get(s, dev);
    if (!nif)
        return -ENODEV;
    ust_ip4_t addr = nif->addr;
    char a[UST_IP4_STRLEN];
    infof(s, "dev=%s, addr=%s/%u: address removed", nif->dev->name, ust_ip4_format(addr, a),
          nif->prefix_len);
    route_del_dev(s, dev);
    nif->up = false;
    nif->addr = 0;
    nif->prefix_len = 0;
    nif->mask = 0;
    sock_addr_gone(s, addr);
    return 0;
}

/* A frame from device dev, inside a poll step (s->in_step is set). */
static void frame_input(struct ust_stack *s, int dev, const uint8_t *frame, size_t len,
                        const struct ust_pkt_meta *m)
{
    s->step_frames++;
    dump_frame(s, "in", s->ifs->at[dev].dev, frame, len);
    if (m && !(s->ifs->at[dev].dev->offload & UST_OFFLOAD_RX_CSUM))
        m = NULL; /* a device that offers no offloads vouches for nothing */
    if (m && (m->flags || m->gso_type)) {
        /* Metadata is believed only as far as the frame bears it out: a
         * header that points past the frame, or says what we never asked
         * for, drops the frame. The lengths inside are checked below as
         * for any frame. */
        int err = vnet_check(m, len);
        unsigned type = m->gso_type & ~UST_GSO_ECN;
        if (err != WIRE_OK || type == UST_GSO_UDP || type == UST_GSO_UDP_L4) {
            s->stats.offload.rx_bad_meta++;
            debugf(s,
                   "dev=%s, len=%zu, flags=0x%x, gso_type=%u, gso_size=%u, csum_start=%u, "
                   "csum_offset=%u: offload metadata does not fit the frame, dropped",
                   s->ifs->at[dev].dev->name, len, m->flags, m->gso_type, m->gso_size,
                   m->csum_start, m->csum_offset);
            return;
        }
        if (type != UST_GSO_NONE)
            s->stats.offload.rx_super++;
        s->rx_meta = m;
    }
    s->rx_frame = frame;
    s->rx_len = len;
    if (s->ifs->at[dev].dev->type == UST_DEV_LOOPBACK) {
        /* No link header: the IP version nibble says which layer. */
        if (len > 0 && (frame[0] >> 4) == 6)
            ipv6_input(s, dev, frame, len, false);
        else
            ipv4_input(s, dev, frame, len, false);
    } else
        eth_input(s, dev, frame, len);
    s->rx_meta = NULL;
    s->rx_frame = NULL;
}

bool netif_rx_csum_trusted(struct ust_stack *s, const uint8_t *l4, size_t len, unsigned csum_off)
{
    const struct ust_pkt_meta *m = s->rx_meta;
    /* Only for the frame itself: a datagram put together from fragments
     * lies elsewhere, and its checksum was never looked at. */
    if (!m || l4 < s->rx_frame || l4 + len > s->rx_frame + s->rx_len)
        return false;
    if (m->flags & UST_META_NEEDS_CSUM) {
        /* From the host itself (the kernel's side of a TAP): the field
         * holds the pseudo-header sum, and nothing crossed a wire. Only
         * when it names this header's checksum field. */
        if (s->rx_frame + m->csum_start != l4 || m->csum_offset != csum_off)
            return false;
    } else if (!(m->flags & UST_META_DATA_VALID)) {
        return false;
    }
    s->stats.offload.rx_csum_trusted++;
    return true;
}

void ust_stack_input(struct ust_stack *s, int dev, const uint8_t *frame, size_t len, ust_time_t now)
{
    ust_stack_input_meta(s, dev, frame, len, NULL, now);
}

void ust_stack_input_meta(struct ust_stack *s, int dev, const uint8_t *frame, size_t len,
                          const struct ust_pkt_meta *m, ust_time_t now)
{
    if (dev < 0 || dev >= s->ifs->n || !frame)
        return;
    if (now > s->now)
        s->now = now;
    bool was = s->in_step;
    s->in_step = true; /* what this frame makes us send is the stack's doing */
    frame_input(s, dev, frame, len, m);
    s->in_step = was;
}

int netif_transmit(struct ust_stack *s, int dev, struct pkbuf *p)
{
    struct ust_device *d = s->ifs->at[dev].dev;
    struct ust_pkt_meta m = {0};
    bool meta = d->offload && d->ops->transmit_meta;
    if (p->csum_at) {
        size_t start = p->csum_at - p->head;
        if (meta && (d->offload & UST_OFFLOAD_TX_CSUM)) {
            m.flags = UST_META_NEEDS_CSUM;
            m.csum_start = (uint16_t)start;
            m.csum_offset = p->csum_off;
            s->stats.offload.tx_csum_partial++;
        } else {
            /* Nothing on the way finishes it (a plain device, the
             * loopback): finish it here, one pass over the segment. */
            pkb_csum_complete(p);
            s->stats.offload.tx_csum_sw++;
        }
    }
    if (p->gso_size && m.flags) {
        /* A super-segment: the device cuts it at gso_size bytes of payload,
         * copying the headers (ipv4_output and ipv6_output send one only
         * to a device that said it takes them). */
        size_t hl = m.csum_start + (size_t)(pkb_data(p)[m.csum_start + 12] >> 4) * 4;
        size_t ip_at = d->type == UST_DEV_ETHERNET ? ETH_HDR_LEN : 0;
        m.gso_type = pkb_data(p)[ip_at] >> 4 == 6 ? UST_GSO_TCPV6 : UST_GSO_TCPV4;
        m.gso_size = p->gso_size;
        m.hdr_len = (uint16_t)hl;
        s->stats.offload.tx_super++;
        s->stats.offload.tx_super_segs += (p->len - hl + p->gso_size - 1) / p->gso_size;
    }
    size_t len = p->len;
    int err;
    bool trace = s->cfg.log_level >= UST_LOG_TRACE; /* frames dumped whole */
    if (pkb_borrowed(p) && d->ops->transmit_iov && len >= ETH_MIN_FRAME && !trace) {
        /* The headers from the buffer, the payload from where it lies
         * (TCP's send ring): no copy here, one writev in the TAP. */
        struct ust_iov iov[UST_IOV_MAX] = {{pkb_data(p), len - pkb_borrowed(p)}};
        int n = 1;
        for (int i = 0; i < 2; i++)
            if (p->xlen[i])
                iov[n++] = (struct ust_iov){p->x[i], p->xlen[i]};
        s->stats.offload.tx_iov++;
        err = d->ops->transmit_iov(d, iov, n, meta ? &m : NULL, s->now);
    } else {
        if (pkb_borrowed(p)) {
            /* A device that wants the frame whole, a frame to pad, or one
             * to dump: the payload is copied in after the headers. */
            s->stats.offload.tx_copied++;
            pkb_linearize(p);
        }
        const uint8_t *frame = pkb_data(p);
        uint8_t padded[ETH_MIN_FRAME];
        if (d->type == UST_DEV_ETHERNET && len < ETH_MIN_FRAME) {
            /* IEEE 802.3: pad to the minimum frame size with zeros. */
            memcpy(padded, frame, len);
            memset(padded + len, 0, ETH_MIN_FRAME - len);
            frame = padded;
            len = ETH_MIN_FRAME;
        }
        if (trace)
            dump_frame(s, "out", d, frame, len);
        err = meta ? d->ops->transmit_meta(d, frame, len, &m, s->now)
                   : d->ops->transmit(d, frame, len, s->now);
    }
    if (err) {
        s->stats.eth.tx_errors++;
        debugf(s, "dev=%s, len=%zu: transmit failed: %s", d->name, len, strerror(-err));
        netif_dev_status(s, dev, err);
    } else {
        s->stats.eth.tx++;
        s->stats.eth.tx_bytes += len;
        /* A batching driver's transmit only queues: its flush tells. */
        if (s->ifs->at[dev].dev_err && !d->ops->flush)
            netif_dev_status(s, dev, 0);
    }
    pkb_free(s, p);
    return err;
}

int netif_output_ipv4(struct ust_stack *s, int dev, struct pkbuf *p, ust_ip4_t next_hop)
{
    struct netif *nif = &s->ifs->at[dev];
    if (nif->dev->type == UST_DEV_LOOPBACK)
        return netif_transmit(s, dev, p);
    if (next_hop == 0xffffffffu ||
        (nif->up && next_hop == netif_bcast(nif) && nif->prefix_len < 31))
        return eth_output(s, dev, p, eth_broadcast, ETH_TYPE_IPV4);
    uint8_t mac[ETH_ADDR_LEN];
    int r = arp_resolve(s, dev, next_hop, p, mac);
    if (r > 0) {
        /* Queued: p now belongs to ARP and waits past this call, when the
         * send ring it may borrow from has moved on. Still inside the
         * call, it takes its bytes in (it is where ARP put it). */
        pkb_linearize(p);
        return 0;
    }
    if (r < 0)
        return r; /* dropped (freed) */
    return eth_output(s, dev, p, mac, ETH_TYPE_IPV4);
}
