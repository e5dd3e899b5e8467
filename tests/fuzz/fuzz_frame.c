/* Run longer by hand: mkdir -p tests/fuzz/corpus-run && build-sim/bin/ust_fuzz_frame -max_total_time=3600 tests/fuzz/corpus-run tests/fuzz/corpus
 *
 * libFuzzer target: a sequence of frames, clock steps and pings pushed into
 * one stack. The stack has a capture device "eth0" at 192.0.2.2/24 (MAC
 * 02:00:00:00:00:02, default route via 192.0.2.1), a loopback device at
 * 127.0.0.1/8 and a ping endpoint with identifier 0x5501.
 *
 * The input is a sequence of records [op:1][arg:2, big-endian][bytes]:
 *   op % 7 == 0  ETH    deliver the next min(arg, left) bytes as a frame on eth0
 *   op % 7 == 1  LO     deliver the next min(arg, left) bytes as a packet on lo
 *   op % 7 == 2  CLOCK  advance the clock by arg ms in one jump, then poll (no bytes)
 *   op % 7 == 3  PING   the next min(arg, left) bytes are [dst:4][seq:2][payload]
 *                       (missing header bytes read as zero): send an echo request
 *   op % 7 == 4  RECV   read up to arg ping replies and arg datagrams (no bytes)
 *   op % 7 == 5  USEND  the next min(arg, left) bytes are [dst:4][port:2][payload]:
 *                       send them from the UDP socket bound to port 7
 *   op % 7 == 6  CSEND  send the next min(arg, left) bytes from the UDP socket
 *                       connected to 192.0.2.1:9 (ICMP errors come back to it)
 * UDP datagrams to port 7 of the stack are queued on the bound socket; the
 * fragments of anything reach reassembly.
 * tests/fuzz/make-corpus.py writes seed inputs in this format.
 *
 * Checked on every run (abort() on violation): every frame the stack
 * transmits is a sane Ethernet frame from our MAC (>= 60 bytes, ARP or IPv4
 * with valid lengths and checksums, our addresses as sender); the ARP cache
 * stays consistent; and after the sequence, ten minutes of virtual time later,
 * every timer has run out and no packet buffer is left. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_priv.h"
#include "harness.h"
#include "wire/arp.h"
#include "wire/bytes.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/udp.h"
#include "net/ip_frag.h"
#include "ustack/socket.h"

#define FUZZ_PING_ID 0x5501
#define FUZZ_START (1000 * UST_SEC)
#define FUZZ_IP_LO UST_IP4(127, 0, 0, 1)

enum { OP_ETH, OP_LO, OP_CLOCK, OP_PING, OP_RECV, OP_USEND, OP_CSEND, OP_COUNT };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_frame: invariant violated: %s (%s:%d)\n", #cond, __FILE__,   \
                    __LINE__);                                                                 \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

struct fuzz {
    struct ust_stack *s;
    struct cap *cap;
    int eth, lo, ping;
    int udp, cudp;       /* UDP sockets: bound to port 7; connected to 192.0.2.1:9 */
    ust_time_t now;
    uint64_t eth_frames; /* delivered on eth0 */
};

#define TX_CHECK(cond)    \
    do {                  \
        if (!(cond))      \
            return #cond; \
    } while (0)

