/* The TCP services' loop: a listener and a growing table of connections,
 * with limits, deadlines and lingering closes (svcloop.h), run one of two
 * ways.
 *
 * On the stack thread (svcloop_start, the runner's default): every socket
 * has a handler (ust_on_ready) and the loop one timer. The listener's
 * handler accepts and gives each connection its handler, which runs
 * after the batch that brought its request: served, answered and sent
 * before the stack thread sleeps, no other thread woken. After serving,
 * the handler is set again with the events the service now wants, which
 * also runs it again next round if the socket is still ready (it stopped
 * after IO_ROUNDS). The timer stands at the nearest deadline (a new
 * connection's or one a handler moved earlier may bring it forward); when
 * it fires it walks the connections and lingering closes, expires what is
 * due and sets itself at the next.
 *
 * On a thread of its own (svcloop_run): each round builds the poll set
 * (the listener, the lingering closes, the connections) and the nearest
 * deadline in one pass; waits in ust_poll until something is ready or that
 * deadline; then one pass over what was polled, serving what is ready and
 * expiring what is due; then accepts. A connection costs the loop a
 * pointer (and a pollfd) besides the service's own struct, and buffers
 * only while the service holds data for it. */
#include "svcloop.h"

#include <errno.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "services.h"

/* Accepted per round: at least ACCEPT_BATCH, and a quarter of the
 * connections held, since a round costs a pass over them all (its poll
 * set): with 60,000 held, 256 a round let only 1,500 connections in a
 * second. Either way the others are served between rounds. */
#define ACCEPT_BATCH 256
#define ACCEPT_PAUSE (SVCLOOP_SEC / 10)  /* after accept failed (no sockets left) */
#define LINGER_TIMEOUT (2 * SVCLOOP_SEC) /* waiting for the peer's FIN */
#define MAX_LINGER 1024                  /* closing at once; then plain close */
#define LINGER_ROUNDS 16                 /* reads per wakeup */
#define MIN_CAP 16

/* A connection closing: our FIN is sent, we read until the peer's. */
struct closing {
    int fd;
    ust_time_t until;
};

enum log_kind { LOG_FULL, LOG_PER_ADDR, LOG_ACCEPT, LOG_NKINDS };

struct svcloop {
    struct service *svc;
    struct ust_stack *s;
    const struct svcloop_ops *ops;
    void *ctx;
    struct svcloop_conn **conn;
    size_t n, cap;
    struct closing *lg;
    size_t nlg, caplg;
    struct pollfd *pfd;
    size_t pfd_cap;
    struct addr_count per_addr;
    ust_time_t accept_paused_until;
    struct ratelog log[LOG_NKINDS];
    /* On the stack thread (svcloop_start): */
    bool rtc;
    int timer;            /* the loop's timer */
    ust_time_t timer_at;  /* where it is armed (0: not) */
    atomic_bool stopping; /* svcloop_stop asked: the timer ends the loop */
    sem_t stopped;        /* posted once it has */
    char peer_text[APP_PEER_STRLEN];
    uint8_t scratch[SVCLOOP_SCRATCH];
};

void *svcloop_ctx(const struct svcloop *l) { return l->ctx; }
struct service *svcloop_service(const struct svcloop *l) { return l->svc; }
uint8_t *svcloop_scratch(struct svcloop *l) { return l->scratch; }

static const char *peer_text(struct svcloop *l, const struct in6_addr *a, uint16_t port)
{
    return app_peer_format(a, port, l->peer_text);
}

const char *svcloop_peer(struct svcloop *l, const struct svcloop_conn *c)
{
    return peer_text(l, &c->peer, c->peer_port);
}

/* ---- the address table ---- */

struct in6_addr addr_count_key(const struct in6_addr *peer)
{
    struct in6_addr k = *peer;
    if (!app_addr_is_v4(peer))
        memset(k.s6_addr + 8, 0, 8);
    return k;
}

static size_t addr_hash(const struct in6_addr *a, size_t cap)
{
    /* The words folded, then Fibonacci hashing: neighbouring addresses
     * land far apart. (The table's size limits what a flood can cost, not
     * the hash: the service's connection limit bounds the addresses.) */
    uint32_t w[4];
    memcpy(w, a->s6_addr, sizeof(w));
    uint32_t f = w[0] ^ w[1] ^ w[2] ^ w[3];
    f = (uint32_t)(((f & 0xffu) << 24) | ((f & 0xff00u) << 8) | ((f >> 8) & 0xff00u) | (f >> 24));
    return (size_t)((f * 2654435769u) >> 7) & (cap - 1);
}

