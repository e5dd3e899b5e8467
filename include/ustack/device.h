/* ustack device drivers: the interface between the core and the world.
 *
 * The core calls a device's transmit hook with a finished frame and pulls
 * received frames through its receive hook during ust_stack_poll() (with a
 * runtime, the stack thread reads devices that have an fd itself, outside
 * the lock, and hands the frames to ust_stack_input()). Drivers live at the
 * edge: they may make system calls; the core never does. */
#ifndef USTACK_DEVICE_H
#define USTACK_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UST_DEV_NAME_MAX 16
#define UST_TIME_NEVER UINT64_MAX

typedef uint64_t ust_time_t; /* monotonic microseconds */

enum ust_dev_type {
    UST_DEV_ETHERNET = 1, /* frames carry an Ethernet II header; ARP resolves */
    UST_DEV_LOOPBACK = 2, /* frames are bare IPv4 packets */
};

struct ust_device;

/* Offloads (docs/DESIGN.md, "Offloads"): work a device can do for the
 * core, in struct ust_device's offload bits. The core never asks a device
 * for what it did not say it can do, and works alone when offload is 0. */
#define UST_OFFLOAD_RX_CSUM 0x1u /* received frames may say their TCP/UDP checksum is good */
#define UST_OFFLOAD_TX_CSUM 0x2u /* takes frames whose TCP checksum it completes */
#define UST_OFFLOAD_TSO4 0x4u    /* takes TCP/IPv4 super-frames and segments them (gso_max) */
#define UST_OFFLOAD_TSO6 0x8u    /* the same for TCP/IPv6 */

/* What goes with one frame when offloads are on: the virtio-net header
 * (virtio 1.x, 5.1.6), in host order, with the same numbers. */
#define UST_META_NEEDS_CSUM 0x1u /* checksum partial: sum from csum_start, store at +csum_offset */
#define UST_META_DATA_VALID 0x2u /* the TCP/UDP checksum was verified */
#define UST_GSO_NONE 0
#define UST_GSO_TCPV4 1
#define UST_GSO_UDP 3
#define UST_GSO_TCPV6 4
#define UST_GSO_UDP_L4 5
#define UST_GSO_ECN 0x80u /* with a TCP type: the super-frame has CWR set */

struct ust_pkt_meta {
    uint8_t flags;        /* UST_META_* */
    uint8_t gso_type;     /* UST_GSO_*: a super-frame to cut into gso_size pieces */
    uint16_t hdr_len;     /* headers before the payload (Ethernet + IP + TCP) */
    uint16_t gso_size;    /* payload bytes per wire segment */
    uint16_t csum_start;  /* from the frame's first byte */
    uint16_t csum_offset; /* from csum_start to the checksum field */
};

/* One piece of a frame handed over in pieces (transmit_iov): the headers
 * the core wrote, then the payload where it lies (TCP's send buffer, in
 * one or two pieces), without copying it behind the headers first. */
struct ust_iov {
    const uint8_t *base;
    size_t len;
};
#define UST_IOV_MAX 3 /* pieces of one frame: headers, and a payload that may wrap */

