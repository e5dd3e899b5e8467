/* The runtime: the stack thread and the lock that serialises the core. */
#ifndef USTACK_RUNTIME_PRIV_H
#define USTACK_RUNTIME_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include "core/stack_priv.h"
#include "ustack/device.h"
#include "ustack/socket.h"

struct ust_runtime {
    struct ust_stack *s;
    pthread_t thread;
    pthread_mutex_t mu; /* held by whoever is inside the core */
    pthread_cond_t cv;  /* broadcast when a socket's readiness may have changed */
    int efd;            /* eventfd: wakes the stack thread */
    int epfd;
    bool stop;
    ust_time_t armed;     /* the deadline the stack thread is sleeping towards */
    uint64_t seen_events; /* s->sock_events when waiters were last woken */
    unsigned waiters;     /* threads in rt_wait */
    /* Frames read from fd devices outside the lock, then fed to the stack. */
    uint8_t *rxbuf; /* RT_RX_BATCH slots of rxslot bytes */
    size_t rxslot;
    size_t rxlen[64];
    int rxdev[64];
    struct ust_pkt_meta rxmeta[64]; /* each frame's offload metadata (zero: none) */
};

#define RT_RX_BATCH 64

/* Enter/leave the core from an application thread. enter() takes the lock
 * (when there is a runtime) and brings the stack's clock up to date; leave()
 * wakes waiters and the stack thread if the call made that necessary. */
struct ust_runtime *rt_enter(struct ust_stack *s);
void rt_leave(struct ust_stack *s, struct ust_runtime *rt);
/* Waits for a readiness change until the absolute monotonic deadline (0: no
 * limit). Returns false when the deadline passed. Lock held. */
bool rt_wait(struct ust_runtime *rt, ust_time_t deadline);

#endif
