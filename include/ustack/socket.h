/* ustack sockets: the BSD socket API, prefixed.
 *
 * Each call takes the stack first; otherwise names, arguments, return values
 * and errno follow POSIX/Linux, so porting a program is a rename: a call
 * returns -1 and sets errno on failure. Socket handles are positive ints
 * private to their stack (not kernel file descriptors). After ust_close()
 * the number is EBADF; it can name a socket again only after max_sockets x
 * 32,767 further sockets have been opened (a 15-bit generation per slot,
 * slots handed out round-robin), unlike a kernel fd, which is reused at once.
 *
 * Two ways to run a stack:
 *  - with a runtime (ust_runtime_start): a stack thread owns the core; any
 *    number of application threads call these functions, and blocking calls
 *    wait for readiness (SO_RCVTIMEO/SO_SNDTIMEO bound the wait);
 *  - embedded: one thread drives the core itself (ust_stack_poll) and calls
 *    these functions in between; they never block (a call that would block
 *    fails with EAGAIN) and ust_poll() does not wait. */
#ifndef USTACK_SOCKET_H
#define USTACK_SOCKET_H

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "ustack/stack.h"

#ifdef __cplusplus
extern "C" {
#endif

/* domain AF_INET or AF_INET6 (dual-stack unless IPV6_V6ONLY: IPv4 peers
 * appear as ::ffff:a.b.c.d); type SOCK_DGRAM or SOCK_STREAM, optionally |
 * SOCK_NONBLOCK (| SOCK_CLOEXEC is accepted and ignored); protocol 0,
 * IPPROTO_UDP or IPPROTO_TCP to match. A link-local address in a
 * sockaddr_in6 names its link in sin6_scope_id (ust_if_nametoindex; 0
 * when the stack has one IPv6 interface; EINVAL when it has several,
 * ENODEV for no such interface), and the addresses handed back carry it. */
int ust_socket(struct ust_stack *s, int domain, int type, int protocol);
int ust_bind(struct ust_stack *s, int fd, const struct sockaddr *addr, socklen_t len);
/* UDP: fixes the peer (AF_UNSPEC dissolves it). TCP: the three-way
 * handshake; a blocking socket waits for it (ECONNREFUSED, ETIMEDOUT,
 * EHOSTUNREACH...), a non-blocking one returns EINPROGRESS and ust_poll
 * reports POLLOUT (then SO_ERROR tells the outcome). */
int ust_connect(struct ust_stack *s, int fd, const struct sockaddr *addr, socklen_t len);
/* TCP: accept connections; backlog bounds the half-open and established
 * connections waiting to be accepted together. */
int ust_listen(struct ust_stack *s, int fd, int backlog);
/* TCP: the next established connection, as a new socket (blocking or
 * EAGAIN). The new socket is non-blocking if flags has SOCK_NONBLOCK
 * (accept4 semantics). */
int ust_accept(struct ust_stack *s, int fd, struct sockaddr *addr, socklen_t *len);
int ust_accept4(struct ust_stack *s, int fd, struct sockaddr *addr, socklen_t *len, int flags);
/* TCP: SHUT_RD, SHUT_WR (send FIN after the queued data), SHUT_RDWR; on a
 * listener SHUT_RD/SHUT_RDWR stop it listening (accept: EINVAL). UDP:
 * SHUT_RD makes recv return 0 once the queue is empty (an unconnected
 * socket answers ENOTCONN, shut down all the same), as Linux. */
int ust_shutdown(struct ust_stack *s, int fd, int how);
/* flags: MSG_DONTWAIT, MSG_NOSIGNAL (ustack never raises SIGPIPE: a write
 * to a closed TCP connection fails with EPIPE), MSG_MORE (TCP: more data
 * follows, so a partial last segment waits for the next send, for
 * shutdown or close, or 200 ms at most; UDP ignores it). TCP: a blocking
 * send waits until all of buf is queued; non-blocking queues what fits or
 * EAGAIN. */
ssize_t ust_sendto(struct ust_stack *s, int fd, const void *buf, size_t len, int flags,
                   const struct sockaddr *to, socklen_t tolen);
ssize_t ust_send(struct ust_stack *s, int fd, const void *buf, size_t len, int flags);
/* flags: MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC (UDP). TCP: 0 at end of stream,
 * ECONNRESET after a RST. */
ssize_t ust_recvfrom(struct ust_stack *s, int fd, void *buf, size_t len, int flags,
                     struct sockaddr *from, socklen_t *fromlen);
ssize_t ust_recv(struct ust_stack *s, int fd, void *buf, size_t len, int flags);
/* Closes the socket; threads blocked on it return EBADF. */
int ust_close(struct ust_stack *s, int fd);
int ust_getsockname(struct ust_stack *s, int fd, struct sockaddr *addr, socklen_t *len);
int ust_getpeername(struct ust_stack *s, int fd, struct sockaddr *addr, socklen_t *len);
/* SOL_SOCKET: SO_RCVTIMEO, SO_SNDTIMEO, SO_RCVBUF, SO_SNDBUF, SO_REUSEADDR,
 * SO_BROADCAST, SO_KEEPALIVE, SO_LINGER, SO_ERROR (get), SO_TYPE (get),
 * SO_PROTOCOL (get), SO_ACCEPTCONN (get: 1 while listening).
 * IPPROTO_IP: IP_TTL (1-255, -1: the default), IP_TOS (TCP's ECN bits stay
 * 0): what the socket's IPv4 packets carry.
 * IPPROTO_TCP: TCP_NODELAY, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT,
 * TCP_MAXSEG (88-32767, 0: none: caps the MSS a connection offers and
 * uses, set before it opens or on its listener; get: the cap until then,
 * the MSS after), TCP_CONGESTION ("newreno" or "reno", "cubic" (RFC 9438);
 * other names fail with ENOENT; the default is the stack's tcp_congestion,
 * "cubic" unless configured; accepted connections inherit the listener's),
 * TCP_INFO (get: <netinet/tcp.h>'s struct tcp_info, truncated to the
 * buffer as Linux does; state, options, RTO, RTT and RTTVAR in
 * microseconds, MSS, cwnd and ssthresh in segments, unacked and SACKed
 * segments, total retransmissions; fields the stack does not keep are 0).
 * Buffer sizes apply to TCP at connect() or listen(). */
int ust_setsockopt(struct ust_stack *s, int fd, int level, int name, const void *val,
                   socklen_t len);
int ust_getsockopt(struct ust_stack *s, int fd, int level, int name, void *val, socklen_t *len);
/* F_GETFL / F_SETFL with O_NONBLOCK: non-blocking mode per socket. */
int ust_fcntl(struct ust_stack *s, int fd, int cmd, int arg);
/* poll(2) over ustack sockets: fds[i].fd are ustack handles; events POLLIN,
 * POLLOUT, POLLRDHUP (TCP: the peer's FIN came, or SHUT_RD, as Linux);
 * revents may add POLLERR, POLLHUP, POLLNVAL. timeout_ms as poll(2);
 * without a runtime it is treated as 0. */
int ust_poll(struct ust_stack *s, struct pollfd *fds, nfds_t nfds, int timeout_ms);

/* ---- ustack sockets in the program's own event loop ----
 * The stack keeps a ready list: every socket whose readiness may have
 * changed since the program last asked, each once, in order. ust_ready()
 * takes up to max of them with their readiness now (POLLIN, POLLOUT,
 * POLLERR, POLLHUP, POLLRDHUP; revents as ust_poll would report with events
 * POLLIN | POLLOUT | POLLRDHUP). The list starts with the first call to ust_ready() or
 * ust_event_fd(), holding every socket then open; sockets opened later
 * join it, so a listener's accepted sockets are reported without asking.
 *
 * It is edge-triggered, as EPOLLET: a socket is reported when something
 * happened to it (data, a connection, room to send, an error, a close),
 * not again while it merely stays ready. Read or accept until EAGAIN
 * before waiting again. Reports may be spurious (a socket notified but not
 * changed, or closed since: it is skipped). Returns the number of entries
 * filled, 0 when there is nothing new, or -1/EINVAL. Works with and
 * without a runtime (embedded: call it after ust_stack_poll). */
struct ust_ready {
    int fd;       /* the socket's handle */
    short events; /* its readiness now */
};
int ust_ready(struct ust_stack *s, struct ust_ready *out, int max);
/* With a runtime: an eventfd (non-blocking, close-on-exec, owned by the
 * runtime: do not close it; ust_runtime_stop does) that is readable while
 * the ready list holds a socket. Put it in an epoll/poll/libuv/libevent
 * loop; when it is readable, call ust_ready() until it returns fewer than
 * max, which also makes the fd unreadable again. Its value is only a
 * flag: never read it yourself. The same fd on every call. Without a
 * runtime: -1/EINVAL (the program drives the stack and knows when it
 * did). */
int ust_event_fd(struct ust_stack *s);

/* ---- the runtime ---- */
struct ust_runtime;

/* Starts the stack thread: it waits (epoll) on the devices' fds and a
 * wakeup eventfd with a timeout from ust_stack_next_deadline(), and polls the
 * stack. From then on, use the stack only through the socket API or under
 * ust_runtime_lock(). Returns 0 or -errno. */
int ust_runtime_start(struct ust_stack *s, struct ust_runtime **out);
/* Stops and joins the stack thread; the stack is the caller's again. */
void ust_runtime_stop(struct ust_runtime *rt);
/* For other calls into the stack (ping, stats) while the runtime runs. */
void ust_runtime_lock(struct ust_runtime *rt);
void ust_runtime_unlock(struct ust_runtime *rt);
/* Wakes the stack thread to poll now (after calls made under the lock). */
void ust_runtime_kick(struct ust_runtime *rt);
/* Busy polling: before it sleeps, the stack thread polls the devices
 * (epoll with no timeout) for up to usec microseconds after its last batch,
 * so a frame that arrives then is taken without the wake-up of a sleeping
 * thread, at the cost of a CPU kept busy while traffic flows. 0 (the
 * default) sleeps at once. 0, or -EINVAL (no runtime, or above 1,000,000). */
int ust_runtime_set_busy_poll(struct ust_runtime *rt, unsigned usec);

/* Driving the devices from an application thread. A thread about to wait
 * for ustack sockets may wait for the devices too and process what they
 * bring itself, instead of sleeping while the stack thread does it and
 * then being woken: a frame goes from the device to the socket and on to
 * the program on one thread, with no thread woken in between (the
 * preload library's waits do this).
 *
 * ust_runtime_drive_begin: unless another thread drives (or the stack
 * thread is reading right now), this thread does from now on. Fills fds
 * (at most max) with the devices' descriptors, to wait for with POLLIN
 * beside the thread's own, and returns how many; 0: wait as usual (also
 * always for a device that holds frames back until a time, as memlink,
 * the faulty wrapper and the pcap wrapper do). -EINVAL: no runtime, fds
 * NULL or max <= 0. The thread must call ust_runtime_drive_end however
 * its wait ends (a cancelled thread: from a cleanup handler), or no
 * thread reads the devices again; and ust_runtime_stop must not be
 * called while a thread drives (join the program's threads first).
 * ust_runtime_drive_step: after that wait, whatever woke it, reads what
 * the devices hold and processes it as the stack thread would, waking the
 * threads whose sockets changed (handlers and timers stay on the stack
 * thread). Then look at the sockets again, and wait again if nothing is
 * ready. Returns whether this thread drives (false: another thread's
 * call, which does nothing).
 * ust_runtime_drive_end: the wait is over. The stack thread takes the
 * devices back 1-2 ms later, unless a thread begins driving before (a
 * program that waits, reads and waits again keeps them); frames that
 * come meanwhile wait that long at most. */
int ust_runtime_drive_begin(struct ust_runtime *rt, int *fds, int max);
bool ust_runtime_drive_step(struct ust_runtime *rt);
void ust_runtime_drive_end(struct ust_runtime *rt);

/* For a program that takes readiness from ust_ready and passes it to its
 * own threads (the preload library does): on the thread driving the
 * devices (above), instead of raising the event fd for a thread of the
 * program to wake up, call ust_ready and pass the news on, the runtime
 * calls fn(s, arg) with its lock held (nothing may block). fn calls
 * ust_ready until it returns fewer than max and returns true; or returns
 * false having taken nothing (it could not get what it needs without
 * waiting), and the event fd is raised as without it. NULL removes it. 0,
 * or -EINVAL (no runtime). */
typedef bool (*ust_ready_hook_fn)(struct ust_stack *s, void *arg);
int ust_runtime_set_ready_hook(struct ust_runtime *rt, ust_ready_hook_fn fn, void *arg);

/* As ust_runtime_set_ready_hook, with flush: a hook that passes the news
 * on with system calls (writes to other threads' eventfds) may leave
 * those for flush(arg), which the runtime calls on the same thread once
 * it has released its lock, before that thread waits or returns; a
 * thread woken that way then finds the lock free instead of sleeping on
 * it. With a flush the stack thread, too, calls fn, rather than raising
 * the event fd for a thread of the program to pass the news on. 0, or
 * -EINVAL (no runtime, or a flush without fn). */
typedef void (*ust_ready_flush_fn)(void *arg);
int ust_runtime_set_ready_hooks(struct ust_runtime *rt, ust_ready_hook_fn fn,
                                ust_ready_flush_fn flush, void *arg);

#ifdef __cplusplus
}
#endif
#endif
