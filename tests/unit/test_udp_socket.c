/* The socket table and the UDP socket API, embedded (no runtime): every
 * call returns at once, a call that would block fails with EAGAIN. Input is
 * injected as hand-built frames; output is read off the capture device. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "harness.h"
#include "ustack/socket.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

#define ETH_HDR 14
#define UDP_OFF (ETH_HDR + IPV4_HDR_LEN) /* UDP header in a frame we build */

static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
#define T_BCAST UST_IP4(192, 0, 2, 255)
#define T_LIMITED UST_IP4(255, 255, 255, 255)

/* ---- helpers ---- */

static int sock_new(struct fixture *f)
{
    int fd = ust_socket(f->s, AF_INET, SOCK_DGRAM, 0);
    assert_true(fd > 0);
    return fd;
}

static void bind_to(struct fixture *f, int fd, ust_ip4_t a, uint16_t port)
{
    struct sockaddr_in sin = sin_of(a, port);
    assert_int_equal(ust_bind(f->s, fd, SA(sin), sizeof(sin)), 0);
}

static int sock_bound(struct fixture *f, ust_ip4_t a, uint16_t port, bool reuse)
{
    int fd = sock_new(f);
    int one = 1;
    if (reuse)
        assert_int_equal(ust_setsockopt(f->s, fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    bind_to(f, fd, a, port);
    return fd;
}

static void connect_to(struct fixture *f, int fd, ust_ip4_t a, uint16_t port)
{
    struct sockaddr_in sin = sin_of(a, port);
    assert_int_equal(ust_connect(f->s, fd, SA(sin), sizeof(sin)), 0);
}

/* An Ethernet + IPv4 + UDP frame from the peer's MAC, with a correct UDP
 * checksum. Returns its length. */
static size_t udp_frame(uint8_t *buf, const uint8_t eth_dst[6], ust_ip4_t src, uint16_t sport,
                        ust_ip4_t dst, uint16_t dport, const void *data, size_t len)
{
    uint8_t *udp = buf + UDP_OFF;
    if (len)
        memmove(udp + UDP_HDR_LEN, data, len);
    struct udp_repr u = {.sport = sport, .dport = dport};
    udp_emit(&u, ipv4_pseudo_sum(src, dst, IPV4_PROTO_UDP, 0), udp, len);
    size_t n = build_ipv4(buf + ETH_HDR, src, dst, IPV4_PROTO_UDP, 0x55aa, 0, 64, udp,
                          UDP_HDR_LEN + len);
    return build_eth(buf, eth_dst, t_mac_peer, 0x0800, buf + ETH_HDR, n);
}

/* A unicast datagram from src:sport to us at dport. */
static void inject_udp(struct fixture *f, ust_ip4_t src, uint16_t sport, uint16_t dport,
                       const void *data, size_t len)
{
    uint8_t *frame = malloc(UDP_OFF + UDP_HDR_LEN + len);
    assert_non_null(frame);
    size_t n = udp_frame(frame, t_mac_us, src, sport, T_IP_US, dport, data, len);
    fixture_input(f, frame, n);
    free(frame);
}

static void inject_bcast(struct fixture *f, ust_ip4_t dst, uint16_t dport, const void *data,
                         size_t len)
{
    uint8_t frame[1600];
    size_t n = udp_frame(frame, mac_bcast, T_IP_PEER, 1234, dst, dport, data, len);
    fixture_input(f, frame, n);
}

/* Receives one datagram and checks its content and sender. */
static void expect_recv(struct fixture *f, int fd, const char *want, ust_ip4_t from_ip,
                        uint16_t from_port)
{
    char buf[2048];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    ssize_t n = ust_recvfrom(f->s, fd, buf, sizeof(buf), 0, SA(from), &fl);
    assert_int_equal(n, (ssize_t)strlen(want));
    assert_memory_equal(buf, want, strlen(want));
    assert_int_equal(fl, sizeof(from));
    assert_int_equal(from.sin_family, AF_INET);
    assert_int_equal(ntohl(from.sin_addr.s_addr), from_ip);
    assert_int_equal(ntohs(from.sin_port), from_port);
}

static void expect_empty(struct fixture *f, int fd)
{
    char buf[16];
    assert_fails(ust_recv(f->s, fd, buf, sizeof(buf), 0), EAGAIN);
}

static const struct ust_stats *st(struct fixture *f) { return ust_stack_stats(f->s); }

static void finish(struct fixture *f)
{
    cap_clear(f->cap);
    fixture_fini(f);
}

/* Pops the next frame and checks it is an ICMP error of type/code from us
 * to the peer quoting quote[0..qlen). */
static void expect_icmp_error(struct fixture *f, uint8_t type, uint8_t code, const uint8_t *quote,
                              size_t qlen)
{
    uint8_t out[1600];
    size_t n = cap_pop(f->cap, out, sizeof(out));
    assert_int_equal(n, ETH_HDR + IPV4_HDR_LEN + ICMP_HDR_LEN + qlen);
    assert_memory_equal(out, t_mac_peer, 6);
    assert_memory_equal(out + 6, t_mac_us, 6);
    assert_int_equal(ld16(out + 12), 0x0800);
    const uint8_t *ip = out + ETH_HDR;
    assert_int_equal(cksum(ip, IPV4_HDR_LEN), 0);
    assert_int_equal(ip[9], IPV4_PROTO_ICMP);
    assert_int_equal(ld32(ip + 12), T_IP_US);
    assert_int_equal(ld32(ip + 16), T_IP_PEER);
    const uint8_t *icmp = ip + IPV4_HDR_LEN;
    assert_int_equal(icmp[0], type);
    assert_int_equal(icmp[1], code);
    assert_int_equal(ld32(icmp + 4), 0);
    assert_int_equal(cksum(icmp, ICMP_HDR_LEN + qlen), 0);
    assert_memory_equal(icmp + ICMP_HDR_LEN, quote, qlen);
}

/* ---- the socket table ---- */

static void handles_are_positive_and_stale_ones_stay_dead(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 1);
    cfg.max_sockets = 3;
    struct fixture f;
    fixture_init(&f, &cfg);
    int a = sock_new(&f), b = sock_new(&f);
    assert_true(a > 0 && b > 0 && a != b);
    assert_int_equal(ust_close(f.s, a), 0);
    assert_fails(ust_close(f.s, a), EBADF);
    /* The slot is used again (max_sockets is small), under another number. */
    int c = sock_new(&f);
    int d = sock_new(&f);
    assert_fails(ust_socket(f.s, AF_INET, SOCK_DGRAM, 0), EMFILE);
    assert_true(c != a && d != a);
    /* Every call on the stale handle fails with EBADF, and it does not
     * touch the socket now in its slot. */
    struct sockaddr_in sin = sin_of(0, 5000), peer = sin_of(T_IP_PEER, 9);
    socklen_t sl = sizeof(sin);
    char buf[8] = "x";
    int one = 1, v = 0;
    socklen_t vl = sizeof(v);
    assert_fails(ust_bind(f.s, a, SA(sin), sizeof(sin)), EBADF);
    assert_fails(ust_connect(f.s, a, SA(peer), sizeof(peer)), EBADF);
    assert_fails(ust_sendto(f.s, a, buf, 1, 0, SA(peer), sizeof(peer)), EBADF);
    assert_fails(ust_send(f.s, a, buf, 1, 0), EBADF);
    assert_fails(ust_recvfrom(f.s, a, buf, sizeof(buf), 0, NULL, NULL), EBADF);
    assert_fails(ust_recv(f.s, a, buf, sizeof(buf), 0), EBADF);
    assert_fails(ust_getsockname(f.s, a, SA(sin), &sl), EBADF);
    assert_fails(ust_getpeername(f.s, a, SA(sin), &sl), EBADF);
    assert_fails(ust_setsockopt(f.s, a, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), EBADF);
    assert_fails(ust_getsockopt(f.s, a, SOL_SOCKET, SO_TYPE, &v, &vl), EBADF);
    assert_fails(ust_fcntl(f.s, a, F_GETFL, 0), EBADF);
    struct pollfd p = {.fd = a, .events = POLLIN | POLLOUT};
    assert_int_equal(ust_poll(f.s, &p, 1, 0), 1);
    assert_int_equal(p.revents, POLLNVAL);
    assert_int_equal(ust_getsockopt(f.s, c, SOL_SOCKET, SO_REUSEADDR, &v, &vl), 0);
    assert_int_equal(v, 0);
    /* Numbers that were never handed out are EBADF too. */
    assert_fails(ust_close(f.s, 0), EBADF);
    assert_fails(ust_close(f.s, -1), EBADF);
    assert_fails(ust_close(f.s, 12345), EBADF);
    assert_fails(ust_close(f.s, 0x7fffffff), EBADF);
    /* Many reuses of the same slot: every earlier number stays dead. */
    enum { CYCLES = 2000 };
    int *old = malloc(CYCLES * sizeof(int));
    for (int i = 0; i < CYCLES; i++) {
        assert_int_equal(ust_close(f.s, d), 0);
        old[i] = d;
        d = sock_new(&f);
        for (int j = 0; j <= i; j++)
            assert_true(old[j] != d);
    }
    for (int i = 0; i < CYCLES; i++)
        assert_fails(ust_fcntl(f.s, old[i], F_GETFL, 0), EBADF);
    free(old);
    assert_int_equal(ust_close(f.s, b), 0);
    assert_int_equal(ust_close(f.s, c), 0);
    assert_int_equal(ust_close(f.s, d), 0);
    finish(&f);
}

/* Slots are handed out round-robin: a closed handle's slot is the last one
 * reused, and after a full cycle its number is still different. */
static void slots_are_reused_last(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 1);
    cfg.max_sockets = 4;
    struct fixture f;
    fixture_init(&f, &cfg);
    int a = sock_new(&f);
    assert_int_equal(ust_close(f.s, a), 0);
    /* The next three opens take the three other slots. */
    int h[3];
    for (int i = 0; i < 3; i++) {
        h[i] = sock_new(&f);
        assert_int_not_equal(h[i] & 0xffff, a & 0xffff);
    }
    int again = sock_new(&f); /* now a's slot, under a new generation */
    assert_int_equal(again & 0xffff, a & 0xffff);
    assert_int_not_equal(again, a);
    assert_fails(ust_close(f.s, a), EBADF);
    finish(&f);
}

