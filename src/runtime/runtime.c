/* The stack thread: an event loop around the sans-I/O core.
 *
 * It sleeps in epoll_wait on every device fd and an eventfd, with a timeout
 * taken from ust_stack_next_deadline() and the program's timers; no fixed
 * ticks. After each batch it runs the program's handlers (handlers.c);
 * with busy polling on, it polls the devices for a while before sleeping. */
#include "runtime/runtime_priv.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "net/netif.h"
#include "transport/socket.h"
#include "ustack/runtime.h"

unsigned rt_slot_of(int fd) { return (unsigned)fd & (SOCK_MAX_SOCKETS - 1); }

bool rt_on_stack_thread(const struct ust_runtime *rt)
{
    return pthread_getspecific(rt->self) == rt;
}

static void hit(struct rt_wentry *e)
{
    if (e->hit)
        return;
    e->hit = true;
    e->hit_next = e->w->hits;
    e->w->hits = e;
    if (!e->w->woken) {
        e->w->woken = true;
        pthread_cond_signal(&e->w->cv);
    }
}

/* Is the calling thread the application thread driving the devices? Lock
 * held. */
static bool rt_is_driver(struct ust_runtime *rt)
{
    return rt->app_driving && pthread_equal(rt->driver, pthread_self());
}

/* Wakes the threads waiting for the sockets the core has notified since
 * the last call, and raises the program's event fd if it watches. Lock
 * held. The cost is one bucket walk per notified socket, whatever the
 * number of waiters. */
void rt_wake_waiters(struct ust_runtime *rt)
{
    struct sock *sk;
    bool queued = rt->qhead != RT_NONE;
    while ((sk = sock_next_woken(rt->s)) != NULL) {
        for (struct rt_wentry *e = rt->wait[sk->slot & (RT_WAIT_BUCKETS - 1)]; e; e = e->next) {
            if (e->slot == sk->slot)
                hit(e);
        }
        if (sk->slot < rt->hcap && rt->h[sk->slot].fd)
            rt_queue(rt, sk->slot);
    }
    /* A call from another thread made a handler due: the stack thread
     * runs it. */
    if (!queued && rt->qhead != RT_NONE && !rt_on_stack_thread(rt))
        ust_runtime_kick(rt);
    if (rt->ufd >= 0 && !rt->ufd_set && sock_any_ready(rt->s)) {
        /* A thread driving the devices passes the news on itself, if the
         * program's hook can take it, rather than through the program's
         * thread that waits on ufd. */
        bool driver = rt->ready_hook && rt_is_driver(rt);
        /* The stack thread too, if the hook can leave its wake-ups until
         * the lock is released: through the program's thread that waits on
         * ufd (the preload library's dispatcher), each piece of news cost
         * that thread's wake-up as well. */
        bool stack = rt->ready_hook && rt->ready_flush && rt_on_stack_thread(rt);
        if (driver || stack) {
            /* The hook's calls into the stack are nested, as a handler's
             * on the stack thread: the lock is held already. */
            if (driver)
                pthread_setspecific(rt->self, rt);
            bool took = rt->ready_hook(rt->s, rt->ready_arg);
            if (driver)
                pthread_setspecific(rt->self, NULL);
            rt->flush_due |= took && rt->ready_flush;
            if (took && !sock_any_ready(rt->s))
                return;
        }
        uint64_t one = 1;
        ssize_t n = write(rt->ufd, &one, sizeof(one));
        (void)n; /* cannot fail: the counter was 0 */
        rt->ufd_set = true;
    }
}

/* Wakes every waiter (the runtime stops). */
static void wake_all(struct ust_runtime *rt)
{
    for (unsigned b = 0; b < RT_WAIT_BUCKETS; b++) {
        for (struct rt_wentry *e = rt->wait[b]; e; e = e->next)
            hit(e);
    }
}

void ust_runtime_kick(struct ust_runtime *rt)
{
    uint64_t one = 1;
    ssize_t n = write(rt->efd, &one, sizeof(one));
    (void)n; /* a full counter already means "wake up" */
}