/* One frame the stack sent on eth0: NULL, or the condition it violates. */
static const char *check_tx_frame(const uint8_t *f, size_t len)
{
    TX_CHECK(len >= ETH_MIN_FRAME);
    TX_CHECK(len <= ETH_HDR_LEN + 1500);
    struct eth_repr eh;
    TX_CHECK(eth_parse(f, len, &eh) == WIRE_OK);
    TX_CHECK(memcmp(eh.src, t_mac_us, 6) == 0);
    /* To one station or to all: never to a multicast group or to nobody. */
    TX_CHECK(eth_is_broadcast(eh.dst) || (!eth_is_multicast(eh.dst) && !eth_is_zero(eh.dst)));
    const uint8_t *p = f + ETH_HDR_LEN;
    size_t plen = len - ETH_HDR_LEN;
    if (eh.type == ETH_TYPE_ARP) {
        struct arp_repr a;
        TX_CHECK(arp_parse(p, plen, &a) == WIRE_OK);
        TX_CHECK(memcmp(a.sha, t_mac_us, 6) == 0);
        TX_CHECK(a.spa == T_IP_US);
        if (a.op == ARP_OP_REPLY)
            TX_CHECK(!eth_is_broadcast(eh.dst) && memcmp(eh.dst, a.tha, 6) == 0);
        return NULL;
    }
    TX_CHECK(eh.type == ETH_TYPE_IPV4);
    struct ipv4_repr ip;
    TX_CHECK(ipv4_parse(p, plen, &ip) == WIRE_OK);
    TX_CHECK(ip.hdr_len == IPV4_HDR_LEN);
    TX_CHECK(ip.ttl > 0);
    if (ipv4_is_fragment(&ip)) {
        /* RFC 791: all but the last carry a multiple of 8 bytes, and the
         * whole datagram fits in 65,535 bytes. */
        size_t flen = (size_t)ip.total_len - ip.hdr_len;
        if (ip.frag & IPV4_FLAG_MF)
            TX_CHECK(flen % 8 == 0 && flen > 0);
        TX_CHECK((size_t)(ip.frag & IPV4_OFFSET_MASK) * 8 + flen + IPV4_HDR_LEN <= IPV4_MAX_LEN);
        TX_CHECK(!(ip.frag & IPV4_FLAG_DF));
    }
    /* Our address as source; RFC 1122 3.2.1.3: 127/8 never leaves the host. */
    TX_CHECK(ip.src == T_IP_US);
    TX_CHECK((ip.dst >> 24) != 127 && (ip.dst >> 24) != 0);
    /* Link broadcast exactly for IP broadcast (RFC 1122 3.3.6). */
    bool ip_bcast = ip.dst == 0xffffffffu || ip.dst == (T_IP_US | 0xff);
    TX_CHECK(eth_is_broadcast(eh.dst) == ip_bcast);
    /* Link padding is zero. */
    for (size_t i = ip.total_len; i < plen; i++)
        TX_CHECK(p[i] == 0);
    if (ip.proto == IPV4_PROTO_UDP && !ipv4_is_fragment(&ip)) {
        struct udp_repr u;
        TX_CHECK(udp_parse(p + ip.hdr_len, (size_t)ip.total_len - ip.hdr_len, ip.src, ip.dst, &u) ==
                 WIRE_OK);
        TX_CHECK(u.checksum != 0); /* we always compute it */
    }
    if (ip.proto == IPV4_PROTO_ICMP && !ipv4_is_fragment(&ip)) {
        struct icmp_repr m;
        TX_CHECK(icmp_parse(p + ip.hdr_len, (size_t)ip.total_len - ip.hdr_len, &m) == WIRE_OK);
        /* We answer echo requests and send errors; never an error about an
         * error (RFC 1122 3.2.2). */
        if (icmp_is_error(m.type)) {
            TX_CHECK(m.payload_len >= IPV4_HDR_LEN);
            TX_CHECK(m.payload_len <= IPV4_MAX_HDR_LEN + 8);
            /* The quote: the offending header plus 8 bytes of its data. */
            const uint8_t *q = m.payload;
            size_t qhl = (size_t)(q[0] & 15) * 4;
            TX_CHECK(qhl >= IPV4_HDR_LEN && qhl <= m.payload_len);
            if (q[9] == IPV4_PROTO_ICMP && m.payload_len > qhl)
                TX_CHECK(!icmp_is_error(q[qhl]));
        }
    }
    return NULL;
}