/* As on Linux, connect() fixes the source address as well: getsockname
 * tells it; dissolving the association (AF_UNSPEC) gives back the wildcard. */
static void connect_fixes_source_address(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    int fd = sock_new(&f);
    connect_to(&f, fd, T_IP_REMOTE, 53);
    struct sockaddr_in name;
    socklen_t nl = sizeof(name);
    assert_int_equal(ust_getsockname(f.s, fd, SA(name), &nl), 0);
    assert_int_equal(ntohl(name.sin_addr.s_addr), T_IP_US);
    assert_int_not_equal(ntohs(name.sin_port), 0);
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    assert_int_equal(ust_connect(f.s, fd, &unspec, sizeof(unspec)), 0);
    nl = sizeof(name);
    assert_int_equal(ust_getsockname(f.s, fd, SA(name), &nl), 0);
    assert_int_equal(name.sin_addr.s_addr, 0);
    finish(&f);
}

static void emfile_when_table_full(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 2);
    cfg.max_sockets = 4;
    struct fixture f;
    fixture_init(&f, &cfg);
    int fds[4];
    for (int i = 0; i < 4; i++)
        fds[i] = sock_new(&f);
    assert_fails(ust_socket(f.s, AF_INET, SOCK_DGRAM, 0), EMFILE);
    assert_fails(ust_socket(f.s, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), EMFILE);
    assert_int_equal(ust_close(f.s, fds[2]), 0);
    fds[2] = sock_new(&f);
    assert_fails(ust_socket(f.s, AF_INET, SOCK_DGRAM, 0), EMFILE);
    for (int i = 0; i < 4; i++)
        assert_int_equal(ust_close(f.s, fds[i]), 0);
    finish(&f);
}

