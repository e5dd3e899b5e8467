/* Run-to-completion: handlers and timers on the stack thread (ust_on_ready,
 * ust_timer_*). One stack on its loopback device with a runtime; real
 * threads and the real clock, so every wait is for a condition (a
 * semaphore a handler or timer posts) with a generous bound.
 *
 * To say "nothing more happened" without sleeping, a test waits for a
 * barrier: a timer armed for now, which the stack thread runs only after
 * the handler rounds of the batch it is in, so a handler that was still
 * due would have run before it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "ustack/runtime.h"
#include "ustack/socket.h"

#define LO UST_IP4(127, 0, 0, 1)
#define PORT 7100

struct lo_stack {
    struct ust_stack *s;
    struct ust_runtime *rt;
};

static void lo_up(struct lo_stack *l)
{
    struct ust_config cfg;
    test_config(&cfg, 11);
    assert_int_equal(ust_stack_create(&cfg, &l->s), 0);
    struct ust_device *lo;
    assert_int_equal(ust_loopback_create(&lo), 0);
    assert_true(ust_stack_add_device(l->s, lo) >= 0);
    assert_int_equal(ust_iface_add(l->s, "lo", LO, 8, ust_clock_now()), 0);
    assert_int_equal(ust_runtime_start(l->s, &l->rt), 0);
}

static void lo_down(struct lo_stack *l)
{
    ust_runtime_stop(l->rt);
    ust_stack_destroy(l->s);
}

/* A blocking UDP socket bound to port (a handler must still never block). */
static int udp_bound(struct ust_stack *s, uint16_t port, bool nonblock)
{
    int fd = ust_socket(s, AF_INET, SOCK_DGRAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    assert_true(fd > 0);
    struct sockaddr_in sin = sin_of(LO, port);
    assert_int_equal(ust_bind(s, fd, SA(sin), sizeof(sin)), 0);
    return fd;
}

/* What the handlers and timers of a test saw. Written on the stack thread;
 * read by the test after a semaphore (which orders them). */
struct seen {
    struct lo_stack *l;
    int fd;             /* the socket under test */
    int tx;             /* the socket the timer sends from */
    int sends;          /* datagrams the timer sends, in one go */
    int calls;          /* handler calls */
    int reads;          /* datagrams read */
    int per_call_limit; /* read at most this many per call (0: until EAGAIN) */
    bool rearm;         /* re-arm after each call */
    bool close_it;      /* close the socket in the handler */
    bool in_handler;    /* ust_in_handler() inside, every time */
    int last_errno;     /* the errno that ended the last call's reads */
    short revents;
    int timer;
    sem_t sem; /* posted by the handler (each call) */
    sem_t barrier;
};

static void send_some(struct ust_stack *s, int timer, void *arg)
{
    (void)timer;
    struct seen *w = arg;
    struct sockaddr_in to = sin_of(LO, PORT);
    for (int i = 0; i < w->sends; i++)
        assert_int_equal(ust_sendto(s, w->tx, "x", 1, 0, SA(to), sizeof(to)), 1);
}

static void on_udp(struct ust_stack *s, int fd, short revents, void *arg)
{
    struct seen *w = arg;
    w->calls++;
    w->revents = revents;
    w->in_handler = w->in_handler && ust_in_handler(s);
    char buf[16];
    for (int n = 0; !w->per_call_limit || n < w->per_call_limit; n++) {
        /* A blocking socket: inside a handler this must not wait. */
        if (ust_recv(s, fd, buf, sizeof(buf), 0) < 0) {
            w->last_errno = errno;
            break;
        }
        w->reads++;
    }
    if (w->close_it)
        assert_int_equal(ust_close(s, fd), 0);
    if (w->rearm)
        assert_int_equal(ust_on_ready(s, fd, POLLIN, on_udp, w), 0);
    sem_post(&w->sem);
}

static void post_barrier(struct ust_stack *s, int timer, void *arg)
{
    (void)s;
    (void)timer;
    sem_post(&((struct seen *)arg)->barrier);
}

/* Waits until the stack thread has finished the batch it is in (and its
 * handler rounds): a timer armed for now runs after them. */
static void barrier(struct seen *w)
{
    int t = ust_timer_add(w->l->s, post_barrier, w);
    assert_true(t > 0);
    assert_int_equal(ust_timer_arm(w->l->s, t, ust_clock_now()), 0);
    assert_true(await_sem(&w->barrier));
    assert_int_equal(ust_timer_del(w->l->s, t), 0);
}

static void seen_init(struct seen *w, struct lo_stack *l)
{
    memset(w, 0, sizeof(*w));
    w->l = l;
    w->in_handler = true;
    sem_init(&w->sem, 0, 0);
    sem_init(&w->barrier, 0, 0);
    w->fd = udp_bound(l->s, PORT, false);
    w->tx = udp_bound(l->s, PORT + 1, true);
    w->timer = ust_timer_add(l->s, send_some, w);
    assert_true(w->timer > 0);
}

/* The timer sends n datagrams from the stack thread: the loopback hands
 * them over together, at the next poll step. */
static void fire(struct seen *w, int n)
{
    w->sends = n;
    assert_int_equal(ust_timer_arm(w->l->s, w->timer, ust_clock_now()), 0);
}

static void seen_fini(struct seen *w)
{
    sem_destroy(&w->sem);
    sem_destroy(&w->barrier);
}

/* Three datagrams processed in one batch: the handler runs once, after
 * the batch (all three are there), on the stack thread; its blocking
 * socket never blocks: EAGAIN ends its reads. */
static void handler_runs_once_after_the_batch(void **state)
{
    (void)state;
    struct lo_stack l;
    lo_up(&l);
    struct seen w;
    seen_init(&w, &l);
    assert_false(ust_in_handler(l.s)); /* the test's own thread */
    assert_int_equal(ust_on_ready(l.s, w.fd, POLLIN, on_udp, &w), 0);
    fire(&w, 3);
    assert_true(await_sem(&w.sem));
    barrier(&w);
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.reads, 3);
    assert_int_equal(w.last_errno, EAGAIN);
    assert_int_equal(w.revents, POLLIN);
    assert_true(w.in_handler);
    seen_fini(&w);
    lo_down(&l);
}

