/* ICMP errors (RFC 792, RFC 1122 3.2.2): the quoted datagram parsed once
 * (src/wire/icmp_error.c), the table from (type, code) to errno and
 * hard/soft, and ICMP handing the error to the transport the quote names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "ustack/socket.h"
#include "wire/bytes.h"
#include "wire/icmp.h"
#include "wire/icmp_error.h"
#include "wire/ipv4.h"

#define ETH_HDR 14
#define LPORT 40000
#define RPORT 7777

/* What a router quotes of a datagram we sent to the peer: an IP header of
 * hl bytes (options: NOPs) and l4_len bytes of transport header, the
 * ports first. Returns the quote's length. */
static size_t make_quote(uint8_t *q, size_t hl, uint8_t proto, size_t l4_len)
{
    uint8_t l4[64] = {0};
    st16(l4, LPORT);
    st16(l4 + 2, RPORT);
    st32(l4 + 4, 0x11223344);
    assert_true(l4_len <= sizeof(l4));
    uint8_t plain[IPV4_HDR_LEN + 64];
    build_ipv4(plain, T_IP_US, T_IP_PEER, proto, 1, 0, 64, l4, l4_len);
    memcpy(q, plain, IPV4_HDR_LEN);
    memset(q + IPV4_HDR_LEN, 1, hl - IPV4_HDR_LEN); /* options: NOP */
    q[0] = (uint8_t)(0x40 | hl / 4);
    memcpy(q + hl, l4, l4_len);
    return hl + l4_len;
}

/* ---------------- the quote ---------------- */

static void quote_classic(void **state)
{
    (void)state;
    uint8_t q[128];
    size_t n = make_quote(q, 20, IPV4_PROTO_UDP, 8);
    struct icmp_quote r;
    memset(&r, 0xa5, sizeof(r));
    assert_int_equal(icmp_quote_parse(q, n, &r), WIRE_OK);
    assert_int_equal(r.version, 4);
    assert_int_equal(r.proto, IPV4_PROTO_UDP);
    assert_int_equal(r.addr.v4.src, T_IP_US);
    assert_int_equal(r.addr.v4.dst, T_IP_PEER);
    assert_int_equal(r.sport, LPORT);
    assert_int_equal(r.dport, RPORT);
    assert_ptr_equal(r.l4, q + 20);
    assert_int_equal(r.l4_len, 8);
    assert_int_equal(ld32(r.l4 + 4), 0x11223344);
}

/* RFC 1812 4.3.2.3: routers may quote more than 8 bytes; all of it stays
 * reachable through l4/l4_len. */
static void quote_longer_than_eight(void **state)
{
    (void)state;
    uint8_t q[128];
    size_t n = make_quote(q, 20, IPV4_PROTO_TCP, 60);
    struct icmp_quote r;
    assert_int_equal(icmp_quote_parse(q, n, &r), WIRE_OK);
    assert_int_equal(r.proto, IPV4_PROTO_TCP);
    assert_ptr_equal(r.l4, q + 20);
    assert_int_equal(r.l4_len, 60);
}

/* The ports come after the options, wherever IHL puts them. */
static void quote_with_options(void **state)
{
    (void)state;
    for (size_t hl = 24; hl <= IPV4_MAX_HDR_LEN; hl += 4) {
        uint8_t q[128];
        size_t n = make_quote(q, hl, IPV4_PROTO_UDP, 8);
        struct icmp_quote r;
        assert_int_equal(icmp_quote_parse(q, n, &r), WIRE_OK);
        assert_int_equal(r.sport, LPORT);
        assert_int_equal(r.dport, RPORT);
        assert_ptr_equal(r.l4, q + hl);
        assert_int_equal(r.l4_len, 8);
        assert_int_equal(r.addr.v4.dst, T_IP_PEER);
    }
}

/* Every cut short of the header and 8 bytes after it is refused: below
 * 20 bytes and inside the 8 as truncated, inside the options as an IHL
 * beyond the bytes quoted. */
