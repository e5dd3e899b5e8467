/* memlink_tput: TCP bulk throughput between two ustack stacks in one
 * process, joined by a memlink: the stack's own cost, with no system call
 * and no thread hand-off on the data path. For bench/run.sh.
 *
 *   memlink_tput [--bytes N] [--clock real|virtual] [--cc newreno|cubic] [--offload]
 *                [--ipv6]
 *       Stack A (192.0.2.10) sends N bytes (default 200 MiB) over one TCP
 *       connection to stack B (192.0.2.11), through the ustack socket API,
 *       then shuts down; B reads to the end of the stream. Prints one line,
 *       as bench/tcp_bulk.c does:
 *           bytes seconds gbit_per_s
 *       timed from the first send to B's end of stream (the handshake and
 *       the set-up are not counted).
 *
 * One thread pumps both stacks (embedded mode: non-blocking calls and
 * ust_stack_poll), rather than a runtime thread per stack: with runtimes the
 * data path would cross four threads (two stack threads, a sender and a
 * receiver) through mutexes, condition variables, eventfds and epoll_wait,
 * and on a small machine the figure would mostly measure wake-ups and the
 * scheduler. The pump measures what the brief asks for: the protocol code,
 * the socket layer and the memlink's own copies (a frame is copied into the
 * link and out of it again, with a malloc and a free). Each turn of the
 * loop: A sends what its send buffer takes, B takes in what arrived and the
 * application reads it, A takes in the ACKs. Buffers are the stack's
 * defaults (256 KiB); the congestion control is the default (NewReno)
 * unless --cc says otherwise.
 *
 * --clock real (the default) gives the stacks CLOCK_MONOTONIC (a vDSO call,
 * not a system call), so a transfer that stalls on a timer (delayed ACK,
 * retransmission) pays for it in wall time. --clock virtual gives them a
 * clock that stands still while there is work and jumps to the next
 * deadline when there is none: the run is then deterministic (the same
 * instructions every time), which is what a callgrind count wants; the
 * Gbit/s it prints still comes from the real clock.
 *
 * --offload offers the TAP's offloads on the link (checksums both ways, TSO
 * up to 64 KiB: docs/DESIGN.md, "Offloads"): the stacks then move
 * super-segments, as they do with the kernel on a TAP with the virtio-net
 * header, and sum nothing the link vouched for.
 *
 * --ipv6 makes the connection IPv6: 2001:db8::10 to 2001:db8::11 (DAD off,
 * so the addresses are usable at once; neighbour discovery resolves), so
 * that the cost per byte of the two versions can be compared.
 *
 * Exits 1 if the transfer stalls for 30 s (real clock) or reaches a state
 * with no work and no deadline (virtual clock). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ustack/device.h"
#include "ustack/runtime.h"
#include "ustack/socket.h"
#include "ustack/stack.h"

#define APP_BUF (256 * 1024) /* per send / recv call, as tcp_bulk */
#define STALL_US (30 * UST_SEC)

struct pump {
    struct ust_stack *a, *b;
    bool virtual_clock;
    ust_time_t now;
};

static ust_time_t pump_now(struct pump *p)
{
    if (!p->virtual_clock)
        p->now = ust_clock_now();
    return p->now;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *what) __attribute__((noreturn));
