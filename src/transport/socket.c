/* The socket table and the options every socket shares. */
#include "transport/socket.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "net/ip.h"
#include "transport/tcp.h"
#include "transport/udp.h"

#define SOCK_GEN_MASK ((1u << (31 - SOCK_SLOT_BITS)) - 1)
#define SOCK_MIN_BUF 2048u
#define SOCK_MAX_BUF (16u << 20)
#define SOCK_NONE UINT32_MAX
#define PORT_BUCKETS 4096 /* the table of bound sockets, by local port */

/* The socket table grows with demand up to cfg.max_sockets: slots are
 * added in doublings, each struct sock allocated once and never moved
 * (connections point at theirs). Free slots wait in a FIFO list, so a
 * closed slot is the last to be used again and a handle's number repeats
 * only after every free slot has been used as often as 2^11 times. */
struct sock_table {
    struct sock **slot;
    unsigned nslots, nused;
    unsigned free_head, free_tail;         /* slot indices, SOCK_NONE when empty */
    struct sock *by_port[2][PORT_BUCKETS]; /* [0] UDP, [1] TCP */
    /* Sockets whose readiness may have changed (sock_notify), FIFO. */
    struct sock *wake_head, *wake_tail;
    struct sock *ready_head, *ready_tail;
    bool watching; /* the ready list is kept */
};

int sock_init(struct ust_stack *s)
{
    if (s->cfg.max_sockets == 0 || s->cfg.max_sockets > SOCK_MAX_SOCKETS)
        return -EINVAL;
    s->socks = calloc(1, sizeof(*s->socks));
    if (!s->socks)
        return -ENOMEM;
    s->socks->free_head = s->socks->free_tail = SOCK_NONE;
    return 0;
}

void sock_fini(struct ust_stack *s)
{
    struct sock_table *t = s->socks;
    if (!t)
        return;
    for (unsigned i = 0; i < t->nslots; i++) {
        struct sock *sk = t->slot[i];
        if (sk->used) {
            udp_release(s, sk);
            /* tcp_fini frees the connections; unlink both ways, or
             * tcp_conn_free() writes through c->sk into a freed socket
             * (a stack destroyed with a TCP socket still open). */
            if (sk->tcp)
                sk->tcp->sk = NULL;
            sk->tcp = NULL;
        }
        free(sk);
    }
    free(t->slot);
    free(t);
    s->socks = NULL;
}

static void free_push(struct sock_table *t, struct sock *sk)
{
    sk->free_next = SOCK_NONE;
    if (t->free_tail == SOCK_NONE)
        t->free_head = sk->slot;
    else
        t->slot[t->free_tail]->free_next = sk->slot;
    t->free_tail = sk->slot;
}

/* More slots, up to cfg.max_sockets: -EMFILE at the limit, -ENOMEM. */
static int grow(struct ust_stack *s)
{
    struct sock_table *t = s->socks;
    unsigned n = t->nslots < 8 ? 16 : 2 * t->nslots;
    if (n > s->cfg.max_sockets)
        n = s->cfg.max_sockets;
    if (n <= t->nslots)
        return -EMFILE;
    struct sock **v = realloc(t->slot, n * sizeof(*v));
    if (!v)
        return -ENOMEM;
    t->slot = v;
    while (t->nslots < n) {
        struct sock *sk = calloc(1, sizeof(*sk));
        if (!sk)
            return t->free_head != SOCK_NONE ? 0 : -ENOMEM;
        sk->slot = t->nslots;
        t->slot[t->nslots++] = sk;
        free_push(t, sk);
    }
    return 0;
}

