/* TCP output: segments are built straight from the send ring (one copy),
 * as the windows, Nagle's algorithm and sender-side silly window avoidance
 * allow (RFC 9293 3.8.6, RFC 1122 4.2.3.4). */
#include "transport/tcp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net/ip.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "net/netif.h"
#include "transport/socket.h"
#include "wire/bytes.h"
#include "wire/ipv6.h"

uint32_t tcp_rcv_window(const struct tcp_conn *c)
{
    /* The 16-bit field holds 65535 units of 2^rcv_wscale (RFC 7323 2.3;
     * the shift is 0 without scaling). A window is only advertised in
     * whole units, rounded down: never more than the ring can take. */
    uint32_t unit_mask = ((uint32_t)1 << c->rcv_wscale) - 1;
    uint32_t max = (uint32_t)65535 << c->rcv_wscale;
    uint32_t space = (uint32_t)ring_space(&c->rcvq);
    if (space > max)
        space = max;
    uint32_t cur = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    if (cur >= space)
        return space & ~unit_mask;
    /* RFC 1122 4.2.3.3: move the right edge only by a worthwhile amount. */
    uint32_t step = (uint32_t)c->rcvq.limit / 2;
    if (step > c->snd_mss)
        step = c->snd_mss;
    /* Keeping the edge where it is: what we advertised stays valid
     * (rcv_adv), though the field can only say it rounded down. */
    return (space - cur >= step ? space : cur) & ~unit_mask;
}

/* What a segment is for, when its sender did not say (tcp_why). */
static const char *default_why(const struct tcp_conn *c, uint32_t seq, uint8_t flags, uint32_t len)
{
    if (flags & TCP_RST)
        return "RST: the connection is aborted";
    if (flags & TCP_SYN) {
        if (flags & TCP_ACK)
            return c->backoff ? "SYN-ACK again: no ACK came for it" : "SYN-ACK: answering the SYN";
        return c->backoff ? "SYN again: no answer came" : "SYN: opening the connection";
    }
    if (len == 0 && !(flags & TCP_FIN))
        return "ACK";
    if (seq_lt(seq, c->snd_max))
        return "retransmission";
    if (flags & TCP_FIN)
        return len ? "new data, then our FIN" : "FIN: we have no more to send";
    return "new data";
}

static void log_out(struct ust_stack *s, const struct tcp_conn *c, const struct tcp_repr *th,
                    uint32_t len, const char *why, bool piggyback, const char *func, int line)
{
    char w[160];
    snprintf(w, sizeof(w), "%s%s", why ? why : default_why(c, th->seq, th->flags, len),
             piggyback ? "; the ACK we owed rides on it" : "");
    tcp_log_out_at(s, func, __FILE__, line, &c->laddr, &c->raddr, th, len, w);
}

/* The "out" lines of one segment. A super-segment is logged as the wire
 * segments the device cuts it into (as Linux's TSO: each of gso bytes but
 * the last, PSH and FIN on the last only), so the story shows what the
 * peer receives. */
static void log_segs(struct ust_stack *s, const struct tcp_conn *c, const struct tcp_repr *th,
                     uint32_t len, uint32_t gso, const char *why, bool piggyback, int line)
{
    if (!gso || len <= gso) {
        log_out(s, c, th, len, why, piggyback, "xmit", line);
        return;
    }
    uint32_t n = (len + gso - 1) / gso;
    for (uint32_t k = 0; k < n; k++) {
        struct tcp_repr piece = *th;
        uint32_t plen = k + 1 < n ? gso : len - k * gso;
        piece.seq = th->seq + k * gso;
        if (k + 1 < n)
            piece.flags &= (uint8_t) ~(TCP_PSH | TCP_FIN);
        char w[128]; /* the reason (at most 80) and two 10-digit numbers */
        snprintf(w, sizeof(w), "%.80s (TSO: piece %u of %u)",
                 why ? why : default_why(c, piece.seq, piece.flags, plen), k + 1, n);
        log_out(s, c, &piece, plen, w, piggyback && k == 0, "xmit", line);
    }
}

/* Builds and sends one segment of len bytes from the send ring at off. gso:
 * the payload of each wire segment when len is a super-segment (0: one
 * segment), which the device cuts, copying this header into each. */
