/* Readiness with a runtime: the program's event fd and ready list
 * (ust_event_fd, ust_ready), and ust_poll over many sockets. One stack on
 * its loopback device, driven by its stack thread; real threads and the
 * real clock, so every wait is for a condition with a generous bound. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>

#include "harness.h"
#include "ustack/runtime.h"
#include "ustack/socket.h"

#define LO UST_IP4(127, 0, 0, 1)

struct lo_stack {
    struct ust_stack *s;
    struct ust_runtime *rt;
};

static void lo_up(struct lo_stack *l, bool runtime)
{
    struct ust_config cfg;
    test_config(&cfg, 7);
    assert_int_equal(ust_stack_create(&cfg, &l->s), 0);
    struct ust_device *lo;
    assert_int_equal(ust_loopback_create(&lo), 0);
    assert_true(ust_stack_add_device(l->s, lo) >= 0);
    assert_int_equal(ust_iface_add(l->s, "lo", LO, 8, ust_clock_now()), 0);
    l->rt = NULL;
    if (runtime)
        assert_int_equal(ust_runtime_start(l->s, &l->rt), 0);
}

static void lo_down(struct lo_stack *l)
{
    ust_runtime_stop(l->rt);
    ust_stack_destroy(l->s);
}

static int udp_bound(struct ust_stack *s, uint16_t port)
{
    int fd = ust_socket(s, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(fd > 0);
    struct sockaddr_in sin = sin_of(LO, port);
    assert_int_equal(ust_bind(s, fd, SA(sin), sizeof(sin)), 0);
    return fd;
}

static void send_to(struct ust_stack *s, int from, uint16_t port, const char *msg)
{
    struct sockaddr_in to = sin_of(LO, port);
    assert_int_equal(ust_sendto(s, from, msg, strlen(msg), 0, SA(to), sizeof(to)),
                     (ssize_t)strlen(msg));
}

/* Is the kernel fd readable within ms? */
static bool readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* Takes the whole ready list; returns how many entries, and the events of
 * the entry for fd (0 if it was not reported) in *ev. */
static int take_all(struct ust_stack *s, int fd, short *ev)
{
    struct ust_ready r[4];
    int total = 0, n;
    *ev = 0;
    do {
        n = ust_ready(s, r, 4);
        assert_true(n >= 0);
        for (int i = 0; i < n; i++) {
            if (r[i].fd == fd)
                *ev = r[i].events;
        }
        total += n;
    } while (n == 4);
    return total;
}

/* The event fd rises when a socket has news, ust_ready names that socket,
 * and the fd falls once the list is taken; edge-triggered: a socket that
 * stays readable is not reported again until something new happens. */
static void event_fd_follows_the_ready_list(void **state)
{
    (void)state;
    struct lo_stack l;
    lo_up(&l, true);
    int rx = udp_bound(l.s, 7000);
    int tx = udp_bound(l.s, 7001);
    int efd = ust_event_fd(l.s);
    assert_true(efd >= 0);
    assert_int_equal(ust_event_fd(l.s), efd); /* the same fd every time */
    /* Sockets open before watching started are reported once. */
    assert_true(readable(efd, 10000));
    short ev;
    assert_int_equal(take_all(l.s, rx, &ev), 2);
    assert_int_equal(ev, POLLOUT);
    assert_false(readable(efd, 0));

    send_to(l.s, tx, 7000, "one");
    assert_true(readable(efd, 10000));
    take_all(l.s, rx, &ev);
    assert_int_equal(ev, POLLIN | POLLOUT);
    assert_false(readable(efd, 0));
    /* Still readable, but nothing new: no report (edge-triggered). */
    assert_false(readable(efd, 100));
    assert_int_equal(take_all(l.s, rx, &ev), 0);
    /* A second datagram is news, though the first is still unread. */
    send_to(l.s, tx, 7000, "two");
    assert_true(readable(efd, 10000));
    take_all(l.s, rx, &ev);
    assert_int_equal(ev, POLLIN | POLLOUT);
    char buf[16];
    assert_int_equal(ust_recv(l.s, rx, buf, sizeof(buf), 0), 3);
    assert_int_equal(ust_recv(l.s, rx, buf, sizeof(buf), 0), 3);
    assert_int_equal(ust_recv(l.s, rx, buf, sizeof(buf), 0), -1);
    assert_int_equal(errno, EAGAIN);

    /* A closed socket is not reported; the fd does not stay raised for it. */
    send_to(l.s, tx, 7000, "three");
    assert_true(readable(efd, 10000));
    assert_int_equal(ust_close(l.s, rx), 0);
    assert_int_equal(take_all(l.s, rx, &ev), 0);
    assert_int_equal(ev, 0);
    assert_false(readable(efd, 0));
    assert_int_equal(ust_close(l.s, tx), 0);
    lo_down(&l);
}

