/* TCP under load, in simulation (issue 11): a SYN flood from thousands of
 * made-up addresses while a real client transfers, and a hundred thousand
 * connections opened, held idle and closed, with their memory counted.
 * Two stacks on a memlink (tests/common/pair.h); the flood comes from a
 * third endpoint of the same link that the test drives itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_priv.h"
#include "harness.h"
#include "pair.h"
#include "transport/socket.h"
#include "transport/tcp.h"
#include "ustack/socket.h"
#include "wire/bytes.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

static int listen_on(struct ust_stack *s, uint16_t port, int backlog)
{
    int fd = ust_socket(s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd > 0);
    struct sockaddr_in sin = sin_of(0, port);
    assert_int_equal(ust_bind(s, fd, SA(sin), sizeof(sin)), 0);
    assert_int_equal(ust_listen(s, fd, backlog), 0);
    return fd;
}

static int connect_to(struct ust_stack *s, ust_ip4_t addr, uint16_t port)
{
    int fd = ust_socket(s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd > 0);
    struct sockaddr_in sin = sin_of(addr, port);
    assert_fails(ust_connect(s, fd, SA(sin), sizeof(sin)), EINPROGRESS);
    return fd;
}

static void poll_both(struct pair *p)
{
    ust_stack_poll(p->a, p->now);
    ust_stack_poll(p->b, p->now);
}

/* ---- a SYN flood while a client transfers ---- */

#define FLOOD_PER_MS 20     /* spoofed SYNs a millisecond: 20,000 a second */
#define FLOOD_MS 5000       /* for 5 s of virtual time */
#define TRANSFER (2u << 20) /* what the real client sends */

static uint8_t pattern(size_t i) { return (uint8_t)(i * 7 + (i >> 11)); }

/* A SYN from a made-up host: one of 2,000 addresses in 192.0.2.0/24 and
 * 198.51.100.0/24 (the second off-link: its SYN-ACKs go nowhere), any MAC
 * and port, sent from the flooder's endpoint. */
static void spoofed_syn(struct ust_device *flooder, uint64_t *rng, const uint8_t dst_mac[6],
                        ust_time_t now)
{
    *rng = *rng * 6364136223846793005u + 1442695040888963407u;
    uint32_t r = (uint32_t)(*rng >> 32);
    unsigned host = r % 2000;
    ust_ip4_t src = host < 1000 ? UST_IP4(192, 0, 2, 100 + host % 150)
                                : UST_IP4(198, 51, 100, 1 + host % 250);
    uint8_t mac[6] = {2,         0xee, (uint8_t)(r >> 24), (uint8_t)(r >> 16), (uint8_t)(r >> 8),
                      (uint8_t)r};
    struct tcp_repr th = {.sport = (uint16_t)(1024 + (r >> 8) % 60000),
                          .dport = 80,
                          .seq = r * 2654435761u,
                          .flags = TCP_SYN,
                          .window = 65535,
                          .mss = 1460};
    uint8_t seg[64], pkt[128], frame[192];
    size_t sl = tcp_hdr_len(&th);
    tcp_emit(&th, ipv4_pseudo_sum(src, PAIR_IP_A, IPV4_PROTO_TCP, 0), seg, 0);
    size_t pl = build_ipv4(pkt, src, PAIR_IP_A, IPV4_PROTO_TCP, (uint16_t)r, 0, 64, seg, sl);
    size_t fl = build_eth(frame, dst_mac, mac, ETH_TYPE_IPV4, pkt, pl);
    assert_int_equal(flooder->ops->transmit(flooder, frame, fl, now), 0);
}

/* The flooder's endpoint hears everything a sends: let it go. */
static void discard_rx(struct ust_device *d, ust_time_t now)
{
    uint8_t buf[2048];
    while (d->ops->receive(d, buf, sizeof(buf), now) > 0)
        ;
}

