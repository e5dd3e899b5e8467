/* The public socket API: argument checks, sockaddr conversion, errno, and
 * blocking on top of the non-blocking core (transport/). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "runtime/runtime_priv.h"
#include "transport/socket.h"
#include "transport/tcp_user.h"
#include "transport/udp.h"
#include "ustack/runtime.h"
#include "ustack/socket.h"

/* Sets errno from a -errno result and returns -1, or passes r through. */
static ssize_t ret(ssize_t r)
{
    if (r < 0) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

/* A socket address from the API, for socket sk: a sockaddr_in for an
 * AF_INET socket, a sockaddr_in6 for an AF_INET6 one (another family is
 * EAFNOSUPPORT, as on Linux; IPv4 peers of an IPv6 socket are written
 * ::ffff:a.b.c.d). *addr gets the address in the core's form (IPv4 as
 * ::ffff:a.b.c.d, core/ipaddr.h), *scope its zone (sin6_scope_id, checked
 * by ip_scope_check: 0 unless the address is link-scoped). */
static int sa_from(const struct ust_stack *s, const struct sock *sk, const struct sockaddr *sa,
                   socklen_t len, struct ipaddr *addr, uint16_t *port, uint32_t *scope)
{
    *scope = 0;
    if (!sa)
        return -EFAULT;
    if (len < (socklen_t)sizeof(sa_family_t))
        return -EINVAL;
    if (sa->sa_family != sk->family)
        return -EAFNOSUPPORT;
    if (sa->sa_family == AF_INET) {
        if (len < (socklen_t)sizeof(struct sockaddr_in))
            return -EINVAL;
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof(sin));
        *addr = ipaddr_v4(ntohl(sin.sin_addr.s_addr));
        *port = ntohs(sin.sin_port);
        return 0;
    }
    /* RFC 2133's 24 bytes (no sin6_scope_id) are accepted, as Linux does. */
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof(sin6));
    if (len < 24)
        return -EINVAL;
    memcpy(&sin6, sa, len < (socklen_t)sizeof(sin6) ? len : sizeof(sin6));
    memcpy(addr->b, &sin6.sin6_addr, 16);
    *port = ntohs(sin6.sin6_port);
    *scope = sin6.sin6_scope_id;
    return ipaddr_is_any(addr) ? 0 : ip_scope_check(s, addr, scope);
}

/* Writes addr:port as the socket's family writes it: a sockaddr_in, or a
 * sockaddr_in6 (an IPv4 peer as ::ffff:a.b.c.d; scope: the zone of a
 * link-scoped address, else 0), truncated to *len as the kernel does;
 * *len gets the full size. */
static void sa_to(int family, struct sockaddr *sa, socklen_t *len, const struct ipaddr *addr,
                  uint16_t port, uint32_t scope)
{
    if (!sa || !len)
        return;
    union {
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } u;
    memset(&u, 0, sizeof(u));
    socklen_t size;
    if (family == AF_INET6) {
        u.v6.sin6_family = AF_INET6;
        u.v6.sin6_port = htons(port);
        memcpy(&u.v6.sin6_addr, addr->b, 16);
        u.v6.sin6_scope_id = scope;
        size = sizeof(u.v6);
    } else {
        u.v4.sin_family = AF_INET;
        u.v4.sin_port = htons(port);
        u.v4.sin_addr.s_addr = htonl(ipaddr_to_v4(addr));
        size = sizeof(u.v4);
    }
    memcpy(sa, &u, *len < size ? *len : size);
    *len = size;
}

static ust_time_t deadline_after(ust_time_t timeo) { return timeo ? ust_clock_now() + timeo : 0; }

/* One try of a socket call under the lock: its result, or -EAGAIN when
 * it should be tried again once some socket's readiness has changed. */
typedef ssize_t (*try_fn)(struct ust_stack *s, struct sock *sk, void *arg);

/* Blocking on top of the non-blocking core: tries the call until it gives
 * something other than -EAGAIN. A blocking call (wait, with a runtime)
 * waits on the runtime between tries, until timeo has passed (SO_RCVTIMEO,
 * SO_SNDTIMEO; 0: no limit), and then tries once more. The socket may be
 * closed while the caller waits: -EBADF. */
static ssize_t retry(struct ust_stack *s, struct ust_runtime *rt, int fd, bool wait,
                     ust_time_t timeo, try_fn fn, void *arg)
{
    ust_time_t deadline = deadline_after(timeo);
    for (;;) {
        struct sock *sk = sock_get(s, fd);
        if (!sk)
            return -EBADF;
        ssize_t r = fn(s, sk, arg);
        if (r != -EAGAIN || !wait || !rt)
            return r;
        if (!rt_wait(rt, fd, deadline)) {
            sk = sock_get(s, fd);
            return sk ? fn(s, sk, arg) : -EBADF;
        }
    }
}

