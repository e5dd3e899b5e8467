/* A listener's segments (RFC 9293 3.10.7.2), and its defences against SYN
 * floods (RFC 4987).
 *
 * A listener keeps two queues, each bounded by its backlog: the half-open
 * connections (SYN-RECEIVED children, which cost memory and a
 * retransmission timer each) and the established ones waiting for
 * accept(). When the half-open queue is full, a SYN is answered with a
 * SYN cookie (tcp_syncookie.c): the SYN-ACK's sequence number carries what
 * the connection needs, nothing is kept, and the peer's ACK brings it back
 * to make the connection then. A flood of spoofed SYNs so fills nothing
 * and costs one SYN-ACK each, while real clients still connect. When the
 * accept queue is full, SYNs are dropped (the application is behind; the
 * clients retry), as Linux does. */
#include "transport/tcp.h"

#include "net/ip.h"
#include "transport/tcp_syncookie.h"

static struct tcp_tuple tuple_of(const struct ip_meta *ip, const struct tcp_repr *th)
{
    return (struct tcp_tuple){.laddr = ip->dst,
                              .raddr = ip->src,
                              .lport = th->dport,
                              .rport = th->sport};
}

/* The cookies' timely window for l: while one could be out. */
static bool cookies_out(const struct ust_stack *s, const struct tcp_conn *l)
{
    return s->cfg.tcp_syncookies == 2 ||
           (s->cfg.tcp_syncookies == 1 && l->cookie_at &&
            s->now <= l->cookie_at + TCP_COOKIE_TICKS * TCP_COOKIE_TICK);
}

/* A child for the SYN, in the half-open queue, and its SYN-ACK. */
static void open_child(struct ust_stack *s, struct tcp_conn *l, const struct ip_meta *ip,
                       const struct tcp_repr *th)
{
    struct tcp_conn *c = tcp_new_child(s, l, ip, th->dport, th->sport);
    if (!c) { /* no memory, or tcp_max_conns: drop, the peer retries */
        debugf(s, "%u: no child (no memory, or tcp_max_conns): the SYN is dropped", l->lport);
        return;
    }
    c->irs = th->seq;
    c->rcv_nxt = th->seq + 1;
    /* The right edge starts at rcv_nxt. xmit() only ever moves it
     * forward, so a stale edge (0 would read as up to 2^31 ahead for half
     * of all ISNs) would open the acceptance window to any blind segment
     * and turn receiver SWS avoidance off. */
    c->rcv_adv = c->rcv_nxt;
    tcp_negotiate(s, c, th); /* the SYN's own window is never scaled */
    c->snd_wnd = th->window;
    c->max_snd_wnd = th->window;
    c->snd_wl1 = th->seq;
    c->snd_wl2 = c->iss;
    c->cc->init(c);
    tcp_send_syn(s, c); /* SYN-ACK */
}

/* A SYN-ACK whose sequence number is a cookie, and no state. With
 * timestamps the options the SYN offered ride in our TSval; without,
 * the connection will have no window scaling and no SACK (there is
 * nowhere to keep them), as with Linux's cookies. */
static void send_cookie(struct ust_stack *s, struct tcp_conn *l, const struct ip_meta *ip,
                        const struct tcp_repr *th)
{
    struct tcp_tuple t = tuple_of(ip, th);
    uint16_t mss;
    uint32_t cookie = tcp_cookie_make(s->tcp->cookie_key, &t, th->seq, th->mss ? th->mss : 536,
                                      s->now, &mss);
    struct tcp_repr r = {.sport = th->dport,
                         .dport = th->sport,
                         .seq = cookie,
                         .ack = th->seq + 1,
                         .flags = TCP_SYN | TCP_ACK};
    r.mss = tcp_mss_for(s, &ip->src);
    if (l->user_mss && l->user_mss < r.mss)
        r.mss = l->user_mss;
    r.window = l->rcvq.limit > 65535 ? 65535 : (uint16_t)l->rcvq.limit; /* never scaled */
    if (th->has_ts && s->cfg.tcp_timestamps) {
        bool sack = th->sack_perm && s->cfg.tcp_sack;
        uint32_t clock = (uint32_t)(s->now / 1000) + tcp_cookie_ts_offset(s->tcp->cookie_key, &t);
        r.has_ts = true;
        r.tsval = tcp_cookie_ts(clock, th->wscale, sack);
        r.tsecr = th->tsval;
        r.sack_perm = sack;
        if (th->wscale >= 0) {
            r.emit_ws = true;
            r.wscale = (int8_t)tcp_wscale_offer(s, l);
        }
    }
    l->cookie_at = s->now;
    s->stats.tcp.syncookies_sent++;
    tcp_why(s, "SYN-ACK with a SYN cookie: nothing kept");
    tcp_send_bare(s, ip, &r);
}