int sock_open(struct ust_stack *s, int family, int type, bool nonblock)
{
    struct sock_table *t = s->socks;
    if (t->free_head == SOCK_NONE) {
        int err = grow(s);
        if (err)
            return err;
    }
    struct sock *sk = t->slot[t->free_head];
    t->free_head = sk->free_next;
    if (t->free_head == SOCK_NONE)
        t->free_tail = SOCK_NONE;
    unsigned slot = sk->slot;
    uint32_t gen = (sk->gen + 1) & SOCK_GEN_MASK;
    struct sock_link link = sk->link; /* the lists may still hold it */
    memset(sk, 0, sizeof(*sk));
    sk->link = link;
    sk->slot = slot;
    sk->gen = gen ? gen : 1;
    sk->used = true;
    sk->type = type;
    sk->family = family;
    sk->tx.hop_limit = -1;
    sk->laddr = sock_any(sk);
    sk->raddr = sk->laddr;
    sk->flags = nonblock ? SOCK_F_NONBLOCK : 0;
    sk->rcvbuf = type == SOCK_STREAM ? s->cfg.tcp_rcvbuf : s->cfg.udp_rcvbuf;
    sk->sndbuf = type == SOCK_STREAM ? s->cfg.tcp_sndbuf : s->cfg.udp_rcvbuf;
    if (type == SOCK_STREAM && tcp_sock_init(s, sk) != 0) {
        sk->used = false;
        free_push(t, sk);
        return -ENOMEM;
    }
    t->nused++;
    sock_notify(s, sk); /* a watcher learns of it (writable UDP) */
    return sock_handle(sk);
}

int sock_handle(const struct sock *sk) { return (int)((sk->gen << SOCK_SLOT_BITS) | sk->slot); }

void sock_notify(struct ust_stack *s, struct sock *sk)
{
    if (!sk)
        return;
    struct sock_table *t = s->socks;
    if (!sk->link.on_wake) {
        sk->link.on_wake = true;
        sk->link.wake_next = NULL;
        if (t->wake_tail)
            t->wake_tail->link.wake_next = sk;
        else
            t->wake_head = sk;
        t->wake_tail = sk;
    }
    if (t->watching && !sk->link.on_ready) {
        sk->link.on_ready = true;
        sk->link.ready_next = NULL;
        if (t->ready_tail)
            t->ready_tail->link.ready_next = sk;
        else
            t->ready_head = sk;
        t->ready_tail = sk;
    }
}

struct sock *sock_next_woken(struct ust_stack *s)
{
    struct sock_table *t = s->socks;
    struct sock *sk = t->wake_head;
    if (!sk)
        return NULL;
    t->wake_head = sk->link.wake_next;
    if (!t->wake_head)
        t->wake_tail = NULL;
    sk->link.on_wake = false;
    return sk;
}

void sock_watch(struct ust_stack *s)
{
    struct sock_table *t = s->socks;
    if (t->watching)
        return;
    t->watching = true;
    for (unsigned i = 0; i < t->nslots; i++) {
        if (t->slot[i]->used)
            sock_notify(s, t->slot[i]);
    }
}

struct sock *sock_next_ready(struct ust_stack *s)
{
    struct sock_table *t = s->socks;
    for (;;) {
        struct sock *sk = t->ready_head;
        if (!sk)
            return NULL;
        t->ready_head = sk->link.ready_next;
        if (!t->ready_head)
            t->ready_tail = NULL;
        sk->link.on_ready = false;
        if (sk->used)
            return sk; /* a closed one has nothing to report */
    }
}

bool sock_any_ready(const struct ust_stack *s) { return s->socks->ready_head != NULL; }

struct sock *sock_get(struct ust_stack *s, int h)
{
    if (h <= 0)
        return NULL;
    unsigned slot = (unsigned)h & (SOCK_MAX_SOCKETS - 1);
    unsigned gen = (unsigned)h >> SOCK_SLOT_BITS;
    if (slot >= s->socks->nslots)
        return NULL;
    struct sock *sk = s->socks->slot[slot];
    return sk->used && sk->gen == gen ? sk : NULL;
}

unsigned sock_count(const struct ust_stack *s) { return s->socks->nused; }

void sock_addr_gone(struct ust_stack *s, ust_ip4_t addr)
{
    struct ipaddr a = ipaddr_v4(addr);
    for (unsigned i = 0; i < s->socks->nslots; i++) {
        struct sock *sk = s->socks->slot[i];
        if (!sk || !sk->used || !ipaddr_eq(&sk->laddr, &a))
            continue;
        if (sk->tcp && sk->tcp->state != TCPS_CLOSED && sk->tcp->state != TCPS_LISTEN)
            tcp_close_conn(s, sk->tcp, EADDRNOTAVAIL);
        else
            sk->so_error = EADDRNOTAVAIL;
        sock_notify(s, sk);
    }
}

