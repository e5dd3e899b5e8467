/* TCP connections: the table (a hash by 4-tuple, the list of every
 * connection, the listeners), initial sequence numbers (RFC 6528), and a
 * connection's life from its opening, passive (tcp_new_child) or active
 * (tcp_open_active), to its end (tcp_close_conn, tcp_conn_free). What
 * the socket layer calls is in tcp_user.c. */
#include "transport/tcp.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/siphash.h"
#include "net/ipv4.h"
#include "net/netif.h"
#include "net/route.h"
#include "transport/socket.h"

#define TCP_HASH_BUCKETS 1024
#define TCP_HASH_MAX (1u << 20) /* buckets: the table stops growing there */

static const char *const state_names[] = {
    "CLOSED",     "LISTEN",     "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
    "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING",  "LAST-ACK",     "TIME-WAIT",
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
    t->mem.used = &s->stats.tcp.buf_bytes;
    t->mem.max = s->cfg.tcp_mem_max;
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
    /* The cookies' secret, apart from the ISNs': derived, so that the
     * random stream (and every seeded test) stays as it was. */
    uint64_t k0 = siphash24(t->isn_key, "syncookie-0", 11),
             k1 = siphash24(t->isn_key, "syncookie-1", 11);
    memcpy(t->cookie_key, &k0, 8);
    memcpy(t->cookie_key + 8, &k1, 8);
    uint64_t k2 = siphash24(t->isn_key, "hash-0", 6), k3 = siphash24(t->isn_key, "hash-1", 6);
    memcpy(t->hash_key, &k2, 8);
    memcpy(t->hash_key + 2, &k3, 8);
    t->hash_key[3] |= 1; /* an odd multiplier */
    s->tcp = t;
    return 0;
}

void tcp_fini(struct ust_stack *s)
{
    if (!s->tcp)
        return;
    while (s->tcp->all)
        tcp_conn_free(s, s->tcp->all);
    ring_budget_fini(&s->tcp->mem);
    free(s->tcp->hash);
    free(s->tcp->heap);
    free(s->tcp);
    s->tcp = NULL;
}

static unsigned bucket(const struct tcp_stack *t, const struct ipaddr *la, uint16_t lp,
                       const struct ipaddr *ra, uint16_t rp)
{
    /* Keyed (hash_key, secret): the SYNs of a flood, which make half-open
     * children, cannot be chosen to fall in one bucket. Multiplications,
     * not SipHash: this runs for every segment. */
    uint32_t h = (ipaddr_fold(la) ^ t->hash_key[0]) * 2654435761u ^
                 (ipaddr_fold(ra) ^ t->hash_key[1]) * 2246822519u ^
                 (((uint32_t)lp << 16 | rp) ^ t->hash_key[2]) * 3266489917u;
    h ^= h >> 15;
    h *= t->hash_key[3];
    return (h ^ (h >> 13)) % t->nbuckets;
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
            unsigned b = bucket(t, &c->laddr, c->lport, &c->raddr, c->rport);
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
    unsigned b = bucket(t, &c->laddr, c->lport, &c->raddr, c->rport);
    c->hnext = t->hash[b];
    t->hash[b] = c;
}

static void hash_remove(struct ust_stack *s, struct tcp_conn *c)
{
    struct tcp_stack *t = s->tcp;
    struct tcp_conn **pp = &t->hash[bucket(t, &c->laddr, c->lport, &c->raddr, c->rport)];
    while (*pp && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp) {
        *pp = c->hnext;
        t->nhashed--;
    }
    c->hnext = NULL;
}

struct tcp_conn *tcp_lookup(struct ust_stack *s, const struct ipaddr *la, uint16_t lp,
                            const struct ipaddr *ra, uint16_t rp)
{
    struct tcp_stack *t = s->tcp;
    for (struct tcp_conn *c = t->hash[bucket(t, la, lp, ra, rp)]; c; c = c->hnext)
        if (c->lport == lp && c->rport == rp && ipaddr_eq(&c->raddr, ra) &&
            ipaddr_eq(&c->laddr, la))
            return c;
    return NULL;
}

struct tcp_conn *tcp_find_listener(struct ust_stack *s, const struct ipaddr *la, uint16_t lp)
{
    struct tcp_conn *wild = NULL;
    for (struct tcp_conn *c = s->tcp->listeners; c; c = c->lnext) {
        if (c->state != TCPS_LISTEN || c->lport != lp)
            continue;
        if (ipaddr_eq(&c->laddr, la))
            return c;
        if (ipaddr_is_any(&c->laddr) && sock_addr_takes(&c->laddr, c->sk && c->sk->v6only, la))
            wild = c;
    }
    return wild;
}

/* RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
 * M a 4-microsecond timer. */