static size_t addr_find(const struct addr_count *t, const struct in6_addr *a)
{
    size_t i = addr_hash(a, t->cap);
    while (t->slot[i].n && memcmp(&t->slot[i].addr, a, sizeof(*a)) != 0)
        i = (i + 1) & (t->cap - 1);
    return i;
}

static int addr_resize(struct addr_count *t, size_t cap)
{
    struct addr_slot *old = t->slot;
    size_t oldcap = t->cap;
    t->slot = calloc(cap, sizeof(*t->slot));
    if (!t->slot) {
        t->slot = old;
        return -1;
    }
    t->cap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].n)
            t->slot[addr_find(t, &old[i].addr)] = old[i];
    free(old);
    return 0;
}

uint32_t addr_count_inc(struct addr_count *t, const struct in6_addr *addr)
{
    /* At most half full, so probes stay short. */
    if ((t->used + 1) * 2 > t->cap && addr_resize(t, t->cap ? t->cap * 2 : MIN_CAP) != 0)
        return 0;
    struct addr_slot *sl = &t->slot[addr_find(t, addr)];
    if (!sl->n) {
        sl->addr = *addr;
        t->used++;
    }
    return ++sl->n;
}

uint32_t addr_count_get(const struct addr_count *t, const struct in6_addr *addr)
{
    return t->cap ? t->slot[addr_find(t, addr)].n : 0;
}

void addr_count_dec(struct addr_count *t, const struct in6_addr *addr)
{
    if (!t->cap)
        return;
    size_t i = addr_find(t, addr);
    if (!t->slot[i].n || --t->slot[i].n)
        return;
    t->used--;
    /* Deleted from a linear-probing table: move back the entries after it
     * that would no longer be found past the hole. */
    size_t hole = i;
    for (size_t j = (i + 1) & (t->cap - 1); t->slot[j].n; j = (j + 1) & (t->cap - 1)) {
        size_t home = addr_hash(&t->slot[j].addr, t->cap);
        /* j's entry may fill the hole unless its home lies in (hole, j]. */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (stays)
            continue;
        t->slot[hole] = t->slot[j];
        t->slot[j].n = 0;
        hole = j;
    }
    if (t->used == 0) {
        addr_count_free(t); /* a flood's addresses are not kept for ever */
    } else if (t->cap > MIN_CAP && t->used * 8 < t->cap) {
        addr_resize(t, t->cap / 2); /* on failure the table just stays larger */
    }
}

void addr_count_free(struct addr_count *t)
{
    free(t->slot);
    t->slot = NULL;
    t->cap = t->used = 0;
}

/* ---- log lines at a bounded rate ---- */

bool ratelog_event(struct ratelog *r, ust_time_t now, ust_time_t window)
{
    if ((r->window_end && now < r->window_end) || r->held) {
        r->held++; /* a summary will say it */
        return false;
    }
    r->window_end = now + window;
    return true;
}

uint64_t ratelog_flush(struct ratelog *r, ust_time_t now, ust_time_t window)
{
    if (!r->window_end || now < r->window_end)
        return 0;
    uint64_t held = r->held;
    r->held = 0;
    /* After a summary, another quiet window: a steady flood is one line per
     * window. After a quiet one, the next event is logged at once. */
    r->window_end = held ? now + window : 0;
    return held;
}

static void log_refused(struct svcloop *l, enum log_kind k, const struct in6_addr *peer,
                        uint16_t port, ust_time_t now)
{
    const struct svc_limits *lim = &l->svc->lim;
    const char *who = peer_text(l, peer, port);
    if (k == LOG_FULL)
        app_logf(UST_LOG_DEBUG, "%s: %s: refused: %u connections is the limit", l->svc->name, who,
                 lim->max_conns);
    else
        app_logf(UST_LOG_DEBUG, "%s: %s: refused: %u connections from that %s is the limit",
                 l->svc->name, who, lim->max_per_addr, app_addr_is_v4(peer) ? "address" : "/64");
    if (!ratelog_event(&l->log[k], now, SVCLOOP_LOG_WINDOW))
        return;
    if (k == LOG_FULL)
        app_logf(UST_LOG_INFO,
                 "%s: %u connections, the service's limit: refusing new ones (the first from %s)",
                 l->svc->name, lim->max_conns, who);
    else {
        char a[UST_IP6_STRLEN];
        struct in6_addr key = addr_count_key(peer);
        bool v4 = app_addr_is_v4(peer);
        app_logf(UST_LOG_INFO, "%s: %s%s has %u connections, the limit per %s: refusing more",
                 l->svc->name, app_addr_format(&key, a), v4 ? "" : "/64", lim->max_per_addr,
                 v4 ? "address" : "IPv6 /64");
    }
}

