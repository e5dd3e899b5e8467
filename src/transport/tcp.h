/* TCP (RFC 9293): connections, their state, and the entry points of the
 * files that implement them:
 *   tcp.c           connection table, ISNs (RFC 6528), a connection's life
 *   tcp_user.c      what the socket layer calls (RFC 9293 3.9.1), buffer
 *                   auto-tuning; tcp_user.h is its interface
 *   tcp_input.c     "segment arrives" (RFC 9293 3.10.7), step by step
 *   tcp_listen.c    a listener's segments, SYN flood defence (RFC 4987)
 *   tcp_syncookie.c SYN cookies' encoding
 *   tcp_output.c    building segments from the send buffer; ACKs, RSTs
 *   tcp_timer.c     the timer heap; retransmission (RFC 6298), probe,
 *                   persist, delayed ACK, keepalive, TIME-WAIT
 *   tcp_sack.c      SACK blocks, scoreboard, SACK loss recovery (RFC 6675)
 *   tcp_recovery.c  loss recovery without SACK (RFC 5681, RFC 6582)
 *   tcp_cc.c        congestion control behind struct tcp_cc_ops: NewReno
 *                   (RFC 5681, RFC 6582)
 *   tcp_cubic.c     CUBIC (RFC 9438), chosen per socket with TCP_CONGESTION */
#ifndef USTACK_TRANSPORT_TCP_H
#define USTACK_TRANSPORT_TCP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/assembler.h"
#include "core/ipaddr.h"
#include "core/ratelimit.h"
#include "core/ring.h"
#include "core/stack_priv.h"
#include "net/ip.h"
#include "transport/tcp_seq.h"
#include "transport/tcp_user.h"
#include "wire/icmp_error.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

enum tcp_state {
    TCPS_CLOSED = 0,
    TCPS_LISTEN,
    TCPS_SYN_SENT,
    TCPS_SYN_RECEIVED,
    TCPS_ESTABLISHED,
    TCPS_FIN_WAIT_1,
    TCPS_FIN_WAIT_2,
    TCPS_CLOSE_WAIT,
    TCPS_CLOSING,
    TCPS_LAST_ACK,
    TCPS_TIME_WAIT,
};

const char *tcp_state_name(enum tcp_state st);

struct tcp_conn;
struct sock;

/* What the sender's one timer (timer_at) is armed for. Data in flight
 * is always covered by RETRANSMIT or PROBE; the other two replace them
 * only when nothing waits for an acknowledgment, or (PERSIST) when the
 * peer's window closed on it. */
enum tcp_timer {
    TCP_TIMER_IDLE = 0,   /* not armed: timer_at is UST_TIME_NEVER */
    TCP_TIMER_RETRANSMIT, /* retransmission timeout (RFC 6298) */
    TCP_TIMER_PROBE,      /* tail loss probe, before the RTO (after RFC 8985 7) */
    TCP_TIMER_PERSIST,    /* zero-window probe (RFC 9293 3.8.6.1) */
    TCP_TIMER_CORK,       /* MSG_MORE's ceiling: the held partial segment goes */
};

/* Congestion control: a pure module that only touches the connection's
 * cwnd/ssthresh fields through these hooks. The clock reaches it as an
 * argument, where a hook needs one. */
struct tcp_cc_ops {
    const char *name;
    void (*init)(struct tcp_conn *c);
    /* New data acknowledged outside recovery, at time now. */
    void (*on_ack)(struct tcp_conn *c, uint32_t acked, ust_time_t now);
    /* Third duplicate ACK: loss detected, entering fast recovery. */
    void (*on_enter_recovery)(struct tcp_conn *c);
    /* Further duplicate ACK during recovery. */
    void (*on_dupack)(struct tcp_conn *c);
    /* ACK during recovery: partial (below `recover`) or full. */
    void (*on_partial_ack)(struct tcp_conn *c, uint32_t acked);
    void (*on_exit_recovery)(struct tcp_conn *c);
    /* Retransmission timeout. */
    void (*on_rto)(struct tcp_conn *c);
};