static void syn_flood_while_a_client_transfers(void **state)
{
    (void)state;
    struct pair p;
    struct ust_config ca;
    test_config(&ca, 21);
    ca.arp_cache_size = 256;
    pair_init(&p, 21, &ca, NULL, NULL);
    const uint8_t fmac[6] = {2, 0, 0, 0, 0, 0xf};
    const uint8_t amac[6] = {2, 0, 0, 0, 0, 0xa};
    struct ust_device *flooder;
    assert_int_equal(ust_memlink_attach(p.link, "flood", fmac, &flooder), 0);
    int lfd = listen_on(p.a, 80, 64);

    uint8_t *buf = malloc(TRANSFER);
    assert_non_null(buf);
    for (size_t i = 0; i < TRANSFER; i++)
        buf[i] = pattern(i);
    uint64_t rng = 77;
    int cfd = -1, afd = -1;
    size_t sent = 0, got = 0;
    bool bad = false;
    ust_time_t start = p.now, done_at = 0;
    unsigned max_conns = 0;
    for (unsigned ms = 0; ms < 60000 && (ms < FLOOD_MS || !done_at); ms++) {
        p.now = start + (ust_time_t)ms * UST_MS;
        if (ms < FLOOD_MS)
            for (int i = 0; i < FLOOD_PER_MS; i++)
                spoofed_syn(flooder, &rng, amac, p.now);
        if (ms == 1000) /* the flood is a second old: the client connects */
            cfd = connect_to(p.b, PAIR_IP_A, 80);
        poll_both(&p);
        discard_rx(flooder, p.now);
        if (cfd > 0 && sent < TRANSFER) {
            ssize_t w = ust_send(p.b, cfd, buf + sent, TRANSFER - sent, 0);
            if (w > 0)
                sent += (size_t)w;
            else
                assert_int_equal(errno, EAGAIN);
            if (sent == TRANSFER)
                assert_int_equal(ust_shutdown(p.b, cfd, SHUT_WR), 0);
        }
        if (afd < 0) {
            afd = ust_accept4(p.a, lfd, NULL, NULL, SOCK_NONBLOCK);
            if (afd < 0)
                assert_int_equal(errno, EAGAIN);
        }
        while (afd > 0) {
            uint8_t in[16384];
            ssize_t r = ust_recv(p.a, afd, in, sizeof(in), 0);
            if (r < 0) {
                assert_int_equal(errno, EAGAIN);
                break;
            }
            if (r == 0) {
                done_at = p.now;
                ust_close(p.a, afd);
                afd = 0;
                break;
            }
            for (ssize_t i = 0; i < r; i++)
                bad = bad || in[i] != pattern(got + (size_t)i);
            got += (size_t)r;
        }
        unsigned n = (unsigned)ust_stack_stats(p.a)->tcp.conns;
        if (n > max_conns)
            max_conns = n;
    }
    const struct ust_stats *sa = ust_stack_stats(p.a);
    print_message("syn flood: %u SYNs in %u s; the client's %u bytes arrived %.2f s after it "
                  "connected; cookies sent %llu, made %llu; at most %u connections at once\n",
                  FLOOD_PER_MS * FLOOD_MS, FLOOD_MS / 1000, TRANSFER,
                  (double)(done_at - start) / UST_SEC - 1.0,
                  (unsigned long long)sa->tcp.syncookies_sent,
                  (unsigned long long)sa->tcp.syncookies_ok, max_conns);
    assert_true(done_at != 0);
    assert_false(bad);
    assert_int_equal(got, TRANSFER);
    assert_true(done_at - start < 1 * UST_SEC + FLOOD_MS * UST_MS); /* during the flood */
    assert_true(sa->tcp.syncookies_sent > 90000);
    assert_true(max_conns <= 2 + 64 + 1); /* listener, half-open queue, the client's */
    ust_close(p.b, cfd);
    ust_close(p.a, lfd);
    free(buf);
    flooder->ops->destroy(flooder);
    pair_fini(&p);
}

/* ---- 100,000 connections ---- */

#define MANY 100000u
#define PORTS 2 /* the client's ephemeral ports serve one connection per server port */

struct many {
    struct pair *p;
    int lfd[PORTS];
    int *cfd, *afd;
    unsigned opened, accepted;
};