/* ---- bound sockets, by local port ---- */

static struct sock **bucket_of(struct ust_stack *s, int type, uint16_t port)
{
    return &s->socks->by_port[type == SOCK_STREAM][port % PORT_BUCKETS];
}

/* sk takes addr:port (its lport was 0). */
static void port_take(struct ust_stack *s, struct sock *sk, const struct ipaddr *addr,
                      uint16_t port)
{
    struct sock **b = bucket_of(s, sk->type, port);
    sk->laddr = *addr;
    sk->lport = port;
    sk->port_next = *b;
    *b = sk;
}

static void port_leave(struct ust_stack *s, struct sock *sk)
{
    if (!sk->lport)
        return;
    for (struct sock **pp = bucket_of(s, sk->type, sk->lport); *pp; pp = &(*pp)->port_next) {
        if (*pp == sk) {
            *pp = sk->port_next;
            break;
        }
    }
    sk->port_next = NULL;
}

struct sock *sock_on_port(struct ust_stack *s, int type, uint16_t port, const struct sock *prev)
{
    struct sock *sk = prev ? prev->port_next : *bucket_of(s, type, port);
    while (sk && sk->lport != port)
        sk = sk->port_next;
    return sk;
}

int sock_close(struct ust_stack *s, int h)
{
    struct sock *sk = sock_get(s, h);
    if (!sk)
        return -EBADF;
    udp_release(s, sk);
    tcp_release(s, sk);
    port_leave(s, sk);
    sk->used = false; /* the generation stays, so the handle is dead for good */
    s->socks->nused--;
    free_push(s->socks, sk);
    sock_notify(s, sk); /* its waiters wake to EBADF */
    return 0;
}

short sock_events(const struct sock *sk)
{
    if (sk->type == SOCK_STREAM) {
        short ev = tcp_events(sk->tcp);
        if (sk->so_error)
            ev |= POLLERR;
        return ev;
    }
    short ev = POLLOUT; /* UDP can always send (datagrams go straight out) */
    if (sk->rxq || sk->so_error)
        ev |= POLLIN;
    if (sk->flags & SOCK_F_SHUT_RD)
        ev |= POLLIN | POLLRDHUP; /* recv returns 0 */
    if (sk->so_error)
        ev |= POLLERR;
    return ev;
}

static int get_int(const void *val, unsigned len, int *out)
{
    if (!val || len < sizeof(int))
        return -EINVAL;
    memcpy(out, val, sizeof(int));
    return 0;
}

static int put_int(void *val, unsigned *len, int v)
{
    if (!val || !len || *len < sizeof(int))
        return -EINVAL;
    memcpy(val, &v, sizeof(int));
    *len = sizeof(int);
    return 0;
}

static ust_time_t tv_to_us(const struct timeval *tv)
{
    return (ust_time_t)tv->tv_sec * 1000000u + (ust_time_t)tv->tv_usec;
}

/* TCP_CONGESTION: a name, not necessarily NUL-terminated (as Linux). */
static int set_congestion(struct tcp_conn *c, const void *val, unsigned len)
{
    char name[16];
    if (!val)
        return -EFAULT;
    if (len >= sizeof(name))
        len = sizeof(name) - 1;
    memcpy(name, val, len);
    name[len] = 0;
    const struct tcp_cc_ops *cc = tcp_cc_find(name);
    if (!cc)
        return -ENOENT;
    if (cc == c->cc)
        return 0;
    c->cc = cc;
    /* Before the handshake init() runs at connect/SYN time. Later, the new
     * module takes over the current cwnd/ssthresh with fresh state of its
     * own (Linux likewise keeps the window across a switch). */
    c->cubic = (struct cubic_state){0};
    c->bytes_acked = 0;
    return 0;
}

