/* What the socket layer asks of TCP: the user/TCP interface of RFC 9293
 * 3.9.1 (OPEN, SEND, RECEIVE, CLOSE, ABORT, STATUS), implemented in
 * tcp_user.c. The connection stays opaque here: the runtime's socket API
 * (runtime/sockapi.c) uses only these calls and accessors. Every call
 * returns 0 (or a count) on success, -errno on failure; none blocks. */
#ifndef USTACK_TRANSPORT_TCP_USER_H
#define USTACK_TRANSPORT_TCP_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/ipaddr.h"
#include "ustack/stack.h"

struct ust_stack;
struct sock;
struct tcp_conn;

#define TCP_CORK_MAX (200 * UST_MS) /* MSG_MORE holds a partial segment at most this long */

/* A new socket's connection (CLOSED). */
int tcp_sock_init(struct ust_stack *s, struct sock *sk);
int tcp_listen(struct ust_stack *s, struct sock *sk, int backlog);
/* SO_RCVBUF or SO_SNDBUF changed: a listener passes the new sizes on to
 * the connections it accepts later. (A connection keeps the sizes it had
 * when it connected or was accepted.) */
void tcp_bufs_changed(struct ust_stack *s, struct sock *sk);
/* 0: a connection, *out set (its socket not yet created); -EAGAIN. */
int tcp_accept(struct ust_stack *s, struct sock *sk, struct tcp_conn **out);
/* Starts the handshake: -EINPROGRESS, or an error. */
int tcp_connect(struct ust_stack *s, struct sock *sk, const struct ipaddr *addr, uint16_t port);
/* Queues data and sends what may go. more: MSG_MORE, the application has
 * more to send, so a partial last segment waits for it (for shutdown or
 * close, or TCP_CORK_MAX at most). */
ssize_t tcp_send(struct ust_stack *s, struct sock *sk, const void *buf, size_t len, bool more);
ssize_t tcp_recv(struct ust_stack *s, struct sock *sk, void *buf, size_t len, int flags);
int tcp_shutdown(struct ust_stack *s, struct sock *sk, int how);
/* The socket is closed: orderly close, or abort (RST) when data is unread
 * or linger 0 is set. */
void tcp_release(struct ust_stack *s, struct sock *sk);
/* ABORT: a RST to the peer, and the connection is gone. */
void tcp_abort(struct ust_stack *s, struct tcp_conn *c);

/* STATUS. Readiness, as poll(2) reports it (POLLIN, POLLOUT, ...). */
short tcp_events(const struct tcp_conn *c);
/* Does c belong to one remote endpoint (it connected, or was accepted)?
 * Connections to other endpoints may then share its local port. */
bool tcp_has_remote(const struct tcp_conn *c);
/* Does a connection whose socket is gone (closing, TIME-WAIT) hold port
 * on an address that sk binding to addr would take? */
bool tcp_port_orphaned(struct ust_stack *s, const struct sock *sk, const struct ipaddr *addr,
                       uint16_t port);
/* Is the handshake still going on (SYN-SENT, SYN-RECEIVED)? */
bool tcp_connecting(const struct tcp_conn *c);
/* The peer's address and port (0 if none was ever set); -ENOTCONN, with
 * them filled in all the same, unless the connection is synchronized or
 * half-open (getpeername's rule: not in CLOSED, LISTEN or SYN-SENT). */
int tcp_peer(const struct tcp_conn *c, struct ipaddr *addr, uint16_t *port);
/* The zone of a link-local peer (sin6_scope_id: device index + 1), else 0. */
uint32_t tcp_scope(const struct tcp_conn *c);

#endif