static int xmit_gso(struct ust_stack *s, struct tcp_conn *c, uint32_t seq, uint8_t flags,
                    uint32_t off, uint32_t len, uint32_t gso)
{
    /* For the log: what it is for, and whether it is data or a FIN that
     * carries an ACK the receiver owed. */
    bool debug = tcp_debug_on(s);
    const char *why = NULL;
    bool piggyback = false;
    if (debug) {
        why = s->tcp->why;
        s->tcp->why = NULL;
        piggyback = (len || (flags & TCP_FIN)) && (c->ack_now || c->delack_at != UST_TIME_NEVER);
    }
    struct tcp_repr th = {.sport = c->lport, .dport = c->rport, .seq = seq, .flags = flags};
    if (flags & TCP_ACK)
        th.ack = c->rcv_nxt;
    uint32_t wnd = tcp_rcv_window(c);
    if (flags & TCP_SYN) {
        th.mss = tcp_mss_for(s, &c->raddr); /* what we can receive (RFC 9293 3.7.1) */
        if (c->user_mss && c->user_mss < th.mss)
            th.mss = c->user_mss; /* TCP_MAXSEG: Linux offers its clamp */
        /* RFC 7323 2.2, 3.2 and RFC 2018 2: our SYN offers window scaling,
         * timestamps and SACK as configured; our SYN-ACK only what the
         * peer's SYN offered. A SYN's window is never scaled. */
        bool active = c->state == TCPS_SYN_SENT;
        th.emit_ws = active || c->ws_ok;
        th.wscale = (int8_t)c->req_wscale;
        th.has_ts = active ? s->cfg.tcp_timestamps : c->ts_ok;
        th.sack_perm = active ? s->cfg.tcp_sack : c->sack_ok;
        if (wnd > 65535)
            wnd = 65535;
    } else {
        th.has_ts = c->ts_ok;
    }
    if (th.has_ts) {
        th.tsval = tcp_ts_now(s, c);
        th.tsecr = (flags & TCP_ACK) ? c->ts_recent : 0;
    }
    if ((flags & (TCP_ACK | TCP_SYN | TCP_RST)) == TCP_ACK && c->sack_ok) {
        /* SACK blocks where they fit: 3 beside a timestamp, 4 without,
         * and in a data segment only in the room left below the MSS. */
        unsigned max = c->ts_ok ? 3 : 4;
        if (len) {
            uint32_t seg = gso && len > gso ? gso : len; /* each wire segment's payload */
            uint32_t room = c->snd_mss > seg ? c->snd_mss - seg : 0;
            unsigned fit = room >= 12 ? (room - 4) / 8 : 0;
            if (fit < max)
                max = fit;
        }
        th.nsack = (uint8_t)tcp_sack_blocks(c, th.sack, max);
    }
    if (seq_gt(c->rcv_nxt + wnd, c->rcv_adv) || !(flags & TCP_ACK))
        c->rcv_adv = c->rcv_nxt + wnd;
    th.window = (uint16_t)((flags & TCP_SYN) ? wnd : wnd >> c->rcv_wscale);
    size_t hl = tcp_hdr_len(&th);
    struct pkbuf *p = pkb_alloc(s, hl + len);
    if (!p)
        return -ENOBUFS;
    if (netif_offload_any(s) & UST_OFFLOAD_TX_CSUM) {
        /* Some device finishes checksums, so nothing here reads the
         * payload: it stays in the send ring, the packet borrows it, and a
         * device that takes frames in pieces (transmit_iov: the TAP's
         * writev) gets it from there; anything else copies it in
         * (docs/DESIGN.md, "Offloads"). The checksum is left partial: the
         * device finishes it, or netif_transmit does where it goes
         * elsewhere. */
        if (len) {
            const uint8_t *b[2];
            size_t n[2];
            ring_spans(&c->sndq, off, len, b, n);
            pkb_borrow(p, b[0], n[0], b[1], n[1]);
        }
        tcp_emit_partial(&th, c->ph, pkb_data(p), len);
        p->csum_at = (uint32_t)p->head;
        p->csum_off = 16;
    } else {
        /* The checksum is summed here, over the payload copied in (the
         * copy leaves it in the cache for the sum). */
        if (len)
            ring_peek(&c->sndq, off, pkb_data(p) + hl, len);
        tcp_emit(&th, c->ph, pkb_data(p), len);
    }
    if (gso && len > gso)
        p->gso_size = (uint16_t)gso;
    s->stats.tcp.tx++;
    if (flags & TCP_ACK) {
        tcp_set_deadline(s, c, &c->delack_at, UST_TIME_NEVER);
        c->segs_unacked = 0;
        c->ack_now = false;
        c->last_ack_sent = c->rcv_nxt; /* RFC 7323 4.3 */
    }
    if (debug)
        log_segs(s, c, &th, len, p->gso_size, why, piggyback, __LINE__);
    struct ip_tx tx = {.hop_limit = -1, .scope = c->scope};
    if (c->sk) {
        tx.hop_limit = c->sk->tx.hop_limit;
        tx.tclass = c->sk->tx.tclass;
        tx.ttl = c->sk->tx.ttl;
        tx.tos = c->sk->tx.tos;
    }
    return ip_output(s, p, IP_PROTO_TCP, &c->laddr, &c->raddr, &tx);
}

