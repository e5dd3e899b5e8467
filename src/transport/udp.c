/* UDP: RFC 768, with the host requirements of RFC 1122 4.1 and ephemeral
 * ports chosen as in RFC 6056 (algorithm 1, random start). */
#include "transport/udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/ip.h"
#include "net/netif.h"
#include "wire/bytes.h"
#include "wire/udp.h"

int udp_bind(struct ust_stack *s, struct sock *sk, const struct ipaddr *addr, uint16_t port)
{
    int err = sock_bind_port(s, sk, addr, port);
    if (err == 0) {
        char a[IPADDR_STRLEN];
        debugf(s, "bound %s:%u", ipaddr_format(&sk->laddr, a), sk->lport);
    }
    return err;
}

int udp_connect(struct ust_stack *s, struct sock *sk, const struct ipaddr *addr, uint16_t port)
{
    if (!addr) {
        sk->connected = false;
        sk->raddr = sock_any(sk);
        sk->rport = 0;
        if (sk->laddr_auto) {
            sk->laddr = sock_any(sk); /* back to the wildcard it was bound to */
            sk->laddr_auto = false;
        }
        return 0;
    }
    if (port == 0)
        return -EINVAL;
    if (!sock_family_takes(sk, addr))
        return -ENETUNREACH;
    if (!sk->lport) {
        int err = udp_bind(s, sk, &sk->laddr, 0);
        if (err)
            return err;
    }
    if (ipaddr_is_any(&sk->laddr)) {
        /* As Linux: connecting fixes the source address too, so
         * getsockname() tells which one the datagrams carry. */
        struct ipaddr src;
        if (!ip_source_for(s, addr, sk->tx.scope, &src))
            return -ENETUNREACH;
        sk->laddr = src;
        sk->laddr_auto = true;
    }
    sk->raddr = *addr;
    sk->rport = port;
    sk->connected = true;
    return 0;
}

static bool is_bcast_dst(const struct ust_stack *s, const struct ipaddr *addr)
{
    if (!ipaddr_is_v4(addr))
        return false; /* IPv6 has no broadcast (RFC 4291 2) */
    ust_ip4_t a = ipaddr_to_v4(addr);
    if (a == 0xffffffffu)
        return true;
    for (int i = 0; i < s->ifs->n; i++) {
        const struct netif *nif = &s->ifs->at[i];
        if (nif->up && nif->prefix_len < 31 && (a & nif->mask) == (nif->addr & nif->mask) &&
            (a | nif->mask) == 0xffffffffu)
            return true;
    }
    return false;
}

ssize_t udp_sendto(struct ust_stack *s, struct sock *sk, const void *data, size_t len,
                   const struct ipaddr *to_addr, uint16_t to_port, uint32_t to_scope)
{
    struct ipaddr dst;
    uint16_t dport;
    struct ip_tx tx = sk->tx;
    if (to_addr) {
        dst = *to_addr;
        dport = to_port;
        tx.scope = to_scope;
    } else if (sk->connected) {
        dst = sk->raddr;
        dport = sk->rport;
    } else {
        return -EDESTADDRREQ;
    }
    if (sk->connected && sk->so_error)
        return -sock_take_error(sk); /* RFC 1122 4.1.3.3: report ICMP errors */
    if (dport == 0 || ipaddr_is_any(&dst))
        return -EINVAL;
    if (!sock_family_takes(sk, &dst))
        return -ENETUNREACH;
    if (len > UDP_MAX_PAYLOAD)
        return -EMSGSIZE;
    if (len && !data)
        return -EFAULT;
    if (is_bcast_dst(s, &dst) && !(sk->flags & SOCK_F_BROADCAST))
        return -EACCES;
    if (!sk->lport) {
        int err = udp_bind(s, sk, &sk->laddr, 0);
        if (err)
            return err;
    }
    /* The source address: the bound one, else the outgoing interface's.
     * Pick it here because the checksum covers it. */
    struct ipaddr src = sk->laddr;
    if (ipaddr_is_any(&src) || (ipaddr_is_v4(&src) && ipaddr_to_v4(&src) == 0xffffffffu)) {
        if (!ip_source_for(s, &dst, tx.scope, &src)) {
            s->stats.ip.drop_no_route++;
            return -ENETUNREACH;
        }
    }
    struct pkbuf *p = pkb_alloc(s, UDP_HDR_LEN + len);
    if (!p)
        return -ENOBUFS;
    if (len)
        memcpy(pkb_data(p) + UDP_HDR_LEN, data, len);
    struct udp_repr u = {.sport = sk->lport, .dport = dport};
    udp_emit(&u, ip_pseudo_sum(&src, &dst, IP_PROTO_UDP), pkb_data(p), len);
    s->stats.udp.tx++;
    int err = ip_output(s, p, IP_PROTO_UDP, &src, &dst, &tx);
    return err ? err : (ssize_t)len;
}