/* Summaries of the events held whose window has ended (all of them when
 * shutting down: now 0). */
static void flush_logs(struct svcloop *l, ust_time_t now)
{
    static const char *const what[LOG_NKINDS] = {
        "refused at the service's connection limit",
        "refused at the limit per address",
        "that could not be accepted (the stack's sockets ran out)",
    };
    for (int k = 0; k < LOG_NKINDS; k++) {
        uint64_t held = ratelog_flush(&l->log[k], now ? now : l->log[k].window_end,
                                      SVCLOOP_LOG_WINDOW);
        if (held)
            app_logf(UST_LOG_INFO, "%s: %llu more connections %s in the last %llu s", l->svc->name,
                     (unsigned long long)held, what[k],
                     (unsigned long long)(SVCLOOP_LOG_WINDOW / SVCLOOP_SEC));
    }
}

/* ---- closing ---- */

static void on_linger(struct ust_stack *s, int fd, short revents, void *arg);
static void on_conn(struct ust_stack *s, int fd, short revents, void *arg);
static void timer_consider(struct svcloop *l, ust_time_t t);

static void reset_close(struct svcloop *l, int fd)
{
    struct linger lz = {.l_onoff = 1, .l_linger = 0};
    ust_setsockopt(l->s, fd, SOL_SOCKET, SO_LINGER, &lz, sizeof(lz));
    ust_close(l->s, fd);
}

static void linger_add(struct svcloop *l, int fd, ust_time_t now)
{
    if (l->nlg == l->caplg && l->caplg < MAX_LINGER) {
        size_t cap = l->caplg ? l->caplg * 2 : MIN_CAP;
        struct closing *lg = realloc(l->lg, cap * sizeof(*lg));
        if (lg) {
            l->lg = lg;
            l->caplg = cap;
        }
    }
    if (l->nlg == l->caplg || ust_shutdown(l->s, fd, SHUT_WR) < 0) {
        ust_close(l->s, fd); /* too many closing already: a plain close */
        return;
    }
    l->lg[l->nlg++] = (struct closing){.fd = fd, .until = now + LINGER_TIMEOUT};
    if (l->rtc) {
        ust_on_ready(l->s, fd, POLLIN, on_linger, l);
        timer_consider(l, now + LINGER_TIMEOUT);
    }
}

static void linger_remove(struct svcloop *l, size_t i)
{
    l->lg[i] = l->lg[--l->nlg];
    if (l->caplg > MIN_CAP && l->nlg * 4 < l->caplg) {
        struct closing *lg = realloc(l->lg, l->caplg / 2 * sizeof(*lg));
        if (lg) {
            l->lg = lg;
            l->caplg /= 2;
        }
    }
}

/* Reads and drops what the peer still sends: true once it has closed. */
static bool linger_read(struct svcloop *l, int fd)
{
    for (int r = 0; r < LINGER_ROUNDS; r++) {
        ssize_t n = ust_recv(l->s, fd, l->scratch, sizeof(l->scratch), 0);
        if (n > 0)
            continue;
        return !(n < 0 && errno == EAGAIN);
    }
    return false;
}

static void finish_fd(struct svcloop *l, int fd, enum svcloop_verdict v, ust_time_t now)
{
    if (v == SVL_RESET)
        reset_close(l, fd);
    else if (v == SVL_LINGER)
        linger_add(l, fd, now);
    else
        ust_close(l->s, fd);
}

