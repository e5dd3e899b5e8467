/* AF_PACKET driver: attaches the stack to an existing Ethernet interface
 * beside the kernel (a veth end, a bridge port, a NIC), the way microps's
 * packet-socket driver does, through the kernel's PACKET_MMAP rings.
 *
 * - Receive: a TPACKET_V2 ring by default, TPACKET_V3 on request. V2 has a
 *   slot per frame, handed over (and the reader woken) as soon as the frame
 *   is written. V3 packs frames into blocks and hands a block over only
 *   when it is full or when its retire timer fires, at least one jiffy
 *   later (4 ms at HZ=250): fewer wake-ups at high rates, but a lone frame
 *   waits for the timer. Measured on a veth, ping through V3 took 1.5 to
 *   2 ms against V2's and TAP's 0.05 to 0.2 ms, for the same bulk
 *   throughput, hence the default. Either way the driver copies frames out
 *   of the ring and gives the slot or block back: no system call per
 *   frame.
 * - Transmit: a TX ring. transmit() copies the frame into the next free
 *   slot and marks it for sending; flush() (and every TX_KICK_BATCH frames)
 *   asks the kernel to send every marked slot with one send() call.
 * - The stack's own MAC: added to the interface's unicast filter
 *   (PACKET_MR_UNICAST) rather than making the interface promiscuous. A NIC
 *   that filters several unicast addresses in hardware then keeps the other
 *   hosts' traffic away from us; one that cannot is made promiscuous by
 *   the kernel itself. Either way the kernel drops the membership when the
 *   socket closes, so a crash leaves nothing behind.
 * - A classic BPF filter lets into the ring only frames to our MAC or to
 *   broadcast, never the kernel's own outgoing frames: the rest of the
 *   interface's traffic costs us nothing.
 *
 * Errors: when the interface goes down, the kernel reports ENETDOWN on the
 * socket (receive() returns it once, transmit()/flush() while it lasts);
 * when it disappears, sends fail with ENXIO and receive() returns -ENODEV.
 * The stack logs each change of state (net/netif.c). */
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ustack/device.h"

#define PACKET_MTU_MAX 9000      /* larger interface MTUs are used as 9000 */
#define RX_BLOCK_SIZE (1u << 17) /* 128 KiB: about 85 full-size frames */
#define RX_BLOCKS 64             /* 8 MiB of receive ring */
#define RX_RETIRE_MS 1           /* a block is handed over at most this late */
#define TX_FRAMES 1024           /* transmit slots */
#define TX_BLOCK_SIZE (1u << 16)
#define TX_KICK_BATCH 64 /* frames marked before transmit() sends them itself */
/* Where a TX slot's frame starts: after the aligned slot header (the
 * kernel's default when PACKET_TX_HAS_OFF is not set). */
#define TX_DATA_OFF_V2 (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))
#define TX_DATA_OFF_V3 (TPACKET3_HDRLEN - sizeof(struct sockaddr_ll))

struct packet_priv {
    int fd;
    int ifindex;
    bool gone; /* the interface was deleted: nothing more to do */
    uint8_t *map;
    size_t map_len;
    bool v3; /* TPACKET_V3 blocks; else TPACKET_V2 frames */
    /* receive ring */
    uint8_t *rx;
    unsigned rx_frame_size;           /* V2: the size of each slot */
    unsigned rx_frames;               /* V2: the number of slots */
    unsigned rx_block_size;           /* V3: the size of each block */
    unsigned rx_blocks;               /* V3: the number of blocks */
    unsigned rx_cur;                  /* the block to read next */
    struct tpacket_block_desc *rxblk; /* the block being read, or NULL */
    uint8_t *rxpkt;                   /* its next frame */
    uint32_t rxleft;                  /* frames left in it */
    /* transmit ring */
    uint8_t *tx;
    unsigned tx_frame_size;
    unsigned tx_off;     /* where a slot's frame starts */
    unsigned tx_next;    /* the slot to fill next */
    unsigned tx_pending; /* slots marked since the last send() */
};

static int iface_exists(int ifindex)
{
    char name[IF_NAMESIZE];
    return if_indextoname((unsigned)ifindex, name) != NULL;
}

/* Nothing in the ring: say why if the socket has an error to report. The
 * kernel sets ENETDOWN when the interface goes down (and reports it through
 * poll as POLLERR until it is read, which this does). */
static int rx_idle(struct packet_priv *p)
{
    int err = 0;
    socklen_t l = sizeof(err);
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
        return -errno;
    if (err == ENETDOWN && !iface_exists(p->ifindex))
        p->gone = true;
    if (p->gone)
        return -ENODEV;
    return err ? -err : 0;
}