static void quote_truncated(void **state)
{
    (void)state;
    uint8_t q[128];
    struct icmp_quote r;
    size_t n = make_quote(q, 20, IPV4_PROTO_UDP, 8);
    for (size_t len = 0; len < n; len++)
        assert_int_equal(icmp_quote_parse(q, len, &r), WIRE_ETRUNC);
    n = make_quote(q, IPV4_MAX_HDR_LEN, IPV4_PROTO_TCP, 8);
    for (size_t len = 0; len < n; len++) {
        int want = len < IPV4_HDR_LEN       ? WIRE_ETRUNC
                   : len < IPV4_MAX_HDR_LEN ? WIRE_EHDRLEN
                                            : WIRE_ETRUNC;
        assert_int_equal(icmp_quote_parse(q, len, &r), want);
    }
}

static void quote_bad_ihl(void **state)
{
    (void)state;
    uint8_t q[128];
    struct icmp_quote r;
    size_t n = make_quote(q, 20, IPV4_PROTO_UDP, 8);
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        q[0] = (uint8_t)(0x40 | ihl);
        assert_int_equal(icmp_quote_parse(q, n, &r), WIRE_EHDRLEN);
    }
    /* IHL 6 with 8 bytes after 20: the ports would be read 4 bytes late,
     * and only 4 transport bytes are left. */
    q[0] = 0x46;
    assert_int_equal(icmp_quote_parse(q, n, &r), WIRE_ETRUNC);
    q[0] = 0x4f;
    assert_int_equal(icmp_quote_parse(q, n, &r), WIRE_EHDRLEN);
}

static void quote_wrong_version(void **state)
{
    (void)state;
    uint8_t q[128];
    struct icmp_quote r;
    size_t n = make_quote(q, 20, IPV4_PROTO_UDP, 8);
    const uint8_t versions[] = {0, 1, 5, 6, 15};
    for (size_t i = 0; i < sizeof(versions); i++) {
        q[0] = (uint8_t)(versions[i] << 4 | 5);
        assert_int_equal(icmp_quote_parse(q, n, &r), WIRE_EVERSION);
    }
    /* The version is looked at before the IHL, as ipv4_parse does. */
    q[0] = 0x60;
    assert_int_equal(icmp_quote_parse(q, n, &r), WIRE_EVERSION);
}

/* The quoted header is what the sender of the error saw (RFC 1812 lets a
 * router have changed it): its checksum and total length are not held
 * against it. */
static void quote_checksum_and_total_length_not_checked(void **state)
{
    (void)state;
    uint8_t q[128];
    struct icmp_quote r;
    size_t n = make_quote(q, 20, IPV4_PROTO_UDP, 8);
    q[10] ^= 0xff;
    st16(q + 2, 0);
    assert_int_equal(icmp_quote_parse(q, n, &r), WIRE_OK);
    assert_int_equal(r.dport, RPORT);
}

/* ---------------- the table ---------------- */

static void expect_class(uint8_t type, uint8_t code, int err, bool hard)
{
    const struct icmp_err_class *c = icmp_err_classify(type, code);
    assert_non_null(c);
    assert_int_equal(c->err, err);
    assert_int_equal(c->hard, hard);
}

static void table_destination_unreachable(void **state)
{
    (void)state;
    expect_class(ICMP_DEST_UNREACH, ICMP_NET_UNREACH, ENETUNREACH, true);
    expect_class(ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, EHOSTUNREACH, true);
    expect_class(ICMP_DEST_UNREACH, ICMP_PROTO_UNREACH, ENOPROTOOPT, true);
    expect_class(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, ECONNREFUSED, true);
    /* Path MTU discovery's message ends nothing: we never set DF. */
    expect_class(ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, EMSGSIZE, false);
    for (unsigned code = 5; code < 256; code++)
        expect_class(ICMP_DEST_UNREACH, (uint8_t)code, EHOSTUNREACH, true);
}

static void table_other_errors_are_soft(void **state)
{
    (void)state;
    const uint8_t types[] = {ICMP_SOURCE_QUENCH, ICMP_REDIRECT, ICMP_TIME_EXCEEDED,
                             ICMP_PARAM_PROBLEM};
    for (size_t i = 0; i < sizeof(types); i++)
        for (unsigned code = 0; code < 256; code++)
            expect_class(types[i], (uint8_t)code, EHOSTUNREACH, false);
}