static int tcp_setopt(struct tcp_conn *c, int name, int v)
{
    switch (name) {
    case TCP_NODELAY: c->nodelay = v != 0; return 0;
    case TCP_MAXSEG:
        /* Linux's bounds (TCP_MIN_MSS, MAX_TCP_WINDOW); 0 lifts the cap.
         * It takes effect when the connection opens (the SYN's MSS and
         * ours), or for those a listener accepts. */
        if (v != 0 && (v < 88 || v > 32767))
            return -EINVAL;
        c->user_mss = (uint16_t)v;
        return 0;
    case TCP_KEEPIDLE:
    case TCP_KEEPINTVL:
    case TCP_KEEPCNT:
        if (v < 1 || v > (name == TCP_KEEPCNT ? 127 : 32767))
            return -EINVAL; /* Linux's limits */
        if (name == TCP_KEEPIDLE)
            c->keepidle_s = (unsigned)v;
        else if (name == TCP_KEEPINTVL)
            c->keepintvl_s = (unsigned)v;
        else
            c->keepcnt = (unsigned)v;
        return 0;
    default: return -ENOPROTOOPT;
    }
}

/* IPPROTO_IPV6 options of an AF_INET6 socket (RFC 3493 5.2, RFC 3542). */
static int ipv6_setopt(struct sock *sk, int name, const void *val, unsigned len)
{
    int v;
    if (sk->family != AF_INET6)
        return -ENOPROTOOPT;
    if (get_int(val, len, &v))
        return -EINVAL;
    switch (name) {
    case IPV6_V6ONLY:
        if (sk->lport)
            return -EINVAL; /* as Linux: only before bind */
        sk->v6only = v != 0;
        return 0;
    case IPV6_UNICAST_HOPS:
        if (v < -1 || v > 255)
            return -EINVAL;
        sk->tx.hop_limit = v; /* -1: the interface's (RFC 3493 5.1) */
        return 0;
    case IPV6_TCLASS:
        if (v < -1 || v > 255)
            return -EINVAL;
        sk->tx.tclass = (uint8_t)(v < 0 ? 0 : v);
        return 0;
    default: return -ENOPROTOOPT;
    }
}

static int ipv6_getopt(const struct sock *sk, int name, void *val, unsigned *len);

/* IPPROTO_IP options: what the socket's IPv4 packets carry (an AF_INET6
 * socket's too, to IPv4-mapped peers, as Linux). */
static int ip_setopt(struct sock *sk, int name, const void *val, unsigned len)
{
    int v;
    if (get_int(val, len, &v))
        return -EINVAL;
    switch (name) {
    case IP_TTL:
        if (v != -1 && (v < 1 || v > 255))
            return -EINVAL; /* as Linux; -1: the default */
        sk->tx.ttl = (uint8_t)(v < 0 ? 0 : v);
        return 0;
    case IP_TOS:
        /* As Linux: TCP keeps the ECN bits its own (here: never set). */
        sk->tx.tos = (uint8_t)(sk->type == SOCK_STREAM ? v & ~3 : v);
        return 0;
    default: return -ENOPROTOOPT;
    }
}

static int ip_getopt(const struct ust_stack *s, const struct sock *sk, int name, void *val,
                     unsigned *len)
{
    switch (name) {
    case IP_TTL: return put_int(val, len, sk->tx.ttl ? sk->tx.ttl : s->cfg.ip_default_ttl);
    case IP_TOS: return put_int(val, len, sk->tx.tos);
    default: return -ENOPROTOOPT;
    }
}