/* Edge-triggered: a handler that leaves datagrams queued is not run again
 * until something new happens; then it runs once more. */
static void handler_is_edge_triggered(void **state)
{
    (void)state;
    struct lo_stack l;
    lo_up(&l);
    struct seen w;
    seen_init(&w, &l);
    w.per_call_limit = 1;
    assert_int_equal(ust_on_ready(l.s, w.fd, POLLIN, on_udp, &w), 0);
    fire(&w, 3);
    assert_true(await_sem(&w.sem));
    barrier(&w);
    assert_int_equal(w.calls, 1); /* two still queued, and still ready: no second call */
    assert_int_equal(w.reads, 1);
    fire(&w, 1); /* news */
    assert_true(await_sem(&w.sem));
    barrier(&w);
    assert_int_equal(w.calls, 2);
    assert_int_equal(w.reads, 2);
    seen_fini(&w);
    lo_down(&l);
}

/* Re-arming (setting the handler again) while the socket is still ready
 * runs it again next round, until it has read everything. */
static void rearmed_handler_runs_until_drained(void **state)
{
    (void)state;
    struct lo_stack l;
    lo_up(&l);
    struct seen w;
    seen_init(&w, &l);
    w.per_call_limit = 1;
    w.rearm = true;
    assert_int_equal(ust_on_ready(l.s, w.fd, POLLIN, on_udp, &w), 0);
    fire(&w, 3);
    for (int i = 0; i < 3; i++)
        assert_true(await_sem(&w.sem));
    barrier(&w);
    assert_int_equal(w.reads, 3);
    /* The third call read the last one and re-armed: not ready, not run. */
    assert_int_equal(w.calls, 3);
    seen_fini(&w);
    lo_down(&l);
}

/* Setting a handler on a socket that is ready already runs it (as
 * EPOLL_CTL_MOD does); without news it would wait for ever. */