/* The table knows exactly the types icmp_is_error() calls errors. */
static void table_covers_the_error_types(void **state)
{
    (void)state;
    for (unsigned type = 0; type < 256; type++) {
        bool err = icmp_is_error((uint8_t)type);
        for (unsigned code = 0; code < 256; code += 51)
            assert_int_equal(icmp_err_classify((uint8_t)type, (uint8_t)code) != NULL, err);
    }
}

/* ---------------- dispatch through the stack ---------------- */

static const struct ust_stats *st(struct fixture *f) { return ust_stack_stats(f->s); }

static int so_error(struct fixture *f, int fd)
{
    int v = -1;
    socklen_t vl = sizeof(v);
    assert_int_equal(ust_getsockopt(f->s, fd, SOL_SOCKET, SO_ERROR, &v, &vl), 0);
    return v;
}

/* The peer tells us, in an ICMP error, about quote q. */
static void inject_error(struct fixture *f, uint8_t type, uint8_t code, const uint8_t *q,
                         size_t qlen)
{
    uint8_t m[256], ip[300], fr[320];
    size_t n = build_icmp(m, type, code, 0, q, qlen);
    n = build_ipv4(ip, T_IP_PEER, T_IP_US, IPV4_PROTO_ICMP, 9, 0, 64, m, n);
    n = build_eth(fr, t_mac_us, t_mac_peer, 0x0800, ip, n);
    fixture_input(f, fr, n);
}

/* A stack with a UDP socket connected from LPORT to the peer's RPORT, and
 * a TCP socket on the same ports whose SYN has gone out (SYN-SENT).
 * Returns the SYN's sequence number. */