int udp_shutdown(struct ust_stack *s, struct sock *sk, int how)
{
    if (how == SHUT_RD || how == SHUT_RDWR)
        sk->flags |= SOCK_F_SHUT_RD;
    sock_notify(s, sk);
    return sk->connected ? 0 : -ENOTCONN;
}

ssize_t udp_recvfrom(struct ust_stack *s, struct sock *sk, void *buf, size_t cap, int flags,
                     struct ipaddr *from_addr, uint16_t *from_port, uint32_t *from_scope)
{
    if (sk->so_error)
        return -sock_take_error(sk);
    struct dgram *d = sk->rxq;
    if (!d) {
        if (!(sk->flags & SOCK_F_SHUT_RD))
            return -EAGAIN;
        if (from_addr)
            *from_addr = sk->raddr; /* the peer, or "any" */
        if (from_port)
            *from_port = sk->rport;
        return 0;
    }
    size_t n = d->len < cap ? d->len : cap;
    if (n)
        memcpy(buf, d->data, n);
    if (from_addr)
        *from_addr = d->addr;
    if (from_port)
        *from_port = d->port;
    if (from_scope)
        *from_scope = d->scope;
    ssize_t ret = (flags & MSG_TRUNC) ? (ssize_t)d->len : (ssize_t)n;
    if (!(flags & MSG_PEEK)) {
        sk->rxq = d->next;
        if (!sk->rxq)
            sk->rxq_tail = NULL;
        sk->rx_bytes -= sizeof(*d) + d->len;
        sk->rx_count--;
        free(d);
        s->stats.udp.delivered++;
    }
    return ret;
}

void udp_release(struct ust_stack *s, struct sock *sk)
{
    (void)s;
    while (sk->rxq) {
        struct dgram *d = sk->rxq;
        sk->rxq = d->next;
        free(d);
    }
    sk->rxq_tail = NULL;
    sk->rx_bytes = 0;
    sk->rx_count = 0;
}

static void enqueue(struct ust_stack *s, struct sock *sk, const struct ip_meta *ip, uint16_t sport,
                    const uint8_t *data, size_t len)
{
    /* The receive buffer bounds the memory waiting, like SO_RCVBUF: the
     * payload plus each datagram's bookkeeping, so that a flood of empty
     * datagrams is bounded too. */
    size_t cost = sizeof(struct dgram) + len;
    if (sk->rx_bytes + cost > sk->rcvbuf) {
        s->stats.udp.drop_rcvbuf++;
        return;
    }
    struct dgram *d = malloc(sizeof(*d) + len);
    if (!d) {
        s->stats.udp.drop_rcvbuf++;
        return;
    }
    d->next = NULL;
    d->addr = ip->src;
    d->port = sport;
    d->scope = ip_scope_of(ip);
    d->len = len;
    if (len)
        memcpy(d->data, data, len);
    if (sk->rxq_tail)
        sk->rxq_tail->next = d;
    else
        sk->rxq = d;
    sk->rxq_tail = d;
    sk->rx_bytes += cost;
    sk->rx_count++;
    s->stats.udp.queued++;
    sock_notify(s, sk);
}