static int xmit(struct ust_stack *s, struct tcp_conn *c, uint32_t seq, uint8_t flags, uint32_t off,
                uint32_t len)
{
    return xmit_gso(s, c, seq, flags, off, len, 0);
}

void tcp_xmit_data(struct ust_stack *s, struct tcp_conn *c, uint32_t seq, uint32_t len, bool fin)
{
    xmit(s, c, seq, TCP_ACK | TCP_PSH | (fin ? TCP_FIN : 0), seq - c->snd_una, len);
    if (!tcp_timer_covers_flight(c))
        tcp_arm_rto(s, c);
}

void tcp_send_ack(struct ust_stack *s, struct tcp_conn *c)
{
    /* The highest sequence number sent, not snd_nxt: after a timeout
     * snd_nxt goes back for retransmission, and an ACK carrying it would be
     * older than what the peer has, dropped as unacceptable and answered
     * by an equally stale ACK, forever. */
    xmit(s, c, c->snd_max, TCP_ACK, 0, 0);
}

void tcp_owe_ack(struct ust_stack *s, struct tcp_conn *c)
{
    if (!c->ack_now)
        return;
    if (!s->tcp->acks_wait) {
        tcp_why(s, "ACK owed at once");
        tcp_send_ack(s, c);
        return;
    }
    /* Due now: ust_stack_poll's timers send it once the frames read in
     * this step are all in, one ACK for the lot. */
    if (c->delack_at > s->now)
        tcp_set_deadline(s, c, &c->delack_at, s->now);
}

void tcp_send_probe(struct ust_stack *s, struct tcp_conn *c)
{
    /* One below what the peer expects, no data: it must answer with an ACK
     * carrying its window (zero-window and keepalive probes, as Linux). */
    xmit(s, c, c->snd_una - 1, TCP_ACK, 0, 0);
}

void tcp_send_syn(struct ust_stack *s, struct tcp_conn *c)
{
    uint8_t flags = TCP_SYN | (c->state == TCPS_SYN_RECEIVED ? TCP_ACK : 0);
    if (c->backoff == 0 && !c->rtt_timing) {
        c->rtt_timing = true; /* the handshake gives the first RTT sample */
        c->rtt_seq = c->iss;
        c->rtt_start = s->now;
    }
    xmit(s, c, c->iss, flags, 0, 0);
    c->snd_nxt = c->iss + 1;
    if (seq_gt(c->snd_nxt, c->snd_max))
        c->snd_max = c->snd_nxt;
    if (c->timer == TCP_TIMER_IDLE)
        tcp_arm_rto(s, c);
}

void tcp_send_rst_conn(struct ust_stack *s, struct tcp_conn *c)
{
    s->stats.tcp.rst_tx++;
    xmit(s, c, c->snd_max, TCP_RST | TCP_ACK, 0, 0);
}

void tcp_send_bare(struct ust_stack *s, const struct ip_meta *ip, const struct tcp_repr *th)
{
    const struct ipaddr *src = &ip->dst, *dst = &ip->src;
    const struct ip_tx tx = {.hop_limit = -1, .scope = ip_scope_of(ip)};
    const char *why = s->tcp->why;
    s->tcp->why = NULL;
    struct pkbuf *p = pkb_alloc(s, tcp_hdr_len(th));
    if (!p)
        return;
    tcp_emit(th, ip_pseudo_sum(src, dst, IP_PROTO_TCP), pkb_data(p), 0);
    s->stats.tcp.tx++;
    TCP_LOG_OUT(s, src, dst, th, 0, why ? why : "a segment of no connection");
    ip_output(s, p, IP_PROTO_TCP, src, dst, &tx);
}