/* TPACKET_V2: one frame per slot, each handed over as soon as it is
 * written. */
static int receive_v2(struct packet_priv *p, uint8_t *buf, size_t cap)
{
    struct tpacket2_hdr *h = (struct tpacket2_hdr *)(p->rx + (size_t)p->rx_cur * p->rx_frame_size);
    if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
        return rx_idle(p);
    size_t n = 0;
    if (h->tp_mac <= p->rx_frame_size && h->tp_snaplen <= p->rx_frame_size - h->tp_mac) {
        n = h->tp_snaplen < cap ? h->tp_snaplen : cap;
        memcpy(buf, (const uint8_t *)h + h->tp_mac, n);
    }
    __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    p->rx_cur = (p->rx_cur + 1) % p->rx_frames;
    return (int)n;
}

static int packet_receive(struct ust_device *dev, uint8_t *buf, size_t cap, ust_time_t now)
{
    (void)now;
    struct packet_priv *p = dev->priv;
    if (!p->v3)
        return receive_v2(p, buf, cap);
    for (;;) {
        if (!p->rxblk) {
            struct tpacket_block_desc *b =
                (struct tpacket_block_desc *)(p->rx + (size_t)p->rx_cur * p->rx_block_size);
            if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
                return rx_idle(p);
            p->rxblk = b;
            p->rxleft = b->hdr.bh1.num_pkts;
            p->rxpkt = (uint8_t *)b + b->hdr.bh1.offset_to_first_pkt;
        }
        if (p->rxleft == 0) {
            /* Every frame read: the block goes back to the kernel. */
            __atomic_store_n(&p->rxblk->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
            p->rxblk = NULL;
            p->rx_cur = (p->rx_cur + 1) % p->rx_blocks;
            continue;
        }
        const struct tpacket3_hdr *h = (const struct tpacket3_hdr *)p->rxpkt;
        const uint8_t *end = (const uint8_t *)p->rxblk + p->rx_block_size;
        if (p->rxpkt + sizeof(*h) > end) {
            p->rxleft = 0; /* a header past the block: never from the kernel */
            continue;
        }
        p->rxleft--;
        p->rxpkt += h->tp_next_offset;
        const uint8_t *frame = (const uint8_t *)h + h->tp_mac;
        if (frame > end || h->tp_snaplen > (size_t)(end - frame)) {
            /* The kernel never writes this; trust nothing past the block. */
            p->rxleft = 0;
            continue;
        }
        /* A frame larger than the stack's buffer (a GRO or GSO super
         * frame: offloads the peer should turn off; in V2 the kernel has
         * already cut it to the slot) is passed on cut short, and the stack
         * drops and counts it as truncated. */
        size_t n = h->tp_snaplen < cap ? h->tp_snaplen : cap;
        memcpy(buf, frame, n);
        return (int)n;
    }
}

/* Asks the kernel to send every slot marked SEND_REQUEST, without waiting. */
static int tx_kick(struct packet_priv *p)
{
    p->tx_pending = 0;
    if (send(p->fd, NULL, 0, MSG_DONTWAIT) >= 0)
        return 0;
    int err = errno;
    if (err == EAGAIN || err == EINTR || err == ENOBUFS) {
        /* The device's queue was full: the kernel stopped at a slot, and
         * it and the ones after it stay marked. The next flush tries again;
         * what the queue dropped, TCP sends again. */
        p->tx_pending = 1;
        return 0;
    }
    if ((err == ENXIO || err == ENODEV || err == ENETDOWN) && !iface_exists(p->ifindex))
        p->gone = true;
    return p->gone ? -ENODEV : -err;
}

/* A TX slot's status and length words: where they are depends on the
 * version of the slot header. */
static uint32_t *tx_status(struct packet_priv *p, uint8_t *slot)
{
    return p->v3 ? &((struct tpacket3_hdr *)(void *)slot)->tp_status
                 : &((struct tpacket2_hdr *)(void *)slot)->tp_status;
}

static int packet_transmit(struct ust_device *dev, const uint8_t *frame, size_t len, ust_time_t now)
{
    (void)now;
    struct packet_priv *p = dev->priv;
    if (p->gone)
        return -ENODEV;
    if (len > p->tx_frame_size - p->tx_off)
        return -EMSGSIZE;
    uint8_t *slot = p->tx + (size_t)p->tx_next * p->tx_frame_size;
    uint32_t *status = tx_status(p, slot);
    if (__atomic_load_n(status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE) {
        /* Every slot is marked or still in the kernel's hands: send what
         * is marked, then look again. The kernel takes the slots in ring
         * order, so a busy slot is never skipped. */
        int err = tx_kick(p);
        if (__atomic_load_n(status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE)
            return err ? err : -ENOBUFS;
    }
    memcpy(slot + p->tx_off, frame, len);
    if (p->v3) {
        struct tpacket3_hdr *h = (struct tpacket3_hdr *)(void *)slot;
        h->tp_len = (uint32_t)len;
        h->tp_next_offset = 0;
    } else {
        ((struct tpacket2_hdr *)(void *)slot)->tp_len = (uint32_t)len;
    }
    __atomic_store_n(status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
    p->tx_next = (p->tx_next + 1) % TX_FRAMES;
    if (++p->tx_pending >= TX_KICK_BATCH)
        return tx_kick(p);
    return 0;
}

static int packet_flush(struct ust_device *dev)
{
    struct packet_priv *p = dev->priv;
    if (p->gone)
        return -ENODEV;
    if (!p->tx_pending)
        return 0;
    int err = tx_kick(p);
    return err ? err : 1;
}

static int packet_fd(struct ust_device *dev) { return ((struct packet_priv *)dev->priv)->fd; }

static void packet_destroy(struct ust_device *dev)
{
    struct packet_priv *p = dev->priv;
    if (p->tx_pending && !p->gone)
        (void)tx_kick(p);
    if (p->map)
        munmap(p->map, p->map_len);
    close(p->fd);
    free(p);
    free(dev);
}

static const struct ust_device_ops packet_ops = {
    .transmit = packet_transmit,
    .receive = packet_receive,
    .fd = packet_fd,
    .flush = packet_flush,
    .destroy = packet_destroy,
};

/* Only frames to mac, to broadcast or to an IPv6 multicast group
 * (33:33:..., RFC 2464 7: the stack checks the group), and none the
 * kernel itself sends. */
static int attach_filter(int fd, const uint8_t mac[6])
{
    uint32_t hi = (uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 | (uint32_t)mac[2] << 8 | mac[3];
    uint32_t lo = (uint32_t)mac[4] << 8 | mac[5];
    struct sock_filter code[] = {
        /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE)),
        /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 10, 0),
        /* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
        /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, hi, 0, 2),
        /* 4 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 4),
        /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, lo, 5, 6),
        /* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffffu, 0, 2),
        /* 7 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 4),
        /* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffu, 2, 3),
        /* 9 */ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
        /* 10 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x3333u, 0, 1),
        /* 11 */ BPF_STMT(BPF_RET | BPF_K, 0x40000u), /* accept, whole frame */
        /* 12 */ BPF_STMT(BPF_RET | BPF_K, 0),        /* drop */
    };
    struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

/* The interface's index, MTU and flags, or -errno (-ENODEV: no such
 * interface; -EPROTONOSUPPORT: not Ethernet; -ENETDOWN: not up). */
static int iface_query(const char *name, int *ifindex, uint32_t *mtu)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    int err = 0;
    if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
        err = errno == ENODEV ? -ENODEV : -errno;
        goto out;
    }
    *ifindex = ifr.ifr_ifindex;
    if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
        err = -errno;
        goto out;
    }
    if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
        err = -EPROTONOSUPPORT;
        goto out;
    }
    *mtu = 1500;
    if (ioctl(s, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu >= 68)
        *mtu = (uint32_t)ifr.ifr_mtu;
    if (*mtu > PACKET_MTU_MAX)
        *mtu = PACKET_MTU_MAX;
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        err = -errno;
    else if (!(ifr.ifr_flags & IFF_UP))
        err = -ENETDOWN;
out:
    close(s);
    return err;
}