/* The ACK of a cookie SYN-ACK: the cookie checks out (ours, recent, for
 * this 4-tuple and this ISN), so the connection is made as if it had
 * waited in the half-open queue, and the segment goes on to it (it may
 * carry data, even a FIN). false when no cookies are out, and the
 * segment should get its RST. */
static bool cookie_ack(struct ust_stack *s, struct tcp_conn *l, const struct ip_meta *ip,
                       const struct tcp_seg *g)
{
    const struct tcp_repr *th = &g->th;
    /* Only while cookies are being sent: an ACK is taken for a cookie
     * only when one could be out (as Linux), which leaves a blind
     * attacker no 2^-25 chance when there is no flood. */
    if ((th->flags & (TCP_SYN | TCP_RST)) || !cookies_out(s, l))
        return false;
    struct tcp_tuple t = tuple_of(ip, th);
    uint32_t iss = th->ack - 1, irs = th->seq - 1;
    uint16_t mss;
    if (!tcp_cookie_check(s->tcp->cookie_key, &t, irs, iss, s->now, &mss)) {
        TCP_LOG_IN(s, ip, g, "LISTEN: an ACK while cookies are out, not a good cookie: dropped");
        s->stats.tcp.syncookies_failed++;
        /* The check takes SEG.SEQ - 1 for the peer's ISN, true only of
         * its first segment after the handshake. When that one is lost
         * or overtaken (by its data, its FIN, an ACK sent after them), a
         * RST would end a good connection; Linux sends it, and at 5% loss
         * and reordering the simulation's storm saw connections reset so.
         * While cookies are out, such a segment is dropped instead: the
         * peer retransmits its first segment, which brings the cookie
         * back. (A segment for a connection that is truly gone then gets
         * no RST until the cookies stop: it times out instead.) */
        return true;
    }
    /* The peer believes itself connected, and one that waits for the
     * server to speak first would hold a connection the server never had
     * if this ACK were dropped (interop/discard_many, 20,000 connections
     * opened 1,600 at a time, lost hundreds so; Linux drops it). So the
     * connection is made even with the accept queue full, up to twice the
     * backlog (a half-open child's handshake overshoots the same way);
     * past that it waits as a half-open child, its SYN-ACK to be sent
     * again, whose ACK completes it, up to twice the backlog of those too;
     * past that the peer is told with a RST. */
    bool room = l->accept_qlen < 2 * l->backlog;
    if (!room && l->syn_qlen >= 2 * l->backlog) {
        TCP_LOG_IN(s, ip, g, "LISTEN: a good SYN cookie, but both queues are full: RST");
        s->stats.tcp.drop_backlog++;
        tcp_send_rst_for(s, ip, th, g->len);
        return true;
    }
    if (!room)
        TCP_LOG_IN(s, ip, g, "LISTEN: a good SYN cookie, accept queue full: a half-open child");
    struct tcp_conn *c = tcp_new_child(s, l, ip, th->dport, th->sport);
    if (!c) {
        TCP_LOG_IN(s, ip, g,
                   "LISTEN: a good SYN cookie, but no child (no memory, or "
                   "tcp_max_conns): dropped");
        return true;
    }
    s->stats.tcp.syncookies_ok++;
    /* As open_child() and tcp_send_syn() would have left it. */
    c->iss = c->snd_una = iss;
    c->snd_nxt = c->snd_max = iss + 1;
    c->recover = iss;
    c->irs = irs;
    /* The right edge the cookie's SYN-ACK advertised (its window is
     * never scaled; send_cookie): as xmit() would have set it. Left at
     * rcv_nxt, data in the ACK put rcv_nxt past it (the frame fuzzer's
     * invariant caught it once the ring was read and released). */
    c->rcv_nxt = th->seq;
    c->rcv_adv = th->seq + (l->rcvq.limit > 65535 ? 65535 : (uint32_t)l->rcvq.limit);
    c->snd_wl1 = irs;
    c->snd_wl2 = iss;
    /* What the SYN negotiated, from the cookie and the echoed TSval. */
    struct tcp_repr syn = {.mss = mss, .wscale = -1};
    int wscale;
    bool sack;
    if (th->has_ts && tcp_cookie_ts_opts(th->tsecr, &wscale, &sack)) {
        syn.has_ts = true;
        syn.tsval = th->tsval;
        syn.wscale = (int8_t)wscale;
        syn.sack_perm = sack;
        c->ts_offset = tcp_cookie_ts_offset(s->tcp->cookie_key, &t);
    }
    tcp_negotiate(s, c, &syn);
    c->cc->init(c);
    tcp_arm_rto(s, c); /* as if its SYN-ACK were out, should the ACK not do */
    if (!room) {
        s->stats.tcp.drop_backlog++; /* this ACK: the next one completes it */
        return true;
    }
    tcp_sync_input(s, c, ip, g); /* SYN-RECEIVED -> ESTABLISHED, its data */
    return true;
}

