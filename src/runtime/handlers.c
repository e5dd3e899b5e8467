/* Run-to-completion: the program's handlers and timers on the stack thread
 * (ust_on_ready, ust_timer_*; include/ustack/runtime.h).
 *
 * Handlers hang off the runtime by socket slot. The core notifies a socket
 * whose readiness may have changed (sock_notify: the wake list); when the
 * runtime drains that list (rt_wake_waiters) it queues the socket's
 * handler, once, on a FIFO run queue. After each batch the stack thread
 * runs the queue: for each socket still open and ready for what its
 * handler asked, the handler, with the lock held. Calls the handlers make
 * notify sockets in turn (a send on a socket whose peer is on the
 * loopback, a close), so the thread drains the wake list again and runs
 * what that queued, for a few rounds. The core itself never calls a
 * handler: they run between batches, so principle 4 holds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime_priv.h"
#include "transport/socket.h"
#include "ustack/runtime.h"
#include "ustack/socket.h"

void rt_queue(struct ust_runtime *rt, unsigned slot)
{
    struct rt_handler *h = &rt->h[slot];
    if (h->queued)
        return;
    h->queued = true;
    h->next = RT_NONE;
    if (rt->qtail == RT_NONE)
        rt->qhead = slot;
    else
        rt->h[rt->qtail].next = slot;
    rt->qtail = slot;
}

/* The runtime of s when it has one, else NULL with errno EINVAL. */
static struct ust_runtime *runtime_of(struct ust_stack *s)
{
    struct ust_runtime *rt = s ? s->runtime : NULL;
    if (!rt)
        errno = EINVAL;
    return rt;
}

/* Takes the lock unless this is the stack thread (which holds it). */
static bool lock(struct ust_runtime *rt)
{
    if (rt_on_stack_thread(rt))
        return false;
    pthread_mutex_lock(&rt->mu);
    return true;
}

/* What lock() took, released as rt_leave does (waking what the call made
 * due: a handler queued from another thread kicks the stack thread). */
static void unlock(struct ust_runtime *rt, bool locked)
{
    if (locked)
        rt_leave(rt->s, rt);
}

static int grow(struct ust_runtime *rt, unsigned slot)
{
    if (slot < rt->hcap)
        return 0;
    unsigned cap = rt->hcap ? rt->hcap : 64;
    while (cap <= slot)
        cap *= 2;
    struct rt_handler *h = realloc(rt->h, cap * sizeof(*h));
    if (!h)
        return -ENOMEM;
    memset(h + rt->hcap, 0, (cap - rt->hcap) * sizeof(*h));
    rt->h = h;
    rt->hcap = cap;
    return 0;
}

int ust_on_ready(struct ust_stack *s, int fd, short events, ust_ready_fn fn, void *arg)
{
    struct ust_runtime *rt = runtime_of(s);
    if (!rt)
        return -1;
    if (events & ~(POLLIN | POLLOUT)) {
        errno = EINVAL;
        return -1;
    }
    bool locked = lock(rt);
    struct sock *sk = sock_get(s, fd);
    unsigned slot = rt_slot_of(fd);
    int r = 0;
    if (!sk) {
        r = -EBADF;
    } else if (!fn) {
        if (slot < rt->hcap && rt->h[slot].fd == fd)
            rt->h[slot].fd = 0; /* a queued entry is skipped, then dropped */
        else
            r = -ENOENT;
    } else if ((r = grow(rt, slot)) == 0) {
        struct rt_handler *h = &rt->h[slot];
        h->fd = fd;
        h->events = events;
        h->fn = fn;
        h->arg = arg;
        /* Set or set again: if the socket is ready now, fn runs after this
         * round, as an edge (epoll_ctl's EPOLL_CTL_MOD does the same). */
        if (sock_events(sk) & (events | POLLERR | POLLHUP)) {
            rt_queue(rt, slot);
            if (locked)
                ust_runtime_kick(rt); /* from another thread: the stack thread runs it */
        }
    }
    unlock(rt, locked);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return 0;
}

int ust_in_handler(struct ust_stack *s)
{
    return s && s->runtime && rt_on_stack_thread(s->runtime);
}

/* ---- timers ---- */