struct ust_runtime *rt_enter(struct ust_stack *s)
{
    struct ust_runtime *rt = s->runtime;
    if (!rt)
        return NULL;
    /* A handler on the stack thread: the lock is held already, and the
     * call must not wait (it would wait for this very thread). As
     * embedded: no lock, no blocking. */
    bool nested = rt_on_stack_thread(rt);
    if (!nested)
        pthread_mutex_lock(&rt->mu);
    ust_time_t now = ust_clock_now();
    if (now > s->now)
        s->now = now;
    return nested ? NULL : rt;
}

void rt_leave(struct ust_stack *s, struct ust_runtime *rt)
{
    netif_flush(s); /* what the call sent, from drivers that batch */
    if (!rt)
        return;
    rt_wake_waiters(rt);
    /* The call may have created work sooner than the stack thread expects
     * (an ARP retry, a frame on the loopback): wake it to recompute. */
    if (ust_stack_next_deadline(s) < rt->armed)
        ust_runtime_kick(rt);
    rt_unlock(rt);
}

void rt_unlock(struct ust_runtime *rt)
{
    bool due = rt->flush_due;
    ust_ready_flush_fn flush = rt->ready_flush;
    void *arg = rt->ready_arg;
    rt->flush_due = false;
    pthread_mutex_unlock(&rt->mu);
    if (due && flush) /* (set together: ready_flush is never NULL when due) */
        flush(arg);
}

struct rt_wentry *rt_wait_on(struct ust_runtime *rt, struct rt_wentry *e, unsigned n,
                             ust_time_t deadline)
{
    /* Before this thread sleeps, what rt_leave would do: sockets its
     * call changed (a close) wake their waiters, and work it created
     * sooner than the stack thread expects (a SYN on the loopback, an ARP
     * request) wakes the stack thread, or a blocking connect() over the
     * loopback waits for a stack thread that sleeps without a deadline. */
    rt_wake_waiters(rt);
    if (ust_stack_next_deadline(rt->s) < rt->armed)
        ust_runtime_kick(rt);
    if (rt->stop)
        return NULL;
    struct rt_waiter w = {.woken = false, .hits = NULL};
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w.cv, &ca);
    pthread_condattr_destroy(&ca);
    for (unsigned i = 0; i < n; i++) {
        struct rt_wentry **b = &rt->wait[e[i].slot & (RT_WAIT_BUCKETS - 1)];
        e[i].w = &w;
        e[i].hit = false;
        e[i].next = *b;
        *b = &e[i];
    }
    if (rt->flush_due) {
        /* The hook's wake-ups, before this thread sleeps; a change
         * meanwhile hits the entries above. */
        rt_unlock(rt);
        pthread_mutex_lock(&rt->mu);
    }
    struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000u),
                          .tv_nsec = (long)(deadline % 1000000u) * 1000};
    int r = 0;
    while (!w.woken && r != ETIMEDOUT) {
        if (deadline == 0)
            pthread_cond_wait(&w.cv, &rt->mu);
        else
            r = pthread_cond_timedwait(&w.cv, &rt->mu, &ts);
    }
    for (unsigned i = 0; i < n; i++) {
        struct rt_wentry **pp = &rt->wait[e[i].slot & (RT_WAIT_BUCKETS - 1)];
        while (*pp != &e[i])
            pp = &(*pp)->next;
        *pp = e[i].next;
        e[i].w = NULL; /* w ends with this call */
    }
    pthread_cond_destroy(&w.cv);
    return rt->stop ? NULL : w.hits;
}

bool rt_wait(struct ust_runtime *rt, int fd, ust_time_t deadline)
{
    struct rt_wentry e = {.slot = rt_slot_of(fd)};
    return rt_wait_on(rt, &e, 1, deadline) != NULL;
}

/* In a handler both do nothing: the stack thread holds the lock. */
void ust_runtime_lock(struct ust_runtime *rt) { (void)rt_enter(rt->s); }
void ust_runtime_unlock(struct ust_runtime *rt)
{
    rt_leave(rt->s, rt_on_stack_thread(rt) ? NULL : rt);
}