/* Would a call on sk wait (flags: MSG_DONTWAIT)? */
static bool blocking(const struct ust_runtime *rt, const struct sock *sk, int flags)
{
    return rt && !(sk->flags & SOCK_F_NONBLOCK) && !(flags & MSG_DONTWAIT);
}

/* The end of a TCP handshake: 0, the error that ended it, or -EAGAIN. */
static ssize_t try_connected(struct ust_stack *s, struct sock *sk, void *arg)
{
    (void)s, (void)arg;
    if (!sk->tcp)
        return -EBADF;
    if (tcp_connecting(sk->tcp))
        return -EAGAIN;
    return -sock_take_error(sk);
}

/* TCP connect: start the handshake; a blocking socket waits for its end
 * (SO_SNDTIMEO bounds the wait: then EINPROGRESS, as Linux). */
static int stream_connect(struct ust_stack *s, struct ust_runtime *rt, int fd, struct sock *sk,
                          const struct ipaddr *a, uint16_t port)
{
    int r = tcp_connect(s, sk, a, port);
    if (r != -EINPROGRESS || !blocking(rt, sk, 0))
        return r;
    r = (int)retry(s, rt, fd, true, sk->sndtimeo, try_connected, NULL);
    return r == -EAGAIN ? -EINPROGRESS : r;
}

int ust_socket(struct ust_stack *s, int domain, int type, int protocol)
{
    if (!s)
        return (int)ret(-EINVAL);
    if (domain != AF_INET && domain != AF_INET6)
        return (int)ret(-EAFNOSUPPORT);
    int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (base != SOCK_DGRAM && base != SOCK_STREAM)
        return (int)ret(-ESOCKTNOSUPPORT);
    if (protocol != 0 && protocol != (base == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP))
        return (int)ret(-EPROTONOSUPPORT);
    struct ust_runtime *rt = rt_enter(s);
    int r = sock_open(s, domain, base, (type & SOCK_NONBLOCK) != 0);
    rt_leave(s, rt);
    return (int)ret(r);
}

int ust_bind(struct ust_stack *s, int fd, const struct sockaddr *addr, socklen_t len)
{
    struct ipaddr a = {{0}};
    uint16_t port = 0;
    uint32_t scope = 0;
    struct ust_runtime *rt = rt_enter(s);
    struct sock *sk = sock_get(s, fd);
    int r = !sk ? -EBADF : sa_from(s, sk, addr, len, &a, &port, &scope);
    if (r == 0 && !sock_family_takes(sk, &a))
        r = -EINVAL; /* ::ffff:a.b.c.d on a v6-only socket */
    if (r == 0)
        r = sk->type == SOCK_DGRAM ? udp_bind(s, sk, &a, port) : sock_bind_port(s, sk, &a, port);
    if (r == 0 && scope)
        sk->tx.scope = scope; /* bound to a link-local address: that link */
    rt_leave(s, rt);
    return (int)ret(r);
}

int ust_connect(struct ust_stack *s, int fd, const struct sockaddr *addr, socklen_t len)
{
    struct ipaddr a = {{0}};
    uint16_t port = 0;
    uint32_t scope = 0;
    bool dissolve = addr && len >= (socklen_t)sizeof(sa_family_t) && addr->sa_family == AF_UNSPEC;
    struct ust_runtime *rt = rt_enter(s);
    struct sock *sk = sock_get(s, fd);
    int r = !sk ? -EBADF : dissolve ? 0 : sa_from(s, sk, addr, len, &a, &port, &scope);
    if (r == 0 && !dissolve && ipaddr_is_any(&a) && port == 0)
        r = -EINVAL;
    if (r == 0 && (scope || dissolve))
        sk->tx.scope = scope; /* a link-local peer's link, for all sent to it */
    if (r == 0 && sk->type == SOCK_DGRAM)
        r = udp_connect(s, sk, dissolve ? NULL : &a, port);
    else if (r == 0)
        r = dissolve ? -EINVAL : stream_connect(s, rt, fd, sk, &a, port);
    rt_leave(s, rt);
    return (int)ret(r);
}

int ust_listen(struct ust_stack *s, int fd, int backlog)
{
    struct ust_runtime *rt = rt_enter(s);
    struct sock *sk = sock_get(s, fd);
    int r = !sk ? -EBADF : sk->type != SOCK_STREAM ? -EOPNOTSUPP : tcp_listen(s, sk, backlog);
    rt_leave(s, rt);
    return (int)ret(r);
}

static ssize_t try_accept(struct ust_stack *s, struct sock *sk, void *arg)
{
    return tcp_accept(s, sk, (struct tcp_conn **)arg);
}