static void drain_tx(struct fuzz *z)
{
    uint8_t buf[2048];
    size_t n;
    while ((n = cap_pop(z->cap, buf, sizeof(buf))) > 0) {
        CHECK(n <= sizeof(buf)); /* else longer than any Ethernet frame */
        const char *bad = check_tx_frame(buf, n);
        if (bad) {
            fprintf(stderr, "fuzz_frame: transmitted frame violates %s:", bad);
            for (size_t i = 0; i < n; i++)
                fprintf(stderr, "%s%02x", i % 16 ? " " : "\n  ", buf[i]);
            fprintf(stderr, "\n");
            abort();
        }
    }
}

/* The neighbour cache: only sane entries, and pending queues as counted. */
static void check_arp(const struct fuzz *z)
{
    const struct ust_stack *s = z->s;
    for (unsigned i = 0; i < s->cfg.arp_cache_size; i++) {
        const struct arp_entry *e = &s->arp[i];
        if (e->state == ARP_FREE) {
            CHECK(e->pending == NULL && e->npending == 0);
            continue;
        }
        CHECK(e->state == ARP_INCOMPLETE || e->state == ARP_RESOLVED);
        CHECK(e->dev == z->eth);
        CHECK(e->ip != T_IP_US);
        CHECK(e->npending <= s->cfg.arp_pending_max);
        unsigned n = 0;
        const struct pkbuf *last = NULL;
        for (const struct pkbuf *p = e->pending; p; p = p->next) {
            n++;
            last = p;
        }
        CHECK(n == e->npending);
        CHECK(last == e->pending_tail);
        if (e->state == ARP_RESOLVED) {
            CHECK(n == 0);
            CHECK(!eth_is_multicast(e->mac) && !eth_is_zero(e->mac));
            CHECK(memcmp(e->mac, t_mac_us, 6) != 0);
        }
    }
}

static void step(struct fuzz *z)
{
    ust_stack_poll(z->s, z->now);
    drain_tx(z);
    check_arp(z);
}

