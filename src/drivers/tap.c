/* Linux TAP driver: Ethernet frames through /dev/net/tun (IFF_TAP|IFF_NO_PI),
 * with the virtio-net header and the kernel's offloads when asked for
 * (docs/DESIGN.md, "Offloads"). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ustack/device.h"
#include "wire/vnet.h"

struct tap_priv {
    int fd;
    size_t vnet; /* bytes of virtio-net header before each frame: 0 or VNET_HDR_LEN_MRG */
};

static int tap_transmit_meta(struct ust_device *dev, const uint8_t *frame, size_t len,
                             const struct ust_pkt_meta *m, ust_time_t now)
{
    (void)now;
    struct tap_priv *t = dev->priv;
    uint8_t hdr[VNET_HDR_LEN_MRG];
    static const struct ust_pkt_meta none;
    vnet_emit(m ? m : &none, hdr, t->vnet);
    struct iovec iov[2] = {{.iov_base = hdr, .iov_len = t->vnet},
                           {.iov_base = (void *)(uintptr_t)frame, .iov_len = len}};
    ssize_t n = writev(t->fd, iov, 2);
    if (n < 0)
        return -errno;
    return (size_t)n == len + t->vnet ? 0 : -EIO;
}

/* A frame in pieces (the headers, then TCP's send ring), behind the
 * virtio-net header when the TAP has one: one writev, which the kernel
 * takes as one frame (tun_get_user reads the whole iovec). */
static int tap_transmit_iov(struct ust_device *dev, const struct ust_iov *v, int n,
                            const struct ust_pkt_meta *m, ust_time_t now)
{
    (void)now;
    struct tap_priv *t = dev->priv;
    uint8_t hdr[VNET_HDR_LEN_MRG];
    struct iovec iov[1 + UST_IOV_MAX];
    int k = 0;
    size_t want = 0;
    if (t->vnet) {
        static const struct ust_pkt_meta none;
        vnet_emit(m ? m : &none, hdr, t->vnet);
        iov[k++] = (struct iovec){.iov_base = hdr, .iov_len = t->vnet};
        want += t->vnet;
    }
    for (int i = 0; i < n && i < UST_IOV_MAX; i++) {
        iov[k++] = (struct iovec){.iov_base = (void *)(uintptr_t)v[i].base, .iov_len = v[i].len};
        want += v[i].len;
    }
    ssize_t w = writev(t->fd, iov, k);
    if (w < 0)
        return -errno; /* EAGAIN: the kernel's queue is full; EIO: link down */
    return (size_t)w == want ? 0 : -EIO;
}

static int tap_receive_meta(struct ust_device *dev, uint8_t *buf, size_t cap,
                            struct ust_pkt_meta *m, ust_time_t now)
{
    (void)now;
    struct tap_priv *t = dev->priv;
    uint8_t hdr[VNET_HDR_LEN_MRG];
    struct iovec iov[2] = {{.iov_base = hdr, .iov_len = t->vnet},
                           {.iov_base = buf, .iov_len = cap}};
    for (;;) {
        ssize_t n = readv(t->fd, iov, 2);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -errno;
        }
        if ((size_t)n < t->vnet)
            continue;                         /* never from a kernel that agreed to the header */
        vnet_parse(hdr, t->vnet, t->vnet, m); /* believed only as far as vnet_check allows */
        return (int)((size_t)n - t->vnet);
    }
}

static int tap_transmit_vnet(struct ust_device *dev, const uint8_t *frame, size_t len,
                             ust_time_t now)
{
    return tap_transmit_meta(dev, frame, len, NULL, now);
}

/* For a wrapper that does not pass metadata on: the frame alone. The
 * runner never puts one on a TAP with offloads (docs/DESIGN.md). */
static int tap_receive_vnet(struct ust_device *dev, uint8_t *buf, size_t cap, ust_time_t now)
{
    struct ust_pkt_meta m;
    return tap_receive_meta(dev, buf, cap, &m, now);
}

static int tap_transmit(struct ust_device *dev, const uint8_t *frame, size_t len, ust_time_t now)
{
    (void)now;
    struct tap_priv *t = dev->priv;
    ssize_t n = write(t->fd, frame, len);
    if (n < 0)
        return -errno; /* EAGAIN: the kernel's queue is full; EIO: link down */
    return (size_t)n == len ? 0 : -EIO;
}

static int tap_receive(struct ust_device *dev, uint8_t *buf, size_t cap, ust_time_t now)
{
    (void)now;
    struct tap_priv *t = dev->priv;
    for (;;) {
        ssize_t n = read(t->fd, buf, cap);
        if (n >= 0)
            return (int)n;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN ? 0 : -errno;
    }
}

static int tap_fd(struct ust_device *dev) { return ((struct tap_priv *)dev->priv)->fd; }

static void tap_destroy(struct ust_device *dev)
{
    struct tap_priv *t = dev->priv;
    close(t->fd);
    free(t);
    free(dev);
}

static const struct ust_device_ops tap_ops = {
    .transmit = tap_transmit,
    .receive = tap_receive,
    .fd = tap_fd,
    .destroy = tap_destroy,
    .transmit_iov = tap_transmit_iov,
};

static const struct ust_device_ops tap_vnet_ops = {
    .transmit = tap_transmit_vnet,
    .receive = tap_receive_vnet,
    .fd = tap_fd,
    .destroy = tap_destroy,
    .transmit_meta = tap_transmit_meta,
    .receive_meta = tap_receive_meta,
    .transmit_iov = tap_transmit_iov,
};