/* Loss recovery, chosen when the handshake settles whether SACK is in
 * effect: RFC 6675 with it (tcp_sack.c), RFC 5681 fast retransmit and
 * RFC 6582 NewReno without (tcp_recovery.c). process_ack() calls these
 * at the RFC's steps; the congestion control sets the windows they work
 * with. */
struct tcp_recovery_ops {
    const char *name;
    /* Takes what an ACK reports beyond SEG.ACK (SACK blocks); true when
     * that tells of data newly received above the cumulative ACK. */
    bool (*update)(struct tcp_conn *c, const struct tcp_repr *th);
    /* Whether an ACK that leaves SND.UNA in place is a duplicate (RFC
     * 5681 2; RFC 6675 2). news: what update() returned. */
    bool (*is_dupack)(const struct tcp_conn *c, uint32_t seg_len, uint32_t wnd, bool news);
    /* After an ACK that was a duplicate (dup, counted in c->dupacks) or
     * told of new data (news): detect a loss, enter recovery and
     * retransmit. */
    void (*detect_loss)(struct ust_stack *s, struct tcp_conn *c, bool dup, bool news);
    /* In recovery, SND.UNA moved by acked but not past the recovery point. */
    void (*partial_ack)(struct ust_stack *s, struct tcp_conn *c, uint32_t acked);
    /* SND.UNA reached the recovery point: recovery ends. */
    void (*exit)(struct ust_stack *s, struct tcp_conn *c);
    /* Sends while in recovery instead of tcp_output's loop; NULL: the loop. */
    void (*output)(struct ust_stack *s, struct tcp_conn *c);
    /* The probe timer fired: resend a hole at SND.UNA that the ACKs show
     * lost, instead of probing; false when there is none. NULL: never. */
    bool (*probe_repair)(struct ust_stack *s, struct tcp_conn *c);
};

extern const struct tcp_recovery_ops tcp_newreno_recovery;
extern const struct tcp_recovery_ops tcp_sack_recovery;
/* The common end of a recovery: the congestion control's window. */
void tcp_recovery_end(struct tcp_conn *c);

extern const struct tcp_cc_ops tcp_newreno;
extern const struct tcp_cc_ops tcp_cubic;
/* The module called name ("newreno"/"reno", "cubic"), or NULL. */
const struct tcp_cc_ops *tcp_cc_find(const char *name);

/* CUBIC's per-connection state (RFC 9438 4.1), windows in segments. */
struct cubic_state {
    double w_max;           /* window before the last reduction */
    double k;               /* seconds until W_cubic reaches w_max */
    double cwnd_epoch;      /* cwnd when the epoch began */
    double w_est;           /* Reno-friendly estimate (4.3) */
    double cwnd_prior;      /* cwnd before the last reduction */
    double inc_bytes;       /* fractional growth not yet in cwnd */
    ust_time_t epoch_start; /* start of congestion avoidance; valid if in_epoch */
    bool in_epoch;
    bool after_rto; /* first avoidance stage after a timeout (4.8) */
};
/* CUBIC's window function W_cubic(t) = C*(t-K)^3 + W_max (RFC 9438
 * eq. 1), in segments, t in seconds since the epoch began (for tests). */
double tcp_cubic_w_cubic(const struct cubic_state *st, double t);

/* The sender's SACK scoreboard (RFC 6675 2): the ranges above snd_una the
 * peer reported holding, sorted, disjoint. Forgetting one (when full, the
 * highest goes) is safe: it only means a needless retransmission. */
