/* TCP connections: the table, initial sequence numbers, and the operations
 * the socket layer calls (RFC 9293 3.10.1-3.10.6: OPEN, SEND, RECEIVE,
 * CLOSE, ABORT). */
#include "transport/tcp.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/siphash.h"
#include "net/ipv4.h"
#include "net/route.h"
#include "transport/socket.h"

#define TCP_HASH_BUCKETS 1024
#define TCP_HASH_MAX (1u << 20) /* buckets: the table stops growing there */

static const char *const state_names[] = {
    "CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
    "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT",
};

const char *tcp_state_name(enum tcp_state st)
{
    return (unsigned)st <= TCPS_TIME_WAIT ? state_names[st] : "?";
}

int tcp_init(struct ust_stack *s)
{
    const struct tcp_cc_ops *cc = tcp_cc_find(s->cfg.tcp_congestion ? s->cfg.tcp_congestion : "");
    if (!cc)
        return -EINVAL; /* an unknown congestion control name */
    struct tcp_stack *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->default_cc = cc;
    t->nbuckets = TCP_HASH_BUCKETS;
    t->hash = calloc(t->nbuckets, sizeof(*t->hash));
    if (!t->hash) {
        free(t);
        return -ENOMEM;
    }
    for (int i = 0; i < 16; i += 8) {
        uint64_t r = rng_next(&s->rng);
        memcpy(t->isn_key + i, &r, 8);
    }
    tbucket_init(&t->challenge, s->cfg.tcp_challenge_ack_rate, s->cfg.tcp_challenge_ack_rate, 0);
    s->tcp = t;
    return 0;
}

static void conn_free(struct ust_stack *s, struct tcp_conn *c);

void tcp_fini(struct ust_stack *s)
{
    if (!s->tcp)
        return;
    while (s->tcp->all)
        conn_free(s, s->tcp->all);
    free(s->tcp->hash);
    free(s->tcp);
    s->tcp = NULL;
}

static unsigned bucket(const struct tcp_stack *t, ust_ip4_t la, uint16_t lp, ust_ip4_t ra,
                       uint16_t rp)
{
    uint32_t h = la * 2654435761u ^ ra * 2246822519u ^ ((uint32_t)lp << 16 | rp) * 3266489917u;
    return (h ^ (h >> 15)) % t->nbuckets;
}

/* Doubles the table when it holds more connections than buckets, so a
 * lookup stays a short walk. A server closing a connection per request
 * keeps a minute of them in TIME-WAIT: wrk at 14,000 requests/s left
 * 140,000, chains of 140 in 1024 buckets walked for every segment. If the
 * larger table cannot be had, the old one still works. */
static void hash_grow(struct tcp_stack *t)
{
    if (t->nhashed <= t->nbuckets || t->nbuckets >= TCP_HASH_MAX)
        return;
    unsigned n = t->nbuckets * 2;
    struct tcp_conn **h = calloc(n, sizeof(*h));
    if (!h)
        return;
    struct tcp_conn **old = t->hash;
    unsigned oldn = t->nbuckets;
    t->hash = h;
    t->nbuckets = n;
    for (unsigned i = 0; i < oldn; i++) {
        struct tcp_conn *c = old[i], *next;
        for (; c; c = next) {
            next = c->hnext;
            unsigned b = bucket(t, c->laddr, c->lport, c->raddr, c->rport);
            c->hnext = h[b];
            h[b] = c;
        }
    }
    free(old);
}

static void hash_insert(struct ust_stack *s, struct tcp_conn *c)
{
    struct tcp_stack *t = s->tcp;
    t->nhashed++;
    hash_grow(t);
    unsigned b = bucket(t, c->laddr, c->lport, c->raddr, c->rport);
    c->hnext = t->hash[b];
    t->hash[b] = c;
}

static void hash_remove(struct ust_stack *s, struct tcp_conn *c)
{
    struct tcp_stack *t = s->tcp;
    struct tcp_conn **pp = &t->hash[bucket(t, c->laddr, c->lport, c->raddr, c->rport)];
    while (*pp && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp) {
        *pp = c->hnext;
        t->nhashed--;
    }
    c->hnext = NULL;
}