int sock_setopt(struct ust_stack *s, struct sock *sk, int level, int name, const void *val,
                unsigned len)
{
    int v = 0;
    if (level == IPPROTO_TCP) {
        if (sk->type != SOCK_STREAM || !sk->tcp)
            return -EOPNOTSUPP;
        if (name == TCP_CONGESTION)
            return set_congestion(sk->tcp, val, len);
        if (get_int(val, len, &v))
            return -EINVAL;
        return tcp_setopt(sk->tcp, name, v);
    }
    if (level == IPPROTO_IPV6)
        return ipv6_setopt(sk, name, val, len);
    if (level == IPPROTO_IP)
        return ip_setopt(sk, name, val, len);
    if (level != SOL_SOCKET)
        return -ENOPROTOOPT;
    switch (name) {
    case SO_KEEPALIVE:
        if (get_int(val, len, &v))
            return -EINVAL;
        if (sk->type != SOCK_STREAM || !sk->tcp)
            return 0; /* accepted and meaningless, as on Linux */
        sk->tcp->keepalive = v != 0;
        if (v && (sk->tcp->state == TCPS_ESTABLISHED || sk->tcp->state == TCPS_CLOSE_WAIT))
            tcp_set_deadline(s, sk->tcp, &sk->tcp->keepalive_at,
                             s->now + (ust_time_t)sk->tcp->keepidle_s * UST_SEC);
        else if (!v)
            tcp_set_deadline(s, sk->tcp, &sk->tcp->keepalive_at, UST_TIME_NEVER);
        return 0;
    case SO_LINGER: {
        struct linger l;
        if (!val || len < sizeof(l))
            return -EINVAL;
        memcpy(&l, val, sizeof(l));
        sk->linger_on = l.l_onoff != 0;
        sk->linger_s = l.l_linger < 0 ? 0 : l.l_linger;
        return 0;
    }
    case SO_RCVTIMEO:
    case SO_SNDTIMEO: {
        struct timeval tv;
        if (!val || len < sizeof(tv))
            return -EINVAL;
        memcpy(&tv, val, sizeof(tv));
        if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
            return -EDOM; /* as Linux */
        if (name == SO_RCVTIMEO)
            sk->rcvtimeo = tv_to_us(&tv);
        else
            sk->sndtimeo = tv_to_us(&tv);
        return 0;
    }
    case SO_RCVBUF:
    case SO_SNDBUF: {
        if (get_int(val, len, &v))
            return -EINVAL;
        /* Like Linux: the kernel doubles the value for bookkeeping overhead
         * and reports the doubled value back. */
        uint64_t b = v < 0 ? 0 : (uint64_t)v * 2u;
        if (b < SOCK_MIN_BUF)
            b = SOCK_MIN_BUF;
        if (b > SOCK_MAX_BUF)
            b = SOCK_MAX_BUF;
        if (name == SO_RCVBUF) {
            sk->rcvbuf = (uint32_t)b;
            sk->rcvbuf_set = true;
        } else {
            sk->sndbuf = (uint32_t)b;
            sk->sndbuf_set = true;
        }
        if (sk->type == SOCK_STREAM)
            tcp_bufs_changed(s, sk);
        return 0;
    }
    case SO_REUSEADDR:
    case SO_BROADCAST: {
        if (get_int(val, len, &v))
            return -EINVAL;
        unsigned f = name == SO_REUSEADDR ? SOCK_F_REUSEADDR : SOCK_F_BROADCAST;
        sk->flags = v ? sk->flags | f : sk->flags & ~f;
        return 0;
    }
    case SO_ERROR:
    case SO_TYPE:
    case SO_PROTOCOL:
    case SO_ACCEPTCONN: return -ENOPROTOOPT; /* read-only */
    default: return -ENOPROTOOPT;
    }
}

/* TCP_INFO: Linux's struct tcp_info (glibc's part of it), as far as this
 * stack keeps the figures; the rest stays 0. Times in microseconds,
 * windows in segments, as Linux. */