static int setup_rings(struct packet_priv *p, uint32_t mtu)
{
    int v = p->v3 ? TPACKET_V3 : TPACKET_V2;
    if (setsockopt(p->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0)
        return -errno;
    int one = 1; /* skip a malformed TX slot rather than stop at it */
    if (setsockopt(p->fd, SOL_PACKET, PACKET_LOSS, &one, sizeof(one)) < 0)
        return -errno;
    /* A slot holds its header and the largest frame: a power of two. */
    p->tx_off = p->v3 ? TX_DATA_OFF_V3 : TX_DATA_OFF_V2;
    unsigned fs = 2048;
    while (fs < TPACKET_ALIGN(TPACKET2_HDRLEN) + 16 + ETH_HLEN + mtu)
        fs *= 2;
    struct tpacket_req3 rx = {
        .tp_block_size = RX_BLOCK_SIZE > fs ? RX_BLOCK_SIZE : fs,
        .tp_frame_size = fs, /* V3: a hint only, it packs frames by their size */
        .tp_retire_blk_tov = p->v3 ? RX_RETIRE_MS : 0,
    };
    rx.tp_block_nr = RX_BLOCK_SIZE * RX_BLOCKS / rx.tp_block_size;
    rx.tp_frame_nr = rx.tp_block_size / fs * rx.tp_block_nr;
    p->rx_frame_size = fs;
    p->rx_frames = rx.tp_frame_nr;
    p->rx_block_size = rx.tp_block_size;
    p->rx_blocks = rx.tp_block_nr;
    /* V2 reads the same request without the V3 fields at its end. */
    if (setsockopt(p->fd, SOL_PACKET, PACKET_RX_RING, &rx,
                   p->v3 ? sizeof(rx) : sizeof(struct tpacket_req)) < 0)
        return -errno;
    p->tx_frame_size = fs;
    unsigned bs = fs > TX_BLOCK_SIZE ? fs : TX_BLOCK_SIZE;
    struct tpacket_req3 tx = {
        .tp_block_size = bs,
        .tp_block_nr = TX_FRAMES / (bs / fs),
        .tp_frame_size = fs,
        .tp_frame_nr = TX_FRAMES,
    };
    if (setsockopt(p->fd, SOL_PACKET, PACKET_TX_RING, &tx,
                   p->v3 ? sizeof(tx) : sizeof(struct tpacket_req)) < 0)
        return -errno;
    size_t rx_len = (size_t)rx.tp_block_size * rx.tp_block_nr;
    size_t tx_len = (size_t)bs * tx.tp_block_nr;
    p->map_len = rx_len + tx_len;
    void *m = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, p->fd, 0);
    if (m == MAP_FAILED) /* MAP_LOCKED needs RLIMIT_MEMLOCK: try without */
        m = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    p->map = m;
    p->rx = p->map;
    p->tx = p->map + rx_len;
    return 0;
}