static void setting_a_handler_on_a_ready_socket_runs_it(void **state)
{
    (void)state;
    struct lo_stack l;
    lo_up(&l);
    struct seen w;
    seen_init(&w, &l);
    struct sockaddr_in to = sin_of(LO, PORT);
    assert_int_equal(ust_sendto(l.s, w.tx, "y", 1, 0, SA(to), sizeof(to)), 1);
    struct pollfd p = {.fd = w.fd, .events = POLLIN};
    assert_int_equal(ust_poll(l.s, &p, 1, 5000), 1); /* it is there */
    assert_int_equal(ust_on_ready(l.s, w.fd, POLLIN, on_udp, &w), 0);
    assert_true(await_sem(&w.sem));
    barrier(&w);
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.reads, 1);
    seen_fini(&w);
    lo_down(&l);
}

/* A handler that closes its socket: the handler goes with it. */
static void handler_that_closes_its_socket(void **state)
{
    (void)state;
    struct lo_stack l;
    lo_up(&l);
    struct seen w;
    seen_init(&w, &l);
    w.close_it = true;
    assert_int_equal(ust_on_ready(l.s, w.fd, POLLIN, on_udp, &w), 0);
    fire(&w, 1);
    assert_true(await_sem(&w.sem));
    barrier(&w);
    assert_int_equal(w.calls, 1);
    /* The socket is gone, and so is its handler. */
    errno = 0;
    assert_int_equal(ust_on_ready(l.s, w.fd, POLLIN, on_udp, &w), -1);
    assert_int_equal(errno, EBADF);
    /* A new socket on the same port has no handler: news does not run it. */
    w.fd = udp_bound(l.s, PORT, true);
    fire(&w, 1);
    struct pollfd p = {.fd = w.fd, .events = POLLIN};
    assert_int_equal(ust_poll(l.s, &p, 1, 5000), 1);
    barrier(&w);
    assert_int_equal(w.calls, 1);
    seen_fini(&w);
    lo_down(&l);
}

/* Removing a handler: it no longer runs. */
static void removed_handler_does_not_run(void **state)
{
    (void)state;
    struct lo_stack l;
    lo_up(&l);
    struct seen w;
    seen_init(&w, &l);
    assert_int_equal(ust_on_ready(l.s, w.fd, POLLIN, on_udp, &w), 0);
    assert_int_equal(ust_on_ready(l.s, w.fd, 0, NULL, NULL), 0);
    errno = 0;
    assert_int_equal(ust_on_ready(l.s, w.fd, 0, NULL, NULL), -1); /* none left */
    assert_int_equal(errno, ENOENT);
    fire(&w, 1);
    struct pollfd p = {.fd = w.fd, .events = POLLIN};
    assert_int_equal(ust_poll(l.s, &p, 1, 5000), 1);
    barrier(&w);
    assert_int_equal(w.calls, 0);
    seen_fini(&w);
    lo_down(&l);
}

/* ---- a TCP echo served entirely by handlers ---- */

struct echo {
    int listener;
    int accepted;
    int echoed;
};

static void on_echo_conn(struct ust_stack *s, int fd, short revents, void *arg)
{
    struct echo *e = arg;
    char buf[256];
    ssize_t n;
    while ((n = ust_recv(s, fd, buf, sizeof(buf), 0)) > 0) {
        assert_int_equal(ust_send(s, fd, buf, (size_t)n, 0), n);
        e->echoed += (int)n;
    }
    if (n == 0 || (revents & (POLLERR | POLLHUP)))
        ust_close(s, fd);
}

/* The listener's handler accepts and registers a handler for each new
 * connection (from inside a handler); the request that came with the
 * connection is answered in the same turn of the stack thread. */
