/* IPv4 routing (RFC 1122 3.3.1): pick the most specific route. */
#include "net/route.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/netif.h"

int route_init(struct ust_stack *s)
{
    s->routes = calloc(1, sizeof(*s->routes));
    return s->routes ? 0 : -ENOMEM;
}

void route_fini(struct ust_stack *s)
{
    free(s->routes);
    s->routes = NULL;
}

static int route_insert(struct ust_stack *s, ust_ip4_t prefix, unsigned len, ust_ip4_t gw, int dev)
{
    struct route_table *t = s->routes;
    for (int i = 0; i < t->n; i++)
        if (t->at[i].prefix == prefix && t->at[i].prefix_len == len)
            return -EEXIST;
    if (t->n >= UST_MAX_ROUTES)
        return -ENOSPC;
    struct route *r = &t->at[t->n++];
    r->prefix = prefix;
    r->prefix_len = len;
    r->mask = prefix_mask(len);
    r->gateway = gw;
    r->dev = dev;
    char p[UST_IP4_STRLEN], g[UST_IP4_STRLEN];
    infof(s, "route=%s/%u, gateway=%s, dev=%s", ust_ip4_format(prefix, p), len,
          gw ? ust_ip4_format(gw, g) : "direct", s->ifs->at[dev].dev->name);
    return 0;
}

int route_add_connected(struct ust_stack *s, ust_ip4_t prefix, unsigned prefix_len, int dev)
{
    return route_insert(s, prefix, prefix_len, 0, dev);
}

int ust_route_add(struct ust_stack *s, ust_ip4_t prefix, unsigned prefix_len, ust_ip4_t gateway,
                  const char *devname)
{
    if (prefix_len > 32 || (prefix & ~prefix_mask(prefix_len)) != 0)
        return -EINVAL;
    int dev = -1;
    if (devname && (dev = netif_index(s, devname)) < 0)
        return -ENODEV;
    if (gateway) {
        /* The gateway must be on a link we are connected to. */
        int gdev = -1;
        for (int i = 0; i < s->ifs->n; i++) {
            const struct netif *nif = &s->ifs->at[i];
            if (nif->up && (gateway & nif->mask) == (nif->addr & nif->mask) &&
                (dev < 0 || dev == i)) {
                gdev = i;
                break;
            }
        }
        if (gdev < 0)
            return -ENETUNREACH;
        dev = gdev;
    } else if (dev < 0) {
        return -EINVAL;
    }
    return route_insert(s, prefix, prefix_len, gateway, dev);
}

int ust_route_del(struct ust_stack *s, ust_ip4_t prefix, unsigned prefix_len)
{
    struct route_table *t = s->routes;
    for (int i = 0; i < t->n; i++) {
        if (t->at[i].prefix == prefix && t->at[i].prefix_len == prefix_len) {
            memmove(&t->at[i], &t->at[i + 1], (size_t)(t->n - i - 1) * sizeof(t->at[0]));
            t->n--;
            return 0;
        }
    }
    return -ESRCH;
}

void route_del_dev(struct ust_stack *s, int dev)
{
    struct route_table *t = s->routes;
    int j = 0;
    for (int i = 0; i < t->n; i++)
        if (t->at[i].dev != dev)
            t->at[j++] = t->at[i];
    t->n = j;
}

int route_lookup(const struct ust_stack *s, ust_ip4_t dst, int *dev, ust_ip4_t *next_hop)
{
    const struct route_table *t = s->routes;
    const struct route *best = NULL;
    for (int i = 0; i < t->n; i++) {
        const struct route *r = &t->at[i];
        if ((dst & r->mask) == r->prefix && (!best || r->prefix_len > best->prefix_len))
            best = r;
    }
    if (!best || !s->ifs->at[best->dev].up)
        return -ENETUNREACH;
    *dev = best->dev;
    *next_hop = best->gateway ? best->gateway : dst;
    return 0;
}
