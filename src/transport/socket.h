/* The socket table: handles with generations, options, readiness. The
 * protocol-specific parts live in udp.c and tcp_user.c. Everything here is
 * sans-I/O and non-blocking; blocking is the runtime's business. */
#ifndef USTACK_TRANSPORT_SOCKET_H
#define USTACK_TRANSPORT_SOCKET_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/ipaddr.h"
#include "core/stack_priv.h"
#include "net/ip.h"

#define SOCK_F_REUSEADDR 0x01
#define SOCK_F_BROADCAST 0x02
#define SOCK_F_NONBLOCK 0x04
#define SOCK_F_SHUT_RD 0x08 /* UDP: shutdown(SHUT_RD): recv ends (0) once the queue is empty */

struct dgram {
    struct dgram *next;
    struct ipaddr addr; /* sender */
    uint16_t port;
    uint32_t scope; /* its zone, for a link-local sender (struct ip_tx) */
    size_t len;
    uint8_t data[];
};

struct tcp_conn;

/* A socket's places in the two lists of sockets whose readiness may have
 * changed (sock_notify): one the runtime drains to wake the threads waiting
 * on that socket, one for a program's own event loop (ust_ready). Kept
 * across close and reopen of the slot, since the lists may still hold it. */
struct sock_link {
    struct sock *wake_next, *ready_next;
    bool on_wake, on_ready;
};

struct sock {
    bool used;
    unsigned slot;          /* its index in the table */
    unsigned free_next;     /* the next free slot, while this one is free */
    struct sock *port_next; /* the next socket bound in the same port bucket */
    int type;               /* SOCK_DGRAM or SOCK_STREAM */
    uint32_t gen;           /* bumped on close: stale handles fail with EBADF */
    unsigned flags;         /* SOCK_F_* */
    int family;             /* AF_INET or AF_INET6: what the API's addresses look like */
    bool v6only;            /* IPV6_V6ONLY: an AF_INET6 socket takes no IPv4 peers */
    struct ip_tx tx;        /* IPV6_UNICAST_HOPS, IPV6_TCLASS; the zone of a
                               link-local peer (connect) or address (bind) */
    /* Addresses of either family (core/ipaddr.h). An unbound laddr is the
     * family's "any": 0.0.0.0 (IPv4 only) or :: (IPv6, and IPv4 unless
     * v6only). */
    struct ipaddr laddr, raddr;
    uint16_t lport, rport;
    bool connected;
    bool laddr_auto; /* laddr was filled in by connect(), not bind() */
    int so_error;    /* pending asynchronous error (positive errno) */
    uint32_t rcvbuf, sndbuf;
    bool rcvbuf_set;               /* SO_RCVBUF was set: TCP does not auto-tune it */
    bool sndbuf_set;               /* the same for SO_SNDBUF */
    ust_time_t rcvtimeo, sndtimeo; /* 0: wait forever */
    struct dgram *rxq, *rxq_tail;
    size_t rx_bytes; /* charged against rcvbuf: payload + per-datagram overhead */
    unsigned rx_count;
    struct tcp_conn *tcp; /* SOCK_STREAM: the connection (or listener) */
    bool linger_on;
    int linger_s;
    struct sock_link link;
};

int sock_init(struct ust_stack *s);
void sock_fini(struct ust_stack *s);

/* Socket handles: positive ints, (generation << SOCK_SLOT_BITS) | slot. */
#define SOCK_SLOT_BITS 20 /* up to 2^20 sockets; 11 bits of generation */
#define SOCK_MAX_SOCKETS (1u << SOCK_SLOT_BITS)
/* family: AF_INET or AF_INET6; type: SOCK_DGRAM or SOCK_STREAM. */
int sock_open(struct ust_stack *s, int family, int type, bool nonblock);
struct sock *sock_get(struct ust_stack *s, int h);
/* The sockets of a type (SOCK_DGRAM, SOCK_STREAM) bound to a local port,
 * one after another: start with prev NULL, then pass the one returned. */
struct sock *sock_on_port(struct ust_stack *s, int type, uint16_t port, const struct sock *prev);
/* Sockets open now. */
unsigned sock_count(const struct ust_stack *s);
int sock_close(struct ust_stack *s, int h);
/* POLLIN/POLLOUT/POLLERR/POLLHUP as Linux would report them. */
short sock_events(const struct sock *sk);
/* Something about sk changed (NULL: no socket in particular): threads
 * blocked on it should look again. Queues sk, once, on the wake list and,
 * while a program watches (sock_watch), on the ready list. */
