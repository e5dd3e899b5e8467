/* The runtime: the stack thread and the lock that serialises the core. */
#ifndef USTACK_RUNTIME_PRIV_H
#define USTACK_RUNTIME_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include "core/stack_priv.h"
#include "net/netif.h"
#include "ustack/device.h"
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

struct ust_runtime {
    struct ust_stack *s;
    pthread_t thread;
    pthread_mutex_t mu; /* held by whoever is inside the core */
    int efd;            /* eventfd: wakes the stack thread */
    int epfd;
    bool stop;
    ust_time_t armed;                        /* the deadline the stack thread is sleeping towards */
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
    int rxerr[UST_MAX_DEVICES];     /* what each device's last receive returned, if < 0 */
    struct ust_pkt_meta rxmeta[64]; /* each frame's offload metadata (zero: none) */
};

#define RT_RX_BATCH 64

/* Enter/leave the core from an application thread. enter() takes the lock
 * (when there is a runtime) and brings the stack's clock up to date; leave()
 * wakes waiters and the stack thread if the call made that necessary. */
struct ust_runtime *rt_enter(struct ust_stack *s);
void rt_leave(struct ust_stack *s, struct ust_runtime *rt);
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

#endif