static void socket_argument_errors(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    assert_fails(ust_socket(f.s, AF_PACKET, SOCK_DGRAM, 0), EAFNOSUPPORT);
    assert_fails(ust_socket(f.s, AF_UNIX, SOCK_DGRAM, 0), EAFNOSUPPORT);
    assert_fails(ust_socket(f.s, AF_INET, SOCK_RAW, 0), ESOCKTNOSUPPORT);
    assert_fails(ust_socket(f.s, AF_INET, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT);
    assert_fails(ust_socket(f.s, AF_INET, SOCK_DGRAM, IPPROTO_TCP), EPROTONOSUPPORT);
    assert_fails(ust_socket(f.s, AF_INET, SOCK_DGRAM, IPPROTO_ICMP), EPROTONOSUPPORT);
    assert_fails(ust_socket(NULL, AF_INET, SOCK_DGRAM, 0), EINVAL);
    int a = ust_socket(f.s, AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    int b = ust_socket(f.s, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(a > 0 && b > 0);
    assert_int_equal(ust_close(f.s, a), 0);
    assert_int_equal(ust_close(f.s, b), 0);
    finish(&f);
}

/* ---- bind ---- */

static void bind_rules(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int a = sock_new(&f), b = sock_new(&f);
    struct sockaddr_in any5000 = sin_of(0, 5000), us5000 = sin_of(T_IP_US, 5000);
    bind_to(&f, a, 0, 5000);
    /* Already bound. */
    assert_fails(ust_bind(f.s, a, SA(any5000), sizeof(any5000)), EINVAL);
    struct sockaddr_in any5001 = sin_of(0, 5001);
    assert_fails(ust_bind(f.s, a, SA(any5001), sizeof(any5001)), EINVAL);
    /* The same port: in use, on the wildcard or a specific address. */
    assert_fails(ust_bind(f.s, b, SA(any5000), sizeof(any5000)), EADDRINUSE);
    assert_fails(ust_bind(f.s, b, SA(us5000), sizeof(us5000)), EADDRINUSE);
    /* SO_REUSEADDR on one side only is not enough. */
    int one = 1;
    assert_int_equal(ust_setsockopt(f.s, b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    assert_fails(ust_bind(f.s, b, SA(any5000), sizeof(any5000)), EADDRINUSE);
    /* On both, they share. */
    assert_int_equal(ust_setsockopt(f.s, a, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    assert_int_equal(ust_bind(f.s, b, SA(any5000), sizeof(any5000)), 0);
    /* A specific address first, then the wildcard: a clash too. */
    int c = sock_new(&f), d = sock_new(&f);
    bind_to(&f, c, T_IP_US, 6000);
    struct sockaddr_in any6000 = sin_of(0, 6000);
    assert_fails(ust_bind(f.s, d, SA(any6000), sizeof(any6000)), EADDRINUSE);
    /* Closing frees the port. */
    assert_int_equal(ust_close(f.s, c), 0);
    assert_int_equal(ust_bind(f.s, d, SA(any6000), sizeof(any6000)), 0);
    /* Addresses that are not ours. */
    int e = sock_new(&f);
    struct sockaddr_in other = sin_of(T_IP_OTHER, 7000), remote = sin_of(T_IP_REMOTE, 7000);
    assert_fails(ust_bind(f.s, e, SA(other), sizeof(other)), EADDRNOTAVAIL);
    assert_fails(ust_bind(f.s, e, SA(remote), sizeof(remote)), EADDRNOTAVAIL);
    /* Malformed addresses. */
    struct sockaddr_in bad = sin_of(0, 7000);
    bad.sin_family = AF_INET6;
    assert_fails(ust_bind(f.s, e, SA(bad), sizeof(bad)), EAFNOSUPPORT);
    bad.sin_family = AF_INET;
    assert_fails(ust_bind(f.s, e, SA(bad), sizeof(bad) - 1), EINVAL);
    assert_fails(ust_bind(f.s, e, NULL, 0), EFAULT);
    /* The failures left it unbound. */
    struct sockaddr_in name;
    socklen_t nl = sizeof(name);
    assert_int_equal(ust_getsockname(f.s, e, SA(name), &nl), 0);
    assert_int_equal(name.sin_port, 0);
    bind_to(&f, e, T_IP_US, 7000);
    nl = sizeof(name);
    assert_int_equal(ust_getsockname(f.s, e, SA(name), &nl), 0);
    assert_int_equal(nl, sizeof(name));
    assert_int_equal(ntohl(name.sin_addr.s_addr), T_IP_US);
    assert_int_equal(ntohs(name.sin_port), 7000);
    int fds[] = {a, b, d, e};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(ust_close(f.s, fds[i]), 0);
    finish(&f);
}

static void ephemeral_ports(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 3);
    cfg.ephemeral_lo = 40000;
    cfg.ephemeral_hi = 40007;
    struct fixture f;
    fixture_init(&f, &cfg);
    fixture_learn_peer(&f);
    int fds[8];
    bool seen[8] = {false};
    /* One port of the range taken explicitly: port 0 never picks it. */
    fds[0] = sock_bound(&f, 0, 40003, false);
    seen[3] = true;
    for (int i = 1; i < 8; i++) {
        fds[i] = sock_new(&f);
        bind_to(&f, fds[i], 0, 0);
        struct sockaddr_in name;
        socklen_t nl = sizeof(name);
        assert_int_equal(ust_getsockname(f.s, fds[i], SA(name), &nl), 0);
        unsigned port = ntohs(name.sin_port);
        assert_true(port >= 40000 && port <= 40007);
        assert_false(seen[port - 40000]); /* distinct */
        seen[port - 40000] = true;
    }
    /* The range is full: explicit bind, send and connect cannot pick one. */
    int x = sock_new(&f);
    struct sockaddr_in any0 = sin_of(0, 0), peer = sin_of(T_IP_PEER, 9);
    assert_fails(ust_bind(f.s, x, SA(any0), sizeof(any0)), EADDRINUSE);
    assert_fails(ust_sendto(f.s, x, "a", 1, 0, SA(peer), sizeof(peer)), EADDRINUSE);
    assert_fails(ust_connect(f.s, x, SA(peer), sizeof(peer)), EADDRINUSE);
    assert_int_equal(cap_count(f.cap), 0);
    /* A port outside the range is still fine. */
    bind_to(&f, x, 0, 39999);
    /* Freeing one makes it available again. */
    struct sockaddr_in name;
    socklen_t nl = sizeof(name);
    assert_int_equal(ust_getsockname(f.s, fds[5], SA(name), &nl), 0);
    uint16_t freed = ntohs(name.sin_port);
    assert_int_equal(ust_close(f.s, fds[5]), 0);
    fds[5] = sock_new(&f);
    assert_int_equal(ust_sendto(f.s, fds[5], "a", 1, 0, SA(peer), sizeof(peer)), 1); /* binds */
    nl = sizeof(name);
    assert_int_equal(ust_getsockname(f.s, fds[5], SA(name), &nl), 0);
    assert_int_equal(ntohs(name.sin_port), freed);
    assert_int_equal(name.sin_addr.s_addr, 0); /* the wildcard */
    for (int i = 0; i < 8; i++)
        assert_int_equal(ust_close(f.s, fds[i]), 0);
    assert_int_equal(ust_close(f.s, x), 0);
    finish(&f);
}

/* Ephemeral ports of many sockets in the default range are all distinct. */
static void ephemeral_ports_many(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    enum { N = 500 };
    int fds[N];
    uint8_t *seen = calloc(65536, 1);
    for (int i = 0; i < N; i++) {
        fds[i] = sock_new(&f);
        bind_to(&f, fds[i], 0, 0);
        struct sockaddr_in name;
        socklen_t nl = sizeof(name);
        assert_int_equal(ust_getsockname(f.s, fds[i], SA(name), &nl), 0);
        unsigned port = ntohs(name.sin_port);
        assert_true(port >= 49152 && port <= 65535);
        assert_int_equal(seen[port], 0);
        seen[port] = 1;
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(ust_close(f.s, fds[i]), 0);
    free(seen);
    finish(&f);
}

/* ---- names, connect, send ---- */

static void names_and_connect(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    int a = sock_new(&f);
    struct sockaddr_in name;
    socklen_t nl = sizeof(name);
    assert_int_equal(ust_getsockname(f.s, a, SA(name), &nl), 0);
    assert_int_equal(name.sin_family, AF_INET);
    assert_int_equal(name.sin_addr.s_addr, 0);
    assert_int_equal(name.sin_port, 0);
    nl = sizeof(name);
    assert_fails(ust_getpeername(f.s, a, SA(name), &nl), ENOTCONN);
    assert_fails(ust_getpeername(f.s, a, NULL, &nl), EFAULT);
    /* Unconnected, without an address: nowhere to send. */
    assert_fails(ust_send(f.s, a, "x", 1, 0), EDESTADDRREQ);
    assert_fails(ust_sendto(f.s, a, "x", 1, 0, NULL, 0), EDESTADDRREQ);
    /* Connecting binds an ephemeral port and fixes the peer. */
    connect_to(&f, a, T_IP_PEER, 9999);
    nl = sizeof(name);
    assert_int_equal(ust_getpeername(f.s, a, SA(name), &nl), 0);
    assert_int_equal(ntohl(name.sin_addr.s_addr), T_IP_PEER);
    assert_int_equal(ntohs(name.sin_port), 9999);
    nl = sizeof(name);
    assert_int_equal(ust_getsockname(f.s, a, SA(name), &nl), 0);
    uint16_t lport = ntohs(name.sin_port);
    assert_true(lport >= 49152);
    /* A short buffer gets a truncated address and the full length. */
    uint8_t small[4];
    socklen_t sl = sizeof(small);
    assert_int_equal(ust_getpeername(f.s, a, (struct sockaddr *)small, &sl), 0);
    assert_int_equal(sl, sizeof(struct sockaddr_in));
    /* send goes to the peer. */
    assert_int_equal(ust_send(f.s, a, "hello", 5, 0), 5);
    uint8_t out[1600];
    size_t n = cap_pop(f.cap, out, sizeof(out));
    assert_int_equal(n, 60);
    assert_memory_equal(out, t_mac_peer, 6);
    const uint8_t *ip = out + ETH_HDR, *udp = ip + IPV4_HDR_LEN;
    assert_int_equal(ld32(ip + 12), T_IP_US);
    assert_int_equal(ld32(ip + 16), T_IP_PEER);
    assert_int_equal(ld16(udp), lport);
    assert_int_equal(ld16(udp + 2), 9999);
    assert_int_equal(ld16(udp + 4), 13);
    assert_int_equal(cksum_fold(cksum_add(ipv4_pseudo_sum(T_IP_US, T_IP_PEER, IPV4_PROTO_UDP, 13),
                                          udp, 13)),
                     0);
    assert_memory_equal(udp + 8, "hello", 5);
    assert_int_equal(ip[1], 0);  /* TOS */
    assert_int_equal(ip[8], 64); /* TTL: the default */
    /* IP_TTL and IP_TOS: what its datagrams carry (UDP's TOS as given). */
    int v = 7;
    assert_int_equal(ust_setsockopt(f.s, a, IPPROTO_IP, IP_TTL, &v, sizeof(v)), 0);
    v = 0x2b;
    assert_int_equal(ust_setsockopt(f.s, a, IPPROTO_IP, IP_TOS, &v, sizeof(v)), 0);
    assert_int_equal(ust_send(f.s, a, "tos", 3, 0), 3);
    n = cap_pop(f.cap, out, sizeof(out));
    assert_int_equal(ip[1], 0x2b);
    assert_int_equal(ip[8], 7);
    /* A connected socket hears only from its peer; from another port the
     * datagram finds nobody (port unreachable). */
    inject_udp(&f, T_IP_PEER, 9999, lport, "from peer", 9);
    inject_udp(&f, T_IP_PEER, 9998, lport, "stranger", 8);
    expect_recv(&f, a, "from peer", T_IP_PEER, 9999);
    expect_empty(&f, a);
    assert_int_equal(st(&f)->udp.drop_no_port, 1);
    assert_int_equal(cap_count(f.cap), 1);
    cap_clear(f.cap);
    /* sendto with an address on a connected socket goes there. */
    struct sockaddr_in other = sin_of(T_IP_PEER, 1111);
    assert_int_equal(ust_sendto(f.s, a, "x", 1, 0, SA(other), sizeof(other)), 1);
    n = cap_pop(f.cap, out, sizeof(out));
    assert_int_equal(ld16(out + UDP_OFF + 2), 1111);
    /* AF_UNSPEC dissolves the association; the port stays. */
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    assert_int_equal(ust_connect(f.s, a, &unspec, sizeof(unspec)), 0);
    nl = sizeof(name);
    assert_fails(ust_getpeername(f.s, a, SA(name), &nl), ENOTCONN);
    assert_fails(ust_send(f.s, a, "x", 1, 0), EDESTADDRREQ);
    inject_udp(&f, T_IP_PEER, 9998, lport, "anyone", 6);
    expect_recv(&f, a, "anyone", T_IP_PEER, 9998);
    /* Bad arguments. */
    struct sockaddr_in zero = sin_of(0, 0), noport = sin_of(T_IP_PEER, 0);
    assert_fails(ust_connect(f.s, a, SA(zero), sizeof(zero)), EINVAL);
    assert_fails(ust_connect(f.s, a, SA(noport), sizeof(noport)), EINVAL);
    assert_fails(ust_sendto(f.s, a, "x", 1, 0, SA(noport), sizeof(noport)), EINVAL);
    assert_fails(ust_sendto(f.s, a, "x", 1, MSG_OOB, SA(other), sizeof(other)), EOPNOTSUPP);
    assert_fails(ust_sendto(f.s, a, NULL, 1, 0, SA(other), sizeof(other)), EFAULT);
    /* An empty datagram is a datagram. */
    assert_int_equal(ust_sendto(f.s, a, NULL, 0, 0, SA(other), sizeof(other)), 0);
    n = cap_pop(f.cap, out, sizeof(out));
    assert_int_equal(ld16(out + UDP_OFF + 4), 8);
    assert_int_equal(ust_close(f.s, a), 0);
    assert_int_equal(st(&f)->pkb.live, 0);
    finish(&f);
}

static void no_route_is_enetunreach(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    assert_int_equal(ust_route_del(f.s, 0, 0), 0);
    int a = sock_new(&f);
    struct sockaddr_in remote = sin_of(T_IP_REMOTE, 9);
    assert_fails(ust_sendto(f.s, a, "x", 1, 0, SA(remote), sizeof(remote)), ENETUNREACH);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(ust_close(f.s, a), 0);
    assert_int_equal(st(&f)->pkb.live, 0);
    finish(&f);
}

/* ---- broadcast ---- */

static void broadcast_send(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int a = sock_new(&f);
    struct sockaddr_in lim = sin_of(T_LIMITED, 6000), sub = sin_of(T_BCAST, 6000);
    assert_fails(ust_sendto(f.s, a, "x", 1, 0, SA(lim), sizeof(lim)), EACCES);
    assert_fails(ust_sendto(f.s, a, "x", 1, 0, SA(sub), sizeof(sub)), EACCES);
    assert_int_equal(cap_count(f.cap), 0);
    int one = 1, v = 0;
    socklen_t vl = sizeof(v);
    assert_int_equal(ust_setsockopt(f.s, a, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)), 0);
    assert_int_equal(ust_getsockopt(f.s, a, SOL_SOCKET, SO_BROADCAST, &v, &vl), 0);
    assert_int_equal(v, 1);
    const ust_ip4_t dsts[2] = {T_LIMITED, T_BCAST};
    for (int i = 0; i < 2; i++) {
        struct sockaddr_in to = sin_of(dsts[i], 6000);
        assert_int_equal(ust_sendto(f.s, a, "bcast", 5, 0, SA(to), sizeof(to)), 5);
        /* Straight onto the link as an Ethernet broadcast: no ARP, no
         * gateway (RFC 1122 3.3.6, RFC 919). */
        assert_int_equal(cap_count(f.cap), 1);
        uint8_t out[1600];
        cap_pop(f.cap, out, sizeof(out));
        assert_memory_equal(out, mac_bcast, 6);
        assert_int_equal(ld16(out + 12), 0x0800);
        assert_int_equal(ld32(out + ETH_HDR + 12), T_IP_US);
        assert_int_equal(ld32(out + ETH_HDR + 16), dsts[i]);
        assert_int_equal(ld16(out + UDP_OFF + 2), 6000);
        assert_memory_equal(out + UDP_OFF + 8, "bcast", 5);
    }
    /* Connected to a broadcast address: send needs SO_BROADCAST too. */
    int b = sock_new(&f);
    connect_to(&f, b, T_BCAST, 6000);
    assert_fails(ust_send(f.s, b, "x", 1, 0), EACCES);
    assert_int_equal(ust_close(f.s, a), 0);
    assert_int_equal(ust_close(f.s, b), 0);
    assert_int_equal(st(&f)->pkb.live, 0);
    finish(&f);
}

static void broadcast_reaches_every_matching_socket(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int w1 = sock_bound(&f, 0, 6000, true);
    int w2 = sock_bound(&f, 0, 6000, true);
    int lim = sock_bound(&f, T_LIMITED, 6000, true);
    int uni = sock_bound(&f, T_IP_US, 6000, true);
    int conn = sock_bound(&f, 0, 6000, true);
    connect_to(&f, conn, T_IP_OTHER, 1234);
    int other = sock_bound(&f, 0, 6001, false);
    /* To the subnet broadcast: the wildcard sockets. */
    inject_bcast(&f, T_BCAST, 6000, "subnet", 6);
    expect_recv(&f, w1, "subnet", T_IP_PEER, 1234);
    expect_recv(&f, w2, "subnet", T_IP_PEER, 1234);
    expect_empty(&f, lim);
    expect_empty(&f, uni);
    expect_empty(&f, conn);
    expect_empty(&f, other);
    /* To the limited broadcast: those and the one bound to it. */
    inject_bcast(&f, T_LIMITED, 6000, "limited", 7);
    expect_recv(&f, w1, "limited", T_IP_PEER, 1234);
    expect_recv(&f, w2, "limited", T_IP_PEER, 1234);
    expect_recv(&f, lim, "limited", T_IP_PEER, 1234);
    expect_empty(&f, uni);
    expect_empty(&f, conn);
    expect_empty(&f, other);
    assert_int_equal(st(&f)->udp.queued, 5);
    /* Unicast to us: the most specific socket, only. */
    inject_udp(&f, T_IP_PEER, 1234, 6000, "unicast", 7);
    expect_recv(&f, uni, "unicast", T_IP_PEER, 1234);
    expect_empty(&f, w1);
    expect_empty(&f, w2);
    expect_empty(&f, lim);
    /* A broadcast to a port nobody has: counted, never an ICMP error. */
    fixture_learn_peer(&f);
    inject_bcast(&f, T_BCAST, 6002, "nobody", 6);
    inject_bcast(&f, T_LIMITED, 6002, "nobody", 6);
    assert_int_equal(st(&f)->udp.drop_no_port, 2);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->icmp.tx, 0);
    /* An Ethernet broadcast carrying our unicast address is not for us. */
    uint8_t frame[200];
    size_t n = udp_frame(frame, mac_bcast, T_IP_PEER, 1234, T_IP_US, 6002, "x", 1);
    fixture_input(&f, frame, n);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->udp.rx, 5);
    int fds[] = {w1, w2, lim, uni, conn, other};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(ust_close(f.s, fds[i]), 0);
    finish(&f);
}

/* ---- demultiplexing ---- */

static void demux_prefers_the_most_specific(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    /* Connected beats wildcard, whichever was bound first. */
    for (int order = 0; order < 2; order++) {
        uint16_t port = (uint16_t)(5000 + order);
        int wild = -1, conn = -1;
        if (order == 0)
            wild = sock_bound(&f, 0, port, true);
        conn = sock_bound(&f, 0, port, true);
        connect_to(&f, conn, T_IP_PEER, 7777);
        if (order == 1)
            wild = sock_bound(&f, 0, port, true);
        inject_udp(&f, T_IP_PEER, 7777, port, "to conn", 7);
        inject_udp(&f, T_IP_PEER, 7778, port, "to wild", 7);
        inject_udp(&f, T_IP_OTHER, 7777, port, "to wild2", 8);
        expect_recv(&f, conn, "to conn", T_IP_PEER, 7777);
        expect_empty(&f, conn);
        expect_recv(&f, wild, "to wild", T_IP_PEER, 7778);
        expect_recv(&f, wild, "to wild2", T_IP_OTHER, 7777);
        expect_empty(&f, wild);
        assert_int_equal(ust_close(f.s, wild), 0);
        assert_int_equal(ust_close(f.s, conn), 0);
    }
    /* A specific address beats the wildcard, whichever was bound first. */
    for (int order = 0; order < 2; order++) {
        uint16_t port = (uint16_t)(5100 + order);
        int wild = -1, spec = -1;
        if (order == 0)
            wild = sock_bound(&f, 0, port, true);
        spec = sock_bound(&f, T_IP_US, port, true);
        if (order == 1)
            wild = sock_bound(&f, 0, port, true);
        inject_udp(&f, T_IP_PEER, 7777, port, "specific", 8);
        expect_recv(&f, spec, "specific", T_IP_PEER, 7777);
        expect_empty(&f, wild);
        /* ...but a connected wildcard beats a specific unconnected one. */
        int conn = sock_bound(&f, 0, port, true);
        connect_to(&f, conn, T_IP_PEER, 7777);
        inject_udp(&f, T_IP_PEER, 7777, port, "connected", 9);
        expect_recv(&f, conn, "connected", T_IP_PEER, 7777);
        expect_empty(&f, spec);
        expect_empty(&f, wild);
        assert_int_equal(ust_close(f.s, wild), 0);
        assert_int_equal(ust_close(f.s, spec), 0);
        assert_int_equal(ust_close(f.s, conn), 0);
    }
    finish(&f);
}

/* ---- UDP input checks ---- */

static void port_unreachable(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t frame[200];
    const char data[] = "knock knock";
    size_t n = udp_frame(frame, t_mac_us, T_IP_PEER, 4000, T_IP_US, 5555, data, sizeof(data));
    fixture_input(&f, frame, n);
    assert_int_equal(st(&f)->udp.drop_no_port, 1);
    assert_int_equal(st(&f)->icmp.tx_dest_unreach, 1);
    assert_int_equal(cap_count(f.cap), 1);
    /* Type 3 code 3, quoting the IP header and the first 8 bytes after it. */
    expect_icmp_error(&f, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, frame + ETH_HDR, IPV4_HDR_LEN + 8);
    /* Once a socket is there, the datagram is delivered instead. */
    int a = sock_bound(&f, 0, 5555, false);
    fixture_input(&f, frame, n);
    assert_int_equal(cap_count(f.cap), 0);
    char buf[64];
    assert_int_equal(ust_recv(f.s, a, buf, sizeof(buf), 0), sizeof(data));
    assert_int_equal(ust_close(f.s, a), 0);
    /* Closed again: unreachable again. */
    fixture_input(&f, frame, n);
    assert_int_equal(cap_count(f.cap), 1);
    assert_int_equal(st(&f)->pkb.live, 0);
    finish(&f);
}

static void checksum_and_length_checks(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    int a = sock_bound(&f, 0, 5000, false);
    uint8_t frame[200];
    /* Checksum 0: the sender computed none (RFC 768); accepted. */
    size_t n = udp_frame(frame, t_mac_us, T_IP_PEER, 1, T_IP_US, 5000, "nosum", 5);
    st16(frame + UDP_OFF + 6, 0);
    fixture_input(&f, frame, n);
    expect_recv(&f, a, "nosum", T_IP_PEER, 1);
    /* A wrong checksum: dropped, counted, no ICMP. */
    n = udp_frame(frame, t_mac_us, T_IP_PEER, 1, T_IP_US, 5000, "badsum", 6);
    frame[UDP_OFF + 8] ^= 0x40;
    fixture_input(&f, frame, n);
    expect_empty(&f, a);
    assert_int_equal(st(&f)->udp.drop_checksum, 1);
    /* 0xffff is how a computed zero travels: also fine. Find a payload
     * whose checksum computes to zero. */
    bool found = false;
    for (uint32_t v = 0; v < 65536 && !found; v++) {
        uint8_t d[2] = {(uint8_t)(v >> 8), (uint8_t)v};
        n = udp_frame(frame, t_mac_us, T_IP_PEER, 1, T_IP_US, 5000, d, 2);
        if (ld16(frame + UDP_OFF + 6) == 0xffff) {
            found = true;
            fixture_input(&f, frame, n);
            char buf[4];
            assert_int_equal(ust_recv(f.s, a, buf, sizeof(buf), 0), 2);
            assert_memory_equal(buf, d, 2);
        }
    }
    assert_true(found);
    /* The length field claims more than the packet holds. */
    n = udp_frame(frame, t_mac_us, T_IP_PEER, 1, T_IP_US, 5000, "liar", 4);
    st16(frame + UDP_OFF + 4, 8 + 4 + 1);
    fixture_input(&f, frame, n);
    /* ...less than a header. */
    n = udp_frame(frame, t_mac_us, T_IP_PEER, 1, T_IP_US, 5000, "liar", 4);
    st16(frame + UDP_OFF + 4, 7);
    fixture_input(&f, frame, n);
    /* ...and a packet too short for a UDP header at all. */
    n = build_ipv4(frame + ETH_HDR, T_IP_PEER, T_IP_US, IPV4_PROTO_UDP, 1, 0, 64, "abcd", 4);
    n = build_eth(frame, t_mac_us, t_mac_peer, 0x0800, frame + ETH_HDR, n);
    fixture_input(&f, frame, n);
    expect_empty(&f, a);
    assert_int_equal(st(&f)->udp.drop_malformed, 3);
    assert_int_equal(cap_count(f.cap), 0); /* no ICMP for garbage */
    /* A length field shorter than the IP payload: the bytes after it are
     * not part of the datagram. */
    uint8_t *udp = frame + UDP_OFF;
    memcpy(udp + 8, "shortJUNK", 9);
    struct udp_repr u = {.sport = 1, .dport = 5000};
    udp_emit(&u, ipv4_pseudo_sum(T_IP_PEER, T_IP_US, IPV4_PROTO_UDP, 0), udp, 5);
    n = build_ipv4(frame + ETH_HDR, T_IP_PEER, T_IP_US, IPV4_PROTO_UDP, 2, 0, 64, udp, 8 + 9);
    n = build_eth(frame, t_mac_us, t_mac_peer, 0x0800, frame + ETH_HDR, n);
    fixture_input(&f, frame, n);
    expect_recv(&f, a, "short", T_IP_PEER, 1);
    /* Ethernet padding after a short datagram is not part of it either. */
    n = udp_frame(frame, t_mac_us, T_IP_PEER, 1, T_IP_US, 5000, "pad", 3);
    assert_true(n < 60);
    memset(frame + n, 0xee, 60 - n);
    fixture_input(&f, frame, 60);
    expect_recv(&f, a, "pad", T_IP_PEER, 1);
    assert_int_equal(ust_close(f.s, a), 0);
    finish(&f);
}

static void receive_queue_bounded_by_rcvbuf(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int a = sock_bound(&f, 0, 5000, false);
    int v = 1024;
    socklen_t vl = sizeof(v);
    assert_int_equal(ust_setsockopt(f.s, a, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), 0);
    assert_int_equal(ust_getsockopt(f.s, a, SOL_SOCKET, SO_RCVBUF, &v, &vl), 0);
    assert_int_equal(v, 2048);
    uint8_t data[100];
    for (int i = 0; i < 100; i++)
        data[i] = (uint8_t)i;
    for (int i = 0; i < 50; i++) {
        data[0] = (uint8_t)i;
        inject_udp(&f, T_IP_PEER, 1, 5000, data, sizeof(data));
    }
    uint64_t queued = st(&f)->udp.queued, dropped = st(&f)->udp.drop_rcvbuf;
    assert_true(queued >= 1);
    assert_true(queued * sizeof(data) <= 2048);
    assert_int_equal(queued + dropped, 50);
    /* The queue holds the first ones, in order. */
    uint8_t buf[200];
    assert_int_equal(ust_recv(f.s, a, buf, sizeof(buf), 0), 100);
    assert_int_equal(buf[0], 0);
    /* Reading one makes room for one more. */
    data[0] = 99;
    inject_udp(&f, T_IP_PEER, 1, 5000, data, sizeof(data));
    assert_int_equal(st(&f)->udp.queued, queued + 1);
    for (uint64_t i = 1; i < queued; i++) {
        assert_int_equal(ust_recv(f.s, a, buf, sizeof(buf), 0), 100);
        assert_int_equal(buf[0], i);
    }
    assert_int_equal(ust_recv(f.s, a, buf, sizeof(buf), 0), 100);
    assert_int_equal(buf[0], 99);
    expect_empty(&f, a);
    assert_int_equal(ust_close(f.s, a), 0);
    finish(&f);
}

/* Empty datagrams carry no payload, but they cost memory: a flood of them
 * must not grow a queue without bound. */
static void rcvbuf_bounds_empty_datagrams(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int a = sock_bound(&f, 0, 5000, false);
    int v = 1; /* the minimum, 2048 */
    assert_int_equal(ust_setsockopt(f.s, a, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), 0);
    for (int i = 0; i < 5000; i++)
        inject_udp(&f, T_IP_PEER, 1, 5000, NULL, 0);
    assert_true(st(&f)->udp.drop_rcvbuf > 0);
    assert_true(st(&f)->udp.queued < 2048);
    char buf[4];
    assert_int_equal(ust_recv(f.s, a, buf, sizeof(buf), 0), 0);
    assert_int_equal(ust_close(f.s, a), 0);
    finish(&f);
}

/* ---- receiving ---- */

static short events_of(struct fixture *f, int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    assert_true(ust_poll(f->s, &p, 1, 0) >= 0);
    return p.revents;
}

/* shutdown() of a UDP socket, as Linux: SHUT_RD ends recv (0) once the
 * queue is empty, and poll says so; an unconnected socket answers
 * ENOTCONN but is shut down all the same (a blocked recvfrom wakes). */
static void shutdown_ends_receiving(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int a = sock_bound(&f, 0, 5000, false);
    char buf[16];
    assert_int_equal(events_of(&f, a, POLLIN | POLLRDHUP), 0);
    inject_udp(&f, T_IP_PEER, 1, 5000, "queued", 6);
    assert_fails(ust_shutdown(f.s, a, SHUT_RDWR), ENOTCONN);
    assert_int_equal(events_of(&f, a, POLLIN | POLLRDHUP), POLLIN | POLLRDHUP);
    assert_int_equal(ust_recv(f.s, a, buf, sizeof(buf), 0), 6); /* what came first */
    assert_int_equal(ust_recv(f.s, a, buf, sizeof(buf), 0), 0);
    assert_int_equal(ust_recv(f.s, a, buf, sizeof(buf), 0), 0);
    int c = sock_new(&f);
    connect_to(&f, c, T_IP_PEER, 9999);
    assert_int_equal(ust_shutdown(f.s, c, SHUT_WR), 0);
    assert_fails(ust_recv(f.s, c, buf, sizeof(buf), 0), EAGAIN); /* reading goes on */
    assert_int_equal(ust_shutdown(f.s, c, SHUT_RD), 0);
    assert_int_equal(ust_recv(f.s, c, buf, sizeof(buf), 0), 0);
    ust_close(f.s, a);
    ust_close(f.s, c);
    finish(&f);
}

static void recv_flags(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int a = sock_bound(&f, 0, 5000, false);
    char buf[256];
    /* Nothing queued: EAGAIN at once (embedded, even without O_NONBLOCK). */
    assert_fails(ust_recv(f.s, a, buf, sizeof(buf), 0), EAGAIN);
    assert_fails(ust_recv(f.s, a, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
    assert_fails(ust_recv(f.s, a, buf, sizeof(buf), MSG_OOB), EOPNOTSUPP);
    assert_fails(ust_recv(f.s, a, NULL, 10, 0), EFAULT);
    inject_udp(&f, T_IP_PEER, 1, 5000, "first", 5);
    inject_udp(&f, T_IP_OTHER, 2, 5000, "second", 6);
    /* MSG_PEEK leaves the datagram there, address and all. */
    for (int i = 0; i < 2; i++) {
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        memset(buf, 0, sizeof(buf));
        assert_int_equal(ust_recvfrom(f.s, a, buf, sizeof(buf), MSG_PEEK, SA(from), &fl), 5);
        assert_memory_equal(buf, "first", 5);
        assert_int_equal(ntohl(from.sin_addr.s_addr), T_IP_PEER);
        assert_int_equal(ntohs(from.sin_port), 1);
    }
    expect_recv(&f, a, "first", T_IP_PEER, 1);
    expect_recv(&f, a, "second", T_IP_OTHER, 2);
    expect_empty(&f, a);
    /* A short buffer: the rest of the datagram is discarded; MSG_TRUNC
     * reports the real length. */
    char big[100];
    for (int i = 0; i < 100; i++)
        big[i] = (char)('a' + i % 26);
    inject_udp(&f, T_IP_PEER, 1, 5000, big, sizeof(big));
    inject_udp(&f, T_IP_PEER, 1, 5000, big, sizeof(big));
    inject_udp(&f, T_IP_PEER, 1, 5000, big, sizeof(big));
    memset(buf, 0, sizeof(buf));
    assert_int_equal(ust_recv(f.s, a, buf, 10, MSG_PEEK | MSG_TRUNC), 100);
    assert_memory_equal(buf, big, 10);
    assert_int_equal(buf[10], 0);
    assert_int_equal(ust_recv(f.s, a, buf, 10, MSG_TRUNC), 100);
    assert_int_equal(ust_recv(f.s, a, buf, 10, 0), 10);
    assert_memory_equal(buf, big, 10);
    assert_int_equal(ust_recv(f.s, a, NULL, 0, 0), 0); /* the third, thrown away */
    expect_empty(&f, a);
    /* An empty datagram reads as 0 bytes. */
    inject_udp(&f, T_IP_PEER, 1, 5000, NULL, 0);
    assert_int_equal(ust_recv(f.s, a, buf, sizeof(buf), 0), 0);
    expect_empty(&f, a);
    /* A short address buffer: truncated, full length reported. */
    inject_udp(&f, T_IP_PEER, 1, 5000, "x", 1);
    uint8_t small[6];
    memset(small, 0xcc, sizeof(small));
    socklen_t sl = 4;
    assert_int_equal(ust_recvfrom(f.s, a, buf, sizeof(buf), 0, (struct sockaddr *)small, &sl), 1);
    assert_int_equal(sl, sizeof(struct sockaddr_in));
    assert_int_equal(small[4], 0xcc); /* nothing written past the 4 bytes */
    assert_int_equal(ust_close(f.s, a), 0);
    assert_int_equal(st(&f)->udp.delivered, 7);
    finish(&f);
}

/* ---- options ---- */

static void socket_options(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int a = sock_new(&f);
    int v = 0;
    socklen_t vl = sizeof(v);
    /* Buffers: the default, then doubled like Linux, with a floor. */
    assert_int_equal(ust_getsockopt(f.s, a, SOL_SOCKET, SO_RCVBUF, &v, &vl), 0);
    assert_int_equal(v, 212992);
    assert_int_equal(vl, sizeof(int));
    const int names[2] = {SO_RCVBUF, SO_SNDBUF};
    for (int i = 0; i < 2; i++) {
        v = 4096;
        assert_int_equal(ust_setsockopt(f.s, a, SOL_SOCKET, names[i], &v, sizeof(v)), 0);
        vl = sizeof(v);
        assert_int_equal(ust_getsockopt(f.s, a, SOL_SOCKET, names[i], &v, &vl), 0);
        assert_int_equal(v, 8192);
        v = 0;
        assert_int_equal(ust_setsockopt(f.s, a, SOL_SOCKET, names[i], &v, sizeof(v)), 0);
        assert_int_equal(ust_getsockopt(f.s, a, SOL_SOCKET, names[i], &v, &vl), 0);
        assert_int_equal(v, 2048);
        v = -5;
        assert_int_equal(ust_setsockopt(f.s, a, SOL_SOCKET, names[i], &v, sizeof(v)), 0);
        assert_int_equal(ust_getsockopt(f.s, a, SOL_SOCKET, names[i], &v, &vl), 0);
        assert_int_equal(v, 2048);
        v = 1 << 30;
        assert_int_equal(ust_setsockopt(f.s, a, SOL_SOCKET, names[i], &v, sizeof(v)), 0);
        assert_int_equal(ust_getsockopt(f.s, a, SOL_SOCKET, names[i], &v, &vl), 0);
        assert_true(v > 0 && v <= (1 << 30)); /* capped, no overflow */
        assert_fails(ust_setsockopt(f.s, a, SOL_SOCKET, names[i], &v, 2), EINVAL);
    }
    /* Timeouts round trip. */
    const int tnames[2] = {SO_RCVTIMEO, SO_SNDTIMEO};
    for (int i = 0; i < 2; i++) {
        struct timeval tv = {.tv_sec = 2, .tv_usec = 500000}, got;
        socklen_t tl = sizeof(got);
        assert_int_equal(ust_getsockopt(f.s, a, SOL_SOCKET, tnames[i], &got, &tl), 0);
        assert_int_equal(got.tv_sec, 0); /* default: wait forever */
        assert_int_equal(got.tv_usec, 0);
        assert_int_equal(ust_setsockopt(f.s, a, SOL_SOCKET, tnames[i], &tv, sizeof(tv)), 0);
        tl = sizeof(got);
        assert_int_equal(ust_getsockopt(f.s, a, SOL_SOCKET, tnames[i], &got, &tl), 0);
        assert_int_equal(tl, sizeof(got));
        assert_int_equal(got.tv_sec, 2);
        assert_int_equal(got.tv_usec, 500000);
        struct timeval bad = {.tv_sec = 1, .tv_usec = 1000000};
        assert_fails(ust_setsockopt(f.s, a, SOL_SOCKET, tnames[i], &bad, sizeof(bad)), EDOM);
        assert_fails(ust_setsockopt(f.s, a, SOL_SOCKET, tnames[i], &tv, sizeof(tv) - 1), EINVAL);
        tl = sizeof(got) - 1;
        assert_fails(ust_getsockopt(f.s, a, SOL_SOCKET, tnames[i], &got, &tl), EINVAL);
    }
    /* Flags. */
    vl = sizeof(v);
    assert_int_equal(ust_getsockopt(f.s, a, SOL_SOCKET, SO_REUSEADDR, &v, &vl), 0);
    assert_int_equal(v, 0);
    v = 7;
    assert_int_equal(ust_setsockopt(f.s, a, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)), 0);
    assert_int_equal(ust_getsockopt(f.s, a, SOL_SOCKET, SO_REUSEADDR, &v, &vl), 0);
    assert_int_equal(v, 1);
    v = 0;
    assert_int_equal(ust_setsockopt(f.s, a, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)), 0);
    assert_int_equal(ust_getsockopt(f.s, a, SOL_SOCKET, SO_REUSEADDR, &v, &vl), 0);
    assert_int_equal(v, 0);
    /* Read-only ones. */
    assert_int_equal(ust_getsockopt(f.s, a, SOL_SOCKET, SO_TYPE, &v, &vl), 0);
    assert_int_equal(v, SOCK_DGRAM);
    assert_int_equal(ust_getsockopt(f.s, a, SOL_SOCKET, SO_ERROR, &v, &vl), 0);
    assert_int_equal(v, 0);
    assert_fails(ust_setsockopt(f.s, a, SOL_SOCKET, SO_TYPE, &v, sizeof(v)), ENOPROTOOPT);
    assert_fails(ust_setsockopt(f.s, a, SOL_SOCKET, SO_ERROR, &v, sizeof(v)), ENOPROTOOPT);
    assert_int_equal(ust_getsockopt(f.s, a, SOL_SOCKET, SO_PROTOCOL, &v, &vl), 0);
    assert_int_equal(v, IPPROTO_UDP);
    assert_int_equal(ust_getsockopt(f.s, a, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl), 0);
    assert_int_equal(v, 0);
    assert_fails(ust_setsockopt(f.s, a, SOL_SOCKET, SO_PROTOCOL, &v, sizeof(v)), ENOPROTOOPT);
    /* Unknown level or name. */
    assert_fails(ust_setsockopt(f.s, a, IPPROTO_IP, IP_FREEBIND, &v, sizeof(v)), ENOPROTOOPT);
    assert_fails(ust_getsockopt(f.s, a, IPPROTO_IP, IP_FREEBIND, &v, &vl), ENOPROTOOPT);
    assert_fails(ust_setsockopt(f.s, a, IPPROTO_UDP, 1, &v, sizeof(v)), ENOPROTOOPT);
    assert_fails(ust_setsockopt(f.s, a, SOL_SOCKET, 9999, &v, sizeof(v)), ENOPROTOOPT);
    assert_fails(ust_getsockopt(f.s, a, SOL_SOCKET, 9999, &v, &vl), ENOPROTOOPT);
    /* Too small for an int. */
    vl = 2;
    assert_fails(ust_getsockopt(f.s, a, SOL_SOCKET, SO_TYPE, &v, &vl), EINVAL);
    assert_fails(ust_setsockopt(f.s, a, SOL_SOCKET, SO_BROADCAST, NULL, sizeof(int)), EINVAL);
    assert_int_equal(ust_close(f.s, a), 0);
    finish(&f);
}

static void fcntl_nonblock(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int a = sock_new(&f);
    int fl = ust_fcntl(f.s, a, F_GETFL, 0);
    assert_true(fl >= 0);
    assert_int_equal(fl & O_NONBLOCK, 0);
    assert_int_equal(fl & O_ACCMODE, O_RDWR);
    assert_int_equal(ust_fcntl(f.s, a, F_SETFL, fl | O_NONBLOCK), 0);
    assert_int_equal(ust_fcntl(f.s, a, F_GETFL, 0) & O_NONBLOCK, O_NONBLOCK);
    assert_int_equal(ust_fcntl(f.s, a, F_SETFL, 0), 0);
    assert_int_equal(ust_fcntl(f.s, a, F_GETFL, 0) & O_NONBLOCK, 0);
    int b = ust_socket(f.s, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(b > 0);
    assert_int_equal(ust_fcntl(f.s, b, F_GETFL, 0) & O_NONBLOCK, O_NONBLOCK);
    char buf[4];
    assert_fails(ust_recv(f.s, b, buf, sizeof(buf), 0), EAGAIN);
    assert_fails(ust_fcntl(f.s, a, F_GETFD, 0), EINVAL);
    assert_int_equal(ust_close(f.s, a), 0);
    assert_int_equal(ust_close(f.s, b), 0);
    finish(&f);
}

/* ---- ICMP errors for our datagrams ---- */

/* Sends one datagram from fd and returns (in quote) its IP header and the
 * 8 bytes after it, as a router or host would quote them. */
static void send_and_quote(struct fixture *f, int fd, const struct sockaddr_in *to,
                           uint8_t quote[IPV4_HDR_LEN + 8])
{
    if (to)
        assert_int_equal(ust_sendto(f->s, fd, "probe", 5, 0, (const struct sockaddr *)to,
                                    sizeof(*to)),
                         5);
    else
        assert_int_equal(ust_send(f->s, fd, "probe", 5, 0), 5);
    uint8_t out[1600];
    assert_int_equal(cap_count(f->cap), 1);
    cap_pop(f->cap, out, sizeof(out));
    memcpy(quote, out + ETH_HDR, IPV4_HDR_LEN + 8);
}

static void inject_icmp_error(struct fixture *f, uint8_t type, uint8_t code,
                              const uint8_t quote[IPV4_HDR_LEN + 8])
{
    uint8_t frame[200];
    size_t n = build_icmp(frame + 34, type, code, 0, quote, IPV4_HDR_LEN + 8);
    n = build_ipv4(frame + ETH_HDR, T_IP_PEER, T_IP_US, IPV4_PROTO_ICMP, 77, 0, 64, frame + 34, n);
    n = build_eth(frame, t_mac_us, t_mac_peer, 0x0800, frame + ETH_HDR, n);
    fixture_input(f, frame, n);
}

static short revents_of(struct fixture *f, int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n = ust_poll(f->s, &p, 1, 0);
    assert_int_equal(n, p.revents ? 1 : 0);
    return p.revents;
}

static void icmp_port_unreachable_for_connected_socket(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    int c = sock_new(&f);
    connect_to(&f, c, T_IP_PEER, 7777);
    /* Unconnected sockets sending to the same place hear nothing. */
    int u = sock_new(&f);
    struct sockaddr_in peer = sin_of(T_IP_PEER, 7777);
    uint8_t qc[28], qu[28];
    send_and_quote(&f, u, &peer, qu);
    inject_icmp_error(&f, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, qu);
    assert_int_equal(st(&f)->icmp.rx_error, 1);
    assert_int_equal(st(&f)->udp.icmp_errors, 0);
    int v = -1;
    socklen_t vl = sizeof(v);
    assert_int_equal(ust_getsockopt(f.s, u, SOL_SOCKET, SO_ERROR, &v, &vl), 0);
    assert_int_equal(v, 0);
    expect_empty(&f, u);
    assert_int_equal(revents_of(&f, u, POLLIN | POLLOUT), POLLOUT);
    assert_int_equal(ust_sendto(f.s, u, "ok", 2, 0, SA(peer), sizeof(peer)), 2);
    cap_clear(f.cap);

    /* 1. The next recv reports it, once. */
    send_and_quote(&f, c, NULL, qc);
    inject_icmp_error(&f, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, qc);
    assert_int_equal(st(&f)->udp.icmp_errors, 1);
    assert_int_equal(revents_of(&f, c, POLLIN | POLLOUT), POLLIN | POLLOUT | POLLERR);
    assert_int_equal(revents_of(&f, c, 0), POLLERR); /* reported even unasked */
    char buf[16];
    assert_fails(ust_recv(f.s, c, buf, sizeof(buf), 0), ECONNREFUSED);
    assert_fails(ust_recv(f.s, c, buf, sizeof(buf), 0), EAGAIN);
    vl = sizeof(v);
    assert_int_equal(ust_getsockopt(f.s, c, SOL_SOCKET, SO_ERROR, &v, &vl), 0);
    assert_int_equal(v, 0);
    assert_int_equal(revents_of(&f, c, POLLIN | POLLOUT), POLLOUT);

    /* 2. Or the next send, which then sends nothing. */
    inject_icmp_error(&f, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, qc);
    assert_fails(ust_send(f.s, c, "x", 1, 0), ECONNREFUSED);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(ust_send(f.s, c, "x", 1, 0), 1);
    assert_int_equal(cap_count(f.cap), 1);
    cap_clear(f.cap);

    /* 3. Or SO_ERROR, which reads and clears it. */
    inject_icmp_error(&f, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, qc);
    vl = sizeof(v);
    assert_int_equal(ust_getsockopt(f.s, c, SOL_SOCKET, SO_ERROR, &v, &vl), 0);
    assert_int_equal(v, ECONNREFUSED);
    assert_int_equal(ust_getsockopt(f.s, c, SOL_SOCKET, SO_ERROR, &v, &vl), 0);
    assert_int_equal(v, 0);
    expect_empty(&f, c);

    /* 4. The error comes before data already queued (as Linux). */
    inject_udp(&f, T_IP_PEER, 7777, ld16(qc + IPV4_HDR_LEN), "data", 4);
    inject_icmp_error(&f, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, qc);
    assert_fails(ust_recv(f.s, c, buf, sizeof(buf), 0), ECONNREFUSED);
    expect_recv(&f, c, "data", T_IP_PEER, 7777);

    /* Other errors map to other errnos. */
    inject_icmp_error(&f, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, qc);
    assert_fails(ust_recv(f.s, c, buf, sizeof(buf), 0), EHOSTUNREACH);
    inject_icmp_error(&f, ICMP_DEST_UNREACH, ICMP_NET_UNREACH, qc);
    assert_fails(ust_recv(f.s, c, buf, sizeof(buf), 0), ENETUNREACH);

    /* An error quoting another peer port does not concern it. */
    uint8_t qo[28];
    memcpy(qo, qc, sizeof(qo));
    st16(qo + IPV4_HDR_LEN + 2, 7778);
    inject_icmp_error(&f, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, qo);
    expect_empty(&f, c);

    /* Dissolving the association: no more errors. */
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    assert_int_equal(ust_connect(f.s, c, &unspec, sizeof(unspec)), 0);
    inject_icmp_error(&f, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, qc);
    expect_empty(&f, c);
    assert_int_equal(st(&f)->udp.icmp_errors, 6);
    assert_int_equal(ust_close(f.s, c), 0);
    assert_int_equal(ust_close(f.s, u), 0);
    assert_int_equal(st(&f)->pkb.live, 0);
    finish(&f);
}

/* ---- poll, embedded ---- */

static void poll_embedded(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    int idle = sock_bound(&f, 0, 5000, false);
    int data = sock_bound(&f, 0, 5001, false);
    int err = sock_new(&f);
    int closed = sock_new(&f);
    assert_int_equal(ust_close(f.s, closed), 0);
    connect_to(&f, err, T_IP_PEER, 7777);
    uint8_t q[28];
    send_and_quote(&f, err, NULL, q);
    inject_icmp_error(&f, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, q);
    inject_udp(&f, T_IP_PEER, 1, 5001, "x", 1);
    struct pollfd p[7] = {
        {.fd = idle, .events = POLLIN | POLLOUT},
        {.fd = data, .events = POLLIN | POLLOUT},
        {.fd = err, .events = POLLIN | POLLOUT},
        {.fd = closed, .events = POLLIN},
        {.fd = -1, .events = POLLIN, .revents = POLLIN},
        {.fd = 4242, .events = POLLIN},
        {.fd = idle, .events = POLLIN},
    };
    assert_int_equal(ust_poll(f.s, p, 7, 0), 5);
    assert_int_equal(p[0].revents, POLLOUT);
    assert_int_equal(p[1].revents, POLLIN | POLLOUT);
    assert_int_equal(p[2].revents, POLLIN | POLLOUT | POLLERR);
    assert_int_equal(p[3].revents, POLLNVAL);
    assert_int_equal(p[4].revents, 0); /* negative fds are ignored */
    assert_int_equal(p[5].revents, POLLNVAL);
    assert_int_equal(p[6].revents, 0);
    /* Without a runtime a timeout does not wait: nothing ready, 0. */
    struct pollfd w = {.fd = idle, .events = POLLIN};
    assert_int_equal(ust_poll(f.s, &w, 1, 1000), 0);
    assert_int_equal(ust_poll(f.s, &w, 1, -1), 0);
    assert_int_equal(w.revents, 0);
    assert_int_equal(ust_poll(f.s, NULL, 0, 0), 0);
    assert_fails(ust_poll(f.s, NULL, 1, 0), EFAULT);
    /* Data read: POLLIN goes away. */
    char buf[4];
    assert_int_equal(ust_recv(f.s, data, buf, sizeof(buf), 0), 1);
    assert_int_equal(revents_of(&f, data, POLLIN), 0);
    int fds[] = {idle, data, err};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(ust_close(f.s, fds[i]), 0);
    finish(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(handles_are_positive_and_stale_ones_stay_dead),
        cmocka_unit_test(emfile_when_table_full),
        cmocka_unit_test(socket_argument_errors),
        cmocka_unit_test(bind_rules),
        cmocka_unit_test(ephemeral_ports),
        cmocka_unit_test(ephemeral_ports_many),
        cmocka_unit_test(names_and_connect),
        cmocka_unit_test(no_route_is_enetunreach),
        cmocka_unit_test(broadcast_send),
        cmocka_unit_test(broadcast_reaches_every_matching_socket),
        cmocka_unit_test(demux_prefers_the_most_specific),
        cmocka_unit_test(port_unreachable),
        cmocka_unit_test(checksum_and_length_checks),
        cmocka_unit_test(receive_queue_bounded_by_rcvbuf),
        cmocka_unit_test(rcvbuf_bounds_empty_datagrams),
        cmocka_unit_test(recv_flags),
        cmocka_unit_test(shutdown_ends_receiving),
        cmocka_unit_test(socket_options),
        cmocka_unit_test(fcntl_nonblock),
        cmocka_unit_test(icmp_port_unreachable_for_connected_socket),
        cmocka_unit_test(poll_embedded),
        cmocka_unit_test(slots_are_reused_last),
        cmocka_unit_test(connect_fixes_source_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