#define TCP_SB_MAX 16
struct tcp_scoreboard {
    unsigned n;
    struct tcp_sack_block r[TCP_SB_MAX];
};
/* Records a SACK block, merging with what touches it. */
void tcp_sb_add(struct tcp_scoreboard *sb, uint32_t start, uint32_t end);
/* Drops everything below una (the cumulative ACK moved). */
void tcp_sb_ack(struct tcp_scoreboard *sb, uint32_t una);
/* Bytes SACKed at or above seq. */
uint32_t tcp_sb_sacked_above(const struct tcp_scoreboard *sb, uint32_t seq);
/* The highest SACKed byte + 1 (HighSACK), or `una` when nothing is. */
uint32_t tcp_sb_high(const struct tcp_scoreboard *sb, uint32_t una);
/* Is seq inside a SACKed range? If so and end is not NULL, *end is its end. */
bool tcp_sb_sacked(const struct tcp_scoreboard *sb, uint32_t seq, uint32_t *end);

struct tcp_conn {
    enum tcp_state state;
    struct sock *sk;              /* NULL: not accepted yet, or closed by the application */
    struct tcp_conn *parent;      /* the listener, while in its queues */
    struct tcp_conn *next, *prev; /* all connections of the stack */
    struct tcp_conn *hnext;       /* hash chain */
    struct tcp_conn *qnext;       /* listener's SYN or accept queue */
    struct tcp_conn *lnext;       /* the stack's listeners */
    struct tcp_conn *reap_next;   /* closed during a timer pass (tcp_reap) */
    struct tcp_conn *due_next;    /* due in this timer pass (tcp_timer) */

    struct ipaddr laddr, raddr; /* either family (core/ipaddr.h) */
    uint16_t lport, rport;
    uint32_t ph;    /* the pseudo-header's sum for the 4-tuple (net/ip.h), once */
    uint32_t scope; /* a link-local peer's zone (struct ip_tx); else 0 */

    /* Send sequence space (RFC 9293 3.3.1). The send ring holds the bytes
     * from snd_una on (SYN and FIN take sequence numbers, not ring bytes). */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
    uint32_t max_snd_wnd; /* largest window the peer offered */
    uint16_t snd_mss;     /* segment size we send */
    uint16_t user_mss;    /* TCP_MAXSEG: 0, or a cap on the MSS we send and offer */
    /* Window scaling (RFC 7323 2): in effect (ws_ok) only when both SYNs
     * carried the option; otherwise both shifts are 0. */
    bool ws_ok;
    uint8_t snd_wscale; /* the peer's shift: received windows << it */
    uint8_t rcv_wscale; /* ours: advertised windows >> it */
    uint8_t req_wscale; /* the shift our SYN offers (fits rcvq.cap) */
    /* Timestamps (RFC 7323 3-5): in effect (ts_ok) when both SYNs carried
     * them; then every segment but a RST carries them. */
    bool ts_ok;
    uint32_t ts_offset;      /* added to our millisecond clock (5.4) */
    uint32_t ts_recent;      /* TS.Recent: the peer's value to echo */
    ust_time_t ts_recent_at; /* when ts_recent was set (24-day rule, 5.5) */
    uint32_t last_ack_sent;  /* Last.ACK.sent (4.3) */
    /* SACK (RFC 2018): in effect when both SYNs carried SACK-permitted. */
    bool sack_ok;
    /* Receiver: a byte of each of the latest out-of-order segments that
     * opened or grew a different range, the newest first: their blocks
     * lead each SACK option (RFC 2018 4). */
    uint32_t sack_recent[TCP_MAX_SACK];
    uint8_t sack_nrecent;
    struct tcp_scoreboard sb; /* sender: what the peer SACKed (RFC 6675) */
    uint32_t high_rxt;        /* RFC 6675 HighRxt: retransmitted up to here */
    uint32_t rescue_rxt;      /* RFC 6675 RescueRxt */
    uint32_t rtx_mark;        /* snd_max when the latest retransmission left */
    uint16_t seg_opts;        /* option bytes every data segment carries (TS: 12) */
    bool fin_queued;          /* the application is done sending */
    bool fin_sent;
    uint32_t fin_seq; /* our FIN's sequence number, once sent */

