/* The loop a TCP service of the runner runs (echo, discard, chargen, HTTP):
 * one thread, the listener and every connection over ust_poll.
 *
 * What it does for the service:
 *  - a table of connections that grows with demand (and shrinks after it),
 *    up to the service's own limit, and a limit per client address;
 *  - connections over a limit are refused at once: the service may say why
 *    (HTTP answers 503) and the connection lingers briefly, else a RST;
 *  - deadlines: each connection has one (0: none), and ust_poll waits until
 *    the nearest, so timeouts cost no periodic wakeups;
 *  - closing gracefully: FIN, then reading until the peer closes, bounded in
 *    time and number ("lingering"), so a last response is not destroyed by
 *    a RST answering bytes we did not read;
 *  - counters (services.h) and log lines: each decision at debug, limits
 *    reached at info, at most one line per kind every SVCLOOP_LOG_WINDOW.
 *
 * The service supplies what a connection is (a struct that begins with
 * struct svcloop_conn) and what to do with it (struct svcloop_ops). */
#ifndef USTACK_SVCLOOP_H
#define USTACK_SVCLOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ustack/socket.h"

struct service;
struct svcloop;

#define SVCLOOP_SEC 1000000ull /* ust_time_t is in microseconds */
#define SVCLOOP_LOG_WINDOW (10 * SVCLOOP_SEC)

/* What to do with a connection after an event. */
enum svcloop_verdict {
    SVL_KEEP,   /* keep it */
    SVL_CLOSE,  /* close it: FIN (a RST if bytes were left unread) */
    SVL_RESET,  /* abort it with a RST (SO_LINGER 0): nothing more to deliver */
    SVL_LINGER, /* FIN after what is queued, then read until the peer closes */
};

/* The part of every connection the loop owns. */
struct svcloop_conn {
    struct svcloop *loop;
    size_t idx; /* in the loop's table */
    int fd;
    struct in6_addr peer; /* an IPv4 peer as ::ffff:a.b.c.d */
    uint16_t peer_port;
    ust_time_t deadline; /* ops->expire runs once it has passed; 0: none */
};

struct svcloop_ops {
    size_t conn_size; /* the service's connection struct */
    /* A connection was admitted (fd and peer filled in): set it up. */
    enum svcloop_verdict (*open)(struct svcloop *l, struct svcloop_conn *c, ust_time_t now);
    /* What to wait for on it (POLLIN, POLLOUT). */
    short (*events)(const struct svcloop *l, const struct svcloop_conn *c);
    /* It is ready (revents as ust_poll gave them). */
    enum svcloop_verdict (*serve)(struct svcloop *l, struct svcloop_conn *c, short revents,
                                  ust_time_t now);
    /* Its deadline has passed (it may set a new one and stay). */
    enum svcloop_verdict (*expire)(struct svcloop *l, struct svcloop_conn *c, ust_time_t now);
    /* Frees what the connection holds, not the connection or its fd. */
    void (*release)(struct svcloop *l, struct svcloop_conn *c);
    /* Optional: writes a refusal on a connection over a limit (then it
     * lingers); without it, a refused connection gets a RST. */
    void (*refuse)(struct svcloop *l, int fd, ust_time_t now);
};

/* Runs the service on its own thread until its listener is closed
 * (service_stop). ctx is the service's own, for its ops (svcloop_ctx). */
void svcloop_run(struct service *svc, const struct svcloop_ops *ops, void *ctx);

/* The same loop run to completion on the stack thread (ust_on_ready): the
 * listener, every connection and every lingering close has a handler, and
 * one timer stands at the nearest deadline. Returns the loop, or NULL after
 * logging. Ends with svcloop_stop (which waits for the stack thread to
 * close everything), not by closing the listener. */
struct svcloop *svcloop_start(struct service *svc, const struct svcloop_ops *ops, void *ctx);
void svcloop_stop(struct svcloop *l);

void *svcloop_ctx(const struct svcloop *l);
struct service *svcloop_service(const struct svcloop *l);
/* A scratch buffer of SVCLOOP_SCRATCH bytes for the duration of one call. */
#define SVCLOOP_SCRATCH 16384
uint8_t *svcloop_scratch(struct svcloop *l);
/* The peer as text, for log lines (a buffer the loop owns: use at once). */
const char *svcloop_peer(struct svcloop *l, const struct svcloop_conn *c);

/* ust_poll's timeout (ms, rounded up: never wake just before a deadline) to
 * wait until next; -1 when next is 0 (no deadline). At most a minute. */
int svcloop_timeout_ms(ust_time_t next, ust_time_t now);

/* ---- pieces, exposed for their unit tests ---- */

/* How many connections each client address has: a hash table that grows
 * with the number of addresses (open addressing, linear probing). The key
 * is what addr_count_key makes of the peer. */
struct addr_count {
    struct addr_slot {
        struct in6_addr addr;
        uint32_t n; /* 0: the slot is free */
    } * slot;
    size_t cap, used; /* cap is 0 or a power of two */
};
/* The key a peer is counted under: an IPv4 address as it is, an IPv6 one
 * by its /64. A host on an IPv6 link is given a /64 and picks the low 64
 * bits at will (RFC 4941, RFC 7217): counted per address, one host could
 * take 2^64 times the limit. */
struct in6_addr addr_count_key(const struct in6_addr *peer);
/* Adds one for addr: the new count, or 0 if out of memory. */
uint32_t addr_count_inc(struct addr_count *t, const struct in6_addr *addr);
/* Takes one off (the address is forgotten at 0). */
void addr_count_dec(struct addr_count *t, const struct in6_addr *addr);
uint32_t addr_count_get(const struct addr_count *t, const struct in6_addr *addr);
void addr_count_free(struct addr_count *t);

/* Log lines at a rate that cannot flood the log: the first event is logged
 * at once; the others within the window are counted, and said in one
 * summary line when it ends. */
struct ratelog {
    ust_time_t window_end; /* 0: no window open, the next event is logged */
    uint64_t held;         /* events counted, not logged, in this window */
};
/* An event: true if it is to be logged now. */
bool ratelog_event(struct ratelog *r, ust_time_t now, ust_time_t window);
/* At or after window_end: the events held (to say in a summary; 0: none,
 * and the window closes). */
uint64_t ratelog_flush(struct ratelog *r, ust_time_t now, ust_time_t window);

#endif