struct tcp_conn *tcp_lookup(struct ust_stack *s, ust_ip4_t la, uint16_t lp, ust_ip4_t ra,
                            uint16_t rp)
{
    struct tcp_stack *t = s->tcp;
    for (struct tcp_conn *c = t->hash[bucket(t, la, lp, ra, rp)]; c; c = c->hnext)
        if (c->lport == lp && c->rport == rp && c->laddr == la && c->raddr == ra)
            return c;
    return NULL;
}

struct tcp_conn *tcp_find_listener(struct ust_stack *s, ust_ip4_t la, uint16_t lp)
{
    struct tcp_conn *wild = NULL;
    for (struct tcp_conn *c = s->tcp->listeners; c; c = c->lnext) {
        if (c->state != TCPS_LISTEN || c->lport != lp)
            continue;
        if (c->laddr == la)
            return c;
        if (c->laddr == 0)
            wild = c;
    }
    return wild;
}

/* RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
 * M a 4-microsecond timer. */
static uint32_t isn_for(struct ust_stack *s, const struct tcp_conn *c)
{
    uint8_t tuple[12];
    memcpy(tuple, &c->laddr, 4);
    memcpy(tuple + 4, &c->raddr, 4);
    memcpy(tuple + 8, &c->lport, 2);
    memcpy(tuple + 10, &c->rport, 2);
    return (uint32_t)siphash24(s->tcp->isn_key, tuple, sizeof(tuple)) + (uint32_t)(s->now / 4);
}

uint16_t tcp_mss_for(const struct ust_stack *s, ust_ip4_t raddr)
{
    int dev;
    ust_ip4_t nh;
    uint32_t mtu = 576;
    if (ipv4_is_local(s, raddr)) {
        for (int i = 0; i < s->nifs; i++)
            if (s->ifs[i].up && s->ifs[i].dev->type == UST_DEV_LOOPBACK)
                mtu = s->ifs[i].dev->mtu;
    } else if (route_lookup(s, raddr, &dev, &nh) == 0) {
        mtu = s->ifs[dev].dev->mtu;
    }
    uint32_t mss = mtu - IPV4_HDR_LEN - TCP_HDR_LEN;
    return (uint16_t)(mss > 65495 ? 65495 : mss);
}

static struct tcp_conn *conn_new(struct ust_stack *s)
{
    struct tcp_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->cc = s->tcp->default_cc;
    c->rec = &tcp_newreno_recovery;
    c->rto = (uint32_t)s->cfg.tcp_initial_rto;
    tcp_timer_stop(c);
    c->delack_at = c->keepalive_at = c->tw_at = UST_TIME_NEVER;
    c->keepidle_s = 7200;
    c->keepintvl_s = 75;
    c->keepcnt = 9;
    asm_init(&c->ooo);
    c->next = s->tcp->all;
    if (c->next)
        c->next->prev = c;
    else
        s->tcp->all_tail = c;
    s->tcp->all = c;
    s->tcp->nconns++;
    return c;
}

static void all_unlink(struct ust_stack *s, struct tcp_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->tcp->all = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        s->tcp->all_tail = c->prev;
    c->next = c->prev = NULL;
}

void tcp_time_wait_restart(struct ust_stack *s, struct tcp_conn *c)
{
    c->tw_at = s->now + 2 * s->cfg.tcp_msl;
    if (s->tcp->all_tail == c)
        return;
    all_unlink(s, c);
    c->prev = s->tcp->all_tail;
    c->prev->next = c; /* the list had another connection: its tail */
    s->tcp->all_tail = c;
}

static bool unlink_from(struct tcp_conn **head, struct tcp_conn *c)
{
    while (*head && *head != c)
        head = &(*head)->qnext;
    if (!*head)
        return false;
    *head = c->qnext;
    c->qnext = NULL;
    return true;
}