struct ust_device_ops {
    /* Sends one complete frame. The driver copies or writes it before
     * returning; the frame is not valid afterwards. Returns 0 or -errno. */
    int (*transmit)(struct ust_device *dev, const uint8_t *frame, size_t len, ust_time_t now);
    /* Optional. Copies the next received frame into buf and returns its
     * length, 0 when nothing is waiting, or -errno. */
    int (*receive)(struct ust_device *dev, uint8_t *buf, size_t cap, ust_time_t now);
    /* Optional. When the next frame becomes receivable without outside
     * events (memlink delays, loopback); UST_TIME_NEVER if not known. */
    ust_time_t (*next_rx_at)(struct ust_device *dev);
    /* Optional. A file descriptor that becomes readable when receive() has
     * work, for event loops; -1 if none. */
    int (*fd)(struct ust_device *dev);
    /* Optional. A driver that batches (AF_PACKET's TX ring) may hold the
     * frames transmit() accepted until flush(), which the stack calls at
     * the end of ust_stack_poll() and of every socket call. Returns 1 when
     * it sent frames, 0 when it held none, or -errno. */
    int (*flush)(struct ust_device *dev);
    /* Frees the driver's state and the device itself. */
    void (*destroy)(struct ust_device *dev);
    /* Optional, for devices with offloads: transmit with the frame's
     * metadata (a partial checksum, a super-frame); the core calls it
     * instead of transmit when the device has offload bits. */
    int (*transmit_meta)(struct ust_device *dev, const uint8_t *frame, size_t len,
                         const struct ust_pkt_meta *m, ust_time_t now);
    /* Optional: receive that also fills m (zeroed when the frame has none);
     * used instead of receive when present. */
    int (*receive_meta)(struct ust_device *dev, uint8_t *buf, size_t cap, struct ust_pkt_meta *m,
                        ust_time_t now);
    /* Optional: transmit one frame given as n pieces (n <= UST_IOV_MAX),
     * in order, with its metadata (m: NULL on a device without offload
     * bits, else as for transmit_meta). The driver writes or copies the
     * pieces before returning (TAP: one writev, which the kernel takes as
     * one frame). The core uses it, when present, for frames whose payload
     * it would otherwise copy behind their headers (TCP data); every other
     * frame goes through transmit or transmit_meta. */
    int (*transmit_iov)(struct ust_device *dev, const struct ust_iov *iov, int n,
                        const struct ust_pkt_meta *m, ust_time_t now);
};

struct ust_device {
    const struct ust_device_ops *ops;
    void *priv; /* driver state */
    char name[UST_DEV_NAME_MAX];
    enum ust_dev_type type;
    uint32_t mtu;     /* largest IP packet, header included */
    uint8_t mac[6];   /* for UST_DEV_ETHERNET */
    uint32_t offload; /* UST_OFFLOAD_* the device does; 0: plain frames */
    uint32_t gso_max; /* with TSO: the largest IP packet of a super-frame (<= 65535) */
};

/* Built-in drivers. Each returns 0 and a device, or -errno. A device is
 * owned by whoever created it until it is added to a stack; the stack then
 * destroys it with itself. */

/* Discards everything it is given; receives nothing. */
int ust_null_create(const char *name, const uint8_t mac[6], struct ust_device **out);

/* Delivers what it sends back to the same stack (bare IPv4, MTU 65535). */
int ust_loopback_create(struct ust_device **out);

/* Linux TAP device (IFF_TAP | IFF_NO_PI), non-blocking. Attaches to an
 * existing device called name, or creates it when permitted (the created
 * device lives as long as the fd). *created tells which happened (may be
 * NULL). mac is the stack's own address on that link. */
int ust_tap_open(const char *name, const uint8_t mac[6], struct ust_device **out, int *created);

/* Linux AF_PACKET socket on an existing Ethernet interface (a veth end, a
 * bridge port, a NIC), beside the kernel, with PACKET_MMAP rings: a receive
 * ring (TPACKET_V2, or TPACKET_V3 with UST_PACKET_TPACKET_V3: batched
 * blocks, but a frame can wait for the block's timer, a few ms) and a TX
 * ring sent in batches (the flush hook). mac is the stack's own address: the driver
 * adds it to the interface's unicast filter (the kernel makes the interface
 * promiscuous if its filter is full) and takes in only frames to mac or to
 * broadcast. Give the stack an IP address the kernel does not use on that
 * interface. Needs CAP_NET_RAW. -ENODEV: no such interface; -ENETDOWN: it is
 * down; -EPROTONOSUPPORT: not Ethernet; -EPERM: not permitted. */
#define UST_PACKET_TPACKET_V3 1u
int ust_packet_open(const char *ifname, const uint8_t mac[6], unsigned flags,
                    struct ust_device **out);

