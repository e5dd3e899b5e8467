/* The runtime: two stacks joined by a memlink, each driven by its own stack
 * thread (ust_runtime_start), and application threads using blocking
 * sockets on both. Real threads and the real clock: the tests wait on
 * conditions, and time bounds are checked only from below (a timeout
 * must not fire early), never tightly from above. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "harness.h"
#include "ustack/runtime.h"
#include "ustack/socket.h"

static const ust_ip4_t addr_of[2] = {UST_IP4(10, 0, 0, 1), UST_IP4(10, 0, 0, 2)};

struct pair {
    struct ust_memlink *link;
    struct ust_stack *s[2];
    struct ust_runtime *rt[2];
};

static int open_bound(struct ust_stack *s, uint16_t port, int type)
{
    int fd = ust_socket(s, AF_INET, type, 0);
    assert_true(fd > 0);
    struct sockaddr_in sin = sin_of(0, port);
    assert_int_equal(ust_bind(s, fd, SA(sin), sizeof(sin)), 0);
    return fd;
}

static void set_rcvtimeo(struct ust_stack *s, int fd, ust_time_t us)
{
    struct timeval tv = {.tv_sec = (time_t)(us / UST_SEC), .tv_usec = (suseconds_t)(us % UST_SEC)};
    assert_int_equal(ust_setsockopt(s, fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
}

static void set_rcvbuf(struct ust_stack *s, int fd, int bytes)
{
    assert_int_equal(ust_setsockopt(s, fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)), 0);
}

/* Blocking receive of one datagram within a generous bound. */
static ssize_t recv_within(struct ust_stack *s, int fd, void *buf, size_t cap, ust_time_t us)
{
    set_rcvtimeo(s, fd, us);
    return ust_recv(s, fd, buf, cap, 0);
}