int ust_runtime_set_busy_poll(struct ust_runtime *rt, unsigned usec)
{
    if (!rt || usec > RT_MAX_BUSY_POLL)
        return -EINVAL;
    ust_runtime_lock(rt);
    rt->busy_poll = usec;
    ust_runtime_unlock(rt);
    ust_runtime_kick(rt); /* a sleeping stack thread starts polling */
    return 0;
}

/* Reads a batch of frames from the fd devices without holding the lock: the
 * read() system calls are most of the receive path's cost, and application
 * threads should not wait behind them. Drivers with an fd tolerate receive
 * and transmit from different threads at once. */
static int read_batch(struct ust_runtime *rt, bool *rxready)
{
    struct ust_stack *s = rt->s;
    int n = 0;
    ust_time_t now = ust_clock_now();
    for (int i = 0; i < s->ifs->n && n < RT_RX_BATCH; i++) {
        if (!s->ifs->at[i].external_rx || !rxready[i])
            continue;
        struct ust_device *d = s->ifs->at[i].dev;
        rt->rxerr[i] = 0;
        while (n < RT_RX_BATCH) {
            uint8_t *slot = rt->rxbuf + (size_t)n * rt->rxslot;
            struct ust_pkt_meta *m = &rt->rxmeta[n];
            memset(m, 0, sizeof(*m));
            int len = d->ops->receive_meta ? d->ops->receive_meta(d, slot, rt->rxslot, m, now)
                                           : d->ops->receive(d, slot, rt->rxslot, now);
            if (len <= 0) {
                rt->rxerr[i] = len;
                rxready[i] = false; /* dry: epoll says when there is more */
                break;
            }
            rt->rxlen[n] = (size_t)len;
            rt->rxdev[n] = i;
            n++;
        }
    }
    return n;
}

/* Sleeps until a device or the eventfd is readable, or timeout (ms, -1:
 * none). With busy polling, first polls them without sleeping for up to
 * rt->busy_poll us (or until the timeout), so a frame arriving then is
 * taken at once rather than after a thread's wake-up. Lock not held. */
static void wait_for_work(struct ust_runtime *rt, unsigned busy_poll, int timeout)
{
    struct epoll_event evs[16];
    int ne = 0;
    if (busy_poll && timeout != 0) {
        ust_time_t start = ust_clock_now(), end = start + busy_poll, t = start;
        if (timeout > 0 && start + (ust_time_t)timeout * 1000u < end)
            end = start + (ust_time_t)timeout * 1000u;
        /* A yield on every turn cost a ping 3 us more (14 us against 11
         * on the 2-CPU VM): one turn in 64 lets another thread that wants
         * this CPU have it, the scheduler does the rest. */
        for (unsigned turn = 1;
             (ne = epoll_wait(rt->epfd, evs, 16, 0)) == 0 && (t = ust_clock_now()) < end; turn++) {
            if (turn % 64 == 0)
                sched_yield();
        }
        if (ne == 0 && timeout > 0) {
            ust_time_t spent = (t - start) / 1000u;
            timeout = spent >= (ust_time_t)timeout ? 0 : timeout - (int)spent;
        }
    }
    if (ne == 0)
        ne = epoll_wait(rt->epfd, evs, 16, timeout);
    if (ne <= 0) {
        /* A deadline, not a device: a device may have one too (memlink
         * holds frames back until their time), so each is read. */
        for (int i = 0; i < UST_MAX_DEVICES; i++)
            rt->rxready[i] = true;
    }
    for (int i = 0; i < ne; i++) {
        if (evs[i].data.u32 == 0) { /* the eventfd: a kick */
            uint64_t v;
            ssize_t r = read(rt->efd, &v, sizeof(v));
            (void)r;
        } else if (evs[i].data.u32 <= UST_MAX_DEVICES) {
            rt->rxready[evs[i].data.u32 - 1] = true; /* device index + 1 */
        }
    }
}

/* Are the devices the stack thread's to read and wait for? They come back
 * to it RT_DRIVE_LINGER us after an application thread stopped driving
 * them, if none began again (a program that waits, reads and waits again
 * keeps them). Lock held. */