int ust_timer_add(struct ust_stack *s, ust_timer_fn fn, void *arg)
{
    struct ust_runtime *rt = runtime_of(s);
    if (!rt)
        return -1;
    if (!fn) {
        errno = EINVAL;
        return -1;
    }
    bool locked = lock(rt);
    int r = -ENOSPC;
    unsigned i = 0;
    while (i < rt->ntimers && rt->timers[i].fn)
        i++;
    if (i == rt->ntimers && rt->ntimers < RT_MAX_TIMERS) {
        unsigned cap = rt->ntimers ? rt->ntimers * 2 : 8;
        struct rt_timer *t = realloc(rt->timers, cap * sizeof(*t));
        if (t) {
            memset(t + rt->ntimers, 0, (cap - rt->ntimers) * sizeof(*t));
            rt->timers = t;
            rt->ntimers = cap;
        } else {
            r = -ENOMEM;
        }
    }
    if (i < rt->ntimers) {
        rt->timers[i] = (struct rt_timer){.when = 0, .fn = fn, .arg = arg};
        r = (int)i + 1;
    }
    unlock(rt, locked);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return r;
}

static struct rt_timer *timer_get(struct ust_runtime *rt, int id)
{
    if (id <= 0 || (unsigned)id > rt->ntimers || !rt->timers[id - 1].fn)
        return NULL;
    return &rt->timers[id - 1];
}

int ust_timer_arm(struct ust_stack *s, int timer, ust_time_t when)
{
    struct ust_runtime *rt = runtime_of(s);
    if (!rt)
        return -1;
    bool locked = lock(rt);
    struct rt_timer *t = timer_get(rt, timer);
    if (t) {
        t->when = when;
        /* Sooner than the stack thread sleeps towards: it must recompute. */
        if (locked && when && when < rt->armed)
            ust_runtime_kick(rt);
    }
    unlock(rt, locked);
    if (!t) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

int ust_timer_del(struct ust_stack *s, int timer)
{
    struct ust_runtime *rt = runtime_of(s);
    if (!rt)
        return -1;
    bool locked = lock(rt);
    struct rt_timer *t = timer_get(rt, timer);
    if (t)
        *t = (struct rt_timer){0};
    unlock(rt, locked);
    if (!t) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

ust_time_t rt_timers_next(const struct ust_runtime *rt)
{
    ust_time_t next = UST_TIME_NEVER;
    for (unsigned i = 0; i < rt->ntimers; i++) {
        const struct rt_timer *t = &rt->timers[i];
        if (t->fn && t->when && t->when < next)
            next = t->when;
    }
    return next;
}

/* Runs the timers due at now, each once (one-shot: disarmed first, so fn
 * may arm it again, for later). */
static void run_timers(struct ust_runtime *rt, ust_time_t now)
{
    for (unsigned i = 0; i < rt->ntimers; i++) {
        struct rt_timer *t = &rt->timers[i];
        if (!t->fn || !t->when || t->when > now)
            continue;
        t->when = 0;
        ust_timer_fn fn = t->fn;
        fn(rt->s, (int)i + 1, t->arg); /* may add timers: rt->timers may move */
    }
}

/* Runs the handlers queued now; those queued while they run wait for the
 * next round. */
static void run_queue(struct ust_runtime *rt)
{
    unsigned slot = rt->qhead;
    rt->qhead = rt->qtail = RT_NONE;
    while (slot != RT_NONE) {
        struct rt_handler *h = &rt->h[slot];
        unsigned next = h->next;
        h->queued = false;
        struct sock *sk = h->fd ? sock_get(rt->s, h->fd) : NULL;
        if (!sk) {
            h->fd = 0; /* closed (or removed): the handler goes with it */
        } else {
            short rev = (short)(sock_events(sk) & (h->events | POLLERR | POLLHUP));
            if (rev) {
                ust_ready_fn fn = h->fn;
                fn(rt->s, h->fd, rev, h->arg); /* may grow rt->h */
            }
        }
        slot = next;
    }
}

bool rt_run_handlers(struct ust_runtime *rt)
{
    for (int round = 0; round < RT_HANDLER_ROUNDS; round++) {
        rt_wake_waiters(rt); /* queues the handlers of the sockets that changed */
        if (rt->ntimers)
            run_timers(rt, ust_clock_now());
        if (rt->qhead == RT_NONE)
            return false;
        run_queue(rt);
    }
    rt_wake_waiters(rt);
    return rt->qhead != RT_NONE;
}