int ust_accept4(struct ust_stack *s, int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
        return (int)ret(-EINVAL);
    struct ust_runtime *rt = rt_enter(s);
    struct sock *sk = sock_get(s, fd);
    struct tcp_conn *c = NULL;
    struct ipaddr ra = {{0}};
    uint16_t rp = 0;
    uint32_t scope = 0;
    int family = sk ? sk->family : AF_INET;
    int r;
    if (!sk)
        r = -EBADF;
    else if (sk->type != SOCK_STREAM)
        r = -EOPNOTSUPP;
    else
        r = (int)retry(s, rt, fd, blocking(rt, sk, 0), sk->rcvtimeo, try_accept, &c);
    if (r == 0) {
        /* The listener is still there: retry just returned from it. */
        r = sock_open_tcp_for(s, c, (flags & SOCK_NONBLOCK) != 0, sock_get(s, fd));
        if (r < 0)
            tcp_abort(s, c);
        else
            (void)tcp_peer(c, &ra, &rp), scope = tcp_scope(c);
    }
    rt_leave(s, rt);
    if (r >= 0 && addr && len)
        sa_to(family, addr, len, &ra, rp, scope);
    return (int)ret(r);
}

int ust_accept(struct ust_stack *s, int fd, struct sockaddr *addr, socklen_t *len)
{
    return ust_accept4(s, fd, addr, len, 0);
}

int ust_shutdown(struct ust_stack *s, int fd, int how)
{
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return (int)ret(-EINVAL);
    struct ust_runtime *rt = rt_enter(s);
    struct sock *sk = sock_get(s, fd);
    int r = !sk                       ? -EBADF
            : sk->type != SOCK_STREAM ? udp_shutdown(s, sk, how)
                                      : tcp_shutdown(s, sk, how);
    rt_leave(s, rt);
    return (int)ret(r);
}

/* A TCP send in pieces, as room in the send buffer allows. */
struct send_args {
    const uint8_t *buf;
    size_t len, done;
    bool more;
};

static ssize_t try_send(struct ust_stack *s, struct sock *sk, void *arg)
{
    struct send_args *a = arg;
    ssize_t r = tcp_send(s, sk, a->buf + a->done, a->len - a->done, a->more);
    if (r > 0)
        a->done += (size_t)r;
    if (a->len == 0)
        return r == -EAGAIN ? 0 : r; /* nothing to wait for */
    if (a->done == a->len)
        return (ssize_t)a->done;
    return r < 0 && r != -EAGAIN ? r : -EAGAIN;
}

ssize_t ust_sendto(struct ust_stack *s, int fd, const void *buf, size_t len, int flags,
                   const struct sockaddr *to, socklen_t tolen)
{
    struct ipaddr a = {{0}};
    uint16_t port = 0;
    uint32_t scope = 0;
    if (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE))
        return ret(-EOPNOTSUPP);
    struct ust_runtime *rt = rt_enter(s);
    struct sock *sk = sock_get(s, fd);
    ssize_t r;
    if (!sk) {
        r = -EBADF;
    } else if (to && sk->type == SOCK_DGRAM &&
               (r = sa_from(s, sk, to, tolen, &a, &port, &scope)) != 0) {
        /* r says what is wrong with the address */
    } else if (sk->type == SOCK_DGRAM) {
        r = udp_sendto(s, sk, buf, len, to ? &a : NULL, port, scope); /* never waits */
    } else if (len && !buf) {
        r = -EFAULT;
    } else {
        /* TCP: queue everything, waiting for room when blocking; a
         * partial write is a success, whatever ended it. */
        struct send_args sa = {.buf = buf, .len = len, .more = (flags & MSG_MORE) != 0};
        r = retry(s, rt, fd, blocking(rt, sk, flags), sk->sndtimeo, try_send, &sa);
        if (sa.done > 0)
            r = (ssize_t)sa.done;
    }
    rt_leave(s, rt);
    return ret(r);
}

ssize_t ust_send(struct ust_stack *s, int fd, const void *buf, size_t len, int flags)
{
    return ust_sendto(s, fd, buf, len, flags, NULL, 0);
}

struct recv_args {
    void *buf;
    size_t len;
    int flags;
    struct ipaddr addr; /* the sender (UDP) or the peer (TCP) */
    uint16_t port;
    uint32_t scope; /* addr's zone, when it is link-local */
};

static ssize_t try_recv(struct ust_stack *s, struct sock *sk, void *arg)
{
    struct recv_args *a = arg;
    if (sk->type == SOCK_DGRAM)
        return udp_recvfrom(s, sk, a->buf, a->len, a->flags, &a->addr, &a->port, &a->scope);
    ssize_t r = tcp_recv(s, sk, a->buf, a->len, a->flags);
    if (r >= 0 && sk->tcp) {
        (void)tcp_peer(sk->tcp, &a->addr, &a->port);
        a->scope = tcp_scope(sk->tcp);
    }
    return r;
}