static int get_tcp_info(struct ust_stack *s, const struct tcp_conn *c, void *val, unsigned *len)
{
    static const uint8_t linux_state[] = {
        [TCPS_CLOSED] = TCP_CLOSE,
        [TCPS_LISTEN] = TCP_LISTEN,
        [TCPS_SYN_SENT] = TCP_SYN_SENT,
        [TCPS_SYN_RECEIVED] = TCP_SYN_RECV,
        [TCPS_ESTABLISHED] = TCP_ESTABLISHED,
        [TCPS_FIN_WAIT_1] = TCP_FIN_WAIT1,
        [TCPS_FIN_WAIT_2] = TCP_FIN_WAIT2,
        [TCPS_CLOSE_WAIT] = TCP_CLOSE_WAIT,
        [TCPS_CLOSING] = TCP_CLOSING,
        [TCPS_LAST_ACK] = TCP_LAST_ACK,
        [TCPS_TIME_WAIT] = TCP_TIME_WAIT,
    };
    if (!val || !len)
        return -EINVAL;
    struct tcp_info ti;
    memset(&ti, 0, sizeof(ti));
    uint32_t mss = c->snd_mss ? c->snd_mss : 536;
    ti.tcpi_state = linux_state[c->state];
    ti.tcpi_ca_state = c->in_recovery ? TCP_CA_Recovery : c->backoff ? TCP_CA_Loss : TCP_CA_Open;
    ti.tcpi_retransmits = (uint8_t)(c->backoff > 255 ? 255 : c->backoff);
    ti.tcpi_backoff = ti.tcpi_retransmits;
    ti.tcpi_probes = (uint8_t)(c->probes_out > 255 ? 255 : c->probes_out);
    ti.tcpi_options = (uint8_t)((c->ts_ok ? TCPI_OPT_TIMESTAMPS : 0) |
                                (c->sack_ok ? TCPI_OPT_SACK : 0) |
                                (c->ws_ok ? TCPI_OPT_WSCALE : 0));
    ti.tcpi_snd_wscale = c->snd_wscale & 15;
    ti.tcpi_rcv_wscale = c->rcv_wscale & 15;
    ti.tcpi_rto = c->rto;
    ti.tcpi_ato = (uint32_t)s->cfg.tcp_delack;
    ti.tcpi_snd_mss = mss;
    ti.tcpi_rcv_mss = mss;
    ti.tcpi_advmss = tcp_mss_for(s, &c->raddr);
    ti.tcpi_unacked = (c->snd_max - c->snd_una + mss - 1) / mss;
    ti.tcpi_sacked = tcp_sb_sacked_above(&c->sb, c->snd_una) / mss;
    ti.tcpi_rtt = c->srtt;
    ti.tcpi_rttvar = c->rttvar;
    ti.tcpi_snd_cwnd = c->cwnd / mss;
    ti.tcpi_snd_ssthresh = c->ssthresh / mss;
    ti.tcpi_reordering = 3; /* DupThresh */
    ti.tcpi_rcv_space = (uint32_t)c->rcvq.limit;
    ti.tcpi_total_retrans = c->total_retrans;
    /* Like Linux: as much as the caller's buffer takes. */
    unsigned n = *len < sizeof(ti) ? *len : (unsigned)sizeof(ti);
    memcpy(val, &ti, n);
    *len = n;
    return 0;
}

static int ipv6_getopt(const struct sock *sk, int name, void *val, unsigned *len)
{
    if (sk->family != AF_INET6)
        return -ENOPROTOOPT;
    switch (name) {
    case IPV6_V6ONLY: return put_int(val, len, sk->v6only);
    case IPV6_UNICAST_HOPS: return put_int(val, len, sk->tx.hop_limit < 0 ? 64 : sk->tx.hop_limit);
    case IPV6_TCLASS: return put_int(val, len, sk->tx.tclass);
    default: return -ENOPROTOOPT;
    }
}