static void conn_free(struct ust_stack *s, struct tcp_conn *c)
{
    /* A listener's children die with it: queued connections are reset. */
    while (c->synq || c->acceptq) {
        struct tcp_conn *ch = c->synq ? c->synq : c->acceptq;
        if (c->synq == ch)
            c->synq = ch->qnext;
        else
            c->acceptq = ch->qnext;
        ch->parent = NULL;
        if (ch->state != TCPS_CLOSED)
            tcp_send_rst_conn(s, ch);
        conn_free(s, ch);
    }
    if (c->parent) {
        struct tcp_conn *l = c->parent;
        if (unlink_from(&l->synq, c))
            l->syn_qlen--;
        else if (unlink_from(&l->acceptq, c))
            l->accept_qlen--;
        l->acceptq_tail = NULL;
        for (struct tcp_conn *a = l->acceptq; a; a = a->qnext)
            l->acceptq_tail = a;
    }
    hash_remove(s, c); /* harmless if it was not hashed */
    for (struct tcp_conn **pp = &s->tcp->listeners; *pp; pp = &(*pp)->lnext) {
        if (*pp == c) {
            *pp = c->lnext;
            break;
        }
    }
    all_unlink(s, c);
    s->tcp->nconns--;
    ring_fini(&c->sndq);
    ring_fini(&c->rcvq);
    if (c->sk)
        c->sk->tcp = NULL;
    free(c);
}

void tcp_wake(struct ust_stack *s, struct tcp_conn *c)
{
    (void)c;
    sock_notify(s);
}

void tcp_set_state(struct ust_stack *s, struct tcp_conn *c, enum tcp_state st)
{
    char r[UST_IP4_STRLEN];
    debugf(s, "%u->%s:%u: %s -> %s", c->lport, ust_ip4_format(c->raddr, r), c->rport,
           tcp_state_name(c->state), tcp_state_name(st));
    if (st == TCPS_ESTABLISHED) {
        s->stats.tcp.established++;
        debugf(s, "%u->%s:%u: mss %u, window scale %s (ours %u, theirs %u), timestamps %s, "
               "sack %s, %s", c->lport, r, c->rport, c->snd_mss, c->ws_ok ? "on" : "off",
               c->rcv_wscale, c->snd_wscale, c->ts_ok ? "on" : "off", c->sack_ok ? "on" : "off",
               c->cc->name);
    }
    c->state = st;
    tcp_wake(s, c);
}

void tcp_close_conn(struct ust_stack *s, struct tcp_conn *c, int err)
{
    if (err) {
        c->error = err;
        if (c->sk)
            c->sk->so_error = err;
    }
    hash_remove(s, c);
    c->state = TCPS_CLOSED;
    tcp_timer_stop(c);
    c->delack_at = c->keepalive_at = c->tw_at = UST_TIME_NEVER;
    tcp_wake(s, c);
    /* Without a socket (closed by the application, or never accepted)
     * nobody will look at it again; otherwise the socket keeps the CLOSED
     * connection to report err. */
    if (c->sk != NULL)
        return;
    if (s->tcp->timer_pass) { /* the timers' walk still holds it */
        c->reap_next = s->tcp->reap;
        s->tcp->reap = c;
        return;
    }
    conn_free(s, c);
}

void tcp_reap(struct ust_stack *s)
{
    while (s->tcp->reap) {
        struct tcp_conn *c = s->tcp->reap;
        s->tcp->reap = c->reap_next;
        conn_free(s, c);
    }
}

static int bufs_init(struct tcp_conn *c, uint32_t sndbuf, uint32_t rcvbuf)
{
    if (ring_init(&c->sndq, sndbuf) != 0)
        return -ENOMEM;
    if (ring_init(&c->rcvq, rcvbuf) != 0) {
        ring_fini(&c->sndq);
        return -ENOMEM;
    }
    return 0;
}

/* With window scaling (RFC 7323) the window reaches 65535 << 14 bytes; the
 * ring is kept to 4 MiB (a peer without scaling sees at most 65535). */
#define TCP_MAX_RCVBUF (4u << 20)
static uint32_t rcvbuf_size(uint32_t want) { return want > TCP_MAX_RCVBUF ? TCP_MAX_RCVBUF : want; }
/* The auto-tuning ceiling: the configured one, within the ring's limit. */
static uint32_t rcvbuf_max(const struct ust_stack *s, uint32_t cap)
{
    uint32_t m = rcvbuf_size(s->cfg.tcp_rcvbuf_max);
    return m > cap ? m : cap;
}

/* RFC 7323 2.3: the smallest shift that lets a window of cap bytes fit
 * in the 16-bit field, at most 14. */