    /* Receive sequence space. */
    uint32_t irs, rcv_nxt;
    uint32_t rcv_adv; /* right edge of the window we advertised */
    bool fin_received;
    bool shut_rd; /* application will not read: discard */
    /* Receive-buffer auto-tuning (tcp_recv): bytes the application read
     * since rcv_space_at. */
    bool rcv_auto;
    bool snd_auto; /* the send buffer grows with the window (tcp_send) */
    uint32_t rcv_copied;
    ust_time_t rcv_space_at;

    struct ring sndq, rcvq;
    struct assembler ooo;

    /* RTT estimation and retransmission (RFC 6298), in microseconds. */
    uint32_t srtt, rttvar, rto;
    bool rtt_valid;     /* srtt holds a measurement */
    bool rtt_timing;    /* one segment is being timed (Karn) */
    bool rtt_ambiguous; /* a retransmission stopped the timing: take
                                  the next sample from timestamps */
    uint32_t rtx_ts;    /* our timestamp clock at the latest retransmission */
    uint32_t rtt_seq;
    ust_time_t rtt_start;
    unsigned backoff;       /* consecutive timeouts */
    uint32_t total_retrans; /* segments sent again (TCP_INFO's tcpi_total_retrans) */

    /* Congestion control and loss recovery. */
    const struct tcp_cc_ops *cc;
    const struct tcp_recovery_ops *rec; /* tcp_sack_recovery when sack_ok */
    uint32_t cwnd, ssthresh;
    uint32_t bytes_acked; /* congestion avoidance accumulator (RFC 5681 3.1) */
    unsigned dupacks;
    bool in_recovery;
    uint32_t recover; /* RFC 6582: snd_max when recovery began */
    struct cubic_state cubic;

    /* Deadlines (UST_TIME_NEVER when off), set only through
     * tcp_set_deadline and tcp_timer_set, which keep the connection in
     * the stack's timer heap at the earliest of them (due). The sender
     * has one timer, armed for one of the purposes of enum tcp_timer. */
    enum tcp_timer timer;
    ust_time_t timer_at;
    ust_time_t delack_at;
    ust_time_t keepalive_at;
    ust_time_t tw_at;      /* TIME-WAIT end, or orphan FIN-WAIT-2 give-up */
    ust_time_t due;        /* the earliest of the four: its key in the heap */
    unsigned heap_pos;     /* its index in the heap + 1; 0: not in it */
    bool tlp_out;          /* a probe went and no ACK has moved SND.UNA since */
    unsigned probes_out;   /* persist probes sent since the peer last spoke */
    unsigned segs_unacked; /* full segments received since our last ACK */
    bool ack_now;

    /* Options. */
    bool nodelay, keepalive;
    bool more; /* the latest send said MSG_MORE: a partial segment waits */
    unsigned keepidle_s, keepintvl_s, keepcnt, keep_probes;
    ust_time_t last_rx;

    /* Listener: the half-open (SYN-RECEIVED) children and the accept
     * queue, each bounded by backlog (tcp_listen.c). */
    unsigned backlog;
    unsigned syn_qlen, accept_qlen;
    struct tcp_conn *synq, *acceptq, *acceptq_tail;
    ust_time_t cookie_at;  /* when it last answered a SYN with a cookie */
    ust_time_t oow_ack_at; /* when it last answered an invalid segment (RFC 5961 7) */

    int error; /* why it died (positive errno), 0 if it did not */
};