int sock_getopt(struct ust_stack *s, struct sock *sk, int level, int name, void *val, unsigned *len)
{
    if (level == IPPROTO_TCP) {
        struct tcp_conn *c = sk->tcp;
        if (sk->type != SOCK_STREAM || !c)
            return -EOPNOTSUPP;
        switch (name) {
        case TCP_NODELAY: return put_int(val, len, c->nodelay);
        case TCP_KEEPIDLE: return put_int(val, len, (int)c->keepidle_s);
        case TCP_KEEPINTVL: return put_int(val, len, (int)c->keepintvl_s);
        case TCP_KEEPCNT: return put_int(val, len, (int)c->keepcnt);
        case TCP_MAXSEG:
            /* As Linux: the cap before the connection opens, then the MSS. */
            if (c->user_mss && (c->state == TCPS_CLOSED || c->state == TCPS_LISTEN))
                return put_int(val, len, c->user_mss);
            return put_int(val, len, c->snd_mss ? c->snd_mss : 536);
        case TCP_INFO: return get_tcp_info(s, c, val, len);
        case TCP_CONGESTION: {
            /* Like Linux: the name, truncated to the buffer, NUL-padded. */
            char cc_name[16] = {0};
            if (!val || !len)
                return -EINVAL;
            strncpy(cc_name, c->cc->name, sizeof(cc_name) - 1);
            unsigned n = *len < sizeof(cc_name) ? *len : (unsigned)sizeof(cc_name);
            memcpy(val, cc_name, n);
            *len = n;
            return 0;
        }
        default: return -ENOPROTOOPT;
        }
    }
    if (level == IPPROTO_IPV6)
        return ipv6_getopt(sk, name, val, len);
    if (level == IPPROTO_IP)
        return ip_getopt(s, sk, name, val, len);
    if (level != SOL_SOCKET)
        return -ENOPROTOOPT;
    switch (name) {
    case SO_KEEPALIVE: return put_int(val, len, sk->tcp ? sk->tcp->keepalive : 0);
    case SO_LINGER: {
        struct linger l = {.l_onoff = sk->linger_on, .l_linger = sk->linger_s};
        if (!val || !len || *len < sizeof(l))
            return -EINVAL;
        memcpy(val, &l, sizeof(l));
        *len = sizeof(l);
        return 0;
    }
    case SO_RCVTIMEO:
    case SO_SNDTIMEO: {
        ust_time_t t = name == SO_RCVTIMEO ? sk->rcvtimeo : sk->sndtimeo;
        struct timeval tv = {.tv_sec = (time_t)(t / 1000000u),
                             .tv_usec = (suseconds_t)(t % 1000000u)};
        if (!val || !len || *len < sizeof(tv))
            return -EINVAL;
        memcpy(val, &tv, sizeof(tv));
        *len = sizeof(tv);
        return 0;
    }
    case SO_RCVBUF: return put_int(val, len, (int)sk->rcvbuf);
    case SO_SNDBUF: return put_int(val, len, (int)sk->sndbuf);
    case SO_REUSEADDR: return put_int(val, len, !!(sk->flags & SOCK_F_REUSEADDR));
    case SO_BROADCAST: return put_int(val, len, !!(sk->flags & SOCK_F_BROADCAST));
    case SO_ERROR: {
        /* Taking the error reports it: recv and send then see the closed
         * connection's EOF and EPIPE, as on Linux (one sk_err there). */
        int e = sock_take_error(sk);
        if (e && sk->tcp && sk->tcp->state == TCPS_CLOSED && sk->tcp->error == e)
            sk->tcp->error = 0;
        return put_int(val, len, e);
    }
    case SO_TYPE: return put_int(val, len, sk->type);
    case SO_PROTOCOL: return put_int(val, len, sk->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP);
    case SO_ACCEPTCONN:
        return put_int(val, len, sk->tcp && sk->tcp->state == TCPS_LISTEN); /* listening */
    default: return -ENOPROTOOPT;
    }
}

/* Would two local addresses take some destination in common? */
static bool addrs_overlap(const struct sock *o, const struct ipaddr *a, const struct sock *me)
{
    if (!ipaddr_is_any(&o->laddr))
        return sock_addr_takes(a, me->v6only, &o->laddr);
    if (!ipaddr_is_any(a))
        return sock_addr_takes(&o->laddr, o->v6only, a);
    /* Both wildcards: they clash unless one is IPv4's and the other IPv6
     * only. */
    bool o4 = ipaddr_is_v4(&o->laddr), me4 = ipaddr_is_v4(a);
    if (o4 == me4)
        return true;
    return o4 ? !me->v6only : !o->v6only;
}

static bool port_clash(struct ust_stack *s, const struct sock *me, const struct ipaddr *addr,
                       uint16_t port)
{
    for (const struct sock *o = sock_on_port(s, me->type, port, NULL); o;
         o = sock_on_port(s, me->type, port, o)) {
        if (o == me)
            continue;
        if (!addrs_overlap(o, addr, me))
            continue; /* e.g. different specific addresses */
        bool both = (o->flags & SOCK_F_REUSEADDR) && (me->flags & SOCK_F_REUSEADDR);
        if (me->type == SOCK_DGRAM && both)
            continue; /* UDP: both asked to share */
        if (both && o->tcp && tcp_has_remote(o->tcp))
            continue; /* TCP: a connection, not a listener or a bare bind
                         (a server that closes its listener and opens a
                         new one beside the connections it accepted) */
        return true;
    }
    /* Connections whose socket is gone (TIME-WAIT, closing) keep their
     * port, unless SO_REUSEADDR says the new socket may take it. */
    return me->type == SOCK_STREAM && !(me->flags & SOCK_F_REUSEADDR) &&
           tcp_port_orphaned(s, me, addr, port);
}

