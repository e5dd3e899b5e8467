/* TCP timers, all deadlines in the connection: retransmission (RFC 6298),
 * persist (RFC 9293 3.8.6.1), delayed ACK (RFC 1122 4.2.3.2), keepalive
 * (RFC 1122 4.2.3.6) and TIME-WAIT (RFC 9293 3.6). */
#include "transport/tcp.h"

#include <errno.h>

#define TCP_MAX_RTO (60 * UST_SEC)

void tcp_arm_rto(struct ust_stack *s, struct tcp_conn *c)
{
    uint64_t r = c->rto;
    for (unsigned i = 0; i < c->backoff && r < TCP_MAX_RTO; i++)
        r *= 2; /* RFC 6298 5.5: back off */
    if (r > TCP_MAX_RTO)
        r = TCP_MAX_RTO;
    c->rto_at = s->now + r;
}

void tcp_rtt_sample(struct ust_stack *s, struct tcp_conn *c, ust_time_t rtt)
{
    uint32_t r = rtt > 0xffffffu ? 0xffffffu : (uint32_t)rtt;
    if (!c->rtt_valid) { /* RFC 6298 2.2 */
        c->srtt = r;
        c->rttvar = r / 2;
        c->rtt_valid = true;
    } else { /* RFC 6298 2.3, alpha 1/8, beta 1/4 */
        uint32_t d = c->srtt > r ? c->srtt - r : r - c->srtt;
        c->rttvar = (3 * c->rttvar + d) / 4;
        c->srtt = (7 * c->srtt + r) / 8;
    }
    uint64_t rto = (uint64_t)c->srtt + (4 * c->rttvar > 1000 ? 4 * c->rttvar : 1000);
    if (rto < s->cfg.tcp_min_rto)
        rto = s->cfg.tcp_min_rto;
    if (rto > TCP_MAX_RTO)
        rto = TCP_MAX_RTO;
    c->rto = (uint32_t)rto;
}

void tcp_enter_time_wait(struct ust_stack *s, struct tcp_conn *c)
{
    tcp_set_state(s, c, TCPS_TIME_WAIT);
    c->rto_at = c->keepalive_at = c->delack_at = UST_TIME_NEVER;
    tcp_time_wait_restart(s, c);
}

static void on_rto(struct ust_stack *s, struct tcp_conn *c)
{
    if (c->persist) {
        /* RFC 1122 4.2.2.17: keep the connection while the receiver
         * answers the probes; once tcp_max_retries in a row go unanswered
         * the peer is gone (Linux's tcp_retries2 / orphan retries). Without
         * this an orphan facing a dead peer's zero window never ends. */
        if (c->probes_out >= s->cfg.tcp_max_retries) {
            s->stats.tcp.timeouts++;
            tcp_close_conn(s, c, ETIMEDOUT);
            return;
        }
        c->probes_out++;
        s->stats.tcp.window_probes++;
        tcp_send_probe(s, c);
        if (c->backoff < 16)
            c->backoff++; /* probe ever more slowly, but never give up */
        tcp_arm_rto(s, c);
        return;
    }
    s->stats.tcp.rto_timeouts++;
    c->backoff++;
    bool syn = c->state == TCPS_SYN_SENT || c->state == TCPS_SYN_RECEIVED;
    unsigned limit = syn ? s->cfg.tcp_syn_retries : s->cfg.tcp_max_retries;
    if (c->backoff > limit) {
        char a[UST_IP4_STRLEN];
        debugf(s, "%u->%s:%u: no answer after %u retransmissions, giving up", c->lport,
               ust_ip4_format(c->raddr, a), c->rport, limit);
        s->stats.tcp.timeouts++;
        tcp_close_conn(s, c, ETIMEDOUT);
        return;
    }
    c->rtt_timing = false; /* Karn's rule */
    c->rtt_ambiguous = true;
    c->rtx_ts = tcp_ts_now(s, c);
    debugf(s, "%u->%u: retransmission timeout %u, rto=%uus, una=%u, max=%u", c->lport, c->rport,
           c->backoff, c->rto, c->snd_una, c->snd_max);
    if (syn) {
        tcp_send_syn(s, c);
        tcp_arm_rto(s, c);
        return;
    }
    c->now = s->now;
    c->cc->on_rto(c);
    c->in_recovery = false;
    c->dupacks = 0;
    /* The receiver may have reneged: what it SACKed is forgotten (RFC 2018
     * 8, RFC 6675 5.1); SACKs arriving from now on are used again. */
    c->sb.n = 0;
    c->recover = c->snd_max; /* RFC 6582 3.2 (4): no fast retransmit for old losses */
    c->snd_nxt = c->snd_una; /* go back: resend from the first unacknowledged byte */
    tcp_arm_rto(s, c);
    tcp_output(s, c);
    if (c->snd_wnd == 0 && c->snd_nxt == c->snd_una && c->snd_una != c->snd_max) {
        /* The window closed with data in flight, so nothing above was
         * sent: the RTO fired again and again into the zero window until
         * tcp_max_retries killed a connection whose peer was alive and
         * answering (fixed). Probe the window instead (RFC 9293 3.8.6.1,
         * RFC 1122 4.2.2.17: open while the peer answers the probes);
         * what was in flight goes again from snd_una once it opens. */
        c->persist = true;
        s->stats.tcp.window_probes++;
        tcp_send_probe(s, c);
    }
}