static void conn_end(struct svcloop *l, size_t i, enum svcloop_verdict v, ust_time_t now)
{
    static const char *const how[] = {
        [SVL_KEEP] = "",
        [SVL_CLOSE] = "closed",
        [SVL_RESET] = "reset",
        [SVL_LINGER] = "closing (our FIN sent, reading until theirs)",
    };
    struct svcloop_conn *c = l->conn[i];
    app_logf(UST_LOG_DEBUG, "%s: %s: %s (%zu left)", l->svc->name, svcloop_peer(l, c), how[v],
             l->n - 1);
    l->ops->release(l, c);
    finish_fd(l, c->fd, v, now);
    if (l->svc->lim.max_per_addr) {
        struct in6_addr key = addr_count_key(&c->peer);
        addr_count_dec(&l->per_addr, &key);
    }
    free(c);
    l->conn[i] = l->conn[--l->n];
    if (i < l->n)
        l->conn[i]->idx = i;
    svc_count(l->svc, SVC_CONNS, -1);
    if (l->cap > MIN_CAP && l->n * 4 < l->cap) {
        struct svcloop_conn **t = realloc(l->conn, l->cap / 2 * sizeof(*t));
        if (t) {
            l->conn = t;
            l->cap /= 2;
        }
    }
}

/* ---- accepting ---- */

static void refuse(struct svcloop *l, int fd, enum log_kind k, const struct in6_addr *peer,
                   uint16_t port, ust_time_t now)
{
    svc_count(l->svc, k == LOG_FULL ? SVC_REFUSED_LIMIT : SVC_REFUSED_PER_ADDR, 1);
    log_refused(l, k, peer, port, now);
    if (l->ops->refuse && (l->nlg < l->caplg || l->caplg < MAX_LINGER)) {
        l->ops->refuse(l, fd, now);
        linger_add(l, fd, now);
    } else {
        reset_close(l, fd);
    }
}

static void admit(struct svcloop *l, int fd, const struct in6_addr *peer, uint16_t port,
                  ust_time_t now)
{
    const struct svc_limits *lim = &l->svc->lim;
    struct in6_addr key = addr_count_key(peer);
    if (lim->max_conns && l->n >= lim->max_conns) {
        refuse(l, fd, LOG_FULL, peer, port, now);
        return;
    }
    if (lim->max_per_addr && addr_count_get(&l->per_addr, &key) >= lim->max_per_addr) {
        refuse(l, fd, LOG_PER_ADDR, peer, port, now);
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : MIN_CAP;
        struct svcloop_conn **t = realloc(l->conn, cap * sizeof(*t));
        if (t) {
            l->conn = t;
            l->cap = cap;
        }
    }
    struct svcloop_conn *c = l->n < l->cap ? calloc(1, l->ops->conn_size) : NULL;
    if (!c || (lim->max_per_addr && addr_count_inc(&l->per_addr, &key) == 0)) {
        free(c);
        app_logf(UST_LOG_WARN, "%s: out of memory, refusing a connection", l->svc->name);
        reset_close(l, fd);
        return;
    }
    c->loop = l;
    c->idx = l->n;
    c->fd = fd;
    c->peer = *peer;
    c->peer_port = port;
    l->conn[l->n++] = c;
    svc_count(l->svc, SVC_ACCEPTED, 1);
    svc_count(l->svc, SVC_CONNS, 1);
    if (l->n > atomic_load_explicit(&l->svc->count[SVC_CONNS_PEAK], memory_order_relaxed))
        atomic_store_explicit(&l->svc->count[SVC_CONNS_PEAK], l->n, memory_order_relaxed);
    app_logf(UST_LOG_DEBUG, "%s: %s: connected (%zu now)", l->svc->name, svcloop_peer(l, c), l->n);
    enum svcloop_verdict v = l->ops->open(l, c, now);
    if (v != SVL_KEEP) {
        conn_end(l, l->n - 1, v, now);
        return;
    }
    if (l->rtc) {
        /* Runs at once (next round) if the request is already here. */
        if (ust_on_ready(l->s, fd, l->ops->events(l, c), on_conn, c) != 0) {
            conn_end(l, l->n - 1, SVL_RESET, now);
            return;
        }
        timer_consider(l, c->deadline);
    }
}