static uint8_t wscale_for(uint32_t cap)
{
    uint8_t sh = 0;
    while (sh < 14 && ((uint64_t)65535 << sh) < cap)
        sh++;
    return sh;
}

static void start_conn(struct ust_stack *s, struct tcp_conn *c)
{
    c->iss = isn_for(s, c);
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->recover = c->iss; /* RFC 6582: no recovery point yet */
    c->snd_mss = tcp_mss_for(s, c->raddr);
    c->ws_ok = false;
    c->snd_wscale = c->rcv_wscale = 0;
    /* An auto-tuned buffer may grow: offer the shift its ceiling needs. */
    c->req_wscale = wscale_for(c->rcv_auto ? rcvbuf_max(s, (uint32_t)c->rcvq.cap)
                                           : (uint32_t)c->rcvq.cap);
    c->rcv_space_at = s->now;
    c->rcv_copied = 0;
    c->ts_ok = c->sack_ok = false;
    c->rec = &tcp_newreno_recovery; /* until the handshake agrees on SACK */
    c->seg_opts = 0;
    c->ts_offset = (uint32_t)rng_next(&s->rng); /* RFC 7323 5.4, 7.1 */
    c->sb.n = 0;
    c->cc->init(c);
    c->last_rx = s->now;
}

struct tcp_conn *tcp_new_child(struct ust_stack *s, struct tcp_conn *l, ust_ip4_t laddr,
                               uint16_t lport, ust_ip4_t raddr, uint16_t rport)
{
    /* The backlog bounds both queues (a SYN flood fills it and stops). */
    if (l->syn_qlen + l->accept_qlen >= l->backlog) {
        s->stats.tcp.drop_backlog++;
        return NULL;
    }
    struct tcp_conn *c = conn_new(s);
    if (!c)
        return NULL;
    c->laddr = laddr;
    c->lport = lport;
    c->raddr = raddr;
    c->rport = rport;
    c->nodelay = l->nodelay;
    c->keepalive = l->keepalive;
    c->keepidle_s = l->keepidle_s;
    c->keepintvl_s = l->keepintvl_s;
    c->keepcnt = l->keepcnt;
    c->cc = l->cc;
    c->rcv_auto = l->rcv_auto;
    c->snd_auto = l->snd_auto;
    if (bufs_init(c, (uint32_t)l->sndq.cap, (uint32_t)l->rcvq.cap) != 0) {
        conn_free(s, c);
        return NULL;
    }
    start_conn(s, c);
    c->state = TCPS_SYN_RECEIVED;
    c->parent = l;
    c->qnext = l->synq;
    l->synq = c;
    l->syn_qlen++;
    hash_insert(s, c);
    s->stats.tcp.passive_opens++;
    return c;
}

void tcp_child_established(struct ust_stack *s, struct tcp_conn *c)
{
    struct tcp_conn *l = c->parent;
    if (unlink_from(&l->synq, c))
        l->syn_qlen--;
    if (l->acceptq_tail)
        l->acceptq_tail->qnext = c;
    else
        l->acceptq = c;
    l->acceptq_tail = c;
    l->accept_qlen++;
    tcp_wake(s, l);
}

short tcp_events(const struct tcp_conn *c)
{
    if (!c)
        return POLLHUP;
    short ev = 0;
    switch (c->state) {
    case TCPS_LISTEN:
        return c->acceptq ? POLLIN : 0;
    case TCPS_CLOSED:
        /* Never connected, reset, or timed out: readable (EOF or the
         * error), writable (the error), hung up. */
        return c->error ? (POLLIN | POLLOUT | POLLHUP | POLLERR) : (c->fin_received ? POLLIN | POLLHUP : POLLOUT | POLLHUP);
    case TCPS_SYN_SENT:
    case TCPS_SYN_RECEIVED:
        return 0;
    default:
        break;
    }
    if (c->rcvq.len > 0 || c->fin_received || c->shut_rd)
        ev |= POLLIN;
    if (!c->fin_queued && ring_space(&c->sndq) > 0)
        ev |= POLLOUT;
    if (c->fin_received && c->fin_queued)
        ev |= POLLHUP;
    return ev;
}

/* ---- the socket layer's calls ---- */

