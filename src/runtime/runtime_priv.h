/* The runtime: the stack thread and the lock that serialises the core. */
#ifndef USTACK_RUNTIME_PRIV_H
#define USTACK_RUNTIME_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include "core/stack_priv.h"
#include "net/netif.h"
#include "ustack/device.h"
#include "ustack/runtime.h"
#include "ustack/socket.h"

/* A thread waiting for one or more sockets (rt_wait_on). Each socket it
 * waits for is an entry, hashed by the socket's slot in the runtime's wait
 * table; when the core notifies that socket, the runtime marks the entry
 * hit and signals the waiter's own condition variable, so a change to one
 * socket wakes only the threads waiting for it. */
struct rt_waiter;
struct rt_wentry {
    struct rt_wentry *next;     /* in the wait table's bucket */
    struct rt_wentry *hit_next; /* in the waiter's list of hits */
    struct rt_waiter *w;
    unsigned slot; /* the socket's slot (handle & SOCK_MAX_SOCKETS - 1) */
    unsigned idx;  /* the caller's index (ust_poll: into fds) */
    bool hit;
};

struct rt_waiter {
    pthread_cond_t cv;
    bool woken;
    struct rt_wentry *hits; /* entries whose socket was notified */
};

#define RT_WAIT_BUCKETS 1024 /* a power of two */

/* A socket's handler (ust_on_ready), kept by slot. */
struct rt_handler {
    int fd; /* the socket's handle; 0: no handler */
    short events;
    ust_ready_fn fn;
    void *arg;
    bool queued;   /* on the run queue */
    unsigned next; /* the next slot on the run queue (RT_NONE: the last) */
};

/* A timer (ust_timer_add): fn runs on the stack thread once when passes. */
struct rt_timer {
    ust_time_t when; /* 0: not armed */
    ust_timer_fn fn; /* NULL: the entry is free */
    void *arg;
};

#define RT_NONE UINT32_MAX
#define RT_MAX_TIMERS 4096
/* Handler rounds after one batch: handlers whose calls notified sockets
 * with handlers run again, up to this many times; then the stack thread
 * polls the devices before running the rest. */
#define RT_HANDLER_ROUNDS 8
#define RT_MAX_BUSY_POLL 1000000u /* us */
#define RT_DRIVE_LINGER 1000u     /* us; see app_owns */
#define RT_DRIVE_PARK 20000u      /* us; see parked */