static uint32_t open_pair(struct fixture *f, int *u, int *t)
{
    fixture_init(f, NULL);
    fixture_learn_peer(f);
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons(LPORT)};
    struct sockaddr_in peer = {.sin_family = AF_INET,
                               .sin_port = htons(RPORT),
                               .sin_addr.s_addr = htonl(T_IP_PEER)};
    *u = ust_socket(f->s, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_int_equal(ust_bind(f->s, *u, (struct sockaddr *)&local, sizeof(local)), 0);
    assert_int_equal(ust_connect(f->s, *u, (struct sockaddr *)&peer, sizeof(peer)), 0);
    *t = ust_socket(f->s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_int_equal(ust_bind(f->s, *t, (struct sockaddr *)&local, sizeof(local)), 0);
    assert_int_equal(ust_connect(f->s, *t, (struct sockaddr *)&peer, sizeof(peer)), -1);
    assert_int_equal(errno, EINPROGRESS);
    uint8_t syn[128];
    assert_int_equal(cap_count(f->cap), 1);
    cap_pop(f->cap, syn, sizeof(syn));
    return ld32(syn + ETH_HDR + IPV4_HDR_LEN + 4);
}

static void close_pair(struct fixture *f, int u, int t)
{
    assert_int_equal(ust_close(f->s, t), 0);
    assert_int_equal(ust_close(f->s, u), 0);
    assert_int_equal(st(f)->pkb.live, 0);
    fixture_fini(f);
}

/* A connected UDP socket and a TCP connection attempt share the local and
 * the remote port: the quoted protocol alone says which of them the
 * error is about. */
static void error_goes_to_the_quoted_protocol(void **state)
{
    (void)state;
    struct fixture f;
    int u, t;
    uint32_t iss = open_pair(&f, &u, &t);

    /* Quoting UDP: the UDP socket hears it, the connection attempt not,
     * even where the bytes after the ports (UDP's length and checksum)
     * read as the SYN's sequence number. */
    uint8_t q[128];
    size_t n = make_quote(q, 20, IPV4_PROTO_UDP, 8);
    st32(q + 24, iss);
    inject_error(&f, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, q, n);
    assert_int_equal(st(&f)->udp.icmp_errors, 1);
    assert_int_equal(st(&f)->tcp.icmp_errors, 0);
    assert_int_equal(so_error(&f, u), ECONNREFUSED);
    assert_int_equal(so_error(&f, t), 0);

    /* Quoting ICMP (say, one of our echo requests), or a quote cut inside
     * its header: counted as an error received, told to no one. */
    n = make_quote(q, 20, IPV4_PROTO_ICMP, 8);
    inject_error(&f, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, q, n);
    n = make_quote(q, 20, IPV4_PROTO_TCP, 8);
    st32(q + 24, iss);
    q[0] = 0x47; /* IHL 7: the 8 bytes after 20 are not all there */
    inject_error(&f, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, q, n);
    assert_int_equal(st(&f)->icmp.rx_error, 3);
    assert_int_equal(st(&f)->udp.icmp_errors, 1);
    assert_int_equal(st(&f)->tcp.icmp_errors, 0);
    assert_int_equal(so_error(&f, u), 0);
    assert_int_equal(so_error(&f, t), 0);

    /* Quoting TCP with the SYN's sequence number: the attempt ends, the
     * UDP socket hears nothing. */
    q[0] = 0x45;
    inject_error(&f, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, q, n);
    assert_int_equal(st(&f)->udp.icmp_errors, 1);
    assert_int_equal(st(&f)->tcp.icmp_errors, 1);
    assert_int_equal(so_error(&f, u), 0);
    assert_int_equal(so_error(&f, t), ECONNREFUSED);

    close_pair(&f, u, t);
}

/* Soft errors leave a connection attempt alone (it counts nothing); UDP
 * reports every error, with the table's errno. */
static void soft_errors_spare_the_attempt(void **state)
{
    (void)state;
    struct fixture f;
    int u, t;
    uint32_t iss = open_pair(&f, &u, &t);
    uint8_t qu[128], qt[128];
    size_t nu = make_quote(qu, 20, IPV4_PROTO_UDP, 8);
    size_t nt = make_quote(qt, 20, IPV4_PROTO_TCP, 8);
    st32(qt + 24, iss);
    const struct {
        uint8_t type, code;
        int err;
    } soft[] = {
        {ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, EMSGSIZE},
        {ICMP_SOURCE_QUENCH, 0, EHOSTUNREACH},
        {ICMP_REDIRECT, 1, EHOSTUNREACH},
        {ICMP_TIME_EXCEEDED, 0, EHOSTUNREACH},
        {ICMP_PARAM_PROBLEM, 0, EHOSTUNREACH},
    };
    for (size_t i = 0; i < sizeof(soft) / sizeof(soft[0]); i++) {
        inject_error(&f, soft[i].type, soft[i].code, qt, nt);
        inject_error(&f, soft[i].type, soft[i].code, qu, nu);
        assert_int_equal(so_error(&f, u), soft[i].err);
        assert_int_equal(so_error(&f, t), 0);
    }
    assert_int_equal(st(&f)->tcp.icmp_errors, 0);
    assert_int_equal(st(&f)->udp.icmp_errors, 5);
    /* Host unreachable is hard: it ends the attempt (RFC 5461). */
    inject_error(&f, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, qt, nt);
    assert_int_equal(so_error(&f, t), EHOSTUNREACH);
    assert_int_equal(st(&f)->tcp.icmp_errors, 1);
    close_pair(&f, u, t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quote_classic),
        cmocka_unit_test(quote_longer_than_eight),
        cmocka_unit_test(quote_with_options),
        cmocka_unit_test(quote_truncated),
        cmocka_unit_test(quote_bad_ihl),
        cmocka_unit_test(quote_wrong_version),
        cmocka_unit_test(quote_checksum_and_total_length_not_checked),
        cmocka_unit_test(table_destination_unreachable),
        cmocka_unit_test(table_other_errors_are_soft),
        cmocka_unit_test(table_covers_the_error_types),
        cmocka_unit_test(error_goes_to_the_quoted_protocol),
        cmocka_unit_test(soft_errors_spare_the_attempt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
