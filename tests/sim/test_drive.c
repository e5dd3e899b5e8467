/* Driving the devices from an application thread (ust_runtime_drive_*).
 * One stack with a runtime on a device of this test's own: one end of a
 * Unix datagram socketpair, a frame per datagram; the test holds the other
 * end and writes UDP frames into it. Real threads and the real clock:
 * every wait is for a condition, bounded by 5 s.
 *
 * "The stack thread has looked" is a barrier: a timer armed for now, which
 * the stack thread runs after it has read (if the devices are its own) and
 * processed a batch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "runtime/runtime_priv.h"
#include "ustack/runtime.h"
#include "ustack/socket.h"

#define PORT 7200

/* ---- the socketpair device ---- */

static int sp_transmit(struct ust_device *d, const uint8_t *frame, size_t len, ust_time_t now)
{
    (void)now;
    ssize_t n = send(*(int *)d->priv, frame, len, MSG_DONTWAIT);
    (void)n; /* what the stack sends is not looked at */
    return 0;
}

static int sp_receive(struct ust_device *d, uint8_t *buf, size_t cap, ust_time_t now)
{
    (void)now;
    ssize_t n = recv(*(int *)d->priv, buf, cap, MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN ? 0 : -errno;
    return (int)n;
}

static int sp_fd(struct ust_device *d) { return *(int *)d->priv; }

static void sp_destroy(struct ust_device *d)
{
    close(*(int *)d->priv);
    free(d->priv);
    free(d);
}

static const struct ust_device_ops sp_ops = {
    .transmit = sp_transmit, .receive = sp_receive, .fd = sp_fd, .destroy = sp_destroy};

/* The same, as a device that could hold frames back until a time. */
static ust_time_t sp_next_rx_at(struct ust_device *d)
{
    (void)d;
    return UST_TIME_NEVER;
}
static const struct ust_device_ops sp_timed_ops = {.transmit = sp_transmit,
                                                   .receive = sp_receive,
                                                   .fd = sp_fd,
                                                   .destroy = sp_destroy,
                                                   .next_rx_at = sp_next_rx_at};

struct drive_stack {
    struct ust_stack *s;
    struct ust_runtime *rt;
    int wire;   /* the test's end */
    int devfd;  /* the stack's end */
    int udp;    /* a non-blocking UDP socket on PORT */
    sem_t done; /* the barrier's timer ran */
};

static void up_with(struct drive_stack *t, const struct ust_device_ops *ops)
{
    struct ust_config cfg;
    test_config(&cfg, 21);
    assert_int_equal(ust_stack_create(&cfg, &t->s), 0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    int big = 1 << 20;
    assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big)), 0);
    struct ust_device *d = calloc(1, sizeof(*d));
    int *priv = malloc(sizeof(int));
    assert_non_null(d);
    assert_non_null(priv);
    *priv = t->devfd = sv[1];
    t->wire = sv[0];
    *d = (struct ust_device){.ops = ops, .priv = priv, .type = UST_DEV_ETHERNET, .mtu = 65535};
    strcpy(d->name, "sp0");
    memcpy(d->mac, t_mac_us, 6);
    assert_true(ust_stack_add_device(t->s, d) >= 0);
    assert_int_equal(ust_iface_add(t->s, "sp0", T_IP_US, 24, ust_clock_now()), 0);
    assert_int_equal(ust_runtime_start(t->s, &t->rt), 0);
    t->udp = ust_socket(t->s, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(t->udp > 0);
    struct sockaddr_in sin = sin_of(T_IP_US, PORT);
    assert_int_equal(ust_bind(t->s, t->udp, SA(sin), sizeof(sin)), 0);
    sem_init(&t->done, 0, 0);
}

static void up(struct drive_stack *t) { up_with(t, &sp_ops); }

static void down(struct drive_stack *t)
{
    ust_close(t->s, t->udp);
    ust_runtime_stop(t->rt);
    ust_stack_destroy(t->s);
    close(t->wire);
    sem_destroy(&t->done);
}

/* A UDP datagram of len bytes from the peer to PORT, as one frame. */
static void inject(struct drive_stack *t, size_t len)
{
    static uint8_t udp[65507], ip[65535], frame[65535 + 14];
    size_t ulen = 8 + len;
    memset(udp, 'd', ulen);
    udp[0] = 0x9c, udp[1] = 0x40; /* from port 40000 */
    udp[2] = PORT >> 8, udp[3] = PORT & 0xff;
    udp[4] = (uint8_t)(ulen >> 8), udp[5] = (uint8_t)ulen;
    udp[6] = udp[7] = 0; /* no checksum (IPv4 allows it) */
    size_t il = build_ipv4(ip, T_IP_PEER, T_IP_US, 17, 1, 0, 64, udp, ulen);
    size_t fl = build_eth(frame, t_mac_us, t_mac_peer, 0x0800, ip, il);
    assert_int_equal(send(t->wire, frame, fl, 0), (ssize_t)fl);
}

static void post_done(struct ust_stack *s, int timer, void *arg)
{
    (void)s;
    (void)timer;
    sem_post(&((struct drive_stack *)arg)->done);
}