int tcp_listen(struct ust_stack *s, struct sock *sk, int backlog)
{
    struct tcp_conn *c = sk->tcp;
    if (!c)
        return -EINVAL;
    if (c->state == TCPS_LISTEN) {
        c->backlog = backlog <= 0 ? 1 : (unsigned)backlog;
        return 0;
    }
    if (c->state != TCPS_CLOSED || c->error)
        return -EINVAL;
    if (!sk->lport) {
        int err = sock_bind_port(s, sk, 0, 0);
        if (err)
            return err;
    }
    c->laddr = sk->laddr;
    c->lport = sk->lport;
    c->backlog = backlog <= 0 ? 1 : (unsigned)backlog > s->cfg.tcp_max_backlog ? s->cfg.tcp_max_backlog : (unsigned)backlog;
    /* The buffers' sizes are what children inherit (rings of size 0 here). */
    ring_fini(&c->sndq);
    ring_fini(&c->rcvq);
    c->sndq.cap = sk->sndbuf;
    c->snd_auto = !sk->sndbuf_set && s->cfg.tcp_sndbuf_max > sk->sndbuf;
    c->rcvq.cap = rcvbuf_size(sk->rcvbuf);
    c->rcv_auto = !sk->rcvbuf_set && s->cfg.tcp_rcvbuf_max > c->rcvq.cap;
    c->state = TCPS_LISTEN;
    c->lnext = s->tcp->listeners;
    s->tcp->listeners = c;
    char a[UST_IP4_STRLEN];
    debugf(s, "listening on %s:%u, backlog=%u", ust_ip4_format(c->laddr, a), c->lport, c->backlog);
    return 0;
}

int tcp_accept(struct ust_stack *s, struct sock *sk, struct tcp_conn **out)
{
    struct tcp_conn *l = sk->tcp;
    if (!l || l->state != TCPS_LISTEN)
        return -EINVAL;
    struct tcp_conn *c = l->acceptq;
    if (!c)
        return -EAGAIN;
    l->acceptq = c->qnext;
    if (!l->acceptq)
        l->acceptq_tail = NULL;
    l->accept_qlen--;
    c->qnext = NULL;
    c->parent = NULL;
    (void)s;
    *out = c;
    return 0;
}

int tcp_connect(struct ust_stack *s, struct sock *sk, ust_ip4_t addr, uint16_t port)
{
    struct tcp_conn *c = sk->tcp;
    if (!c)
        return -EINVAL;
    switch (c->state) {
    case TCPS_CLOSED: break;
    case TCPS_SYN_SENT: return -EALREADY;
    case TCPS_LISTEN: return -EINVAL;
    default: return -EISCONN;
    }
    if (c->error)
        return -EISCONN; /* a used socket: Linux wants a new one too */
    if (port == 0 || addr == 0 || addr == 0xffffffffu || (addr >> 28) == 0xe)
        return addr == 0 || port == 0 ? -EINVAL : -ENETUNREACH;
    ust_ip4_t src = sk->laddr ? sk->laddr : ipv4_source_for(s, addr);
    if (src == 0)
        return -ENETUNREACH;
    if (!sk->lport) {
        int err = sock_bind_port(s, sk, 0, 0);
        if (err)
            return err;
    }
    if (tcp_lookup(s, src, sk->lport, addr, port))
        return -EADDRNOTAVAIL;
    c->rcv_auto = !sk->rcvbuf_set && s->cfg.tcp_rcvbuf_max > rcvbuf_size(sk->rcvbuf);
    c->snd_auto = !sk->sndbuf_set && s->cfg.tcp_sndbuf_max > sk->sndbuf;
    if (bufs_init(c, sk->sndbuf, rcvbuf_size(sk->rcvbuf)) != 0)
        return -ENOBUFS;
    sk->laddr = src;
    c->laddr = src;
    c->lport = sk->lport;
    c->raddr = addr;
    c->rport = port;
    start_conn(s, c);
    hash_insert(s, c);
    c->state = TCPS_SYN_SENT;
    s->stats.tcp.active_opens++;
    char a[UST_IP4_STRLEN];
    debugf(s, "%u->%s:%u: connecting", c->lport, ust_ip4_format(addr, a), port);
    tcp_send_syn(s, c);
    return -EINPROGRESS;
}

