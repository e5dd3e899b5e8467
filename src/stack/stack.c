/* The stack instance: the composition root. It creates every layer's
 * state, runs the layers' timers from the poll step and takes the earliest
 * of their deadlines. It is the one file that includes every layer; the
 * layers themselves see the instance through core/stack_priv.h, which
 * includes none of them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_priv.h"
#include "net/arp.h"
#include "net/icmp.h"
#include "net/ipv6.h"
#include "net/nd.h"
#include "net/ip_frag.h"
#include "net/ipv4.h"
#include "net/netif.h"
#include "net/ping.h"
#include "net/route.h"
#include "net/route6.h"
#include "transport/socket.h"
#include "transport/tcp.h"

void ust_config_init(struct ust_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->seed = 1;
    cfg->log_level = UST_LOG_INFO;
    cfg->log_fn = ust_log_stderr;
    cfg->arp_cache_size = 64;
    cfg->arp_reachable_time = 60 * UST_SEC;
    cfg->arp_refresh_window = 5 * UST_SEC;
    cfg->arp_retry_interval = 1 * UST_SEC;
    cfg->arp_max_retries = 3;
    cfg->arp_pending_max = 64;
    cfg->ip_default_ttl = 64;
    cfg->ip6_hop_limit = 64;
    cfg->nd_cache_size = 256;
    cfg->nd_pending_max = 64;
    cfg->nd_reachable_time = 30 * UST_SEC;
    cfg->nd_retrans_timer = 1 * UST_SEC;
    cfg->nd_max_solicit = 3;
    cfg->ip6_dad_transmits = 1;
    cfg->ip6_rtr_solicits = 3;
    cfg->pmtu_cache_size = 256;
    cfg->pmtu_expiry = 10 * 60 * UST_SEC;
    cfg->icmp_rate_per_sec = 1000;
    cfg->icmp_burst = 50;
    cfg->icmp_dst_interval = 1 * UST_SEC;
    cfg->icmp_dst_burst = 6;
    cfg->icmp_dst_table_size = 1024;
    cfg->arp_in_use_time = 30 * UST_SEC;
    cfg->reasm_max_per_src = 64;
    cfg->reasm_timeout = 30 * UST_SEC;
    cfg->reasm_mem_max = 4u << 20;
    cfg->max_sockets = 1u << 17; /* 131,072: the table grows to it as sockets open */
    cfg->udp_rcvbuf = 212992;
    cfg->ephemeral_lo = 49152;
    cfg->ephemeral_hi = 65535;
    cfg->tcp_sndbuf = 256 * 1024;
    cfg->tcp_rcvbuf = 256 * 1024;
    cfg->tcp_rcvbuf_max = 4 * 1024 * 1024;
    cfg->tcp_sndbuf_max = 4 * 1024 * 1024;
    cfg->tcp_mem_max = (size_t)256 << 20;
    cfg->tcp_initial_rto = 1 * UST_SEC;
    cfg->tcp_min_rto = 200 * UST_MS;
    cfg->tcp_syn_retries = 6;
    cfg->tcp_max_retries = 15;
    cfg->tcp_delack = 40 * UST_MS;
    cfg->tcp_msl = 30 * UST_SEC;
    cfg->tcp_fin_timeout = 60 * UST_SEC;
    cfg->tcp_max_backlog = 4096;
    cfg->tcp_challenge_ack_rate = 1000;
    cfg->tcp_invalid_ratelimit = 500 * UST_MS;
    cfg->tcp_syncookies = 1;
    cfg->tcp_synack_retries = 5;
    cfg->tcp_max_conns = 1u << 18;
    cfg->tcp_timestamps = true;
    cfg->tcp_sack = true;
    cfg->tcp_loss_probes = true;
    cfg->tcp_congestion = "cubic";
}

/* Frees what ust_stack_create made, whether it finished or not (each
 * *_fini accepts state that was never made). Sockets go first: they
 * point at TCP's connections. Devices go last, after every packet queued
 * for them (ARP, ping replies) has been freed into the pool. */
static void stack_free(struct ust_stack *s)
{
    sock_fini(s);
    tcp_fini(s);
    nd_fini(s);
    ipv6_fini(s);
    route6_fini(s);
    ipv4_fini(s);
    arp_fini(s);
    ping_fini(s);
    icmp_fini(s);
    route_fini(s);
    netif_fini(s);
    pkb_pool_drain(s);
    free(s);
}

int ust_stack_create(const struct ust_config *cfg, struct ust_stack **out)
{
    struct ust_config def;
    if (!out)
        return -EINVAL;
    if (!cfg) {
        ust_config_init(&def);
        cfg = &def;
    }
    if (cfg->arp_cache_size == 0 || cfg->arp_retry_interval == 0 || cfg->ip_default_ttl == 0 ||
        cfg->ephemeral_lo == 0 || cfg->ephemeral_lo > cfg->ephemeral_hi || !cfg->tcp_congestion ||
        !tcp_cc_find(cfg->tcp_congestion))
        return -EINVAL;
    struct ust_stack *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->cfg = *cfg;
    rng_seed(&s->rng, cfg->seed);
    /* Each layer's state, the lowest first. ipv4_init (the first IP id)
     * and tcp_init (the ISN key) draw from the generator, in that order:
     * what a seed produces depends on it. */
    if (netif_init(s) != 0 || arp_init(s) != 0 || route_init(s) != 0 || ipv4_init(s) != 0 ||
        icmp_init(s) != 0 || ping_init(s) != 0 || sock_init(s) != 0 || tcp_init(s) != 0 ||
        ipv6_init(s) != 0 || nd_init(s) != 0 || route6_init(s) != 0) {
        stack_free(s);
        return -ENOMEM;
    }
    debugf(s, "stack created, seed=%llu", (unsigned long long)cfg->seed);
    *out = s;
    return 0;
}

void ust_stack_destroy(struct ust_stack *s)
{
    if (s)
        stack_free(s);
}

int ust_stack_poll(struct ust_stack *s, ust_time_t now)
{
    if (now > s->now)
        s->now = now;
    int frames = netif_poll(s);
    if (arp_next_deadline(s) <= s->now)
        arp_timer(s, s->now);
    if (reasm_next_deadline(s) <= s->now)
        reasm_timer(s, s->now);
    if (ipv6_next_deadline(s) <= s->now)
        ipv6_timer(s, s->now);
    if (nd_next_deadline(s) <= s->now)
        nd_timer(s, s->now);
    if (route6_next_deadline(s) <= s->now)
        route6_timer(s, s->now);
    if (tcp_next_deadline(s) <= s->now)
        tcp_timer(s, s->now);
    return frames;
}

ust_time_t ust_stack_next_deadline(const struct ust_stack *s)
{
    ust_time_t t = arp_next_deadline(s);
    ust_time_t rd = reasm_next_deadline(s);
    if (rd < t)
        t = rd;
    ust_time_t v6 = ipv6_next_deadline(s);
    if (v6 < t)
        t = v6;
    ust_time_t nd = nd_next_deadline(s);
    if (nd < t)
        t = nd;
    ust_time_t r6 = route6_next_deadline(s);
    if (r6 < t)
        t = r6;
    ust_time_t td = tcp_next_deadline(s);
    if (td < t)
        t = td;
    ust_time_t dd = netif_next_deadline(s);
    if (dd < t)
        t = dd;
    return t;
}

const struct ust_stats *ust_stack_stats(const struct ust_stack *s) { return &s->stats; }