/* Returns once the stack thread has gone round its loop. */
static void barrier(struct drive_stack *t)
{
    int tm = ust_timer_add(t->s, post_done, t);
    assert_true(tm > 0);
    assert_int_equal(ust_timer_arm(t->s, tm, ust_clock_now()), 0);
    assert_true(await_sem(&t->done));
    ust_timer_del(t->s, tm);
}

/* Begins driving: drive_begin says 0 while the stack thread is inside its
 * own read, so this tries until it says yes (at most 5 s). */
static void begin(struct drive_stack *t, int *fds)
{
    int n = 0;
    for (int i = 0; i < 5000 && (n = ust_runtime_drive_begin(t->rt, fds, 4)) == 0; i++)
        usleep(1000);
    assert_int_equal(n, 1);
    assert_int_equal(fds[0], t->devfd);
}

static void *begin_elsewhere(void *arg)
{
    int fds[4];
    return (void *)(intptr_t)ust_runtime_drive_begin(((struct drive_stack *)arg)->rt, fds, 4);
}

/* Is a frame waiting on the stack's end of the wire (unread)? */
static bool frame_waiting(struct drive_stack *t)
{
    struct pollfd p = {.fd = t->devfd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

/* Waits (at most 5 s) for a datagram on the UDP socket; its size, or -1. */
static ssize_t await_datagram(struct drive_stack *t)
{
    static uint8_t buf[65536];
    struct pollfd p = {.fd = t->udp, .events = POLLIN};
    if (ust_poll(t->s, &p, 1, 5000) != 1)
        return -1;
    return ust_recv(t->s, t->udp, buf, sizeof(buf), 0);
}

/* The driving thread: its wait has the device's descriptor, the stack
 * thread leaves the frame to it, and its step delivers the datagram. */
static void driving_thread_takes_the_frames(void **state)
{
    (void)state;
    struct drive_stack t;
    up(&t);
    int fds[4];
    begin(&t, fds);
    /* No other thread drives meanwhile, and this one only once. */
    pthread_t other;
    void *got;
    assert_int_equal(pthread_create(&other, NULL, begin_elsewhere, &t), 0);
    assert_int_equal(pthread_join(other, &got), 0);
    assert_int_equal((intptr_t)got, 0);
    assert_int_equal(ust_runtime_drive_begin(t.rt, fds, 4), 0);
    inject(&t, 100);
    barrier(&t);
    assert_true(frame_waiting(&t)); /* the stack thread did not read it */
    struct pollfd p = {.fd = fds[0], .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_true(ust_runtime_drive_step(t.rt));
    assert_false(frame_waiting(&t));
    assert_int_equal(await_datagram(&t), 100);
    ust_runtime_drive_end(t.rt);
    down(&t);
}

/* After the wait ends, the stack thread takes the devices back (1 ms
 * later): a frame that comes then is read without anyone driving. */
static void stack_thread_takes_the_devices_back(void **state)
{
    (void)state;
    struct drive_stack t;
    up(&t);
    int fds[4];
    begin(&t, fds);
    ust_runtime_drive_end(t.rt);
    inject(&t, 200);
    assert_int_equal(await_datagram(&t), 200);
    down(&t);
}

/* A program idle in one long wait: the stack thread stops looking every
 * millisecond (parked); the wait's end wakes it, and it takes the devices
 * back. */
static void parked_stack_thread_is_woken_by_the_end(void **state)
{
    (void)state;
    struct drive_stack t;
    up(&t);
    int fds[4];
    begin(&t, fds);
    ust_runtime_kick(t.rt); /* (asleep without a deadline, it would not look) */
    bool parked = false;
    for (int i = 0; i < 5000 && !parked; i++) { /* at most 5 s */
        ust_runtime_lock(t.rt);
        parked = t.rt->parked;
        ust_runtime_unlock(t.rt);
        if (!parked)
            usleep(1000);
    }
    assert_true(parked);
    ust_runtime_drive_end(t.rt);
    inject(&t, 300);
    assert_int_equal(await_datagram(&t), 300);
    down(&t);
}

/* A bulk transfer's worth in one step (more than 32 KiB) stays on the
 * driving thread, as a request does: the next frame waits for its step,
 * not for the stack thread. */
static void bulk_step_keeps_the_devices(void **state)
{
    (void)state;
    struct drive_stack t;
    up(&t);
    int fds[4];
    begin(&t, fds);
    inject(&t, 40000);
    struct pollfd p = {.fd = fds[0], .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_true(ust_runtime_drive_step(t.rt));
    assert_int_equal(await_datagram(&t), 40000);
    inject(&t, 100);
    barrier(&t);
    assert_true(frame_waiting(&t)); /* the stack thread left it alone */
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_true(ust_runtime_drive_step(t.rt));
    assert_int_equal(await_datagram(&t), 100);
    ust_runtime_drive_end(t.rt);
    down(&t);
}

/* ---- the ready hooks (ust_runtime_set_ready_hooks) ---- */

struct hooks_seen {
    struct drive_stack *t;
    pthread_t hook_thread, flush_thread;
    int hooks, flushes, reported;
    bool locked_in_flush; /* the runtime's lock was held during a flush */
    sem_t flushed;
};

static bool hook_takes(struct ust_stack *s, void *arg)
{
    struct hooks_seen *h = arg;
    struct ust_ready r[8];
    int n;
    do {
        n = ust_ready(s, r, 8);
        h->reported += n > 0 ? n : 0;
    } while (n == 8);
    h->hook_thread = pthread_self();
    h->hooks++;
    return true;
}

static void flush_seen(void *arg)
{
    struct hooks_seen *h = arg;
    if (pthread_mutex_trylock(&h->t->rt->mu) == 0)
        pthread_mutex_unlock(&h->t->rt->mu);
    else
        h->locked_in_flush = true;
    h->flush_thread = pthread_self();
    h->flushes++;
    sem_post(&h->flushed);
}

static bool event_fd_raised(struct drive_stack *t)
{
    struct pollfd p = {.fd = ust_event_fd(t->s), .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

/* The stack thread passes the news on through a hook that has a flush,
 * not the event fd (it would wake the program's dispatcher), and the
 * flush runs on the same thread once the lock is free. Without a flush
 * it raises the event fd as before. */
static void stack_thread_delivers_through_the_hook(void **state)
{
    (void)state;
    struct drive_stack t;
    up(&t);
    struct hooks_seen h = {.t = &t};
    sem_init(&h.flushed, 0, 0);
    assert_true(ust_event_fd(t.s) >= 0);
    struct ust_ready r[8];
    while (ust_ready(t.s, r, 8) > 0) {
    } /* the sockets open now are on the list: take them */
    assert_int_equal(ust_runtime_set_ready_hooks(t.rt, hook_takes, flush_seen, &h), 0);
    inject(&t, 100);
    assert_true(await_sem(&h.flushed));
    ust_runtime_lock(t.rt);
    int hooks = h.hooks, flushes = h.flushes, reported = h.reported;
    bool same = pthread_equal(h.hook_thread, h.flush_thread);
    bool mine = pthread_equal(h.hook_thread, pthread_self());
    ust_runtime_unlock(t.rt);
    assert_int_equal(hooks, 1);
    assert_int_equal(flushes, 1);
    assert_int_equal(reported, 1); /* the UDP socket */
    assert_true(same);
    assert_false(mine); /* the stack thread */
    assert_false(h.locked_in_flush);
    assert_false(event_fd_raised(&t));
    assert_int_equal(await_datagram(&t), 100);

    /* A hook without a flush: the stack thread leaves it alone. */
    assert_int_equal(ust_runtime_set_ready_hook(t.rt, hook_takes, &h), 0);
    inject(&t, 200);
    assert_int_equal(await_datagram(&t), 200); /* (after the stack thread let go of the lock) */
    assert_true(event_fd_raised(&t));
    ust_runtime_lock(t.rt);
    hooks = h.hooks;
    ust_runtime_unlock(t.rt);
    assert_int_equal(hooks, 1);
    down(&t);
    sem_destroy(&h.flushed);
}

/* A device that may hold frames until a time (memlink, faulty, pcap's
 * wrapper) is never driven: only the stack thread's deadlines catch
 * frames that become due without the fd becoming readable. */
static void devices_that_hold_frames_are_not_driven(void **state)
{
    (void)state;
    struct drive_stack t;
    up_with(&t, &sp_timed_ops);
    int fds[4];
    for (int i = 0; i < 20; i++) {
        barrier(&t);
        assert_int_equal(ust_runtime_drive_begin(t.rt, fds, 4), 0);
    }
    inject(&t, 100);
    assert_int_equal(await_datagram(&t), 100);
    down(&t);
}

static void bad_arguments(void **state)
{
    (void)state;
    struct drive_stack t;
    up(&t);
    int fds[4];
    assert_int_equal(ust_runtime_drive_begin(NULL, fds, 4), -EINVAL);
    assert_int_equal(ust_runtime_drive_begin(t.rt, NULL, 4), -EINVAL);
    assert_int_equal(ust_runtime_drive_begin(t.rt, fds, 0), -EINVAL);
    assert_false(ust_runtime_drive_step(NULL));
    assert_false(ust_runtime_drive_step(t.rt)); /* not the driver */
    ust_runtime_drive_end(NULL);
    assert_int_equal(ust_runtime_set_ready_hook(NULL, NULL, NULL), -EINVAL);
    assert_int_equal(ust_runtime_set_ready_hooks(NULL, NULL, NULL, NULL), -EINVAL);
    assert_int_equal(ust_runtime_set_ready_hooks(t.rt, NULL, flush_seen, NULL), -EINVAL);
    down(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(driving_thread_takes_the_frames),
        cmocka_unit_test(stack_thread_takes_the_devices_back),
        cmocka_unit_test(parked_stack_thread_is_woken_by_the_end),
        cmocka_unit_test(bulk_step_keeps_the_devices),
        cmocka_unit_test(stack_thread_delivers_through_the_hook),
        cmocka_unit_test(devices_that_hold_frames_are_not_driven),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