/* Send-buffer auto-tuning: the buffer holds everything in flight plus
 * what waits, so it must outgrow the window the congestion control and
 * the peer allow, or it caps the rate below both. When the application
 * finds it full, it grows to twice that window, up to cfg.tcp_sndbuf_max,
 * unless the application sized it (SO_SNDBUF). */
static void sndbuf_autotune(struct ust_stack *s, struct tcp_conn *c)
{
    if (!c->snd_auto)
        return;
    uint32_t wnd = c->cwnd < c->max_snd_wnd ? c->cwnd : c->max_snd_wnd;
    uint64_t want = 2 * (uint64_t)wnd;
    if (want <= c->sndq.cap)
        return;
    if (want < 2 * (uint64_t)c->sndq.cap)
        want = 2 * (uint64_t)c->sndq.cap; /* in doublings: each growth copies */
    uint64_t max = s->cfg.tcp_sndbuf_max > TCP_MAX_RCVBUF ? TCP_MAX_RCVBUF : s->cfg.tcp_sndbuf_max;
    if (want > max)
        want = max;
    if (want <= c->sndq.cap || ring_grow(&c->sndq, (size_t)want) != 0)
        return;
    s->stats.tcp.sndbuf_grown++;
    debugf(s, "%u->%u: send buffer grown to %llu bytes", c->lport, c->rport,
           (unsigned long long)want);
}

ssize_t tcp_send(struct ust_stack *s, struct sock *sk, const void *buf, size_t len, bool more)
{
    struct tcp_conn *c = sk->tcp;
    if (!c)
        return -EPIPE;
    if (c->error) {
        int e = c->error;
        c->error = 0;
        sk->so_error = 0;
        return e == ECONNRESET || e == ETIMEDOUT || e == ECONNREFUSED ? -e : -EPIPE;
    }
    switch (c->state) {
    case TCPS_ESTABLISHED:
    case TCPS_CLOSE_WAIT:
        break;
    case TCPS_SYN_SENT:
    case TCPS_SYN_RECEIVED:
        return -EAGAIN; /* not yet: a blocking caller waits */
    case TCPS_CLOSED:
    case TCPS_LISTEN:
        return c->iss ? -EPIPE : -ENOTCONN;
    default:
        return -EPIPE;
    }
    if (c->fin_queued)
        return -EPIPE;
    if (ring_space(&c->sndq) < len)
        sndbuf_autotune(s, c);
    size_t n = ring_write(&c->sndq, buf, len);
    if (n == 0)
        return -EAGAIN;
    c->more = more;
    tcp_output(s, c);
    return (ssize_t)n;
}

/* Receive-buffer auto-tuning (in the manner of Linux's dynamic right-
 * sizing): what the application reads in one round trip is what the path
 * delivers; the window must be about twice that for the sender's window
 * to keep growing, so the buffer grows whenever it is smaller, up to
 * cfg.tcp_rcvbuf_max. A buffer the application sized (SO_RCVBUF) is left
 * alone. The round trip is the handshake's or the data's, at least 1 ms:
 * a shorter interval only makes the estimate lower. */
static void rcvbuf_autotune(struct ust_stack *s, struct tcp_conn *c, uint32_t n)
{
    if (!c->rcv_auto)
        return;
    c->rcv_copied += n;
    ust_time_t rtt = c->rtt_valid ? c->srtt : 100 * UST_MS;
    if (rtt < UST_MS)
        rtt = UST_MS;
    if (s->now - c->rcv_space_at < rtt)
        return;
    uint64_t want = 2 * (uint64_t)c->rcv_copied + 16 * (uint64_t)c->snd_mss;
    c->rcv_copied = 0;
    c->rcv_space_at = s->now;
    if (want <= c->rcvq.cap)
        return;
    uint32_t max = rcvbuf_max(s, (uint32_t)c->rcvq.cap);
    uint64_t cap = want > 2 * (uint64_t)c->rcvq.cap ? want : 2 * (uint64_t)c->rcvq.cap;
    if (cap > max)
        cap = max;
    if (cap <= c->rcvq.cap || ring_grow(&c->rcvq, (size_t)cap) != 0)
        return;
    s->stats.tcp.rcvbuf_grown++;
    debugf(s, "%u->%u: receive buffer grown to %llu bytes", c->lport, c->rport,
           (unsigned long long)cap);
}

