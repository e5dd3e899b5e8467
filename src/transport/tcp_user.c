/* What the socket layer calls (RFC 9293 3.9.1, the user/TCP interface:
 * OPEN, SEND, RECEIVE, CLOSE, ABORT, STATUS), and the send and receive
 * buffers' auto-tuning those calls drive. The connection table and a
 * connection's life are in tcp.c. */
#include "transport/tcp_user.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "net/ip.h"
#include "transport/socket.h"
#include "transport/tcp.h"

short tcp_events(const struct tcp_conn *c)
{
    if (!c)
        return POLLHUP;
    short ev = 0;
    switch (c->state) {
    case TCPS_LISTEN: return c->acceptq ? POLLIN : 0;
    case TCPS_CLOSED:
        /* Never connected: writable (connect may), hung up. Reset, refused,
         * timed out or closed: also readable (the error, then EOF) and
         * POLLRDHUP, as Linux's, whose socket has shut down both halves;
         * POLLERR while the error is pending. (iss: it tried to connect.) */
        if (c->error)
            return POLLIN | POLLOUT | POLLHUP | POLLERR | POLLRDHUP;
        if (c->fin_received)
            return POLLIN | POLLHUP | POLLRDHUP;
        return c->iss ? POLLIN | POLLOUT | POLLHUP | POLLRDHUP : POLLOUT | POLLHUP;
    case TCPS_SYN_SENT:
    case TCPS_SYN_RECEIVED: return 0;
    default: break;
    }
    if (c->rcvq.len > 0 || c->fin_received || c->shut_rd)
        ev |= POLLIN;
    /* The receiving half is over: the peer's FIN or our SHUT_RD (an event
     * loop's cue that the peer hung up, EPOLLRDHUP). */
    if (c->fin_received || c->shut_rd)
        ev |= POLLRDHUP;
    if (!c->fin_queued && ring_space(&c->sndq) > 0)
        ev |= POLLOUT;
    if (c->fin_received && c->fin_queued)
        ev |= POLLHUP;
    return ev;
}

/* A listener's buffer sizes, which its children inherit (its rings hold
 * no memory). */
static void listener_bufs(struct ust_stack *s, struct sock *sk, struct tcp_conn *c)
{
    ring_init(&c->sndq, sk->sndbuf, &s->tcp->mem);
    c->snd_auto = !sk->sndbuf_set && s->cfg.tcp_sndbuf_max > sk->sndbuf;
    ring_init(&c->rcvq, tcp_buf_cap(sk->rcvbuf), &s->tcp->mem);
    c->rcv_auto = !sk->rcvbuf_set && s->cfg.tcp_rcvbuf_max > c->rcvq.limit;
}

void tcp_bufs_changed(struct ust_stack *s, struct sock *sk)
{
    /* As Linux: SO_RCVBUF/SO_SNDBUF on a listener reach the connections
     * it accepts from then on. */
    if (sk->tcp && sk->tcp->state == TCPS_LISTEN)
        listener_bufs(s, sk, sk->tcp);
}

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
        int err = sock_bind_port(s, sk, &sk->laddr, 0);
        if (err)
            return err;
    }
    c->laddr = sk->laddr;
    c->lport = sk->lport;
    c->backlog = backlog <= 0                                 ? 1
                 : (unsigned)backlog > s->cfg.tcp_max_backlog ? s->cfg.tcp_max_backlog
                                                              : (unsigned)backlog;
    listener_bufs(s, sk, c);
    tcp_set_state(s, c, TCPS_LISTEN);
    c->lnext = s->tcp->listeners;
    s->tcp->listeners = c;
    char a[IPADDR_STRLEN];
    debugf(s, "listening on %s:%u, backlog=%u", ipaddr_format(&c->laddr, a), c->lport, c->backlog);
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