/* Stack-wide TCP state. */
struct tcp_stack {
    /* Every connection. */
    struct tcp_conn *all;
    /* The connections with a deadline, in a binary min-heap by `due`
     * (tcp_timer.c): the next deadline is the top, and a poll step looks
     * only at connections that are due, however many wait idle or in
     * TIME-WAIT. heap_cap grows with the connections (tcp_conn_new), so
     * filing one never fails. */
    struct tcp_conn **heap;
    unsigned heap_n, heap_cap;
    struct tcp_conn *listeners;
    struct tcp_conn **hash; /* by 4-tuple: connections not listening */
    unsigned nbuckets;      /* doubles when nhashed exceeds it (tcp.c) */
    unsigned nhashed;
    unsigned nconns;
    uint8_t isn_key[16];    /* RFC 6528 secret */
    struct ring_budget mem; /* every connection's buffers: cfg.tcp_mem_max */
    uint8_t cookie_key[16]; /* SYN cookies' secret (RFC 4987 3.6) */
    uint32_t hash_key[4];   /* the 4-tuple hash's secret */
    /* RFC 5961 7: the stack-wide challenge ACK budget for the current
     * second, drawn at random around cfg.tcp_challenge_ack_rate so that
     * what one connection spends tells nothing of another's. */
    uint64_t challenge_second;
    unsigned challenge_left;
    const struct tcp_cc_ops *default_cc; /* from the configuration */
    /* Set while tcp_input finishes a segment: an ACK it owes waits for the
     * end of the poll step (see tcp_owe_ack). */
    bool acks_wait;
    /* Set while tcp_timer walks the connections: those closed meanwhile
     * wait in `reap` to be freed when the walk ends. */
    bool timer_pass;
    struct tcp_conn *reap;
    /* What the next segment out is for, told by the debug log: set
     * (tcp_why, at debug level only) just before a send by the code that
     * knows (a delayed ACK, a probe, ...); xmit and tcp_send_bare take it
     * and clear it, and without it say what the flags and the sequence
     * number show. */
    const char *why;
};

int tcp_init(struct ust_stack *s);
void tcp_fini(struct ust_stack *s);

/* ---- tcp_input.c ---- */
/* What one segment carries, once parsed. */
struct tcp_seg {
    struct tcp_repr th;
    const uint8_t *data;
    uint32_t len;     /* data bytes */
    uint32_t seq_len; /* len + SYN + FIN (RFC 9293 3.4) */
};
void tcp_input(struct ust_stack *s, const struct ip_meta *ip, const uint8_t *seg, size_t len);
/* The options a SYN (or SYN-ACK) settles, with the MSS. */
void tcp_negotiate(struct ust_stack *s, struct tcp_conn *c, const struct tcp_repr *th);
/* A segment for a synchronized connection, or one in SYN-RECEIVED
 * (RFC 9293 3.10.7.4). */
void tcp_sync_input(struct ust_stack *s, struct tcp_conn *c, const struct ip_meta *ip,
                    const struct tcp_seg *g);
/* An ICMP error about one of our segments (q->proto is TCP): a hard one
 * ends the connection attempt it concerns with e->err. */
void tcp_icmp_error(struct ust_stack *s, const struct icmp_quote *q,
                    const struct icmp_err_class *e);

/* A Packet Too Big (RFC 8201) or fragmentation-needed said the path to
 * the quoted connection's peer carries mtu bytes: smaller segments. */
void tcp_pmtu_lowered(struct ust_stack *s, const struct icmp_quote *q, uint32_t mtu);

/* ---- tcp_listen.c ---- */
/* A segment for listener l (RFC 9293 3.10.7.2), SYN cookies included. */
void tcp_listen_input(struct ust_stack *s, struct tcp_conn *l, const struct ip_meta *ip,
                      const struct tcp_seg *g);
/* A half-open child got an ACK of another ISS: the cookie SYN-ACK that
 * an earlier copy of its SYN drew. If so, c takes that ISS and true. */
bool tcp_cookie_adopt(struct ust_stack *s, struct tcp_conn *c, const struct ip_meta *ip,
                      const struct tcp_repr *th);

/* ---- tcp_output.c ---- */
/* Sends whatever the windows, Nagle and the state allow. */
void tcp_output(struct ust_stack *s, struct tcp_conn *c);
/* A bare ACK (with the current window). */
void tcp_send_ack(struct ust_stack *s, struct tcp_conn *c);
/* The ACK c owes (ack_now) that no data segment carried: now, or at the
 * end of the poll step while tcp_input holds acks_wait. */