ssize_t tcp_recv(struct ust_stack *s, struct sock *sk, void *buf, size_t len, int flags)
{
    struct tcp_conn *c = sk->tcp;
    if (!c)
        return 0;
    if (c->rcvq.len == 0) {
        if (c->error) {
            int e = c->error;
            c->error = 0;
            sk->so_error = 0;
            return -e;
        }
        if (c->fin_received || c->shut_rd)
            return 0; /* end of stream */
        switch (c->state) {
        case TCPS_CLOSED:
            return c->iss ? 0 : -ENOTCONN;
        case TCPS_LISTEN:
            return -ENOTCONN;
        default:
            return -EAGAIN;
        }
    }
    uint32_t before = tcp_rcv_window(c);
    size_t n = ring_peek(&c->rcvq, 0, buf, len);
    if (!(flags & MSG_PEEK)) {
        ring_consume(&c->rcvq, n);
        rcvbuf_autotune(s, c, (uint32_t)n);
        /* The window opened: tell the peer if it matters (RFC 1122
         * 4.2.3.3: by at least min(rcvbuf/2, MSS)). */
        uint32_t after = tcp_rcv_window(c);
        if (after > before && c->state != TCPS_CLOSED && !c->fin_received &&
            (before < c->snd_mss || after - before >= c->snd_mss))
            tcp_send_ack(s, c);
    }
    return (ssize_t)n;
}

int tcp_shutdown(struct ust_stack *s, struct sock *sk, int how)
{
    struct tcp_conn *c = sk->tcp;
    if (!c || c->state == TCPS_LISTEN || c->state == TCPS_SYN_SENT ||
        (c->state == TCPS_CLOSED && !c->iss))
        return -ENOTCONN;
    if (how == SHUT_RD || how == SHUT_RDWR) {
        c->shut_rd = true;
        ring_consume(&c->rcvq, c->rcvq.len);
    }
    if ((how == SHUT_WR || how == SHUT_RDWR) && !c->fin_queued) {
        c->fin_queued = true;
        if (c->state == TCPS_ESTABLISHED)
            tcp_set_state(s, c, TCPS_FIN_WAIT_1);
        else if (c->state == TCPS_CLOSE_WAIT)
            tcp_set_state(s, c, TCPS_LAST_ACK);
        tcp_output(s, c);
    }
    tcp_wake(s, c);
    return 0;
}

void tcp_release(struct ust_stack *s, struct sock *sk)
{
    struct tcp_conn *c = sk->tcp;
    if (!c)
        return;
    sk->tcp = NULL;
    c->sk = NULL;
    switch (c->state) {
    case TCPS_CLOSED:
    case TCPS_LISTEN:
    case TCPS_SYN_SENT:
        conn_free(s, c);
        return;
    case TCPS_TIME_WAIT:
        return; /* runs its course */
    default:
        break;
    }
    /* RFC 1122 4.2.2.13 / RFC 2525: closing with unread data, or with
     * SO_LINGER set to zero, aborts with a RST. */
    if (c->rcvq.len > 0 || (sk->linger_on && sk->linger_s == 0)) {
        s->stats.tcp.aborts++;
        tcp_send_rst_conn(s, c);
        tcp_close_conn(s, c, 0);
        return;
    }
    if (!c->fin_queued) {
        c->fin_queued = true;
        /* SYN-RECEIVED stays until our SYN is acknowledged; sync_input()
         * then moves on to FIN-WAIT-1 and the FIN goes out. */
        if (c->state == TCPS_ESTABLISHED)
            tcp_set_state(s, c, TCPS_FIN_WAIT_1);
        else if (c->state == TCPS_CLOSE_WAIT)
            tcp_set_state(s, c, TCPS_LAST_ACK);
    }
    tcp_output(s, c);
    if (c->state == TCPS_FIN_WAIT_2)
        c->tw_at = s->now + s->cfg.tcp_fin_timeout; /* orphaned: do not wait forever */
}

int tcp_sock_init(struct ust_stack *s, struct sock *sk)
{
    struct tcp_conn *c = conn_new(s);
    if (!c)
        return -ENOMEM;
    c->sk = sk;
    sk->tcp = c;
    return 0;
}