int tcp_connect(struct ust_stack *s, struct sock *sk, const struct ipaddr *addr, uint16_t port)
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
    if (port == 0 || ipaddr_is_any(addr))
        return -EINVAL;
    if (ipaddr_is_multicast(addr) || (ipaddr_is_v4(addr) && ipaddr_to_v4(addr) == 0xffffffffu) ||
        !sock_family_takes(sk, addr))
        return -ENETUNREACH; /* or a bound address of the other family */
    c->scope = sk->tx.scope;
    struct ipaddr src = sk->laddr;
    if (ipaddr_is_any(&src) && !ip_source_for(s, addr, sk->tx.scope, &src))
        return -ENETUNREACH;
    if (!sk->lport) {
        int err = sock_bind_connect(s, sk, &src, addr, port);
        if (err)
            return err;
    } else if (tcp_lookup(s, &src, sk->lport, addr, port)) {
        return -EADDRNOTAVAIL;
    }
    c->rcv_auto = !sk->rcvbuf_set && s->cfg.tcp_rcvbuf_max > tcp_buf_cap(sk->rcvbuf);
    c->snd_auto = !sk->sndbuf_set && s->cfg.tcp_sndbuf_max > sk->sndbuf;
    int err = tcp_open_active(s, c, sk->sndbuf, tcp_buf_cap(sk->rcvbuf), &src, sk->lport, addr,
                              port);
    if (err)
        return err;
    sk->laddr = src;
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
    if (want <= c->sndq.limit)
        return;
    if (want < 2 * (uint64_t)c->sndq.limit)
        want = 2 * (uint64_t)c->sndq.limit; /* in doublings */
    uint64_t max = s->cfg.tcp_sndbuf_max > TCP_MAX_BUF ? TCP_MAX_BUF : s->cfg.tcp_sndbuf_max;
    if (want > max)
        want = max;
    if (want <= c->sndq.limit)
        return;
    ring_set_limit(&c->sndq, (size_t)want);
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
    case TCPS_CLOSE_WAIT: break;
    case TCPS_SYN_SENT:
    case TCPS_SYN_RECEIVED: return -EAGAIN; /* not yet: a blocking caller waits */
    case TCPS_CLOSED:
    case TCPS_LISTEN: return c->iss ? -EPIPE : -ENOTCONN;
    default: return -EPIPE;
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
    if (want <= c->rcvq.limit)
        return;
    uint32_t max = tcp_rcvbuf_max(s, (uint32_t)c->rcvq.limit);
    uint64_t cap = want > 2 * (uint64_t)c->rcvq.limit ? want : 2 * (uint64_t)c->rcvq.limit;
    if (cap > max)
        cap = max;
    if (cap <= c->rcvq.limit)
        return;
    ring_set_limit(&c->rcvq, (size_t)cap);
    s->stats.tcp.rcvbuf_grown++;
    debugf(s, "%u->%u: receive buffer grown to %llu bytes", c->lport, c->rport,
           (unsigned long long)cap);
}

/* Does a read deserve an ACK of its own (a window update)? before: the
 * window tcp_rcv_window gave before the read.
 *
 * A buffer of fewer than RCV_FEW_SEGS segments: whenever the read opens
 * the window by an MSS or more (RFC 1122 4.2.3.3), since every segment's
 * worth counts there (in a simulation with 1448-byte segments, fewer
 * updates made a 4 KB buffer up to 2 times slower).
 *
 * A larger one, as Linux's tcp_cleanup_rbuf: a reader that keeps up, as
 * most do, should cost no segment of its own, the ACKs of the peer's next
 * segments carry the wider window. (One per read of an MSS or more was
 * half of all the ACKs of a 4-stream iperf3 receive under the preload
 * library, each processed by the kernel in the reading thread.) So only:
 *  - when the window the peer knows is under an MSS and the read opens
 *    one, or half the buffer (RFC 9293 3.8.6.2.2: the peer may wait);
 *  - when the window the peer knows is half the buffer or less and the
 *    read at least doubles it;
 *  - when a delayed ACK is pending and the read took a segment or more
 *    and emptied the buffer: a sender that holds a short tail back until
 *    its data is ACKed (classic Nagle, ustack's own) would otherwise wait
 *    out the delayed-ACK timer, 40 ms a request. Reads of a short request
 *    leave the ACK to ride on the answer. */