static bool devices_mine(struct ust_runtime *rt, ust_time_t now)
{
    if (rt->app_owns && !rt->app_driving && now - rt->drive_end_at >= RT_DRIVE_LINGER) {
        rt->app_owns = false;
        for (int i = 0; i < UST_MAX_DEVICES; i++)
            rt->rxready[i] = true; /* whatever came meanwhile */
        debugf(rt->s, "the stack thread reads the devices again");
    }
    return !rt->app_owns;
}

/* Errors from the last read_batch, and frames after an error, change the
 * devices' state. Lock held. */
static void batch_status(struct ust_runtime *rt, int n)
{
    struct ust_stack *s = rt->s;
    for (int i = 0; i < s->ifs->n; i++) {
        if (rt->rxerr[i] < 0 || (s->ifs->at[i].dev_err && n > 0))
            netif_dev_status(s, i, rt->rxerr[i]);
        rt->rxerr[i] = 0;
    }
}

/* The n frames read_batch left in the rx buffers, through the core, then
 * its timers. Lock held. */
static void process_batch(struct ust_runtime *rt, int n, ust_time_t now)
{
    for (int i = 0; i < n; i++)
        ust_stack_input_meta(rt->s, rt->rxdev[i], rt->rxbuf + (size_t)i * rt->rxslot, rt->rxlen[i],
                             &rt->rxmeta[i], now);
    ust_stack_poll(rt->s, now);
}

/* The stack thread's wait while an application thread owns the devices:
 * its eventfd and its deadline, and a look every RT_DRIVE_LINGER unless
 * parked. */
static void wait_for_kick(struct ust_runtime *rt, int timeout, bool parked)
{
    int linger = (int)((RT_DRIVE_LINGER + 999u) / 1000u);
    if (!parked && (timeout < 0 || timeout > linger))
        timeout = linger;
    struct epoll_event ev;
    if (epoll_wait(rt->epfd_kick, &ev, 1, timeout) > 0) {
        uint64_t v;
        ssize_t r = read(rt->efd, &v, sizeof(v));
        (void)r;
    }
}

static void *stack_thread(void *arg)
{
    struct ust_runtime *rt = arg;
    struct ust_stack *s = rt->s;
    pthread_setspecific(rt->self, rt);               /* rt_on_stack_thread */
    pthread_setname_np(pthread_self(), "ust-stack"); /* for top -H, ps -L, perf */
    pthread_mutex_lock(&rt->mu);
    while (!rt->stop) {
        bool mine = devices_mine(rt, ust_clock_now());
        int n = 0;
        if (mine) {
            rt->reading = true; /* no application thread takes the devices meanwhile */
            rt_unlock(rt);
            n = read_batch(rt, rt->rxready);
            pthread_mutex_lock(&rt->mu);
            rt->reading = false;
            batch_status(rt, n);
        }
        process_batch(rt, n, ust_clock_now());
        /* The batch is done: the program's handlers and timers now
         * (they run with the lock held, never inside the core), then
         * the threads waiting for the sockets that changed. */
        bool more = rt_run_handlers(rt);
        rt_wake_waiters(rt);
        netif_flush(s); /* what the handlers sent, from drivers that batch */
        if (n == RT_RX_BATCH)
            continue; /* more may be waiting: read again before sleeping */
        ust_time_t next = ust_stack_next_deadline(s);
        ust_time_t tnext = rt_timers_next(rt);
        if (tnext < next)
            next = tnext;
        rt->armed = next;
        int timeout = -1;
        if (more) {
            timeout = 0; /* handlers still due: poll the devices, then run them */
        } else if (next != UST_TIME_NEVER) {
            ust_time_t t = ust_clock_now();
            ust_time_t ms = next > t ? (next - t + 999u) / 1000u : 0;
            timeout = ms > 3600000u ? 3600000 : (int)ms;
        }
        unsigned busy_poll = rt->busy_poll;
        mine = !rt->app_owns;
        rt->parked = !mine && rt->app_driving &&
                     ust_clock_now() - rt->drive_begin_at >= RT_DRIVE_PARK;
        bool parked = rt->parked;
        /* Not parked, it looks again within RT_DRIVE_LINGER anyway: a
         * call that sets a later deadline (a send's RTO) needs no kick. */
        if (!mine && !parked && rt->armed > ust_clock_now() + RT_DRIVE_LINGER)
            rt->armed = ust_clock_now() + RT_DRIVE_LINGER;
        rt_unlock(rt);
        if (mine)
            wait_for_work(rt, busy_poll, timeout);
        else
            wait_for_kick(rt, timeout, parked);
        pthread_mutex_lock(&rt->mu);
        rt->parked = false;
    }
    rt_unlock(rt);
    return NULL;
}