void tcp_owe_ack(struct ust_stack *s, struct tcp_conn *c);
/* Zero-window and keepalive probe: an ACK one below snd_una. */
void tcp_send_probe(struct ust_stack *s, struct tcp_conn *c);
/* SYN or SYN-ACK. */
void tcp_send_syn(struct ust_stack *s, struct tcp_conn *c);
/* RST from a connection's state (abort). */
void tcp_send_rst_conn(struct ust_stack *s, struct tcp_conn *c);
/* A segment that belongs to no connection, header only (a RST, a
 * cookie's SYN-ACK), in answer to the datagram ip: back to its source,
 * on the link it came in on. */
void tcp_send_bare(struct ust_stack *s, const struct ip_meta *ip, const struct tcp_repr *th);
/* RST in answer to a segment that has no connection (RFC 9293 3.10.7.1). */
void tcp_send_rst_for(struct ust_stack *s, const struct ip_meta *ip, const struct tcp_repr *th,
                      size_t seg_len);
/* Retransmits the segment starting at snd_una (fast retransmit, partial ACK). */
void tcp_retransmit_first(struct ust_stack *s, struct tcp_conn *c);
/* The window we would advertise now (receiver SWS avoidance, RFC 1122 4.2.3.3). */
uint32_t tcp_rcv_window(const struct tcp_conn *c);
/* The states in which data (and the FIN) may still be sent. */
static inline bool tcp_can_send_data(enum tcp_state st)
{
    return st == TCPS_ESTABLISHED || st == TCPS_CLOSE_WAIT || st == TCPS_FIN_WAIT_1 ||
           st == TCPS_LAST_ACK || st == TCPS_CLOSING;
}

/* A segment goes again: the stack's counter and the connection's. */
static inline void tcp_count_retransmit(struct ust_stack *s, struct tcp_conn *c)
{
    s->stats.tcp.retransmits++;
    c->total_retrans++;
}

/* Bytes of the send queue not yet sent. */
static inline uint32_t tcp_unsent(const struct tcp_conn *c)
{
    uint32_t off = c->snd_nxt - c->snd_una;
    if (c->state == TCPS_SYN_SENT || c->state == TCPS_SYN_RECEIVED)
        return 0;
    return (uint32_t)c->sndq.len > off ? (uint32_t)c->sndq.len - off : 0;
}
static inline uint32_t tcp_flight(const struct tcp_conn *c) { return c->snd_max - c->snd_una; }

/* Sends data [seq, seq + len) from the send ring (with FIN if fin), as
 * an ACK; arms the retransmission timer unless RETRANSMIT or PROBE
 * already covers data in flight (a CORK or PERSIST timer gives way). */
void tcp_xmit_data(struct ust_stack *s, struct tcp_conn *c, uint32_t seq, uint32_t len, bool fin);
/* Our timestamp clock (RFC 7323 5.4): milliseconds plus the connection's offset. */
static inline uint32_t tcp_ts_now(const struct ust_stack *s, const struct tcp_conn *c)
{
    return (uint32_t)(s->now / 1000) + c->ts_offset;
}

/* ---- tcp_sack.c (RFC 2018, RFC 6675) ---- */
/* RFC 6675 IsLost(seq). */
bool tcp_sack_is_lost(const struct tcp_conn *c, uint32_t seq);
/* RFC 6675 SetPipe(): bytes presumed in the network. */
uint32_t tcp_sack_pipe(const struct tcp_conn *c);
/* RFC 5827 Early Retransmit with SACK: too few segments out for
 * DupThresh, and enough of them SACKed to declare SND.UNA lost. */
bool tcp_sack_early_lost(const struct tcp_conn *c);
/* Receiver: out-of-order data at seq went into the assembler. */
void tcp_sack_note(struct tcp_conn *c, uint32_t seq);
/* The receiver's SACK blocks for the next ACK (up to max): those of the
 * latest out-of-order segments first, the newest first (RFC 2018 4). */