static void pair_up(struct pair *p, uint64_t seed)
{
    memset(p, 0, sizeof(*p));
    assert_int_equal(ust_memlink_create(seed, &p->link), 0);
    /* No faults; a queue deep enough that a lagging stack thread never
     * loses a frame. */
    struct ust_faults f = {.queue_limit = 1u << 20};
    ust_memlink_set_faults(p->link, &f);
    ust_time_t now = ust_clock_now();
    for (int i = 0; i < 2; i++) {
        struct ust_config cfg;
        test_config(&cfg, seed + (uint64_t)i);
        cfg.arp_reachable_time = 3600 * UST_SEC; /* no re-resolution mid-test */
        assert_int_equal(ust_stack_create(&cfg, &p->s[i]), 0);
        uint8_t mac[6] = {0x02, 0, 0, 0, 0x10, (uint8_t)(i + 1)};
        struct ust_device *d;
        assert_int_equal(ust_memlink_attach(p->link, "ml0", mac, &d), 0);
        assert_true(ust_stack_add_device(p->s[i], d) >= 0);
        assert_int_equal(ust_iface_add(p->s[i], "ml0", addr_of[i], 24, now), 0);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(ust_runtime_start(p->s[i], &p->rt[i]), 0);
    /* Resolve ARP both ways before any measured traffic: one datagram each
     * way, each waited for. */
    for (int i = 0; i < 2; i++) {
        int tx = ust_socket(p->s[i], AF_INET, SOCK_DGRAM, 0);
        int rx = open_bound(p->s[1 - i], 4000, SOCK_DGRAM);
        struct sockaddr_in to = sin_of(addr_of[1 - i], 4000);
        assert_int_equal(ust_sendto(p->s[i], tx, "warm", 4, 0, SA(to), sizeof(to)), 4);
        char buf[8];
        assert_int_equal(recv_within(p->s[1 - i], rx, buf, sizeof(buf), 30 * UST_SEC), 4);
        assert_int_equal(ust_close(p->s[i], tx), 0);
        assert_int_equal(ust_close(p->s[1 - i], rx), 0);
    }
}

static void pair_down(struct pair *p)
{
    for (int i = 0; i < 2; i++)
        ust_runtime_stop(p->rt[i]);
    /* The stacks are ours again: nothing may be left behind. */
    for (int i = 0; i < 2; i++) {
        ust_stack_poll(p->s[i], ust_clock_now());
        assert_int_equal(ust_stack_stats(p->s[i])->pkb.live, 0);
    }
    const struct ust_memlink_stats *ms = ust_memlink_stats(p->link);
    assert_int_equal(ms->dropped, 0);
    assert_int_equal(ms->overflowed, 0);
    for (int i = 0; i < 2; i++)
        ust_stack_destroy(p->s[i]);
    ust_memlink_release(p->link);
}

static ust_time_t elapsed_since(ust_time_t t0) { return ust_clock_now() - t0; }

/* ---- many threads, many datagrams ---- */

#define NSTREAMS 8
#define NSEQ 600
#define HDR 12
#define MAXDG 4200

struct traffic {
    pthread_mutex_t mu;
    uint8_t seen[NSTREAMS][NSEQ];
    unsigned dup, corrupt, send_errors, recv_errors, late;
    int first_errno;
    ust_time_t deadline; /* a failure guard, not a wait */
};

/* One receiving socket, possibly shared by several threads. */
struct rxsock {
    struct ust_stack *s;
    int fd;
    unsigned expected, got; /* got: under traffic.mu */
    uint16_t from_port[NSTREAMS];
    ust_ip4_t from_addr;
};

struct sender {
    pthread_t th;
    struct traffic *t;
    struct ust_stack *s;
    int fd;
    unsigned stream;
    struct sockaddr_in to;
};

struct receiver {
    pthread_t th;
    struct traffic *t;
    struct rxsock *rx;
};

static size_t dg_len(unsigned stream, unsigned seq)
{
    if (seq % 97 == 5)
        return 3000 + (stream * 31 + seq) % 1000; /* fragmented */
    return HDR + (stream * 131 + seq * 7) % 1200;
}

static uint8_t dg_byte(unsigned stream, unsigned seq, size_t i)
{
    return (uint8_t)(stream * 29 + seq * 13 + i * 7 + (i >> 8));
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void *sender_main(void *arg)
{
    struct sender *sd = arg;
    uint8_t buf[MAXDG];
    for (unsigned seq = 0; seq < NSEQ; seq++) {
        size_t len = dg_len(sd->stream, seq);
        put32(buf, sd->stream);
        put32(buf + 4, seq);
        put32(buf + 8, (uint32_t)len);
        for (size_t i = HDR; i < len; i++)
            buf[i] = dg_byte(sd->stream, seq, i);
        ssize_t n = ust_sendto(sd->s, sd->fd, buf, len, 0, SA(sd->to), sizeof(sd->to));
        if (n != (ssize_t)len) {
            int e = errno;
            pthread_mutex_lock(&sd->t->mu);
            sd->t->send_errors++;
            if (!sd->t->first_errno)
                sd->t->first_errno = e;
            pthread_mutex_unlock(&sd->t->mu);
        }
    }
    return NULL;
}

static bool rx_done(struct traffic *t, struct rxsock *rx)
{
    pthread_mutex_lock(&t->mu);
    bool done = rx->got >= rx->expected;
    pthread_mutex_unlock(&t->mu);
    return done;
}

static void *receiver_main(void *arg)
{
    struct receiver *rv = arg;
    struct traffic *t = rv->t;
    struct rxsock *rx = rv->rx;
    uint8_t buf[MAXDG + 16];
    while (!rx_done(t, rx)) {
        if (ust_clock_now() > t->deadline) {
            pthread_mutex_lock(&t->mu);
            t->late++;
            pthread_mutex_unlock(&t->mu);
            break;
        }
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        /* Blocks up to SO_RCVTIMEO, so that a thread whose share of the
         * socket's traffic was taken by its sibling gets to look at the
         * count again. */
        ssize_t n = ust_recvfrom(rx->s, rx->fd, buf, sizeof(buf), 0, SA(from), &fl);
        if (n < 0) {
            if (errno == EAGAIN)
                continue;
            pthread_mutex_lock(&t->mu);
            t->recv_errors++;
            if (!t->first_errno)
                t->first_errno = errno;
            pthread_mutex_unlock(&t->mu);
            break;
        }
        bool ok = n >= HDR;
        unsigned stream = ok ? get32(buf) : 0, seq = ok ? get32(buf + 4) : 0;
        ok = ok && stream < NSTREAMS && seq < NSEQ && get32(buf + 8) == (uint32_t)n &&
             (size_t)n == dg_len(stream, seq) && ntohl(from.sin_addr.s_addr) == rx->from_addr &&
             ntohs(from.sin_port) == rx->from_port[stream];
        for (ssize_t i = HDR; ok && i < n; i++)
            ok = buf[i] == dg_byte(stream, seq, (size_t)i);
        pthread_mutex_lock(&t->mu);
        if (!ok)
            t->corrupt++;
        else if (t->seen[stream][seq]++)
            t->dup++;
        rx->got++;
        pthread_mutex_unlock(&t->mu);
    }
    return NULL;
}

struct idle_waiter {
    pthread_t th;
    struct ust_stack *s;
    int fd;
    ust_time_t timeo;
    unsigned rounds, early, wrong;
};

/* Blocks on a socket nobody sends to while the others are busy: every
 * wakeup for their traffic must go back to sleep until the timeout. */
static void *idle_main(void *arg)
{
    struct idle_waiter *w = arg;
    char buf[16];
    for (unsigned i = 0; i < w->rounds; i++) {
        ust_time_t t0 = ust_clock_now();
        errno = 0;
        ssize_t n = ust_recv(w->s, w->fd, buf, sizeof(buf), 0);
        if (n != -1 || errno != EAGAIN)
            w->wrong++;
        if (elapsed_since(t0) < w->timeo)
            w->early++;
    }
    return NULL;
}

static void many_threads_both_directions(void **state)
{
    (void)state;
    struct pair p;
    pair_up(&p, 77);
    struct traffic t;
    memset(&t, 0, sizeof(t));
    pthread_mutex_init(&t.mu, NULL);
    t.deadline = ust_clock_now() + 120 * UST_SEC;

    /* Streams 0-3: one sending and one receiving socket each (0, 1 from
     * stack 0 to 1; 2, 3 back). Streams 4-7 share one socket per stack:
     * 4, 5 sent by two threads on stack 0's shared socket to stack 1's,
     * 6, 7 back the other way; two threads receive on each shared socket
     * while two others send on it. */
    struct rxsock rx[6];
    memset(rx, 0, sizeof(rx));
    struct sender sd[NSTREAMS];
    int shared[2];
    for (int i = 0; i < 2; i++) {
        shared[i] = open_bound(p.s[i], 8000, SOCK_DGRAM);
        set_rcvbuf(p.s[i], shared[i], 4 << 20);
        set_rcvtimeo(p.s[i], shared[i], 100 * UST_MS);
    }
    for (unsigned k = 0; k < NSTREAMS; k++) {
        int from = (k < 2 || k == 4 || k == 5) ? 0 : 1;
        sd[k].t = &t;
        sd[k].s = p.s[from];
        sd[k].stream = k;
        if (k < 4) {
            sd[k].fd = open_bound(p.s[from], (uint16_t)(6000 + k), SOCK_DGRAM);
            struct rxsock *r = &rx[k];
            r->s = p.s[1 - from];
            r->fd = open_bound(r->s, (uint16_t)(7000 + k), SOCK_DGRAM);
            set_rcvbuf(r->s, r->fd, 4 << 20);
            set_rcvtimeo(r->s, r->fd, 100 * UST_MS);
            r->expected = NSEQ;
            r->from_addr = addr_of[from];
            r->from_port[k] = (uint16_t)(6000 + k);
            sd[k].to = sin_of(addr_of[1 - from], (uint16_t)(7000 + k));
        } else {
            sd[k].fd = shared[from];
            struct rxsock *r = &rx[4 + (1 - from)]; /* rx[5]: on stack 1 */
            r->s = p.s[1 - from];
            r->fd = shared[1 - from];
            r->expected += NSEQ;
            r->from_addr = addr_of[from];
            r->from_port[k] = 8000;
            sd[k].to = sin_of(addr_of[1 - from], 8000);
        }
    }
    /* Receivers: one per separate socket, two per shared socket. */
    struct receiver rv[8];
    unsigned nrv = 0;
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < (i < 4 ? 1 : 2); j++) {
            rv[nrv].t = &t;
            rv[nrv].rx = &rx[i];
            assert_int_equal(pthread_create(&rv[nrv].th, NULL, receiver_main, &rv[nrv]), 0);
            nrv++;
        }
    struct idle_waiter idle = {.s = p.s[1], .timeo = 150 * UST_MS, .rounds = 3};
    idle.fd = open_bound(p.s[1], 9000, SOCK_DGRAM);
    set_rcvtimeo(p.s[1], idle.fd, idle.timeo);
    assert_int_equal(pthread_create(&idle.th, NULL, idle_main, &idle), 0);
    for (unsigned k = 0; k < NSTREAMS; k++)
        assert_int_equal(pthread_create(&sd[k].th, NULL, sender_main, &sd[k]), 0);

    for (unsigned k = 0; k < NSTREAMS; k++)
        pthread_join(sd[k].th, NULL);
    for (unsigned i = 0; i < nrv; i++)
        pthread_join(rv[i].th, NULL);
    pthread_join(idle.th, NULL);

    if (t.send_errors || t.recv_errors)
        fail_msg("send errors %u, receive errors %u, first errno %d (%s)", t.send_errors,
                 t.recv_errors, t.first_errno, strerror(t.first_errno));
    assert_int_equal(t.late, 0);
    assert_int_equal(t.corrupt, 0);
    assert_int_equal(t.dup, 0);
    for (unsigned k = 0; k < NSTREAMS; k++)
        for (unsigned q = 0; q < NSEQ; q++)
            if (t.seen[k][q] != 1)
                fail_msg("stream %u, datagram %u: received %u times", k, q, t.seen[k][q]);
    assert_int_equal(idle.wrong, 0);
    assert_int_equal(idle.early, 0);

    /* Nothing more is waiting anywhere. */
    char buf[16];
    for (int i = 0; i < 6; i++) {
        assert_int_equal(ust_recv(rx[i].s, rx[i].fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
        assert_int_equal(errno, EAGAIN);
    }
    for (unsigned k = 0; k < 4; k++) {
        assert_int_equal(ust_close(sd[k].s, sd[k].fd), 0);
        assert_int_equal(ust_close(rx[k].s, rx[k].fd), 0);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(ust_close(p.s[i], shared[i]), 0);
    assert_int_equal(ust_close(p.s[1], idle.fd), 0);
    for (int i = 0; i < 2; i++) {
        ust_runtime_lock(p.rt[i]);
        const struct ust_stats *st = ust_stack_stats(p.s[i]);
        assert_int_equal(st->udp.drop_rcvbuf, 0);
        assert_int_equal(st->udp.drop_checksum, 0);
        assert_int_equal(st->ip.reasm_ok, 4 * (NSEQ / 97 + (NSEQ % 97 > 5)));
        ust_runtime_unlock(p.rt[i]);
    }
    pthread_mutex_destroy(&t.mu);
    pair_down(&p);
}

/* ---- timeouts ---- */

static void rcvtimeo_expires(void **state)
{
    (void)state;
    struct pair p;
    pair_up(&p, 78);
    int fd = open_bound(p.s[0], 5000, SOCK_DGRAM);
    const ust_time_t timeos[] = {50 * UST_MS, 250 * UST_MS};
    for (size_t i = 0; i < 2; i++) {
        set_rcvtimeo(p.s[0], fd, timeos[i]);
        char buf[8];
        ust_time_t t0 = ust_clock_now();
        errno = 0;
        assert_int_equal(ust_recv(p.s[0], fd, buf, sizeof(buf), 0), -1);
        ust_time_t took = elapsed_since(t0);
        assert_int_equal(errno, EAGAIN);
        assert_true(took >= timeos[i]);
    }
    /* A datagram that arrives in time ends the wait with it. */
    int tx = ust_socket(p.s[1], AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = sin_of(addr_of[0], 5000);
    assert_int_equal(ust_sendto(p.s[1], tx, "in time", 7, 0, SA(to), sizeof(to)), 7);
    char buf[16];
    assert_int_equal(recv_within(p.s[0], fd, buf, sizeof(buf), 30 * UST_SEC), 7);
    assert_memory_equal(buf, "in time", 7);
    assert_int_equal(ust_close(p.s[0], fd), 0);
    assert_int_equal(ust_close(p.s[1], tx), 0);
    pair_down(&p);
}

static void nonblocking_returns_at_once(void **state)
{
    (void)state;
    struct pair p;
    pair_up(&p, 79);
    /* No SO_RCVTIMEO: a blocking call would wait forever. Each of these
     * must come back with EAGAIN instead. */
    int nb = open_bound(p.s[0], 5000, SOCK_DGRAM | SOCK_NONBLOCK);
    int bl = open_bound(p.s[0], 5001, SOCK_DGRAM);
    char buf[8];
    ust_time_t t0 = ust_clock_now();
    errno = 0;
    assert_int_equal(ust_recv(p.s[0], nb, buf, sizeof(buf), 0), -1);
    assert_int_equal(errno, EAGAIN);
    errno = 0;
    assert_int_equal(ust_recv(p.s[0], bl, buf, sizeof(buf), MSG_DONTWAIT), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(ust_fcntl(p.s[0], bl, F_SETFL, O_NONBLOCK), 0);
    errno = 0;
    assert_int_equal(ust_recv(p.s[0], bl, buf, sizeof(buf), 0), -1);
    assert_int_equal(errno, EAGAIN);
    struct pollfd pf = {.fd = bl, .events = POLLIN};
    assert_int_equal(ust_poll(p.s[0], &pf, 1, 0), 0);
    /* "At once": far below any wait the calls could have made. */
    assert_true(elapsed_since(t0) < 10 * UST_SEC);
    /* Non-blocking still receives what is there. */
    int tx = ust_socket(p.s[1], AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = sin_of(addr_of[0], 5000);
    assert_int_equal(ust_sendto(p.s[1], tx, "nb", 2, 0, SA(to), sizeof(to)), 2);
    pf.fd = nb;
    assert_int_equal(ust_poll(p.s[0], &pf, 1, 30000), 1);
    assert_int_equal(ust_recv(p.s[0], nb, buf, sizeof(buf), 0), 2);
    assert_int_equal(ust_close(p.s[0], nb), 0);
    assert_int_equal(ust_close(p.s[0], bl), 0);
    assert_int_equal(ust_close(p.s[1], tx), 0);
    pair_down(&p);
}

/* ---- poll and close across threads ---- */

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
};

static void gate_init(struct gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->open = false;
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void gate_wait(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_fini(struct gate *g)
{
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
}

struct blocked {
    pthread_t th;
    struct ust_stack *s;
    int fd;
    int mode; /* 0: ust_poll, 1: ust_recvfrom */
    int timeout_ms;
    struct gate entering;
    ssize_t ret;
    int err;
    short revents;
    ust_time_t took;
};

static void *blocked_main(void *arg)
{
    struct blocked *b = arg;
    gate_open(&b->entering);
    ust_time_t t0 = ust_clock_now();
    errno = 0;
    if (b->mode == 0) {
        struct pollfd pf = {.fd = b->fd, .events = POLLIN};
        b->ret = ust_poll(b->s, &pf, 1, b->timeout_ms);
        b->revents = pf.revents;
    } else {
        char buf[64];
        b->ret = ust_recvfrom(b->s, b->fd, buf, sizeof(buf), 0, NULL, NULL);
    }
    b->err = errno;
    b->took = elapsed_since(t0);
    return NULL;
}

static void start_blocked(struct blocked *b, struct ust_stack *s, int fd, int mode, int timeout_ms)
{
    memset(b, 0, sizeof(*b));
    b->s = s;
    b->fd = fd;
    b->mode = mode;
    b->timeout_ms = timeout_ms;
    gate_init(&b->entering);
    assert_int_equal(pthread_create(&b->th, NULL, blocked_main, b), 0);
    gate_wait(&b->entering);
    /* The thread is about to block. Correctness does not depend on it being
     * inside the wait already (the call must give the same answer either
     * way); this pause only makes it likely that the wakeup path is the
     * one exercised. */
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static void finish_blocked(struct blocked *b)
{
    pthread_join(b->th, NULL);
    gate_fini(&b->entering);
}

static void poll_wakes_on_data_from_another_thread(void **state)
{
    (void)state;
    struct pair p;
    pair_up(&p, 80);
    int fd = open_bound(p.s[1], 5000, SOCK_DGRAM);
    int tx = ust_socket(p.s[0], AF_INET, SOCK_DGRAM, 0);
    struct blocked b;
    start_blocked(&b, p.s[1], fd, 0, 30000);
    struct sockaddr_in to = sin_of(addr_of[1], 5000);
    assert_int_equal(ust_sendto(p.s[0], tx, "wake up", 7, 0, SA(to), sizeof(to)), 7);
    finish_blocked(&b);
    assert_int_equal(b.ret, 1);
    assert_int_equal(b.revents, POLLIN);
    assert_true(b.took < 30 * UST_SEC); /* woken by the data, not the timeout */
    char buf[16];
    assert_int_equal(ust_recv(p.s[1], fd, buf, sizeof(buf), MSG_DONTWAIT), 7);
    assert_memory_equal(buf, "wake up", 7);
    /* And with nothing coming, the timeout ends it with 0. */
    ust_time_t t0 = ust_clock_now();
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    assert_int_equal(ust_poll(p.s[1], &pf, 1, 100), 0);
    assert_true(elapsed_since(t0) >= 100 * UST_MS);
    assert_int_equal(pf.revents, 0);
    assert_int_equal(ust_close(p.s[1], fd), 0);
    assert_int_equal(ust_close(p.s[0], tx), 0);
    pair_down(&p);
}

static void close_wakes_blocked_callers(void **state)
{
    (void)state;
    struct pair p;
    pair_up(&p, 81);
    /* A thread blocked in recvfrom (no timeout: only the close can end
     * it; the long SO_RCVTIMEO is a guard against hanging the suite). */
    int fd = open_bound(p.s[0], 5000, SOCK_DGRAM);
    set_rcvtimeo(p.s[0], fd, 60 * UST_SEC);
    struct blocked b;
    start_blocked(&b, p.s[0], fd, 1, 0);
    assert_int_equal(ust_close(p.s[0], fd), 0);
    finish_blocked(&b);
    assert_int_equal(b.ret, -1);
    assert_int_equal(b.err, EBADF);
    assert_true(b.took < 50 * UST_SEC); /* the close woke it, not the guard */
    /* A thread blocked in poll sees POLLNVAL. */
    fd = open_bound(p.s[0], 5001, SOCK_DGRAM);
    start_blocked(&b, p.s[0], fd, 0, 60000);
    assert_int_equal(ust_close(p.s[0], fd), 0);
    finish_blocked(&b);
    assert_int_equal(b.ret, 1);
    assert_int_equal(b.revents, POLLNVAL);
    assert_true(b.took < 50 * UST_SEC);
    /* The slot being reused meanwhile does not revive the old handle for
     * a caller that was waiting on it. */
    fd = open_bound(p.s[0], 5002, SOCK_DGRAM);
    set_rcvtimeo(p.s[0], fd, 60 * UST_SEC);
    start_blocked(&b, p.s[0], fd, 1, 0);
    assert_int_equal(ust_close(p.s[0], fd), 0);
    int again = open_bound(p.s[0], 5002, SOCK_DGRAM);
    finish_blocked(&b);
    assert_int_equal(b.ret, -1);
    assert_int_equal(b.err, EBADF);
    assert_int_equal(ust_close(p.s[0], again), 0);
    pair_down(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(many_threads_both_directions),
        cmocka_unit_test(rcvtimeo_expires),
        cmocka_unit_test(nonblocking_returns_at_once),
        cmocka_unit_test(poll_wakes_on_data_from_another_thread),
        cmocka_unit_test(close_wakes_blocked_callers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