static uint32_t isn_for(struct ust_stack *s, const struct tcp_conn *c)
{
    uint8_t tuple[36];
    memcpy(tuple, c->laddr.b, 16);
    memcpy(tuple + 16, c->raddr.b, 16);
    memcpy(tuple + 32, &c->lport, 2);
    memcpy(tuple + 34, &c->rport, 2);
    return (uint32_t)siphash24(s->tcp->isn_key, tuple, sizeof(tuple)) + (uint32_t)(s->now / 4);
}

uint16_t tcp_mss_for(const struct ust_stack *s, const struct ipaddr *raddr)
{
    uint32_t mss = ip_payload_mtu(s, raddr) - TCP_HDR_LEN;
    return (uint16_t)(mss > 65495 ? 65495 : mss);
}

struct tcp_conn *tcp_conn_new(struct ust_stack *s)
{
    if (s->tcp->nconns >= s->cfg.tcp_max_conns) {
        s->stats.tcp.drop_conn_limit++;
        return NULL;
    }
    if (tcp_heap_reserve(s) != 0)
        return NULL;
    struct tcp_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->cc = s->tcp->default_cc;
    c->rec = &tcp_newreno_recovery;
    c->rto = (uint32_t)s->cfg.tcp_initial_rto;
    c->timer_at = c->delack_at = c->keepalive_at = c->tw_at = c->due = UST_TIME_NEVER;
    c->keepidle_s = 7200;
    c->keepintvl_s = 75;
    c->keepcnt = 9;
    asm_init(&c->ooo);
    c->next = s->tcp->all;
    if (c->next)
        c->next->prev = c;
    s->tcp->all = c;
    s->stats.tcp.conns = ++s->tcp->nconns;
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
    c->next = c->prev = NULL;
}

void tcp_time_wait_restart(struct ust_stack *s, struct tcp_conn *c)
{
    tcp_set_deadline(s, c, &c->tw_at, s->now + 2 * s->cfg.tcp_msl);
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

void tcp_conn_free(struct ust_stack *s, struct tcp_conn *c)
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
        tcp_conn_free(s, ch);
    }
    tcp_set_state(s, c, TCPS_CLOSED); /* told, if it was not already */
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
    tcp_heap_remove(s, c);
    s->stats.tcp.conns = --s->tcp->nconns;
    ring_fini(&c->sndq);
    ring_fini(&c->rcvq);
    if (c->sk)
        c->sk->tcp = NULL;
    free(c);
}

void tcp_wake(struct ust_stack *s, struct tcp_conn *c) { sock_notify(s, c ? c->sk : NULL); }

/* Every change of a connection's state comes here, and is told at debug
 * level: the state diagram of RFC 9293 3.3.2, one line per edge. */