void tcp_send_rst_for(struct ust_stack *s, const struct ip_meta *ip, const struct tcp_repr *th,
                      size_t seg_len)
{
    /* RFC 9293 3.10.7.1: never a RST for a RST. */
    if (th->flags & TCP_RST)
        return;
    struct tcp_repr r = {.sport = th->dport, .dport = th->sport};
    if (th->flags & TCP_ACK) {
        r.seq = th->ack;
        r.flags = TCP_RST;
    } else {
        r.seq = 0;
        r.ack = th->seq + (uint32_t)seg_len + !!(th->flags & TCP_SYN) + !!(th->flags & TCP_FIN);
        r.flags = TCP_RST | TCP_ACK;
    }
    s->stats.tcp.rst_tx++;
    if (!s->tcp->why)
        tcp_why(s, "RST: no connection takes this segment");
    tcp_send_bare(s, ip, &r);
}

void tcp_retransmit_first(struct ust_stack *s, struct tcp_conn *c)
{
    if (c->state == TCPS_SYN_SENT || c->state == TCPS_SYN_RECEIVED) {
        tcp_send_syn(s, c);
        return;
    }
    /* What was sent and not acknowledged, at most an MSS: the ring also
     * holds bytes never sent (Nagle, the window, MSG_MORE), which are new
     * data for tcp_output, not a retransmission. Resending them here took
     * snd_nxt past snd_max (the frame fuzzer found it). */
    uint32_t sent = (uint32_t)(c->snd_max - c->snd_una) - (c->fin_sent ? 1u : 0u);
    uint32_t len = (uint32_t)c->sndq.len < sent ? (uint32_t)c->sndq.len : sent;
    if (len > c->snd_mss)
        len = c->snd_mss;
    bool fin = c->fin_sent && len == c->sndq.len;
    if (len == 0 && !fin)
        return;
    tcp_count_retransmit(s, c);
    c->rtt_timing = false; /* Karn: never time a retransmission */
    c->rtt_ambiguous = true;
    c->rtx_ts = tcp_ts_now(s, c);
    xmit(s, c, c->snd_una, TCP_ACK | TCP_PSH | (fin ? TCP_FIN : 0), 0, len);
    if (seq_lt(c->snd_nxt, c->snd_una + len + fin))
        c->snd_nxt = c->snd_una + len + fin;
}

