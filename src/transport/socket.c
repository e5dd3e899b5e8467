/* The socket table and the options every socket shares. */
#include "transport/socket.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "transport/udp.h"

#define SOCK_SLOT_BITS 16
#define SOCK_GEN_MASK 0x7fffu
#define SOCK_MIN_BUF 2048u
#define SOCK_MAX_BUF (16u << 20)

int sock_init(struct ust_stack *s)
{
    if (s->cfg.max_sockets == 0 || s->cfg.max_sockets > (1u << SOCK_SLOT_BITS))
        return -EINVAL;
    s->socks = calloc(s->cfg.max_sockets, sizeof(*s->socks));
    return s->socks ? 0 : -ENOMEM;
}

void sock_fini(struct ust_stack *s)
{
    if (!s->socks)
        return;
    for (unsigned i = 0; i < s->cfg.max_sockets; i++)
        if (s->socks[i].used)
            udp_release(s, &s->socks[i]);
    free(s->socks);
    s->socks = NULL;
}

int sock_open(struct ust_stack *s, int type, bool nonblock)
{
    /* Next fit: start after the slot handed out last, so a closed slot is
     * the last to be reused and a handle's number repeats only after
     * max_sockets x 32,767 opens. */
    for (unsigned n = 0; n < s->cfg.max_sockets; n++) {
        unsigned i = (s->sock_next + n) % s->cfg.max_sockets;
        struct sock *sk = &s->socks[i];
        if (sk->used)
            continue;
        s->sock_next = i + 1;
        uint32_t gen = (sk->gen + 1) & SOCK_GEN_MASK;
        memset(sk, 0, sizeof(*sk));
        sk->gen = gen ? gen : 1;
        sk->used = true;
        sk->type = type;
        sk->flags = nonblock ? SOCK_F_NONBLOCK : 0;
        sk->rcvbuf = s->cfg.udp_rcvbuf;
        sk->sndbuf = s->cfg.udp_rcvbuf;
        return (int)((sk->gen << SOCK_SLOT_BITS) | i);
    }
    return -EMFILE;
}

struct sock *sock_get(struct ust_stack *s, int h)
{
    if (h <= 0)
        return NULL;
    unsigned slot = (unsigned)h & ((1u << SOCK_SLOT_BITS) - 1);
    unsigned gen = (unsigned)h >> SOCK_SLOT_BITS;
    if (slot >= s->cfg.max_sockets)
        return NULL;
    struct sock *sk = &s->socks[slot];
    return sk->used && sk->gen == gen ? sk : NULL;
}

int sock_close(struct ust_stack *s, int h)
{
    struct sock *sk = sock_get(s, h);
    if (!sk)
        return -EBADF;
    udp_release(s, sk);
    sk->used = false; /* the generation stays, so the handle is dead for good */
    sock_notify(s);
    return 0;
}

short sock_events(const struct sock *sk)
{
    short ev = POLLOUT; /* UDP can always send (datagrams go straight out) */
    if (sk->rxq || sk->so_error)
        ev |= POLLIN;
    if (sk->so_error)
        ev |= POLLERR;
    return ev;
}

static int get_int(const void *val, unsigned len, int *out)
{
    if (!val || len < sizeof(int))
        return -EINVAL;
    memcpy(out, val, sizeof(int));
    return 0;
}

static int put_int(void *val, unsigned *len, int v)
{
    if (!val || !len || *len < sizeof(int))
        return -EINVAL;
    memcpy(val, &v, sizeof(int));
    *len = sizeof(int);
    return 0;
}

static ust_time_t tv_to_us(const struct timeval *tv)
{
    return (ust_time_t)tv->tv_sec * 1000000u + (ust_time_t)tv->tv_usec;
}

int sock_setopt(struct ust_stack *s, struct sock *sk, int level, int name, const void *val,
                unsigned len)
{
    (void)s;
    int v = 0;
    if (level != SOL_SOCKET)
        return -ENOPROTOOPT;
    switch (name) {
    case SO_RCVTIMEO:
    case SO_SNDTIMEO: {
        struct timeval tv;
        if (!val || len < sizeof(tv))
            return -EINVAL;
        memcpy(&tv, val, sizeof(tv));
        if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
            return -EDOM; /* as Linux */
        if (name == SO_RCVTIMEO)
            sk->rcvtimeo = tv_to_us(&tv);
        else
            sk->sndtimeo = tv_to_us(&tv);
        return 0;
    }
    case SO_RCVBUF:
    case SO_SNDBUF: {
        if (get_int(val, len, &v))
            return -EINVAL;
        /* Like Linux: the kernel doubles the value for bookkeeping overhead
         * and reports the doubled value back. */
        uint64_t b = v < 0 ? 0 : (uint64_t)v * 2u;
        if (b < SOCK_MIN_BUF)
            b = SOCK_MIN_BUF;
        if (b > SOCK_MAX_BUF)
            b = SOCK_MAX_BUF;
        if (name == SO_RCVBUF)
            sk->rcvbuf = (uint32_t)b;
        else
            sk->sndbuf = (uint32_t)b;
        return 0;
    }
    case SO_REUSEADDR:
    case SO_BROADCAST: {
        if (get_int(val, len, &v))
            return -EINVAL;
        unsigned f = name == SO_REUSEADDR ? SOCK_F_REUSEADDR : SOCK_F_BROADCAST;
        sk->flags = v ? sk->flags | f : sk->flags & ~f;
        return 0;
    }
    case SO_ERROR:
    case SO_TYPE:
        return -ENOPROTOOPT; /* read-only */
    default:
        return -ENOPROTOOPT;
    }
}

int sock_getopt(struct ust_stack *s, struct sock *sk, int level, int name, void *val,
                unsigned *len)
{
    (void)s;
    if (level != SOL_SOCKET)
        return -ENOPROTOOPT;
    switch (name) {
    case SO_RCVTIMEO:
    case SO_SNDTIMEO: {
        ust_time_t t = name == SO_RCVTIMEO ? sk->rcvtimeo : sk->sndtimeo;
        struct timeval tv = {.tv_sec = (time_t)(t / 1000000u), .tv_usec = (suseconds_t)(t % 1000000u)};
        if (!val || !len || *len < sizeof(tv))
            return -EINVAL;
        memcpy(val, &tv, sizeof(tv));
        *len = sizeof(tv);
        return 0;
    }
    case SO_RCVBUF: return put_int(val, len, (int)sk->rcvbuf);
    case SO_SNDBUF: return put_int(val, len, (int)sk->sndbuf);
    case SO_REUSEADDR: return put_int(val, len, !!(sk->flags & SOCK_F_REUSEADDR));
    case SO_BROADCAST: return put_int(val, len, !!(sk->flags & SOCK_F_BROADCAST));
    case SO_ERROR: return put_int(val, len, sock_take_error(sk));
    case SO_TYPE: return put_int(val, len, sk->type);
    default: return -ENOPROTOOPT;
    }
}