#define RCV_FEW_SEGS 16
static bool read_deserves_ack(const struct tcp_conn *c, size_t n, uint32_t before)
{
    uint32_t known = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    uint32_t now = tcp_rcv_window(c);
    uint32_t mss = c->snd_mss ? c->snd_mss : 536;
    uint32_t full = (uint32_t)c->rcvq.limit;
    uint32_t max = (uint32_t)65535 << c->rcv_wscale;
    if (full > max)
        full = max;
    if (full < RCV_FEW_SEGS * mss)
        return now > before && (before < mss || now - before >= mss);
    if (c->delack_at != UST_TIME_NEVER && n >= mss && c->rcvq.len == 0)
        return true;
    if (now <= known)
        return false;
    if (known < mss)
        return now >= mss || now >= full / 2;
    return 2 * (uint64_t)known <= full && now >= 2 * (uint64_t)known;
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
        case TCPS_CLOSED: return c->iss ? 0 : -ENOTCONN;
        case TCPS_LISTEN: return -ENOTCONN;
        default: return -EAGAIN;
        }
    }
    uint32_t before = tcp_rcv_window(c);
    size_t n = ring_peek(&c->rcvq, 0, buf, len);
    if (!(flags & MSG_PEEK)) {
        ring_consume(&c->rcvq, n);
        if (asm_empty(&c->ooo))
            ring_release(&c->rcvq); /* if it emptied: an idle connection holds no memory */
        rcvbuf_autotune(s, c, (uint32_t)n);
        if (c->state != TCPS_CLOSED && !c->fin_received && read_deserves_ack(c, n, before)) {
            tcp_why(s, "window update: the application read");
            tcp_send_ack(s, c);
        }
    }
    return (ssize_t)n;
}

/* shutdown(SHUT_RD or SHUT_RDWR) of a listener, as Linux: it stops
 * listening (its queued connections are reset, as at close) and the socket
 * is an unconnected one again, bound, that may listen anew; a thread
 * blocked in accept() wakes up to EINVAL. Servers stop their accept loops
 * so. The socket gets a fresh connection with the listener's options. */
static int unlisten(struct ust_stack *s, struct sock *sk)
{
    struct tcp_conn *l = sk->tcp, *c = tcp_conn_new(s);
    if (!c)
        return -ENOMEM;
    tcp_conn_take_options(c, l);
    l->sk = NULL;
    tcp_conn_free(s, l);
    c->sk = sk;
    sk->tcp = c;
    tcp_wake(s, c);
    return 0;
}

int tcp_shutdown(struct ust_stack *s, struct sock *sk, int how)
{
    struct tcp_conn *c = sk->tcp;
    if (c && c->state == TCPS_LISTEN)
        return how == SHUT_WR ? 0 : unlisten(s, sk); /* SHUT_WR: nothing, as Linux */
    if (c && c->state == TCPS_SYN_SENT) {
        /* As Linux (tcp_disconnect): the attempt ends, without a RST, with
         * ECONNRESET for whoever waits on it; the socket may connect anew. */
        tcp_close_conn(s, c, ECONNRESET);
        return 0;
    }
    if (!c || (c->state == TCPS_CLOSED && !c->iss))
        return -ENOTCONN;
    if (how == SHUT_RD || how == SHUT_RDWR) {
        c->shut_rd = true;
        ring_consume(&c->rcvq, c->rcvq.len);
        if (asm_empty(&c->ooo))
            ring_release(&c->rcvq);
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
    case TCPS_SYN_SENT: tcp_conn_free(s, c); return;
    case TCPS_TIME_WAIT: return; /* runs its course */
    default: break;
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
        tcp_set_deadline(s, c, &c->tw_at,
                         s->now + s->cfg.tcp_fin_timeout); /* orphaned: do not wait forever */
}

int tcp_sock_init(struct ust_stack *s, struct sock *sk)
{
    struct tcp_conn *c = tcp_conn_new(s);
    if (!c)
        return -ENOMEM;
    c->sk = sk;
    sk->tcp = c;
    return 0;
}

void tcp_abort(struct ust_stack *s, struct tcp_conn *c)
{
    tcp_send_rst_conn(s, c);
    tcp_close_conn(s, c, 0);
}

bool tcp_has_remote(const struct tcp_conn *c) { return !ipaddr_is_any(&c->raddr); }

bool tcp_port_orphaned(struct ust_stack *s, const struct sock *sk, const struct ipaddr *addr,
                       uint16_t port)
{
    /* A walk of every connection: only an explicit bind() asks. */
    for (const struct tcp_conn *c = s->tcp->all; c; c = c->next)
        if (!c->sk && c->lport == port && sock_addr_takes(addr, sk->v6only, &c->laddr))
            return true;
    return false;
}

bool tcp_connecting(const struct tcp_conn *c)
{
    return c->state == TCPS_SYN_SENT || c->state == TCPS_SYN_RECEIVED;
}

uint32_t tcp_scope(const struct tcp_conn *c) { return c->scope; }

int tcp_peer(const struct tcp_conn *c, struct ipaddr *addr, uint16_t *port)
{
    *addr = c->raddr;
    *port = c->rport;
    if (c->state == TCPS_CLOSED || c->state == TCPS_LISTEN || c->state == TCPS_SYN_SENT)
        return -ENOTCONN;
    return 0;
}