int ust_runtime_drive_begin(struct ust_runtime *rt, int *fds, int max)
{
    if (!rt || !fds || max <= 0)
        return -EINVAL;
    if (rt_on_stack_thread(rt))
        return 0;
    struct ust_stack *s = rt->s;
    int n = 0;
    pthread_mutex_lock(&rt->mu);
    if (!rt->stop && !rt->app_driving && !rt->reading) {
        for (int i = 0; i < s->ifs->n && n < max; i++) {
            struct ust_device *d = s->ifs->at[i].dev;
            if (!s->ifs->at[i].external_rx)
                continue;
            if (d->ops->next_rx_at) {
                /* It may hold frames until a time (memlink, faulty,
                 * pcap's wrapper) rather than make its fd readable:
                 * only the stack thread's deadlines catch those. */
                n = 0;
                break;
            }
            fds[n++] = d->ops->fd(d);
        }
        if (n > 0) {
            if (!rt->app_owns)
                debugf(s, "an application thread reads the devices while it waits");
            rt->app_owns = rt->app_driving = true;
            rt->driver = pthread_self();
            rt->drive_begin_at = ust_clock_now();
        }
    }
    rt_unlock(rt);
    return n;
}

bool ust_runtime_drive_step(struct ust_runtime *rt)
{
    if (!rt)
        return false;
    struct ust_stack *s = rt->s;
    pthread_mutex_lock(&rt->mu);
    bool driver = rt_is_driver(rt);
    rt_unlock(rt);
    if (!driver)
        return false;
    /* Only this thread reads the devices and the rx buffers now; which
     * devices are dry is its own business (rxready is the stack
     * thread's). */
    bool all[UST_MAX_DEVICES];
    for (int i = 0; i < UST_MAX_DEVICES; i++)
        all[i] = true;
    int n = read_batch(rt, all);
    pthread_mutex_lock(&rt->mu);
    batch_status(rt, n);
    ust_time_t now = ust_clock_now();
    if (now > s->now)
        s->now = now;
    process_batch(rt, n, now);
    /* A bulk transfer in stays on this thread too, as in the runner:
     * the TAP's copy, the stack and the program's copy in turn on one
     * thread cost less than two threads taking turns on one CPU, the
     * other being the sender's (iperf3 -s -P 4 under the preload
     * library on the 2-vCPU VM: 18.5 Gbit/s against 16.5 when a step of
     * more than 32 KiB gave the devices back to the stack thread). */
    rt_leave(s, rt); /* wakes the waiters, and the stack thread for a sooner deadline */
    return driver;
}

void ust_runtime_drive_end(struct ust_runtime *rt)
{
    if (!rt)
        return;
    pthread_mutex_lock(&rt->mu);
    bool kick = false;
    if (rt_is_driver(rt)) {
        rt->app_driving = false;
        rt->drive_end_at = ust_clock_now();
        kick = rt->parked; /* it sleeps until its deadline: it must look */
    }
    rt_unlock(rt);
    if (kick)
        ust_runtime_kick(rt);
}

int ust_runtime_set_ready_hook(struct ust_runtime *rt, ust_ready_hook_fn fn, void *arg)
{
    return ust_runtime_set_ready_hooks(rt, fn, NULL, arg);
}