/* A TCP listener is reported when a connection waits; the accepted socket
 * joins the list by itself and is reported when data arrives. */
static void tcp_accept_and_data_are_reported(void **state)
{
    (void)state;
    struct lo_stack l;
    lo_up(&l, true);
    int efd = ust_event_fd(l.s);
    assert_true(efd >= 0);
    int lfd = ust_socket(l.s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sin = sin_of(LO, 8000);
    assert_int_equal(ust_bind(l.s, lfd, SA(sin), sizeof(sin)), 0);
    assert_int_equal(ust_listen(l.s, lfd, 8), 0);
    short ev;
    take_all(l.s, lfd, &ev);
    assert_false(readable(efd, 0));

    int cfd = ust_socket(l.s, AF_INET, SOCK_STREAM, 0); /* blocking connect */
    assert_int_equal(ust_connect(l.s, cfd, SA(sin), sizeof(sin)), 0);
    assert_true(readable(efd, 10000));
    take_all(l.s, lfd, &ev);
    assert_true(ev & POLLIN);
    int afd = ust_accept4(l.s, lfd, NULL, NULL, SOCK_NONBLOCK);
    assert_true(afd > 0);
    take_all(l.s, afd, &ev); /* whatever the accept itself made news */

    assert_int_equal(ust_send(l.s, cfd, "hello", 5, 0), 5);
    ev = 0;
    for (int i = 0; i < 100 && !(ev & POLLIN); i++) {
        assert_true(readable(efd, 10000));
        take_all(l.s, afd, &ev);
    }
    assert_true(ev & POLLIN);
    char buf[8];
    assert_int_equal(ust_recv(l.s, afd, buf, sizeof(buf), 0), 5);
    assert_memory_equal(buf, "hello", 5);
    ust_close(l.s, cfd);
    ust_close(l.s, afd);
    ust_close(l.s, lfd);
    lo_down(&l);
}

/* Without a runtime there is no fd to raise; the list still works. */
static void embedded_has_a_list_but_no_fd(void **state)
{
    (void)state;
    struct lo_stack l;
    lo_up(&l, false);
    int rx = udp_bound(l.s, 7000);
    assert_int_equal(ust_event_fd(l.s), -1);
    assert_int_equal(errno, EINVAL);
    short ev;
    assert_int_equal(take_all(l.s, rx, &ev), 1);
    assert_int_equal(ev, POLLOUT);
    send_to(l.s, rx, 7000, "self");
    ust_stack_poll(l.s, ust_clock_now());
    take_all(l.s, rx, &ev);
    assert_int_equal(ev, POLLIN | POLLOUT);
    struct ust_ready r;
    assert_int_equal(ust_ready(l.s, &r, -1), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(ust_ready(l.s, NULL, 1), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(ust_close(l.s, rx), 0);
    lo_down(&l);
}

/* ust_poll over 300 sockets: it waits, then reports exactly the one that
 * received; with nothing arriving it times out (not early). */
#define NPOLL 300
struct poller {
    struct ust_stack *s;
    struct pollfd *fds;
    int ret;
};

static void *poll_thread(void *arg)
{
    struct poller *p = arg;
    p->ret = ust_poll(p->s, p->fds, NPOLL, 60000);
    return NULL;
}

static void poll_many_reports_the_one(void **state)
{
    (void)state;
    struct lo_stack l;
    lo_up(&l, true);
    static struct pollfd fds[NPOLL];
    for (int i = 0; i < NPOLL; i++)
        fds[i] = (struct pollfd){.fd = udp_bound(l.s, (uint16_t)(9000 + i)), .events = POLLIN};
    ust_time_t t0 = ust_clock_now();
    assert_int_equal(ust_poll(l.s, fds, NPOLL, 200), 0);
    assert_true(ust_clock_now() - t0 >= 200 * UST_MS);

    struct poller p = {.s = l.s, .fds = fds, .ret = -2};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, poll_thread, &p), 0);
    send_to(l.s, fds[0].fd, 9000 + 137, "ping");
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(p.ret, 1);
    for (int i = 0; i < NPOLL; i++)
        assert_int_equal(fds[i].revents, i == 137 ? POLLIN : 0);
    for (int i = 0; i < NPOLL; i++)
        assert_int_equal(ust_close(l.s, fds[i].fd), 0);
    lo_down(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(event_fd_follows_the_ready_list),
        cmocka_unit_test(tcp_accept_and_data_are_reported),
        cmocka_unit_test(embedded_has_a_list_but_no_fd),
        cmocka_unit_test(poll_many_reports_the_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
