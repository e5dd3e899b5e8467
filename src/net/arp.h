/* ARP (RFC 826): the neighbour cache of Ethernet interfaces, with deadlines,
 * a bounded queue of packets waiting for resolution, retries and give-up. */
#ifndef USTACK_NET_ARP_H
#define USTACK_NET_ARP_H

#include "core/stack_priv.h"

enum arp_state { ARP_FREE = 0, ARP_INCOMPLETE, ARP_RESOLVED };

struct arp_entry {
    uint8_t state;
    bool used;      /* looked up since the last refresh */
    bool verifying; /* RESOLVED: claimed_mac waits for mac to answer */
    /* As wide as the unsigned cfg.arp_max_retries / arp_pending_max they
     * are compared with. */
    unsigned retries; /* requests sent after the first */
    unsigned npending;
    int dev;
    ust_ip4_t ip;
    uint8_t mac[6];
    ust_time_t expires;    /* RESOLVED: entry dies; INCOMPLETE: next request */
    ust_time_t refresh_at; /* RESOLVED: re-probe if used (UST_TIME_NEVER once sent) */
    /* Under attack (arp.c says why): whether the entry is in use, and a
     * different MAC someone claimed for it while it was. */
    ust_time_t last_used;    /* a packet last went through it (0: never) */
    ust_time_t heard_at;     /* mac last answered a verification (0: never) */
    ust_time_t verify_until; /* verifying: claimed_mac is taken at this time */
    uint8_t claimed_mac[6];
    struct pkbuf *pending, *pending_tail;
};

/* The neighbour cache: cfg.arp_cache_size entries, allocated once.
 * Owned by arp.c. */
struct arp_table {
    unsigned size;
    struct arp_entry entry[];
};

int arp_init(struct ust_stack *s);
void arp_fini(struct ust_stack *s);

void arp_input(struct ust_stack *s, int dev, const uint8_t *data, size_t len);

/* Finds the MAC of ip on dev. Returns 0 with mac filled (p untouched);
 * 1 when p was queued until the address resolves (p now belongs to ARP);
 * -errno when p was dropped (and freed). */
int arp_resolve(struct ust_stack *s, int dev, ust_ip4_t ip, struct pkbuf *p, uint8_t mac[6]);

/* Gratuitous ARP request announcing the interface's address (RFC 5227 3). */
void arp_announce(struct ust_stack *s, int dev);

/* RFC 5227 2.1.1 probe: a broadcast request for ip with sender address
 * 0.0.0.0 (the DHCP client checks an offered address so). */
void arp_probe(struct ust_stack *s, int dev, ust_ip4_t ip);

/* Retries, give-ups, refreshes and expiries due at now. */
void arp_timer(struct ust_stack *s, ust_time_t now);
ust_time_t arp_next_deadline(const struct ust_stack *s);

/* For tests and tools: the cached MAC of ip on dev. 0, or -ENOENT when the
 * address is not resolved. */
int arp_lookup(struct ust_stack *s, int dev, ust_ip4_t ip, uint8_t mac[6]);

#endif