unsigned tcp_sack_blocks(const struct tcp_conn *c, struct tcp_sack_block *out, unsigned max);

/* ---- tcp_timer.c ---- */
void tcp_timer(struct ust_stack *s, ust_time_t now);
ust_time_t tcp_next_deadline(const struct ust_stack *s);
void tcp_rtt_sample(struct ust_stack *s, struct tcp_conn *c, ust_time_t rtt);
/* Sets one of c's deadlines (&c->delack_at, &c->keepalive_at,
 * &c->tw_at) and files c in the timer heap by its earliest. */
void tcp_set_deadline(struct ust_stack *s, struct tcp_conn *c, ust_time_t *which, ust_time_t at);
/* Arms the sender's timer for kind at deadline at. */
static inline void tcp_timer_set(struct ust_stack *s, struct tcp_conn *c, enum tcp_timer kind,
                                 ust_time_t at)
{
    c->timer = kind;
    tcp_set_deadline(s, c, &c->timer_at, at);
}
static inline void tcp_timer_stop(struct ust_stack *s, struct tcp_conn *c)
{
    tcp_timer_set(s, c, TCP_TIMER_IDLE, UST_TIME_NEVER);
}
/* Room in the heap for one more connection: 0 or -ENOMEM. */
int tcp_heap_reserve(struct ust_stack *s);
/* Takes c out of the heap (it is being freed). */
void tcp_heap_remove(struct ust_stack *s, struct tcp_conn *c);
/* Is data in flight covered: will the timer retransmit or probe? */
static inline bool tcp_timer_covers_flight(const struct tcp_conn *c)
{
    return c->timer == TCP_TIMER_RETRANSMIT || c->timer == TCP_TIMER_PROBE;
}
/* The retransmission timer: RTO from now, backed off (RFC 6298 5.5). */
void tcp_arm_rto(struct ust_stack *s, struct tcp_conn *c);
/* The persist timer: the same interval, for a zero-window probe. */
void tcp_arm_persist(struct ust_stack *s, struct tcp_conn *c);
/* Tail loss probe (after RFC 8985 7): brings the retransmission timer
 * forward to 2*SRTT while data is in flight. */
void tcp_tlp_arm(struct ust_stack *s, struct tcp_conn *c);
void tcp_enter_time_wait(struct ust_stack *s, struct tcp_conn *c);
/* (Re)starts TIME-WAIT's 2*MSL. */
void tcp_time_wait_restart(struct ust_stack *s, struct tcp_conn *c);

/* ---- tcp_log.c: the debug log's story ---- */
/* Whether the story is being told: one load and a comparison, inline,
 * since it is asked for every segment each way. */
static inline bool tcp_debug_on(const struct ust_stack *s)
{
    return s->cfg.log_level >= UST_LOG_DEBUG;
}
/* One line per segment in, "in <segment>: <decision>", logged where the
 * decision is taken (the line names that function), before its effects
 * (state changes, segments out) are logged. */
#define TCP_LOG_IN(s, ip, g, ...)                                                                  \
    do {                                                                                           \
        if (tcp_debug_on(s))                                                                       \
            tcp_log_in((s), __func__, __FILE__, __LINE__, (ip), &(g)->th, (g)->len, __VA_ARGS__);  \
    } while (0)
void tcp_log_in(struct ust_stack *s, const char *func, const char *file, int line,
                const struct ip_meta *ip, const struct tcp_repr *th, uint32_t len, const char *fmt,
                ...) __attribute__((format(printf, 8, 9)));
/* One line per segment out, "out [thread] <segment>: <why>"; the thread is
 * "stack" inside ust_stack_input/ust_stack_poll, "app" in a socket call. */
#define TCP_LOG_OUT(s, src, dst, th, len, why)                                                     \
    do {                                                                                           \
        if (tcp_debug_on(s))                                                                       \
            tcp_log_out_at((s), __func__, __FILE__, __LINE__, (src), (dst), (th), (len), (why));   \
    } while (0)