static void fail(const char *what)
{
    fprintf(stderr, "memlink_tput: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Nothing moved: the virtual clock jumps to the next deadline; the real one
 * just goes on. false when nothing can ever happen again. */
static bool idle(struct pump *p, ust_time_t *last_progress)
{
    if (p->virtual_clock) {
        ust_time_t da = ust_stack_next_deadline(p->a), db = ust_stack_next_deadline(p->b);
        ust_time_t t = da < db ? da : db;
        if (t == UST_TIME_NEVER)
            return false;
        if (t > p->now)
            p->now = t;
        return true;
    }
    return pump_now(p) - *last_progress < STALL_US;
}

/* Both stacks take in what waits for them and run their timers. */
static int poll_both(struct pump *p)
{
    ust_time_t now = pump_now(p);
    return ust_stack_poll(p->b, now) + ust_stack_poll(p->a, now);
}

/* The measured part: send total bytes on cfd (stack A), read them on afd
 * (stack B) to the end of the stream. noinline: callgrind's
 * --toggle-collect names it, so that only the transfer is counted. */
__attribute__((noinline)) static unsigned long long transfer(struct pump *p, int cfd, int afd,
                                                             unsigned long long total,
                                                             const char *out, char *in)
{
    unsigned long long sent = 0, got = 0;
    bool shut = false, eof = false;
    ust_time_t last_progress = pump_now(p);
    while (!eof) {
        bool progress = false;
        if (sent < total) {
            size_t n = total - sent < APP_BUF ? (size_t)(total - sent) : APP_BUF;
            ssize_t w = ust_send(p->a, cfd, out, n, 0);
            if (w > 0) {
                sent += (unsigned long long)w;
                progress = true;
            } else if (errno != EAGAIN) {
                fail("send");
            }
        } else if (!shut) {
            if (ust_shutdown(p->a, cfd, SHUT_WR) < 0)
                fail("shutdown");
            shut = true;
        }
        if (ust_stack_poll(p->b, pump_now(p)) > 0)
            progress = true;
        for (;;) {
            ssize_t r = ust_recv(p->b, afd, in, APP_BUF, 0);
            if (r > 0) {
                got += (unsigned long long)r;
                progress = true;
                continue;
            }
            if (r == 0)
                eof = true;
            else if (errno != EAGAIN)
                fail("recv");
            break;
        }
        if (ust_stack_poll(p->a, pump_now(p)) > 0)
            progress = true;
        if (progress)
            last_progress = p->now;
        else if (!eof && !idle(p, &last_progress)) {
            fprintf(stderr, "memlink_tput: stalled after %llu of %llu bytes sent, %llu received\n",
                    sent, total, got);
            exit(1);
        }
    }
    return got;
}

static struct ust_stack *make_stack(struct ust_memlink *link, uint64_t seed, uint8_t last,
                                    bool ipv6)
{
    struct ust_config cfg;
    ust_config_init(&cfg);
    cfg.seed = seed;
    cfg.log_level = UST_LOG_WARN;
    cfg.ip6_dad_transmits = 0;
    struct ust_stack *s;
    struct ust_device *d;
    const uint8_t mac[6] = {2, 0, 192, 0, 2, last};
    int r;
    if ((r = ust_stack_create(&cfg, &s)) != 0 ||
        (r = ust_memlink_attach(link, "ml0", mac, &d)) != 0 ||
        (r = ust_stack_add_device(s, d)) < 0 ||
        (r = ust_iface_add(s, "ml0", UST_IP4(192, 0, 2, last), 24, ust_clock_now())) != 0) {
        errno = -r;
        fail("setting up a stack");
    }
    struct in6_addr a6 = {.s6_addr = {0x20, 0x01, 0x0d, 0xb8, [15] = last}};
    if (ipv6 && (r = ust_iface_add6(s, "ml0", &a6, 64, ust_clock_now())) != 0) {
        errno = -r;
        fail("setting up IPv6");
    }
    return s;
}

static void usage(void)
{
    fprintf(stderr, "usage: memlink_tput [--bytes N] [--clock real|virtual] [--cc newreno|cubic] "
                    "[--offload] [--ipv6]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    unsigned long long total = 200ull << 20;
    const char *cc = NULL;
    bool offload = false, ipv6 = false;
    struct pump p = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bytes") == 0 && i + 1 < argc) {
            char *e;
            total = strtoull(argv[++i], &e, 10);
            if (*e || total == 0)
                usage();
        } else if (strcmp(argv[i], "--clock") == 0 && i + 1 < argc) {
            i++;
            if (strcmp(argv[i], "virtual") == 0)
                p.virtual_clock = true;
            else if (strcmp(argv[i], "real") != 0)
                usage();
        } else if (strcmp(argv[i], "--cc") == 0 && i + 1 < argc) {
            cc = argv[++i];
        } else if (strcmp(argv[i], "--offload") == 0) {
            offload = true;
        } else if (strcmp(argv[i], "--ipv6") == 0) {
            ipv6 = true;
        } else {
            usage();
        }
    }
    p.now = ust_clock_now();

    struct ust_memlink *link;
    if (ust_memlink_create(1, &link) != 0)
        fail("ust_memlink_create");
    if (offload)
        ust_memlink_set_offload(link,
                                UST_OFFLOAD_RX_CSUM | UST_OFFLOAD_TX_CSUM | UST_OFFLOAD_TSO4 |
                                    UST_OFFLOAD_TSO6,
                                65535);
    p.a = make_stack(link, 1, 10, ipv6);
    p.b = make_stack(link, 2, 11, ipv6);

    /* B listens on 5001; A connects (non-blocking: the pump drives both). */
    int family = ipv6 ? AF_INET6 : AF_INET;
    union {
        struct sockaddr sa;
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } to = {0};
    socklen_t to_len = ipv6 ? sizeof(to.v6) : sizeof(to.v4);
    if (ipv6) {
        to.v6.sin6_family = AF_INET6;
        to.v6.sin6_port = htons(5001);
    } else {
        to.v4.sin_family = AF_INET;
        to.v4.sin_port = htons(5001);
    }
    int lfd = ust_socket(p.b, family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (lfd < 0 || ust_bind(p.b, lfd, &to.sa, to_len) < 0)
        fail("listener");
    if (cc && ust_setsockopt(p.b, lfd, IPPROTO_TCP, TCP_CONGESTION, cc, (socklen_t)strlen(cc)) < 0)
        fail(cc);
    if (ust_listen(p.b, lfd, 1) < 0)
        fail("listen");
    int cfd = ust_socket(p.a, family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (cfd < 0)
        fail("socket");
    if (cc && ust_setsockopt(p.a, cfd, IPPROTO_TCP, TCP_CONGESTION, cc, (socklen_t)strlen(cc)) < 0)
        fail(cc);
    if (ipv6)
        to.v6.sin6_addr = (struct in6_addr){.s6_addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 11}};
    else
        to.v4.sin_addr.s_addr = htonl(UST_IP4(192, 0, 2, 11));
    if (ust_connect(p.a, cfd, &to.sa, to_len) == 0 || errno != EINPROGRESS)
        fail("connect");
    int afd = -1;
    ust_time_t last_progress = pump_now(&p);
    while (afd < 0) {
        bool progress = poll_both(&p) > 0;
        afd = ust_accept4(p.b, lfd, NULL, NULL, SOCK_NONBLOCK);
        if (afd < 0 && errno != EAGAIN)
            fail("accept");
        if (progress)
            last_progress = p.now;
        else if (afd < 0 && !idle(&p, &last_progress)) {
            fprintf(stderr, "memlink_tput: no connection\n");
            return 1;
        }
    }

    char *out = malloc(APP_BUF), *in = malloc(APP_BUF);
    if (!out || !in)
        fail("malloc");
    memset(out, 'u', APP_BUF);
    double t0 = wall_s();
    unsigned long long got = transfer(&p, cfd, afd, total, out, in);
    double t1 = wall_s();
    if (got != total) {
        fprintf(stderr, "memlink_tput: received %llu bytes, sent %llu\n", got, total);
        return 1;
    }
    printf("%llu %.6f %.3f\n", got, t1 - t0, (double)got * 8 / (t1 - t0) / 1e9);

    ust_close(p.b, afd);
    ust_close(p.a, cfd);
    ust_close(p.b, lfd);
    ust_stack_destroy(p.a);
    ust_stack_destroy(p.b);
    ust_memlink_release(link);
    free(out);
    free(in);
    return 0;
}