/* Does sk take a datagram from src:sport to dst? */
static bool takes(const struct sock *sk, const struct ipaddr *src, uint16_t sport,
                  const struct ipaddr *dst)
{
    if (!sock_addr_takes(&sk->laddr, sk->v6only, dst))
        return false;
    return !sk->connected || (sk->rport == sport && ipaddr_eq(&sk->raddr, src));
}

void udp_input(struct ust_stack *s, const struct ip_meta *ip, const uint8_t *payload, size_t len)
{
    struct udp_repr u;
    bool verify = !netif_rx_csum_trusted(s, payload, len, 6);
    int err = udp_parse_csum(payload, len, ip->ph + IP_PROTO_UDP, verify, &u);
    if (err == WIRE_OK && u.checksum == 0 && !ipaddr_is_v4(&ip->dst))
        err = WIRE_ECSUM; /* RFC 8200 8.1: over IPv6 the checksum is mandatory */
    if (err != WIRE_OK) {
        if (err == WIRE_ECSUM)
            s->stats.udp.drop_checksum++;
        else
            s->stats.udp.drop_malformed++;
        return;
    }
    s->stats.udp.rx++;
    const uint8_t *data = payload + UDP_HDR_LEN;
    size_t dlen = (size_t)u.len - UDP_HDR_LEN;
    if (ip->bcast) {
        /* Every socket bound to the port (on any address or that broadcast
         * address) gets its own copy. */
        bool any = false;
        for (struct sock *sk = sock_on_port(s, SOCK_DGRAM, u.dport, NULL); sk;
             sk = sock_on_port(s, SOCK_DGRAM, u.dport, sk)) {
            /* A broadcast goes to sockets bound to any address (or to
             * the broadcast address itself). */
            if (!ipaddr_is_any(&sk->laddr) && !ipaddr_eq(&sk->laddr, &ip->dst))
                continue;
            if (!sock_family_takes(sk, &ip->dst) ||
                (sk->connected && (sk->rport != u.sport || !ipaddr_eq(&sk->raddr, &ip->src))))
                continue;
            enqueue(s, sk, ip, u.sport, data, dlen);
            any = true;
        }
        if (!any)
            s->stats.udp.drop_no_port++; /* never an ICMP error for broadcast */
        return;
    }
    /* Unicast: the most specific match wins (connected > bound address >
     * wildcard). */
    struct sock *best = NULL;
    int best_score = -1;
    for (struct sock *sk = sock_on_port(s, SOCK_DGRAM, u.dport, NULL); sk;
         sk = sock_on_port(s, SOCK_DGRAM, u.dport, sk)) {
        if (!takes(sk, &ip->src, u.sport, &ip->dst))
            continue;
        int score = !ipaddr_is_any(&sk->laddr) + 2 * sk->connected;
        if (score > best_score) {
            best = sk;
            best_score = score;
        }
    }
    if (!best) {
        s->stats.udp.drop_no_port++;
        char a[IPADDR_STRLEN];
        debugf(s, "src=%s:%u, dport=%u: port unreachable", ipaddr_format(&ip->src, a), u.sport,
               u.dport);
        ip_send_port_unreach(s, ip);
        return;
    }
    enqueue(s, best, ip, u.sport, data, dlen);
}

void udp_icmp_error(struct ust_stack *s, const struct icmp_quote *q, const struct icmp_err_class *e)
{
    struct ipaddr src, dst;
    ip_quote_addrs(q, &src, &dst);
    /* RFC 1122 4.1.3.3: every error goes up; like Linux without
     * IP_RECVERR, only connected sockets hear of it. */
    for (struct sock *sk = sock_on_port(s, SOCK_DGRAM, q->sport, NULL); sk;
         sk = sock_on_port(s, SOCK_DGRAM, q->sport, sk)) {
        if (!sk->connected || sk->rport != q->dport || !ipaddr_eq(&sk->raddr, &dst) ||
            !sock_addr_takes(&sk->laddr, sk->v6only, &src))
            continue;
        sk->so_error = e->err;
        s->stats.udp.icmp_errors++;
        sock_notify(s, sk);
    }
}