static void fuzz_init(struct fuzz *z)
{
    memset(z, 0, sizeof(*z));
    struct ust_config cfg;
    test_config(&cfg, 0x5eed); /* silent unless USTACK_LOG is set, for replays */
    z->now = FUZZ_START;
    CHECK(ust_stack_create(&cfg, &z->s) == 0);
    struct ust_device *d;
    CHECK(cap_create("eth0", t_mac_us, &z->cap, &d) == 0);
    z->eth = ust_stack_add_device(z->s, d);
    CHECK(ust_loopback_create(&d) == 0);
    z->lo = ust_stack_add_device(z->s, d);
    CHECK(z->eth >= 0 && z->lo >= 0);
    CHECK(ust_iface_add(z->s, "eth0", T_IP_US, 24, z->now) == 0);
    CHECK(ust_iface_add(z->s, "lo", FUZZ_IP_LO, 8, z->now) == 0);
    CHECK(ust_route_add(z->s, 0, 0, T_IP_PEER, NULL) == 0);
    z->ping = ust_ping_open(z->s, FUZZ_PING_ID);
    CHECK(z->ping >= 0);
    z->udp = ust_socket(z->s, AF_INET, SOCK_DGRAM, 0);
    z->cudp = ust_socket(z->s, AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(7)};
    CHECK(ust_bind(z->s, z->udp, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    sin.sin_port = htons(9);
    sin.sin_addr.s_addr = htonl(T_IP_PEER);
    CHECK(ust_connect(z->s, z->cudp, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    drain_tx(z); /* the gratuitous ARP */
}

static void op_ping(struct fuzz *z, const uint8_t *p, size_t n)
{
    uint8_t hdr[6] = {0};
    memcpy(hdr, p, n < sizeof(hdr) ? n : sizeof(hdr));
    ust_ip4_t dst = ld32(hdr);
    uint16_t seq = ld16(hdr + 4);
    const uint8_t *payload = n > 6 ? p + 6 : NULL;
    size_t plen = n > 6 ? n - 6 : 0;
    int err = ust_ping_send(z->s, z->ping, dst, seq, payload, plen, z->now);
    CHECK(err == 0 || err == -ENETUNREACH || err == -EMSGSIZE || err == -ENOBUFS);
}

static void op_usend(struct fuzz *z, const uint8_t *p, size_t n, bool connected)
{
    ssize_t r;
    if (connected) {
        r = ust_send(z->s, z->cudp, p, n, 0);
    } else {
        uint8_t hdr[6] = {0};
        memcpy(hdr, p, n < sizeof(hdr) ? n : sizeof(hdr));
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(ld16(hdr + 4)),
                                 .sin_addr.s_addr = htonl(ld32(hdr))};
        r = ust_sendto(z->s, z->udp, n > 6 ? p + 6 : NULL, n > 6 ? n - 6 : 0, 0,
                       (struct sockaddr *)&to, sizeof(to));
    }
    /* Success, or one of the errors a program must expect. */
    CHECK(r >= 0 || errno == ENETUNREACH || errno == EINVAL || errno == EACCES ||
          errno == ENOBUFS || errno == ECONNREFUSED || errno == EHOSTUNREACH ||
          errno == ENOPROTOOPT || errno == EMSGSIZE);
}

static void op_recv(struct fuzz *z, unsigned max)
{
    for (unsigned i = 0; i < max; i++) {
        uint8_t buf[128];
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t a = ust_recvfrom(z->s, z->udp, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
        ssize_t b = ust_recv(z->s, z->cudp, buf, sizeof(buf), 0);
        CHECK(a >= 0 || errno == EAGAIN || errno == ECONNREFUSED || errno == EHOSTUNREACH ||
              errno == ENETUNREACH || errno == ENOPROTOOPT || errno == EMSGSIZE);
        if (a < 0 && b < 0)
            break;
    }
    for (unsigned i = 0; i < max; i++) {
        struct ust_ping_reply r;
        uint8_t buf[64];
        if (ust_ping_recv(z->s, z->ping, &r, buf, sizeof(buf)) != 0)
            break;
        CHECK(r.id == FUZZ_PING_ID);
        CHECK(r.received <= z->now);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz z;
    fuzz_init(&z);
    size_t off = 0;
    while (size - off >= 3) {
        uint8_t op = data[off] % OP_COUNT;
        uint16_t arg = ld16(data + off + 1);
        off += 3;
        size_t n = arg < size - off ? arg : size - off;
        switch (op) {
        case OP_ETH:
            ust_stack_input(z.s, z.eth, data + off, n, z.now);
            z.eth_frames++;
            off += n;
            break;
        case OP_LO:
            ust_stack_input(z.s, z.lo, data + off, n, z.now);
            off += n;
            break;
        case OP_CLOCK:
            z.now += (ust_time_t)arg * UST_MS;
            break;
        case OP_PING:
            op_ping(&z, data + off, n);
            off += n;
            break;
        case OP_RECV:
            op_recv(&z, arg);
            break;
        case OP_USEND:
        case OP_CSEND:
            op_usend(&z, data + off, n, op == OP_CSEND);
            off += n;
            break;
        }
        step(&z);
    }

    /* Ten minutes later, having stepped through every deadline on the way:
     * retries have given up, entries expired, the loopback queue is empty. */
    ust_time_t end = z.now + 600 * UST_SEC;
    for (unsigned guard = 0;; guard++) {
        CHECK(guard < 100000); /* no timer may fire forever */
        ust_time_t d = ust_stack_next_deadline(z.s);
        if (d > end)
            break;
        if (d > z.now)
            z.now = d;
        step(&z);
    }
    z.now = end;
    step(&z);
    CHECK(ust_stack_next_deadline(z.s) == UST_TIME_NEVER);
    const struct ust_stats *st = ust_stack_stats(z.s);
    CHECK(st->eth.rx == z.eth_frames);
    CHECK(ust_ping_close(z.s, z.ping) == 0);
    CHECK(ust_close(z.s, z.udp) == 0 && ust_close(z.s, z.cudp) == 0);
    CHECK(reasm_count(z.s) == 0 && reasm_memory(z.s) == 0);
    CHECK(st->pkb.live == 0);
    CHECK(st->pkb.alloc == st->pkb.free);
    ust_stack_destroy(z.s);
    return 0;
}
