/* Devices and interfaces inside the stack: the seam between the link layer
 * and the drivers. */
#ifndef USTACK_NET_NETIF_H
#define USTACK_NET_NETIF_H

#include "core/stack_priv.h"

#define UST_MAX_DEVICES 8
#define UST_RX_BATCH 64 /* frames pulled from one device per poll */

/* A device the stack owns, and the IPv4 interface configured on it. */
struct netif {
    struct ust_device *dev;
    bool up;          /* has an address */
    bool external_rx; /* the runtime reads this device itself (outside the lock) */
    int dev_err;      /* the driver's last error that made it unusable, or 0 */
    ust_ip4_t addr;
    unsigned prefix_len;
    ust_ip4_t mask;
};

/* The stack's devices, at the index ust_stack_add_device() returned, and
 * the buffer ust_stack_poll() receives into. Owned by netif.c. */
struct netif_table {
    struct netif at[UST_MAX_DEVICES];
    int n;
    uint8_t *rxbuf; /* one frame pulled from a device */
    size_t rxcap;   /* the largest frame of any device */
};

int netif_init(struct ust_stack *s);
/* Destroys the devices (the stack owns them once added) and the table. */
void netif_fini(struct ust_stack *s);

/* Feeds the stack up to UST_RX_BATCH frames from each device it reads
 * itself (not those the runtime reads: external_rx). Returns the number of
 * frames. */
int netif_poll(struct ust_stack *s);
/* Lets every device that batches its transmissions send what it holds
 * (the flush hook). Called at the end of ust_stack_poll and of each call
 * into the stack under the runtime. */
void netif_flush(struct ust_stack *s);

/* What a driver's receive, transmit or flush returned: an error that says
 * the device cannot be used (the interface went down, or disappeared) is
 * logged once, when it starts, and counted; success after one is logged as
 * the device working again. */
void netif_dev_status(struct ust_stack *s, int dev, int err);

/* The earliest time a device has a frame due (memlink delays, loopback). */
ust_time_t netif_next_deadline(const struct ust_stack *s);

/* The index of the device called name, or -1. */
int netif_index(const struct ust_stack *s, const char *name);

/* Takes the address off dev (a DHCP lease ended): its routes go, the
 * interface is down, and sockets bound to the address are told
 * (EADDRNOTAVAIL). 0 or -ENODEV. */
int netif_addr_del(struct ust_stack *s, int dev);

/* Hands a finished frame to the device's driver, counting and tracing it.
 * Pads Ethernet frames to the 60-byte minimum. Consumes p. */
int netif_transmit(struct ust_stack *s, int dev, struct pkbuf *p);

/* Sends an IPv4 packet (p starts at the IP header) to next_hop on dev:
 * broadcast for broadcast addresses, through ARP otherwise; loopback devices
 * take the packet as it is. Consumes p. 0, or -errno. */
int netif_output_ipv4(struct ust_stack *s, int dev, struct pkbuf *p, ust_ip4_t next_hop);

/* Whether the TCP/UDP checksum of the header at l4 (len bytes, its field
 * csum_off bytes in) need not be summed: the frame being received came
 * with metadata that vouches for it (DATA_VALID, or a partial checksum
 * that names this very field). Counts offload.rx_csum_trusted. */
bool netif_rx_csum_trusted(struct ust_stack *s, const uint8_t *l4, size_t len, unsigned csum_off);

/* Whether the device takes frames with meta (offload bits and the hook). */
static inline bool netif_has_meta_rx(const struct ust_device *d)
{
    return d->ops->receive_meta != NULL;
}

/* The largest super-frame (IP packet) the device takes for TCP over IP
 * version 4 or 6 (tso: UST_OFFLOAD_TSO4 or UST_OFFLOAD_TSO6), or 0. */
static inline uint32_t netif_tso_max(const struct ust_device *d, uint32_t tso)
{
    /* Segmentation needs the device to finish each segment's checksum. */
    uint32_t need = tso | UST_OFFLOAD_TX_CSUM;
    return (d->offload & need) == need && d->ops->transmit_meta ? d->gso_max : 0;
}
static inline uint32_t netif_tso4_max(const struct ust_device *d)
{
    return netif_tso_max(d, UST_OFFLOAD_TSO4);
}

static inline uint32_t netif_tso6_max(const struct ust_device *d)
{
    return netif_tso_max(d, UST_OFFLOAD_TSO6);
}

/* The offload bits of all the devices together: TCP leaves its checksum
 * partial only when some device may finish it, and looks for a route's
 * TSO only when some device segments (asked per segment: a loop over at
 * most UST_MAX_DEVICES costs less than a route lookup or a second pass). */
static inline uint32_t netif_offload_any(const struct ust_stack *s)
{
    uint32_t any = 0;
    for (int i = 0; i < s->ifs->n; i++)
        any |= s->ifs->at[i].dev->offload;
    return any;
}

/* The interface on dev, or NULL if it has no address. */
static inline struct netif *netif_get(struct ust_stack *s, int dev)
{
    return (dev >= 0 && dev < s->ifs->n && s->ifs->at[dev].up) ? &s->ifs->at[dev] : NULL;
}

static inline ust_ip4_t netif_bcast(const struct netif *nif) { return nif->addr | ~nif->mask; }

#endif