void tcp_output(struct ust_stack *s, struct tcp_conn *c)
{
    if (!tcp_can_send_data(c->state)) {
        if (c->state != TCPS_CLOSED && c->state != TCPS_LISTEN && c->state != TCPS_SYN_SENT)
            tcp_owe_ack(s, c);
        return;
    }
    if (c->in_recovery && c->rec->output) {
        c->rec->output(s, c); /* RFC 6675: pipe, not flight, decides */
        tcp_owe_ack(s, c);
        return;
    }
    /* A full segment's payload: the MSS less what SACK blocks we owe the
     * peer will take in each segment's header. */
    struct tcp_sack_block blk[TCP_MAX_SACK];
    unsigned nblk = tcp_sack_blocks(c, blk, c->ts_ok ? 3 : 4);
    uint32_t mss = c->snd_mss - (nblk ? 4 + 8 * nblk : 0);
    /* With TSO (docs/DESIGN.md, "Offloads") one segment may carry as many
     * full segments as the device takes in a super-frame; every decision
     * below is still made in wire segments of mss. */
    uint32_t seg_max = mss;
    if (netif_offload_any(s) & (UST_OFFLOAD_TSO4 | UST_OFFLOAD_TSO6)) {
        uint32_t gso_max = ip_gso_max(s, &c->raddr, c->scope);
        uint32_t hdrs = (ipaddr_is_v4(&c->raddr) ? IPV4_HDR_LEN : IPV6_HDR_LEN) + TCP_HDR_LEN +
                        c->seg_opts + (nblk ? 4 + 8 * nblk : 0);
        if (gso_max > hdrs + 2 * mss)
            seg_max = (gso_max - hdrs) / mss * mss;
    }
    uint32_t max_before = c->snd_max;
    for (;;) {
        /* Going back after a timeout: what the peer SACKed since need not
         * go again (RFC 6675 5.1 keeps using the SACKs that arrive). */
        uint32_t sacked_end;
        while (seq_lt(c->snd_nxt, c->snd_max) && tcp_sb_sacked(&c->sb, c->snd_nxt, &sacked_end))
            c->snd_nxt = seq_lt(sacked_end, c->snd_max) ? sacked_end : c->snd_max;
        uint32_t unsent = tcp_unsent(c);
        uint32_t win = c->snd_wnd < c->cwnd ? c->snd_wnd : c->cwnd;
        uint32_t in_flight = c->snd_nxt - c->snd_una;
        uint32_t usable = win > in_flight ? win - in_flight : 0;
        uint32_t len = unsent < usable ? unsent : usable;
        if (len > seg_max)
            len = seg_max;
        if (seq_lt(c->snd_nxt, c->snd_max)) {
            /* Retransmitting: stop at the next SACKed range. */
            for (unsigned i = 0; i < c->sb.n; i++) {
                uint32_t gap = c->sb.r[i].start - c->snd_nxt;
                if (seq_gt(c->sb.r[i].start, c->snd_nxt) && gap < len)
                    len = gap;
            }
        }
        uint32_t data_end = c->snd_una + (uint32_t)c->sndq.len;
        bool fin = c->fin_queued && len == unsent && c->snd_nxt + len == data_end &&
                   (!c->fin_sent || c->snd_nxt + len == c->fin_seq);
        if (len > mss && len % mss && !fin && !(len == unsent && c->nodelay && !c->more)) {
            /* A super-segment's last piece would be a small segment sent
             * with the full ones in flight before it: it goes only as
             * the rules below let a small segment go (Nagle, SWS,
             * MSG_MORE), so it goes on its own. */
            len -= len % mss;
        }
        if (len == 0 && !fin) {
            /* Data waits for a window the peer does not offer: probe it
             * (persist timer, RFC 9293 3.8.6.1) when nothing else will. */
            if (unsent > 0 && c->snd_wnd == 0 && c->snd_nxt == c->snd_una &&
                c->timer == TCP_TIMER_IDLE)
                tcp_arm_persist(s, c);
            break;
        }
        if (len > 0 && len < mss && !fin && c->snd_nxt == c->snd_max) {
            /* MSG_MORE: the application has more to say; the partial
             * segment waits for it, for the FIN, or TCP_CORK_MAX (the
             * ceiling Linux puts on TCP_CORK, which MSG_MORE stands for
             * per call). A server that answers and closes so sends its
             * last bytes and the FIN together. */
            if (c->more && len == unsent) {
                if (c->timer == TCP_TIMER_IDLE)
                    tcp_timer_set(s, c, TCP_TIMER_CORK, s->now + TCP_CORK_MAX);
                break;
            }
            /* Nagle (RFC 896, RFC 1122 4.2.3.4): a small segment only when
             * nothing is in flight, unless TCP_NODELAY. */
            if (!c->nodelay && in_flight > 0)
                break;
            /* Sender SWS avoidance: do not send a sliver of a window when
             * more data waits, unless it is half the largest window seen. */
            if (len < unsent && len < c->max_snd_wnd / 2) {
                /* With nothing in flight no ACK will come to clock us: if
                 * the receiver's window update is lost, both sides wait
                 * forever. Probe as for a zero window (RFC 1122 4.2.3.4's
                 * override timer; Linux arms its probe timer alike). */
                if (in_flight == 0 && c->timer == TCP_TIMER_IDLE)
                    tcp_arm_persist(s, c);
                break;
            }
        }
        bool new_data = c->snd_nxt == c->snd_max;
        if (new_data && len > 0 && !c->rtt_timing) {
            c->rtt_timing = true;
            c->rtt_seq = c->snd_nxt;
            c->rtt_start = s->now;
        }
        if (!new_data) {
            /* Counted in wire segments: a super-segment resent after a
             * timeout is as many retransmissions as it holds. */
            for (uint32_t k = 0; k == 0 || k * mss < len; k++)
                tcp_count_retransmit(s, c);
        }
        uint8_t flags = TCP_ACK | (len == unsent && len ? TCP_PSH : 0) | (fin ? TCP_FIN : 0);
        xmit_gso(s, c, c->snd_nxt, flags, c->snd_nxt - c->snd_una, len, mss);
        c->snd_nxt += len + fin;
        if (seq_gt(c->snd_nxt, c->snd_max))
            c->snd_max = c->snd_nxt;
        if (fin) {
            c->fin_sent = true;
            c->fin_seq = c->snd_nxt - 1;
        }
        if (!tcp_timer_covers_flight(c))
            tcp_arm_rto(s, c); /* RFC 6298 5.1 (a cork or persist timer gives way) */
        if (fin)
            break;
    }
    if (seq_gt(c->snd_max, max_before))
        tcp_tlp_arm(s, c); /* new data went: the tail may be lost */
    tcp_owe_ack(s, c);
}