/* Opens up to `batch` more connections and accepts what is ready. */
static bool many_step(void *ctx)
{
    struct many *m = ctx;
    for (int l = 0; l < PORTS; l++) {
        for (;;) {
            int fd = ust_accept4(m->p->a, m->lfd[l], NULL, NULL, SOCK_NONBLOCK);
            if (fd < 0) {
                assert_int_equal(errno, EAGAIN);
                break;
            }
            m->afd[m->accepted++] = fd;
        }
    }
    return m->accepted == m->opened;
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void hundred_thousand_connections(void **state)
{
    (void)state;
    struct pair p;
    struct ust_config ca, cb;
    test_config(&ca, 31);
    test_config(&cb, 32);
    ca.tcp_msl = cb.tcp_msl = UST_SEC; /* TIME-WAIT ends within the test */
    cb.ephemeral_lo = 1024;            /* 64,512 ports, each to both server ports */
    /* A link that holds what 100,000 closes send at once (1024 frames by
     * default: the rest would wait for retransmission timeouts). */
    struct ust_faults roomy = {.queue_limit = 4 * MANY};
    pair_init(&p, 31, &ca, &cb, &roomy);
    struct many m = {.p = &p};
    m.cfd = calloc(MANY, sizeof(int));
    m.afd = calloc(MANY, sizeof(int));
    assert_non_null(m.cfd);
    assert_non_null(m.afd);
    for (int l = 0; l < PORTS; l++)
        m.lfd[l] = listen_on(p.a, (uint16_t)(80 + l), 4096);
    size_t heap_before = heap_in_use();
    while (m.opened < MANY) {
        for (unsigned i = 0; i < 2000 && m.opened < MANY; i++, m.opened++)
            m.cfd[m.opened] = connect_to(p.b, PAIR_IP_A, (uint16_t)(80 + m.opened % PORTS));
        assert_true(pair_run(&p, 10 * UST_SEC, many_step, &m));
    }
    /* Held idle: nothing to send, nothing buffered, no deadline. */
    assert_true(pair_run(&p, UST_SEC, NULL, NULL));
    size_t heap_held = heap_in_use();
    const struct ust_stats *sa = ust_stack_stats(p.a), *sb = ust_stack_stats(p.b);
    assert_int_equal(sa->tcp.conns, MANY + PORTS);
    assert_int_equal(sb->tcp.conns, MANY);
    assert_int_equal(sock_count(p.a), MANY + PORTS);
    assert_int_equal(sa->tcp.buf_bytes + sb->tcp.buf_bytes, 0);
    assert_int_equal(tcp_next_deadline(p.a), UST_TIME_NEVER);
    assert_int_equal(tcp_next_deadline(p.b), UST_TIME_NEVER);
    /* Each side's connection and socket, and the table's share, as
     * allocated; mallinfo2 reads 0 under the sanitizers' allocator. */
    double per_conn = (double)(heap_held - heap_before) / (2.0 * MANY);
    print_message("%u connections held idle: %.0f bytes of heap each (both ends: %.0f); "
                  "struct tcp_conn %zu + struct sock %zu bytes\n",
                  MANY, per_conn, 2 * per_conn, sizeof(struct tcp_conn), sizeof(struct sock));
    if (heap_held > heap_before)
        assert_true(per_conn < 4096);
    /* Every one still works: a byte each way on every hundredth. */
    for (unsigned i = 0; i < MANY; i += 100)
        assert_int_equal(ust_send(p.b, m.cfd[i], "x", 1, 0), 1);
    assert_true(pair_run(&p, UST_SEC, NULL, NULL));
    unsigned echoed = 0;
    for (unsigned i = 0; i < MANY; i++) {
        char c;
        if (ust_recv(p.a, m.afd[i], &c, 1, 0) == 1)
            echoed++;
    }
    assert_int_equal(echoed, MANY / 100);
    /* Closed: the client first, so TIME-WAIT is on its side. */
    for (unsigned i = 0; i < MANY; i++)
        assert_int_equal(ust_close(p.b, m.cfd[i]), 0);
    assert_true(pair_run(&p, UST_SEC, NULL, NULL));
    for (unsigned i = 0; i < MANY; i++)
        assert_int_equal(ust_close(p.a, m.afd[i]), 0);
    assert_true(pair_run(&p, 10 * UST_SEC, NULL, NULL));
    assert_int_equal(sa->tcp.conns, PORTS);
    assert_int_equal(sb->tcp.conns, 0);
    assert_int_equal(sa->tcp.resets + sb->tcp.resets, 0);
    for (int l = 0; l < PORTS; l++)
        ust_close(p.a, m.lfd[l]);
    free(m.cfd);
    free(m.afd);
    pair_fini(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(syn_flood_while_a_client_transfers),
        cmocka_unit_test(hundred_thousand_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