/* Accepts a batch; true if it ended with the queue empty (or paused). */
static bool accept_some(struct svcloop *l, ust_time_t now)
{
    size_t batch = ACCEPT_BATCH + l->n / 4;
    for (size_t k = 0; k < batch; k++) {
        struct sockaddr_in6 from = {0};
        socklen_t fl = sizeof(from);
        int fd = ust_accept4(l->s, l->svc->fd, (struct sockaddr *)&from, &fl, SOCK_NONBLOCK);
        if (fd >= 0) {
            struct in6_addr peer;
            uint16_t port;
            if (app_sockaddr_get((struct sockaddr *)&from, &peer, &port) != 0) {
                reset_close(l, fd); /* cannot happen: an AF_INET or AF_INET6 listener */
                continue;
            }
            admit(l, fd, &peer, port, now);
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return true;
        if (errno == ECONNABORTED)
            continue;
        /* Out of sockets (EMFILE, ENFILE, ENOMEM): the stack reset that
         * connection. Look again shortly rather than spin on the queue. */
        svc_count(l->svc, SVC_ACCEPT_FAILED, 1);
        app_logf(UST_LOG_DEBUG, "%s: accept: %s", l->svc->name, strerror(errno));
        if (ratelog_event(&l->log[LOG_ACCEPT], now, SVCLOOP_LOG_WINDOW))
            app_logf(UST_LOG_INFO, "%s: cannot accept a connection: %s", l->svc->name,
                     strerror(errno));
        l->accept_paused_until = now + ACCEPT_PAUSE;
        return true;
    }
    return false;
}

/* ---- the loop ---- */

static void consider(ust_time_t *next, ust_time_t t)
{
    if (t && (!*next || t < *next))
        *next = t;
}

/* Fills the poll set; returns its size and the nearest deadline. */
static size_t build_poll(struct svcloop *l, ust_time_t now, ust_time_t *next)
{
    size_t want = 1 + l->nlg + l->n;
    if (want > l->pfd_cap || (l->pfd_cap > 4 * MIN_CAP && want * 4 < l->pfd_cap)) {
        size_t cap = want * 2;
        struct pollfd *p = realloc(l->pfd, cap * sizeof(*p));
        if (p) {
            l->pfd = p;
            l->pfd_cap = cap;
        } else if (want > l->pfd_cap) {
            want = l->pfd_cap; /* poll what fits; the rest next round */
        }
    }
    *next = 0;
    bool paused = l->accept_paused_until > now;
    if (paused)
        consider(next, l->accept_paused_until);
    /* Events 0 while paused: a closed listener still reports POLLNVAL. */
    l->pfd[0] = (struct pollfd){.fd = l->svc->fd, .events = paused ? 0 : POLLIN};
    size_t k = 1;
    for (size_t i = 0; i < l->nlg && k < want; i++) {
        l->pfd[k++] = (struct pollfd){.fd = l->lg[i].fd, .events = POLLIN};
        consider(next, l->lg[i].until);
    }
    for (size_t i = 0; i < l->n && k < want; i++) {
        const struct svcloop_conn *c = l->conn[i];
        l->pfd[k++] = (struct pollfd){.fd = c->fd, .events = l->ops->events(l, c)};
        consider(next, c->deadline);
    }
    for (int j = 0; j < LOG_NKINDS; j++)
        if (l->log[j].held)
            consider(next, l->log[j].window_end);
    return k;
}

int svcloop_timeout_ms(ust_time_t next, ust_time_t now)
{
    if (!next)
        return -1;
    if (next <= now)
        return 0;
    ust_time_t ms = (next - now + 999) / 1000;
    return ms > 60000 ? 60000 : (int)ms;
}

/* After ust_poll: every lingering close and connection that was polled
 * (k entries, the lingering ones first, npl of them). Removal moves the
 * last entry into the hole, so both walks go backwards. */
static void handle_round(struct svcloop *l, size_t k, size_t npl, ust_time_t now)
{
    size_t nc = k - 1 - npl; /* connections polled */
    for (size_t i = npl; i-- > 0;) {
        short rev = l->pfd[1 + i].revents;
        bool done = (rev && linger_read(l, l->lg[i].fd)) || (rev & POLLNVAL);
        if (done) {
            if (!(rev & POLLNVAL))
                ust_close(l->s, l->lg[i].fd);
            linger_remove(l, i);
        } else if (now >= l->lg[i].until) {
            /* The peer has not closed: close our side as it is. A plain
             * close, so the stack still delivers what is queued (the end
             * of a large response may not have left yet). */
            ust_close(l->s, l->lg[i].fd);
            linger_remove(l, i);
        }
    }
    for (size_t i = nc; i-- > 0;) {
        struct svcloop_conn *c = l->conn[i];
        short rev = l->pfd[1 + npl + i].revents;
        enum svcloop_verdict v = SVL_KEEP;
        if (rev)
            v = l->ops->serve(l, c, rev, now);
        if (v == SVL_KEEP && c->deadline && now >= c->deadline)
            v = l->ops->expire(l, c, now);
        if (v != SVL_KEEP)
            conn_end(l, i, v, now);
    }
}

/* ---- on the stack thread ---- */

/* Brings the loop's timer forward to t if it is sooner (0: none). */
static void timer_consider(struct svcloop *l, ust_time_t t)
{
    if (t && (!l->timer_at || t < l->timer_at)) {
        l->timer_at = t;
        ust_timer_arm(l->s, l->timer, t);
    }
}

static void on_conn(struct ust_stack *s, int fd, short revents, void *arg)
{
    (void)fd;
    struct svcloop_conn *c = arg;
    struct svcloop *l = c->loop;
    ust_time_t now = ust_clock_now();
    enum svcloop_verdict v = l->ops->serve(l, c, revents, now);
    if (v == SVL_KEEP && c->deadline && now >= c->deadline)
        v = l->ops->expire(l, c, now);
    if (v != SVL_KEEP) {
        conn_end(l, c->idx, v, now);
        return;
    }
    /* What it waits for now; if that is ready already (it stopped after
     * IO_ROUNDS), it runs again next round. */
    if (ust_on_ready(s, c->fd, l->ops->events(l, c), on_conn, c) != 0)
        conn_end(l, c->idx, SVL_RESET, now);
    else
        timer_consider(l, c->deadline);
}

static void on_linger(struct ust_stack *s, int fd, short revents, void *arg)
{
    (void)s;
    (void)revents;
    struct svcloop *l = arg;
    for (size_t i = 0; i < l->nlg; i++) {
        if (l->lg[i].fd != fd)
            continue;
        if (linger_read(l, fd)) {
            ust_close(l->s, fd);
            linger_remove(l, i);
        } else {
            ust_on_ready(l->s, fd, POLLIN, on_linger, l); /* more than LINGER_ROUNDS */
        }
        return;
    }
}

static void on_listener(struct ust_stack *s, int fd, short revents, void *arg)
{
    (void)fd; /* the service's listener */
    (void)revents;
    struct svcloop *l = arg;
    ust_time_t now = ust_clock_now();
    if (now < l->accept_paused_until)
        return; /* the timer accepts when the pause ends */
    if (!accept_some(l, now))
        ust_on_ready(s, l->svc->fd, POLLIN, on_listener, l); /* a full batch: more next round */
    flush_logs(l, now);
    /* The timer ends a pause (no sockets left to accept with) and says
     * what the logs held back when their window closes. */
    if (l->accept_paused_until > now)
        timer_consider(l, l->accept_paused_until);
    for (int j = 0; j < LOG_NKINDS; j++)
        if (l->log[j].held)
            timer_consider(l, l->log[j].window_end);
}

static void loop_free(struct svcloop *l)
{
    addr_count_free(&l->per_addr);
    free(l->conn);
    free(l->lg);
    free(l->pfd);
    free(l);
}

/* Closes everything: the loop ends (stack thread). */
static void loop_end(struct svcloop *l)
{
    flush_logs(l, 0);
    while (l->n > 0)
        conn_end(l, l->n - 1, SVL_CLOSE, ust_clock_now());
    for (size_t i = 0; i < l->nlg; i++)
        ust_close(l->s, l->lg[i].fd);
    l->nlg = 0;
    ust_close(l->s, l->svc->fd);
    ust_timer_del(l->s, l->timer);
    sem_post(&l->stopped);
}

/* The deadlines: expires the connections and lingering closes that are
 * due, resumes accepting after a pause, says what the logs held, and sets
 * itself at the next deadline. A pass over the connections, at most once
 * per deadline that comes (or a timeout's worth of them at once). */
static void on_timer(struct ust_stack *s, int timer, void *arg)
{
    (void)timer;
    struct svcloop *l = arg;
    if (atomic_load(&l->stopping)) {
        loop_end(l);
        return;
    }
    ust_time_t now = ust_clock_now(), next = 0;
    l->timer_at = 0;
    for (size_t i = l->nlg; i-- > 0;) {
        if (now >= l->lg[i].until) {
            /* The peer has not closed: close our side as it is (a plain
             * close: the stack still delivers what is queued). */
            ust_close(l->s, l->lg[i].fd);
            linger_remove(l, i);
        } else {
            consider(&next, l->lg[i].until);
        }
    }
    for (size_t i = l->n; i-- > 0;) {
        struct svcloop_conn *c = l->conn[i];
        if (!c->deadline || now < c->deadline) {
            consider(&next, c->deadline);
            continue;
        }
        enum svcloop_verdict v = l->ops->expire(l, c, now);
        if (v != SVL_KEEP) {
            conn_end(l, i, v, now);
            continue;
        }
        consider(&next, c->deadline);
        ust_on_ready(s, c->fd, l->ops->events(l, c), on_conn, c);
    }
    if (l->accept_paused_until) {
        if (now >= l->accept_paused_until) {
            l->accept_paused_until = 0;
            ust_on_ready(s, l->svc->fd, POLLIN, on_listener, l); /* runs if some wait */
        } else {
            consider(&next, l->accept_paused_until);
        }
    }
    flush_logs(l, now);
    for (int j = 0; j < LOG_NKINDS; j++)
        if (l->log[j].held)
            consider(&next, l->log[j].window_end);
    timer_consider(l, next);
}

struct svcloop *svcloop_start(struct service *svc, const struct svcloop_ops *ops, void *ctx)
{
    struct svcloop *l = calloc(1, sizeof(*l));
    if (!l) {
        app_logf(UST_LOG_ERROR, "%s: out of memory", svc->name);
        return NULL;
    }
    l->svc = svc;
    l->s = svc->s;
    l->ops = ops;
    l->ctx = ctx;
    l->rtc = true;
    if (sem_init(&l->stopped, 0, 0) != 0) {
        free(l);
        return NULL;
    }
    l->timer = ust_timer_add(l->s, on_timer, l);
    if (l->timer < 0 || ust_on_ready(l->s, svc->fd, POLLIN, on_listener, l) != 0) {
        app_logf(UST_LOG_ERROR, "%s: cannot run on the stack thread: %s", svc->name,
                 strerror(errno));
        if (l->timer > 0)
            ust_timer_del(l->s, l->timer);
        sem_destroy(&l->stopped);
        free(l);
        return NULL;
    }
    return l;
}

void svcloop_stop(struct svcloop *l)
{
    /* The stack thread ends the loop, between batches like every handler:
     * ask it through the timer and wait. */
    atomic_store(&l->stopping, true);
    ust_timer_arm(l->s, l->timer, 1);
    while (sem_wait(&l->stopped) != 0 && errno == EINTR)
        ;
    sem_destroy(&l->stopped);
    loop_free(l);
}

void svcloop_run(struct service *svc, const struct svcloop_ops *ops, void *ctx)
{
    struct svcloop *l = calloc(1, sizeof(*l));
    if (!l) {
        app_logf(UST_LOG_ERROR, "%s: out of memory", svc->name);
        return;
    }
    l->svc = svc;
    l->s = svc->s;
    l->ops = ops;
    l->ctx = ctx;
    /* The listener's slot always exists: build_poll only grows it. */
    l->pfd = malloc(MIN_CAP * sizeof(*l->pfd));
    if (!l->pfd) {
        app_logf(UST_LOG_ERROR, "%s: out of memory", svc->name);
        free(l);
        return;
    }
    l->pfd_cap = MIN_CAP;
    for (;;) {
        ust_time_t now = ust_clock_now(), next;
        size_t k = build_poll(l, now, &next);
        if (ust_poll(l->s, l->pfd, k, svcloop_timeout_ms(next, now)) < 0)
            break;
        if (l->pfd[0].revents & POLLNVAL)
            break; /* the listener was closed: shutting down */
        now = ust_clock_now();
        size_t npl = k - 1 < l->nlg ? k - 1 : l->nlg;
        handle_round(l, k, npl, now);
        if ((l->pfd[0].revents & POLLIN) && now >= l->accept_paused_until)
            accept_some(l, now);
        flush_logs(l, now);
    }
    flush_logs(l, 0);
    while (l->n > 0)
        conn_end(l, l->n - 1, SVL_CLOSE, ust_clock_now());
    for (size_t i = 0; i < l->nlg; i++)
        ust_close(l->s, l->lg[i].fd);
    addr_count_free(&l->per_addr);
    free(l->conn);
    free(l->lg);
    free(l->pfd);
    free(l);
}