static void on_echo_listener(struct ust_stack *s, int fd, short revents, void *arg)
{
    (void)revents;
    struct echo *e = arg;
    int c;
    while ((c = ust_accept4(s, fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
        e->accepted++;
        assert_int_equal(ust_on_ready(s, c, POLLIN, on_echo_conn, e), 0);
    }
    assert_int_equal(errno, EAGAIN);
}

static void handlers_serve_a_tcp_echo(void **state)
{
    (void)state;
    struct lo_stack l;
    lo_up(&l);
    struct echo e = {0};
    e.listener = ust_socket(l.s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(e.listener > 0);
    struct sockaddr_in sin = sin_of(LO, PORT);
    assert_int_equal(ust_bind(l.s, e.listener, SA(sin), sizeof(sin)), 0);
    assert_int_equal(ust_listen(l.s, e.listener, 8), 0);
    assert_int_equal(ust_on_ready(l.s, e.listener, POLLIN, on_echo_listener, &e), 0);
    for (int round = 0; round < 3; round++) {
        int c = ust_socket(l.s, AF_INET, SOCK_STREAM, 0);
        assert_int_equal(ust_connect(l.s, c, SA(sin), sizeof(sin)), 0);
        char msg[64], back[64];
        int len = snprintf(msg, sizeof(msg), "hello %d", round);
        assert_int_equal(ust_send(l.s, c, msg, (size_t)len, 0), len);
        size_t got = 0;
        while (got < (size_t)len) {
            ssize_t n = ust_recv(l.s, c, back + got, sizeof(back) - got, 0);
            assert_true(n > 0);
            got += (size_t)n;
        }
        assert_memory_equal(back, msg, (size_t)len);
        assert_int_equal(ust_close(l.s, c), 0);
    }
    ust_runtime_lock(l.rt);
    assert_int_equal(e.accepted, 3);
    ust_runtime_unlock(l.rt);
    lo_down(&l);
}

/* ---- timers ---- */

struct tick {
    int runs;
    int again; /* re-arm this many times */
    ust_time_t armed_for, ran_at;
    bool in_handler;
    sem_t sem;
};

static void on_tick(struct ust_stack *s, int timer, void *arg)
{
    struct tick *t = arg;
    t->runs++;
    t->ran_at = ust_clock_now();
    t->in_handler = ust_in_handler(s);
    if (t->again-- > 0) {
        t->armed_for = t->ran_at + 1000;
        assert_int_equal(ust_timer_arm(s, timer, t->armed_for), 0);
        return;
    }
    sem_post(&t->sem);
}

/* One-shot, not before its time, on the stack thread; re-armed from its
 * own function it runs again. */
static void timer_fires_once_and_can_be_rearmed(void **state)
{
    (void)state;
    struct lo_stack l;
    lo_up(&l);
    struct tick t = {.again = 2};
    sem_init(&t.sem, 0, 0);
    int id = ust_timer_add(l.s, on_tick, &t);
    assert_true(id > 0);
    t.armed_for = ust_clock_now() + 20000;
    assert_int_equal(ust_timer_arm(l.s, id, t.armed_for), 0);
    assert_true(await_sem(&t.sem));
    ust_runtime_lock(l.rt);
    assert_int_equal(t.runs, 3);
    assert_true(t.ran_at >= t.armed_for);
    assert_true(t.in_handler);
    ust_runtime_unlock(l.rt);
    /* Disarmed and deleted: the id is no longer a timer. */
    assert_int_equal(ust_timer_arm(l.s, id, 0), 0);
    assert_int_equal(ust_timer_del(l.s, id), 0);
    errno = 0;
    assert_int_equal(ust_timer_arm(l.s, id, 1), -1);
    assert_int_equal(errno, EINVAL);
    sem_destroy(&t.sem);
    lo_down(&l);
}

/* ---- busy polling ---- */

/* With busy polling the stack still answers, and a handler still runs
 * (an echo round trip over the loopback); bad values are refused. */
static void busy_poll_keeps_serving(void **state)
{
    (void)state;
    struct lo_stack l;
    lo_up(&l);
    assert_int_equal(ust_runtime_set_busy_poll(l.rt, 2000001), -EINVAL);
    assert_int_equal(ust_runtime_set_busy_poll(NULL, 10), -EINVAL);
    assert_int_equal(ust_runtime_set_busy_poll(l.rt, 500), 0);
    struct seen w;
    seen_init(&w, &l);
    assert_int_equal(ust_on_ready(l.s, w.fd, POLLIN, on_udp, &w), 0);
    for (int i = 0; i < 20; i++) {
        fire(&w, 1);
        assert_true(await_sem(&w.sem));
    }
    barrier(&w);
    assert_int_equal(w.reads, 20);
    assert_int_equal(ust_runtime_set_busy_poll(l.rt, 0), 0);
    seen_fini(&w);
    lo_down(&l);
}

/* ---- bad arguments ---- */

static void nop_ready(struct ust_stack *s, int fd, short revents, void *arg)
{
    (void)s, (void)fd, (void)revents, (void)arg;
}

static void nop_timer(struct ust_stack *s, int timer, void *arg)
{
    (void)s, (void)timer, (void)arg;
}

#define FAILS_WITH(call, err)                                                                      \
    do {                                                                                           \
        errno = 0;                                                                                 \
        assert_int_equal((call), -1);                                                              \
        assert_int_equal(errno, (err));                                                            \
    } while (0)

static void bad_arguments_fail_with_errno(void **state)
{
    (void)state;
    /* Without a runtime there is no stack thread to run anything. */
    struct ust_config cfg;
    test_config(&cfg, 3);
    struct ust_stack *bare;
    assert_int_equal(ust_stack_create(&cfg, &bare), 0);
    int fd = ust_socket(bare, AF_INET, SOCK_DGRAM, 0);
    assert_true(fd > 0);
    FAILS_WITH(ust_on_ready(bare, fd, POLLIN, nop_ready, NULL), EINVAL);
    FAILS_WITH(ust_timer_add(bare, nop_timer, NULL), EINVAL);
    FAILS_WITH(ust_timer_arm(bare, 1, 1), EINVAL);
    FAILS_WITH(ust_timer_del(bare, 1), EINVAL);
    assert_false(ust_in_handler(bare));
    ust_stack_destroy(bare);

    struct lo_stack l;
    lo_up(&l);
    fd = udp_bound(l.s, PORT, true);
    FAILS_WITH(ust_on_ready(NULL, fd, POLLIN, nop_ready, NULL), EINVAL);
    FAILS_WITH(ust_on_ready(l.s, fd, POLLPRI, nop_ready, NULL), EINVAL);
    FAILS_WITH(ust_on_ready(l.s, fd, (short)(POLLIN | 0x4000), nop_ready, NULL), EINVAL);
    FAILS_WITH(ust_on_ready(l.s, 12345, POLLIN, nop_ready, NULL), EBADF);
    FAILS_WITH(ust_on_ready(l.s, -1, POLLIN, nop_ready, NULL), EBADF);
    FAILS_WITH(ust_on_ready(l.s, fd, 0, NULL, NULL), ENOENT);
    FAILS_WITH(ust_timer_add(NULL, nop_timer, NULL), EINVAL);
    FAILS_WITH(ust_timer_add(l.s, NULL, NULL), EINVAL);
    FAILS_WITH(ust_timer_arm(l.s, 0, 1), EINVAL);
    FAILS_WITH(ust_timer_arm(l.s, -3, 1), EINVAL);
    FAILS_WITH(ust_timer_arm(l.s, 99999, 1), EINVAL);
    FAILS_WITH(ust_timer_del(l.s, 7), EINVAL);
    /* Timers are bounded. */
    int last = 0, n = 0;
    while ((last = ust_timer_add(l.s, nop_timer, NULL)) > 0)
        n++;
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(n, 4096);
    /* events 0 is allowed: errors and hang-ups only. */
    assert_int_equal(ust_on_ready(l.s, fd, 0, nop_ready, NULL), 0);
    assert_int_equal(ust_close(l.s, fd), 0);
    lo_down(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(handler_runs_once_after_the_batch),
        cmocka_unit_test(handler_is_edge_triggered),
        cmocka_unit_test(rearmed_handler_runs_until_drained),
        cmocka_unit_test(setting_a_handler_on_a_ready_socket_runs_it),
        cmocka_unit_test(handler_that_closes_its_socket),
        cmocka_unit_test(removed_handler_does_not_run),
        cmocka_unit_test(handlers_serve_a_tcp_echo),
        cmocka_unit_test(timer_fires_once_and_can_be_rearmed),
        cmocka_unit_test(busy_poll_keeps_serving),
        cmocka_unit_test(bad_arguments_fail_with_errno),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
