/* The runner's services, written on the public socket API: echo (RFC 862),
 * discard (RFC 863) and chargen (RFC 864) over UDP and TCP, HTTP/1.1
 * (apps/http.c) and iperf3 (apps/iperf3.c) over TCP. */
#ifndef USTACK_SERVICES_H
#define USTACK_SERVICES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ustack/socket.h"

struct svcloop;
struct iperf3_server;

enum service_kind { SVC_ECHO, SVC_DISCARD, SVC_CHARGEN, SVC_HTTP, SVC_IPERF3 };

#define SVC_SEC 1000000ull /* ust_time_t is in microseconds */

/* How much a TCP service lets its clients hold, and for how long. A limit
 * or a timeout of 0 is none. */
struct svc_limits {
    unsigned max_conns;         /* connections at once */
    unsigned max_per_addr;      /* connections at once from one client address */
    ust_time_t idle_timeout;    /* nothing moved (HTTP: between requests; iperf3: in a test) */
    ust_time_t send_timeout;    /* the peer took nothing we sent */
    ust_time_t header_timeout;  /* HTTP: the request line and headers */
    ust_time_t request_timeout; /* HTTP: the whole request, body included;
                                   iperf3: each step of the control exchange */
};

/* The defaults, chosen as a careful production server would (the reasons
 * are in the runner's --help and in services.c). */
#define SVC_DEFAULT_MAX_CONNS 24000u
#define HTTP_DEFAULT_MAX_PER_ADDR 64u
#define HTTP_DEFAULT_HEADER_TIMEOUT (20 * SVC_SEC)
#define HTTP_DEFAULT_REQUEST_TIMEOUT (60 * SVC_SEC)
#define HTTP_DEFAULT_IDLE_TIMEOUT (15 * SVC_SEC)
#define SVC_DEFAULT_SEND_TIMEOUT (60 * SVC_SEC)
#define IPERF3_DEFAULT_STEP_TIMEOUT (10 * SVC_SEC)
#define IPERF3_DEFAULT_IDLE_TIMEOUT (60 * SVC_SEC)

static inline struct svc_limits svc_limits_default(enum service_kind kind)
{
    struct svc_limits l = {.max_conns = SVC_DEFAULT_MAX_CONNS};
    switch (kind) {
    case SVC_HTTP:
        l.max_per_addr = HTTP_DEFAULT_MAX_PER_ADDR;
        l.header_timeout = HTTP_DEFAULT_HEADER_TIMEOUT;
        l.request_timeout = HTTP_DEFAULT_REQUEST_TIMEOUT;
        l.idle_timeout = HTTP_DEFAULT_IDLE_TIMEOUT;
        l.send_timeout = SVC_DEFAULT_SEND_TIMEOUT;
        break;
    case SVC_ECHO:
    case SVC_CHARGEN: l.send_timeout = SVC_DEFAULT_SEND_TIMEOUT; break;
    case SVC_DISCARD: break; /* accepts data forever: no timeout at all */
    case SVC_IPERF3:
        l.max_conns = 0; /* one test at a time: iperf3.c bounds its own */
        l.request_timeout = IPERF3_DEFAULT_STEP_TIMEOUT;
        l.idle_timeout = IPERF3_DEFAULT_IDLE_TIMEOUT;
        break;
    }
    return l;
}

/* A service's counters, printed with the stack's (`http.accepted=12`). */
enum svc_counter {
    SVC_ACCEPTED,         /* connections admitted */
    SVC_REFUSED_LIMIT,    /* refused: the service had max_conns */
    SVC_REFUSED_PER_ADDR, /* refused: their address had max_per_addr */
    SVC_ACCEPT_FAILED,    /* ust_accept4 failed (the stack's sockets ran out) */
    SVC_TIMEOUT_IDLE,     /* closed by the idle timeout */
    SVC_TIMEOUT_HEADER,   /* closed by the header timeout */
    SVC_TIMEOUT_REQUEST,  /* closed by the request (iperf3: step) timeout */
    SVC_TIMEOUT_SEND,     /* closed by the send timeout */
    SVC_CONNS,            /* connections now */
    SVC_CONNS_PEAK,       /* the most at once */
    SVC_NCOUNTERS
};

struct service {
    const char *name;
    int type; /* SOCK_DGRAM or SOCK_STREAM */
    enum service_kind kind;
    uint16_t port;
    bool ipv4_only; /* an AF_INET socket; else AF_INET6 on ::, taking both families */
    struct ust_stack *s;
    int fd; /* the bound (and, for TCP, listening) socket */
    pthread_t thread;
    bool running;
    bool rtc;                     /* run on the stack thread (handlers), not a thread of its own */
    struct svcloop *loop;         /* rtc, TCP: the service's loop */
    struct iperf3_server *iperf3; /* rtc, iperf3: its server */
    uint8_t *udp_buf;             /* rtc, UDP: the datagram buffer */
    struct svc_limits lim;        /* TCP: set before service_start */
    _Atomic uint64_t count[SVC_NCOUNTERS]; /* written by the service's thread */
    const char *http_root;                 /* SVC_HTTP: the directory served; NULL: built-in page */
    char *http_root_real;                  /* SVC_HTTP: its realpath (set by http_init) */
};

/* Binds (to :: for both families, IPv4 peers as ::ffff:a.b.c.d, unless
 * ipv4_only), listens and starts the service: with rtc, as handlers on the
 * stack thread, else on a thread of its own. 0, or -1 after logging. */
int service_start(struct service *svc, struct ust_stack *s);
/* Closes the socket and ends the service (joins its thread, or waits for
 * the stack thread to close its connections). */
void service_stop(struct service *svc);

/* The counters, relaxed: each is exact, not a snapshot taken together. */
static inline void svc_count(struct service *svc, enum svc_counter c, int64_t delta)
{
    atomic_fetch_add_explicit(&svc->count[c], (uint64_t)delta, memory_order_relaxed);
}
/* Prints the non-zero counters as `name.counter=value` lines. */
void service_print_counters(struct service *svc, FILE *out);

#endif
