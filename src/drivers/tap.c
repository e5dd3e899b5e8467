/* Linux TAP driver: Ethernet frames through /dev/net/tun (IFF_TAP|IFF_NO_PI). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ustack/device.h"

struct tap_priv {
    int fd;
};

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

int ust_tap_open(const char *name, const uint8_t mac[6], struct ust_device **out, int *created)
{
    /* NOLINTNEXTLINE(misc-redundant-expression): two limits, both 16 today */
    if (!name || !out || strlen(name) >= IFNAMSIZ || strlen(name) >= UST_DEV_NAME_MAX)
        return -EINVAL;
    int existed = iface_exists(name);
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int err = -errno;
        close(fd);
        return err;
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
    d->ops = &tap_ops;
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