void tcp_log_out_at(struct ust_stack *s, const char *func, const char *file, int line,
                    const struct ipaddr *src, const struct ipaddr *dst, const struct tcp_repr *th,
                    uint32_t len, const char *why);
/* Says what the next segment c sends is for (see tcp_stack.why); only
 * while the story is told, so that nothing is left over when it is not. */
static inline void tcp_why(struct ust_stack *s, const char *why)
{
    if (tcp_debug_on(s))
        s->tcp->why = why;
}

/* ---- tcp.c: the connection table and a connection's life ---- */
struct tcp_conn *tcp_lookup(struct ust_stack *s, const struct ipaddr *laddr, uint16_t lport,
                            const struct ipaddr *raddr, uint16_t rport);
/* The listener for a segment to laddr:lport: one bound to that address,
 * else a wildcard one that takes the address's family. */
struct tcp_conn *tcp_find_listener(struct ust_stack *s, const struct ipaddr *laddr, uint16_t lport);
/* A new connection, CLOSED, in the stack's list (not in the table). */
struct tcp_conn *tcp_conn_new(struct ust_stack *s);
/* The socket options listener l passes on to c (a child, or the fresh
 * connection of a listener shut down): TCP_NODELAY, TCP_MAXSEG, the
 * keepalive settings and the congestion control. */
void tcp_conn_take_options(struct tcp_conn *c, const struct tcp_conn *l);
/* Frees c, unlinking it from every list (a listener's children are reset). */
void tcp_conn_free(struct ust_stack *s, struct tcp_conn *c);
/* A child of listener l for the SYN in datagram ip, from port rport to
 * lport (SYN-RECEIVED, in l's half-open queue), or NULL without memory.
 * tcp_listen.c bounds the queues. */
struct tcp_conn *tcp_new_child(struct ust_stack *s, struct tcp_conn *l, const struct ip_meta *ip,
                               uint16_t lport, uint16_t rport);
/* SYN-RECEIVED child became ESTABLISHED: move it to the accept queue. */
void tcp_child_established(struct ust_stack *s, struct tcp_conn *c);
/* Active open (RFC 9293 3.10.1): c gets its buffers, the 4-tuple and an
 * ISS, enters the table and sends its SYN (SYN-SENT). 0 or -ENOBUFS. */
int tcp_open_active(struct ust_stack *s, struct tcp_conn *c, uint32_t sndbuf, uint32_t rcvbuf,
                    const struct ipaddr *laddr, uint16_t lport, const struct ipaddr *raddr,
                    uint16_t rport);
void tcp_set_state(struct ust_stack *s, struct tcp_conn *c, enum tcp_state st);
/* The connection is over: report err (0 for an orderly end) to its socket
 * and free it unless the socket still holds it. */
void tcp_close_conn(struct ust_stack *s, struct tcp_conn *c, int err);
/* Frees the connections closed during the timer pass. */
void tcp_reap(struct ust_stack *s);
uint16_t tcp_mss_for(const struct ust_stack *s, const struct ipaddr *raddr);
/* Something the socket's waiters care about changed. */
void tcp_wake(struct ust_stack *s, struct tcp_conn *c);

/* With window scaling (RFC 7323) a window reaches 65535 << 14 bytes; the
 * rings are kept to 4 MiB (a peer without scaling sees at most 65535). */
#define TCP_MAX_BUF (4u << 20)
static inline uint32_t tcp_buf_cap(uint32_t want)
{
    return want > TCP_MAX_BUF ? TCP_MAX_BUF : want;
}
/* The receive buffer's auto-tuning ceiling: the configured one, within
 * TCP_MAX_BUF, and never below the buffer's size now (cap). */
uint32_t tcp_rcvbuf_max(const struct ust_stack *s, uint32_t cap);
/* The window shift c offers in its SYN or SYN-ACK (RFC 7323 2.3). */
uint8_t tcp_wscale_offer(const struct ust_stack *s, const struct tcp_conn *c);

#endif