static int iface_exists(const char *name)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 0;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    int ok = ioctl(s, SIOCGIFINDEX, &ifr) == 0;
    close(s);
    return ok;
}

static uint32_t iface_mtu(const char *name)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    uint32_t mtu = 1500;
    if (s < 0)
        return mtu;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu >= 68)
        mtu = (uint32_t)ifr.ifr_mtu;
    close(s);
    return mtu;
}

/* The kernel queues frames for us on the TAP's transmit queue (1000 by
 * default, sized for a NIC that drains at line rate). A user-space reader
 * drains in batches and pauses: 20,000 connections opened 1,600 at a time
 * overflowed it (2,118 frames dropped, interop/discard_many) and cost
 * connections whose last ACK was among them. Raised when we may (as root);
 * never lowered. */
#define TAP_TXQUEUELEN 10000
static void iface_deepen_queue(const char *name)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFTXQLEN, &ifr) == 0 && ifr.ifr_qlen < TAP_TXQUEUELEN) {
        ifr.ifr_qlen = TAP_TXQUEUELEN;
        (void)ioctl(s, SIOCSIFTXQLEN, &ifr);
    }
    close(s);
}

static int iface_set_mtu(const char *name, uint32_t mtu)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    ifr.ifr_mtu = (int)mtu;
    int err = ioctl(s, SIOCSIFMTU, &ifr) == 0 ? 0 : -errno;
    close(s);
    return err;
}

/* Asks for the virtio-net header and the offloads; returns the offload
 * bits granted, and sets *vnet to the header's size (0: none, when the
 * kernel refuses it). fd was opened with IFF_VNET_HDR. */
static uint32_t negotiate_offloads(int fd, size_t *vnet)
{
    int sz = VNET_HDR_LEN_MRG;
    if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
        *vnet = VNET_HDR_LEN; /* the default size with IFF_VNET_HDR */
    } else {
        *vnet = VNET_HDR_LEN_MRG;
    }
#ifdef TUNSETVNETLE
    /* vnet.c reads little-endian: say so (the legacy order is the host's,
     * the same on little-endian hosts, where this may fail harmlessly). */
    int le = 1;
    (void)ioctl(fd, TUNSETVNETLE, &le);
#endif
    /* Checksums and TCP segmentation both ways; the kernel then hands us
     * super-frames and takes ours. Older kernels: checksums only. */
    unsigned long want = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    if (ioctl(fd, TUNSETOFFLOAD, want) == 0)
        return UST_OFFLOAD_RX_CSUM | UST_OFFLOAD_TX_CSUM | UST_OFFLOAD_TSO4 | UST_OFFLOAD_TSO6;
    if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM) == 0)
        return UST_OFFLOAD_RX_CSUM | UST_OFFLOAD_TX_CSUM;
    (void)ioctl(fd, TUNSETOFFLOAD, 0UL);
    return 0;
}

int ust_tap_open(const char *name, const uint8_t mac[6], struct ust_device **out, int *created)
{
    return ust_tap_open_opts(name, mac, NULL, out, created);
}

int ust_tap_open_opts(const char *name, const uint8_t mac[6], const struct ust_tap_opts *o,
                      struct ust_device **out, int *created)
{
    /* NOLINTNEXTLINE(misc-redundant-expression): two limits, both 16 today */
    if (!name || !out || strlen(name) >= IFNAMSIZ || strlen(name) >= UST_DEV_NAME_MAX)
        return -EINVAL;
    if (o && o->mtu && (o->mtu < 68 || o->mtu > UST_TAP_MTU_MAX))
        return -EINVAL;
    bool offload = o && o->offload;
    int existed = iface_exists(name);
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    int r = ioctl(fd, TUNSETIFF, &ifr);
    if (r < 0 && offload && errno == EINVAL) {
        /* A kernel (or a device) that will not have the header: plain
         * frames, on a fresh fd. */
        offload = false;
        close(fd);
        fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        r = ioctl(fd, TUNSETIFF, &ifr);
    }
    if (r < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    size_t vnet = 0;
    uint32_t caps = 0;
    if (offload) {
        caps = negotiate_offloads(fd, &vnet);
    } else {
        /* Plain frames: a previous program may have left the kernel
         * segmenting for a reader with a header; take that back. */
        (void)ioctl(fd, TUNSETOFFLOAD, 0UL);
    }
    if (o && o->mtu) {
        int err = iface_set_mtu(name, o->mtu);
        if (err) {
            close(fd);
            return err;
        }
    }
    struct ust_device *d = calloc(1, sizeof(*d));
    struct tap_priv *t = calloc(1, sizeof(*t));
    if (!d || !t) {
        free(d);
        free(t);
        close(fd);
        return -ENOMEM;
    }
    t->fd = fd;
    t->vnet = vnet;
    d->ops = vnet ? &tap_vnet_ops : &tap_ops;
    d->offload = caps;
    d->gso_max = caps & UST_OFFLOAD_TSO4 ? 65535 : 0;
    d->priv = t;
    strcpy(d->name, name);
    d->type = UST_DEV_ETHERNET;
    d->mtu = iface_mtu(name);
    iface_deepen_queue(name);
    if (mac)
        memcpy(d->mac, mac, 6);
    if (created)
        *created = !existed;
    *out = d;
    return 0;
}