bool tcp_cookie_adopt(struct ust_stack *s, struct tcp_conn *c, const struct ip_meta *ip,
                      const struct tcp_repr *th)
{
    /* A duplicated SYN can draw both: a cookie while the half-open queue
     * was full, then a child once it had room. The peer answers the SYN-ACK
     * it got first; a RST to it would end a good connection. */
    struct tcp_conn *l = c->parent;
    uint16_t mss;
    if (!l || !cookies_out(s, l))
        return false;
    struct tcp_tuple t = tuple_of(ip, th);
    if (!tcp_cookie_check(s->tcp->cookie_key, &t, c->irs, th->ack - 1, s->now, &mss))
        return false;
    c->iss = c->snd_una = c->recover = th->ack - 1;
    c->snd_nxt = c->snd_max = th->ack;
    c->snd_wl2 = c->iss;
    if (c->ts_ok)
        c->ts_offset = tcp_cookie_ts_offset(s->tcp->cookie_key, &t);
    c->rtt_timing = false; /* its SYN-ACK was not the one timed */
    s->stats.tcp.syncookies_ok++;
    return true;
}

void tcp_listen_input(struct ust_stack *s, struct tcp_conn *l, const struct ip_meta *ip,
                      const struct tcp_seg *g)
{
    const struct tcp_repr *th = &g->th;
    if (th->flags & TCP_RST) {
        TCP_LOG_IN(s, ip, g, "LISTEN: RST: ignored");
        return; /* first: an incoming RST is ignored */
    }
    if (th->flags & TCP_ACK) {
        /* second: any ACK is bad, unless it returns a SYN cookie */
        if (!cookie_ack(s, l, ip, g)) {
            TCP_LOG_IN(s, ip, g, "LISTEN: an ACK, and no SYN cookie to return: RST");
            tcp_send_rst_for(s, ip, th, g->len);
        }
        return;
    }
    if (!(th->flags & TCP_SYN)) {
        TCP_LOG_IN(s, ip, g, "LISTEN: neither SYN, ACK nor RST: dropped");
        return;
    }
    /* third: SYN. A broadcast or multicast SYN was already dropped by IP. */
    if (l->accept_qlen >= l->backlog) {
        TCP_LOG_IN(s, ip, g, "LISTEN: SYN, accept queue full (%u): dropped", l->accept_qlen);
        s->stats.tcp.drop_backlog++;
        return;
    }
    bool full = l->syn_qlen >= l->backlog;
    if (s->cfg.tcp_syncookies == 2 || (full && s->cfg.tcp_syncookies == 1)) {
        TCP_LOG_IN(s, ip, g, "LISTEN: SYN, half-open queue %s: answered with a SYN cookie",
                   full ? "full" : "bypassed (tcp_syncookies=2)");
        send_cookie(s, l, ip, th);
        return;
    }
    if (full) {
        TCP_LOG_IN(s, ip, g, "LISTEN: SYN, half-open queue full (%u): dropped", l->syn_qlen);
        s->stats.tcp.drop_synq_full++;
        return;
    }
    TCP_LOG_IN(s, ip, g, "LISTEN: SYN: a half-open child, answered with a SYN-ACK");
    open_child(s, l, ip, th);
}