void tcp_set_state(struct ust_stack *s, struct tcp_conn *c, enum tcp_state st)
{
    if (st == c->state)
        return;
    char r[IPADDR_STRLEN];
    if (st == TCPS_LISTEN || c->state == TCPS_LISTEN)
        debugf(s, "%u: %s -> %s", c->lport, tcp_state_name(c->state), tcp_state_name(st));
    else
        debugf(s, "%u->%s:%u: %s -> %s%s%s", c->lport, ipaddr_format(&c->raddr, r), c->rport,
               tcp_state_name(c->state), tcp_state_name(st),
               st == TCPS_CLOSED && c->error ? ", error: " : "",
               st == TCPS_CLOSED && c->error ? strerror(c->error) : "");
    if (st == TCPS_ESTABLISHED) {
        s->stats.tcp.established++;
        debugf(s,
               "%u->%s:%u: mss %u, window scale %s (ours %u, theirs %u), timestamps %s, "
               "sack %s, %s",
               c->lport, r, c->rport, c->snd_mss, c->ws_ok ? "on" : "off", c->rcv_wscale,
               c->snd_wscale, c->ts_ok ? "on" : "off", c->sack_ok ? "on" : "off", c->cc->name);
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
    tcp_set_state(s, c, TCPS_CLOSED);
    c->timer = TCP_TIMER_IDLE;
    c->timer_at = c->delack_at = c->keepalive_at = c->tw_at = UST_TIME_NEVER;
    tcp_heap_remove(s, c);
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
    tcp_conn_free(s, c);
}

void tcp_reap(struct ust_stack *s)
{
    while (s->tcp->reap) {
        struct tcp_conn *c = s->tcp->reap;
        s->tcp->reap = c->reap_next;
        tcp_conn_free(s, c);
    }
}

/* The buffers' sizes; their memory comes as data does (core/ring.h),
 * from the stack's budget for socket buffers. */
static void bufs_init(struct ust_stack *s, struct tcp_conn *c, uint32_t sndbuf, uint32_t rcvbuf)
{
    ring_init(&c->sndq, sndbuf, &s->tcp->mem);
    ring_init(&c->rcvq, rcvbuf, &s->tcp->mem);
}

uint32_t tcp_rcvbuf_max(const struct ust_stack *s, uint32_t cap)
{
    uint32_t m = tcp_buf_cap(s->cfg.tcp_rcvbuf_max);
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

uint8_t tcp_wscale_offer(const struct ust_stack *s, const struct tcp_conn *c)
{
    /* An auto-tuned buffer may grow: offer the shift its ceiling needs. */
    return wscale_for(c->rcv_auto ? tcp_rcvbuf_max(s, (uint32_t)c->rcvq.limit)
                                  : (uint32_t)c->rcvq.limit);
}

/* Buffers that follow the MTU. On a link with a large MTU (--mtu 65520,
 * the loopback's 65535) a segment is up to 65 KB, and the 256 KiB default
 * holds four: an auto-tuned receive buffer starts large enough for a
 * peer's first flight of 10 segments (RFC 6928's initial window, Linux's
 * default), an auto-tuned send buffer for twice our own largest initial
 * window (4 segments, RFC 5681 3.1). Within the ceilings
 * (tcp_rcvbuf_max, tcp_sndbuf_max); on a 1500-byte link nothing changes. */
static void bufs_follow_mss(struct ust_stack *s, struct tcp_conn *c, uint32_t mss)
{
    if (c->rcv_auto && 10 * (uint64_t)mss > c->rcvq.limit) {
        uint32_t want = tcp_rcvbuf_max(s, (uint32_t)c->rcvq.limit);
        if (want > 10 * mss)
            want = 10 * mss;
        ring_set_limit(&c->rcvq, want);
    }
    uint64_t smax = s->cfg.tcp_sndbuf_max > TCP_MAX_BUF ? TCP_MAX_BUF : s->cfg.tcp_sndbuf_max;
    if (c->snd_auto && 8 * (uint64_t)mss > c->sndq.limit && smax > c->sndq.limit)
        ring_set_limit(&c->sndq, (size_t)(8 * (uint64_t)mss < smax ? 8 * (uint64_t)mss : smax));
}

static void start_conn(struct ust_stack *s, struct tcp_conn *c)
{
    c->iss = isn_for(s, c);
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->recover = c->iss; /* RFC 6582: no recovery point yet */
    c->snd_mss = tcp_mss_for(s, &c->raddr);
    if (c->user_mss && c->user_mss < c->snd_mss)
        c->snd_mss = c->user_mss;      /* TCP_MAXSEG, as Linux's mss_clamp */
    bufs_follow_mss(s, c, c->snd_mss); /* before the window's shift is chosen */
    c->ws_ok = false;
    c->snd_wscale = c->rcv_wscale = 0;
    c->req_wscale = tcp_wscale_offer(s, c);
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

void tcp_conn_take_options(struct tcp_conn *c, const struct tcp_conn *l)
{
    c->nodelay = l->nodelay;
    c->user_mss = l->user_mss;
    c->keepalive = l->keepalive;
    c->keepidle_s = l->keepidle_s;
    c->keepintvl_s = l->keepintvl_s;
    c->keepcnt = l->keepcnt;
    c->cc = l->cc;
}

struct tcp_conn *tcp_new_child(struct ust_stack *s, struct tcp_conn *l, const struct ip_meta *ip,
                               uint16_t lport, uint16_t rport)
{
    struct tcp_conn *c = tcp_conn_new(s);
    if (!c)
        return NULL;
    c->laddr = ip->dst;
    c->lport = lport;
    c->raddr = ip->src;
    c->scope = ip_scope_of(ip);
    c->ph = ip_pseudo_sum(&ip->dst, &ip->src, IP_PROTO_TCP);
    c->rport = rport;
    tcp_conn_take_options(c, l);
    c->rcv_auto = l->rcv_auto;
    c->snd_auto = l->snd_auto;
    bufs_init(s, c, (uint32_t)l->sndq.limit, (uint32_t)l->rcvq.limit);
    start_conn(s, c);
    c->parent = l;
    tcp_set_state(s, c, TCPS_SYN_RECEIVED);
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

int tcp_open_active(struct ust_stack *s, struct tcp_conn *c, uint32_t sndbuf, uint32_t rcvbuf,
                    const struct ipaddr *laddr, uint16_t lport, const struct ipaddr *raddr,
                    uint16_t rport)
{
    bufs_init(s, c, sndbuf, rcvbuf);
    c->laddr = *laddr;
    c->lport = lport;
    c->raddr = *raddr;
    c->ph = ip_pseudo_sum(laddr, raddr, IP_PROTO_TCP);
    c->rport = rport;
    start_conn(s, c);
    hash_insert(s, c);
    tcp_set_state(s, c, TCPS_SYN_SENT);
    s->stats.tcp.active_opens++;
    tcp_send_syn(s, c);
    return 0;
}