/* TIME-WAIT connections at the list's tail, in order: close those whose
 * time is up, stop at the first that still waits. (Connections in the
 * tail that are not in TIME-WAIT are closed ones a socket still holds:
 * they have no deadline.) */
static void time_wait_expire(struct ust_stack *s, struct tcp_conn *c, ust_time_t now)
{
    while (c) {
        struct tcp_conn *next = c->next;
        if (c->state == TCPS_TIME_WAIT) {
            if (c->tw_at > now)
                return;
            tcp_close_conn(s, c, 0); /* frees only c */
        }
        c = next;
    }
}

void tcp_timer(struct ust_stack *s, ust_time_t now)
{
    struct tcp_conn *next;
    for (struct tcp_conn *c = s->tcp->all; c; c = next) {
        next = c->next;
        if (c->state == TCPS_TIME_WAIT) {
            time_wait_expire(s, c, now);
            return;
        }
        if (c->tw_at <= now) {
            /* An orphan gave up waiting in FIN-WAIT-2. */
            tcp_close_conn(s, c, 0);
            next = s->tcp->all; /* the list may have changed: rescan */
            continue;
        }
        if (c->delack_at <= now) {
            s->stats.tcp.delayed_acks++;
            tcp_send_ack(s, c);
        }
        if (c->keepalive_at <= now) {
            if (c->state != TCPS_ESTABLISHED && c->state != TCPS_CLOSE_WAIT) {
                c->keepalive_at = UST_TIME_NEVER;
            } else if (c->keep_probes >= c->keepcnt) {
                s->stats.tcp.timeouts++;
                tcp_close_conn(s, c, ETIMEDOUT);
                next = s->tcp->all;
                continue;
            } else {
                s->stats.tcp.keepalive_probes++;
                c->keep_probes++;
                tcp_send_probe(s, c);
                c->keepalive_at = now + (ust_time_t)c->keepintvl_s * UST_SEC;
            }
        }
        if (c->rto_at <= now) {
            c->rto_at = UST_TIME_NEVER;
            on_rto(s, c);
            next = s->tcp->all; /* on_rto may have freed c */
        }
    }
}

ust_time_t tcp_next_deadline(const struct ust_stack *s)
{
    ust_time_t t = UST_TIME_NEVER;
    for (const struct tcp_conn *c = s->tcp->all; c; c = c->next) {
        if (c->state == TCPS_TIME_WAIT) {
            /* The first of the tail ends first. */
            if (c->tw_at < t)
                t = c->tw_at;
            break;
        }
        if (c->rto_at < t)
            t = c->rto_at;
        if (c->delack_at < t)
            t = c->delack_at;
        if (c->keepalive_at < t)
            t = c->keepalive_at;
        if (c->tw_at < t)
            t = c->tw_at;
    }
    return t;
}
