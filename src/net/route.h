/* The IPv4 routing table: longest-prefix match over connected routes, static
 * routes and a default gateway. */
#ifndef USTACK_NET_ROUTE_H
#define USTACK_NET_ROUTE_H

#include "core/stack_priv.h"

#define UST_MAX_ROUTES 32

struct route {
    ust_ip4_t prefix, mask;
    unsigned prefix_len;
    ust_ip4_t gateway; /* 0: connected */
    int dev;
};

/* The routes, in the order they were added. Owned by route.c. */
struct route_table {
    struct route at[UST_MAX_ROUTES];
    int n;
};

int route_init(struct ust_stack *s);
void route_fini(struct ust_stack *s);

int route_add_connected(struct ust_stack *s, ust_ip4_t prefix, unsigned prefix_len, int dev);
/* Removes every route through dev (its address went away). */
void route_del_dev(struct ust_stack *s, int dev);
/* The device and next hop for dst. 0, or -ENETUNREACH. */
int route_lookup(const struct ust_stack *s, ust_ip4_t dst, int *dev, ust_ip4_t *next_hop);

static inline ust_ip4_t prefix_mask(unsigned len) { return len ? 0xffffffffu << (32 - len) : 0; }

#endif
