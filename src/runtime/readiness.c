/* Readiness: ust_poll() for threads that wait, and the ready list with its
 * event fd for programs that run their own event loop (ust_event_fd,
 * ust_ready).
 *
 * Both rest on the core's notifications (sock_notify): the core queues a
 * socket whose readiness may have changed, once, and the runtime wakes
 * only the threads waiting for that socket (runtime.c). A poll therefore
 * scans its sockets once, then after each wake looks only at the sockets
 * that were notified. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "runtime/runtime_priv.h"
#include "transport/socket.h"
#include "ustack/runtime.h"
#include "ustack/socket.h"

static short revents_of(struct ust_stack *s, const struct pollfd *p)
{
    struct sock *sk = sock_get(s, p->fd);
    if (!sk)
        return POLLNVAL;
    return (short)(sock_events(sk) & (p->events | POLLERR | POLLHUP));
}

static int poll_scan(struct ust_stack *s, struct pollfd *fds, nfds_t nfds)
{
    int n = 0;
    for (nfds_t i = 0; i < nfds; i++) {
        fds[i].revents = fds[i].fd < 0 ? 0 : revents_of(s, &fds[i]); /* < 0: ignored */
        if (fds[i].revents)
            n++;
    }
    return n;
}

/* Waits until a socket in fds is ready or the deadline passes: the first
 * scan found nothing, so every revents is 0 and only the sockets the
 * runtime reports as notified can have become ready. */
static int poll_wait(struct ust_stack *s, struct ust_runtime *rt, struct pollfd *fds, nfds_t nfds,
                     ust_time_t deadline)
{
    struct rt_wentry one[8];
    struct rt_wentry *e = nfds <= 8 ? one : calloc(nfds, sizeof(*e));
    if (!e)
        return -ENOMEM;
    unsigned k = 0;
    for (nfds_t i = 0; i < nfds; i++) {
        if (fds[i].fd >= 0)
            e[k++] = (struct rt_wentry){.slot = rt_slot_of(fds[i].fd), .idx = (unsigned)i};
    }
    int n = 0;
    while (n == 0) {
        struct rt_wentry *h = rt_wait_on(rt, e, k, deadline);
        if (!h)
            break;
        for (; h; h = h->hit_next) {
            struct pollfd *p = &fds[h->idx];
            if (!p->revents && (p->revents = revents_of(s, p)) != 0)
                n++;
        }
    }
    if (e != one)
        free(e);
    return n;
}

int ust_poll(struct ust_stack *s, struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
    if (!s || (nfds && !fds)) {
        errno = EFAULT;
        return -1;
    }
    struct ust_runtime *rt = rt_enter(s);
    ust_time_t deadline = timeout_ms > 0 ? ust_clock_now() + (ust_time_t)timeout_ms * 1000u : 0;
    int n = poll_scan(s, fds, nfds);
    if (n == 0 && timeout_ms != 0 && rt)
        n = poll_wait(s, rt, fds, nfds, deadline);
    rt_leave(s, rt);
    if (n < 0) {
        errno = -n;
        return -1;
    }
    return n;
}

/* Lowers the event fd once the ready list is empty. Lock held. */
static void ufd_settle(struct ust_stack *s, struct ust_runtime *rt)
{
    if (rt && rt->ufd >= 0 && rt->ufd_set && !sock_any_ready(s)) {
        uint64_t v;
        ssize_t r = read(rt->ufd, &v, sizeof(v));
        (void)r; /* the counter was non-zero: it reads */
        rt->ufd_set = false;
    }
}

int ust_event_fd(struct ust_stack *s)
{
    if (!s) {
        errno = EINVAL;
        return -1;
    }
    struct ust_runtime *rt = rt_enter(s);
    int r = -EINVAL; /* embedded: the program's own loop already drives the stack */
    if (rt) {
        if (rt->ufd < 0) {
            rt->ufd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
            if (rt->ufd < 0)
                r = -errno;
        }
        if (rt->ufd >= 0) {
            sock_watch(s);
            r = rt->ufd;
        }
    }
    rt_leave(s, rt); /* raises the fd if sockets are ready already */
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return r;
}

int ust_ready(struct ust_stack *s, struct ust_ready *out, int max)
{
    if (!s || max < 0 || (max && !out)) {
        errno = EINVAL;
        return -1;
    }
    struct ust_runtime *rt = rt_enter(s);
    sock_watch(s);
    int n = 0;
    struct sock *sk;
    while (n < max && (sk = sock_next_ready(s)) != NULL) {
        out[n].fd = sock_handle(sk);
        out[n].events = sock_events(sk);
        n++;
    }
    ufd_settle(s, rt);
    rt_leave(s, rt);
    return n;
}