int sock_bind_port(struct ust_stack *s, struct sock *sk, const struct ipaddr *addr, uint16_t port)
{
    if (sk->lport)
        return -EINVAL; /* already bound */
    bool limited_bcast = ipaddr_eq(addr, &(struct ipaddr){{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
                                                           0xff, 0xff, 0xff, 0xff}});
    if (!ipaddr_is_any(addr) && !(sk->type == SOCK_DGRAM && limited_bcast) && !ip_is_local(s, addr))
        return -EADDRNOTAVAIL;
    if (port == 0) {
        /* RFC 6056 algorithm 1: a random start, then the next free one. */
        uint32_t lo = s->cfg.ephemeral_lo, n = (uint32_t)s->cfg.ephemeral_hi - lo + 1;
        uint32_t start = rng_below(&s->rng, n);
        for (uint32_t i = 0; i < n && !port; i++) {
            uint16_t p = (uint16_t)(lo + (start + i) % n);
            if (!port_clash(s, sk, addr, p))
                port = p;
        }
        if (!port)
            return -EADDRINUSE;
    } else if (port_clash(s, sk, addr, port)) {
        return -EADDRINUSE;
    }
    port_take(s, sk, addr, port);
    return 0;
}

/* Could a connection to raddr:rport from laddr take port? */
static bool connect_port_free(struct ust_stack *s, const struct sock *me,
                              const struct ipaddr *laddr, uint16_t port, const struct ipaddr *raddr,
                              uint16_t rport)
{
    if (tcp_lookup(s, laddr, port, raddr, rport))
        return false;
    for (const struct sock *o = sock_on_port(s, SOCK_STREAM, port, NULL); o;
         o = sock_on_port(s, SOCK_STREAM, port, o)) {
        if (o == me || !sock_addr_takes(&o->laddr, o->v6only, laddr))
            continue;
        if (!o->tcp || !tcp_has_remote(o->tcp))
            return false; /* listening, or bound without a connection */
    }
    return true;
}

int sock_bind_connect(struct ust_stack *s, struct sock *sk, const struct ipaddr *laddr,
                      const struct ipaddr *raddr, uint16_t rport)
{
    if (sk->lport)
        return -EINVAL;
    uint32_t lo = s->cfg.ephemeral_lo, n = (uint32_t)s->cfg.ephemeral_hi - lo + 1;
    uint32_t start = rng_below(&s->rng, n);
    for (uint32_t i = 0; i < n; i++) {
        uint16_t p = (uint16_t)(lo + (start + i) % n);
        if (connect_port_free(s, sk, laddr, p, raddr, rport)) {
            port_take(s, sk, laddr, p);
            return 0;
        }
    }
    return -EADDRNOTAVAIL;
}

int sock_open_tcp_for(struct ust_stack *s, struct tcp_conn *c, bool nonblock,
                      const struct sock *listener)
{
    /* A plain slot, no new connection. */
    int h = sock_open(s, listener->family, SOCK_DGRAM, nonblock);
    if (h < 0)
        return h;
    struct sock *sk = sock_get(s, h);
    sk->type = SOCK_STREAM;
    sk->tcp = c;
    sk->v6only = listener->v6only;
    sk->tx = listener->tx;
    port_take(s, sk, &c->laddr, c->lport);
    sk->sndbuf = listener->sndbuf;
    sk->rcvbuf = listener->rcvbuf;
    sk->linger_on = listener->linger_on;
    sk->linger_s = listener->linger_s;
    sk->flags |= listener->flags & SOCK_F_REUSEADDR; /* as Linux's clone of the listener */
    c->sk = sk;
    return h;
}