int ust_runtime_set_ready_hooks(struct ust_runtime *rt, ust_ready_hook_fn fn,
                                ust_ready_flush_fn flush, void *arg)
{
    if (!rt || (flush && !fn))
        return -EINVAL;
    ust_runtime_lock(rt);
    rt->ready_hook = fn;
    rt->ready_flush = flush;
    rt->ready_arg = arg;
    ust_runtime_unlock(rt);
    return 0;
}

int ust_runtime_start(struct ust_stack *s, struct ust_runtime **out)
{
    if (!s || !out || s->runtime)
        return -EINVAL;
    struct ust_runtime *rt = calloc(1, sizeof(*rt));
    if (!rt)
        return -ENOMEM;
    rt->s = s;
    rt->armed = UST_TIME_NEVER;
    rt->ufd = -1;
    rt->qhead = rt->qtail = RT_NONE;
    if (pthread_key_create(&rt->self, NULL) != 0) {
        free(rt);
        return -EAGAIN;
    }
    rt->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    rt->epfd = epoll_create1(EPOLL_CLOEXEC);
    rt->epfd_kick = epoll_create1(EPOLL_CLOEXEC);
    int err = 0;
    if (rt->efd < 0 || rt->epfd < 0 || rt->epfd_kick < 0) {
        err = -errno;
        goto fail;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0}; /* 0: the eventfd */
    if (epoll_ctl(rt->epfd, EPOLL_CTL_ADD, rt->efd, &ev) < 0 ||
        epoll_ctl(rt->epfd_kick, EPOLL_CTL_ADD, rt->efd, &ev) < 0) {
        err = -errno;
        goto fail;
    }
    rt->rxslot = s->ifs->rxcap;
    rt->rxbuf = malloc(RT_RX_BATCH * rt->rxslot);
    if (!rt->rxbuf) {
        err = -ENOMEM;
        goto fail;
    }
    for (int i = 0; i < s->ifs->n; i++) {
        struct ust_device *d = s->ifs->at[i].dev;
        int fd = d->ops->fd ? d->ops->fd(d) : -1;
        if (fd < 0)
            continue;
        ev.events = EPOLLIN;
        ev.data.u64 = (uint64_t)i + 1; /* the device's index + 1 */
        rt->rxready[i] = true;         /* read once at start whatever waits */
        if (epoll_ctl(rt->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            err = -errno;
            goto fail;
        }
    }
    for (int i = 0; i < s->ifs->n; i++) {
        struct ust_device *d = s->ifs->at[i].dev;
        s->ifs->at[i].external_rx = d->ops->fd && d->ops->fd(d) >= 0 &&
                                    (d->ops->receive || d->ops->receive_meta);
    }
    pthread_mutex_init(&rt->mu, NULL);
    s->runtime = rt;
    if ((err = pthread_create(&rt->thread, NULL, stack_thread, rt)) != 0) {
        s->runtime = NULL;
        pthread_mutex_destroy(&rt->mu);
        err = -err;
        goto fail;
    }
    debugf(s, "runtime started");
    *out = rt;
    return 0;
fail:
    pthread_key_delete(rt->self);
    free(rt->rxbuf);
    if (rt->efd >= 0)
        close(rt->efd);
    if (rt->epfd >= 0)
        close(rt->epfd);
    if (rt->epfd_kick >= 0)
        close(rt->epfd_kick);
    free(rt);
    return err;
}

void ust_runtime_stop(struct ust_runtime *rt)
{
    if (!rt)
        return;
    pthread_mutex_lock(&rt->mu);
    rt->stop = true;
    wake_all(rt);
    rt_unlock(rt);
    ust_runtime_kick(rt);
    pthread_join(rt->thread, NULL);
    rt->s->runtime = NULL;
    for (int i = 0; i < rt->s->ifs->n; i++)
        rt->s->ifs->at[i].external_rx = false;
    free(rt->rxbuf);
    free(rt->h);
    free(rt->timers);
    pthread_key_delete(rt->self);
    pthread_mutex_destroy(&rt->mu);
    if (rt->ufd >= 0)
        close(rt->ufd);
    close(rt->efd);
    close(rt->epfd);
    close(rt->epfd_kick);
    free(rt);
}