int ust_packet_open(const char *name, const uint8_t mac[6], unsigned flags, struct ust_device **out)
{
    if (!name || !*name || !mac || !out || (mac[0] & 1) || (flags & ~UST_PACKET_TPACKET_V3))
        return -EINVAL;
    /* NOLINTNEXTLINE(misc-redundant-expression): two limits, both 16 today */
    if (strlen(name) >= IFNAMSIZ || strlen(name) >= UST_DEV_NAME_MAX)
        return -EINVAL;
    int ifindex = 0;
    uint32_t mtu = 0;
    int err = iface_query(name, &ifindex, &mtu);
    if (err)
        return err;
    /* Protocol 0: nothing is queued before the rings and the filter are in
     * place; bind() below starts the capture. */
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    struct ust_device *d = calloc(1, sizeof(*d));
    struct packet_priv *p = calloc(1, sizeof(*p));
    if (!d || !p) {
        err = -ENOMEM;
        goto fail;
    }
    p->fd = fd;
    p->ifindex = ifindex;
    p->v3 = (flags & UST_PACKET_TPACKET_V3) != 0;
    if (attach_filter(fd, mac) < 0) {
        err = -errno;
        goto fail;
    }
    if ((err = setup_rings(p, mtu)) != 0)
        goto fail;
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET,
        .sll_protocol = htons(ETH_P_ALL),
        .sll_ifindex = ifindex,
    };
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        err = -errno;
        goto fail;
    }
    struct packet_mreq mr = {
        .mr_ifindex = ifindex,
        .mr_type = PACKET_MR_UNICAST,
        .mr_alen = 6,
    };
    memcpy(mr.mr_address, mac, 6);
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
        err = -errno;
        goto fail;
    }
    /* IPv6's neighbour discovery speaks to multicast groups: let a NIC's
     * multicast filter pass them (the BPF filter above keeps only 33:33). */
    struct packet_mreq all = {.mr_ifindex = ifindex, .mr_type = PACKET_MR_ALLMULTI};
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &all, sizeof(all)) < 0) {
        err = -errno;
        goto fail;
    }
    d->ops = &packet_ops;
    d->priv = p;
    strcpy(d->name, name);
    d->type = UST_DEV_ETHERNET;
    d->mtu = mtu;
    memcpy(d->mac, mac, 6);
    *out = d;
    return 0;
fail:
    if (p && p->map)
        munmap(p->map, p->map_len);
    free(p);
    free(d);
    close(fd);
    return err;
}