struct ust_runtime {
    struct ust_stack *s;
    pthread_t thread;
    pthread_mutex_t mu; /* held by whoever is inside the core */
    int efd;            /* eventfd: wakes the stack thread */
    int epfd;
    bool stop;
    ust_time_t armed;   /* the deadline the stack thread is sleeping towards */
    pthread_key_t self; /* set to the runtime on its stack thread (rt_on_stack_thread) */
    unsigned busy_poll; /* us to poll the devices before sleeping (ust_runtime_set_busy_poll) */
    /* Driving from an application thread (ust_runtime_drive_begin). While
     * app_owns, the devices are an application thread's: it waits for
     * them with its own descriptors and reads them (drive_step, into the
     * same rx buffers: one reader at a time), and the stack thread waits
     * on epfd_kick (its eventfd alone) for its deadlines and kicks,
     * looking every RT_DRIVE_LINGER us whether the thread still drives.
     * When no thread has driven for that long, the stack thread takes the
     * devices back. */
    int epfd_kick;
    bool app_owns;
    bool app_driving; /* the owner is inside a wait now, as thread driver */
    pthread_t driver;
    ust_time_t drive_end_at; /* when the last wait ended */
    /* While one wait goes on for RT_DRIVE_PARK (an idle program), the
     * stack thread stops looking every RT_DRIVE_LINGER and sleeps until
     * its deadline (parked); the wait's end then kicks it. A busy
     * program's short waits never kick it. */
    ust_time_t drive_begin_at;
    bool parked;
    bool reading; /* the stack thread is in read_batch, lock released */
    /* Runs in place of raising ufd, on the driving thread, and on the
     * stack thread when there is a ready_flush (see
     * ust_runtime_set_ready_hooks); NULL: none. ready_flush, when set, finishes its work once the lock
     * is released (flush_due: the hook ran under this hold of the lock;
     * rt_unlock and rt_wait_on call it). */
    ust_ready_hook_fn ready_hook;
    ust_ready_flush_fn ready_flush;
    void *ready_arg;
    bool flush_due;
    /* Run-to-completion (ust_on_ready, ust_timer_*): handlers by slot, the
     * run queue of slots whose handler is due, and the timers. */
    struct rt_handler *h;
    unsigned hcap;
    unsigned qhead, qtail; /* RT_NONE: empty */
    struct rt_timer *timers;
    unsigned ntimers;                        /* entries in timers (used or free) */
    struct rt_wentry *wait[RT_WAIT_BUCKETS]; /* by slot */
    /* The program's event fd (ust_event_fd): an eventfd that is readable
     * while the core's ready list holds a socket; -1 until asked for. */
    int ufd;
    bool ufd_set; /* ufd's counter is non-zero */
    /* Frames read from fd devices outside the lock, then fed to the stack. */
    uint8_t *rxbuf; /* RT_RX_BATCH slots of rxslot bytes */
    size_t rxslot;
    size_t rxlen[64];
    int rxdev[64];
    int rxerr[UST_MAX_DEVICES]; /* what each device's last receive returned, if < 0 */
    /* The devices worth a read: epoll_wait said readable, or a deadline
     * came (a device may hold frames until then), or the last batch
     * filled up before they ran dry. A kick (an application thread's
     * eventfd write) reads nothing: before, every wake-up cost a read
     * per device that found nothing. */
    bool rxready[UST_MAX_DEVICES];
    struct ust_pkt_meta rxmeta[64]; /* each frame's offload metadata (zero: none) */
};

#define RT_RX_BATCH 64

/* Enter/leave the core from an application thread. enter() takes the lock
 * (when there is a runtime) and brings the stack's clock up to date; leave()
 * wakes waiters and the stack thread if the call made that necessary. */
struct ust_runtime *rt_enter(struct ust_stack *s);
void rt_leave(struct ust_stack *s, struct ust_runtime *rt);
/* Releases the lock, then lets a ready hook that ran under it finish
 * (ready_flush). Every release of the lock goes through it, except the
 * condition wait in rt_wait_on, which flushes before it sleeps. */
void rt_unlock(struct ust_runtime *rt);
/* Waits until one of the n sockets in e (slot and idx filled in) is
 * notified, or the absolute monotonic deadline (0: no limit) passes.
 * Returns the entries hit, linked by hit_next (NULL: the deadline passed or
 * the runtime stops). Lock held; it is released while waiting. */
struct rt_wentry *rt_wait_on(struct ust_runtime *rt, struct rt_wentry *e, unsigned n,
                             ust_time_t deadline);
/* Waits for a change to the socket with handle fd (as rt_wait_on).
 * Returns false when the deadline passed. */
bool rt_wait(struct ust_runtime *rt, int fd, ust_time_t deadline);
/* The slot in a socket handle. */
unsigned rt_slot_of(int fd);
/* Is the calling thread rt's stack thread (running handlers, lock held)? */
bool rt_on_stack_thread(const struct ust_runtime *rt);
/* Wakes the threads waiting for the sockets the core notified, queues
 * their handlers, raises the program's event fd. Lock held. */
void rt_wake_waiters(struct ust_runtime *rt);

/* ---- handlers.c: run-to-completion ---- */
/* Puts the handler of slot on the run queue (once). Lock held. */
void rt_queue(struct ust_runtime *rt, unsigned slot);
/* On the stack thread after a batch, lock held: runs the due timers and
 * the queued handlers, for up to RT_HANDLER_ROUNDS rounds. True if
 * handlers are still queued (the thread must not sleep). */
bool rt_run_handlers(struct ust_runtime *rt);
/* The earliest armed timer (UST_TIME_NEVER: none). Lock held. */
ust_time_t rt_timers_next(const struct ust_runtime *rt);

#endif