/* ust_tap_open with choices. offload: ask for the virtio-net header
 * (IFF_VNET_HDR, 12 bytes) and the kernel's checksum and segmentation
 * offloads (TUNSETOFFLOAD TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6); the
 * device's offload bits say what was granted (0 on a kernel without them;
 * *vnet tells whether the header is on). Without, any offloads a previous
 * program left on the device are turned off. mtu: 0 keeps the
 * interface's; else 68..65520, set on the interface (SIOCSIFMTU). */
struct ust_tap_opts {
    bool offload;
    uint32_t mtu;
};
#define UST_TAP_MTU_MAX 65520
int ust_tap_open_opts(const char *name, const uint8_t mac[6], const struct ust_tap_opts *o,
                      struct ust_device **out, int *created);

/* Wraps any device: every frame it receives or transmits is also written to
 * a pcap file (LINKTYPE_ETHERNET, or LINKTYPE_RAW for loopback) that
 * Wireshark and tcpdump read. Takes ownership of inner. */
int ust_pcap_wrap(struct ust_device *inner, const char *path, struct ust_device **out);

/* Wraps any device in a seeded fault injector: each frame received or
 * transmitted is dropped, duplicated, reordered (swapped with the next
 * frame in the same direction) or corrupted with the probabilities in f
 * (delay, jitter and rate are not used). For testing against a real peer
 * where tc netem is not available. Takes ownership of inner. */
struct ust_faults;
int ust_faulty_wrap(struct ust_device *inner, uint64_t seed, const struct ust_faults *f,
                    struct ust_device **out);

/* memlink: an in-process link joining two or more stacks, for tests and
 * simulation. A frame sent by one endpoint reaches every other endpoint (a
 * hub), after the fault injector had its way with it. Deterministic for a
 * given seed. */
struct ust_memlink;

struct ust_faults {
    double drop;              /* probability a frame is lost */
    double duplicate;         /* probability a frame is delivered twice */
    double reorder;           /* probability a frame is held back by reorder_delay */
    double corrupt;           /* probability one random byte is flipped */
    ust_time_t delay;         /* fixed one-way delay, us */
    ust_time_t jitter;        /* extra uniform random delay in [0, jitter], us */
    ust_time_t reorder_delay; /* extra delay of reordered frames (default 1 ms) */
    uint64_t rate_bps;        /* 0: unlimited; else serialisation at this bit rate */
    size_t queue_limit;       /* frames waiting per endpoint; 0: default 1024 */
    /* Optional, for tests that must lose exactly the frames they choose:
     * called for every frame sent (under the link's lock, so it must not
     * call back into the link); true drops it, counted as dropped. */
    bool (*drop_if)(void *arg, const uint8_t *frame, size_t len);
    void *drop_arg;
};

struct ust_memlink_stats {
    uint64_t sent, delivered, dropped, duplicated, reordered, corrupted, overflowed;
};

int ust_memlink_create(uint64_t seed, struct ust_memlink **out);
/* Sets the faults applied to every frame sent from now on. */
void ust_memlink_set_faults(struct ust_memlink *link, const struct ust_faults *f);
const struct ust_memlink_stats *ust_memlink_stats(const struct ust_memlink *link);
/* Adds an endpoint: an Ethernet device with the given name and MAC. */
int ust_memlink_attach(struct ust_memlink *link, const char *name, const uint8_t mac[6],
                       struct ust_device **out);
/* Offers offloads on the endpoints attached from now on (bits of
 * UST_OFFLOAD_*, gso_max for TSO): super-frames and partial checksums
 * cross the link as they were sent, with their metadata, the way a TAP
 * hands them between ustack and the kernel. A frame the link corrupts
 * loses its metadata (a NIC would find the checksum bad): the receiver
 * sums it and drops it. */
void ust_memlink_set_offload(struct ust_memlink *link, uint32_t offload, uint32_t gso_max);
/* Drops the creator's reference; the link is freed once its endpoints are too. */
void ust_memlink_release(struct ust_memlink *link);
/* Frames waiting in the link (for leak checks). */
size_t ust_memlink_in_flight(struct ust_memlink *link);

#ifdef __cplusplus
}
#endif
#endif