ssize_t ust_recvfrom(struct ust_stack *s, int fd, void *buf, size_t len, int flags,
                     struct sockaddr *from, socklen_t *fromlen)
{
    if (flags & ~(MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC | MSG_NOSIGNAL))
        return ret(-EOPNOTSUPP);
    if (len && !buf)
        return ret(-EFAULT);
    struct ust_runtime *rt = rt_enter(s);
    struct sock *sk = sock_get(s, fd);
    struct recv_args ra = {.buf = buf, .len = len, .flags = flags};
    ssize_t r = -EBADF;
    int family = sk ? sk->family : AF_INET;
    if (sk)
        r = retry(s, rt, fd, blocking(rt, sk, flags), sk->rcvtimeo, try_recv, &ra);
    rt_leave(s, rt);
    if (r >= 0)
        sa_to(family, from, fromlen, &ra.addr, ra.port, ra.scope);
    return ret(r);
}

ssize_t ust_recv(struct ust_stack *s, int fd, void *buf, size_t len, int flags)
{
    return ust_recvfrom(s, fd, buf, len, flags, NULL, NULL);
}

int ust_close(struct ust_stack *s, int fd)
{
    struct ust_runtime *rt = rt_enter(s);
    int r = sock_close(s, fd);
    rt_leave(s, rt);
    return (int)ret(r);
}

static int name_of(struct ust_stack *s, int fd, struct sockaddr *addr, socklen_t *len, bool peer)
{
    if (!addr || !len)
        return (int)ret(-EFAULT);
    struct ust_runtime *rt = rt_enter(s);
    struct sock *sk = sock_get(s, fd);
    int r = 0;
    struct ipaddr a = {{0}};
    uint16_t port = 0;
    int family = sk ? sk->family : AF_INET;
    /* One zone serves both ends: a link-local peer is reached from an
     * address on the same link. */
    uint32_t scope = !sk ? 0 : sk->tcp && tcp_scope(sk->tcp) ? tcp_scope(sk->tcp) : sk->tx.scope;
    if (!sk)
        r = -EBADF;
    else if (peer && sk->type == SOCK_STREAM)
        r = sk->tcp ? tcp_peer(sk->tcp, &a, &port) : -ENOTCONN;
    else if (peer && !sk->connected)
        r = -ENOTCONN;
    else if (peer)
        a = sk->raddr, port = sk->rport;
    else
        a = sk->laddr, port = sk->lport;
    rt_leave(s, rt);
    if (r == 0)
        sa_to(family, addr, len, &a, port, ip_addr_needs_zone(&a) ? scope : 0);
    return (int)ret(r);
}

int ust_getsockname(struct ust_stack *s, int fd, struct sockaddr *addr, socklen_t *len)
{
    return name_of(s, fd, addr, len, false);
}

int ust_getpeername(struct ust_stack *s, int fd, struct sockaddr *addr, socklen_t *len)
{
    return name_of(s, fd, addr, len, true);
}

int ust_setsockopt(struct ust_stack *s, int fd, int level, int name, const void *val, socklen_t len)
{
    struct ust_runtime *rt = rt_enter(s);
    struct sock *sk = sock_get(s, fd);
    int r = sk ? sock_setopt(s, sk, level, name, val, len) : -EBADF;
    rt_leave(s, rt);
    return (int)ret(r);
}

int ust_getsockopt(struct ust_stack *s, int fd, int level, int name, void *val, socklen_t *len)
{
    struct ust_runtime *rt = rt_enter(s);
    struct sock *sk = sock_get(s, fd);
    unsigned l = len ? *len : 0;
    int r = sk ? sock_getopt(s, sk, level, name, val, &l) : -EBADF;
    rt_leave(s, rt);
    if (r == 0 && len)
        *len = l;
    return (int)ret(r);
}

int ust_fcntl(struct ust_stack *s, int fd, int cmd, int arg)
{
    struct ust_runtime *rt = rt_enter(s);
    struct sock *sk = sock_get(s, fd);
    int r;
    if (!sk)
        r = -EBADF;
    else if (cmd == F_GETFL)
        r = O_RDWR | ((sk->flags & SOCK_F_NONBLOCK) ? O_NONBLOCK : 0);
    else if (cmd == F_SETFL) {
        sk->flags = (arg & O_NONBLOCK) ? sk->flags | SOCK_F_NONBLOCK : sk->flags & ~SOCK_F_NONBLOCK;
        r = 0;
    } else
        r = -EINVAL;
    rt_leave(s, rt);
    return (int)ret(r);
}