void sock_notify(struct ust_stack *s, struct sock *sk);
/* The next socket on the wake list, or NULL. It may have been closed since
 * (sk->used false, or reopened): its waiters look again and see. */
struct sock *sock_next_woken(struct ust_stack *s);
/* Starts keeping the ready list (idempotent); every open socket is queued
 * once, so a watcher that starts late misses nothing. */
void sock_watch(struct ust_stack *s);
/* The next open socket on the ready list, or NULL. */
struct sock *sock_next_ready(struct ust_stack *s);
/* Whether the ready list holds a socket (perhaps one closed since). */
bool sock_any_ready(const struct ust_stack *s);
/* The socket's handle, as ust_socket() returned it. */
int sock_handle(const struct sock *sk);

/* Binds sk to addr:port (port 0: an ephemeral one, RFC 6056), checking
 * sockets of the same type (and, for TCP, connections whose socket is
 * gone, e.g. in TIME-WAIT). 0, -EADDRINUSE, -EADDRNOTAVAIL, -EINVAL. */
int sock_bind_port(struct ust_stack *s, struct sock *sk, const struct ipaddr *addr, uint16_t port);
/* Binds an unbound TCP socket for a connection from laddr to raddr:rport
 * (RFC 6056 algorithm 1): an ephemeral port that no listening or merely
 * bound socket holds and whose 4-tuple is free. As on Linux, a port serves
 * one connection to each remote endpoint. 0 or -EADDRNOTAVAIL. */
int sock_bind_connect(struct ust_stack *s, struct sock *sk, const struct ipaddr *laddr,
                      const struct ipaddr *raddr, uint16_t rport);
/* A socket for an accepted connection, inheriting the listener's options. */
int sock_open_tcp_for(struct ust_stack *s, struct tcp_conn *c, bool nonblock,
                      const struct sock *listener);

int sock_setopt(struct ust_stack *s, struct sock *sk, int level, int name, const void *val,
                unsigned len);
int sock_getopt(struct ust_stack *s, struct sock *sk, int level, int name, void *val,
                unsigned *len);

/* Does a local address (a socket's or a listener's, with its IPV6_V6ONLY)
 * take what is sent to a? A specific address takes only itself; 0.0.0.0
 * takes every IPv4 address; :: takes every IPv6 address, and every IPv4
 * one unless v6only. */
static inline bool sock_addr_takes(const struct ipaddr *local, bool v6only, const struct ipaddr *a)
{
    if (!ipaddr_is_any(local))
        return ipaddr_eq(local, a);
    if (ipaddr_is_v4(local))
        return ipaddr_is_v4(a);
    return !(v6only && ipaddr_is_v4(a));
}

/* Can sk exchange datagrams with a peer at a? The families must agree:
 * an IPv4 socket (or one bound to an IPv4 address) talks to IPv4 peers;
 * an IPv6 socket to IPv6 peers, and to IPv4 ones (as ::ffff:a.b.c.d)
 * unless v6only or bound to an IPv6 address. */
static inline bool sock_family_takes(const struct sock *sk, const struct ipaddr *a)
{
    if (!ipaddr_is_any(&sk->laddr))
        return ipaddr_is_v4(&sk->laddr) == ipaddr_is_v4(a);
    return sock_addr_takes(&sk->laddr, sk->v6only, a);
}

/* The family's "any" address for an unbound socket. */
static inline struct ipaddr sock_any(const struct sock *sk)
{
    struct ipaddr a = {{0}};
    return sk->family == AF_INET6 ? a : ipaddr_v4(0);
}

/* Takes the pending error (SO_ERROR semantics): returns it and clears it. */
/* addr is no longer ours (a DHCP lease ended): sockets bound or connected
 * from it get EADDRNOTAVAIL, and their TCP connections are closed. */
void sock_addr_gone(struct ust_stack *s, ust_ip4_t addr);

static inline int sock_take_error(struct sock *sk)
{
    int e = sk->so_error;
    sk->so_error = 0;
    return e;
}

#endif
